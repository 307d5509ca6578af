"""Memoised microstep plans: what taking a set of transitions from a configuration does.

Given a configuration and the transitions selected in it, everything structural about the
microstep is fixed: the exit set (reverse document order), the history values to record, the
entry set (document order) unless a history state is targeted, the ``done.state.*`` events
raised after each entry, whether the chart finishes, and the next configuration. A
:class:`Plan` holds exactly that, and :class:`ConfigInfo` (one per distinct configuration
met, interned in the chart) caches the plans and, per event name, either the plan (when no
guard can change the choice) or the candidate transitions to try. A step then costs a
couple of dict lookups plus the actions it runs; the size of the chart does not enter.

The memo tables only ever grow with configurations and event names actually met, and are
bounded (beyond the bound, entries are computed and not kept). They are keyed by immutable
values, so memoising does not make stepping impure.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from counterpoint.engine.core.chart import DYNAMIC, FINAL, PARALLEL, ROOT, Chart, ChartTransition

MAX_CONFIGS = 100_000
MAX_PLANS_PER_CONFIG = 512

History = Callable[[int], "tuple[int, ...] | None"]


def no_history(h: int) -> None:
    return None


class ConfigInfo:
    """One active configuration of a chart, with its memo tables."""

    __slots__ = ("chart", "states", "ids", "id_set", "leaves", "dispatch", "plans", "quiet")

    def __init__(self, chart: Chart, states: tuple[int, ...]):
        self.chart = chart
        self.states = states
        self.ids = tuple(chart.ids[s] for s in states)
        self.id_set = frozenset(self.ids)
        atomic = chart.atomic
        self.leaves = tuple(s for s in states if atomic[s])
        #: event name (None: eventless) -> Plan | tuple of candidate chains | () (nothing to do)
        self.dispatch: dict[str | None, Any] = {}
        self.plans: dict[tuple[int, ...], Plan] = {}
        has = chart.has_eventless
        #: no eventless transition can fire in this configuration
        self.quiet = not any(has[s] for s in states)

    def __repr__(self) -> str:
        return f"<ConfigInfo {self.ids}>"


class Plan:
    """A microstep's structure. ``done[i]`` are the events raised after entering ``entries[i]``."""

    __slots__ = ("transitions", "exits", "records", "entries", "done", "finished", "next", "simple")

    def __init__(
        self,
        transitions: tuple[ChartTransition, ...],
        exits: tuple[int, ...],
        records: tuple[tuple[str, tuple[str, ...]], ...],
        entries: tuple[int, ...],
        done: tuple[tuple[str, ...], ...],
        finished: bool,
        next_info: ConfigInfo,
        simple: bool,
    ):
        self.transitions = transitions
        self.exits = exits
        self.records = records
        self.entries = entries
        self.done = done
        self.finished = finished
        self.next = next_info
        self.simple = simple


def info_for(chart: Chart, states: tuple[int, ...]) -> ConfigInfo:
    """The interned ConfigInfo of a sorted tuple of state indexes."""
    info = chart._configs.get(states)
    if info is None:
        info = ConfigInfo(chart, states)
        if len(chart._configs) < MAX_CONFIGS:
            chart._configs[states] = info
    return info


def info_for_ids(chart: Chart, ids: Iterable[str]) -> ConfigInfo:
    """The ConfigInfo of a configuration given as state ids (e.g. a snapshot read from JSON)."""
    ids = tuple(ids)
    info = chart._by_ids.get(ids)
    if info is not None:
        return info
    try:
        states = tuple(sorted({chart.index(i) for i in ids}))
    except KeyError as exc:
        raise ValueError(
            f"snapshot names state {exc.args[0]!r}, which chart {chart.name!r} does not have"
        ) from None
    info = info_for(chart, states)
    if len(chart._by_ids) < MAX_CONFIGS:
        chart._by_ids[ids] = info
    return info


# --------------------------------------------------------------------------- dispatch


def dispatch_entry(chart: Chart, info: ConfigInfo, name: str | None) -> Any:
    """Plan, candidate chains or (): what answers ``name`` in this configuration (memoised)."""
    chains = []
    for leaf in info.leaves:
        c = chart.chain(leaf, name)
        if c:
            chains.append(c)
    entry: Any = ()
    if chains:
        entry = tuple(chains)
        if all(c[0].test is None for c in chains):
            selected = _dedupe(c[0] for c in chains)
            if all(t.domain != DYNAMIC for t in selected):
                entry = plan_for(chart, info, selected, no_history)
    if len(info.dispatch) < 4096:
        info.dispatch[name] = entry
    return entry


def _dedupe(transitions: Iterable[ChartTransition]) -> tuple[ChartTransition, ...]:
    out: list[ChartTransition] = []
    for t in transitions:
        if t not in out:
            out.append(t)
    return tuple(out)


def plan_for(chart: Chart, info: ConfigInfo, selected: tuple[ChartTransition, ...], history: History) -> Plan:
    """The plan for transitions selected (in selection order, deduplicated) in ``info``."""
    key = tuple(t.index for t in selected)
    plan = info.plans.get(key)
    if plan is None:
        plan = compute_plan(chart, info, selected, history)
        if all(t.domain != DYNAMIC for t in selected) and len(info.plans) < MAX_PLANS_PER_CONFIG:
            info.plans[key] = plan
    return plan


# --------------------------------------------------------------------------- SCXML microstep structure


def _exit_set(chart: Chart, info: ConfigInfo, t: ChartTransition, history: History) -> tuple[int, ...]:
    if not t.tgts:
        return ()
    d = chart.domain_of(t, history)
    states = info.states
    return states[bisect_right(states, d) : bisect_left(states, chart.end[d])]


def remove_conflicts(
    chart: Chart, info: ConfigInfo, selected: Sequence[ChartTransition], history: History
) -> tuple[ChartTransition, ...]:
    """SCXML removeConflictingTransitions: of two transitions whose exit sets intersect, the
    one from the descendant source wins, else the one selected first (document order)."""
    if len(selected) < 2:
        return tuple(selected)
    exits = {t.index: set(_exit_set(chart, info, t, history)) for t in selected}
    end = chart.end
    kept: list[ChartTransition] = []
    for t1 in selected:
        preempted = False
        beaten: list[ChartTransition] = []
        for t2 in kept:
            if exits[t1.index] & exits[t2.index]:
                if t2.src < t1.src < end[t2.src]:
                    beaten.append(t2)
                else:
                    preempted = True
                    break
        if not preempted:
            for t3 in beaten:
                kept.remove(t3)
            kept.append(t1)
    return tuple(kept)


def compute_plan(
    chart: Chart, info: ConfigInfo, selected: Sequence[ChartTransition], history: History
) -> Plan:
    transitions = remove_conflicts(chart, info, selected, history)
    exit_set: set[int] = set()
    for t in transitions:
        exit_set.update(_exit_set(chart, info, t, history))
    exits = tuple(sorted(exit_set, reverse=True))

    ids, end, parent, atomic = chart.ids, chart.end, chart.parent, chart.atomic
    records: list[tuple[str, tuple[str, ...]]] = []
    recorded: dict[int, tuple[int, ...]] = {}
    for s in exits:
        for h in chart.history_children[s]:
            if chart.history_deep[h]:
                values = tuple(x for x in info.states if s < x < end[s] and atomic[x])
            else:
                values = tuple(x for x in info.states if parent[x] == s)
            recorded[h] = values
            records.append((ids[h], tuple(ids[x] for x in values)))

    def updated(h: int) -> tuple[int, ...] | None:
        return recorded[h] if h in recorded else history(h)

    remaining = [s for s in info.states if s not in exit_set]
    # A history below the domain can put a still-active ancestor in SCXML's entry set (its
    # addAncestorStatesToEnter stops at the history's parent, not at the domain); entering an
    # active state again would rerun its entry actions and timers, so it is left out.
    staying = set(remaining)
    entries = tuple(sorted(s for s in chart.entry_set(transitions, updated) if s not in staying))
    return _finish(chart, transitions, exits, tuple(records), entries, remaining)


def entry_plan(chart: Chart, entries: tuple[int, ...]) -> Plan:
    """The plan entering the initial configuration (nothing is exited)."""
    return _finish(chart, (), (), (), entries, [])


def _in_final(chart: Chart, s: int, config: set[int]) -> bool:
    kind = chart.kind[s]
    if kind == PARALLEL:
        return all(_in_final(chart, c, config) for c in chart.children[s])
    return any(c in config and chart.kind[c] == FINAL for c in chart.children[s])


def _finish(
    chart: Chart,
    transitions: tuple[ChartTransition, ...],
    exits: tuple[int, ...],
    records: tuple[tuple[str, tuple[str, ...]], ...],
    entries: tuple[int, ...],
    remaining: list[int],
) -> Plan:
    ids, kind, parent = chart.ids, chart.kind, chart.parent
    config = set(remaining)
    done: list[tuple[str, ...]] = []
    finished = False
    for s in entries:
        config.add(s)
        raised: tuple[str, ...] = ()
        if kind[s] == FINAL:
            p = parent[s]
            if p == ROOT:
                finished = True
            else:
                raised = (f"done.state.{ids[p]}",)
                gp = parent[p]
                if (
                    gp > ROOT
                    and kind[gp] == PARALLEL
                    and all(_in_final(chart, c, config) for c in chart.children[gp])
                ):
                    raised += (f"done.state.{ids[gp]}",)
        done.append(raised)
    next_info = info_for(chart, tuple(sorted(config)))
    any_done = any(done)
    simple = (
        not records
        and not any_done
        and not finished
        and not any(t.ops or t.timer for t in transitions)
        and not any(chart.exit_ops[s] or chart.timers[s] for s in exits)
        and not any(chart.entry_ops[s] or chart.initial_ops[s] or chart.timers[s] for s in entries)
    )
    return Plan(
        transitions, exits, records, entries, tuple(done) if any_done else (), finished, next_info, simple
    )
