"""The travel desk's tool: a slow, deterministic timetable (no network)."""

from __future__ import annotations

import difflib
import re

import trio

#: city -> the next departures
TIMETABLE: dict[str, list[str]] = {
    "lyon": ["07:04", "08:04", "09:34"],
    "marseille": ["06:10", "07:37"],
    "bordeaux": ["06:52", "08:52"],
    "lille": ["07:16", "08:46", "09:46"],
    "paris": ["06:58", "07:28", "08:58"],
}

#: Seconds the "railway" takes to answer: long enough to talk over.
SEARCH_SECONDS = 12.0


def city_in(request: str) -> str | None:
    """The first known city named in ``request``, allowing for a misheard spelling ("Leon")."""
    words = re.findall(r"[a-z]+", request.lower())
    for word in words:
        if word in TIMETABLE:
            return word
    for word in words:
        close = difflib.get_close_matches(word, TIMETABLE, n=1, cutoff=0.75)
        if close:
            return close[0]
    return None


async def find_trains(request: str) -> str:
    """The next trains to the first known city named in ``request``."""
    await trio.sleep(SEARCH_SECONDS)
    city = city_in(request)
    if city is not None:
        return f"trains to {city.title()} leave at {', '.join(TIMETABLE[city])}."
    known = ", ".join(c.title() for c in TIMETABLE)
    return f"no city I know was named; I have trains to {known}."
