"""A voice session: an agent session that listens and speaks.

:func:`run_voice` runs an :class:`~counterpoint.engine.agent.AgentSession` (and its
interpreter) with audio in and out: frames from a source go through the VAD and the turn
detector (``user.speech.started`` / ``user.speech.stopped``), finished turns through the
recogniser (``user.said``), and the agent's words through the :class:`.VoiceSpeaker` to the
sinks. Everything is logged as timed records for the timeline and the latency summary.
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import trio

from counterpoint.engine.agent.session import AgentSession
from counterpoint.engine.runtime.interpreter import StepRecord
from counterpoint.engine.speech import latency
from counterpoint.engine.speech.asr import Recognizer, Transcript
from counterpoint.engine.speech.audio import CHUNK, CHUNK_SECONDS, SAMPLE_RATE, Samples
from counterpoint.engine.speech.clock import Record, VoiceLog, offload
from counterpoint.engine.speech.settings import VoiceConfig
from counterpoint.engine.speech.sinks import Sink
from counterpoint.engine.speech.sources import AudioSource
from counterpoint.engine.speech.speaker import VoiceSpeaker
from counterpoint.engine.speech.tts import Synthesizer, load_synthesizer
from counterpoint.engine.speech.vad import (
    WINDOW_SECONDS,
    Ignored,
    Paused,
    Started,
    Stopped,
    StreamingVAD,
    TurnDetector,
    is_backchannel,
)

_PREROLL = 0.2  # seconds of audio before the detected onset given to the recogniser
_AFTER = 0.2  # and after the end
_KEEP = SAMPLE_RATE * 30  # audio kept while no turn needs it: at most 30 s, then the last 15 s


@dataclass(frozen=True)
class VoiceEngines:
    """The loaded models (seconds to load: share them between sessions)."""

    vad_model: Any
    recognizer: Recognizer
    synthesizer: Synthesizer


@cache
def load_engines(tts: str = "auto", speed: float = 1.0, language: str = "en") -> VoiceEngines:
    """Silero VAD, Whisper tiny.en and the synthesiser, loaded once per process (offline: the
    model hub is never asked)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper.vad import get_vad_model

    return VoiceEngines(get_vad_model(), Recognizer(language), load_synthesizer(tts, speed))


@dataclass
class VoiceReport:
    """What a voice session did: its timed records and the latency summary computed from them."""

    records: list[Record]
    seconds: float
    ended: str  # why the session ended
    turns: list[latency.TurnLatency] = field(default_factory=list)
    barge_ins: list[latency.BargeIn] = field(default_factory=list)

    def summary(self) -> str:
        return latency.summary(self.records)


class _Floor:
    """Since when the agent has been quiet, or sounding (for reactive scripted callers)."""

    def __init__(self, session: AgentSession, speaker: VoiceSpeaker) -> None:
        self.session, self.speaker = session, speaker
        self.quiet_since: float | None = trio.current_time()

    def update(self) -> None:
        busy = self.session.busy or self.speaker.speaking
        if busy:
            self.quiet_since = None
        elif self.quiet_since is None:
            self.quiet_since = trio.current_time()

    @property
    def agent_quiet_since(self) -> float | None:
        return self.quiet_since

    @property
    def agent_audio_since(self) -> float | None:
        current = self.speaker.player.current
        return current.started_at if current is not None and self.speaker.player.sounding else None


class _Listener:
    """Feeds frames through VAD and turn detection; sends the user's events; recognises turns."""

    def __init__(self, session: AgentSession, speaker: VoiceSpeaker, engines: VoiceEngines,
                 config: VoiceConfig, sinks: Sequence[Sink], log: VoiceLog) -> None:
        self.session, self.speaker, self.engines, self.sinks, self.log = session, speaker, engines, sinks, log
        self.vad = StreamingVAD(engines.vad_model)
        self.detector = TurnDetector(threshold=config.vad_threshold, min_speech=config.min_speech,
                                     min_barge_in=config.min_barge_in, end_of_turn=config.end_of_turn)
        self.audio = np.zeros(SAMPLE_RATE * 60, dtype=np.float32)  # the user's recent audio
        self.samples = 0  # samples heard
        self.dropped = 0  # samples heard before self.audio[0] (old audio no turn needs any more)
        self.start: float | None = None  # trio time of sample 0
        self.windows = 0
        self.asr_pending = 0
        self._asr_send, self._asr_receive = trio.open_memory_channel[tuple[str, float, float]](math.inf)
        #: the transcript made at the turn's first pause, by (onset, end): used when the turn ends there
        self._early: dict[tuple[float, float], Transcript] = {}

    def _t(self, seconds: float) -> float:
        """Audio seconds → session seconds."""
        assert self.start is not None
        return round(self.start + seconds - self.log.start, 6)

    def hear(self, t: float, frame: Samples) -> None:
        if self.start is None:
            self.start = t
        for sink in self.sinks:
            sink.user(t, frame)
        if not self.busy and self.samples - self.dropped > _KEEP:  # nothing will ask for old audio
            keep = self.audio[self.samples - self.dropped - _KEEP // 2:self.samples - self.dropped]
            self.dropped = self.samples - len(keep)
            self.audio[: len(keep)] = keep
        at, end = self.samples - self.dropped, self.samples - self.dropped + len(frame)
        if end > len(self.audio):
            self.audio = np.concatenate([self.audio, np.zeros(max(len(self.audio), len(frame)), np.float32)])
        self.audio[at:end] = frame
        self.samples += len(frame)
        busy = self.session.busy or self.speaker.speaking
        for prob in self.vad.push(frame):
            start = self.windows * WINDOW_SECONDS
            self.windows += 1
            decision = self.detector.step(prob, start, busy)
            if decision is not None:
                self._decide(decision)

    def _decide(self, d: Started | Stopped | Paused | Ignored) -> None:
        interpreter = self.session.interpreter
        assert interpreter is not None
        if isinstance(d, Started):
            interpreter.send("user.speech.started", {"onset": self._t(d.onset), "barge_in": d.barge_in})
        elif isinstance(d, Stopped):
            interpreter.send("user.speech.stopped", {"onset": self._t(d.onset), "end": self._t(d.end)})
            self.asr_pending += 1
            self._asr_send.send_nowait(("turn", d.onset, d.end))
        elif isinstance(d, Paused):
            self.asr_pending += 1
            self._asr_send.send_nowait(("early", d.onset, d.end))
        elif d.while_agent_spoke:  # a backchannel, or a short word that should stop the agent
            self.asr_pending += 1
            self._asr_send.send_nowait(("short", d.onset, d.end))
        else:
            self._ignored(d.onset, d.end, "")

    def _ignored(self, onset: float, end: float, text: str) -> None:
        self.log.add("voice.ignored", {"onset": self._t(onset), "end": self._t(end), "seconds": round(end - onset, 3),
                                       "text": text})

    async def recognise(self) -> None:
        """One utterance at a time, in order, so ``user.said`` events keep the turns' order.

        A turn is first transcribed at its first pause (``early``); when the turn ends at that
        same pause, that transcript is used and ``user.said`` follows at once."""
        interpreter = self.session.interpreter
        assert interpreter is not None
        async for kind, onset, end in self._asr_receive:
            early = self._early.pop((onset, end), None) if kind == "turn" else None
            if early is not None:
                self.log.add("asr.done", {"seconds": 0.0, "text": early.text, "early": True})
                if early.text:
                    interpreter.send("user.said", {"text": early.text})
                self.asr_pending -= 1
                continue
            a = max(0, int((onset - _PREROLL) * SAMPLE_RATE) - self.dropped)
            b = min(self.samples, int((end + _AFTER) * SAMPLE_RATE)) - self.dropped
            clip = self.audio[a:b].copy()
            t0 = trio.current_time()
            try:
                transcript = await offload(self.engines.recognizer.transcribe, clip)
            except Exception as exc:  # a failed recognition is an event, not a crash
                self.log.add("voice.error", {"stage": "asr", "error": f"{type(exc).__name__}: {exc}"})
                interpreter.send("voice.error", {"stage": "asr", "error": str(exc)})
                self.asr_pending -= 1
                continue
            short = kind == "short"
            self.asr_pending -= 1
            if kind == "early":
                self._early = {(onset, end): transcript}
                self.log.add("asr.early", {"seconds": round(trio.current_time() - t0, 4),
                                           "audio": round(len(clip) / SAMPLE_RATE, 3), "text": transcript.text})
                continue
            self.log.add("asr.done", {"seconds": round(trio.current_time() - t0, 4),
                                      "audio": round(len(clip) / SAMPLE_RATE, 3), "text": transcript.text,
                                      "no_speech": round(transcript.no_speech, 3), "short": short})
            if short and is_backchannel(transcript.text):
                self._ignored(onset, end, transcript.text)
            elif short:
                # a short word that is no backchannel ("Stop.", "Wait, ..."): a barge-in after all, and
                # the start of a turn that the detector ends (and recognition hears) as a whole
                if self.detector.resume(onset, end):
                    interpreter.send("user.speech.started", {"onset": self._t(onset), "barge_in": True})
            elif transcript.text:
                interpreter.send("user.said", {"text": transcript.text})

    @property
    def busy(self) -> bool:
        return self.asr_pending > 0 or self.detector.pending


def _chart_listener(session: AgentSession, log: VoiceLog) -> Any:
    timers = session.chart.timer_of_event

    def listen(record: StepRecord) -> None:
        event = record.event
        if event is not None:
            log.add(event.name, dict(event.data), at=event.time)
            if event.name in timers:
                log.add("timer.fired", {"name": event.name}, at=event.time)
        if record.entered or record.exited:
            leaves = [s for s in record.configuration if not session.chart.state(s).children]
            log.add("state.changed", {"entered": list(record.entered), "exited": list(record.exited),
                                      "configuration": list(record.configuration), "leaves": leaves},
                    at=record.time)
    return listen


async def _silence_after(source: AsyncIterator[tuple[float, Samples]], done: list[bool]
                         ) -> AsyncIterator[tuple[float, Samples]]:
    """The source's frames, then silence for as long as the session goes on."""
    t = trio.current_time()
    async for t, frame in source:
        yield t, frame
        t += CHUNK_SECONDS
    done.append(True)
    silent = np.zeros(CHUNK, dtype=np.float32)
    while True:
        await trio.sleep_until(t + CHUNK_SECONDS)
        yield t, silent
        t += CHUNK_SECONDS


async def run_voice(
    session: AgentSession,
    *,
    source: AudioSource,
    sinks: Sequence[Sink] = (),
    config: VoiceConfig | None = None,
    engines: VoiceEngines | None = None,
    max_seconds: float = 600.0,
    tail: float = 1.0,
) -> VoiceReport:
    """Run ``session`` (wired to its interpreter, not yet running) as a voice session.

    The session's speaker is replaced by a :class:`VoiceSpeaker` on ``sinks``. The session
    ends when the chart reaches a final state, or when the source has ended and for ``tail``
    seconds nobody spoke, no turn, recognition or tool call ran; at the latest after
    ``max_seconds``. The interpreter is stopped (not finished) at the end, and the sinks closed.
    """
    interpreter = session.interpreter
    if interpreter is None:
        raise ValueError("run_voice needs a session wired to an interpreter (Definition.session or open_session)")
    config = config or VoiceConfig.from_settings(session.chart.agent.voice)
    engines = engines or load_engines(config.tts, config.speed, config.language)
    log = VoiceLog(trio.current_time())
    for sink in sinks:
        sink.open(log.start)
    speaker = VoiceSpeaker(engines.synthesizer, sinks, log)
    session.speaker = speaker
    listener = _Listener(session, speaker, engines, config, sinks, log)
    interpreter.add_listener(_chart_listener(session, log))
    floor = _Floor(session, speaker)
    source_done: list[bool] = []
    ended = "max_seconds"
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(speaker.run)
            nursery.start_soon(listener.recognise)
            nursery.start_soon(interpreter.run)
            deadline = trio.current_time() + max_seconds
            quiet_since: float | None = None
            async for t, frame in _silence_after(source.frames(floor), source_done):
                listener.hear(t, frame)
                floor.update()
                now = trio.current_time()
                if interpreter.finished:
                    if not speaker.speaking:
                        ended = "the chart finished"
                        break
                    continue
                idle = (source_done and session.idle and not speaker.speaking and not listener.busy
                        and not session.runner.running() and not interpreter.queued)
                if not idle:
                    quiet_since = None
                elif quiet_since is None:
                    quiet_since = now
                elif now - quiet_since >= tail:
                    ended = "the caller and the agent were done"
                    break
                if now >= deadline:
                    log.add("voice.timeout", {"max_seconds": max_seconds})
                    break
            interpreter.stop()
            await session.aclose()
            nursery.cancel_scope.cancel()
    finally:
        for sink in sinks:
            sink.close()
    records = log.sorted()
    return VoiceReport(records, round(log.now(), 3), ended, latency.turn_latencies(records),
                       latency.barge_ins(records))
