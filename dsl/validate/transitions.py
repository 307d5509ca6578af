"""Where transitions lead: known targets (E101), targets that can be active together (E117),
and unguarded transitions that shadow each other (E111)."""

from __future__ import annotations

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean
from counterpoint.dsl.model import State, StateKind, Transition
from counterpoint.dsl.source import Span, where
from counterpoint.dsl.validate.context import Context, located
from counterpoint.dsl.validate.walk import outgoing


def check_targets(ctx: Context, state: State) -> None:
    """The targets of a state's transitions and timers, and of a history state's default."""
    for t in outgoing(state):
        for target in t.targets:
            _target(ctx, target, located(t.span, state.span))
        if len(t.targets) > 1:
            _together(ctx, t.targets, located(t.span, state.span))
    for target in state.default:
        _target(ctx, target, state.span)
    if len(state.default) > 1:
        _together(ctx, state.default, state.span)


def check_conflicts(ctx: Context, state: State) -> None:
    seen: dict[frozenset[str], Transition] = {}
    for t in state.transitions:
        if t.guard is not None:
            continue
        key = frozenset(e.strip() for e in t.events)
        if key in seen:
            what = f"event {' '.join(t.events)}" if t.events else "no event (always)"
            ctx.diags.append(
                Diagnostic(
                    "E111",
                    f"conflicting unguarded transitions on {what} in state '{state.id}'",
                    located(t.span, state.span),
                    f"the transition at {where(seen[key].span, t.span)} is always taken first; add a guard",
                )
            )
        else:
            seen[key] = t


def _target(ctx: Context, target: str, span: Span) -> None:
    if target not in ctx.states:
        ctx.diags.append(
            Diagnostic("E101", f"unknown transition target '{target}'", span, did_you_mean(target, ctx.states))
        )


def _together(ctx: Context, targets: tuple[str, ...], span: Span) -> None:
    """Several targets of one transition must lie in different regions of a parallel state."""
    if any(t not in ctx.states for t in targets):
        return  # E101 already
    places = [_place(ctx, t) for t in targets]
    for i in range(len(targets)):
        for j in range(i + 1, len(targets)):
            a, b = places[i], places[j]
            lca = _lca(ctx, a, b)
            if lca is None or lca is a or lca is b or lca.kind is not StateKind.PARALLEL:
                ctx.diags.append(
                    Diagnostic(
                        "E117",
                        f"targets '{targets[i]}' and '{targets[j]}' cannot be active together",
                        span,
                        "several targets must lie in different regions of one parallel state",
                    )
                )
                return


def _place(ctx: Context, sid: str) -> State | None:
    """Where a target puts the configuration: a history state stands for its parent."""
    state = ctx.states[sid]
    return ctx.parent[sid] if state.kind is StateKind.HISTORY else state


def _chain(ctx: Context, state: State | None) -> list[State | None]:
    chain: list[State | None] = []
    while state is not None:
        chain.append(state)
        state = ctx.parent[state.id]
    return [*chain, None]  # None: the agent itself, a compound state


def _lca(ctx: Context, a: State | None, b: State | None) -> State | None:
    """The nearest common ancestor-or-self; None is the agent."""
    chain_b = _chain(ctx, b)
    return next(s for s in _chain(ctx, a) if any(s is x for x in chain_b))
