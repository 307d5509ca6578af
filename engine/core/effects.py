"""Effects: what a macrostep asks the outside world to do, as plain data.

:func:`counterpoint.engine.core.step.step` returns these; the trio runtime performs them and
turns their outcomes back into events. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from counterpoint.engine.core.events import Event


@dataclass(frozen=True, slots=True)
class StartTimer:
    """After ``delay`` seconds (and every ``delay`` if ``repeat``) deliver ``Event(event, {"epoch": epoch})``.

    ``epoch`` tags the state entry the timer belongs to: a firing whose epoch is stale
    (its state was exited, maybe re-entered) is dropped by ``step``.
    """

    key: str
    event: str
    delay: float
    repeat: bool
    epoch: int


@dataclass(frozen=True, slots=True)
class CancelTimer:
    key: str
    epoch: int


@dataclass(frozen=True, slots=True)
class StartTool:
    call_id: str
    tool: str
    args: Mapping[str, Any]
    state: str  # the state whose action started the call (for on_exit)


@dataclass(frozen=True, slots=True)
class CancelTool:
    """Cancel running calls: ``target`` is a call id or a tool name (all its calls)."""

    target: str


@dataclass(frozen=True, slots=True)
class Speak:
    text: str


@dataclass(frozen=True, slots=True)
class StartLLMTurn:
    prompt: str | None


@dataclass(frozen=True, slots=True)
class Raised:
    """Informational: an internal event raised (and already processed) in this macrostep."""

    event: Event


@dataclass(frozen=True, slots=True)
class SendEvent:
    """Put ``event`` on the external queue after ``delay`` seconds (0: now)."""

    event: Event
    delay: float
    send_id: str | None


@dataclass(frozen=True, slots=True)
class CancelSend:
    send_id: str


@dataclass(frozen=True, slots=True)
class SpawnAgent:
    agent: str
    id: str
    task: str | None
    fork: bool


@dataclass(frozen=True, slots=True)
class LogMessage:
    text: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The chart ended in a top-level final state that declares ``data``: ``output`` is its
    value (a sub-agent's result). Charts ending in a final state without data emit nothing."""

    state: str
    output: Mapping[str, Any]


Effect: TypeAlias = (
    StartTimer | CancelTimer | StartTool | CancelTool | Speak | StartLLMTurn | Raised | SendEvent
    | CancelSend | SpawnAgent | LogMessage | Finished
)
