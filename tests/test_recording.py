"""Recordings and replay in-process: every kind of outcome replays to the same steps and ledger;
user scripts and the latency summary."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import trio
import trio.testing

from counterpoint.engine.agent.driver import DriverOptions, SessionDriver, play_script
from counterpoint.engine.agent.loading import load_definition
from counterpoint.engine.agent.replay import replay
from counterpoint.engine.agent.script import ScriptFileError, ScriptLine, parse_script
from counterpoint.engine.agent.summary import recorded_events, summarize
from counterpoint.engine.llm.scripted import ScriptedLLM
from counterpoint.engine.runtime.recording import read_recording

AGENTS = Path(__file__).resolve().parent / "agents_rt"
START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def record(tmp_path: Path, agent: str, replies: list[object], lines: list[ScriptLine]) -> Path:
    out = tmp_path / "s.jsonl"
    definition = load_definition(AGENTS / agent)

    async def main() -> None:
        driver = SessionDriver(definition, ScriptedLLM.from_data(replies),
                               DriverOptions(record=out, started_at=START, settle=2.0))
        await driver.run(lambda d: play_script(d, lines))

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return out


def said(text: str, after: float = 0.5) -> ScriptLine:
    return ScriptLine("after", after, text, 1)


def test_errors_timeouts_and_a_failed_model_turn_replay_exactly(tmp_path: Path) -> None:
    replies: list[object] = [
        {"say": "Looking.", "calls": [{"tool": "lookup", "args": {"query": "slow tides"}},
                                      {"tool": "boom", "args": {}}, {"tool": "hang", "args": {}}]},
        {"error": "server"},
        {"say": "Here is what I found."},
        {"say": "Anything else?"},
    ]
    out = record(tmp_path, "desk.agent.yaml", replies, [said("look it up"), said("and?", 1.0), said("thanks", 8.0)])
    recording = read_recording(out)
    names = [s["event"]["name"] for s in recording.steps if s["event"]]
    assert {"tool.boom.error", "tool.hang.timeout", "tool.lookup.done", "llm.error"} <= set(names)
    result = replay(recording)
    assert result.ok, (result.divergence, result.ledger_difference)
    assert result.steps == len(recording.steps)


def test_sub_agents_replay_from_their_recorded_outcome(tmp_path: Path) -> None:
    out = record(tmp_path, "office.agent.yaml", [{"say": "On it."}, {"say": "The tower is 300 m."}],
                 [said("spawn")])
    recording = read_recording(out)
    assert any(s["event"] and s["event"]["name"] == "agent.r1.done" for s in recording.steps)
    result = replay(recording)
    assert result.ok, (result.divergence, result.ledger_difference)


def test_a_changed_model_answer_count_is_a_divergence(tmp_path: Path) -> None:
    out = record(tmp_path, "desk.agent.yaml", [{"say": "Hello."}], [said("hi")])
    recording = read_recording(out)
    recording.entries = [e for e in recording.entries if not e["kind"].startswith("llm.")]
    result = replay(recording)
    assert result.divergence is not None
    assert "model turn 1" in result.divergence.now


def test_scripts() -> None:
    lines = parse_script("# caller\n\n+2.5s hello there\n@1m30s what time is it?\njust this\n", "u.txt")
    assert lines == [ScriptLine("after", 2.5, "hello there", 3), ScriptLine("at", 90.0, "what time is it?", 4),
                     ScriptLine("answered", 0.0, "just this", 5)]
    with pytest.raises(ScriptFileError, match=r"u.txt:1:3: nothing to say after '\+1s'"):
        parse_script("  +1s\n", "u.txt")
    with pytest.raises(ScriptFileError, match=r"u.txt:2:1: '@x' is not a time"):
        parse_script("hi\n@x hello\n", "u.txt")


def test_the_summary_of_a_recording_matches_the_live_one(tmp_path: Path) -> None:
    out = record(tmp_path, "desk.agent.yaml", [{"say": "One.", "delay": "300ms"}, {"say": "Two.", "delay": "100ms"}],
                 [said("first"), said("second", 5.0)])
    summary = summarize(recorded_events(read_recording(out).entries))
    assert summary.user_turns == 2 and summary.llm_turns == 2
    assert summary.first_token == pytest.approx([0.3, 0.1], abs=1e-3)
    assert "first token" in summary.format()
