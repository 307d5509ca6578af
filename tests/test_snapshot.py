"""Snapshots: immutable values that round-trip through JSON and resume identically."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from counterpoint.dsl import Call, Expr, Set, Tool
from counterpoint.engine import Event, Snapshot, compile, start, step
from helpers.oracle_build import agent

SPEC = {
    "p": {"initial": "a", "on": {"out": "z"}, "states": {
        "a": {"on": {"e": {"target": "b", "do": [Set("items", Expr("items + [n]")), Call("find")]}},
              "after": {10: "b"}},
        "b": {"type": "parallel", "states": {"r1": {}, "r2": {"initial": "x", "states": {"x": {}}}}},
        "h": {"type": "history", "history": "deep"},
    }},
    "z": {"on": {"back": "h", "end": "fin"}},
    "fin": {"type": "final"},
}  # fmt: skip


def chart():
    return compile(
        agent(SPEC, variables={"items": "[]", "n": "3"}, tools=(Tool("find", "m:f", on_exit="keep"),))
    )


def test_configuration_in_document_order_and_active():
    c = chart()
    s, _ = step(c, start(c)[0], "e")
    assert s.configuration == ("p", "b", "r1", "r2", "x")
    assert s.active("r2") and not s.active("a")
    assert Snapshot.from_json(s.to_json()).active("r2")


def test_json_round_trip_gives_an_equal_snapshot():
    c = chart()
    s, _ = start(c)
    for e in ["e", "out"]:
        s, _ = step(c, s, e)
    data = s.to_json()
    assert json.loads(json.dumps(data)) == data
    restored = Snapshot.from_json(json.loads(json.dumps(data)))
    assert restored == s
    assert restored.history == {"h": ("r1", "x")}
    assert restored.pending == {"find#1": ("find", "p")}  # a is left by the transition: p owns the call
    assert restored.epochs == {"a": 1} and restored.counters == {"call:find": 1}
    assert restored.variables == {"items": [3], "n": 3}


def test_restored_snapshot_resumes_identically():
    c = chart()
    s, _ = start(c)
    for e in ["e", "out"]:
        s, _ = step(c, s, e)
    restored = Snapshot.from_json(s.to_json())
    assert step(c, restored, "back") == step(c, s, "back")
    fresh = compile(agent(SPEC, variables={"items": "[]", "n": "3"}, tools=(Tool("find", "m:f"),)))
    assert step(fresh, s, "back")[0].configuration == ("p", "b", "r1", "r2", "x")


def test_finished_and_internal_round_trip():
    s = Snapshot(("fin",), internal=(Event("x", {"a": 1}),), finished=True)
    back = Snapshot.from_json(s.to_json())
    assert back == s and back.finished and back.internal[0].data == {"a": 1}
    c = chart()
    done, _ = step(c, step(c, start(c)[0], "out")[0], "end")
    assert done.finished and Snapshot.from_json(done.to_json()) == done


def test_snapshots_are_immutable():
    s = Snapshot(("a",), variables={"n": 1})
    with pytest.raises(AttributeError):
        s.configuration = ()
    with pytest.raises(TypeError):
        s.variables["n"] = 2  # type: ignore[index]
    assert s.replace(variables={"n": 2}).variables == {"n": 2} and s.variables == {"n": 1}


def test_malformed_json_is_a_value_error():
    with pytest.raises(ValueError):
        Snapshot.from_json({"variables": {}})
    with pytest.raises(ValueError):
        Snapshot.from_json({"configuration": ["a"], "pending": {"c": 1}})


def test_snapshot_of_another_chart_is_rejected():
    c = chart()
    with pytest.raises(ValueError, match="nowhere"):
        step(c, Snapshot(("nowhere",)), "e")


def test_copies_and_pickles_carry_the_value_not_the_chart():
    c = chart()
    s, _ = step(c, start(c)[0], "e")
    assert copy.copy(s) is s
    deep = copy.deepcopy(s)
    assert deep == s and deep.variables["items"] is not s.variables["items"]
    assert step(c, deep, "out") == step(c, s, "out")
    restored = pickle.loads(pickle.dumps(s))
    assert restored == s and restored._info is None
