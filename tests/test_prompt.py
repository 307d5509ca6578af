"""The time-aware prompt: golden renderings, the budget policy, the render cache, the docs' example.

Golden files live in ``tests/golden/prompts/``, one JSON file per case (the rendered messages,
tools and counts). A difference fails the test; after an intended change of the format, run

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_prompt.py

to rewrite them, review the diff, and update the example in ``docs/prompting.md``, which
``test_docs_example_is_what_the_renderer_prints`` checks against the renderer too.
"""

from __future__ import annotations

import json
import os
import random
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counterpoint.engine.agent import prompt as prompt_module
from counterpoint.engine.agent.ledger import (
    AgentTurn,
    Entry,
    Ledger,
    Note,
    SubAgentOutcome,
    TimerFired,
    ToolCall,
    ToolOutcome,
    ToolProgress,
    UserTurn,
)
from counterpoint.engine.agent.prompt import (
    PromptBudget,
    PromptContext,
    RenderedPrompt,
    format_duration,
    render_prompt,
)
from counterpoint.engine.bench.prompt import synthetic_session

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden" / "prompts"
DOC = ROOT / "docs" / "prompting.md"

#: 14:02:03 is session second 180
STARTED_AT = datetime(2026, 11, 30, 13, 59, 3, tzinfo=UTC)
FIND_TABLE = {
    "type": "function",
    "function": {
        "name": "find_table",
        "description": "Find a free table in a restaurant.",
        "parameters": {
            "type": "object",
            "properties": {"cuisine": {"type": "string"}, "time": {"type": "string"}, "party": {"type": "integer"}},
            "required": ["cuisine", "time", "party"],
        },
    },
}


def restaurant_session() -> tuple[Ledger, PromptContext]:
    """The session of the docs' example: a late result, an interrupted turn, a call still running."""
    ledger = Ledger([
        UserTurn(180.0, "I'd like thai food tonight, four people at eight."),
        ToolCall(181.0, "c1", "find_table", {"cuisine": "thai", "time": "20:00", "party": 4}, "booking"),
        AgentTurn(181.6, "Let me find a table for four at eight."),
        UserTurn(185.0, "Will it rain tonight?"),
        AgentTurn(186.0, "Light showers are likely after nine, so take an umbrella."),
        ToolProgress(187.5, "c1", "asked 4 of 9 restaurants", 0.44),
        AgentTurn(190.0, "While we wait: would you prefer", interrupted=True),
        UserTurn(191.0, "Somewhere near the river, please."),
        ToolCall(191.8, "c2", "check_parking", {"area": "riverside"}, "booking.details", "chart"),
        ToolOutcome(193.0, "c1", "find_table", "done", {"restaurant": "Baan Thai", "time": "20:15", "seats": 4},
                    None, 181.0),
    ])
    ctx = PromptContext(
        instructions="You are Tavola, a restaurant booking assistant. Be brief and friendly.",
        state_prompts=["You are booking a table.", "Ask for the details the tools need."],
        extra="Tell the user what you found.",
        now=195.0,
        started_at=STARTED_AT,
        tools=[FIND_TABLE],
    )
    return ledger, ctx


def every_kind_session() -> tuple[Ledger, PromptContext]:
    """Every entry kind and outcome status, in the session's own time zone (UTC+05:30)."""
    c = [ToolCall(10.0 + i, f"c{i}", "lookup", {"q": "x" * i}, "s") for i in range(4)]
    ledger = Ledger([
        UserTurn(0.0, "Start."),
        AgentTurn(0.5, "", interrupted=True),
        *c,
        ToolProgress(14.0, "c0", "", 1.0),
        ToolProgress(14.2, "c1", "no fraction known"),
        ToolOutcome(15.0, "c0", "lookup", "done", "plain text result", None, 10.0),
        ToolOutcome(16.25, "c1", "lookup", "error", None, "ValueError: bad query", 11.0),
        ToolOutcome(43.0, "c2", "lookup", "timeout", None, None, 12.0),
        ToolOutcome(3700.0, "c3", "lookup", "cancelled", {"partial": [1, 2]}, "cancelled by the model", 13.0),
        SubAgentOutcome(3701.0, "a1", "done", {"summary": "ok"}, None, 3600.0),
        SubAgentOutcome(3702.0, "a2", "error", None, "depth limit reached", 3701.9),
        Note(3703.0, "The user is a regular."),
        TimerFired(3733.0, "waiting", "waiting.after.30s"),
    ])
    ctx = PromptContext(now=3733.4, started_at=datetime(2026, 11, 30, 23, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))))
    return ledger, ctx


def long_session(results: int = 12) -> Ledger:
    """Turns with long tool results, each answered; the last user turn is recent."""
    ledger = Ledger()
    t = 0.0
    for n in range(results):
        ledger.append(UserTurn(t, f"Question {n}?"))
        ledger.append(ToolCall(t + 1, f"c{n}", "search", {"query": f"question {n}"}, "answering"))
        ledger.append(ToolOutcome(t + 4, f"c{n}", "search", "done", {"hits": [f"hit {n}.{k}" for k in range(30)]},
                                  None, t + 1))
        ledger.append(AgentTurn(t + 5, f"Answer {n}."))
        t += 10
    return ledger


def as_json(rendered: RenderedPrompt) -> dict[str, Any]:
    return {"dropped": rendered.dropped, "condensed": rendered.condensed,
            "estimated_tokens": rendered.estimated_tokens, "tools": rendered.tools, "messages": rendered.messages}


def check_golden(name: str, rendered: RenderedPrompt) -> None:
    text = json.dumps(as_json(rendered), indent=2, ensure_ascii=False) + "\n"
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1 to write it, then review it"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs (UPDATE_GOLDEN=1 rewrites it)"


def contents(rendered: RenderedPrompt) -> list[str]:
    return [m["content"] or "" for m in rendered.messages]


# --------------------------------------------------------------------------- golden renderings


def test_golden_restaurant_session() -> None:
    ledger, ctx = restaurant_session()
    rendered = render_prompt(ledger, ctx)
    check_golden("restaurant", rendered)
    system = rendered.messages[0]["content"]
    assert "Current time: 2026-11-30 14:02:18 UTC (session time 3 min 15 s)." in system
    assert ('- check_parking(area="riverside") call c2 started 3.2 s ago (at 14:02:14), still running'
            in system)
    assert "find_table(" not in system  # it has ended
    assert rendered.tools == [FIND_TABLE] and rendered.dropped == rendered.condensed == 0
    assert contents(rendered)[-1] == ('[14:02:16] Result of find_table call c1 (started 14:02:04, took 12 s): '
                                      '{"restaurant": "Baan Thai", "time": "20:15", "seats": 4}')


def test_golden_every_entry_kind() -> None:
    ledger, ctx = every_kind_session()
    check_golden("every_kind", render_prompt(ledger, ctx))


def test_golden_budget_condenses_then_drops() -> None:
    ledger = long_session()
    ctx = PromptContext(instructions="Answer questions.", now=125.0, started_at=STARTED_AT,
                        budget=PromptBudget(max_tokens=900, max_result_chars=60))
    rendered = render_prompt(ledger, ctx)
    check_golden("budget", rendered)
    assert rendered.dropped > 0 and rendered.condensed > 0
    assert rendered.estimated_tokens <= 900


def test_golden_the_last_user_turn_is_kept_whatever_follows() -> None:
    ledger = Ledger([UserTurn(0.0, "First question."), AgentTurn(1.0, "First answer."),
                     UserTurn(2.0, "Search everything, please.")])
    for n in range(6):
        c = ToolCall(3.0 + 2 * n, f"c{n}", "search", {"part": n}, "s")
        ledger.append(c)
        ledger.append(ToolOutcome(4.0 + 2 * n, c.call_id, "search", "done", "x" * 400, None, c.time))
    ctx = PromptContext(now=20.0, started_at=STARTED_AT, budget=PromptBudget(max_tokens=400, max_result_chars=100))
    rendered = render_prompt(ledger, ctx)
    check_golden("pinned_user_turn", rendered)
    texts = contents(rendered)
    assert texts[1] == "[2 earlier conversation entries left out here to fit the context]"
    assert texts[2] == "[13:59:05] Search everything, please."
    assert re.fullmatch(r"\[\d+ earlier conversation entries left out here to fit the context\]", texts[3])


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (0.04, "0 s"), (0.4, "0.4 s"), (3.25, "3.2 s"), (9.96, "10 s"), (12.4, "12 s"), (59.6, "1 min"),
     (192, "3 min 12 s"), (3599.6, "1 h"), (3900, "1 h 5 min"), (-2, "0 s")],
)
def test_durations_read_like_a_person_says_them(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_times_follow_the_session_time_zone_across_daylight_saving() -> None:
    try:
        paris = ZoneInfo("Europe/Paris")
    except ZoneInfoNotFoundError:
        pytest.skip("no time zone database on this machine")
    # 2026-03-29 02:00 in Paris is 03:00 (summer time starts)
    ledger = Ledger([UserTurn(0.0, "before"), UserTurn(7200.0, "after")])
    ctx = PromptContext(now=7200.0, started_at=datetime(2026, 3, 29, 1, 0, 0, tzinfo=paris))
    rendered = render_prompt(ledger, ctx)
    assert contents(rendered)[1:] == ["[01:00:00] before", "[04:00:00] after"]
    assert "Current time: 2026-03-29 04:00:00 CEST (session time 2 h)." in rendered.messages[0]["content"]


def test_a_naive_start_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        PromptContext(now=0.0, started_at=datetime(2026, 11, 30, 14, 0, 0))


def test_a_bad_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="max_tokens must be at least 1"):
        PromptBudget(max_tokens=0)


def test_every_tool_call_is_followed_at_once_by_its_tool_message() -> None:
    ledger, ctx = restaurant_session()
    check_pairing(render_prompt(ledger, ctx).messages)


def test_a_changed_start_time_is_not_served_from_the_cache() -> None:
    ledger, ctx = restaurant_session()
    first = contents(render_prompt(ledger, ctx))[1]
    later = PromptContext(now=ctx.now, started_at=ctx.started_at + timedelta(hours=1))
    assert first == "[14:02:03] I'd like thai food tonight, four people at eight."
    assert contents(render_prompt(ledger, later))[1] == "[15:02:03] I'd like thai food tonight, four people at eight."


def test_long_arguments_of_running_calls_are_shortened() -> None:
    ledger = Ledger([ToolCall(0.0, "c1", "search", {"query": "q" * 500, "page": 2}, "s")])
    system = render_prompt(ledger, PromptContext(now=1.0, started_at=STARTED_AT)).messages[0]["content"]
    (line,) = [x for x in system.splitlines() if "call c1" in x]
    assert line.startswith('- search(query="qqq') and ', …) call c1 started 1 s ago' in line
    assert len(line) < 200


# --------------------------------------------------------------------------- the budget policy


def test_condensing_comes_before_dropping() -> None:
    ledger = long_session(results=4)
    full = render_prompt(ledger, PromptContext(now=45.0, started_at=STARTED_AT))
    assert full.dropped == full.condensed == 0
    # a budget between the condensed and the full size: old results condense, nothing is dropped
    budget = PromptBudget(max_tokens=full.estimated_tokens - 100, max_result_chars=50)
    tight = render_prompt(ledger, PromptContext(now=45.0, started_at=STARTED_AT, budget=budget))
    assert tight.dropped == 0 and tight.condensed == 3  # the three results before the last user turn
    assert tight.estimated_tokens <= budget.max_tokens
    (recent,) = [t for t in contents(tight) if "Result of search call c3" in t]
    assert "condensed" not in recent  # the result after the last user turn stays in full
    (old,) = [t for t in contents(tight) if "Result of search call c0" in t]
    assert old.endswith("more characters left out]") and " … [condensed: " in old


def test_a_ledger_that_fits_is_shown_in_full() -> None:
    ledger = long_session(results=3)
    rendered = render_prompt(ledger, PromptContext(now=30.0, started_at=STARTED_AT))
    assert rendered.dropped == rendered.condensed == 0
    assert len(rendered.messages) == 1 + 3 * 5  # system; per question: user, call + ack, result, answer


SEEDS = st.integers(0, 2**32 - 1)


def random_ledger(seed: int, size: int) -> Ledger:
    rng = random.Random(seed)
    ledger = Ledger()
    running: list[ToolCall] = []
    t = 0.0
    for n in range(size):
        t += rng.choice((0.0, 0.5, 3.0, 40.0))
        kind = rng.random()
        if kind < 0.25:
            ledger.append(UserTurn(t, "u" * rng.randint(0, 300)))
        elif kind < 0.45:
            ledger.append(AgentTurn(t, "a" * rng.randint(0, 300), rng.random() < 0.3))
        elif kind < 0.65:
            c = ToolCall(t, f"c{n}", "tool", {"arg": "v" * rng.randint(0, 50)}, "s", rng.choice(("model", "chart")))
            ledger.append(c)
            running.append(c)
        elif kind < 0.9 and running:
            c = running.pop(rng.randrange(len(running)))
            if rng.random() < 0.3:
                ledger.append(ToolProgress(t, c.call_id, "p" * rng.randint(0, 900), rng.random()))
                running.append(c)
            else:
                status = rng.choice(("done", "error", "timeout", "cancelled"))
                ledger.append(ToolOutcome(t, c.call_id, c.tool, status, "r" * rng.randint(0, 2000),
                                          "e" * rng.randint(0, 200) or None, c.time))
        else:
            ledger.append(Note(t, "n" * rng.randint(0, 100)))
    return ledger


def check_pairing(messages: list[dict[str, Any]]) -> None:
    for k, message in enumerate(messages):
        if message.get("tool_calls"):
            ids = [c["id"] for c in message["tool_calls"]]
            follow = messages[k + 1:k + 1 + len(ids)]
            assert [(m["role"], m.get("tool_call_id")) for m in follow] == [("tool", i) for i in ids]
        if message["role"] == "tool":
            assert messages[k - 1].get("tool_calls"), f"tool message {k} does not follow its call"


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, size=st.integers(0, 80), max_tokens=st.integers(1, 6000), limit=st.integers(0, 500))
def test_system_message_running_calls_and_last_user_turn_survive_any_budget(
    seed: int, size: int, max_tokens: int, limit: int
) -> None:
    ledger = random_ledger(seed, size)
    now = ledger.entries[-1].time + 5 if len(ledger) else 1.0
    unlimited = render_prompt(ledger, PromptContext(now=now, started_at=STARTED_AT,
                                                    budget=PromptBudget(max_tokens=10**9)))
    budget = PromptBudget(max_tokens=max_tokens, max_result_chars=limit)
    rendered = render_prompt(ledger, PromptContext(now=now, started_at=STARTED_AT, budget=budget))

    assert rendered.messages[0] == unlimited.messages[0]  # system message, running calls included
    for call in ledger.running_calls():
        assert f"call {call.call_id} started" in rendered.messages[0]["content"]
    users = [e for e in ledger.entries if isinstance(e, UserTurn)]
    if users:
        stamp = (STARTED_AT + timedelta(seconds=users[-1].time)).strftime("%H:%M:%S")
        assert f"[{stamp}] {users[-1].text}" in contents(rendered)
    check_pairing(rendered.messages)

    omissions = [t for t in contents(rendered) if t.endswith("left out here to fit the context]")]
    left_out = sum(int(t[1:].split()[0]) for t in omissions)
    assert left_out == rendered.dropped
    shown = [m for m in rendered.messages[1:] if m["role"] != "tool" and m["content"] not in omissions]
    assert len(shown) + rendered.dropped == len(ledger)
    assert 0 <= rendered.condensed <= len(shown)
    if rendered.estimated_tokens > max_tokens:  # only when the parts that are never dropped do not fit
        pinned = 1 if users else 0
        assert len(shown) == pinned and rendered.condensed == 0
    if rendered.dropped == 0 and rendered.condensed == 0:
        assert rendered.messages == unlimited.messages


# --------------------------------------------------------------------------- cost over a long session


def test_rendering_reaches_back_only_as_far_as_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    rendered_entries: list[Entry] = []
    real = prompt_module._render_entry

    def counting(entry: Entry, *args: Any) -> Any:
        rendered_entries.append(entry)
        return real(entry, *args)

    monkeypatch.setattr(prompt_module, "_render_entry", counting)
    entries = synthetic_session(10_000)
    ledger = Ledger(entries[:-1])
    ctx = PromptContext(now=40_000.0, started_at=STARTED_AT)
    first = render_prompt(ledger, ctx)
    assert first.dropped > 9_000
    assert len(rendered_entries) < 10_000 - first.dropped + 10  # the kept entries and the first left out
    rendered_entries.clear()
    ledger.append(entries[-1])
    second = render_prompt(ledger, ctx)
    assert rendered_entries == [entries[-1]]  # everything else came from the cache
    assert second.messages[-1] is not first.messages[-1]


def test_a_fork_renders_like_its_parent() -> None:
    ledger, ctx = restaurant_session()
    parent = render_prompt(ledger, ctx)
    child = ledger.fork()
    assert render_prompt(child, ctx).messages == parent.messages
    child.append(UserTurn(196.0, "Only in the child."))
    assert render_prompt(ledger, ctx).messages == parent.messages


# --------------------------------------------------------------------------- the documentation


def doc_block(marker: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\n```(\w+)\n(.*?)\n```", text, re.S)
    assert match, f"docs/prompting.md has no fenced block after <!-- {marker} -->"
    return match.group(2)


def test_docs_example_ledger_is_the_restaurant_session() -> None:
    namespace: dict[str, Any] = {}
    exec(doc_block("example-ledger"), namespace)  # the docs' own code, shown to readers
    ledger, ctx = restaurant_session()
    assert list(namespace["ledger"].entries) == list(ledger.entries)
    assert namespace["ctx"] == ctx


def test_docs_example_is_what_the_renderer_prints() -> None:
    ledger, ctx = restaurant_session()
    shown = json.loads(doc_block("example-prompt"))
    assert shown == json.loads(json.dumps(render_prompt(ledger, ctx).messages)), (
        "the example in docs/prompting.md is out of date: paste the new rendering "
        "(tests/golden/prompts/restaurant.json, its messages)"
    )
