"""Stepping a chart through events with the pure core, and picking effects out of the result."""

from __future__ import annotations

from counterpoint.engine import effects as fx
from counterpoint.engine import start, step


def logs(effects) -> list[str]:
    return [e.text for e in effects if isinstance(e, fx.LogMessage)]


def raised(effects) -> list[str]:
    return [e.event.name for e in effects if isinstance(e, fx.Raised)]


def run(chart, events, snapshot=None):
    """Step through ``events``; returns the final snapshot and all effects."""
    if snapshot is None:
        snapshot, effects = start(chart)
    else:
        effects = []
    for e in events:
        snapshot, more = step(chart, snapshot, e)
        effects += more
    return snapshot, effects
