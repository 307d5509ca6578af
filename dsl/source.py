"""Source positions: every model node remembers where it was written."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file. Lines and columns are 1-based, as editors show them."""

    file: str
    line: int
    col: int
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


#: Span of nodes built in code rather than read from a file.
NO_SPAN = Span("<none>", 0, 0)


def where(span: Span, here: Span) -> str:
    """``span`` as text for a message about ``here``: line and column, plus the file if it differs."""
    pos = f"line {span.line}, column {span.col}"
    return pos if span.file == here.file else f"{span.file}, {pos}"
