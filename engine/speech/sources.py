"""Where the user's audio comes from: a file or samples played at the clock's pace, a scripted
caller whose lines are synthesised into the stream, or a live microphone.

A source yields ``(t, frame)``: 20 ms frames of 16 kHz mono audio, each when it has been
"recorded", with ``t`` the trio time the frame began. Pacing uses ``trio.sleep_until``, so
on the real clock a file plays like a microphone and under ``MockClock`` it plays in virtual
time. When a source ends, the session goes on hearing silence.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import trio

from counterpoint.engine.agent.script import NO_ANSWER, ScriptLine
from counterpoint.engine.speech.asr import VoiceUnavailable
from counterpoint.engine.speech.audio import CHUNK, CHUNK_SECONDS, SAMPLE_RATE, Samples, read_wav
from counterpoint.engine.speech.tts import Synthesizer


class Listening(Protocol):
    """What a reactive source may know about the session."""

    @property
    def agent_quiet_since(self) -> float | None:
        """Trio time since which the agent has neither spoken nor had a turn running (None: busy)."""
        ...

    @property
    def agent_audio_since(self) -> float | None:
        """Trio time the agent's current audio began (None: it is not sounding)."""
        ...


class AudioSource(Protocol):
    def frames(self, session: Listening) -> AsyncIterator[tuple[float, Samples]]: ...


async def _paced(samples: Samples, start: float) -> AsyncIterator[tuple[float, Samples]]:
    for i in range(math.ceil(len(samples) / CHUNK)):
        frame = samples[i * CHUNK:(i + 1) * CHUNK]
        if len(frame) < CHUNK:
            frame = np.pad(frame, (0, CHUNK - len(frame)))
        t = start + i * CHUNK_SECONDS
        await trio.sleep_until(t + CHUNK_SECONDS)
        yield t, frame


class SamplesSource:
    """Samples (16 kHz mono float32) played at the clock's pace from the session's start."""

    def __init__(self, samples: Samples) -> None:
        self.samples = samples

    @classmethod
    def from_wav(cls, path: str | Path) -> SamplesSource:
        """A WAV file as if it were a microphone (any rate or channel count, 16-bit PCM)."""
        return cls(read_wav(path))

    async def frames(self, session: Listening) -> AsyncIterator[tuple[float, Samples]]:
        async for item in _paced(self.samples, trio.current_time()):
            yield item


# --------------------------------------------------------------------------- the scripted caller

class ScriptedCaller:
    """Timed text lines spoken into the input stream by a synthesiser (a caller for headless runs)."""

    def __init__(self, lines: Sequence[ScriptLine], synthesizer: Synthesizer) -> None:
        self.lines = list(lines)
        self.audio = [synthesizer.synthesize(line.text).audio for line in self.lines]

    async def frames(self, session: Listening) -> AsyncIterator[tuple[float, Samples]]:
        start = trio.current_time()
        t = start
        silent = np.zeros(CHUNK, dtype=np.float32)
        for k, (line, audio) in enumerate(zip(self.lines, self.audio, strict=True)):
            said = t  # the previous line ended: a relative line waits for the agent's answer to it
            while True:
                due: float | None
                if line.when == "answered":
                    quiet = session.agent_quiet_since
                    if k == 0:  # nothing to answer yet: once the agent is quiet (after a greeting)
                        due = quiet + line.seconds if quiet is not None else None
                    else:
                        answered = quiet is not None and quiet > said
                        due = quiet + line.seconds if answered and quiet is not None else said + NO_ANSWER
                elif line.when == "during":
                    sounding = session.agent_audio_since
                    due = (sounding + line.seconds if sounding is not None and sounding > said
                           else said + NO_ANSWER)
                elif line.when == "after":
                    due = said + line.seconds
                else:
                    due = start + line.seconds
                if due is not None and t >= due - 1e-9:
                    break
                await trio.sleep_until(t + CHUNK_SECONDS)
                yield t, silent
                t += CHUNK_SECONDS
            async for item in _paced(audio, t):
                yield item
            t += math.ceil(len(audio) / CHUNK) * CHUNK_SECONDS


class MicrophoneSource:
    """The default input device through ``sounddevice`` (the ``live`` extra)."""

    def __init__(self) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as err:
            raise VoiceUnavailable(f"microphone input needs sounddevice and PortAudio ({err}): "
                                   "pip install 'counterpoint[live]'; apt-get install libportaudio2") from None
        self._sd: Any = sounddevice

    async def frames(self, session: Listening) -> AsyncIterator[tuple[float, Samples]]:
        send, receive = trio.open_memory_channel[Samples](64)
        token = trio.lowlevel.current_trio_token()

        def callback(indata: Any, frames: int, time: Any, status: Any) -> None:
            block = np.array(indata[:, 0], dtype=np.float32)
            token.run_sync_soon(_offer, send, block)

        stream = self._sd.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32", blocksize=CHUNK,
                                      callback=callback, latency="low")
        with stream:
            async with receive:
                async for block in receive:
                    yield trio.current_time() - CHUNK_SECONDS, block


def _offer(send: trio.MemorySendChannel[Samples], block: Samples) -> None:
    # the session fell more than a second behind: drop audio rather than grow late
    with contextlib.suppress(trio.WouldBlock):
        send.send_nowait(block)

