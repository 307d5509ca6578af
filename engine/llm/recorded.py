"""A backend that records every turn of another, and one that plays recorded turns back.

:class:`RecordingLLM` wraps a real backend: each turn is written to a
:class:`~counterpoint.engine.runtime.recording.Recorder` as it streams (the request, every
piece with its time, how it ended). :class:`ReplayedLLM` streams those turns again, piece by
piece at the recorded offsets from the turn's start, under whatever clock runs (virtual time
in replay), and never calls a model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

import trio

from counterpoint.engine.llm.base import (
    LLMBackend,
    LLMError,
    LLMRequest,
    StreamItem,
    TextDelta,
    ToolCallRequest,
)
from counterpoint.engine.runtime.recording import LLMTurnRecord, Recorder


class RecordingLLM:
    """``backend``, with each turn written to ``recorder``."""

    def __init__(self, backend: LLMBackend, recorder: Recorder) -> None:
        self.backend = backend
        self.recorder = recorder
        self.name = backend.name
        self.turns = 0
        #: sub-agents talk to the model directly: their turns are not this session's
        self.subagent_backend = backend

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamItem]:
        self.turns += 1
        n, rec = self.turns, self.recorder
        rec.entry("llm.start", turn=n, messages=list(request.messages), tools=list(request.tools))
        ended = False
        try:
            async for item in self.backend.stream(request):
                if isinstance(item, TextDelta):
                    rec.entry("llm.text", turn=n, text=item.text)
                elif isinstance(item, ToolCallRequest):
                    rec.entry("llm.call", turn=n, id=item.call_id, name=item.name, arguments=item.arguments)
                yield item
            ended = True
            rec.entry("llm.end", turn=n)
        except LLMError as err:
            ended = True
            rec.entry("llm.end", turn=n, error=str(err), error_kind=err.kind)
            raise
        finally:
            if not ended:  # cancelled (preempted) or the consumer stopped early
                rec.entry("llm.end", turn=n, cancelled=True)

    async def aclose(self) -> None:
        await self.backend.aclose()


class ReplayExhausted(LLMError):
    """The replayed definition asked for more turns than the recording holds."""


class ReplayedLLM:
    """Streams recorded turns in order; ``on_extra(n)`` is told when turn ``n`` was not recorded."""

    def __init__(self, turns: Sequence[LLMTurnRecord], *, name: str = "replay",
                 on_extra: Callable[[int], None] | None = None) -> None:
        self._turns = list(turns)
        self.name = name
        self.used = 0
        self._on_extra = on_extra

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamItem]:
        n = self.used
        self.used += 1
        if n >= len(self._turns):
            if self._on_extra is not None:
                self._on_extra(n + 1)
            raise ReplayExhausted(f"the recording has {len(self._turns)} model turns; turn {n + 1} was not recorded",
                                  kind="config")
        turn = self._turns[n]
        start = trio.current_time()
        for dt, kind, value in turn.pieces:
            await trio.sleep_until(start + dt)
            if kind == "text":
                yield TextDelta(value)
            else:
                yield ToolCallRequest(value["id"], value["name"], value["arguments"])
        if turn.error is not None:
            await trio.sleep_until(start + (turn.ended or 0.0))
            raise LLMError(turn.error, kind="error")
        if turn.cancelled or turn.ended is None:
            await trio.sleep_forever()  # it was preempted at this point: replay preempts it too
        await trio.sleep_until(start + turn.ended)

    async def aclose(self) -> None:
        return None
