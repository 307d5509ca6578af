"""Transitions that leave a parallel state but lose to an earlier region (W204).

When regions of a parallel state answer the same event, a transition that leaves the
parallel state conflicts with every transition (with a target) of the other regions, and the
one selected first wins: the one of the earlier region, in document order
(docs/semantics.md). The later region's transition is then silently dropped, so the chart
depends on the order its regions are written in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from counterpoint.dsl.diagnostics import Diagnostic
from counterpoint.dsl.files import STD_DIR
from counterpoint.dsl.model import State, StateKind, Transition, walk_states
from counterpoint.dsl.names import overlaps
from counterpoint.dsl.source import Span, where
from counterpoint.dsl.validate.context import Context, located


def check_region_conflicts(ctx: Context) -> None:
    for parallel in walk_states(ctx.agent.states):
        if parallel.kind is not StateKind.PARALLEL or ctx.states.get(parallel.id) is not parallel:
            continue
        regions = [r for r in parallel.children if r.kind is not StateKind.HISTORY]
        for j, region in enumerate(regions):
            for source, t in _transitions(region):
                if t.targets and t.events and _leaves(ctx, source, t, region):
                    _report_first_rival(ctx, parallel, region, regions[:j], source, t)


def _report_first_rival(
    ctx: Context, parallel: State, region: State, earlier: list[State], source: State, t: Transition
) -> None:
    for other in earlier:
        for rival_source, rival in _transitions(other):
            event = _shared_event(t, rival)
            if rival.targets and event is not None:
                here = located(t.span, source.span)
                there = located(rival.span, rival_source.span)
                ctx.diags.append(
                    Diagnostic(
                        "W204",
                        f"this transition on '{event}' leaves parallel state '{parallel.id}', but region "
                        f"'{other.id}' answers '{event}' too and is earlier: when both are enabled, only "
                        f"the transition at {_where(there, here)} is taken",
                        here,
                        f"write region '{region.id}' before region '{other.id}' in '{parallel.id}', or stay "
                        f"inside '{region.id}' (a final state there raises done.state.{region.id})",
                    )
                )
                return


def _where(span: Span, here: Span) -> str:
    """Like :func:`where`, naming a standard file as it is included (``std:dialog``)."""
    path = Path(span.file)
    if path.is_absolute() and path.parent == STD_DIR:
        return f"std:{path.name.split('.')[0]}, line {span.line}, column {span.col}"
    return where(span, here)


def _transitions(region: State) -> Iterator[tuple[State, Transition]]:
    for state in walk_states((region,)):
        for t in state.transitions:
            yield state, t


def _shared_event(a: Transition, b: Transition) -> str | None:
    for x in a.events:
        for y in b.events:
            if overlaps(x, y) or overlaps(y, x):
                return x.strip()
    return None


def _leaves(ctx: Context, source: State, t: Transition, region: State) -> bool:
    """Whether the transition's domain lies outside ``region`` (so it exits the other regions)."""
    targets = [ctx.states[x] for x in t.targets if x in ctx.states]
    if len(targets) != len(t.targets):
        return False  # E101 already
    if t.internal and source.children and all(_below(ctx, x, source) for x in targets):
        return False
    domain = ctx.parent[source.id]
    while domain is not None and (
        domain.kind is not StateKind.STATE or not all(_below(ctx, x, domain) for x in targets)
    ):
        domain = ctx.parent[domain.id]
    return domain is None or not (domain is region or _below(ctx, domain, region))


def _below(ctx: Context, state: State, ancestor: State) -> bool:
    """Whether ``state`` is a proper descendant of ``ancestor``."""
    parent = ctx.parent[state.id]
    while parent is not None:
        if parent is ancestor:
            return True
        parent = ctx.parent[parent.id]
    return False
