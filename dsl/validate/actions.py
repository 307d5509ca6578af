"""Guards and actions: every expression and template (through :mod:`.exprs`), ``if``
conditions and final-state data included, the variable ``set`` assigns (E107) and ``send``
delays (E007). The names an expression may use are the
variables, ``event`` and, on a transition, the data fields its events can carry."""

from __future__ import annotations

import math

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean
from counterpoint.dsl.model import Call, If, Log, Raise, Respond, Say, Send, Set, State, Timer, Transition
from counterpoint.dsl.source import Span
from counterpoint.dsl.validate.context import Context, located


def check_actions(ctx: Context, state: State) -> None:
    base = ctx.var_names | {"event"}
    for t in state.transitions:
        fields = ctx.events.data_fields(t.events) if t.events else set()
        _owner(ctx, t, None if fields is None else base | fields, state)
    for tm in state.timers:
        _owner(ctx, tm, base, state)
    for action in (*state.entry, *state.exit, *state.initial_actions):
        _action(ctx, action, base, state.span)
    for key, value in state.data:
        ctx.exprs.expr(value.source, located(value.span, state.span), base, f"data '{key}'")


def _owner(ctx: Context, owner: Transition | Timer, names: set[str] | None, state: State) -> None:
    span = located(owner.span, state.span)
    if owner.guard is not None:
        ctx.exprs.expr(owner.guard.source, located(owner.guard.span, span), names, "guard")
    for action in owner.actions:
        _action(ctx, action, names, span)


def _action(ctx: Context, action: object, names: set[str] | None, owner_span: Span) -> None:
    span = located(getattr(action, "span", None), owner_span)
    if isinstance(action, Set):
        if action.var not in ctx.var_names:
            ctx.diags.append(
                Diagnostic(
                    "E107",
                    f"set assigns undeclared variable '{action.var}'",
                    span,
                    did_you_mean(action.var, ctx.var_names) or "declare it under vars:",
                )
            )
        ctx.exprs.expr(action.expr.source, located(action.expr.span, span), names, f"value for '{action.var}'")
    elif isinstance(action, Call | Raise | Send):
        delay = action.delay if isinstance(action, Send) else None
        if delay is not None and (not math.isfinite(delay) or delay < 0):
            ctx.diags.append(Diagnostic("E007", f"invalid duration for the delay of send: {delay!r}", span))
        bindings = action.args if isinstance(action, Call) else action.data
        for key, value in bindings:
            ctx.exprs.expr(value.source, located(value.span, span), names, f"value for '{key}'")
    elif isinstance(action, Say | Log):
        ctx.exprs.template(action.text, span, names, "say" if isinstance(action, Say) else "log")
    elif isinstance(action, Respond) and action.prompt is not None:
        ctx.exprs.template(action.prompt, span, names, "respond")
    elif isinstance(action, If):
        for branch in action.branches:
            branch_span = located(branch.span, span)
            ctx.exprs.expr(branch.cond.source, located(branch.cond.span, branch_span), names, "condition")
            for inner in branch.actions:
                _action(ctx, inner, names, branch_span)
        for inner in action.orelse:
            _action(ctx, inner, names, span)
