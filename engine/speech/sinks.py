"""Where audio goes: the call recording (a stereo WAV), the speakers, or nowhere.

A sink hears both sides on the session's clock: ``user(t, frame)`` for what the microphone
(or the file, or the scripted caller) delivered, ``agent(t, chunk)`` for each 20 ms chunk
the agent played. Times are trio seconds; the recording places each block at its time, so
both channels share one time axis and silence fills the gaps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from counterpoint.engine.speech.asr import VoiceUnavailable
from counterpoint.engine.speech.audio import SAMPLE_RATE, Samples, write_wav


class Sink(Protocol):
    def open(self, start: float) -> None:
        """The session begins at trio time ``start``."""

    def user(self, t: float, frame: Samples) -> None: ...
    def agent(self, t: float, chunk: Samples) -> None: ...
    def close(self) -> None: ...


class _Track:
    """A growing mono track written at sample positions."""

    def __init__(self) -> None:
        self.data = np.zeros(SAMPLE_RATE * 10, dtype=np.float32)
        self.length = 0

    def put(self, at: int, block: Samples) -> None:
        end = at + len(block)
        if end > len(self.data):
            grown = np.zeros(max(end, 2 * len(self.data)), dtype=np.float32)
            grown[: self.length] = self.data[: self.length]
            self.data = grown
        self.data[at:end] = block
        self.length = max(self.length, end)


class CallRecording:
    """Stereo WAV of the session: left the user, right the agent (16 kHz, 16-bit).

    Sample 0 is the session's start (``open``, called by ``run_voice``).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.start = 0.0
        self.tracks = (_Track(), _Track())

    def open(self, start: float) -> None:
        self.start = start

    def _at(self, t: float) -> int:
        return max(0, int(round((t - self.start) * SAMPLE_RATE)))

    def user(self, t: float, frame: Samples) -> None:
        self.tracks[0].put(self._at(t), frame)

    def agent(self, t: float, chunk: Samples) -> None:
        self.tracks[1].put(self._at(t), chunk)

    def channels(self) -> list[Samples]:
        n = max(t.length for t in self.tracks)
        return [np.pad(t.data[: t.length], (0, n - t.length)) for t in self.tracks]

    def close(self) -> None:
        write_wav(self.path, self.channels())


class NullSink:
    """Nothing is played or kept (tests, benchmarks)."""

    def open(self, start: float) -> None:
        pass

    def user(self, t: float, frame: Samples) -> None:
        pass

    def agent(self, t: float, chunk: Samples) -> None:
        pass

    def close(self) -> None:
        pass


class SpeakerSink:
    """The default output device through ``sounddevice`` (the ``live`` extra).

    Chunks are written as they are played; the device's own buffer adds its latency (a
    few ms with the low-latency setting) to the barge-in stop.
    """

    def __init__(self) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as err:
            raise VoiceUnavailable(f"speaker output needs sounddevice and PortAudio ({err}): "
                                   "pip install 'counterpoint[live]'; apt-get install libportaudio2") from None
        self._stream: Any = sounddevice.OutputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32",
                                                     latency="low")
        self._stream.start()

    def open(self, start: float) -> None:
        pass

    def user(self, t: float, frame: Samples) -> None:
        pass

    def agent(self, t: float, chunk: Samples) -> None:
        self._stream.write(chunk.reshape(-1, 1))

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()
