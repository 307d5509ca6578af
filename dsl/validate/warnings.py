"""What is legal but likely a mistake: unreachable states (W201), events listened for that
nothing produces (W202), tools declared but never used (W203)."""

from __future__ import annotations

from collections.abc import Iterable

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean
from counterpoint.dsl.model import Call, State, StateKind, walk_states
from counterpoint.dsl.validate.context import Context, located
from counterpoint.dsl.validate.walk import all_actions, outgoing


def check_unused_tools(ctx: Context) -> None:
    """Only the agent's own tools: an included file may offer tools its includer does not use."""
    used: set[str] = set()
    for state in walk_states(ctx.agent.states):
        used.update(state.tools)
    used.update(a.tool for a in all_actions(ctx.agent) if isinstance(a, Call))
    own_file = ctx.agent.span.file
    for tool in ctx.agent.tools:
        if tool.name not in used and tool.span.file == own_file:
            ctx.diags.append(
                Diagnostic(
                    "W203",
                    f"tool '{tool.name}' is declared but never used",
                    tool.span,
                    "list it in a state's tools: or call it from an action",
                )
            )


def check_reachability(ctx: Context) -> None:
    """States no path of the chart enters, then events nothing produces."""
    if not ctx.agent.states:
        return
    reached: set[str] = set()
    todo: list[str] = [ctx.agent.initial or ctx.agent.states[0].id]
    while todo:
        sid = todo.pop()
        if sid in reached or sid not in ctx.states:
            continue
        reached.add(sid)
        state = ctx.states[sid]
        parent = ctx.parent.get(sid)
        if parent is not None:
            todo.append(parent.id)
        if state.kind is StateKind.PARALLEL:
            todo += [c.id for c in state.children if c.kind is not StateKind.HISTORY]
        elif state.children:
            todo.append(state.initial or state.children[0].id)
        if state.kind is StateKind.HISTORY:
            todo += list(state.default)
            if not state.default and parent is not None and parent.children:
                first = next((c.id for c in parent.children if c.kind is not StateKind.HISTORY), sid)
                todo.append(first if parent.initial in (None, sid) else parent.initial)
        for t in outgoing(state):
            todo += list(t.targets)
    _report_unreachable(ctx, ctx.agent.states, reached)
    for state in walk_states(ctx.agent.states):
        for t in state.transitions:
            for event in t.events:
                if not ctx.events.is_produced(event):
                    ctx.diags.append(
                        Diagnostic(
                            "W202",
                            f"event '{event}' is listened for but never produced",
                            located(t.span, state.span),
                            did_you_mean(event, ctx.events.fields)
                            or "declare it under events: if the host sends it",
                        )
                    )


def _report_unreachable(ctx: Context, states: Iterable[State], reached: set[str]) -> None:
    for s in states:
        if s.id not in reached and s.kind is not StateKind.HISTORY and ctx.states.get(s.id) is s:
            ctx.diags.append(
                Diagnostic(
                    "W201",
                    f"state '{s.id}' is unreachable",
                    s.span,
                    "no transition, initial state or history default leads to it",
                )
            )
        else:
            _report_unreachable(ctx, s.children, reached)
