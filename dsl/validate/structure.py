"""The shape of the chart: initial states (E103/E104; a compound state's may be a history
state, "resume where we left off"), finals (E105), history and parallel
states (E106), timer periods (E007)."""

from __future__ import annotations

import math

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean
from counterpoint.dsl.durations import format_duration
from counterpoint.dsl.files import standard_region
from counterpoint.dsl.model import State, StateKind, walk_states
from counterpoint.dsl.source import Span
from counterpoint.dsl.validate.context import Context, located
from counterpoint.dsl.validate.walk import outgoing

LEAF_HINT = "a history state is a leaf child of a compound or parallel state"
#: Shortest period of an ``every`` timer: a shorter one would keep the runtime busy firing it.
MIN_EVERY = 0.001


def check_root(ctx: Context) -> None:
    """The agent has states, and its initial state is one of its top-level regions."""
    agent = ctx.agent
    top = [s.id for s in agent.states]
    if not top:
        ctx.diags.append(
            Diagnostic("E006", f"agent '{agent.name}' has no states", agent.span, "a chart needs at least one state")
        )
        return
    initial = agent.initial
    at = located(agent.initial_span, agent.span)
    regions = [s.id for s in agent.states if s.kind is not StateKind.HISTORY]
    if initial is not None and initial in top and initial not in regions:
        ctx.diags.append(
            Diagnostic(
                "E104", f"initial state '{initial}' of the agent is a history state", at, _choose(regions)
            )
        )
    if initial is not None and initial not in top:
        ctx.diags.append(
            Diagnostic(
                "E104",
                f"initial state '{initial}' is not a top-level state of the agent",
                at,
                did_you_mean(initial, top) or _choose(top),
            )
        )


def check_structure(ctx: Context, state: State, parent: State | None) -> None:
    children = [c.id for c in state.children]
    if state.kind is StateKind.HISTORY:
        _history(ctx, state, parent)
        return
    if state.kind is StateKind.STATE and children and state.initial is None:
        ctx.diags.append(
            Diagnostic(
                "E103",
                f"compound state '{state.id}' has no initial state",
                state.span,
                _initial_hint(state, children[0]),
            )
        )
    regions = [c.id for c in state.children if c.kind is not StateKind.HISTORY]
    if state.initial is not None and state.initial not in children:
        msg = (
            f"initial state '{state.initial}' is not a child of '{state.id}'"
            if children
            else f"state '{state.id}' has an initial state but no children"
        )
        ctx.diags.append(
            Diagnostic("E104", msg, state.span, did_you_mean(state.initial, regions) or _choose(regions))
        )
    elif state.initial is not None and state.initial not in regions and state.kind is not StateKind.STATE:
        ctx.diags.append(
            Diagnostic(
                "E104",
                f"initial state '{state.initial}' of '{state.id}' is a history state",
                state.span,
                _choose(regions) or "add a state to enter first",
            )
        )
    if state.initial_actions and (state.kind is not StateKind.STATE or not children):
        ctx.diags.append(
            Diagnostic(
                "E104",
                f"state '{state.id}' has initial actions but is not a compound state",
                located(state.initial_actions[0].span, state.span),
                "only a state with children has an initial transition; use entry actions instead",
            )
        )
    if state.kind is StateKind.PARALLEL and children and not regions:
        ctx.diags.append(
            Diagnostic(
                "E106",
                f"parallel state '{state.id}' has only history children",
                state.span,
                "a parallel state needs at least one region (a state) besides its history states",
            )
        )
    elif state.kind is StateKind.STATE and children and not regions:
        ctx.diags.append(
            Diagnostic(
                "E106",
                f"compound state '{state.id}' has only history children",
                state.span,
                "a history state stands for a child that was active: add the states it can resume",
            )
        )
    if state.kind is StateKind.FINAL:
        offending = outgoing(state)
        if offending:
            ctx.diags.append(
                Diagnostic(
                    "E105",
                    f"final state '{state.id}' has outgoing transitions",
                    located(offending[0].span, state.span),
                    "a final state may only have entry/exit actions; use a normal state",
                )
            )
        if state.children:
            ctx.diags.append(
                Diagnostic(
                    "E105",
                    f"final state '{state.id}' has children",
                    located(state.children[0].span, state.span),
                    "a final state is a leaf; to finish a compound state, give it a final child",
                )
            )


def _history(ctx: Context, state: State, parent: State | None) -> None:
    def bad(why: str, span: Span, hint: str = LEAF_HINT) -> None:
        ctx.diags.append(Diagnostic("E106", f"history state '{state.id}' {why}", span, hint))

    if parent is None:
        bad("is at the top level of the agent", state.span)
    if state.children:
        bad("has children", located(state.children[0].span, state.span))
    behaviour = [*state.transitions, *state.timers, *state.entry, *state.exit]
    if behaviour:
        bad(
            "has transitions, timers or actions",
            located(behaviour[0].span, state.span),
            "a history state only stands for what was active; put the behaviour on its parent",
        )
    if parent is None:
        return
    descendants = {s.id for s in walk_states(parent.children)}
    for target in state.default:
        if target in ctx.states and target not in descendants:
            bad(f"has default '{target}', which is not inside '{parent.id}'", state.span)
        elif target in ctx.states and ctx.states[target].kind is StateKind.HISTORY:
            bad(
                f"has default '{target}', which is a history state",
                state.span,
                "a default names states to enter, not another history state",
            )


def check_timers(ctx: Context, state: State) -> None:
    """Timer delays: an ``every`` with no period would fire without end at one instant."""
    for tm in state.timers:
        span = located(tm.span, state.span)
        if not math.isfinite(tm.delay) or tm.delay < 0:
            ctx.diags.append(Diagnostic("E007", f"invalid duration for '{tm.kind}': {tm.delay!r}", span))
        elif tm.kind == "every" and tm.delay < MIN_EVERY:
            ctx.diags.append(
                Diagnostic(
                    "E007",
                    f"every needs a positive period (at least 1ms), got {format_duration(tm.delay)}",
                    span,
                    "use 'after 0s' to act once on entry",
                )
            )


def _choose(ids: list[str]) -> str | None:
    return f"choose one of: {', '.join(ids)}" if ids else None


def _initial_hint(state: State, first: str) -> str:
    """A standard region among the children means the state was meant to be parallel."""
    for child in state.children:
        if standard_region(child):
            return (
                f"'{child.id}' includes a standard region, which runs next to the agent's own chart: "
                f"make '{state.id}' parallel (type: parallel; in the textual syntax, parallel {state.id} {{...}})"
            )
    return f"add initial: {first}"
