"""How the agent's words reach the user, and which of them did before an interruption.

A :class:`Speaker` turns text into an :class:`Utterance` that is "played" over time. The text
speaker writes to a callback (a terminal, a log) and, with a ``pace`` in characters per
second, plays like a voice would: an interruption at time *t* keeps exactly the words that
were complete by then. Without a pace, text is delivered the instant it is written. The
voice speaker (speech synthesis) implements the same two methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import trio


class Utterance(Protocol):
    def feed(self, text: str) -> None:
        """Append text to what is being played (the LLM streams it piece by piece)."""

    async def finish(self) -> str:
        """Wait until everything fed was played; return it."""
        ...

    def interrupt(self) -> str:
        """Stop now; return the words played so far (whole words only)."""
        ...


class Speaker(Protocol):
    def begin(self) -> Utterance: ...


def whole_words(text: str, played_chars: int) -> str:
    """The prefix of ``text`` made of the words completely played after ``played_chars``."""
    if played_chars >= len(text):
        return text
    cut = text[:played_chars]
    if played_chars < len(text) and not text[played_chars].isspace():
        space = max(cut.rfind(" "), cut.rfind("\n"))
        cut = cut[:space] if space >= 0 else ""
    return cut.rstrip()


@dataclass
class TextUtterance:
    pace: float | None
    write: Callable[[str], None] | None
    text: str = ""
    #: (start time, length) of each fed piece: pieces play one after the other
    _pieces: list[tuple[float, int]] = field(default_factory=list)
    _end: float = 0.0
    _stopped: str | None = None

    def feed(self, text: str) -> None:
        if self._stopped is not None or not text:
            return
        self.text += text
        if self.write is not None:
            self.write(text)
        if self.pace:
            start = max(trio.current_time(), self._end)
            self._pieces.append((start, len(text)))
            self._end = start + len(text) / self.pace

    def played_chars(self) -> int:
        if not self.pace:
            return len(self.text)
        now = trio.current_time()
        return sum(min(n, max(0, int((now - start) * self.pace))) for start, n in self._pieces)

    async def finish(self) -> str:
        if self.pace:
            await trio.sleep_until(self._end)
        return self.text

    def interrupt(self) -> str:
        if self._stopped is None:
            self._stopped = whole_words(self.text, self.played_chars())
        return self._stopped


@dataclass
class TextSpeaker:
    """Text output; ``pace`` (characters per second, e.g. 15 for speech-like timing) or instant."""

    write: Callable[[str], None] | None = None
    pace: float | None = None

    def begin(self) -> TextUtterance:
        return TextUtterance(self.pace, self.write)
