"""Voice activity: Silero speech probabilities, streamed, and the turn detector that reads them.

:class:`StreamingVAD` runs the Silero model that ships inside faster-whisper one 32 ms window
at a time, keeping the model's recurrent state between windows, so a probability is known
32 ms after the audio arrives. :class:`TurnDetector` is pure: it turns those probabilities
into the user's turns and decides which sounds may interrupt the agent.

How backchannels are told from interruptions, in two steps:

1. a sound becomes a turn once it has lasted ``min_speech`` seconds of speech; while the
   agent speaks, ``min_barge_in`` seconds. Longer speech stops the agent at once.
2. a shorter sound heard while the agent spoke ends as :class:`Ignored`; the session then
   transcribes it, and only if it holds words other than backchannels (:func:`is_backchannel`:
   "mm-hm", "yeah", "okay"...) is it a barge-in after all ("Stop.", "Wait!"), late by the
   recognition time. Coughs and clicks transcribe to nothing and never reach the chart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from counterpoint.engine.speech.audio import SAMPLE_RATE, Samples

WINDOW = 512  # samples per Silero window at 16 kHz (32 ms)
WINDOW_SECONDS = WINDOW / SAMPLE_RATE
_CONTEXT = 64  # samples of the previous window the model sees


class StreamingVAD:
    """Silero VAD over a stream: ``push(frame)`` returns the probabilities of the windows it completed."""

    def __init__(self, model: Any | None = None) -> None:
        if model is None:
            from faster_whisper.vad import get_vad_model

            model = get_vad_model()
        self._session = model.session
        self._pending = np.zeros(0, dtype=np.float32)
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def push(self, frame: Samples) -> list[float]:
        self._pending = np.concatenate([self._pending, frame.astype(np.float32, copy=False)])
        out: list[float] = []
        while len(self._pending) >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            batch = np.concatenate([self._context, window])[None, :]
            prob, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
            self._context = window[-_CONTEXT:]
            out.append(float(np.asarray(prob).ravel()[0]))
        return out


# --------------------------------------------------------------------------- turn detection

#: Words that acknowledge without taking the turn.
BACKCHANNELS = frozenset({
    "mm", "mmm", "mhm", "mm-hm", "mm-hmm", "hm", "hmm", "uh-huh", "uh", "um", "ah", "oh", "aha", "huh",
    "yeah", "yes", "yep", "yup", "ok", "okay", "right", "sure", "alright", "i", "see", "got", "it",
    "cool", "great", "nice", "good", "fine", "wow", "really",
})  # fmt: skip


def is_backchannel(text: str) -> bool:
    """True when ``text`` holds only backchannel words (or nothing)."""
    words = re.findall(r"[a-z]+(?:-[a-z]+)*", text.lower())
    return all(w in BACKCHANNELS for w in words)



@dataclass(frozen=True)
class Started:
    """The user's turn began at ``onset`` (audio time); known at ``at``."""

    onset: float
    at: float
    barge_in: bool  # the agent was speaking when it was confirmed


@dataclass(frozen=True)
class Stopped:
    """The user's turn, from ``onset`` to ``end`` (audio times), ended; known at ``at``."""

    onset: float
    end: float
    at: float


@dataclass(frozen=True)
class Paused:
    """The user's turn has been silent for ``early`` seconds (it may go on): recognition can start
    on the speech so far, so the transcript is ready when the turn ends."""

    onset: float
    end: float


@dataclass(frozen=True)
class Ignored:
    """A sound too short to be a turn (or, while the agent spoke, a barge-in)."""

    onset: float
    end: float
    while_agent_spoke: bool


Decision = Started | Stopped | Paused | Ignored


class TurnDetector:
    """Reads one probability per 32 ms window; yields :data:`Decision` values.

    A window is speech at ``threshold``; once speech has begun it goes on while the
    probability stays above ``threshold - 0.15`` (hysteresis, so a soft syllable does not split
    a word). A candidate sound that falls silent for ``gap`` seconds before it was confirmed
    is ignored; a shorter pause (a comma) keeps it going.
    """

    def __init__(self, *, threshold: float, min_speech: float, min_barge_in: float, end_of_turn: float,
                 gap: float = 0.3, early: float = 0.25) -> None:
        self.threshold = threshold
        self.low = max(0.01, threshold - 0.15)
        self.min_speech = min_speech
        self.min_barge_in = min_barge_in
        self.end_of_turn = end_of_turn
        self.gap = gap
        self.early = min(early, end_of_turn)
        self._paused = False  # Paused was reported for the current silence
        self._last_turn = -1.0  # onset of the last turn that ended
        self._onset: float | None = None  # start of the candidate or turn
        self._voiced = 0.0  # seconds of speech in the candidate
        self._last_voice = 0.0  # end of the last speech window
        self._agent_spoke = False
        self.in_turn = False

    @property
    def pending(self) -> bool:
        """A sound is being listened to (a candidate or a turn)."""
        return self._onset is not None

    def step(self, prob: float, start: float, agent_speaking: bool) -> Decision | None:
        """The window starting at ``start`` (audio seconds) had speech probability ``prob``."""
        end = start + WINDOW_SECONDS
        if self._onset is None:
            if prob < self.threshold:
                return None
            self._onset, self._voiced, self._last_voice = start, 0.0, end
            self._agent_spoke = agent_speaking
        voiced = prob >= (self.low if self.in_turn or self._voiced > 0 else self.threshold)
        if voiced:
            self._voiced += WINDOW_SECONDS
            self._last_voice = end
            self._paused = False
        self._agent_spoke = self._agent_spoke or agent_speaking
        onset = self._onset
        if self.in_turn:
            if end - self._last_voice >= self.end_of_turn:
                self.in_turn, self._onset, self._last_turn = False, None, onset
                return Stopped(onset, self._last_voice, end)
            if not self._paused and end - self._last_voice >= self.early:
                self._paused = True
                return Paused(onset, self._last_voice)
            return None
        if end - self._last_voice >= self.gap:
            self._onset = None
            return Ignored(onset, self._last_voice, self._agent_spoke)
        need = self.min_barge_in if agent_speaking else self.min_speech
        if self._voiced >= need - 1e-9:
            self.in_turn = True
            return Started(onset, end, agent_speaking)
        return None

    def resume(self, onset: float, end: float) -> bool:
        """An ignored sound from ``onset`` to ``end`` turned out to be words: make it the start of
        a turn, joined with whatever was heard since. True when the turn was not started yet
        (the caller sends ``user.speech.started``). A turn that began after the sound and has
        already ended (recognition was slow) keeps its own transcript: nothing changes then."""
        if not self.in_turn and self._onset is None and self._last_turn > onset:
            return False
        if self.in_turn:
            self._onset = min(onset, self._onset if self._onset is not None else onset)
            return False
        self._onset = min(onset, self._onset) if self._onset is not None else onset
        self._last_voice = max(self._last_voice, end) if self._voiced > 0 else end
        self.in_turn = True
        return True
