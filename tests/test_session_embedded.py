"""End to end on the real embedded model (SmolLM2-135M through llama.cpp), in real time.

The proof that an agent runs: the model's tool call is checked and runs in the background, and
its result comes back into a later turn. Greedy decoding makes the run repeatable.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trio

from counterpoint.engine.agent.loading import SessionOptions, open_session
from counterpoint.engine.llm.base import LLMRequest, StreamItem
from counterpoint.engine.llm.embedded import EmbeddedLLM

pytestmark = pytest.mark.slow

TRAINS = Path(__file__).parent / "agents_rt" / "trains.agent.yaml"
START = datetime(2026, 1, 1, 9, 0, 0, tzinfo=UTC)


class Recorded:
    """The real backend, keeping the requests it was sent."""

    def __init__(self, inner: EmbeddedLLM) -> None:
        self.inner, self.name, self.requests = inner, inner.name, list[LLMRequest]()

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamItem]:
        self.requests.append(request)
        async for item in self.inner.stream(request):
            yield item

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_a_model_tool_call_runs_and_its_result_reaches_the_next_turn() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    async def main() -> None:
        model = Recorded(EmbeddedLLM(temperature=0))
        # a fixed wall clock: the prompt (and so the greedy answer) is the same on every run
        interpreter, _ = open_session(TRAINS, model, SessionOptions(started_at=START))
        seen: list[tuple[str, dict]] = []
        interpreter.add_listener(lambda r: r.event is not None and seen.append((r.event.name, dict(r.event.data))))
        turns_ended = 0
        async with trio.open_nursery() as nursery:
            nursery.start_soon(interpreter.run)
            interpreter.send("user.said", {"text": "When are the trains to Paris?"})
            with trio.move_on_after(300):
                while turns_ended < 2:
                    await trio.sleep(0.1)
                    turns_ended = sum(1 for name, _ in seen if name in ("llm.done", "llm.error"))
            interpreter.stop()
        await model.aclose()
        names = [name for name, _ in seen]
        assert "tool.find_trains.started" in names, names
        started = dict(seen)["tool.find_trains.started"]
        assert started["origin"] == "model" and isinstance(started["args"].get("city"), str)
        assert "tool.find_trains.done" in names
        assert turns_ended == 2, names
        second = "\n".join(str(m.get("content") or "") for m in model.requests[1].messages)
        assert "09:15" in second and "find_trains" in second  # the result, tied to its call

    trio.run(main)
