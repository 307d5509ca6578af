"""One agent session run from its definition, with user input, an optional recording and a clean end.

:class:`SessionDriver` wires a :class:`~.loading.Definition` to a model backend, a text
speaker and, with ``record``, a :class:`~counterpoint.engine.runtime.recording.Recorder`
(every processed step, every model turn through
:class:`~counterpoint.engine.llm.recorded.RecordingLLM`, every user input, and at the end the
ledger). The command line's views, scripted users and the showcase all run through it.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from counterpoint.engine.agent.loading import Definition, SessionOptions
from counterpoint.engine.agent.script import NO_ANSWER, ScriptLine
from counterpoint.engine.agent.speaker import Speaker, TextSpeaker
from counterpoint.engine.agent.summary import Summary, TimedEvent, summarize
from counterpoint.engine.llm.base import LLMBackend
from counterpoint.engine.llm.recorded import RecordingLLM
from counterpoint.engine.runtime.interpreter import Listener, StepRecord
from counterpoint.engine.runtime.recording import Recorder, content_hash


@dataclass
class DriverOptions:
    """``pace``: characters per second the agent's text is "spoken" at (None: instantly);
    ``settle``: seconds of quiet after the last scripted line before a scripted run ends."""

    record: Path | None = None
    pace: float | None = 20.0
    started_at: datetime | None = None
    settle: float = 1.0
    listeners: Sequence[Listener] = ()
    write: Callable[[str], None] | None = None  # receives the agent's words as they are spoken
    speaker: Speaker | None = None


@dataclass
class SessionDriver:
    definition: Definition
    backend: LLMBackend
    options: DriverOptions = field(default_factory=DriverOptions)

    def __post_init__(self) -> None:
        opts = self.options
        if opts.started_at is None:  # fixed now, so that a replay renders the same prompts
            opts.started_at = datetime.now(UTC)
        self.recorder: Recorder | None = None
        backend = self.backend
        if opts.record is not None:
            header = {"definition": str(self.definition.path), "hash": content_hash(self.definition.files),
                      "started_at": (opts.started_at.isoformat() if opts.started_at else None),
                      "llm": self.backend.name, "pace": opts.pace}
            self.recorder = Recorder(opts.record, header, self._session_time)
            backend = RecordingLLM(self.backend, self.recorder)
        speaker = opts.speaker or TextSpeaker(opts.write, opts.pace)
        listeners: list[Listener] = [self._observe]
        if self.recorder is not None:
            listeners.insert(0, self.recorder.step)
        listeners.extend(opts.listeners)
        self.interpreter, self.session = self.definition.session(
            backend, SessionOptions(speaker=speaker, started_at=opts.started_at, listeners=tuple(listeners)))
        self.events: list[TimedEvent] = []
        self.ended: str | None = None
        self._quiet_since: float | None = None

    def _session_time(self) -> float:
        return self.session.session_time() if hasattr(self, "session") else 0.0

    def _observe(self, record: StepRecord) -> None:
        if record.event is not None:
            self.events.append((self.session.session_time(), record.event.name, record.event.data))

    # ------------------------------------------------------------------ input

    def say(self, text: str) -> None:
        """The user says ``text`` (``user.said``, with the definition's priority for it)."""
        self.send("user.said", {"text": text})

    def send(self, name: str, data: dict[str, Any]) -> None:
        """An event from outside the session, recorded as input."""
        if self.recorder is not None:
            self.recorder.input(name, data)
        self.interpreter.send(name, data)

    # ------------------------------------------------------------------ state

    @property
    def quiet(self) -> bool:
        """Nobody speaks, no turn runs, nothing is waiting to be processed."""
        return self.session.idle and not self.interpreter.queued

    @property
    def working(self) -> bool:
        """Tool calls or sub-agents are still running."""
        return bool(self.session.runner.running()) or self.session.subagents_running() > 0

    def summary(self) -> Summary:
        return summarize(self.events)

    # ------------------------------------------------------------------ running

    async def run(self, user: Callable[[SessionDriver], Awaitable[None]] | None = None) -> str:
        """Run until the chart finishes, ``user`` returns, or :meth:`stop`; returns why it ended.

        A backend with a ``load()`` (the embedded model) is loaded first, so that the session's
        clock does not count the loading against the first turn.
        """
        load = getattr(self.backend, "load", None)
        if callable(load):
            await load()
        async with trio.open_nursery() as nursery:

            async def chart() -> None:
                await self.interpreter.run()
                if self.interpreter.finished and self.ended is None:
                    self.ended = "the agent finished"
                nursery.cancel_scope.cancel()

            nursery.start_soon(chart)
            if user is not None:
                await user(self)
                self.stop("the script ended")
        await self.close(self.ended or "stopped")
        return self.ended or "stopped"

    def stop(self, reason: str) -> None:
        """End the session after the current step: the turn and speech stop and running tools are
        cancelled first, while the interpreter still runs, so each gets its record."""
        if self.ended is None:
            self.ended = reason
            self.session.shutdown(reason)
        self.interpreter.stop()

    async def close(self, reason: str) -> None:
        """End the session: stop the turn, cancel running tools, close the recording with the ledger."""
        await self.session.aclose()
        if self.recorder is not None:
            self.recorder.close(reason, configuration=list(self.interpreter.configuration),
                                ledger=self.session.ledger.to_json())

    async def wait_for_event(self, name: str, *, since: int, limit: float) -> bool:
        """Wait until an event ``name`` is processed after the first ``since`` events (at most
        ``limit`` seconds); False when it did not come."""
        with trio.move_on_after(limit):
            while not any(n == name for _, n, _ in self.events[since:]):
                if self.interpreter.finished:
                    return False
                await trio.sleep(0.02)
            return True
        return False

    async def wait_quiet(self, *, settle: float, include_work: bool = False) -> None:
        """Wait until the session has been quiet for ``settle`` seconds (and, with ``include_work``,
        no tool or sub-agent runs either)."""
        quiet_since: float | None = None
        while not self.interpreter.finished:
            calm = self.quiet and not (include_work and self.working)
            now = trio.current_time()
            if not calm:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= settle:
                return
            await trio.sleep(0.05)


async def play_script(driver: SessionDriver, lines: Sequence[ScriptLine]) -> None:
    """Say each scripted line at its time, then wait for the agent and its tools to finish."""
    mark: int | None = None  # how many events had been processed when the previous line was said
    for line in lines:
        if line.when == "at":
            await trio.sleep(max(0.0, line.seconds - driver.session.session_time()))
        elif line.when == "after":
            await trio.sleep(line.seconds)
        elif line.when == "answered":
            if mark is not None:
                await driver.wait_for_event("agent.said", since=mark, limit=NO_ANSWER)
            await driver.wait_quiet(settle=0.3)
            await trio.sleep(line.seconds)
        else:  # during the agent's next speech
            await driver.wait_for_event("agent.speech.started", since=mark or 0, limit=NO_ANSWER)
            await trio.sleep(line.seconds)
        if driver.interpreter.finished:
            return
        mark = len(driver.events)
        driver.say(line.text)
    await driver.wait_quiet(settle=driver.options.settle, include_work=True)


async def stop_on_signals(driver: SessionDriver) -> None:
    """Ctrl-C (or SIGTERM) ends the session cleanly: the turn stops, running tools are cancelled
    and the recording is closed with the ledger."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            driver.stop("stopped by Ctrl-C" if signum == signal.SIGINT else "stopped (SIGTERM)")
            return
