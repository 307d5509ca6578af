"""The trio interpreter: queue order, timers under MockClock, delayed sends, listeners, traces,
save/resume."""

from __future__ import annotations

import io
import json
import textwrap

import pytest
import trio
import trio.testing

from counterpoint.dsl import load_yaml
from counterpoint.engine import Event, compile_chart
from counterpoint.engine.core.effects import Speak, StartTimer
from counterpoint.engine.runtime import (
    EffectHandler,
    EventQueue,
    Interpreter,
    JsonlTrace,
    RecordingHandler,
    StepRecord,
    read_trace,
)
from counterpoint.engine.testing import run


def chart(text: str):
    agent, diags = load_yaml(textwrap.dedent(text), "t.agent.yaml")
    assert agent is not None and not [d for d in diags if d.is_error], diags
    return compile_chart(agent)


TIMERS = """
agent: timers
vars: {n: 0}
initial: a
states:
  a:
    after: {10s: b}
    every: {3s: {set: {n: n + 1}}}
    on: {go: b}
  b:
    on: {back: a}
"""


class Log:
    """A listener keeping the records, plus helpers to read them."""

    def __init__(self) -> None:
        self.records: list[StepRecord] = []

    def __call__(self, record: StepRecord) -> None:
        self.records.append(record)

    def events(self) -> list[tuple[float, str]]:
        return [(round(r.time, 9), r.event.name) for r in self.records if r.event is not None]


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


# --------------------------------------------------------------------------- the queue


def test_queue_orders_by_priority_then_time_then_seq():
    q = EventQueue()
    q.push(Event("late", priority=10, time=2.0, seq=1))
    q.push(Event("urgent", priority=0, time=5.0, seq=2))
    q.push(Event("b", priority=10, time=1.0, seq=4))
    q.push(Event("a", priority=10, time=1.0, seq=3))
    assert [e.name for e in q] == ["urgent", "a", "b", "late"]  # iterating does not consume
    assert len(q) == 4
    assert [q.pop().name for _ in range(4)] == ["urgent", "a", "b", "late"]
    assert not q and q.peek() is None


def test_queue_is_stable_for_equal_keys():
    q = EventQueue([Event("x", seq=1), Event("y", seq=1)])
    assert [q.pop().name, q.pop().name] == ["x", "y"]


# --------------------------------------------------------------------------- processing


def test_events_are_processed_by_priority():
    c = chart("""
    agent: p
    priorities: {urgent: 0, slow: 20}
    initial: a
    states:
      a: {}
    """)
    log = Log()

    async def main():
        interp = Interpreter(c, listeners=[log])
        interp.send("slow")
        interp.send("normal")
        interp.send("urgent")
        interp.send("normal2")
        ev = interp.send("custom", priority=-5)
        assert ev.priority == -5
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await settle()
            interp.stop()

    run(main)
    assert log.records[0].event is None  # the initial macrostep comes first
    assert [r.event.name for r in log.records[1:]] == ["custom", "urgent", "normal", "normal2", "slow"]
    assert [r.event.priority for r in log.records[1:]] == [-5, 0, 10, 10, 20]


def test_send_from_another_task_wakes_the_loop():
    c = chart(TIMERS)
    log = Log()

    async def main():
        interp = Interpreter(c, listeners=[log])
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await trio.sleep(1)
            interp.send("go")
            await settle()
            assert interp.configuration == ("b",)
            assert interp.active("b") and not interp.active("a")
            interp.stop()

    run(main)
    assert log.events() == [(1.0, "go")]


def test_run_returns_when_the_chart_finishes():
    c = chart("""
    agent: f
    initial: a
    states:
      a: {after: {5s: done}}
      done: {type: final}
    """)

    async def main():
        interp = Interpreter(c)
        await interp.run()  # returns by itself at t=5
        assert trio.current_time() == 5.0
        assert interp.finished and not interp.running
        assert interp.pending_timers == {}

    run(main)


def test_stop_returns_and_keeps_timers_frozen():
    c = chart(TIMERS)

    async def main():
        interp = Interpreter(c)
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await trio.sleep(4)
            interp.stop()
        assert not interp.running
        await trio.sleep(100)  # time passes while stopped: timers do not run down
        left = sorted(interp.pending_timers.values())
        assert left == [pytest.approx(2.0), pytest.approx(6.0)]
        async with trio.open_nursery() as n:  # run again: resumes with the time left
            n.start_soon(interp.run)
            await trio.sleep(6)
            await settle()
            assert interp.configuration == ("b",)
            assert interp.variables["n"] == 3
            interp.stop()

    run(main)


# --------------------------------------------------------------------------- timers


def test_timers_fire_exactly_under_mockclock():
    c = chart(TIMERS)
    log = Log()

    async def main():
        interp = Interpreter(c, listeners=[log])
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await trio.sleep(9.999)
            await settle()
            assert interp.configuration == ("a",) and interp.variables["n"] == 3
            await trio.sleep(0.001)
            await settle()
            assert interp.configuration == ("b",)
            await trio.sleep(3600)  # an hour of virtual time, in no time
            assert interp.variables["n"] == 3  # the every-timer was cancelled on exit
            interp.stop()

    run(main)
    assert log.events() == [(3.0, "every:a:1"), (6.0, "every:a:1"), (9.0, "every:a:1"), (10.0, "after:a:0")]
    starts = [e for e in log.records[0].effects if isinstance(e, StartTimer)]
    assert {(s.key, s.delay, s.repeat) for s in starts} == {("after:a:0", 10.0, False), ("every:a:1", 3.0, True)}
    assert all(r.event.data == {"epoch": starts[0].epoch} for r in log.records[1:])


def test_timers_due_at_the_same_instant_keep_their_order():
    c = chart("""
    agent: same
    vars: {order: []}
    initial: a
    states:
      a:
        every:
          2s: {set: {order: "order + ['two']"}}
          1s: {set: {order: "order + ['one']"}}
    """)

    async def main():
        interp = Interpreter(c)
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await trio.sleep(6.5)
            interp.stop()
        return interp.variables["order"]

    # the 2s timer was started first, so at t=2, 4, 6 it comes before the 1s timer, every run
    expected = ["one", "two", "one", "one", "two", "one", "one", "two", "one"]
    assert {tuple(run(main)) for _ in range(20)} == {tuple(expected)}


def test_state_exit_cancels_its_timers_and_reentry_restarts_them():
    c = chart(TIMERS)
    log = Log()

    async def main():
        interp = Interpreter(c, listeners=[log])
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await trio.sleep(5)
            interp.send("go")
            await trio.sleep(1)
            interp.send("back")  # a re-entered at t=6: its after-timer is due at 16
            await trio.sleep(9.5)
            await settle()
            assert interp.configuration == ("a",)
            await trio.sleep(0.5)
            await settle()
            assert interp.configuration == ("b",)
            interp.stop()

    run(main)
    assert [e for e in log.events() if e[1] == "after:a:0"] == [(16.0, "after:a:0")]


class SlowSpeaker(EffectHandler):
    """Blocks the loop for ``seconds`` on every Speak, so events pile up in the queue."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def speak(self, effect: Speak) -> None:
        await trio.sleep(self.seconds)


def test_stale_timer_events_are_dropped():
    c = chart("""
    agent: stale
    priorities: {go: 0}
    initial: a
    states:
      a:
        after: {10s: c}
        on:
          slow: {say: thinking}
          go: a
      c: {}
    """)
    log = Log()

    async def main():
        interp = Interpreter(c, handlers=[SlowSpeaker(5)], listeners=[log])
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await trio.sleep(8)
            interp.send("slow")  # the loop is busy speaking from t=8 to t=13
            await trio.sleep(3)
            interp.send("go")  # t=11: queued behind nothing, but after the timer fired at t=10
            await trio.sleep(3)
            await settle()
            assert interp.configuration == ("a",)  # the timer of the first entry was dropped
            await trio.sleep(9)  # a was re-entered at t=13: its timer is due at t=23
            await settle()
            assert interp.configuration == ("c",)
            interp.stop()

    run(main)
    processed = [(round(r.time), r.event.name, bool(r.transitions)) for r in log.records[1:]]
    # go (priority 0) overtakes the queued stale timer event, which then does nothing
    assert processed == [(8, "slow", True), (13, "go", True), (13, "after:a:0", False), (23, "after:a:0", True)]


# --------------------------------------------------------------------------- delayed sends


SENDS = """
agent: sends
initial: a
states:
  a:
    entry: {send: {event: remind, delay: 30s, id: r1}}
    on:
      remind: b
      stop: {cancel_send: r1}
  b: {}
"""


def test_delayed_send_arrives_on_time():
    c = chart(SENDS)
    log = Log()

    async def main():
        interp = Interpreter(c, listeners=[log])
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await settle()
            assert interp.pending_sends == {"r1": 30.0}
            await trio.sleep(29.5)
            assert interp.configuration == ("a",)
            await trio.sleep(0.5)
            await settle()
            assert interp.configuration == ("b",)
            assert interp.pending_sends == {}
            interp.stop()

    run(main)
    assert log.events() == [(30.0, "remind")]
    assert log.records[-1].event.send_id == "r1"


def test_cancel_send_cancels_the_delayed_send():
    c = chart(SENDS)
    log = Log()

    async def main():
        interp = Interpreter(c, listeners=[log])
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await trio.sleep(10)
            interp.send("stop")
            await trio.sleep(100)
            assert interp.configuration == ("a",)
            assert interp.pending_sends == {}
            interp.stop()

    run(main)
    assert log.events() == [(10.0, "stop")]


# --------------------------------------------------------------------------- handlers and listeners


def test_recording_handler_and_listener_records():
    c = chart("""
    agent: rec
    vars: {n: 0}
    initial: a
    states:
      a:
        entry: {say: hello}
        on: {go: {target: b, do: [{set: {n: 1}}, {say: "bye {n}"}]}}
      b: {}
    """)
    log = Log()
    handler = RecordingHandler()

    async def main():
        interp = Interpreter(c, handlers=handler, listeners=[log])
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await trio.sleep(2)
            interp.send("go", {"who": "me"})
            await settle()
            interp.stop()

    run(main)
    first, second = log.records
    assert first.event is None and first.entered == ("a",) and first.configuration == ("a",)
    assert Speak("hello") in first.effects
    assert second.event.name == "go" and second.event.data == {"who": "me"} and second.time == 2.0
    assert second.exited == ("a",) and second.entered == ("b",)
    assert [t.source for t in second.transitions] == ["a"]
    assert second.configuration == ("b",) and second.variables == {"n": 1}
    assert Speak("bye 1") in second.effects
    assert [e for e in handler.effects if isinstance(e, Speak)] == [Speak("hello"), Speak("bye 1")]
    assert handler.timed[-1][0] == 2.0
    assert second.index == 1


class Broken(EffectHandler):
    def speak(self, effect: Speak) -> None:
        raise RuntimeError("speaker unplugged")


def test_a_failing_handler_becomes_an_error_event():
    c = chart("""
    agent: err
    initial: a
    states:
      a: {entry: {say: hi}}
    """)
    log = Log()

    async def main():
        interp = Interpreter(c, handlers=[Broken()], listeners=[log])
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await settle()
            interp.stop()

    run(main)
    err = log.records[1].event
    assert err.name == "error.execution"
    assert err.data == {"error": "RuntimeError: speaker unplugged", "effect": "Speak"}


def test_jsonl_trace_writes_one_object_per_macrostep(tmp_path):
    c = chart(TIMERS)
    path = tmp_path / "trace.jsonl"

    async def main():
        with JsonlTrace(path) as trace:
            interp = Interpreter(c, listeners=[trace])
            async with trio.open_nursery() as n:
                n.start_soon(interp.run)
                await trio.sleep(10)
                await settle()
                interp.stop()
            return trace.lines

    lines = run(main)
    rows = read_trace(path)
    assert len(rows) == lines == 5
    assert rows[0]["event"] is None and rows[0]["configuration"] == ["a"]
    assert {e["type"] for e in rows[0]["effects"]} == {"StartTimer"}
    last = rows[-1]
    assert last["event"]["name"] == "after:a:0" and last["time"] == 10.0
    assert last["exited"] == ["a"] and last["entered"] == ["b"]
    assert last["transitions"][0]["source"] == "a" and last["transitions"][0]["targets"] == ["b"]
    assert {e["type"] for e in last["effects"]} == {"CancelTimer"}
    assert last["variables"] == {"n": 3}
    # a stream works too
    buf = io.StringIO()
    JsonlTrace(buf)(StepRecord(1.0, Event("x", {"k": 1}), (), (), (), (), ("a",)))
    assert json.loads(buf.getvalue())["event"]["data"] == {"k": 1}


# --------------------------------------------------------------------------- save / resume


RESTORE = """
agent: restore
vars: {n: 0}
priorities: {ping: 1}
initial: a
states:
  a:
    entry: {send: {event: remind, delay: 20s, id: r1}}
    every: {3s: {set: {n: n + 1}}}
    after: {10s: b}
    on: {remind: {set: {n: n + 100}}, ping: {set: {n: n + 1000}}}
  b:
    every: {4s: {set: {n: n + 10}}}
    on: {remind: c, ping: {set: {n: n + 1000}}}
  c: {type: final}
"""


def _future(records: list[StepRecord], since: float) -> list[tuple[float, str, tuple[str, ...], int]]:
    return [(round(r.time - since, 6), r.event.name, r.configuration, r.variables["n"])
            for r in records if r.event is not None and r.time >= since]


def test_save_and_resume_give_the_same_future():
    c = chart(RESTORE)
    full = Log()

    async def uninterrupted():
        interp = Interpreter(c, listeners=[full])
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await trio.sleep(4.5)
            interp.send("ping")
            await trio.sleep(0.25)
            await settle()
        # finished at t=20 (remind -> c)

    run(uninterrupted)

    async def first_half():
        interp = Interpreter(c)
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await trio.sleep(4.5)
            interp.send("ping")  # queued, not yet processed: the saved state carries it
            data = interp.save()
            interp.stop()
        return data

    data = json.loads(json.dumps(run(first_half)))  # survives JSON
    assert [e["name"] for e in data["queue"]] == ["ping"]
    assert sorted((t["key"], t["remaining"]) for t in data["timers"]) == [("after:a:0", 5.5), ("every:a:1", 1.5)]
    assert [(s["key"], s["remaining"]) for s in data["sends"]] == [("r1", 15.5)]

    resumed = Log()

    async def second_half():
        await trio.sleep(1000)  # another clock reading entirely
        interp = Interpreter.resume(c, data, listeners=[resumed])
        await interp.run()
        assert interp.finished
        return trio.current_time() - 1000

    elapsed = run(second_half)
    assert elapsed == pytest.approx(15.5)
    expected = _future(full.records, 4.5)
    assert _future(resumed.records, 1000) == expected
    assert expected[0][1] == "ping" and expected[-1][1] == "remind" and expected[-1][2] == ("c",)


def test_resume_rejects_garbage():
    c = chart(TIMERS)
    with pytest.raises(ValueError, match="not a saved interpreter state"):
        Interpreter.resume(c, {"hello": 1})
    with pytest.raises(ValueError, match="malformed"):
        Interpreter.resume(c, {"format": "counterpoint.interpreter/1", "snapshot": None,
                                "timers": [{"key": "k"}]})


def test_saved_before_start_resumes_by_starting_normally():
    c = chart(TIMERS)

    async def main():
        data = Interpreter(c).save()
        assert data["snapshot"] is None
        interp = Interpreter.resume(c, data)
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await trio.sleep(10)
            await settle()
            assert interp.configuration == ("b",)
            interp.stop()

    run(main)


def test_sends_keep_their_priority_and_delay_zero_is_immediate():
    c = chart("""
    agent: prio
    priorities: {later: 20}
    initial: a
    states:
      a:
        entry:
          - {send: {event: later}}
          - {send: {event: plain}}
          - {send: {event: first, priority: 0}}
          - {send: {event: tick, delay: 1s, priority: 0}}
          - {send: {event: tock, delay: 1s}}
    """)
    log = Log()

    async def main():
        interp = Interpreter(c, listeners=[log])
        async with trio.open_nursery() as n:
            n.start_soon(interp.run)
            await trio.sleep(0.5)
            interp.send("user")  # 10, sent at 0.5: before tock (10, due at 1) but after first
            await trio.sleep(1)
            interp.stop()

    run(main)
    assert log.events() == [(0.0, "first"), (0.0, "plain"), (0.0, "later"), (0.5, "user"), (1.0, "tick"),
                            (1.0, "tock")]
