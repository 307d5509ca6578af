"""Events: everything that happens to an agent is one of these."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Priority of events that name no priority; lower numbers are more urgent.
DEFAULT_PRIORITY = 10


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
