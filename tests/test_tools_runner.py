"""The tool runner under a virtual clock: every call gives started, then exactly one outcome."""

from __future__ import annotations

import math
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import trio
import trio.testing

from counterpoint.dsl.model import TOOL_EVENTS, Param, Tool
from counterpoint.engine.tools import BoundTool, ToolRunner, bind_tool
from counterpoint.engine.tools import runner as runner_module

HANDLERS = '''
import threading
import time

import trio

from counterpoint.engine.tools import ToolContext

CALLS = []
ENTERED = threading.Event()
SAW_CANCEL = threading.Event()
RELEASE = threading.Event()
STOPPED = []


async def nap(seconds, tag):
    await trio.sleep(seconds)
    return {"tag": tag, "slept": seconds}


def add(a, b):
    CALLS.append((a, b))
    return a + b


async def fail(message):
    raise ValueError(message)


def fail_sync(message):
    raise KeyError(message)


def exits():
    raise SystemExit(3)


async def group():
    async with trio.open_nursery() as nursery:
        async def boom():
            raise RuntimeError("inside a nursery")
        nursery.start_soon(boom)


def a_set():
    return {1, 2}


async def not_a_number():
    return float("nan")


async def hang():
    try:
        await trio.sleep_forever()
    finally:
        STOPPED.append("hang")


def wait_for_cancel(ctx):
    ENTERED.set()
    if ctx.cancelled.wait(10):
        SAW_CANCEL.set()
    return "late"


def stubborn():
    RELEASE.wait(10)
    return "too late"


async def steps(n, ctx):
    for i in range(n):
        ctx.progress(f"step {i + 1}", (i + 1) / n)
        await trio.sleep(1)
    return n


def steps_sync(n, context: ToolContext):
    for i in range(n):
        context.progress(fraction=(i + 1) / n)
    return n


async def bad_progress(ctx):
    ctx.progress("too far", 1.5)


def wrapped():
    return nap(2, "wrapped")
'''


class Recorder:
    """The emit callback: every event with the virtual time it was emitted at."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str, dict[str, Any]]] = []

    def __call__(self, name: str, data: dict[str, Any]) -> None:
        self.events.append((trio.current_time(), name, data))

    def names(self) -> list[str]:
        return [name for _, name, _ in self.events]

    def of(self, call_id: str) -> list[tuple[float, str, dict[str, Any]]]:
        return [e for e in self.events if e[2]["call_id"] == call_id]

    def outcome(self, call_id: str) -> tuple[float, str, dict[str, Any]]:
        """The one event after ``started`` (progress aside): a call has exactly one outcome."""
        (last,) = [e for e in self.of(call_id) if not e[1].endswith((".started", ".progress"))]
        return last


TOOLS: list[tuple[str, str, tuple[Param, ...], float | None]] = [
    ("nap", "nap", (Param("seconds", "number"), Param("tag")), None),
    ("add", "add", (Param("a", "integer"), Param("b", "integer")), None),
    ("fail", "fail", (Param("message"),), None),
    ("fail_sync", "fail_sync", (Param("message"),), None),
    ("exits", "exits", (), None),
    ("group", "group", (), None),
    ("a_set", "a_set", (), None),
    ("not_a_number", "not_a_number", (), None),
    ("hang", "hang", (), 5.0),
    ("wait_for_cancel", "wait_for_cancel", (), None),
    ("stubborn", "stubborn", (), 3.0),
    ("steps", "steps", (Param("n", "integer"),), None),
    ("steps_sync", "steps_sync", (Param("n", "integer"),), None),
    ("bad_progress", "bad_progress", (), None),
    ("wrapped", "wrapped", (), None),
    ("slow", "nap", (Param("seconds", "number"), Param("tag")), 2.0),
]


@pytest.fixture
def bound(tmp_path: Path) -> dict[str, BoundTool]:
    (tmp_path / "runner_tools.py").write_text(textwrap.dedent(HANDLERS), encoding="utf-8")
    return {name: bind_tool(Tool(name, f"runner_tools:{fn}", params, timeout=timeout), tmp_path)
            for name, fn, params, timeout in TOOLS}


def module_of(bound: dict[str, BoundTool]) -> ModuleType:
    return sys.modules[bound["add"].handler.__module__]


def run(body: Callable[[trio.Nursery], Awaitable[None]]) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await body(nursery)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def start(runner: ToolRunner, nursery: trio.Nursery, call_id: str, tool: str, state: str | None = "chat",
          **args: Any) -> Any:
    return runner.start(nursery, call_id=call_id, tool=tool, args=args, state=state, origin="model")


# --------------------------------------------------------------------------- outcomes


def test_async_and_sync_handlers(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec)
        call = start(runner, nursery, "n1", "nap", seconds=1.5, tag="x")
        assert call is not None and call.started == 0.0 and call.origin == "model"
        start(runner, nursery, "a1", "add", a=2, b=3)
        assert rec.names() == ["tool.nap.started", "tool.add.started"]  # emitted before start returned
        assert [c.call_id for c in runner.running()] == ["n1", "a1"]

    run(body)
    assert rec.events[0][2] == {"call_id": "n1", "args": {"seconds": 1.5, "tag": "x"}, "state": "chat",
                                "origin": "model"}
    # a sync handler takes no virtual time: the clock stands still while its thread runs
    assert rec.outcome("a1") == (0.0, "tool.add.done",
                                 {"call_id": "a1", "result": 5, "started": 0.0, "ended": 0.0, "elapsed": 0.0})
    assert rec.outcome("n1") == (1.5, "tool.nap.done", {"call_id": "n1", "result": {"tag": "x", "slept": 1.5},
                                                         "started": 0.0, "ended": 1.5, "elapsed": 1.5})


def test_concurrent_calls_finish_out_of_order(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec)
        for call_id, seconds in (("c1", 3), ("c2", 1), ("c3", 2)):
            start(runner, nursery, call_id, "nap", seconds=seconds, tag=call_id)
        await trio.sleep(1.5)
        assert [c.call_id for c in runner.running()] == ["c1", "c3"]
        assert runner.get("c2") is None and runner.get("c1") is not None

    run(body)
    done = [(t, d["call_id"], d["result"]["tag"]) for t, name, d in rec.events if name == "tool.nap.done"]
    assert done == [(1.0, "c2", "c2"), (2.0, "c3", "c3"), (3.0, "c1", "c1")]


@pytest.mark.parametrize(("tool", "error"), [
    ("fail", "ValueError: no table"),
    ("fail_sync", "KeyError: 'no table'"),
])
def test_raising_handler_is_an_error_event(bound: dict[str, BoundTool], tool: str, error: str) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec)
        start(runner, nursery, "e1", tool, message="no table")
        await trio.sleep(1)
        start(runner, nursery, "ok", "add", a=1, b=1)  # the runner goes on

    run(body)
    _, name, data = rec.outcome("e1")
    assert name == f"tool.{tool}.error" and data["error"] == error
    assert rec.outcome("ok")[1] == "tool.add.done"


def test_base_exceptions_and_groups_from_handlers_do_not_escape(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec)
        start(runner, nursery, "x1", "exits")
        start(runner, nursery, "g1", "group")

    run(body)
    assert rec.outcome("x1")[2]["error"] == "SystemExit: 3"
    assert rec.outcome("g1")[2]["error"] == "RuntimeError: inside a nursery"


@pytest.mark.parametrize(("tool", "detail"), [
    ("a_set", "Object of type set is not JSON serializable"),
    ("not_a_number", "Out of range float values are not JSON compliant"),
])
def test_unserialisable_result(bound: dict[str, BoundTool], tool: str, detail: str) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        start(ToolRunner(bound, rec), nursery, "u1", tool)

    run(body)
    _, name, data = rec.outcome("u1")
    assert name == f"tool.{tool}.error"
    assert "cannot be serialised to JSON" in data["error"] and detail in data["error"]
    assert data["error"].startswith(("TypeError: ", "ValueError: "))


def test_a_sync_function_returning_a_coroutine_is_an_error(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        start(ToolRunner(bound, rec), nursery, "w1", "wrapped")

    run(body)
    _, name, data = rec.outcome("w1")
    assert name == "tool.wrapped.error" and data["error"].startswith("TypeError: ")
    assert "appears to be asynchronous" in data["error"]


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("tool", "args", "error"), [
    ("add", {"a": 1}, "invalid arguments for add: missing required argument 'b' (parameters: a, b)"),
    ("add", {"a": 1, "b": "2"}, "invalid arguments for add: argument 'b': '2' is not of type 'integer'"),
    ("add", {"a": 1, "b": 2, "c": 3}, "invalid arguments for add: unexpected argument 'c'"),
    ("add", {"a": 1, "b": {3}}, "argument 'b' is not JSON data (Object of type set is not JSON serializable)"),
    ("add", [1, 2], "arguments must be an object of name: value, got list"),
    ("ad", {}, "unknown tool 'ad' (tools: a_set, add, "),
])
def test_refused_before_the_handler_runs(bound: dict[str, BoundTool], tool: str, args: Any, error: str) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec)
        assert runner.start(nursery, call_id="r1", tool=tool, args=args, state=None, origin="chart") is None
        assert rec.names() == [f"tool.{tool}.started", f"tool.{tool}.error"]  # both at once
        assert runner.running() == []

    run(body)
    assert error in rec.outcome("r1")[2]["error"]
    assert module_of(bound).CALLS == []


def test_unknown_tool_suggests(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        start(ToolRunner(bound, rec), nursery, "r1", "nap_")

    run(body)
    assert rec.outcome("r1")[2]["error"].endswith("; did you mean 'nap'?")


def test_duplicate_running_call_id(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec)
        start(runner, nursery, "t1", "nap", seconds=1, tag="first")
        assert start(runner, nursery, "t1", "nap", seconds=1, tag="second") is None
        await trio.sleep(2)
        assert start(runner, nursery, "t1", "nap", seconds=1, tag="third") is not None  # free again

    run(body)
    outcomes = [(name, d.get("error") or d["result"]["tag"]) for _, name, d in rec.events
                if not name.endswith(".started")]
    assert outcomes == [
        ("tool.nap.error", "a call with id 't1' is already running; give each call its own id"),
        ("tool.nap.done", "first"),
        ("tool.nap.done", "third"),
    ]


def test_concurrency_limit(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec, max_concurrent=2)
        start(runner, nursery, "c1", "nap", seconds=1, tag="a")
        start(runner, nursery, "c2", "nap", seconds=2, tag="b")
        assert start(runner, nursery, "c3", "nap", seconds=1, tag="c") is None
        await trio.sleep(1.5)  # c1 has ended
        assert start(runner, nursery, "c4", "nap", seconds=1, tag="d") is not None

    run(body)
    time, name, data = rec.outcome("c3")
    assert (time, name) == (0.0, "tool.nap.error")
    assert "too many tool calls running at once (limit 2)" in data["error"]
    assert "max_concurrent" in data["error"]
    assert rec.outcome("c4")[:2] == (2.5, "tool.nap.done")
    with pytest.raises(ValueError, match="at least 1"):
        ToolRunner(bound, rec, max_concurrent=0)


# --------------------------------------------------------------------------- lifetimes


def test_timeout_cancels_the_handler(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec)
        start(runner, nursery, "h1", "hang")
        start(runner, nursery, "s1", "slow", seconds=10, tag="x")
        start(runner, nursery, "s2", "slow", seconds=1, tag="y")

    run(body)  # returns: the hanging handler did not keep the nursery open
    assert rec.outcome("h1") == (5.0, "tool.hang.timeout",
                                 {"call_id": "h1", "timeout": 5.0, "started": 0.0, "ended": 5.0, "elapsed": 5.0})
    assert rec.outcome("s1")[:2] == (2.0, "tool.slow.timeout")
    assert rec.outcome("s2")[:2] == (1.0, "tool.slow.done")
    assert module_of(bound).STOPPED == ["hang"]


def test_cancel_by_id_and_by_tool_name(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec)
        for call_id in ("n1", "n2", "n3"):
            start(runner, nursery, call_id, "nap", seconds=5, tag=call_id)
        start(runner, nursery, "h1", "hang")
        await trio.sleep(1)
        assert runner.cancel("n2", "the user changed their mind") == ["n2"]
        assert rec.names()[-1] == "tool.nap.cancelled"  # reported before cancel returned
        assert runner.cancel("nap", "barge-in") == ["n1", "n3"]
        assert runner.cancel("nap", "again") == [] and runner.cancel("n1", "again") == []
        assert [c.call_id for c in runner.running()] == ["h1"]
        assert runner.cancel_all("session closed") == ["h1"]

    run(body)
    assert rec.outcome("n2") == (1.0, "tool.nap.cancelled", {"call_id": "n2", "reason": "the user changed their mind",
                                                             "started": 0.0, "ended": 1.0, "elapsed": 1.0})
    assert rec.outcome("n1")[2]["reason"] == rec.outcome("n3")[2]["reason"] == "barge-in"
    assert rec.outcome("h1")[1:] == ("tool.hang.cancelled", {"call_id": "h1", "reason": "session closed",
                                                             "started": 0.0, "ended": 1.0, "elapsed": 1.0})
    assert module_of(bound).STOPPED == ["hang"]
    assert not any(name == "tool.nap.done" for name in rec.names())  # nothing after the cancellation


def test_cancel_if(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec)
        start(runner, nursery, "a", "nap", state="search", seconds=2, tag="a")
        start(runner, nursery, "b", "nap", state="chat", seconds=2, tag="b")
        start(runner, nursery, "c", "hang", state="search")
        exited = {"search"}
        assert runner.cancel_if(lambda call: call.state in exited, "state search exited") == ["a", "c"]

    run(body)
    assert rec.outcome("a")[1] == "tool.nap.cancelled" and rec.outcome("c")[1] == "tool.hang.cancelled"
    assert rec.outcome("b")[:2] == (2.0, "tool.nap.done")


def test_cancelling_a_sync_handler_sets_its_flag(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()
    handlers = module_of(bound)

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec)
        start(runner, nursery, "w1", "wait_for_cancel")
        await trio.to_thread.run_sync(handlers.ENTERED.wait)  # the handler's thread is running
        assert runner.cancel("w1", "not needed") == ["w1"]
        assert await trio.to_thread.run_sync(handlers.SAW_CANCEL.wait, 10)

    run(body)
    assert [name for _, name, _ in rec.of("w1")] == ["tool.wait_for_cancel.started", "tool.wait_for_cancel.cancelled"]


def test_a_sync_handler_that_ignores_cancellation_is_abandoned(
    bound: dict[str, BoundTool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "HOLD_SECONDS", 0.05)  # real time the virtual clock waits for a thread
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        start(ToolRunner(bound, rec), nursery, "s1", "stubborn")

    run(body)
    module_of(bound).RELEASE.set()  # let the abandoned thread end; its result is discarded
    assert rec.outcome("s1")[:2] == (3.0, "tool.stubborn.timeout")


def test_closing_the_nursery_stops_calls_without_events(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()
    runner = ToolRunner(bound, rec)

    async def body(nursery: trio.Nursery) -> None:
        start(runner, nursery, "h1", "hang")
        await trio.sleep(1)
        nursery.cancel_scope.cancel()

    run(body)
    assert rec.names() == ["tool.hang.started"] and runner.running() == []


# --------------------------------------------------------------------------- progress


def test_progress_through_the_context(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec)
        start(runner, nursery, "p1", "steps", n=2)
        start(runner, nursery, "p2", "steps_sync", n=4)

    run(body)
    assert [(t, name, d.get("message"), d.get("progress")) for t, name, d in rec.of("p1")] == [
        (0.0, "tool.steps.started", None, None),
        (0.0, "tool.steps.progress", "step 1", 0.5),
        (1.0, "tool.steps.progress", "step 2", 1.0),
        (2.0, "tool.steps.done", None, None),
    ]
    # from a worker thread: delivered in the trio thread, in order, before the outcome
    assert [(name, d.get("progress")) for _, name, d in rec.of("p2")] == [
        ("tool.steps_sync.started", None),
        *[("tool.steps_sync.progress", f) for f in (0.25, 0.5, 0.75, 1.0)],
        ("tool.steps_sync.done", None),
    ]
    assert rec.of("p2")[1][2] == {"call_id": "p2", "message": None, "progress": 0.25}


def test_bad_progress_is_the_handlers_error(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        start(ToolRunner(bound, rec), nursery, "b1", "bad_progress")

    run(body)
    assert rec.outcome("b1")[2]["error"] == "ValueError: progress fraction must be a number from 0 to 1, got 1.5"


def test_no_progress_after_the_call_ended(bound: dict[str, BoundTool]) -> None:
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec)
        start(runner, nursery, "p1", "steps", n=3)
        await trio.sleep(0.5)
        runner.cancel("p1", "enough")

    run(body)
    assert [name.split(".")[-1] for _, name, _ in rec.of("p1")] == ["started", "progress", "cancelled"]


def test_concierge_tools_run(tmp_path: Path) -> None:
    folder = Path(__file__).resolve().parent.parent / "agents" / "concierge"
    params = (Param("cuisine"), Param("time"), Param("party", "integer"))
    tools = {
        "find_table": bind_tool(Tool("find_table", "concierge_tools:find_table", params), folder),
        "book_table": bind_tool(Tool("book_table", "concierge_tools:book_table",
                                     (Param("restaurant"), Param("time"), Param("party", "integer"))), folder),
    }
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(tools, rec)
        start(runner, nursery, "f1", "find_table", cuisine="thai", time="19:00", party=2)
        start(runner, nursery, "b1", "book_table", restaurant="Nowhere", time="19:00", party=2)

    run(body)
    time, name, data = rec.outcome("f1")
    assert name == "tool.find_table.done" and math.isclose(time, 0.06)
    assert [r["restaurant"] for r in data["result"]] == ["Baan Suan", "Sukhothai"]
    assert rec.outcome("b1")[1:] == ("tool.book_table.error", {
        "call_id": "b1", "error": "ValueError: unknown restaurant 'Nowhere'", "started": 0.0, "ended": 0.0,
        "elapsed": 0.0})


def test_event_data_fields_are_the_documented_ones(bound: dict[str, BoundTool]) -> None:
    """Validation lets guards use exactly these fields (E107), so the runner must emit them."""
    rec = Recorder()

    async def body(nursery: trio.Nursery) -> None:
        runner = ToolRunner(bound, rec)
        start(runner, nursery, "p", "steps", n=1)
        start(runner, nursery, "e", "fail", message="x")
        start(runner, nursery, "t", "slow", seconds=9, tag="t")
        start(runner, nursery, "c", "hang")
        start(runner, nursery, "r", "add", a=1)
        runner.cancel("c", "test")

    run(body)
    kinds = {name.rsplit(".", 1)[1]: set(data) for _, name, data in rec.events}
    assert set(kinds) == set(TOOL_EVENTS)
    for kind, fields in kinds.items():
        assert fields == TOOL_EVENTS[kind], kind


def test_sync_handlers_under_the_real_clock(bound: dict[str, BoundTool]) -> None:
    """Outside a virtual clock the thread is awaited directly: results, errors and cancellation."""
    rec = Recorder()
    handlers = module_of(bound)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            runner = ToolRunner(bound, rec)
            start(runner, nursery, "a1", "add", a=20, b=22)
            start(runner, nursery, "f1", "fail_sync", message="nope")
            start(runner, nursery, "w1", "wait_for_cancel")
            await trio.to_thread.run_sync(handlers.ENTERED.wait)
            runner.cancel("w1", "done waiting")
            assert await trio.to_thread.run_sync(handlers.SAW_CANCEL.wait, 10)

    trio.run(main)
    assert rec.outcome("a1")[2]["result"] == 42
    assert rec.outcome("f1")[2]["error"] == "KeyError: 'nope'"
    assert rec.outcome("w1")[1] == "tool.wait_for_cancel.cancelled"
