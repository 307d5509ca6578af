"""The voice speaker: text in, 20 ms audio chunks out, and the words the user really heard.

:class:`VoiceSpeaker` implements the :class:`~counterpoint.engine.agent.speaker.Speaker`
protocol. Each :class:`VoiceUtterance` cuts the streamed text into sentences, synthesises
them one by one in the background (the first sentence plays while the model is still
writing the next), and hands the audio to the :class:`Player`, which writes one 20 ms chunk
per tick to the sinks on the session's clock.

``interrupt()`` is synchronous: the player writes no further chunk of the utterance, so the
sound stops at the end of the chunk being played, at most 20 ms later. Every synthesised
word carries its sample span (:mod:`.tts`), so the utterance knows which words were played
completely and returns exactly those.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import trio

from counterpoint.engine.agent.speaker import whole_words
from counterpoint.engine.speech.audio import CHUNK, CHUNK_SECONDS, SAMPLE_RATE, Samples
from counterpoint.engine.speech.clock import VoiceLog, offload
from counterpoint.engine.speech.sinks import Sink
from counterpoint.engine.speech.tts import Synthesizer

# A sentence ends at . ! ? (or a line break) followed by white space; a long clause also ends
# at a comma, so the first audio does not wait for a long sentence.
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s+|\n+")
_CLAUSE_END = re.compile(r"[,;:]\s+")
_LONG = 120  # characters


def next_sentence(text: str, start: int) -> int | None:
    """Where the first complete sentence after ``start`` ends, or None while it is incomplete."""
    m = _SENTENCE_END.search(text, start)
    if m is not None and m.end() - start <= _LONG:
        return m.end()
    if len(text) - start > _LONG:
        clause = None
        for c in _CLAUSE_END.finditer(text, start, start + _LONG):
            clause = c
        if clause is not None:
            return clause.end()
    return m.end() if m is not None else None


@dataclass
class _Word:
    end_char: int  # in the utterance's text
    end_sample: int  # in the utterance's audio


@dataclass
class VoiceUtterance:
    """One stretch of the agent's speech (a ``say`` or an LLM turn's text)."""

    speaker: VoiceSpeaker
    ident: int
    text: str = ""
    _queued: int = 0  # characters handed to synthesis
    _audio: list[Samples] = field(default_factory=list)  # synthesised, not yet played
    _produced: int = 0  # samples synthesised
    _played: int = 0  # samples played (chunks written)
    _words: list[_Word] = field(default_factory=list)
    _stopped: str | None = None
    _closed: bool = False
    _synth_done: bool = False
    _done: trio.Event = field(default_factory=trio.Event)
    _send: trio.MemorySendChannel[tuple[int, int]] | None = None
    started_at: float | None = None  # trio time of the first chunk

    # ------------------------------------------------------------------ the Utterance protocol

    def feed(self, text: str) -> None:
        if self._stopped is not None or self._closed or not text:
            return
        self.text += text
        while (end := next_sentence(self.text, self._queued)) is not None:
            self._queue(end)

    async def finish(self) -> str:
        if not self._closed and self._stopped is None:
            self._closed = True
            self._queue(len(self.text))
            assert self._send is not None
            self._send.close()
        await self._done.wait()
        return self._stopped if self._stopped is not None else self.text

    def interrupt(self) -> str:
        if self._stopped is None:
            self._stopped = self.heard()
            remaining = sum(len(a) for a in self._audio) / SAMPLE_RATE
            self._audio.clear()
            if self._send is not None:
                self._send.close()
            self.speaker.player.stopped(self, remaining)
            self._done.set()
        return self._stopped

    # ------------------------------------------------------------------ inside

    def heard(self) -> str:
        """The whole words whose audio was completely played."""
        played_chars = 0
        for w in self._words:
            if w.end_sample > self._played:
                break
            played_chars = w.end_char
        return whole_words(self.text, played_chars)

    def _queue(self, end: int) -> None:
        start, self._queued = self._queued, end
        if self.text[start:end].strip() and self._send is not None:
            self._send.send_nowait((start, end))

    async def synthesize(self, receive: trio.MemoryReceiveChannel[tuple[int, int]]) -> None:
        """Background task: sentences in, audio and word ends out."""
        synth = self.speaker.synthesizer
        async with receive:
            async for start, end in receive:
                sentence = self.text[start:end]
                t0 = trio.current_time()
                try:
                    speech = await offload(synth.synthesize, sentence)
                except Exception as exc:  # a failed sentence is logged and skipped, never a crash
                    self.speaker.log.add("voice.error", {"stage": "tts", "error": f"{type(exc).__name__}: {exc}"})
                    continue
                if self._stopped is not None:
                    return
                self.speaker.log.add("tts.done", {"utterance": self.ident, "chars": end - start,
                                                  "seconds": round(trio.current_time() - t0, 4),
                                                  "audio": round(speech.seconds, 3), "timing": speech.timing})
                self._words += [_Word(start + w.end_char, self._produced + int(round(w.end * SAMPLE_RATE)))
                                for w in speech.words]
                self._audio.append(speech.audio)
                self._produced += len(speech.audio)
                self.speaker.player.wake()
        self._synth_done = True
        self.speaker.player.wake()

    def take(self) -> Samples | None:
        """The next chunk to play (across sentences; shorter only at the end of what is ready),
        or None when nothing is ready."""
        if self._stopped is not None or not self._audio:
            return None
        parts: list[Samples] = []
        need = CHUNK
        while need and self._audio:
            buf = self._audio[0]
            parts.append(buf[:need])
            if len(buf) > need:
                self._audio[0] = buf[need:]
            else:
                self._audio.pop(0)
            need -= len(parts[-1])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    @property
    def drained(self) -> bool:
        """Everything was synthesised and played."""
        return self._synth_done and not self._audio


class Player:
    """Plays the current utterance's audio in 20 ms chunks on the session's clock."""

    def __init__(self, sinks: Sequence[Sink], log: VoiceLog) -> None:
        self.sinks = list(sinks)
        self.log = log
        self.current: VoiceUtterance | None = None
        self.sounding_until = 0.0  # trio time the last written chunk ends
        self._wake = trio.Event()

    def wake(self) -> None:
        self._wake.set()

    @property
    def sounding(self) -> bool:
        return trio.current_time() < self.sounding_until

    def stopped(self, utt: VoiceUtterance, remaining: float) -> None:
        """``utt`` was interrupted: log where its sound ends (the end of the chunk in flight)."""
        if utt.started_at is not None:
            end = max(self.sounding_until, trio.current_time()) if self.current is utt else trio.current_time()
            self.log.add("agent.audio.ended", {"utterance": utt.ident, "interrupted": True, "heard": utt.heard(),
                                               "cut": round(trio.current_time() - self.log.start, 6),
                                               "remaining": round(remaining, 3)}, at=end)
        if self.current is utt:
            self.current = None
        self.wake()

    async def run(self) -> None:
        tick = 0.0
        while True:
            utt = self.current
            chunk = utt.take() if utt is not None else None
            if utt is None or chunk is None:
                if utt is not None and utt.drained and utt.started_at is not None:
                    self.log.add("agent.audio.ended", {"utterance": utt.ident, "interrupted": False,
                                                       "heard": utt.text}, at=self.sounding_until)
                    utt.started_at = None
                if utt is not None and utt.drained:
                    if self.sounding:
                        await trio.sleep_until(self.sounding_until)
                    utt._done.set()
                    if self.current is utt:  # (a new utterance may have begun meanwhile)
                        self.current = None
                    continue
                self._wake = trio.Event()
                await self._wake.wait()
                continue
            now = trio.current_time()
            tick = max(tick, now)
            if utt.started_at is None:
                utt.started_at = tick
                self.log.add("agent.audio.started", {"utterance": utt.ident, "text": utt.text}, at=tick)
            for sink in self.sinks:
                sink.agent(tick, chunk)
            utt._played += len(chunk)
            tick += CHUNK_SECONDS
            self.sounding_until = tick
            await trio.sleep_until(tick)


class VoiceSpeaker:
    """The agent's voice: give it to the session (``SessionOptions(speaker=...)``) and start
    :meth:`run` in a nursery before the session speaks (``run_voice`` does both)."""

    def __init__(self, synthesizer: Synthesizer, sinks: Sequence[Sink], log: VoiceLog) -> None:
        self.synthesizer = synthesizer
        self.log = log
        self.player = Player(sinks, log)
        self._ids = itertools.count(1)
        self._nursery: trio.Nursery | None = None
        self.utterances: list[VoiceUtterance] = []

    def begin(self) -> VoiceUtterance:
        if self._nursery is None:
            raise RuntimeError("the voice speaker is not running: start VoiceSpeaker.run first")
        utt = VoiceUtterance(self, next(self._ids))
        send, receive = trio.open_memory_channel[tuple[int, int]](float("inf"))
        utt._send = send
        previous = self.player.current
        if previous is not None and previous._stopped is None:
            previous.interrupt()  # one voice at a time: a new utterance replaces the old one
        self.player.current = utt
        self.utterances.append(utt)
        self._nursery.start_soon(utt.synthesize, receive)
        return utt

    @property
    def speaking(self) -> bool:
        """Audio is being played, or an utterance is waiting for its audio."""
        return self.player.sounding or self.player.current is not None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self.player.run)
            task_status.started()
            await trio.sleep_forever()
