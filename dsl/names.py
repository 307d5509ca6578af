"""The lexical rules for names and the one implementation of event-pattern matching.

Both syntaxes, the JSON Schema, validation, the core and scenario files use these
(docs/language.md): a rule and its hint live side by side so every place that rejects a
name says the same thing, and "does this pattern match that event" has one answer.
"""

from __future__ import annotations

import re

IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
AGENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
DOTTED_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_SEG = r"[A-Za-z0-9_-]+"
EVENT_RE = re.compile(rf"{_SEG}(?:\.{_SEG})*")
#: a ``*`` part inside a pattern stands for any one part (``tool.*.error``)
PATTERN_RE = re.compile(rf"\*|(?:{_SEG}|\*)(?:\.(?:{_SEG}|\*))*")

IDENT_HINT = "names are letters, digits and '_', and do not start with a digit"
AGENT_HINT = "agent names are letters, digits, '_' and '-', and do not start with a digit or '-'"
DOTTED_HINT = "package names are dotted identifiers, e.g. requests_cache or google.cloud"
EVENT_HINT = "event names are dot-separated parts of letters, digits, '_' and '-', e.g. user.said"
PATTERN_HINT = (
    "event patterns are event names, optionally ending in '.*', or '*' alone; "
    "a '*' part stands for any one part (tool.*.error)"
)


def event_pattern(pattern: str) -> tuple[str, ...] | None:
    """The segments a pattern requires, or None when it matches every event.

    ``user``, ``user.*`` and ``user*`` all require the segment ``user`` (SCXML prefix
    matching on whole segments); a ``*`` segment inside a pattern matches any one segment.
    Split once and kept (the core stores it per transition) so matching is a segment compare.
    """
    p = pattern.strip()
    if p.endswith(".*"):
        p = p[:-2]
    elif p.endswith("*"):
        p = p[:-1].rstrip(".")
    segments = tuple(s for s in p.split(".") if s)
    return segments or None


def pattern_matches(segments: tuple[str, ...] | None, name: str) -> bool:
    """Whether an event named ``name`` matches a pattern split by :func:`event_pattern`."""
    if segments is None:
        return True
    parts = name.split(".")
    if len(parts) < len(segments):
        return False
    return all(a == b or a == "*" for a, b in zip(segments, parts, strict=False))


def matches(pattern: str, name: str) -> bool:
    """Whether the event pattern ``pattern`` matches the event name ``name``."""
    return pattern_matches(event_pattern(pattern), name)


def overlaps(listened: str, produced: str) -> bool:
    """Whether some event name produced by ``produced`` (a pattern) can match ``listened``.

    Both sides may contain ``*`` segments; a trailing ``*`` on the produced side stands for
    any continuation.
    """
    lt = event_pattern(listened) or ()
    pt = event_pattern(produced) or ()
    raw = produced.strip()
    open_end = raw == "*" or raw.endswith("*")
    if len(pt) < len(lt) and not open_end:
        return False
    return all(a == b or a == "*" or b == "*" for a, b in zip(lt, pt, strict=False))
