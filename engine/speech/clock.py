"""The voice session's clock, its log of timed records, and where heavy work runs.

Records are plain ``(t, name, data)`` tuples in session seconds, the form the timeline
(:mod:`counterpoint.engine.viz.timeline`) and the latency summary read.

Recognition and synthesis release the GIL, so on the real clock they run in a worker
thread while the session goes on listening. Under ``trio.testing.MockClock`` they run inline
and take no virtual time, so a test's timing is exact and repeatable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import trio
import trio.testing

Record = tuple[float, str, dict[str, Any]]
T = TypeVar("T")


def virtual_time() -> bool:
    return isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)


async def offload(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking work: in a thread on the real clock, inline (zero virtual time) under MockClock."""
    if virtual_time():
        await trio.lowlevel.checkpoint()
        return fn(*args)
    return await trio.to_thread.run_sync(fn, *args)


class VoiceLog:
    """Timed records of everything the voice pipeline and the chart did, in session seconds."""

    def __init__(self, start: float = 0.0) -> None:
        self.start = start
        self.records: list[Record] = []

    def now(self) -> float:
        return trio.current_time() - self.start

    def add(self, name: str, data: dict[str, Any] | None = None, *, at: float | None = None) -> None:
        """``at``: a trio time (default now)."""
        t = (at if at is not None else trio.current_time()) - self.start
        self.records.append((round(t, 6), name, dict(data or {})))

    def sorted(self) -> list[Record]:
        return sorted(self.records, key=lambda r: r[0])
