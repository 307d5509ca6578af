"""Source positions: every model node remembers where it was written."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file. Lines and columns are 1-based, as editors show them.

    ``end_line``/``end_col`` is the position just after the region; a span given without an
    end ends where it starts (a point), so every span read from a file has both ends in it.
    """

    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __post_init__(self) -> None:
        if self.end_line <= 0 < self.line:
            object.__setattr__(self, "end_line", self.line)
            object.__setattr__(self, "end_col", self.col)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


#: Span of nodes built in code rather than read from a file.
NO_SPAN = Span("<none>", 0, 0)


def where(span: Span, here: Span) -> str:
    """``span`` as text for a message about ``here``: line and column, plus the file if it differs."""
    pos = f"line {span.line}, column {span.col}"
    return pos if span.file == here.file else f"{span.file}, {pos}"


_BREAK = re.compile(r"\r\n?|\n")


def split_lines(text: str) -> list[str]:
    """``text`` cut into lines where editors cut it (not ``str.splitlines``, which also cuts at
    NEL, U+2028, form feeds...)."""
    return _BREAK.split(text)


def normalise_newlines(text: str) -> str:
    """``text`` with ``\\r\\n`` and lone ``\\r`` as ``\\n``: the line breaks editors count, in one form."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


class LineIndex:
    """Line and column of a character offset, with lines counted as editors count them.

    Only ``\\n``, ``\\r\\n`` and ``\\r`` end a line; libyaml also breaks at NEL, U+2028 and
    U+2029, which would shift every later line against what the editor shows.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0, *(m.end() for m in _BREAK.finditer(text))]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of ``offset``, clamped to the text (its end is just after the last character)."""
        offset = max(0, min(offset, len(self.text)))
        if 0 < offset < len(self.text) and self.text[offset - 1 : offset + 1] == "\r\n":
            offset -= 1  # inside a CRLF break: the end of its line
        k = bisect.bisect_right(self.starts, offset) - 1
        return k + 1, offset - self.starts[k] + 1
