"""Events: everything that happens to an agent is one of these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Priority of events that name no priority; lower numbers are more urgent.
DEFAULT_PRIORITY = 10

#: Priorities the runtime gives its own events when the definition's ``priorities:`` has no
#: matching pattern (the most specific pattern here wins): user input outranks the agent's
#: own turn, which outranks tool and sub-agent results, which outrank timers (DEFAULT_PRIORITY).
#: ``llm.turn`` is not an event: it is the level of an LLM turn in progress — more urgent
#: events preempt the turn, less urgent ones wait until it ends (docs/runtime.md).
BUILTIN_PRIORITIES: tuple[tuple[str, int], ...] = (
    ("user.speech.started", 0),
    ("user.speech.stopped", 1),
    ("user.*", 2),
    ("llm.*", 3),
    ("agent.speech.*", 3),
    ("agent.said", 3),
    ("llm.turn", 4),
    ("tool.*", 5),
    ("agent.*", 5),
)

#: The pseudo-event whose priority is that of an LLM turn in progress.
TURN_PRIORITY_NAME = "llm.turn"


@dataclass(frozen=True, slots=True)
class Event:
    """A named, timestamped, prioritised happening with a data mapping.

    Queues order events by ``(priority, time, seq)``. ``send_id`` is set for events that
    came from a ``send`` action with an id.
    """

    name: str
    data: Mapping[str, Any] = field(default_factory=dict)
    priority: int = DEFAULT_PRIORITY
    time: float = 0.0
    seq: int = 0
    send_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "data": dict(self.data), "priority": self.priority,
                               "time": self.time, "seq": self.seq}
        if self.send_id is not None:
            out["send_id"] = self.send_id
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Event:
        return cls(raw["name"], dict(raw.get("data", {})), raw.get("priority", DEFAULT_PRIORITY),
                   raw.get("time", 0.0), raw.get("seq", 0), raw.get("send_id"))
