"""Sub-agents under a virtual clock: spawn (fresh context), fork (a copy of the ledger), limits."""

from __future__ import annotations

from pathlib import Path

import trio

from counterpoint.engine.agent.loading import SessionOptions, open_session
from counterpoint.engine.agent.session import SessionLimits
from counterpoint.engine.llm.scripted import ScriptedLLM
from counterpoint.engine.testing.harness import run

OFFICE = Path(__file__).parent / "agents_rt" / "office.agent.yaml"


def _events(interpreter) -> list[tuple[str, dict]]:
    seen: list[tuple[str, dict]] = []
    interpreter.add_listener(lambda rec: rec.event is not None and seen.append((rec.event.name, dict(rec.event.data))))
    return seen


def _texts(request) -> str:
    return "\n".join(str(m.get("content") or "") for m in request.messages)


def test_spawn_runs_a_child_with_a_fresh_context_and_its_result_comes_back_as_an_event() -> None:
    async def main() -> None:
        model = ScriptedLLM.from_data(["Hi there.", "The tower is 300 m.", "The tower is 300 m."])
        interpreter, session = open_session(OFFICE, model)
        seen = _events(interpreter)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(interpreter.run)
            interpreter.send("user.said", {"text": "hello"})
            await trio.sleep(1)
            interpreter.send("user.said", {"text": "spawn"})
            await trio.sleep(1)
            interpreter.stop()
        assert ("agent.r1.done", {"result": "The tower is 300 m."}) in seen
        assert interpreter.variables["answer"] == "The tower is 300 m."
        child = [r for r in model.requests if "How tall is the tower?" in _texts(r)]
        assert len(child) == 1 and "Hi there." not in _texts(child[0])  # a fresh context
        assert "You research one question" in _texts(child[0])
        outcome = session.ledger.entries[-1]
        assert type(outcome).__name__ == "SubAgentOutcome" or any(
            type(e).__name__ == "SubAgentOutcome" for e in session.ledger.entries)

    run(main)


def test_fork_gives_the_child_a_copy_of_the_conversation() -> None:
    async def main() -> None:
        model = ScriptedLLM.from_data(["Hi there.", "We said hello.", "We said hello."])
        interpreter, session = open_session(OFFICE, model)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(interpreter.run)
            interpreter.send("user.said", {"text": "hello"})
            await trio.sleep(1)
            interpreter.send("user.said", {"text": "fork"})
            await trio.sleep(1)
            interpreter.stop()
        child = [r for r in model.requests if "Summarise our talk." in _texts(r)]
        assert len(child) == 1 and "Hi there." in _texts(child[0])
        assert interpreter.variables["answer"] == "We said hello."
        # the child's turns did not reach the parent's ledger
        assert not any("Summarise our talk." in str(e) for e in session.ledger.entries)

    run(main)


def test_a_definition_that_spawns_itself_forever_ends_in_an_error_event() -> None:
    async def main() -> None:
        model = ScriptedLLM.from_data([])
        interpreter, _ = open_session(OFFICE, model, SessionOptions(limits=SessionLimits(max_depth=3)))
        seen = _events(interpreter)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(interpreter.run)
            interpreter.send("user.said", {"text": "loop"})
            await trio.sleep(1)
            interpreter.stop()
        done = [d for n, d in seen if n == "agent.l1.done"]
        assert done and "nest at most 3 deep" in str(done[0]["result"])

    run(main)


def test_the_data_of_a_sub_agents_final_state_is_its_result() -> None:
    async def main() -> None:
        interpreter, _ = open_session(Path(__file__).parent / "agents_rt" / "boss.agent", ScriptedLLM.from_data([]))
        seen = _events(interpreter)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(interpreter.run)
            await trio.sleep(1)
            interpreter.stop()
        result = {"words": 3, "said": "three little words"}
        assert ("agent.t1.done", {"result": result}) in seen
        assert interpreter.variables["answer"] == result

    run(main)
