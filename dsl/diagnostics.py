"""Diagnostics: what is wrong, where (``file:line:col``), and how to fix it.

Every problem a definition can have is reported as a :class:`Diagnostic` with a stable
code from :data:`CODES`. Front ends, include resolution and validation all speak this
type, so the CLI, the JSON output and the tests see one format.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from counterpoint.dsl.source import NO_SPAN, Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


#: Every diagnostic code with a one-line summary (docs/language.md lists them too).
CODES: dict[str, str] = {
    # reading and syntax
    "E001": "YAML syntax error",
    "E002": "DSL syntax error",
    "E003": "duplicate key",
    "E004": "unknown key",
    "E005": "wrong type",
    "E006": "missing required key",
    "E007": "invalid duration",
    "E008": "invalid value",
    "E009": "file cannot be read (missing, binary, not UTF-8 or too large)",
    "E010": "input too complex (nesting too deep, too many aliases)",
    "E011": "expression syntax error",
    # structure and semantics
    "E101": "unknown transition target",
    "E102": "duplicate state id",
    "E103": "compound state without an initial state",
    "E104": "initial state is not a child of its state",
    "E105": "final state with outgoing transitions or children",
    "E106": "misplaced history state",
    "E107": "unknown variable in expression",
    "E108": "tool referenced but not declared",
    "E109": "tool handler cannot be resolved",
    "E110": "tool handler module not allowed",
    "E111": "conflicting unguarded transitions",
    "E112": "include cycle",
    "E113": "included or spawned file not found",
    "E114": "duplicate declaration",
    "E115": "invalid name",
    "E116": "unknown function in expression",
    "E117": "transition targets that cannot be active together",
    # warnings
    "W201": "unreachable state",
    "W202": "event listened for but never produced",
    "W203": "tool declared but never used",
    "W204": "transition leaving a parallel state loses to an earlier region",
    "W205": "a value that is text but looks like Python's None",
}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span = NO_SPAN
    hint: str | None = None

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self.code.startswith("W") else Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        """One line (and a hint line): control characters from the input are shown escaped."""
        text = f"{printable(str(self.span))}: {self.severity.value}[{self.code}]: {printable(self.message)}"
        if self.hint:
            text += f"\n  hint: {printable(self.hint)}"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            "end_line": self.span.end_line,
            "end_col": self.span.end_col,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


class DiagnosticError(Exception):
    """Raised where a caller needs a valid definition and did not get one."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


#: What must never reach a terminal as is: C0/C1 controls and DEL (escape sequences, raw line
#: breaks), the Unicode line and paragraph separators, bidirectional overrides (text that reads
#: other than it is) and lone surrogates (which cannot even be encoded).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    c = m[0]
    return _SHORT_ESCAPES.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")


def printable(text: str) -> str:
    """``text`` safe to print on one line: every character in :data:`_UNPRINTABLE` as its escape.

    Names and values in messages come from files someone else may have written: a state
    called ``"\\e]0;x\\a"`` must not retitle the terminal, and a raw newline must not break the
    one-diagnostic-per-line format that editors and CI read.
    """
    return _UNPRINTABLE.sub(_escape, text) if _UNPRINTABLE.search(text) else text


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.span.file, d.span.line, d.span.col, d.code)


def summary(diagnostics: list[Diagnostic], files: int) -> str:
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    plural: Callable[[int, str], str] = lambda n, w: f"{n} {w}{'' if n == 1 else 's'}"  # noqa: E731
    return f"{plural(files, 'file')} checked: {plural(errors, 'error')}, {plural(warnings, 'warning')}"


def format_json(diagnostics: list[Diagnostic], files: int) -> str:
    errors = sum(d.is_error for d in diagnostics)
    return json.dumps(
        {
            "diagnostics": [d.to_json() for d in sorted(diagnostics, key=sort_key)],
            "files": files,
            "errors": errors,
            "warnings": len(diagnostics) - errors,
        },
        indent=2,
    )


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, or None when nothing is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
