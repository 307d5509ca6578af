"""The outside world of a chart-only scenario: the test plays it, except for the clock.

In a scenario without ``llm:`` nothing performs effects: the test sends the events the runtime
would (``tool_done``, ``send: agent.said``...). One thing still happens by itself, as it would at
run time: a call started by a chart action that has a ``timeout`` and has not ended by then gets
``tool.<name>.timeout``.
"""

from __future__ import annotations

from collections.abc import Sequence

import trio

from counterpoint.dsl.model import TOOL_CALL_ENDINGS
from counterpoint.engine.core.effects import CancelTool, Effect, StartTool
from counterpoint.engine.core.events import Event
from counterpoint.engine.runtime.interpreter import EffectHandler


class ToolTimeouts(EffectHandler):
    """Sends ``tool.<name>.timeout`` for calls that outlive their declared timeout."""

    def __init__(self) -> None:
        self._scopes: dict[str, tuple[str, trio.CancelScope]] = {}  # call id -> (tool, scope)

    def start_tool(self, effect: StartTool) -> None:
        assert self.interpreter is not None
        decl = self.interpreter.chart.tools.get(effect.tool)
        if decl is None or decl.timeout is None:
            return
        scope = trio.CancelScope()
        self._end(effect.call_id)
        self._scopes[effect.call_id] = (effect.tool, scope)
        self.interpreter.nursery.start_soon(self._expire, effect.call_id, effect.tool, decl.timeout, scope)

    def cancel_tool(self, effect: CancelTool) -> None:
        for call_id, (tool, _) in list(self._scopes.items()):
            if effect.target in (call_id, tool):
                self._end(call_id)

    def macrostep_done(self, event: Event | None, effects: Sequence[Effect]) -> None:
        if event is not None and event.name.startswith("tool.") and event.name.rsplit(".", 1)[-1] in TOOL_CALL_ENDINGS:
            call_id = event.data.get("call_id")
            if isinstance(call_id, str):
                self._end(call_id)

    def _end(self, call_id: str) -> None:
        entry = self._scopes.pop(call_id, None)
        if entry is not None:
            entry[1].cancel()

    async def _expire(self, call_id: str, tool: str, timeout: float, scope: trio.CancelScope) -> None:
        with scope:
            await trio.sleep(timeout)
            self._scopes.pop(call_id, None)
            assert self.interpreter is not None
            self.interpreter.send(f"tool.{tool}.timeout", {"call_id": call_id, "timeout": timeout})
