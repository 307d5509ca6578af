"""Timer keys: how the compiler names a state's timers, and how tools read such a name back.

The ``n``-th timer a state declares has the key ``after:STATE:N`` or ``every:STATE:N``. The
key is also the name of the event the timer fires, which never collides with a user event
(``:`` is not allowed in event names). Both directions live here, so the format has one home.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The kinds of timers, as written in definitions (``after: {30s: ...}``, ``every: ...``).
TIMER_KINDS = ("after", "every")


@dataclass(frozen=True, slots=True)
class TimerKey:
    """A timer key's parts: its kind, the id of the state that declares it, and its position
    among that state's timers."""

    kind: str
    state: str
    n: int

    @property
    def repeat(self) -> bool:
        return self.kind == "every"


def timer_key(kind: str, state: str, n: int) -> str:
    """The key (and event name) of the ``n``-th timer, of kind ``kind``, of state ``state``."""
    return f"{kind}:{state}:{n}"


def parse_timer_key(key: str) -> TimerKey | None:
    """The parts of a timer key, or None when ``key`` is not one (e.g. any user event name)."""
    parts = key.split(":")
    if len(parts) != 3 or parts[0] not in TIMER_KINDS or not parts[2].isdigit():
        return None
    return TimerKey(parts[0], parts[1], int(parts[2]))
