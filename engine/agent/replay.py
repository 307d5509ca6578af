"""Replay a recorded session under virtual time, and say where the definition now differs.

The definition runs again with everything that came from outside the chart taken from the
recording: the user's events are sent at their recorded times, the model's turns stream
their recorded pieces (:class:`~counterpoint.engine.llm.recorded.ReplayedLLM`), tools and
sub-agents give back their recorded outcomes at the recorded times, and speech takes as long
as it took. Neither the model nor any tool is called. Each macrostep is compared with the
recorded one (its event and the configuration it left); the first difference is reported
with the transition that made it and its position in the definition. At the end the ledger
is compared entry by entry.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import trio
import trio.testing

from counterpoint.dsl.files import display_path
from counterpoint.dsl.source import Span
from counterpoint.engine.agent.ledger import Ledger, Status
from counterpoint.engine.agent.loading import Definition, load_definition
from counterpoint.engine.agent.session import AgentSession
from counterpoint.engine.agent.speaker import TextUtterance
from counterpoint.engine.core.effects import Effect, SpawnAgent
from counterpoint.engine.core.events import Event
from counterpoint.engine.llm.recorded import ReplayedLLM
from counterpoint.engine.runtime.interpreter import EffectHandler, Interpreter, StepRecord
from counterpoint.engine.runtime.recording import Recording, content_hash
from counterpoint.engine.tools.replayed import recorded_calls, replayed_tools

#: Seconds (virtual) the recording's next event may be late before replay calls it a divergence.
STALL_AFTER = 1.0

#: Ledger times may differ this much between a live session and its replay (scheduling jitter).
TIME_TOLERANCE = 0.25


@dataclass(frozen=True)
class Divergence:
    """The first step where the definition no longer does what the recording did."""

    index: int  # the macrostep's index
    time: float
    event: str
    recorded: str  # what the recording did
    now: str  # what the definition does now
    where: str | None = None  # file:line:col of the transition that made the difference

    def format(self) -> str:
        head = f"{self.where}: " if self.where else ""
        return (f"{head}first divergence at step {self.index} (t={self.time:.3f}s, event {self.event}):\n"
                f"  recorded: {self.recorded}\n  now:      {self.now}")


@dataclass
class ReplayResult:
    """What a replay found. ``ok``: every step and the ledger matched."""

    steps: int  # steps compared
    recorded_steps: int
    divergence: Divergence | None = None
    ledger_difference: str | None = None
    definition_changed: bool = False
    records: list[StepRecord] = field(default_factory=list)
    finished: bool = False  # the chart reached a top-level final state
    ledger: Ledger | None = None

    @property
    def ok(self) -> bool:
        return self.divergence is None and self.ledger_difference is None


class _ReplayedUtterance(TextUtterance):
    """Speech that lasts as long as the recorded one and delivers the recorded words when cut."""

    def __init__(self, duration: float | None, delivered: str | None) -> None:
        super().__init__(None, None)
        self._duration = duration
        self._delivered = delivered
        self._begun = trio.current_time()

    async def finish(self) -> str:
        if self._duration is None:
            await trio.sleep_forever()  # it was cut in the recording: the cut comes again
        await trio.sleep_until(self._begun + (self._duration or 0.0))
        return self.text

    def interrupt(self) -> str:
        if self._stopped is None:
            self._stopped = self._delivered if self._delivered is not None else self.text
        return self._stopped


class _ReplayedSpeaker:
    """The k-th utterance lasts as long as the recording's k-th and keeps the same words."""

    def __init__(self, utterances: Sequence[tuple[float | None, str | None]]) -> None:
        self._utterances = list(utterances)
        self._next = 0

    def begin(self) -> _ReplayedUtterance:
        k, self._next = self._next, self._next + 1
        duration, delivered = self._utterances[k] if k < len(self._utterances) else (0.0, None)
        return _ReplayedUtterance(duration, delivered)


def _utterances(steps: Sequence[Mapping[str, Any]]) -> list[tuple[float | None, str | None]]:
    """(duration when it played to the end else None, words kept when interrupted) per utterance."""
    out: list[tuple[float | None, str | None]] = []
    open_: list[int] = []
    begun: list[float] = []
    for step in steps:
        event = step.get("event") or {}
        name = event.get("name")
        if name == "agent.speech.started":
            open_.append(len(out))
            begun.append(float(step["t"]))
            out.append((None, None))
        elif name == "agent.said" and open_:
            k, t0 = open_.pop(0), begun.pop(0)
            data = event.get("data") or {}
            if data.get("interrupted") or data.get("stopped"):  # cut: replay cuts it again
                out[k] = (None, str(data.get("text", "")))
            else:
                out[k] = (float(step["t"]) - t0, None)
    return out


class _ReplayedSpawner:
    """Sub-agents are not run again: their recorded outcome arrives at its recorded time."""

    def __init__(self, outcomes: Mapping[str, tuple[float, Status, Any, str | None]]) -> None:
        self._outcomes = dict(outcomes)
        self._running: dict[str, trio.CancelScope] = {}

    def __call__(self, parent: AgentSession, effect: SpawnAgent) -> None:
        assert parent.interpreter is not None
        recorded = self._outcomes.get(effect.id)
        started = parent._now()
        if recorded is None:
            parent.subagent_outcome(effect.id, "error", None, "replay: the recording has no such sub-agent", started)
            return
        scope = trio.CancelScope()
        self._running[effect.id] = scope

        async def deliver() -> None:
            at, status, result, error = recorded
            with scope:
                await trio.sleep(max(0.0, at - parent._now()))
                self._running.pop(effect.id, None)
                parent.subagent_outcome(effect.id, status, result, error, started)

        parent.interpreter.nursery.start_soon(deliver)

    def cancel(self, target: str) -> bool:
        scope = self._running.pop(target, None)
        if scope is None:
            return False
        scope.cancel()
        return True

    def count(self) -> int:
        return len(self._running)

    def cancel_all(self) -> None:
        for target in list(self._running):
            self.cancel(target)


def _subagent_outcomes(steps: Sequence[Mapping[str, Any]], end: Mapping[str, Any] | None
                       ) -> dict[str, tuple[float, Status, Any, str | None]]:
    """Each sub-agent's outcome and when it arrived: the ledger's time when the recording has
    it (the event may have been processed later, held while the agent spoke), else the step's."""
    arrived: dict[str, float] = {}
    for entry in ((end or {}).get("ledger") or {}).get("entries") or []:
        if entry.get("type") == "subagent_outcome":
            arrived.setdefault(str(entry.get("agent_id")), float(entry.get("time", 0.0)))
    out: dict[str, tuple[float, Status, Any, str | None]] = {}
    for step in steps:
        event = step.get("event") or {}
        parts = str(event.get("name", "")).split(".")
        if len(parts) == 3 and parts[0] == "agent" and parts[2] in ("done", "error"):
            data = event.get("data") or {}
            status: Status = "done" if parts[2] == "done" else "error"
            at = arrived.get(parts[1], float(step["t"]))
            out.setdefault(parts[1], (at, status, data.get("result"), data.get("error")))
    return out


class _Sequencer(EffectHandler):
    """Processes events in the recorded order.

    A live session's processing order depends on how long each step took (an event queued a
    moment before another may be processed after it, when both wait in the queue) and on the
    order trio runs tasks that wake at one instant. Replay makes the recorded order an input:
    an event is processed only when it is the recording's next one; others wait. An event the
    recording expects that does not come (the definition changed) is a divergence, reported
    by :meth:`stalled`.
    """

    def __init__(self, steps: Sequence[Mapping[str, Any]], result: ReplayResult) -> None:
        self._steps = steps
        self._result = result
        self.waiting: list[str] = []  # names of the events held back, in arrival order

    def expected(self) -> Mapping[str, Any] | None:
        k = len(self._result.records)
        return self._steps[k] if k < len(self._steps) else None

    def hold(self, event: Event) -> bool:
        want = self.expected()
        if want is None:
            return False  # past the recording: compare() reports it
        recorded = want.get("event") or {}
        same = recorded.get("name") == event.name and (
            (recorded.get("data") or {}).get("call_id") == event.data.get("call_id"))
        if not same:
            self.waiting.append(event.name)
        return not same

    def macrostep_done(self, event: Event | None, effects: Sequence[Effect]) -> None:
        if self.waiting and self.interpreter is not None:
            self.waiting.clear()
            self.interpreter.release_held()


def _describe_step(configuration: Sequence[str], event: str | None) -> str:
    return f"{event or '(start)'} -> [{', '.join(configuration)}]"


def _where(record: StepRecord, differing: Collection[str] = ()) -> str | None:
    """The position of the transition that explains a difference: one that leaves or enters a
    state in ``differing`` if any, else the step's first transition with a position."""
    positioned = [t for t in record.transitions if getattr(t, "span", None) is not None and t.span.line > 0]
    for transition in positioned:
        if {transition.source, *transition.targets} & set(differing):
            return _position(transition.span)
    return _position(positioned[0].span) if positioned else None


def _position(span: Span) -> str:
    return f"{display_path(span.file)}:{span.line}:{span.col}"


def _compare_ledgers(recorded: Mapping[str, Any] | None, now: Ledger) -> str | None:
    if not recorded:
        return None
    want = list(recorded.get("entries") or [])
    got = list(now.to_json()["entries"])
    for k, (a, b) in enumerate(zip(want, got, strict=False)):
        diff = _entry_difference(a, b)
        if diff:
            return f"ledger entry {k + 1}: {diff}\n  recorded: {a}\n  now:      {b}"
    if len(want) != len(got):
        return f"the ledger has {len(got)} entries, the recording {len(want)}"
    return None


def _entry_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    if a.get("type") != b.get("type"):
        return f"{a.get('type')} became {b.get('type')}"
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if isinstance(x, int | float) and isinstance(y, int | float) and not isinstance(x, bool):
            if not math.isclose(x, y, abs_tol=TIME_TOLERANCE):
                return f"{key} {x} became {y}"
        elif x != y:
            return f"{key} differs"
    return None


async def replay_session(definition: Definition, recording: Recording) -> ReplayResult:
    """Run ``definition`` against ``recording`` on the current trio clock (use a MockClock)."""
    header = recording.header
    steps = recording.steps
    tool_events = [(s["event"]["name"], {**s["event"].get("data", {}), "at": s["t"]})
                   for s in steps if s.get("event") and str(s["event"].get("name", "")).startswith("tool.")]
    result = ReplayResult(0, len(steps))
    result.definition_changed = header.get("hash") != content_hash(definition.files)

    def diverged(div: Divergence) -> None:
        if result.divergence is None:
            result.divergence = div
            interpreter.stop()

    def on_extra_turn(n: int) -> None:
        if recording.end is None:  # a cut recording: the turn began after the cut
            interpreter.stop()
            return
        diverged(Divergence(len(result.records), session.session_time(), "respond", f"{len(recording.turns())} model turns",
                            f"model turn {n}"))

    def on_unknown_call(tool: str, call_id: str) -> bool:
        if recording.end is None:  # a cut recording: the call began after the cut
            return False
        diverged(Divergence(len(result.records), session.session_time(), f"tool.{tool}.started",
                            "no such call", f"call {call_id} of {tool}"))
        return True

    started = header.get("started_at")
    session = AgentSession(
        definition.chart, ReplayedLLM(recording.turns(), on_extra=on_extra_turn),
        tools={}, speaker=_ReplayedSpeaker(_utterances(steps)),
        started_at=datetime.fromisoformat(started) if isinstance(started, str) else None,
        spawner=_ReplayedSpawner(_subagent_outcomes(steps, recording.end)),
    )
    session.runner._tools = replayed_tools(definition.tools, recorded_calls(tool_events), session._now,
                                           on_unknown_call)

    def compare(record: StepRecord) -> None:
        result.records.append(record)
        k = len(result.records) - 1
        if k >= len(steps):
            if recording.end is not None:  # a torn recording simply stops here
                got = record.event.name if record.event is not None else None
                diverged(Divergence(k, session.session_time(), got or "(start)",
                                    "the session had ended", _describe_step(record.configuration, got),
                                    _where(record)))
            else:
                interpreter.stop()
            return
        want = steps[k]
        want_event = (want.get("event") or {}).get("name")
        got_event = record.event.name if record.event is not None else None
        if want_event != got_event or list(record.configuration) != list(want["configuration"]):
            differing = set(record.configuration) ^ set(want["configuration"])
            diverged(Divergence(k, float(want["t"]), want_event or "(start)",
                                _describe_step(want["configuration"], want_event),
                                _describe_step(record.configuration, got_event), _where(record, differing)))
        result.steps = k + 1

    sequencer = _Sequencer(steps, result)
    # the sequencer decides first, so the session's own hold bookkeeping sees each event once
    interpreter = Interpreter(definition.chart, handlers=[sequencer, session], listeners=[compare])
    inputs = list(recording.of_kind("input"))
    last = recording.end["t"] if recording.end else (recording.entries[-1]["t"] if recording.entries else 0.0)

    async def watch() -> None:
        """The recording's next event is overdue while others wait: the definition changed."""
        while True:
            await trio.sleep(STALL_AFTER / 4)
            want = sequencer.expected()
            if want is None or not sequencer.waiting:
                continue
            if session.session_time() > float(want["t"]) + STALL_AFTER:
                name = (want.get("event") or {}).get("name", "?")
                diverged(Divergence(len(result.records), float(want["t"]), name,
                                    _describe_step(want["configuration"], name),
                                    f"{name} never came; the definition produced "
                                    f"{', '.join(dict.fromkeys(sequencer.waiting))} instead",
                                    _where(result.records[-1]) if result.records else None))
                return

    async def feed() -> None:
        for entry in inputs:
            await trio.sleep(max(0.0, float(entry["t"]) - session.session_time()))
            interpreter.send(entry["name"], entry.get("data") or {})
        await trio.sleep(max(0.0, float(last) - session.session_time()) + 1e-6)
        interpreter.stop()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(feed)
        nursery.start_soon(watch)
        await interpreter.run()
        nursery.cancel_scope.cancel()
    await session.aclose()
    result.ledger = session.ledger
    result.finished = interpreter.finished
    if result.divergence is None and recording.end is not None:
        if result.steps < len(steps):
            k = result.steps
            want = steps[k]
            result.divergence = Divergence(k, float(want["t"]), (want.get("event") or {}).get("name", "?"),
                                           _describe_step(want["configuration"], (want.get("event") or {}).get("name")),
                                           "the replay ended before this step")
        else:
            result.ledger_difference = _compare_ledgers(recording.end.get("ledger"), session.ledger)
    return result


def replay(recording: Recording, definition: Definition | str | Path | None = None) -> ReplayResult:
    """Replay ``recording`` under virtual time against ``definition`` (default: the recorded path)."""
    if definition is None or isinstance(definition, str | Path):
        definition = load_definition(definition or recorded_definition_path(recording))
    chosen = definition

    async def main() -> ReplayResult:
        return await replay_session(chosen, recording)

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def recorded_definition_path(recording: Recording) -> Path:
    """Where the recorded definition was: as recorded, or relative to the recording's folder."""
    raw = str(recording.header.get("definition", ""))
    path = Path(raw)
    if path.is_absolute() or path.exists():
        return path
    return recording.path.parent / path
