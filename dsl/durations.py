"""Durations: ``500ms``, ``30s``, ``1.5s``, ``2m``, ``1h``, ``1m30s``, or a bare number of seconds."""

from __future__ import annotations

import math
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h))+")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

#: Longest accepted duration (a year); longer is almost certainly a typo.
MAX_SECONDS = 366 * 24 * 3600.0


class DurationError(ValueError):
    pass


def parse_duration(value: object) -> float:
    """Seconds from a duration string or a non-negative number; raises DurationError."""
    if isinstance(value, bool):
        raise DurationError(f"expected a duration such as 30s, got {value!r}")
    if isinstance(value, int):
        seconds = float(min(max(value, -1), MAX_SECONDS + 1))  # clamped: 2**1024 has no float
    elif isinstance(value, float):
        seconds = value
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        elif _WHOLE.fullmatch(text):
            seconds = sum(float(n) * _UNIT[u] for n, u in _PART.findall(text))
        else:
            raise DurationError(f"{_shown(value)} is not a duration; write e.g. 500ms, 30s, 1.5s, 2m, 1h or 1m30s")
    else:
        raise DurationError(f"expected a duration such as 30s, got {type(value).__name__}")
    if math.isnan(seconds) or seconds < 0:
        raise DurationError(f"duration must be a non-negative number of seconds, got {_shown(value)}")
    if seconds > MAX_SECONDS:
        raise DurationError(f"duration {_shown(value)} is longer than a year")
    return seconds


def _shown(value: object) -> str:
    """``value`` as messages quote it, cut short: a hostile file may hold a number of 4,000 digits."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's digit limit for conversion to text
        return "a number too long to show"
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text)} characters)"


def format_duration(seconds: float) -> str:
    """The canonical text of a duration; ``parse_duration(format_duration(x)) == x``."""
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    if seconds == 0:
        return "0s"
    ms = seconds * 1000
    if float(ms).is_integer() and parse_duration(f"{int(ms)}ms") == seconds:
        return f"{int(ms)}ms"
    text = repr(float(seconds))
    if "e" in text or "n" in text:
        text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return f"{text}s"
