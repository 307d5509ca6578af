"""The external event queue: a heap ordered by ``(priority, time, seq)``.

Lower priority numbers are more urgent; among equally urgent events the earlier one wins,
and ``seq`` breaks ties between events stamped with the same instant, so the order never
depends on how trio happened to schedule the tasks that produced them.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from counterpoint.engine.core.events import Event


class EventQueue:
    """A priority queue of :class:`Event` (stable: equal keys come out in insertion order)."""

    __slots__ = ("_heap", "_pushes")

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self._heap: list[tuple[int, float, int, int, Event]] = []
        self._pushes = 0
        for event in events:
            self.push(event)

    def push(self, event: Event) -> None:
        self._pushes += 1
        heapq.heappush(self._heap, (event.priority, event.time, event.seq, self._pushes, event))

    def pop(self) -> Event:
        """The most urgent event; raises IndexError when empty."""
        return heapq.heappop(self._heap)[-1]

    def peek(self) -> Event | None:
        return self._heap[0][-1] if self._heap else None

    def clear(self) -> None:
        self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)

    def __bool__(self) -> bool:
        return bool(self._heap)

    def __iter__(self) -> Iterator[Event]:
        """The queued events in the order they will be processed (does not consume them)."""
        return (entry[-1] for entry in sorted(self._heap))
