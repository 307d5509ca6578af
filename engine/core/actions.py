"""Actions compiled to small closures that turn into effects when a macrostep runs them.

An op is ``op(run, state)``: ``run`` is the macrostep in progress (:class:`.step._Run`; ops only
use the few methods documented there) and ``state`` the index of the state whose entry, exit
or transition runs the action (it becomes ``StartTool.state``). Expressions are compiled once,
here, so running an action does no parsing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from counterpoint.dsl.diagnostics import Diagnostic
from counterpoint.dsl.files import agent_stem
from counterpoint.dsl.model import (
    Action,
    Bindings,
    Call,
    Cancel,
    CancelSend,
    If,
    Log,
    Raise,
    Respond,
    Say,
    Send,
    Set,
    Spawn,
)
from counterpoint.engine.core import effects as fx
from counterpoint.engine.core.events import Event
from counterpoint.engine.core.exprs import (
    Compiled,
    CompileError,
    ExprRuntimeError,
    compile_guard,
    compile_text,
    compile_value,
)

Op = Callable[[Any, int], None]


def compile_bindings(bindings: Bindings, what: str) -> Callable[[Any], dict[str, Any]]:
    """``fn(env) -> {name: value}`` for event data, call arguments and final-state data."""
    compiled = tuple((name, compile_value(e, f"{what} '{name}'")) for name, e in bindings)
    if not compiled:
        return lambda env: {}
    return lambda env: {name: fn(env) for name, fn in compiled}


def compile_action(
    action: Action, tools: Mapping[str, Any], variables: frozenset[str], priority_of: Callable[[str], int]
) -> Op:
    """One action as an op; raises CompileError for what cannot run (bad expression, unknown tool)."""
    if isinstance(action, Say):
        text = compile_text(action.text, action.span)
        return lambda run, state: run.effects.append(fx.Speak(text(run.env)))
    if isinstance(action, Log):
        text = compile_text(action.text, action.span)
        return lambda run, state: run.effects.append(fx.LogMessage(text(run.env)))
    if isinstance(action, Respond):
        if action.prompt is None:
            turn = fx.StartLLMTurn(None)
            return lambda run, state: run.effects.append(turn)
        prompt = compile_text(action.prompt, action.span)
        return lambda run, state: run.effects.append(fx.StartLLMTurn(prompt(run.env)))
    if isinstance(action, Set):
        if action.var not in variables:
            raise CompileError(
                Diagnostic(
                    "E107", f"set: unknown variable '{action.var}'", action.span, "declare it under vars:"
                )
            )
        var, value = action.var, compile_value(action.expr, f"set {action.var}")
        return lambda run, state: run.set_var(var, value(run.env))
    if isinstance(action, Raise):
        name, data = action.event, compile_bindings(action.data, "raise data")
        return lambda run, state: run.raise_event(Event(name, data(run.env)))
    if isinstance(action, Send):
        return _send(action, priority_of)
    if isinstance(action, CancelSend):
        effect = fx.CancelSend(action.id)
        return lambda run, state: run.effects.append(effect)
    if isinstance(action, Call):
        return _call(action, tools)
    if isinstance(action, Cancel):
        target = action.target
        return lambda run, state: run.cancel_calls(target)
    if isinstance(action, Spawn):
        return _spawn(action)
    if isinstance(action, If):
        return _if(action, tools, variables, priority_of)
    raise CompileError(Diagnostic("E008", f"unsupported action {type(action).__name__}", action.span))


def _send(action: Send, priority_of: Callable[[str], int]) -> Op:
    name, data = action.event, compile_bindings(action.data, "send data")
    delay = action.delay or 0.0
    send_id = action.id
    priority = action.priority if action.priority is not None else priority_of(name)

    def send(run: Any, state: int) -> None:
        event = Event(name, data(run.env), priority, send_id=send_id)
        run.effects.append(fx.SendEvent(event, delay, send_id))

    return send


def _call(action: Call, tools: Mapping[str, Any]) -> Op:
    if action.tool not in tools:
        raise CompileError(Diagnostic("E108", f"call: tool '{action.tool}' is not declared", action.span))
    tool, args, fixed_id = action.tool, compile_bindings(action.args, f"{action.tool} argument"), action.id

    def call(run: Any, state: int) -> None:
        values = args(run.env)
        call_id = fixed_id or f"{tool}#{run.next_count('call:' + tool)}"
        run.start_call(call_id, tool, state, values)

    return call


def _spawn(action: Spawn) -> Op:
    agent, fixed_id, task, fork = action.agent, action.id, action.task, action.fork
    stem = agent_stem(agent)

    def spawn(run: Any, state: int) -> None:
        agent_id = fixed_id or f"{stem}#{run.next_count('spawn:' + stem)}"
        run.effects.append(fx.SpawnAgent(agent, agent_id, task, fork))

    return spawn


def _if(
    action: If, tools: Mapping[str, Any], variables: frozenset[str], priority_of: Callable[[str], int]
) -> Op:
    """The first branch whose condition holds runs its actions, else the ``else`` actions.

    A condition or action that fails raises out of this op, so the enclosing block stops
    (SCXML: an error in executable content ends its block, nested ``if`` included)."""

    def block(actions: tuple[Action, ...]) -> tuple[Op, ...]:
        return tuple(compile_action(a, tools, variables, priority_of) for a in actions)

    branches = tuple((b.cond.source, compile_guard(b.cond), block(b.actions)) for b in action.branches)
    orelse = block(action.orelse)

    def run_if(run: Any, state: int) -> None:
        chosen = orelse
        for source, test, ops in branches:
            try:
                holds = test(run.env)
            except Exception as exc:  # noqa: BLE001 - reported by the block with the condition named
                raise ExprRuntimeError(f"if [{source}]: {exc}") from None
            if holds:
                chosen = ops
                break
        for op in chosen:
            op(run, state)

    return run_if


def compile_actions(
    actions: tuple[Action, ...],
    tools: Mapping[str, Any],
    variables: frozenset[str],
    priority_of: Callable[[str], int],
    errors: list[Diagnostic],
) -> tuple[Op, ...]:
    """Compile a block; problems go to ``errors`` so one compile reports all of them."""
    ops: list[Op] = []
    for action in actions:
        try:
            ops.append(compile_action(action, tools, variables, priority_of))
        except CompileError as err:
            errors.append(err.diagnostic)
    return tuple(ops)


__all__ = ["Op", "Compiled", "compile_action", "compile_actions", "compile_bindings"]
