"""Scripted users: timed lines of what the user says, for headless runs and data sets.

One line per utterance::

    # a comment
    +2.5s I'd like thai food       say this 2.5 s after the previous line was said
    @40s what time is it?          say this at session second 40
    and for two people             no time: say it once the agent is quiet again

Blank lines and lines starting with ``#`` are skipped. A quiet agent is one that neither
speaks nor thinks, with nothing queued; running tools do not count, so a scripted user can
talk while a tool works, which is the point.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from counterpoint.dsl.durations import parse_duration

When = Literal["after", "at", "quiet"]


class ScriptFileError(ValueError):
    """A script line that cannot be read; the message is ``file:line:col: what, and how to fix it``."""


@dataclass(frozen=True, slots=True)
class ScriptLine:
    """One utterance: when (``after`` the previous line, ``at`` a session time, or once ``quiet``)."""

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
        if stripped[0] in "+@":
            head, _, rest = stripped.partition(" ")
            try:
                seconds = parse_duration(head[1:])
            except ValueError as err:
                raise ScriptFileError(
                    f"{file}:{number}:{col}: {head!r} is not a time: {err}; write it like '+2.5s' or '@1m30s'"
                ) from None
            if not rest.strip():
                raise ScriptFileError(f"{file}:{number}:{col}: nothing to say after {head!r}; "
                                      f"write the user's words after the time")
            lines.append(ScriptLine("after" if stripped[0] == "+" else "at", seconds, rest.strip(), number))
        else:
            lines.append(ScriptLine("quiet", 0.0, stripped, number))
    return lines


def read_script(path: str | Path) -> list[ScriptLine]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ScriptFileError(f"{path}: cannot read the script: {reason}") from None
    return parse_script(text, str(path))
