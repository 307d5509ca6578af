"""The trio interpreter: runs a compiled chart against the clock and the outside world.

The pure core (:mod:`.step`) decides; this shell performs. It owns the chart's
:class:`~.snapshot.Snapshot`, an external event queue ordered by ``(priority, time, seq)``,
the timers and delayed sends the chart asked for, and the effect handlers that speak,
prompt the LLM and run tools. One external event is processed per macrostep.

Timers and delayed sends are trio tasks, each in its own cancel scope, keyed by
``(key, epoch)`` and by send id. Their events are stamped with the instant they were due
and with a sequence number fixed when they were scheduled, so the order in which events
fired at the same virtual instant are processed never depends on trio's (deliberately
randomised) task scheduling: under ``trio.testing.MockClock(autojump_threshold=0)`` a run
is exact and repeatable.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import trio

from counterpoint.engine.core.effects import (
    CancelSend,
    CancelTimer,
    CancelTool,
    Effect,
    LogMessage,
    Raised,
    SendEvent,
    SpawnAgent,
    Speak,
    StartLLMTurn,
    StartTimer,
    StartTool,
)
from counterpoint.engine.core.events import Event
from counterpoint.engine.runtime.queue import EventQueue
from counterpoint.engine.runtime.trace import effect_to_json, to_jsonable, transition_to_json

if TYPE_CHECKING:
    from counterpoint.engine.core.step import Macrostep

#: Version tag of the dicts :meth:`Interpreter.save` returns.
SAVE_FORMAT = "counterpoint.interpreter/1"

#: At most this many macrosteps in a row without a checkpoint (see ``_run``).
MAX_BURST = 64


def _now() -> float:
    """trio's clock, or 0.0 outside a trio run (e.g. events queued before ``trio.run``)."""
    try:
        return trio.current_time()
    except RuntimeError:
        return 0.0


@contextmanager
def collapse_groups() -> Iterator[None]:
    """Re-raise a nursery's group of one exception as that exception.

    trio wraps even the nursery body's own exception in an ExceptionGroup; callers of
    ``run()`` and test code want the plain exception (an AssertionError stays one).
    """
    try:
        yield
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1 and not isinstance(group.exceptions[0], BaseExceptionGroup):
            raise group.exceptions[0] from None
        raise


# --------------------------------------------------------------------------- records and listeners


@dataclass(frozen=True)
class StepRecord:
    """What one macrostep did, with when and in which configuration it ended: listeners
    receive one of these after every macrostep (the core's :class:`~.step.Macrostep`, stamped
    with the time and its index, and with the configuration and variables it left).

    ``event`` is None for the initial macrostep (entering the initial configuration).
    """

    time: float
    event: Event | None
    transitions: tuple[Any, ...]
    exited: tuple[str, ...]
    entered: tuple[str, ...]
    effects: tuple[Effect, ...]
    configuration: tuple[str, ...]
    variables: Mapping[str, Any] = field(default_factory=dict)
    index: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "time": self.time,
            "event": self.event.to_json() if self.event is not None else None,
            "transitions": [transition_to_json(t) for t in self.transitions],
            "exited": list(self.exited),
            "entered": list(self.entered),
            "effects": [effect_to_json(e) for e in self.effects],
            "configuration": list(self.configuration),
            "variables": to_jsonable(self.variables),
        }


Listener = Callable[[StepRecord], None]

_new = object.__new__


def _record(time: float, event: Event | None, result: Macrostep, effects: tuple[Effect, ...],
            configuration: tuple[str, ...], variables: Mapping[str, Any], index: int) -> StepRecord:
    """A StepRecord without the frozen dataclass's ``__init__`` (one ``object.__setattr__`` per
    field): this runs on every macrostep someone listens to."""
    record = _new(StepRecord)
    record.__dict__.update(time=time, event=event, transitions=result.transitions, exited=result.exited,
                           entered=result.entered, effects=effects, configuration=configuration,
                           variables=variables, index=index)
    return record


# Raw slot setters of Event (its frozen ``__init__`` costs more than the rest of ``send()``).
_event_slots = Event.__dict__
_EVENT_SETTERS: tuple[Callable[[Event, Any], None], ...] = tuple(
    _event_slots[name].__set__ for name in ("name", "data", "priority", "time", "seq", "send_id")
)
del _event_slots


def _event(name: str, data: dict[str, Any], priority: int, time: float, seq: int, send_id: str | None) -> Event:
    """``Event(name, data, priority, time, seq, send_id)``, built the fast way."""
    event = _new(Event)
    set_name, set_data, set_priority, set_time, set_seq, set_send_id = _EVENT_SETTERS
    set_name(event, name)
    set_data(event, data)
    set_priority(event, priority)
    set_time(event, time)
    set_seq(event, seq)
    set_send_id(event, send_id)
    return event


# --------------------------------------------------------------------------- effect handlers


_METHODS: dict[type, str] = {
    StartTimer: "start_timer",
    CancelTimer: "cancel_timer",
    StartTool: "start_tool",
    CancelTool: "cancel_tool",
    Speak: "speak",
    StartLLMTurn: "start_llm_turn",
    Raised: "raised",
    SendEvent: "send_event",
    CancelSend: "cancel_send",
    SpawnAgent: "spawn_agent",
    LogMessage: "log_message",
}


class EffectHandler:
    """Performs effects; subclass it and override the methods for the effects you care about.

    Every method may be a plain function or a coroutine function; the interpreter awaits
    coroutines before it processes the next event, so a handler that does slow work (a tool
    call, an LLM turn) starts a task in ``interpreter.nursery`` and returns, then reports the
    outcome with ``interpreter.send(...)``. Timers and delayed sends are performed by the
    interpreter itself; their methods here are notifications only.

    A handler that raises turns into an ``error.execution`` event (data ``error``, ``effect``).
    """

    interpreter: Interpreter | None = None

    def attach(self, interpreter: Interpreter) -> None:
        """Called once when the handler is given to an interpreter."""
        self.interpreter = interpreter

    def handle(self, effect: Effect) -> Any:
        """Dispatch to the method named after the effect type (e.g. ``speak`` for Speak)."""
        method = _METHODS.get(type(effect))
        return getattr(self, method)(effect) if method else None

    def start_timer(self, effect: StartTimer) -> Any: ...
    def cancel_timer(self, effect: CancelTimer) -> Any: ...
    def start_tool(self, effect: StartTool) -> Any: ...
    def cancel_tool(self, effect: CancelTool) -> Any: ...
    def speak(self, effect: Speak) -> Any: ...
    def start_llm_turn(self, effect: StartLLMTurn) -> Any: ...
    def raised(self, effect: Raised) -> Any: ...
    def send_event(self, effect: SendEvent) -> Any: ...
    def cancel_send(self, effect: CancelSend) -> Any: ...
    def spawn_agent(self, effect: SpawnAgent) -> Any: ...
    def log_message(self, effect: LogMessage) -> Any: ...

    # Hooks around the queue, for a runtime that applies priorities to its own work (the agent
    # session: preemption of a turn by a more urgent event). Only overridden hooks are called.

    def event_queued(self, event: Event) -> None:
        """An external event was queued (called at once, before any macrostep handles it)."""

    def hold(self, event: Event) -> bool:
        """True to set ``event`` aside instead of handling it now; ``release_held()`` brings it back."""
        return False

    def macrostep_done(self, event: Event | None, effects: Sequence[Effect]) -> Any:
        """Called after the effects of a macrostep were performed (may be a coroutine)."""

    #: the name under which :meth:`save_state` is kept in :meth:`Interpreter.save` (None: nothing to keep)
    state_key: str | None = None

    def save_state(self) -> Any:
        """The handler's own part of a saved session (JSON-able), e.g. the agent's ledger."""
        return None

    def resume_state(self, data: Any) -> None:
        """Take back what :meth:`save_state` returned (called by :meth:`Interpreter.resume`)."""


class RecordingHandler(EffectHandler):
    """The default handler: performs nothing, remembers every effect with its time."""

    def __init__(self) -> None:
        self.timed: list[tuple[float, Effect]] = []

    @property
    def effects(self) -> list[Effect]:
        return [effect for _, effect in self.timed]

    def handle(self, effect: Effect) -> Any:
        self.timed.append((_now(), effect))
        return super().handle(effect)


# --------------------------------------------------------------------------- pending timers and sends


@dataclass(eq=False)
class _Pending:
    """A timer or a delayed send waiting for its deadline.

    ``order`` is the sequence number the fired events carry (fixed at scheduling time);
    ``deadline`` is absolute trio time while armed, None while frozen (not running), when
    ``remaining`` holds the time left.
    """

    kind: str  # "timer" | "send"
    key: str  # timer key, or send id
    event: Event  # template: name, data, priority, send_id
    delay: float
    repeat: bool
    epoch: int
    order: int
    remaining: float
    deadline: float | None = None
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    armed: bool = False
    done: bool = False

    def time_left(self, now: float) -> float:
        return max(0.0, self.deadline - now) if self.deadline is not None else self.remaining

    def to_json(self, now: float) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "remaining": self.time_left(now), "seq": self.order}
        if self.kind == "timer":
            out.update(event=self.event.name, priority=self.event.priority, delay=self.delay,
                       repeat=self.repeat, epoch=self.epoch)
        else:
            out.update(event=self.event.to_json())
        return out


# --------------------------------------------------------------------------- the interpreter


class Interpreter:
    """Runs one chart: ``send()`` events from any trio task, ``await run()`` to process them.

    ``run()`` returns the final core snapshot when the chart reaches a top-level final state
    or after ``stop()``. Stopping keeps pending timers (frozen with their remaining time),
    so ``save()`` after ``stop()`` and a later ``run()`` (or :meth:`resume` of what was saved,
    in another process) continue exactly.
    """

    def __init__(
        self,
        chart: Any,
        *,
        handlers: EffectHandler | Sequence[EffectHandler] | None = None,
        listeners: Iterable[Listener] = (),
        snapshot: Any = None,
    ) -> None:
        self.chart = chart
        if handlers is None:
            handlers = [RecordingHandler()]
        elif isinstance(handlers, EffectHandler):
            handlers = [handlers]
        self.handlers: list[EffectHandler] = list(handlers)
        for handler in self.handlers:
            handler.attach(self)
        self._listeners: list[Listener] = list(listeners)
        self._on_queued = [h.event_queued for h in self.handlers if _overrides(h, "event_queued")]
        self._holders = [h.hold for h in self.handlers if _overrides(h, "hold")]
        self._after = [h.macrostep_done for h in self.handlers if _overrides(h, "macrostep_done")]
        self._held: list[Event] = []
        self._core = snapshot  # the core Snapshot; None until the initial macrostep
        self._queue = EventQueue()
        self._seq = 0
        self._timers: dict[tuple[str, int], _Pending] = {}
        self._sends: dict[str, _Pending] = {}
        self._anonymous_sends = 0
        self._wakeup = trio.Event()
        self._stopping = False
        self._running = False
        self._nursery: trio.Nursery | None = None
        self.macrosteps = 0
        self._vars_seen: dict[str, Any] | None = None
        self._vars_view: Mapping[str, Any] = MappingProxyType({})

    # ------------------------------------------------------------------ state

    @property
    def core(self) -> Any:
        """The current core :class:`~.snapshot.Snapshot` (None before the first macrostep)."""
        return self._core

    @property
    def configuration(self) -> tuple[str, ...]:
        return tuple(self._core.configuration) if self._core is not None else ()

    @property
    def variables(self) -> Mapping[str, Any]:
        return self._core.variables if self._core is not None else {}

    def active(self, state_id: str) -> bool:
        return self._core is not None and self._core.active(state_id)

    @property
    def finished(self) -> bool:
        return self._core is not None and bool(self._core.finished)

    @property
    def running(self) -> bool:
        return self._running

    @property
    def nursery(self) -> trio.Nursery:
        """The nursery of the running interpreter, for handlers' background tasks."""
        if self._nursery is None:
            raise RuntimeError("the interpreter is not running")
        return self._nursery

    @property
    def queued(self) -> list[Event]:
        """Events waiting in the external queue, in processing order (held events included)."""
        return list(EventQueue([*self._queue, *self._held])) if self._held else list(self._queue)

    @property
    def held(self) -> list[Event]:
        """Events a handler set aside (see :meth:`EffectHandler.hold`), in arrival order."""
        return list(self._held)

    def release_held(self) -> None:
        """Put the held events back in the queue; they keep their time and sequence number."""
        if self._held:
            for event in self._held:
                self._queue.push(event)
            self._held.clear()
            self._wakeup.set()

    @property
    def pending_timers(self) -> dict[tuple[str, int], float]:
        """``(key, epoch) -> seconds left`` for every pending timer."""
        now = _now()
        return {k: p.time_left(now) for k, p in self._timers.items()}

    @property
    def pending_sends(self) -> dict[str, float]:
        """``send id -> seconds left`` for every pending delayed send."""
        now = _now()
        return {k: p.time_left(now) for k, p in self._sends.items()}

    @property
    def idle(self) -> bool:
        """True when nothing is queued (pending timers may still fire later)."""
        return not self._queue

    # ------------------------------------------------------------------ input

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(record)`` after every macrostep, in the order listeners were added."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def priority_of(self, name: str) -> int:
        priority: int = self.chart.priority_of(name)
        return priority

    def send(self, name: str, data: Mapping[str, Any] | None = None, priority: int | None = None,
             *, send_id: str | None = None) -> Event:
        """Queue an external event now; safe from any trio task, and before ``run()``.

        The priority defaults to the chart's priority for ``name`` (``priorities:``).
        """
        self._seq += 1
        event = _event(name, dict(data) if data else {}, self.priority_of(name) if priority is None else priority,
                       _now(), self._seq, send_id)
        self._enqueue(event)
        return event

    def _enqueue(self, event: Event) -> None:
        self._queue.push(event)
        self._wakeup.set()
        for hook in self._on_queued:
            hook(event)

    def stop(self) -> None:
        """Ask ``run()`` to return after the current macrostep; pending timers are kept."""
        self._stopping = True
        self._wakeup.set()

    # ------------------------------------------------------------------ the loop

    async def run(self) -> Any:
        """Process events until the chart finishes or ``stop()`` is called; returns the core snapshot."""
        if self._running:
            raise RuntimeError("this interpreter is already running")
        self._running = True
        self._stopping = False
        try:
            with collapse_groups():
                await self._run()
        finally:
            self._nursery = None
            self._running = False
            self._freeze()
        return self._core

    async def _run(self) -> None:
        from counterpoint.engine.core.step import macrostep, start_macrostep, step

        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for pending in [*self._timers.values(), *self._sends.values()]:
                self._arm(pending)
            if self._core is None:
                result = start_macrostep(self.chart)
                self._core = result.snapshot
                await self._finish_macrostep(None, result)
            chart, queue = self.chart, self._queue
            burst = 0  # macrosteps since the loop last let other tasks run
            while not self._stopping and not self.finished:
                if not queue:
                    self._flush_listeners()
                    self._wakeup = trio.Event()
                    await self._wakeup.wait()
                    burst = 0
                    continue
                event = queue.pop()
                if self._holders and any(hold(event) for hold in self._holders):
                    self._held.append(event)
                    continue
                if self._listeners:  # the traced variant costs a little more: only when someone looks
                    result = macrostep(chart, self._core, event)
                    self._core = result.snapshot
                    await self._finish_macrostep(event, result)
                else:
                    self._core, effects = step(chart, self._core, event)
                    self.macrosteps += 1
                    if effects:
                        await self._perform(effects)
                    if self._after:
                        await self._macrostep_done(event, effects)
                # Let senders, timers and the tasks handlers started run. A checkpoint costs more
                # than a simple macrostep, so a burst of queued events runs on (as if trio's
                # scheduler had chosen to keep this task running, which a checkpoint allows) for
                # at most MAX_BURST macrosteps; an empty queue always yields (above).
                burst += 1
                if burst >= MAX_BURST:
                    burst = 0
                    await trio.lowlevel.checkpoint()
            nursery.cancel_scope.cancel()

    def _flush_listeners(self) -> None:
        """Before waiting for input: listeners that buffer (``flush()``) write what they hold."""
        for listener in self._listeners:
            flush = getattr(listener, "flush", None)
            if flush is not None:
                flush()

    async def _finish_macrostep(self, event: Event | None, result: Macrostep) -> None:
        self.macrosteps += 1
        effects = tuple(result.effects)
        if self._listeners:
            core = self._core
            # No copies: the core never mutates a snapshot's tuples and mappings once made. One
            # read-only view per variables dict, so listeners can tell "unchanged" by identity.
            if core._vars is not self._vars_seen:
                self._vars_seen = core._vars
                self._vars_view = MappingProxyType(core._vars)
            record = _record(_now(), event, result, effects, core.configuration, self._vars_view,
                             self.macrosteps - 1)
            for listener in list(self._listeners):
                listener(record)
        if effects:
            await self._perform(effects)
        if self._after:
            await self._macrostep_done(event, effects)

    async def _macrostep_done(self, event: Event | None, effects: Sequence[Effect]) -> None:
        for hook in self._after:
            outcome = hook(event, effects)
            if inspect.isawaitable(outcome):
                await outcome

    def _freeze(self) -> None:
        """After run(): drop everything when finished, else keep pending work with its time left."""
        if self.finished:
            self._timers.clear()
            self._sends.clear()
            return
        now = _now()
        for pending in [*self._timers.values(), *self._sends.values()]:
            pending.remaining = pending.time_left(now)
            pending.deadline = None
            pending.armed = False
            pending.scope = trio.CancelScope()

    # ------------------------------------------------------------------ effects

    async def _perform(self, effects: Iterable[Effect]) -> None:
        handlers = self.handlers
        for effect in effects:
            if isinstance(effect, StartTimer):
                self._start_timer(effect)
            elif isinstance(effect, CancelTimer):
                self._cancel(self._timers.pop((effect.key, effect.epoch), None))
            elif isinstance(effect, SendEvent):
                self._send_later(effect)
            elif isinstance(effect, CancelSend):
                self._cancel(self._sends.pop(effect.send_id, None))
            for handler in handlers:
                try:
                    outcome = handler.handle(effect)
                    if inspect.isawaitable(outcome):
                        await outcome
                except Exception as exc:  # a failing handler is an event, never a crash of the loop
                    self.send("error.execution", {"error": f"{type(exc).__name__}: {exc}",
                                                  "effect": type(effect).__name__})

    def _start_timer(self, effect: StartTimer) -> None:
        self._cancel(self._timers.pop((effect.key, effect.epoch), None))
        delay = max(0.0, float(effect.delay))
        # a repeating timer with no period would fire forever at one instant: fire it once
        repeat = bool(effect.repeat) and delay > 0
        template = Event(effect.event, {}, self.priority_of(effect.event))
        pending = _Pending("timer", effect.key, template, delay, repeat, effect.epoch, self._next_seq(), delay)
        self._timers[(effect.key, effect.epoch)] = pending
        self._arm(pending)

    def _send_later(self, effect: SendEvent) -> None:
        source = effect.event
        priority = source.priority  # the core already applied the send's or the chart's priority
        if effect.delay <= 0:
            self._enqueue(Event(source.name, dict(source.data), priority, _now(), self._next_seq(),
                                effect.send_id))
            return
        if effect.send_id is None:
            self._anonymous_sends += 1
            key = f"_send.{self._anonymous_sends}"
        else:
            key = effect.send_id
        self._cancel(self._sends.pop(key, None))  # a new send with the same id replaces the old one
        template = Event(source.name, dict(source.data), priority, 0.0, 0, effect.send_id)
        pending = _Pending("send", key, template, float(effect.delay), False, 0, self._next_seq(),
                           float(effect.delay))
        self._sends[key] = pending
        self._arm(pending)

    def _arm(self, pending: _Pending) -> None:
        if self._nursery is None or pending.armed:
            return  # armed when run() starts
        pending.armed = True
        if pending.deadline is None:
            pending.deadline = _now() + pending.remaining
        self._nursery.start_soon(self._wait_and_fire, pending)

    @staticmethod
    def _cancel(pending: _Pending | None) -> None:
        if pending is not None:
            pending.done = True
            pending.scope.cancel()

    async def _wait_and_fire(self, pending: _Pending) -> None:
        with pending.scope:
            first = pending.deadline
            assert first is not None, "_arm sets the deadline before starting this task"
            due = first
            fired = 0
            while True:
                await trio.sleep_until(due)
                template = pending.event
                data = {"epoch": pending.epoch} if pending.kind == "timer" else dict(template.data)
                self._enqueue(Event(template.name, data, template.priority, due, pending.order,
                                    template.send_id))
                if not pending.repeat:
                    break
                fired += 1
                due = pending.deadline = first + fired * pending.delay
        if not pending.done and not pending.scope.cancelled_caught and not pending.repeat:
            pending.done = True
            if pending.kind == "timer":
                timer_key = (pending.key, pending.epoch)
                if self._timers.get(timer_key) is pending:
                    del self._timers[timer_key]
            elif self._sends.get(pending.key) is pending:
                del self._sends[pending.key]

    # ------------------------------------------------------------------ save / resume

    def save(self) -> dict[str, Any]:
        """The whole runtime state as a JSON-able dict: the core snapshot, the queue, the
        pending timers and delayed sends (tagged ``SAVE_FORMAT``; :meth:`resume` reads it).

        Times are stored relative to now, so resuming in another process (another clock)
        keeps the same remaining times.
        """
        now = _now()
        queue = []
        for event in self.queued:
            item = event.to_json()
            item["time"] = event.time - now
            queue.append(item)
        return {
            "format": SAVE_FORMAT,
            "snapshot": self._core.to_json() if self._core is not None else None,
            "seq": self._seq,
            "anonymous_sends": self._anonymous_sends,
            "queue": queue,
            "timers": [p.to_json(now) for p in self._timers.values()],
            "sends": [p.to_json(now) for p in self._sends.values()],
            "handlers": {name: state for h in self.handlers if (name := h.state_key) and (state := h.save_state())},
        }

    @classmethod
    def resume(cls, chart: Any, data: Mapping[str, Any], **kwargs: Any) -> Interpreter:
        """An interpreter in the state :meth:`save` returned; ``run()`` continues from there.

        ``kwargs`` go to the constructor (handlers, listeners). Raises ValueError when
        ``data`` is not a saved interpreter state.
        """
        from counterpoint.engine.core.snapshot import Snapshot

        if not isinstance(data, Mapping) or data.get("format") != SAVE_FORMAT:
            raise ValueError(f"not a saved interpreter state (expected format {SAVE_FORMAT!r})")
        try:
            core = Snapshot.from_json(data["snapshot"]) if data.get("snapshot") is not None else None
            interp = cls(chart, snapshot=core, **kwargs)
            interp._seq = int(data.get("seq", 0))
            interp._anonymous_sends = int(data.get("anonymous_sends", 0))
            now = _now()
            for raw in data.get("queue", ()):
                event = Event.from_json(raw)
                interp._queue.push(Event(event.name, event.data, event.priority, now + float(raw["time"]),
                                         event.seq, event.send_id))
            for raw in data.get("timers", ()):
                template = Event(raw["event"], {}, int(raw.get("priority", chart.priority_of(raw["event"]))))
                pending = _Pending("timer", raw["key"], template, float(raw["delay"]), bool(raw["repeat"]),
                                   int(raw["epoch"]), int(raw["seq"]), _remaining(raw))
                interp._timers[(pending.key, pending.epoch)] = pending
            for raw in data.get("sends", ()):
                event = Event.from_json(raw["event"])
                pending = _Pending("send", raw["key"], event, _remaining(raw), False, 0, int(raw["seq"]),
                                   _remaining(raw))
                interp._sends[pending.key] = pending
            saved = data.get("handlers") or {}
            for handler in interp.handlers:
                if handler.state_key and handler.state_key in saved:
                    handler.resume_state(saved[handler.state_key])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed saved interpreter state: {type(exc).__name__}: {exc}") from exc
        return interp


def _overrides(handler: EffectHandler, name: str) -> bool:
    return getattr(type(handler), name) is not getattr(EffectHandler, name)


def _remaining(raw: Mapping[str, Any]) -> float:
    value = float(raw["remaining"])
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"bad remaining time {value!r}")
    return value
