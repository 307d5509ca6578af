"""Actions and effects of the pure core: say/respond/call/send..., timers, tool calls, errors, purity."""

from __future__ import annotations

import copy

from counterpoint.dsl import Call, Cancel, CancelSend, Expr, Log, Raise, Respond, Say, Send, Set, Spawn, Tool
from counterpoint.engine import Event, compile, macrostep, start, step
from counterpoint.engine import effects as fx
from helpers.oracle_build import agent
from helpers.steps import logs, raised, run

TOOLS = (Tool("find", "m:find"), Tool("keepme", "m:keep", on_exit="keep"))


def of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


def test_say_respond_log_with_interpolation():
    c = compile(
        agent(
            {"a": {"entry": [Say("Hello {name}!"), Respond(), Respond("be brief"), Log("n={n + 1}")]}},
            variables={"name": "'Ada'", "n": "1"},
        )
    )
    _, effects = start(c)
    assert effects == [
        fx.Speak("Hello Ada!"),
        fx.StartLLMTurn(None),
        fx.StartLLMTurn("be brief"),
        fx.LogMessage("n=2"),
    ]


def test_set_assigns_in_order():
    c = compile(
        agent(
            {"a": {"on": {"e": {"do": [Set("n", Expr("n + 1")), Set("m", Expr("n * 10"))]}}}},
            variables={"n": "1", "m": "0"},
        )
    )
    s, _ = run(c, ["e", "e"])
    assert dict(s.variables) == {"n": 3, "m": 30}


def test_send_and_cancel_send():
    c = compile(agent({"a": {"on": {"e": {"do": [
        Send("remind", (("text", Expr("'hi'")),), delay=30.0, id="r1"),
        Send("now"), Send("urgent", priority=1), CancelSend("r1")]}}}},
        priorities={"now": 4}))  # fmt: skip
    _, effects = run(c, ["e"])
    sends = of(effects, fx.SendEvent)
    assert [(s.event.name, dict(s.event.data), s.delay, s.send_id, s.event.priority) for s in sends] == [
        ("remind", {"text": "hi"}, 30.0, "r1", 10),
        ("now", {}, 0.0, None, 4),
        ("urgent", {}, 0.0, None, 1),
    ]
    assert of(effects, fx.CancelSend) == [fx.CancelSend("r1")]


def test_spawn_ids_default_to_the_agent_stem_and_a_counter():
    c = compile(
        agent(
            {
                "a": {
                    "on": {
                        "e": {
                            "do": [
                                Spawn("sub/helper.agent.yaml", task="Find flights"),
                                Spawn("helper.agent", fork=True),
                                Spawn("x.agent.yaml", id="mine"),
                            ]
                        }
                    }
                }
            }
        )
    )
    _, effects = run(c, ["e"])
    assert of(effects, fx.SpawnAgent) == [
        fx.SpawnAgent("sub/helper.agent.yaml", "helper#1", "Find flights", False),
        fx.SpawnAgent("helper.agent", "helper#2", None, True),
        fx.SpawnAgent("x.agent.yaml", "mine", None, False),
    ]


# --------------------------------------------------------------------------- tool calls


def test_call_ids_and_pending_calls():
    c = compile(
        agent(
            {
                "a": {
                    "on": {
                        "e": {
                            "do": [Call("find", (("q", Expr("n")),)), Call("find"), Call("find", id="mine")]
                        }
                    }
                }
            },
            tools=TOOLS,
            variables={"n": "5"},
        )
    )
    s, effects = run(c, ["e"])
    assert of(effects, fx.StartTool) == [
        fx.StartTool("find#1", "find", {"q": 5}, "a"),
        fx.StartTool("find#2", "find", {}, "a"),
        fx.StartTool("mine", "find", {}, "a"),
    ]
    assert dict(s.pending) == {"find#1": ("find", "a"), "find#2": ("find", "a"), "mine": ("find", "a")}
    s, _ = step(c, s, Event("tool.find.done", {"call_id": "find#2", "result": 1}))
    s, _ = step(c, s, Event("tool.find.progress", {"call_id": "find#1"}))
    s, _ = step(c, s, Event("tool.find.error", {"call_id": "mine"}))
    assert dict(s.pending) == {"find#1": ("find", "a")}
    assert s.counters == {"call:find": 2}


def test_exit_cancels_calls_of_cancellable_tools_started_by_the_state():
    spec = {"p": {"initial": "a", "on": {"away": "z"}, "entry": [Call("find")], "states": {
        "a": {"entry": [Call("find"), Call("keepme")], "on": {"next": "b"}}, "b": {}}},
        "z": {}}  # fmt: skip
    c = compile(agent(spec, tools=TOOLS))
    s, _ = start(c)
    assert set(s.pending) == {"find#1", "find#2", "keepme#1"}
    s, effects = step(c, s, "next")
    assert of(effects, fx.CancelTool) == [fx.CancelTool("find#2")]
    s, effects = step(c, s, "away")
    assert of(effects, fx.CancelTool) == [fx.CancelTool("find#1")]
    assert dict(s.pending) == {"keepme#1": ("keepme", "a")}


def test_calls_started_by_transitions_belong_to_the_source_and_exit_actions_survive():
    spec = {"a": {"on": {"e": {"do": [Call("find")]}, "go": "b"}, "exit": [Call("find", id="bye")]}, "b": {}}
    c = compile(agent(spec, tools=TOOLS))
    s, effects = run(c, ["e"])
    assert of(effects, fx.StartTool)[0].state == "a"
    s, effects = step(c, s, "go")
    assert of(effects, fx.CancelTool) == [fx.CancelTool("find#1")]
    assert dict(s.pending) == {"bye": ("find", "a")}


def test_a_call_started_by_a_transition_that_leaves_its_source_belongs_to_the_state_that_stays():
    spec = {"p": {"initial": "a", "on": {"away": "z"}, "states": {
        "a": {"on": {"go": {"target": "b", "do": [Call("find")]}}}, "b": {}}},
        "z": {}}  # fmt: skip
    c = compile(agent(spec, tools=TOOLS))
    s, effects = run(c, ["go"])
    assert of(effects, fx.StartTool)[0].state == "p"  # a is exited by the transition, p stays
    s, effects = step(c, s, "away")
    assert of(effects, fx.CancelTool) == [fx.CancelTool("find#1")]


def test_cancel_action_by_tool_name_or_call_id():
    c = compile(
        agent(
            {
                "a": {
                    "on": {
                        "e": {"do": [Call("find", id="first"), Call("find"), Call("keepme")]},
                        "c1": {"do": [Cancel("first")]},
                        "c2": {"do": [Cancel("find")]},
                    }
                }
            },
            tools=TOOLS,
        )
    )
    s, _ = run(c, ["e", "c1"])
    assert set(s.pending) == {"find#1", "keepme#1"}
    s, effects = run(c, ["c2"], s)
    assert of(effects, fx.CancelTool) == [fx.CancelTool("find")] and set(s.pending) == {"keepme#1"}


# --------------------------------------------------------------------------- timers


TIMED = {
    "a": {"on": {"go": "b"}, "after": {30: "b"}, "every": {5: {"do": [Log("tick")]}}},
    "b": {"on": {"back": "a"}},
}


def test_timers_start_on_entry_and_stop_on_exit_with_epochs():
    c = compile(agent(TIMED))
    s, effects = start(c)
    assert of(effects, fx.StartTimer) == [
        fx.StartTimer("after:a:0", "after:a:0", 30.0, False, 1),
        fx.StartTimer("every:a:1", "every:a:1", 5.0, True, 1),
    ]
    assert s.epochs == {"a": 1}
    s, effects = step(c, s, "go")
    assert of(effects, fx.CancelTimer) == [fx.CancelTimer("after:a:0", 1), fx.CancelTimer("every:a:1", 1)]
    s, effects = step(c, s, "back")
    assert [t.epoch for t in of(effects, fx.StartTimer)] == [2, 2]


def test_timer_events_fire_only_with_the_current_epoch():
    c = compile(agent(TIMED))
    s, _ = run(c, ["go", "back"])  # epoch 2 now
    stale, effects = step(c, s, Event("every:a:1", {"epoch": 1}))
    assert stale == s and effects == []
    s2, effects = step(c, s, Event("every:a:1", {"epoch": 2}))
    assert logs(effects) == ["tick"] and s2.configuration == ("a",)
    s3, _ = step(c, s, Event("after:a:0", {"epoch": 2}))
    assert s3.configuration == ("b",)
    s4, effects = step(c, s3, Event("after:a:0", {"epoch": 2}))  # its state is gone
    assert s4 == s3 and effects == []


def test_timer_events_are_not_matched_by_wildcards():
    c = compile(
        agent({"p": {"initial": "a", "on": {"*": "z"}, "states": {"a": {"after": {1: None}}}}, "z": {}})
    )
    s, _ = start(c)
    s2, _ = step(c, s, Event("after:a:0", {"epoch": 1}))
    assert s2.configuration == ("p", "a")


def test_guarded_timer():
    c = compile(
        agent({"a": {"after": {2: {"guard": "n > 0", "target": "b"}}}, "b": {}}, variables={"n": "0"})
    )
    s, _ = start(c)
    assert step(c, s, Event("after:a:0", {"epoch": 1}))[0].configuration == ("a",)


# --------------------------------------------------------------------------- errors


def test_failing_action_raises_error_execution_and_stops_its_block():
    c = compile(
        agent(
            {
                "a": {"on": {"e": {"target": "b", "do": [Log("before"), Log("{ghost}"), Log("after")]}}},
                "b": {"entry": [Log("entered")], "on": {"error.execution": {"target": "c"}}},
                "c": {},
            }
        )
    )
    r = macrostep(c, start(c)[0], "e")
    assert logs(r.effects) == ["before", "entered"]
    (err,) = [e.event for e in r.effects if isinstance(e, fx.Raised)]
    assert err.name == "error.execution" and "ghost" in err.data["error"]
    assert r.snapshot.configuration == ("c",)


def test_failing_guard_is_false_and_raises_error_execution():
    c = compile(
        agent(
            {"a": {"on": {"e": [{"guard": "missing > 1", "target": "b"}, {"target": "c"}]}}, "b": {}, "c": {}}
        )
    )
    s, effects = run(c, ["e"])
    assert s.configuration == ("c",) and raised(effects) == ["error.execution"]


def test_type_errors_in_set_keep_the_old_value():
    c = compile(agent({"a": {"on": {"e": {"do": [Set("n", Expr("n + 'x'"))]}}}}, variables={"n": "1"}))
    s, effects = run(c, ["e"])
    assert s.variables["n"] == 1 and raised(effects) == ["error.execution"]


# --------------------------------------------------------------------------- purity


def test_step_does_not_mutate_its_inputs_and_is_deterministic():
    spec = {
        "a": {
            "on": {"e": {"target": "b", "do": [Set("n", Expr("n + 1")), Call("find"), Raise("r")]}},
            "after": {1: "b"},
        },
        "b": {"initial": "b1", "states": {"b1": {}, "h": {"type": "history"}}, "on": {"back": "a"}},
    }
    c = compile(agent(spec, tools=TOOLS, variables={"n": "0"}))
    s, _ = start(c)
    before = copy.deepcopy(s.to_json())
    r1 = step(c, s, "e")
    r2 = step(c, s, "e")
    assert s.to_json() == before
    assert r1 == r2
    assert r1[0].variables["n"] == 1 and s.variables["n"] == 0


def test_a_guard_failing_on_every_event_does_not_hang():
    c = compile(agent({"a": {"on": {"*": {"guard": "ghost > 1", "target": "a"}}}}))
    s, effects = run(c, ["e"])
    assert s.configuration == ("a",)
    assert any(isinstance(e, fx.LogMessage) and "stopped after" in e.text for e in effects)


def test_respond_prompt_interpolates_like_say():
    from counterpoint.dsl import Respond

    c = compile(agent({"a": {"on": {"e": {"do": [Respond("Mention {n} items")]}}}}, variables={"n": "3"}))
    _, effects = run(c, ["e"])
    assert of(effects, fx.StartLLMTurn) == [fx.StartLLMTurn("Mention 3 items")]
