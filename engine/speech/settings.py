"""Voice settings: the definition's ``voice:`` section with the documented defaults filled in."""

from __future__ import annotations

from dataclasses import dataclass

from counterpoint.dsl.model import VoiceSettings

#: Defaults, documented in docs/voice.md (with the measurements that chose them).
VAD_THRESHOLD = 0.5
MIN_SPEECH = 0.1
MIN_BARGE_IN = 0.6
END_OF_TURN = 0.6


@dataclass(frozen=True)
class VoiceConfig:
    """How the voice pipeline listens and speaks.

    ``vad_threshold``: Silero speech probability (0-1) above which a 32 ms window is speech.
    ``min_speech``: seconds of speech before ``user.speech.started`` while the agent is quiet.
    ``min_barge_in``: seconds of speech before the user's voice stops the agent while it
    speaks; shorter sounds (backchannels, coughs) are logged and ignored.
    ``end_of_turn``: seconds of silence that end the user's turn (``user.speech.stopped``).
    ``tts``: ``piper``, ``espeak`` or ``auto`` (Piper when installed, else espeak-ng).
    ``speed``: speaking rate, 1.0 normal. ``language``: the recogniser's language code.
    """

    vad_threshold: float = VAD_THRESHOLD
    min_speech: float = MIN_SPEECH
    min_barge_in: float = MIN_BARGE_IN
    end_of_turn: float = END_OF_TURN
    tts: str = "auto"
    speed: float = 1.0
    language: str = "en"

    @classmethod
    def from_settings(cls, settings: VoiceSettings | None) -> VoiceConfig:
        """The definition's ``voice:`` section over the defaults (absent keys keep them)."""
        if settings is None:
            return cls()
        tts = settings.tts or "auto"
        return cls(
            vad_threshold=_or(settings.vad_threshold, VAD_THRESHOLD),
            min_barge_in=_or(settings.min_barge_in, MIN_BARGE_IN),
            end_of_turn=_or(settings.end_of_turn, END_OF_TURN),
            tts="piper" if tts == "joe" else tts,
            speed=_or(settings.speed, 1.0),
            language=settings.language or "en",
        )


def _or(value: float | None, default: float) -> float:
    return float(value) if value is not None else default
