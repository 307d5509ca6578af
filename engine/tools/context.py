"""The context a tool handler may ask for: its call id, progress reports, cancellation.

A handler asks for it with a parameter annotated ``ToolContext`` or named ``ctx`` (unless
``ctx`` is one of the tool's declared parameters); the runtime passes it by keyword. Handlers
that do not ask get none, so plain functions stay plain and easy to test.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

#: Receives ``(message, fraction)`` of a progress report; supplied by whoever runs the call.
ProgressSink = Callable[[str | None, float | None], None]


class ToolContext:
    """What a running call knows about itself.

    ``cancelled`` is set when the call is cancelled or times out. Coroutine handlers are
    cancelled by trio directly; a sync handler runs in a worker thread that nothing can stop
    from outside, so a long one should poll ``ctx.cancelled.is_set()`` and return early.
    """

    __slots__ = ("call_id", "tool", "cancelled", "_sink")

    def __init__(self, call_id: str, tool: str, sink: ProgressSink | None = None) -> None:
        self.call_id = call_id
        self.tool = tool
        self.cancelled = threading.Event()
        self._sink = sink

    def progress(self, message: str | None = None, fraction: float | None = None) -> None:
        """Report progress (``tool.<name>.progress``): a message, a fraction in [0, 1], or both.

        Safe from a coroutine or from a sync handler's thread; never blocks. Reports after
        the call ended are dropped.
        """
        if message is not None and not isinstance(message, str):
            raise TypeError(f"progress message must be a string, got {type(message).__name__}")
        if fraction is not None:
            if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not (
                math.isfinite(fraction) and 0 <= fraction <= 1
            ):
                raise ValueError(f"progress fraction must be a number from 0 to 1, got {fraction!r}")
            fraction = float(fraction)
        if self._sink is not None:
            self._sink(message, fraction)

    def __repr__(self) -> str:
        return f"ToolContext(call_id={self.call_id!r}, tool={self.tool!r})"
