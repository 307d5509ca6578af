"""Tools that give back recorded outcomes instead of running: what replay binds.

Each call is matched by its call id (ids are deterministic: the chart's action ids and the
session's ``callN`` counter). The replayed handler reports the recorded progress at the
recorded times, then returns the recorded result or fails with the recorded message at the
recorded time. A call that timed out or was cancelled in the recording waits: the runner's
timeout, or the chart, ends it again at the same moment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import trio

from counterpoint.dsl.model import TOOL_CALL_ENDINGS
from counterpoint.engine.tools.binding import BoundTool
from counterpoint.engine.tools.context import ToolContext
from counterpoint.engine.tools.runner import ToolFailure


@dataclass
class RecordedCall:
    """What the recording says one call did: progress reports, then its ending."""

    call_id: str
    started: float | None = None
    progress: list[tuple[float, str | None, float | None]] = field(default_factory=list)
    ending: str | None = None  # done | error | timeout | cancelled
    at: float | None = None
    result: Any = None
    error: str | None = None


def recorded_calls(tool_events: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, RecordedCall]:
    """Group recorded ``(event name, data)`` pairs of ``tool.<name>.<kind>`` events by call id."""
    calls: dict[str, RecordedCall] = {}
    for name, data in tool_events:
        parts = name.split(".")
        if len(parts) != 3 or parts[0] != "tool":
            continue
        call_id = str(data.get("call_id", ""))
        call = calls.setdefault(call_id, RecordedCall(call_id))
        kind = parts[2]
        if kind == "progress":
            at = data.get("at")
            call.progress.append((float(at) if isinstance(at, int | float) else 0.0,
                                  data.get("message"), data.get("progress")))
        elif kind in TOOL_CALL_ENDINGS and call.ending is None:
            call.ending = kind
            ended, started = data.get("ended"), data.get("started")
            call.at = float(ended) if isinstance(ended, int | float) else None
            call.started = float(started) if isinstance(started, int | float) else None
            call.result = data.get("result")
            call.error = data.get("error")
    return calls


def replayed_tools(tools: Mapping[str, BoundTool], calls: Mapping[str, RecordedCall],
                   now: Callable[[], float], on_unknown: Callable[[str, str], bool] | None = None,
                   ) -> dict[str, BoundTool]:
    """``tools`` with handlers that replay ``calls``; ``now()`` is the session time the recording used.

    ``on_unknown(tool, call_id)`` is told about a call the recording does not have: when it
    returns True (the definition changed) the call fails with a message saying so, else it
    waits (a cut recording ends before the call would).
    """

    def bind(bound: BoundTool) -> BoundTool:
        async def handler(ctx: ToolContext, **_: Any) -> Any:
            call = calls.get(ctx.call_id)
            if call is None:
                if on_unknown is not None and not on_unknown(bound.name, ctx.call_id):
                    await trio.sleep_forever()
                raise ToolFailure(f"replay: the recording has no call {ctx.call_id} of {bound.name}")
            for at, message, fraction in call.progress:
                await trio.sleep(max(0.0, at - now()))
                ctx.progress(message, fraction)
            if call.ending not in ("done", "error") or call.at is None:
                await trio.sleep_forever()  # timed out or cancelled: that happens again by itself
            await trio.sleep(max(0.0, call.at - now()))
            if call.ending == "error":
                raise ToolFailure(call.error or "error")
            return call.result

        return dataclasses.replace(bound, handler=handler, is_async=True, context_param="ctx")

    return {name: bind(bound) for name, bound in tools.items()}
