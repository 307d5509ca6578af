"""The reference: the same chart run by python-statemachine 3.2 (sync engine), step by step.

:func:`to_native` translates a counterpoint model into python-statemachine's native dict
format (the one its JSON/YAML loaders read), and :func:`compare` runs both engines on an event
sequence, checking after start and after every event that they agree on the configuration,
the variables and whether the chart has finished.

Only the constructs both sides define are translated: states of every kind, history with its
default, event/eventless/guarded/internal/multi-target transitions, ``set`` and ``raise``
(without data). ``log`` is dropped (no observable state). Timers, tools, say... have no
counterpart and are rejected. Deliberate differences are listed in docs/semantics.md; the
one the harness corrects is python-statemachine's order of atomic states during selection
(see :func:`_instrument`).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from typing import Any, Protocol

from statemachine.engines.sync import SyncEngine
from statemachine.io import load
from statemachine.orderedset import OrderedSet

from counterpoint.dsl import Agent, Log, Raise, Set, State, StateKind, Transition
from counterpoint.engine import Chart, compile, start, step
from counterpoint.engine.core.effects import LogMessage

#: Eventless microsteps plus internal events per macrostep after which both engines are declared
#: to loop (the reference has no limit itself; ours is lowered to this by limit_our_microsteps).
LOOP_LIMIT = 50


class Unsupported(Exception):
    """The chart uses something python-statemachine cannot express."""


class Livelock(Exception):
    """The reference ran more than LOOP_LIMIT microsteps for one event."""


def _actions(actions: Iterable[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for a in actions:
        if isinstance(a, Set):
            out.append({"assign": {"location": a.var, "expr": a.expr.source}})
        elif isinstance(a, Raise):
            if a.data:
                raise Unsupported("raise with data")
            out.append({"raise": a.event})
        elif isinstance(a, Log):
            continue
        else:
            raise Unsupported(type(a).__name__)
    return out


def _transition(t: Transition, source: int, chart: Chart) -> dict[str, Any]:
    out: dict[str, Any] = {"target": " ".join(t.targets) if t.targets else None}
    if t.events:
        out["event"] = " ".join(t.events)
    if t.guard is not None:
        out["cond"] = t.guard.source
    # SCXML ignores type="internal" unless every target is a proper descendant of the source;
    # python-statemachine rejects such a definition instead, so say it only when it matters.
    targets = [chart.index(x) for x in t.targets]
    if t.internal and targets and all(chart.is_descendant(x, source) for x in targets):
        out["internal"] = True
    actions = _actions(t.actions)
    if actions:
        out["on"] = actions
    return out


def _state(s: State, initial: bool, chart: Chart) -> dict[str, Any]:
    if s.timers:
        raise Unsupported("timers")
    out: dict[str, Any] = {}
    if initial:
        out["initial"] = True
    if s.kind is StateKind.FINAL:
        out["final"] = True
    if s.kind is StateKind.PARALLEL:
        out["parallel"] = True
    if s.entry:
        out["enter"] = _actions(s.entry)
    if s.exit:
        out["exit"] = _actions(s.exit)
    if s.transitions:
        out["transitions"] = [_transition(t, chart.index(s.id), chart) for t in s.transitions]
    children = [c for c in s.children if c.kind is not StateKind.HISTORY]
    if children:
        out["states"] = {c.id: _state(c, c.id == s.initial, chart) for c in children}
    history = [c for c in s.children if c.kind is StateKind.HISTORY]
    if history:
        out["history"] = {
            h.id: {
                "type": h.history or "shallow",
                "transitions": [
                    {"target": " ".join(chart.ids[i] for i in chart.history_default[chart.index(h.id)])}
                ],
            }
            for h in history
        }
    return out


def to_native(model: Agent, chart: Chart) -> dict[str, Any]:
    initial = model.initial or model.states[0].id
    doc: dict[str, Any] = {"states": {s.id: _state(s, s.id == initial, chart) for s in model.states}}
    if model.variables:
        doc["datamodel"] = {v.name: v.init.source if v.init is not None else "None" for v in model.variables}
    return doc


def _instrument(engine: SyncEngine, sort_atomic: bool) -> None:
    """Count work like our loop guard does (to stop a livelock) and, if asked, select in
    document order.

    Our guard counts eventless microsteps and internal events taken from the queue; the
    reference counts the same (its first ``select_transitions`` of a ``send`` is the external
    event: ``send`` starts the count at -1), so both declare a loop at the same point.

    python-statemachine 3.2 iterates atomic states in configuration *insertion* order during
    selection (its source says "TODO: sorted by document order"). That changes which of two
    conflicting transitions in parallel regions wins once a region has been re-entered, so
    the harness sorts the configuration first, making it the SCXML reference it is meant to be.
    """
    select, eventless = engine.select_transitions, engine.select_eventless_transitions
    select_all = engine._select_transitions

    def sorted_select(trigger_data: Any, predicate: Any) -> Any:
        sm = engine.sm
        config = list(sm.configuration)
        ordered = sorted(config, key=lambda st: st.document_order)
        if config != ordered:
            sm.configuration = OrderedSet(ordered)
        return select_all(trigger_data, predicate)

    def work() -> None:
        engine._oracle_count += 1  # type: ignore[attr-defined]
        if engine._oracle_count >= LOOP_LIMIT:  # type: ignore[attr-defined]
            raise Livelock()

    def counted_select(trigger_data: Any) -> Any:
        work()
        return select(trigger_data)

    def counted_eventless(trigger_data: Any) -> Any:
        found = eventless(trigger_data)
        if found:
            work()
        return found

    engine._oracle_count = 0  # type: ignore[attr-defined]
    if sort_atomic:
        engine._select_transitions = sorted_select  # type: ignore[method-assign]
    engine.select_transitions = counted_select  # type: ignore[method-assign]
    engine.select_eventless_transitions = counted_eventless  # type: ignore[method-assign]


def _renumber(states: Iterable[Any], chart: Chart) -> None:
    """Give python-statemachine's states their document order (pre-order position).

    Its metaclass numbers nested states with a counter that is not carried back from the
    recursion (``_initials_by_document_order``), so siblings' subtrees share numbers and
    entry/exit sorting and conflict resolution follow a different order than the document.
    """
    for st in states:
        st.document_order = chart.index(st.id)
        _renumber(st.states, chart)
        _renumber(st.history, chart)


class Reference:
    """A python-statemachine instance of a counterpoint model."""

    def __init__(self, model: Agent, chart: Chart, sort_atomic: bool = True):
        self.names = [v.name for v in model.variables]
        cls = load(json.dumps(to_native(model, chart)), format="json")

        def get_engine(sm: Any) -> SyncEngine:
            engine = SyncEngine(sm)
            _instrument(engine, sort_atomic)
            return engine

        cls._get_engine = get_engine  # type: ignore[method-assign]
        if sort_atomic:
            _renumber(cls.states, chart)
        self.sm = cls()

    def send(self, name: str) -> None:
        self.sm._engine._oracle_count = -1  # the external event's selection is not counted
        self.sm.send(name)

    def configuration(self) -> set[str]:
        return {s.id for s in self.sm.configuration}

    def variables(self) -> dict[str, Any]:
        return {n: getattr(self.sm.model, n) for n in self.names}

    @property
    def finished(self) -> bool:
        return not self.sm._engine.running


def _looped(effects: list[Any]) -> bool:
    return any(isinstance(e, LogMessage) and "microsteps" in e.text for e in effects)


class EventSource(Protocol):
    """Chooses the next external event from the configuration both engines agree on."""

    def next(self, configuration: tuple[str, ...]) -> str | None: ...


def compare(model: Agent, events: Iterable[str] | EventSource, sort_atomic: bool = True) -> int:
    """Run ``events`` through both engines; AssertionError describes the first disagreement.

    ``events`` is a list of names or an :class:`EventSource` (a generated walk), asked for each
    event with the current configuration. Returns how many events were compared (fewer than
    given when both engines loop: ours stops the macrostep with error.execution, the reference
    is stopped by the harness).
    """
    source = events if hasattr(events, "next") else None
    names = iter(()) if source is not None else iter(list(events))  # type: ignore[arg-type]
    chart = compile(model)
    ours, effects = start(chart)
    try:
        ref = Reference(model, chart, sort_atomic)
    except Livelock:
        assert _looped(effects), "python-statemachine loops at start, counterpoint does not"
        return 0
    assert not _looped(effects), "counterpoint loops at start, python-statemachine does not"
    _agree(ref, ours, "start")
    sent: list[str] = []
    while not ours.finished or source is None:
        name = source.next(ours.configuration) if source is not None else next(names, None)
        if name is None:
            break
        i = len(sent)
        sent.append(name)
        when = f"event #{i} {name!r} (events {sent})"
        ours, effects = step(chart, ours, name)
        try:
            ref.send(name)
        except Livelock:
            assert _looped(effects), f"{when}: python-statemachine loops, counterpoint does not"
            return i
        assert not _looped(effects), f"{when}: counterpoint loops, python-statemachine does not"
        _agree(ref, ours, when)
    return len(sent)


def _agree(ref: Reference, ours: Any, when: str) -> None:
    theirs = ref.configuration()
    assert set(ours.configuration) == theirs, (
        f"after {when}: counterpoint {sorted(ours.configuration)} != python-statemachine {sorted(theirs)}"
    )
    assert dict(ours.variables) == ref.variables(), (
        f"after {when}: variables {dict(ours.variables)} != {ref.variables()}"
    )
    assert ours.finished == ref.finished, f"after {when}: finished {ours.finished} != {ref.finished}"


def limit_our_microsteps(monkeypatch: Any) -> None:
    """Make our loop guard trip at the same bound as the reference's."""
    monkeypatch.setattr(importlib.import_module("counterpoint.engine.core.step"), "MAX_MICROSTEPS", LOOP_LIMIT)
