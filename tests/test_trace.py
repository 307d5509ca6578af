"""The JSONL trace's line encoder: the same text as encoding the record's dict, from caches."""

from __future__ import annotations

import io
import json
import textwrap
from enum import Enum
from types import MappingProxyType

import trio

from counterpoint.dsl import load_yaml
from counterpoint.engine import Event, compile_chart
from counterpoint.engine.core import effects as fx
from counterpoint.engine.runtime import Interpreter, JsonlTrace, StepRecord, read_trace
from counterpoint.engine.runtime.trace import LineEncoder
from counterpoint.engine.testing import run

AGENT = """
agent: traced
vars: {n: 0, tags: [], who: null}
initial: a
states:
  a:
    entry: {say: "hé {n}"}
    on:
      go: {target: b, do: [{set: {n: n + 1}}, {raise: {event: inner, data: {k: n}}}]}
  b:
    on: {go: a}
"""


def _reference(record: StepRecord) -> str:
    return json.dumps(record.to_json(), ensure_ascii=False, default=repr) + "\n"


class Colour(Enum):
    RED = "red"


def test_lines_equal_the_records_json_for_every_kind_of_field():
    agent, diagnostics = load_yaml(textwrap.dedent(AGENT), "t.agent.yaml")
    assert agent is not None and not diagnostics
    chart = compile_chart(agent)
    encode = LineEncoder()
    records = [
        StepRecord(0.0, None, (), (), ("a",), (fx.Speak("hé 0"),), ("a",), MappingProxyType({"n": 0})),
        StepRecord(
            1.25,
            Event("go", {"who": "zoë", "nested": {"xs": (1, 2.5, None)}}, 2, 1.0, 7, "s1"),
            tuple(chart.transitions[:1]),
            ("a",),
            ("b",),
            (
                fx.Raised(Event("inner", {"k": 1})),
                fx.StartTool("lookup#1", "lookup", {"q": ("a", "b")}, "a"),
                fx.StartTimer("after:a:0", "after:a:0", 10.0, False, 3),
                fx.SendEvent(Event("ping", {"c": [1]}), 0.5, None),
                fx.LogMessage("line\nbreak \"quoted\""),
            ),
            ("b",),
            MappingProxyType({"n": 1, "tags": ["x"], "who": None, "m": {"k": frozenset({1})}, "c": Colour.RED}),
            index=3,
        ),
        StepRecord(float("inf"), Event("x"), (), (), (), (), ("b",), {"n": True}, 4),
    ]
    for record in records * 2:  # the second pass is served from the caches
        assert encode(record) == _reference(record)


def test_variables_are_encoded_again_only_for_a_new_mapping():
    encode = LineEncoder()
    view = MappingProxyType({"n": 1})
    first = encode(StepRecord(0.0, None, (), (), (), (), (), view))
    assert json.loads(first)["variables"] == {"n": 1}
    changed = MappingProxyType({"n": 2})
    assert json.loads(encode(StepRecord(0.0, None, (), (), (), (), (), changed)))["variables"] == {"n": 2}


def test_the_interpreters_trace_reads_back_and_is_flushed_when_it_waits():
    agent, diagnostics = load_yaml(textwrap.dedent(AGENT), "t.agent.yaml")
    assert agent is not None and not diagnostics
    chart = compile_chart(agent)
    stream = io.StringIO()
    trace = JsonlTrace(stream)

    async def main() -> list[StepRecord]:
        kept: list[StepRecord] = []
        interp = Interpreter(chart, listeners=[trace, kept.append])
        async with trio.open_nursery() as nursery:
            nursery.start_soon(interp.run)
            for _ in range(3):
                interp.send("go")
            await trio.testing.wait_all_tasks_blocked()
            interp.stop()
        return kept

    kept = run(main)
    stream.seek(0)
    rows = read_trace(stream)
    assert len(rows) == trace.lines == 4
    assert [r["variables"]["n"] for r in rows] == [0, 1, 1, 2]
    assert rows[1]["event"]["name"] == "go" and rows[1]["entered"] == ["b"]
    assert stream.getvalue() == "".join(_reference(r) for r in kept)
