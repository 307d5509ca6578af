"""Tool handlers of the reminders agent: an in-memory reminder list on the agent's clock.

The agent counts minutes itself (``every 1m``) and passes the count to
``due_reminders``, so nothing here reads the wall clock and every run is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Reminder:
    text: str
    due: int  # the agent's minute count at which it is due
    done: bool = False


#: The reminders of this process, in the order they were filed.
REMINDERS: list[Reminder] = []
#: The last minute count due_reminders saw: "in 5 minutes" counts from here.
_now = 0


async def add_reminder(text: str, minutes: int) -> dict[str, object]:
    """File a reminder due ``minutes`` from now."""
    text = text.strip()
    if not text:
        raise ValueError("a reminder needs a text")
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    REMINDERS.append(Reminder(text, _now + minutes))
    return {"text": text, "minutes": minutes, "due": _now + minutes}


def due_reminders(minute: int) -> list[str]:
    """Texts of the reminders due at ``minute`` or earlier and not done, oldest first."""
    global _now
    _now = max(_now, minute)
    return [r.text for r in sorted(REMINDERS, key=lambda r: r.due) if not r.done and r.due <= minute]


def complete_reminder(text: str) -> bool:
    """Mark the first open reminder with ``text`` done; False when there is none."""
    for r in REMINDERS:
        if r.text == text and not r.done:
            r.done = True
            return True
    return False


def reset() -> None:
    """Forget every reminder (for tests)."""
    global _now
    REMINDERS.clear()
    _now = 0
