"""The pure core: ``start``, ``step`` and ``macrostep`` over a compiled :class:`~.chart.Chart`.

These follow the SCXML algorithm (https://www.w3.org/TR/scxml/#AlgorithmforSCXMLInterpretation):
an external event is one macrostep; it runs one microstep for the event, then microsteps for
eventless transitions and internal events until neither enables anything. A microstep exits
states in reverse document order, runs the transitions' actions, and enters states in
document order. See docs/semantics.md for the details and the few deliberate deviations.

Pure: no I/O, no clock, no globals, inputs are never mutated. The only state that outlives a
call is the chart's memo tables (:mod:`.plan`), keyed by immutable values.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from counterpoint.dsl.model import TOOL_CALL_ENDINGS
from counterpoint.engine.core import effects as fx
from counterpoint.engine.core.chart import Chart, ChartTransition
from counterpoint.engine.core.events import Event
from counterpoint.engine.core.exprs import Compiled, ExprRuntimeError
from counterpoint.engine.core.plan import (
    ConfigInfo,
    Plan,
    dispatch_entry,
    entry_plan,
    info_for,
    info_for_ids,
    plan_for,
)
from counterpoint.engine.core.snapshot import Snapshot, make, moved

#: A macrostep stops (with an error) after this many microsteps or internal events: a loop.
MAX_MICROSTEPS = 10_000

@dataclass(frozen=True, slots=True)
class Macrostep:
    """What one macrostep did: the new snapshot and the effects; :func:`macrostep` also fills
    in the transitions taken and the states exited and entered (the runtime passes them on to
    its listeners as a :class:`~counterpoint.engine.runtime.interpreter.StepRecord`).

    ``events`` are the events processed (the external one, then internal ones in order);
    ``exited``/``entered`` are state ids in the order it exited/entered them.
    """

    snapshot: Snapshot
    effects: list[fx.Effect]
    transitions: tuple[ChartTransition, ...] = ()
    exited: tuple[str, ...] = ()
    entered: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()


# --------------------------------------------------------------------------- public API


def start(chart: Chart) -> tuple[Snapshot, list[fx.Effect]]:
    """The initial macrostep: enter the initial configuration and run to completion."""
    result = start_macrostep(chart)
    return result.snapshot, result.effects


def start_macrostep(chart: Chart) -> Macrostep:
    run = _Run(chart, info_for(chart, ()), Snapshot(variables=chart.initial_variables), trace=True)
    run.execute(entry_plan(chart, chart.initial_entry))
    run.stabilize()
    return run.result()


def step(chart: Chart, snapshot: Snapshot, event: Event | str) -> tuple[Snapshot, list[fx.Effect]]:
    """Process one external event: ``(new snapshot, effects)``. Pure."""
    # Hot path: the exact-class test is cheaper than isinstance, but mypy cannot narrow the
    # union by it afterwards (str may be subclassed), hence the two ignores below.
    if event.__class__ is str:
        event = Event(event)
    info = snapshot._info
    if info is None or info.chart is not chart:
        info = _info_of(chart, snapshot)
    name = event.name  # type: ignore[union-attr]  # a str became an Event above
    entry = info.dispatch.get(name)
    if entry is None:
        entry = dispatch_entry(chart, info, name)
    if not (snapshot._internal or snapshot._pending or snapshot.finished):
        if entry.__class__ is Plan:
            if entry.simple and entry.next.quiet:
                return moved(snapshot, entry.next), []
        elif not entry and info.quiet:
            return snapshot, []
    result = _macrostep(chart, snapshot, event, info, False)  # type: ignore[arg-type]  # as above
    return result.snapshot, result.effects


def macrostep(chart: Chart, snapshot: Snapshot, event: Event | str) -> Macrostep:
    """Like :func:`step`, also reporting transitions taken and states exited and entered."""
    if isinstance(event, str):
        event = Event(event)
    info = snapshot._info
    if info is None or info.chart is not chart:
        info = _info_of(chart, snapshot)
    return _macrostep(chart, snapshot, event, info, True)


def _info_of(chart: Chart, snapshot: Snapshot) -> ConfigInfo:
    return info_for_ids(chart, snapshot.configuration)


def _macrostep(
    chart: Chart, snapshot: Snapshot, event: Event, info: ConfigInfo, trace: bool
) -> Macrostep:
    if snapshot.finished:
        return Macrostep(snapshot, [])
    timer_state = chart.timer_of_event.get(event.name)
    if timer_state is not None:
        sid = chart.ids[timer_state]
        if sid not in info.id_set or snapshot._epochs.get(sid) != event.data.get("epoch"):
            return Macrostep(snapshot, [])  # a stale timer: its state was exited since
    run = _Run(chart, info, snapshot, trace=trace)
    if run.internal:  # left over by a snapshot made mid-macrostep: finish that macrostep first
        run.stabilize()
    if run.pending and event.name.startswith("tool."):
        run.tool_finished(event)
    run.event = event
    if trace:
        run.events.append(event)
    plan = run.select(event.name)
    if plan is not None:
        run.execute(plan)
    run.stabilize()
    return run.result()


# --------------------------------------------------------------------------- the environment of expressions


class _Env:
    """What guards and action expressions see: ``event``, the event's data fields, variables."""

    __slots__ = ("run",)

    def __init__(self, run: _Run):
        self.run = run

    def lookup(self, name: str) -> Any:
        run = self.run
        event = run.event
        if name == "event":
            if event is None:
                raise ExprRuntimeError("no event is being processed")
            return {"name": event.name, "data": dict(event.data)}
        if event is not None:
            data = event.data
            if name in data:
                return data[name]
        variables = run.vars
        if name in variables:
            return variables[name]
        raise ExprRuntimeError(f"unknown name '{name}'")

    def in_state(self, state_id: str) -> bool:
        return state_id in self.run.info.id_set


# --------------------------------------------------------------------------- one macrostep in progress


class _Run:
    """The mutable working state of one macrostep, started from a snapshot.

    The snapshot's mappings are shared, never mutated: before the first write to one of them
    the run takes its own copy (:meth:`_copy`), so a macrostep that changes nothing copies
    nothing. Each write site reads ``self.x if "x" in self.copied else self._copy("x")``,
    which costs next to nothing when the copy exists (this is the hot path).
    Ops (:mod:`.actions`) use: ``env``, ``effects``, ``set_var``, ``raise_event``,
    ``next_count``, ``start_call``, ``cancel_calls``.
    """

    __slots__ = (
        "chart", "info", "event", "effects", "internal", "vars", "history", "epochs", "counters", "pending",
        "copied", "finished", "env", "trace", "taken", "exited", "entered", "events", "leaving",
    )  # fmt: skip

    def __init__(self, chart: Chart, info: ConfigInfo, snapshot: Snapshot, *, trace: bool):
        self.chart = chart
        self.info = info
        self.event: Event | None = None
        self.effects: list[fx.Effect] = []
        self.internal: deque[Event] = deque(snapshot._internal)
        self.vars: dict[str, Any] = snapshot._vars
        self.history: dict[str, tuple[str, ...]] = snapshot._history
        self.epochs: dict[str, int] = snapshot._epochs
        self.counters: dict[str, int] = snapshot._counters
        self.pending: dict[str, tuple[str, str]] = snapshot._pending
        #: the names of the mappings above that are this run's own copies (a tuple: no allocation
        #: for the runs that copy nothing)
        self.copied: tuple[str, ...] = ()
        self.finished = False
        self.env = _Env(self)
        self.trace = trace
        self.taken: list[ChartTransition] = []
        self.exited: list[str] = []
        self.entered: list[str] = []
        self.events: list[Event] = []
        #: while a transition's actions run: the states it exits (a call started there is owned
        #: by the nearest ancestor of the source that stays active)
        self.leaving: tuple[int, ...] = ()

    def _copy(self, field: str) -> dict[str, Any]:
        """Replace the snapshot's mapping in slot ``field`` (``vars``, ``history``...) by this
        run's own copy, and return it for writing."""
        own = dict(getattr(self, field))
        setattr(self, field, own)
        self.copied += (field,)
        return own

    # ---------------------------------------------------------------- for ops

    def set_var(self, name: str, value: Any) -> None:
        variables = self.vars if "vars" in self.copied else self._copy("vars")
        variables[name] = value

    def raise_event(self, event: Event) -> None:
        self.internal.append(event)
        self.effects.append(fx.Raised(event))

    def next_count(self, key: str) -> int:
        counters = self.counters if "counters" in self.copied else self._copy("counters")
        n = counters[key] = counters.get(key, 0) + 1
        return n

    def start_call(self, call_id: str, tool: str, state: int, args: dict[str, Any]) -> None:
        if self.leaving:
            parent = self.chart.parent
            while state in self.leaving and parent[state] >= 0:
                state = parent[state]
        sid = self.chart.ids[state]
        self.effects.append(fx.StartTool(call_id, tool, args, sid))
        pending = self.pending if "pending" in self.copied else self._copy("pending")
        pending[call_id] = (tool, sid)

    def cancel_calls(self, target: str) -> None:
        self.effects.append(fx.CancelTool(target))
        if self.pending:
            gone = [cid for cid, (tool, _) in self.pending.items() if cid == target or tool == target]
            if gone:
                pending = self.pending if "pending" in self.copied else self._copy("pending")
                for cid in gone:
                    del pending[cid]

    def tool_finished(self, event: Event) -> None:
        """A tool event that ends a call (``tool.<name>.done``, ``.error``...: TOOL_CALL_ENDINGS)
        with a known call_id: that call is no longer pending."""
        parts = event.name.split(".")
        if len(parts) == 3 and parts[2] in TOOL_CALL_ENDINGS:
            call_id = event.data.get("call_id")
            if isinstance(call_id, str) and call_id in self.pending:
                pending = self.pending if "pending" in self.copied else self._copy("pending")
                del pending[call_id]

    def error(self, message: str) -> None:
        """SCXML error.execution: an internal event; the failing block stops, the rest goes on."""
        self.raise_event(Event("error.execution", {"error": message}))

    # ---------------------------------------------------------------- selection

    def select(self, name: str | None) -> Plan | None:
        info = self.info
        entry = info.dispatch.get(name)
        if entry is None:
            entry = dispatch_entry(self.chart, info, name)
        if entry.__class__ is Plan:
            return entry
        if not entry:
            return None
        selected: list[ChartTransition] = []
        for chain in entry:
            for t in chain:
                test = t.test
                if test is None or self._holds(t, test):
                    if t not in selected:
                        selected.append(t)
                    break
        if not selected:
            return None
        return plan_for(self.chart, info, tuple(selected), self._recorded)

    def _holds(self, t: ChartTransition, test: Compiled) -> bool:
        try:
            return bool(test(self.env))
        except Exception as exc:  # noqa: BLE001 - a failing guard is false plus error.execution
            self.error(f"guard [{t.guard}] of a transition of '{t.source}' ({t.span}): {exc}")
            return False

    def _recorded(self, h: int) -> tuple[int, ...] | None:
        values = self.history.get(self.chart.ids[h])
        if values is None:
            return None
        index = self.chart.index
        return tuple(index(x) for x in values)

    # ---------------------------------------------------------------- microsteps

    def run_block(self, ops: tuple[Any, ...], state: int, where: str) -> None:
        for op in ops:
            try:
                op(self, state)
            except Exception as exc:  # noqa: BLE001 - a failing action stops its block (SCXML)
                self.error(f"{where} of '{self.chart.ids[state]}': {exc}")
                return

    def execute(self, plan: Plan) -> None:
        chart = self.chart
        ids = chart.ids
        effects = self.effects
        if self.trace:
            self.taken.extend(plan.transitions)
            self.exited.extend(ids[s] for s in plan.exits)
            self.entered.extend(ids[s] for s in plan.entries)
        if plan.records:
            history = self.history if "history" in self.copied else self._copy("history")
            history.update(plan.records)
        exit_ops, timers = chart.exit_ops, chart.timers
        for s in plan.exits:
            doomed = None
            if self.pending:
                sid = ids[s]
                cancel = chart.cancel_on_exit
                doomed = [cid for cid, (tool, st) in self.pending.items() if st == sid and tool in cancel]
            if exit_ops[s]:
                self.run_block(exit_ops[s], s, "exit")
            if timers[s]:
                epoch = self.epochs.get(ids[s], 0)
                for tm in timers[s]:
                    effects.append(fx.CancelTimer(tm.key, epoch))
            if doomed:
                for cid in doomed:
                    if cid in self.pending:
                        effects.append(fx.CancelTool(cid))
                        pending = self.pending if "pending" in self.copied else self._copy("pending")
                        del pending[cid]
        if plan.transitions:
            self.leaving = plan.exits
            for t in plan.transitions:
                if t.ops:
                    self.run_block(t.ops, t.src, "transition")
            self.leaving = ()
        self.info = plan.next
        entry_ops, done, initial_ops = chart.entry_ops, plan.done, chart.initial_ops
        by_default = None
        for i, s in enumerate(plan.entries):
            if timers[s]:
                epochs = self.epochs if "epochs" in self.copied else self._copy("epochs")
                epoch = epochs[ids[s]] = epochs.get(ids[s], 0) + 1
            if entry_ops[s]:
                self.run_block(entry_ops[s], s, "entry")
            if initial_ops[s]:
                if by_default is None:
                    by_default = chart.default_entered(plan.transitions, self._recorded)
                if by_default(s):
                    self.run_block(initial_ops[s], s, "initial")
            if timers[s]:
                for tm in timers[s]:
                    effects.append(fx.StartTimer(tm.key, tm.event, tm.delay, tm.repeat, epoch))
            if done and done[i]:
                data = self.output(s)
                for name in done[i]:
                    self.raise_event(Event(name, data))
                    data = {}  # a parallel grandparent's done event carries no data (SCXML)
        if plan.finished:
            self.finished = True
            final = next((s for s in plan.entries if chart.parent[s] == 0 and chart.outputs[s]), None)
            if final is not None:
                effects.append(fx.Finished(ids[final], self.output(final)))

    def output(self, final: int) -> dict[str, Any]:
        """The ``data`` of a final state, evaluated now; {} when it has none or it fails
        (the failure is reported as error.execution, as for any action)."""
        output = self.chart.outputs[final]
        if output is None:
            return {}
        try:
            return output(self.env)
        except Exception as exc:  # noqa: BLE001 - a failing expression is error.execution
            self.error(f"data of final state '{self.chart.ids[final]}': {exc}")
            return {}

    def stabilize(self) -> None:
        """Eventless transitions, then internal events, until neither enables anything."""
        count = 0  # microsteps and internal events: both can loop (an erring guard on "*")
        internal = self.internal
        while not self.finished:
            count += 1
            if count > MAX_MICROSTEPS:
                internal.clear()
                message = (
                    f"macrostep stopped after {MAX_MICROSTEPS} microsteps and internal events "
                    "(a loop of eventless transitions or raised events?)"
                )
                self.effects.append(fx.Raised(Event("error.execution", {"error": message})))
                self.effects.append(fx.LogMessage(message))
                return
            plan = None if self.info.quiet else self.select(None)
            if plan is None:
                if not internal:
                    return
                event = self.event = internal.popleft()
                if self.trace:
                    self.events.append(event)
                plan = self.select(event.name)
                if plan is None:
                    continue
            self.execute(plan)
        internal.clear()  # a finished chart processes nothing more

    def result(self) -> Macrostep:
        snapshot = make(
            self.info,
            self.vars,
            self.history,
            tuple(self.internal),
            self.epochs,
            self.counters,
            self.pending,
            self.finished,
        )
        if not self.trace:
            return Macrostep(snapshot, self.effects)
        return Macrostep(
            snapshot,
            self.effects,
            tuple(self.taken),
            tuple(self.exited),
            tuple(self.entered),
            tuple(self.events),
        )
