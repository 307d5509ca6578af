"""Scripted users: timed lines of what the user says, for headless runs and data sets.

One line per utterance, for text and voice sessions alike::

    # a comment
    @1s Hello, can you hear me?      at session second 1
    +2.5s I'd like thai food         2.5 s after the previous line (was said, or its audio ended)
    >0.8s and for two people         0.8 s after the agent answered the previous line and went quiet
    and for two people               the same as ">0s"
    ~1.5s wait, make that three      1.5 s into the agent's next speech: an interruption

Times are durations (``2.5s``, ``500ms``, ``1m30s``; a bare number is seconds). Blank lines
and lines starting with ``#`` are skipped. A quiet agent neither speaks nor thinks; running
tools do not count, so a scripted user can talk while a tool works, which is the point.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from counterpoint.dsl.durations import parse_duration

When = Literal["at", "after", "answered", "during"]

#: The prefix of each kind of line.
PREFIXES: dict[str, When] = {"@": "at", "+": "after", ">": "answered", "~": "during"}

#: A line that expects an answer is said anyway when none came after this long.
NO_ANSWER = 60.0


class ScriptFileError(ValueError):
    """A script line that cannot be read; the message is ``file:line:col: what, and how to fix it``."""


@dataclass(frozen=True, slots=True)
class ScriptLine:
    """One utterance: ``at`` a session time, ``after`` the previous line, once the agent
    ``answered`` it and went quiet, or ``during`` the agent's next speech; ``seconds`` later."""

    when: When
    seconds: float
    text: str
    line: int


def parse_script(text: str, file: str = "<script>") -> list[ScriptLine]:
    """The lines of a user script; :class:`ScriptFileError` names the first bad line."""
    lines: list[ScriptLine] = []
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        col = raw.index(stripped[0]) + 1
        if stripped[0] in PREFIXES:
            head, _, rest = stripped.partition(" ")
            amount = head[1:]
            try:
                seconds = parse_duration(amount + "s" if _bare_number(amount) else amount)
            except ValueError as err:
                raise ScriptFileError(
                    f"{file}:{number}:{col}: {head!r} is not a time: {err}; write it like '+2.5s', '@1m30s', "
                    f"'>0.8s' or '~1.5s'"
                ) from None
            if not rest.strip():
                raise ScriptFileError(f"{file}:{number}:{col}: nothing to say after {head!r}; "
                                      f"write the user's words after the time")
            lines.append(ScriptLine(PREFIXES[stripped[0]], seconds, rest.strip(), number))
        else:
            lines.append(ScriptLine("answered", 0.0, stripped, number))
    return lines


def _bare_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_script(path: str | Path) -> list[ScriptLine]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ScriptFileError(f"{path}: cannot read the script: {reason}") from None
    return parse_script(text, str(path))
