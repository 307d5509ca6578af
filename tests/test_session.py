"""The agent session under a virtual clock: a scripted model, real tool handlers, real timers.

The desk agent (tests/agents_rt/desk.agent.yaml) runs std:dialog beside a task whose state
allows tools of each delivery mode and lifetime; its handlers sleep in virtual time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trio

from counterpoint.engine.agent.ledger import AgentTurn, ToolCall, ToolOutcome, UserTurn
from counterpoint.engine.agent.loading import SessionOptions, load_definition, open_session
from counterpoint.engine.agent.session import AgentSession
from counterpoint.engine.agent.speaker import TextSpeaker
from counterpoint.engine.llm.scripted import ScriptedLLM
from counterpoint.engine.runtime.interpreter import Interpreter, StepRecord
from counterpoint.engine.testing.harness import run

DESK = Path(__file__).parent / "agents_rt" / "desk.agent.yaml"
START = datetime(2026, 11, 30, 14, 0, 0, tzinfo=UTC)


class Run:
    """A desk session plus what happened: (session time, event name, data) of every macrostep."""

    def __init__(self, interpreter: Interpreter, session: AgentSession, model: ScriptedLLM) -> None:
        self.interpreter, self.session, self.model = interpreter, session, model
        self.events: list[tuple[float, str, dict[str, Any]]] = []
        self.t0 = trio.current_time()
        interpreter.add_listener(self._record)

    def _record(self, record: StepRecord) -> None:
        if record.event is not None:
            self.events.append((round(record.time - self.t0, 3), record.event.name, dict(record.event.data)))

    def send(self, name: str, **data: Any) -> None:
        self.interpreter.send(name, data)

    def times(self, name: str) -> list[float]:
        return [t for t, n, _ in self.events if n == name]

    def data(self, name: str) -> list[dict[str, Any]]:
        return [d for _, n, d in self.events if n == name]

    def prompt_text(self, turn: int) -> str:
        return "\n".join(str(m.get("content") or "") for m in self.model.requests[turn].messages)


@asynccontextmanager
async def desk(replies: list[Any], *, pace: float | None = None) -> AsyncIterator[Run]:
    model = ScriptedLLM.from_data(replies)
    interpreter, session = open_session(DESK, model, SessionOptions(speaker=TextSpeaker(pace=pace), started_at=START))
    r = Run(interpreter, session, model)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(interpreter.run)
        await trio.sleep(0)
        try:
            yield r
        finally:
            interpreter.stop()
            await session.aclose()


def test_a_tool_call_does_not_block_the_conversation() -> None:
    async def main() -> None:
        replies = [
            {"say": "Let me look that up.", "calls": [{"tool": "lookup", "args": {"query": "slow trains"}}]},
            {"say": "It is two o'clock."},
            {"say": "The trains are slow today."},
        ]
        async with desk(replies) as r:
            r.send("user.said", text="are the trains on time?")
            await trio.sleep(1)
            r.send("user.said", text="what time is it?")
            await trio.sleep(10)
            said = r.data("agent.said")
            assert [d["text"] for d in said] == ["Let me look that up.", "It is two o'clock.",
                                                 "The trains are slow today."]
            # the second answer came at 1 s, long before the 5 s tool finished
            answer_time = r.times("agent.said")[1]
            done_time = r.times("tool.lookup.done")[0]
            assert answer_time == pytest.approx(1.0) and done_time == pytest.approx(5.0)
            # the third turn was started by the result (when_idle) and its prompt holds it
            assert len(r.model.requests) == 3
            assert "facts about slow trains" in r.prompt_text(2)
            # while the tool ran, the second turn's prompt said so
            assert "still running" in r.prompt_text(1)
            kinds = [type(e).__name__ for e in r.session.ledger.entries]
            assert kinds == ["UserTurn", "ToolCall", "AgentTurn", "UserTurn", "AgentTurn", "ToolOutcome",
                             "AgentTurn"]

    run(main)


def test_results_finish_out_of_order_and_each_is_matched_to_its_call() -> None:
    async def main() -> None:
        replies = [{"calls": [{"tool": "quiet", "args": {"query": "slow a"}},
                              {"tool": "quiet", "args": {"query": "quick b"}}]}]
        async with desk(replies) as r:
            r.send("user.said", text="two things")
            await trio.sleep(6)
            outcomes = [e for e in r.session.ledger.entries if isinstance(e, ToolOutcome)]
            calls = {e.call_id: e for e in r.session.ledger.entries if isinstance(e, ToolCall)}
            assert [o.result["answer"] for o in outcomes] == ["facts about quick b", "facts about slow a"]
            for o in outcomes:
                assert o.result["answer"].endswith(calls[o.call_id].args["query"])
            assert len(r.model.requests) == 1  # silent results start no turn

    run(main)


def test_interrupt_delivery_preempts_the_turn_in_progress() -> None:
    async def main() -> None:
        replies = [
            {"calls": [{"tool": "urgent", "args": {"query": "quick news"}}]},
            {"say": "one two three four five six seven eight nine ten", "pace": "100ms"},
            {"say": "Breaking news."},
        ]
        async with desk(replies) as r:
            r.send("user.said", text="news?")
            await trio.sleep(0.1)
            r.send("user.said", text="tell me a long story")
            await trio.sleep(5)
            assert r.times("tool.urgent.done") == [pytest.approx(0.5)]
            cancelled = r.data("llm.cancelled")
            assert cancelled and "tool.urgent.done" in cancelled[-1]["reason"]
            said = [(d["text"], d["interrupted"]) for d in r.data("agent.said")]
            assert said[-1] == ("Breaking news.", False)
            story = [s for s in said if s[1]]
            assert story and "one two" in story[0][0] and "ten" not in story[0][0]

    run(main)


def test_when_idle_waits_for_the_agent_to_finish_speaking() -> None:
    async def main() -> None:
        replies = [
            {"calls": [{"tool": "lookup", "args": {"query": "quick fact"}}]},
            {"say": "a b c d e f g h i j", "pace": "100ms"},
            {"say": "Here is the fact."},
        ]
        async with desk(replies, pace=10) as r:
            r.send("user.said", text="fact please")
            await trio.sleep(0.2)
            r.send("user.said", text="talk to me")
            await trio.sleep(10)
            done = r.times("tool.lookup.done")[0]
            said = r.data("agent.said")
            assert [d["text"] for d in said] == ["a b c d e f g h i j", "Here is the fact."]
            # the result (0.7 s) was held until the talk ended (19 chars at 10 chars/s)
            assert done > 1.5
            assert r.times("agent.said")[0] <= done

    run(main)


def test_user_input_preempts_speech_and_the_ledger_keeps_only_delivered_words() -> None:
    async def main() -> None:
        replies = [{"say": "Once upon a time there was a very long story."}, {"say": "Sure."}]
        async with desk(replies, pace=10) as r:
            r.send("user.said", text="tell me a story")
            await trio.sleep(1.05)  # ten characters played: "Once upon "
            r.send("user.said", text="stop")
            await trio.sleep(2)
            turns = [e for e in r.session.ledger.entries if isinstance(e, AgentTurn)]
            assert (turns[0].text, turns[0].interrupted) == ("Once upon", True)
            assert (turns[1].text, turns[1].interrupted) == ("Sure.", False)
            assert [type(e).__name__ for e in r.session.ledger.entries][:3] == ["UserTurn", "AgentTurn", "UserTurn"]
            assert "[interrupted" in r.prompt_text(1) or "interrupted" in r.prompt_text(1)

    run(main)


def test_less_urgent_events_wait_for_the_turn_and_more_urgent_ones_preempt() -> None:
    async def main() -> None:
        replies = [{"say": "x " * 20, "pace": "100ms"}, {"say": "ok"}]
        async with desk(replies) as r:
            r.send("user.said", text="hello")
            await trio.sleep(0.5)
            r.send("go.back")  # a chart event (level 10): held while the agent has the floor
            await trio.sleep(0.1)
            assert r.interpreter.active("open") and r.times("go.back") == []
            await trio.sleep(3)
            assert r.times("go.back") and r.times("go.back")[0] >= r.times("agent.said")[0]
            assert r.interpreter.active("back")

    run(main)


def test_barge_in_cancels_calls_declared_cancel_on_interrupt_and_keeps_the_others() -> None:
    async def main() -> None:
        replies = [{"calls": [{"tool": "fragile", "args": {"query": "slow x"}},
                              {"tool": "lookup", "args": {"query": "slow y"}}]}]
        async with desk(replies) as r:
            r.send("user.said", text="go")
            await trio.sleep(1)
            r.send("user.speech.started")
            await trio.sleep(6)
            assert r.data("tool.fragile.cancelled")[0]["reason"] == "the user interrupted"
            assert r.times("tool.lookup.done") == [pytest.approx(5.0)]

    run(main)


def test_exiting_the_owning_state_cancels_the_models_calls() -> None:
    async def main() -> None:
        async with desk([{"calls": [{"tool": "lookup", "args": {"query": "slow z"}}]}]) as r:
            r.send("user.said", text="go")
            await trio.sleep(1)
            r.send("go.back")
            await trio.sleep(6)
            assert r.data("tool.lookup.cancelled")[0]["reason"] == "its state was exited"
            assert not r.times("tool.lookup.done")

    run(main)


def test_timeout_and_a_raising_handler_become_events_and_reach_the_ledger() -> None:
    async def main() -> None:
        replies = [{"calls": [{"tool": "hang", "args": {}}, {"tool": "boom", "args": {}}]}, {"say": "Sorry."}]
        async with desk(replies) as r:
            r.send("user.said", text="go")
            await trio.sleep(5)
            assert r.times("tool.hang.timeout") == [pytest.approx(3.0)]
            assert "the backend of boom is down" in r.data("tool.boom.error")[0]["error"]
            assert "the backend of boom is down" in r.prompt_text(1)

    run(main)


def test_the_model_cannot_call_what_the_active_states_do_not_allow() -> None:
    async def main() -> None:
        replies = [
            {"calls": [{"tool": "local", "args": {"query": "x"}}]},
            {"calls": [{"tool": "nosuch", "args": {}}]},
            {"calls": [{"tool": "lookup", "args": "{not json"}]},
            {"say": "I will ask differently."},
        ]
        async with desk(replies) as r:
            for text in ("a", "b", "c", "d"):
                r.send("user.said", text=text)
                await trio.sleep(1)
            errors = [d["error"] for d in r.data("llm.error")]
            assert "local is not available in the current state" in errors[0]
            assert "there is no tool named 'nosuch'" in errors[1]
            assert "not valid JSON" in errors[2]
            assert not r.times("tool.local.started")
            assert "local is not available" in r.prompt_text(1)  # the model reads why

    run(main)


def test_the_model_lists_and_cancels_running_calls() -> None:
    async def main() -> None:
        replies = [
            {"calls": [{"tool": "lookup", "args": {"query": "slow q"}}]},
            {"calls": [{"tool": "list_running_calls", "args": {}}, {"tool": "cancel_call", "args": {"call_id": "call1"}}]},
        ]
        async with desk(replies) as r:
            r.send("user.said", text="look")
            await trio.sleep(2)
            r.send("user.said", text="never mind")
            await trio.sleep(5)
            assert {"list_running_calls", "cancel_call"} <= {t["function"]["name"] for t in r.model.requests[1].tools}
            listed = [e for e in r.session.ledger.entries if isinstance(e, ToolOutcome) and e.tool == "list_running_calls"]
            assert listed[0].result == [{"call_id": "call1", "tool": "lookup", "args": {"query": "slow q"}, "age_s": 2.0}]
            assert r.data("tool.lookup.cancelled")[0]["reason"] == "cancelled by the model"

    run(main)


def test_model_failures_are_events_and_the_session_goes_on() -> None:
    async def main() -> None:
        replies = [{"say": "Half a", "error": {"kind": "server", "message": "upstream went away"}}, {"say": "Back."}]
        async with desk(replies) as r:
            r.send("user.said", text="a")
            await trio.sleep(1)
            r.send("user.said", text="b")
            await trio.sleep(1)
            assert "upstream went away" in r.data("llm.error")[0]["error"]
            assert r.data("agent.said")[-1]["text"] == "Back."
            assert r.interpreter.active("idle")

    run(main)


def test_prompts_show_the_time_and_state_prompts() -> None:
    async def main() -> None:
        async with desk([{"say": "hi"}]) as r:
            await trio.sleep(90)
            r.send("user.said", text="hello")
            await trio.sleep(1)
            text = r.prompt_text(0)
            assert "14:01:30" in text
            assert "Use the tools when you need facts." in text
            assert "You are a help desk." in text
            tools = {t["function"]["name"] for t in r.model.requests[0].tools}
            assert tools == {"lookup", "urgent", "quiet", "fragile", "hang", "boom"}

    run(main)


def test_a_user_turn_is_in_the_ledger_before_the_answer() -> None:
    async def main() -> None:
        async with desk([{"say": "Hello."}]) as r:
            r.send("user.said", text="hi")
            await trio.sleep(1)
            entries = r.session.ledger.entries
            assert isinstance(entries[0], UserTurn) and entries[0].text == "hi"
            assert isinstance(entries[1], AgentTurn) and entries[1].text == "Hello."

    run(main)



def test_a_time_stamp_the_model_copies_from_the_prompt_is_not_spoken() -> None:
    async def main() -> None:
        async with desk([{"say": "[14:00:01] Hello there."}, {"say": "Hi"}]) as r:
            r.send("user.said", text="hi")
            await trio.sleep(1)
            r.send("user.said", text="again")
            await trio.sleep(1)
            assert [d["text"] for d in r.data("agent.said")] == ["Hello there.", "Hi"]

    run(main)


def test_a_saved_session_resumes_with_its_conversation_clock_and_honest_call_records() -> None:
    async def main() -> None:
        replies = [{"say": "Looking.", "calls": [{"tool": "lookup", "args": {"query": "slow trains"}}]}]
        async with desk(replies) as r:
            r.send("user.said", text="trains?")
            await trio.sleep(2)
            saved = r.interpreter.save()
        model = ScriptedLLM.from_data(["You asked about trains."])
        definition = load_definition(DESK)
        session = AgentSession(definition.chart, model, tools=definition.tools, started_at=START)
        interpreter = Interpreter.resume(definition.chart, saved, handlers=[session])
        seen: list[str] = []
        interpreter.add_listener(lambda rec: rec.event is not None and seen.append(rec.event.name))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(interpreter.run)
            await trio.sleep(1)
            interpreter.send("user.said", {"text": "what did I ask?"})
            await trio.sleep(1)
            interpreter.stop()
        assert "tool.lookup.cancelled" in seen
        kinds = [type(e).__name__ for e in session.ledger.entries]
        assert kinds == ["UserTurn", "ToolCall", "AgentTurn", "ToolOutcome", "UserTurn", "AgentTurn"]
        assert session.ledger.entries[3].error.startswith("the session was saved and resumed")
        assert session.ledger.entries[4].time == pytest.approx(3.0)  # the clock went on from 2 s
        assert "[14:00:00] trains?" in "\n".join(str(m.get("content")) for m in model.requests[0].messages)

    run(main)
