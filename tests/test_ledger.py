"""The conversation ledger: order, running calls, invariants, JSON round trip, forks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def call(t: float, call_id: str, tool: str = "find_table", **args: Any) -> ToolCall:
    return ToolCall(t, call_id, tool, args, "booking")


def done(t: float, c: ToolCall, result: Any = "ok") -> ToolOutcome:
    return ToolOutcome(t, c.call_id, c.tool, "done", result, None, c.time)


def every_kind() -> list[Entry]:
    c1, c2, c3, c4 = call(1.0, "c1", cuisine="thai"), call(1.5, "c2", "weather"), call(2.0, "c3"), call(2.1, "c4")
    return [
        UserTurn(0.25, "I'd like thai food — pour quatre, s'il vous plaît"),
        c1,
        ToolCall(1.25 + 1e-9, "c0", "check_parking", {"area": {"near": ["river", 3]}}, "booking.details", "chart"),
        c2,
        AgentTurn(1.75, "Looking."),
        ToolProgress(2.0, "c1", "asked 4 of 9", 0.44),
        c3,
        c4,
        ToolProgress(2.2, "c1", "asked 5 of 9"),
        done(3.0, c2, {"forecast": "rain", "mm": 1.5, "hourly": [None, True, 0.1 + 0.2]}),
        ToolOutcome(3.1, "c3", "find_table", "error", None, "no table free", 2.0),
        ToolOutcome(3.2, "c4", "find_table", "timeout", None, None, 2.1),
        AgentTurn(4.0, "It will rain, and I", interrupted=True),
        SubAgentOutcome(5.0, "a1", "done", ["a", "b"], None, 4.5),
        SubAgentOutcome(5.0, "a2", "cancelled", None, "parent state exited", 4.6),
        Note(6.0, "the user is a regular"),
        TimerFired(7.0, "waiting", "waiting.after.30s"),
        ToolOutcome(8.0, "c1", "find_table", "cancelled", None, None, 1.0),
    ]


def test_entries_keep_the_order_they_were_appended_in() -> None:
    entries = every_kind()
    ledger = Ledger()
    for entry in entries:
        ledger.append(entry)
    assert list(ledger.entries) == entries
    assert len(ledger) == len(ledger.entries) == len(entries)
    assert ledger.entries[0] is entries[0] and ledger.entries[-1] is entries[-1]
    assert list(ledger.entries[2:4]) == entries[2:4]
    assert list(Ledger(entries).entries) == entries


def test_entries_are_a_read_only_live_view() -> None:
    ledger = Ledger([UserTurn(0.0, "hi")])
    view = ledger.entries
    assert not hasattr(view, "append")
    with pytest.raises(TypeError):
        view[0] = UserTurn(0.0, "changed")  # type: ignore[index]
    ledger.append(AgentTurn(1.0, "hello"))
    assert len(view) == 2 and view[1] == AgentTurn(1.0, "hello")


def test_entries_are_immutable() -> None:
    entry = UserTurn(0.0, "hi")
    with pytest.raises(AttributeError):
        entry.text = "changed"  # type: ignore[misc]


def test_running_calls_with_outcomes_out_of_order() -> None:
    ledger = Ledger()
    c1, c2, c3 = call(1.0, "c1"), call(2.0, "c2", "weather"), call(3.0, "c3")
    for c in (c1, c2, c3):
        ledger.append(c)
    assert ledger.running_calls() == (c1, c2, c3)
    ledger.append(ToolProgress(3.5, "c1", "halfway", 0.5))
    ledger.append(done(4.0, c3))
    assert ledger.running_calls() == (c1, c2)
    ledger.append(ToolOutcome(5.0, "c2", "weather", "error", None, "service down", 2.0))
    assert ledger.running_calls() == (c1,)
    assert ledger.outcome("c3") == done(4.0, c3) and ledger.outcome("c1") is None
    ledger.append(done(6.0, c1))
    assert ledger.running_calls() == ()
    assert [ledger.call(i) for i in ("c1", "c2", "c3")] == [c1, c2, c3]
    assert ledger.call("nope") is None and ledger.outcome("nope") is None


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([UserTurn(2.0, "a"), UserTurn(1.0, "b")], "times must not go backwards"),
        ([call(1.0, "c1"), call(2.0, "c1")], "call id 'c1' is already in the ledger"),
        ([ToolOutcome(1.0, "c9", "find_table", "done", 1, None, 0.0)], "'c9', which was never started"),
        ([call(1.0, "c1"), done(2.0, call(1.0, "c1")), done(3.0, call(1.0, "c1"))], "'c1', which has already ended"),
        ([call(1.0, "c1"), done(2.0, call(1.0, "c1")), ToolProgress(3.0, "c1", "late")], "has already ended"),
        (["not an entry"], "not a ledger entry"),
    ],
)
def test_broken_invariants_are_refused_with_the_reason(entries: list[Any], message: str) -> None:
    ledger = Ledger()
    with pytest.raises(ValueError, match=message):
        for entry in entries:
            ledger.append(entry)
    assert len(ledger) == len(entries) - 1  # the offending entry was not recorded


def test_bad_status_or_origin_is_refused() -> None:
    with pytest.raises(ValueError, match="status must be one of done, error, timeout, cancelled, not 'ok'"):
        ToolOutcome(1.0, "c1", "t", "ok", None, None, 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status must be one of"):
        SubAgentOutcome(1.0, "a1", "finished", None, None, 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="origin must be one of model, chart, not 'user'"):
        ToolCall(1.0, "c1", "t", {}, "s", "user")  # type: ignore[arg-type]


def test_json_round_trip_is_exact() -> None:
    ledger = Ledger(every_kind())
    raw = json.loads(json.dumps(ledger.to_json()))
    back = Ledger.from_json(raw)
    assert list(back.entries) == list(ledger.entries)
    assert [type(e) for e in back.entries] == [type(e) for e in ledger.entries]
    assert back.running_calls() == ledger.running_calls()
    assert back.to_json() == ledger.to_json()
    assert back.entries[9].result["hourly"][2] == 0.1 + 0.2  # type: ignore[union-attr]


def test_running_calls_survive_the_round_trip() -> None:
    ledger = Ledger([call(1.0, "c1"), call(2.0, "c2"), done(3.0, call(1.0, "c1"))])
    back = Ledger.from_json(json.loads(json.dumps(ledger.to_json())))
    assert back.running_calls() == (call(2.0, "c2"),)
    back.append(done(4.0, call(2.0, "c2")))  # and it can go on
    assert back.running_calls() == ()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"entries": []}, "unknown ledger format None"),
        ({"format": 1}, "malformed ledger: 'entries'"),
        ({"format": 1, "entries": [{"type": "shout", "time": 0}]}, "entry 0: unknown type 'shout'"),
        ({"format": 1, "entries": [{"type": "user", "time": 0}]}, r"entry 0 \(user\): .*text"),
        ({"format": 1, "entries": [{"type": "user", "time": 0, "text": "a", "loud": 1}]}, "unknown fields loud"),
        ({"format": 1, "entries": [{"type": "tool_outcome", "time": 0, "call_id": "c1", "tool": "t",
                                    "status": "done", "result": 1, "error": None, "started": 0}]}, "never started"),
        ({"format": 1, "entries": ["user"]}, "malformed ledger"),
    ],
)
def test_malformed_json_says_what_is_wrong(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Ledger.from_json(raw)


def test_fork_shares_the_history_and_then_goes_its_own_way() -> None:
    parent = Ledger([UserTurn(0.0, "find me a table"), call(1.0, "c1"), call(2.0, "c2")])
    child = parent.fork()
    assert list(child.entries) == list(parent.entries)
    assert all(a is b for a, b in zip(child.entries, parent.entries, strict=True))  # shared, not copied
    assert child.running_calls() == parent.running_calls()

    child.append(done(3.0, call(1.0, "c1")))
    child.append(Note(3.5, "forked work"))
    parent.append(ToolOutcome(4.0, "c2", "find_table", "error", None, "boom", 2.0))

    assert len(parent) == 4 and len(child) == 5
    assert parent.running_calls() == (call(1.0, "c1"),)
    assert child.running_calls() == (call(2.0, "c2"),)
    assert parent.outcome("c1") is None and child.outcome("c2") is None
    child.append(call(5.0, "c3"))
    assert parent.call("c3") is None
    assert Note(3.5, "forked work") not in list(parent.entries)


# --------------------------------------------------------------------------- a model-based check

#: (kind, n): start call n, report progress of the n-th running call, end the n-th running call
OPS = st.lists(st.tuples(st.sampled_from(["start", "progress", "end", "say"]), st.integers(0, 5)), max_size=60)


@given(OPS)
def test_running_calls_match_a_naive_model(ops: list[tuple[str, int]]) -> None:
    ledger = Ledger()
    naive: list[ToolCall] = []  # started, not ended, in start order
    started = 0
    for t, (kind, n) in enumerate(ops):
        if kind == "start":
            c = call(float(t), f"c{started}")
            started += 1
            ledger.append(c)
            naive.append(c)
        elif kind == "say":
            ledger.append(UserTurn(float(t), "hi"))
        elif naive:
            c = naive[n % len(naive)]
            if kind == "progress":
                ledger.append(ToolProgress(float(t), c.call_id, "working"))
            else:
                ledger.append(done(float(t), c))
                naive.remove(c)
        assert ledger.running_calls() == tuple(naive)
    back = Ledger.from_json(json.loads(json.dumps(ledger.to_json())))
    assert list(back.entries) == list(ledger.entries) and back.running_calls() == tuple(naive)
