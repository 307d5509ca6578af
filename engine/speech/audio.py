"""Audio as the voice pipeline sees it: 16 kHz mono float32 samples in 20 ms chunks.

Everything inside the pipeline (sources, VAD, recognition, synthesis output, sinks) uses
one rate and one chunk size, so a sample index is a time and a chunk is the unit of output
latency. Conversions happen at the edges: WAV files, Piper's 22.05 kHz voice.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]

SAMPLE_RATE = 16_000
CHUNK_SECONDS = 0.02
CHUNK = int(SAMPLE_RATE * CHUNK_SECONDS)  # 320 samples: the unit of output (and input) timing


class AudioError(ValueError):
    """An audio file that cannot be used; the message says why and how to fix it."""


def silence(seconds: float) -> Samples:
    return np.zeros(int(round(seconds * SAMPLE_RATE)), dtype=np.float32)


def resample(samples: Samples, rate: int, to: int = SAMPLE_RATE) -> Samples:
    """Windowed-sinc low-pass (when going down) then linear interpolation: good enough for speech."""
    if rate == to or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    x = samples.astype(np.float64)
    if to < rate:  # remove what the new rate cannot hold, or it folds back as noise
        cutoff = 0.5 * to / rate * 0.95
        n = np.arange(-32, 33)
        taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(len(n))
        x = np.convolve(x, taps / taps.sum(), mode="same")
    count = int(len(x) * to / rate)
    out: Samples = np.interp(np.arange(count) * (rate / to), np.arange(len(x)), x).astype(np.float32)
    return out


def read_wav(path: str | Path) -> Samples:
    """A WAV file as 16 kHz mono float32 (channels are mixed down, other rates resampled)."""
    try:
        with wave.open(str(path), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except FileNotFoundError:
        raise AudioError(f"{path}: no such audio file") from None
    except (wave.Error, EOFError) as err:
        raise AudioError(f"{path}: not a readable WAV file ({err}); convert it to 16-bit PCM WAV, "
                         "e.g. `sox IN -b 16 -r 16000 -c 1 OUT.wav`") from None
    if width != 2:
        raise AudioError(f"{path}: {8 * width}-bit samples are not supported; use 16-bit PCM "
                         "(`sox IN -b 16 OUT.wav`)")
    data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).astype(np.float32)
    return resample(data, rate)


def to_int16(samples: npt.NDArray[np.floating]) -> npt.NDArray[np.int16]:
    out: npt.NDArray[np.int16] = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    return out


def write_wav(path: str | Path, channels: list[Samples], rate: int = SAMPLE_RATE) -> None:
    """Write one or more equally long channels as a 16-bit PCM WAV file."""
    frames = np.stack([to_int16(c) for c in channels], axis=1) if channels else np.zeros((0, 1), "<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())


def rms_db(samples: Samples) -> float:
    """Loudness in dB relative to full scale (-inf for silence)."""
    if len(samples) == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20 * np.log10(rms) if rms > 0 else float("-inf")
