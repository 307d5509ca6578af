"""SCXML semantics of the pure core: configurations, order of exits/entries, selection, history."""

from __future__ import annotations

from counterpoint.dsl import Expr, Log, Raise, Set
from counterpoint.engine import Event, compile, macrostep, start, step
from helpers.oracle_build import agent
from helpers.steps import logs, raised, run


def traced(name: str) -> dict:
    """Entry/exit actions logging ``+name`` / ``-name``."""
    return {"entry": [Log(f"+{name}")], "exit": [Log(f"-{name}")]}




# --------------------------------------------------------------------------- compound states


ORDER = {
    "a": {**traced("a"), "initial": "a1", "states": {
        "a1": {**traced("a1"), "on": {"go": {"target": "b2", "do": [Log("t")]}}},
    }},
    "b": {**traced("b"), "initial": "b1", "states": {
        "b1": traced("b1"),
        "b2": {**traced("b2"), "initial": "b21", "states": {"b21": traced("b21")}},
    }},
}  # fmt: skip


def test_start_enters_the_initial_configuration_in_document_order():
    s, effects = start(compile(agent(ORDER)))
    assert s.configuration == ("a", "a1")
    assert logs(effects) == ["+a", "+a1"]
    assert not s.finished


def test_exit_in_reverse_document_order_then_actions_then_entry():
    c = compile(agent(ORDER))
    s, _ = start(c)
    r = macrostep(c, s, "go")
    assert r.snapshot.configuration == ("b", "b2", "b21")
    assert logs(r.effects) == ["-a1", "-a", "t", "+b", "+b2", "+b21"]
    assert r.exited == ("a1", "a") and r.entered == ("b", "b2", "b21")
    assert [t.source for t in r.transitions] == ["a1"]
    assert r.events[0].name == "go"


def test_unknown_events_change_nothing():
    c = compile(agent(ORDER))
    s, _ = start(c)
    s2, effects = step(c, s, "nothing.here")
    assert s2 == s and effects == []


def test_external_self_transition_exits_and_reenters():
    c = compile(agent({"p": {**traced("p"), "initial": "q", "on": {"e": "p"}, "states": {"q": traced("q")}}}))
    s, effects = run(c, ["e"])
    assert logs(effects)[2:] == ["-q", "-p", "+p", "+q"]


def test_internal_transition_keeps_the_source():
    c = compile(
        agent(
            {
                "p": {
                    **traced("p"),
                    "initial": "q",
                    "states": {"q": traced("q"), "r": traced("r")},
                    "on": {"e": {"target": "r", "internal": True}, "f": {"target": "r"}},
                }
            }
        )
    )
    s, effects = run(c, ["e"])
    assert s.configuration == ("p", "r") and logs(effects)[2:] == ["-q", "+r"]
    s, effects = run(c, ["f"])
    assert logs(effects)[2:] == ["-q", "-p", "+p", "+r"]


def test_targetless_transition_runs_actions_only():
    c = compile(agent({"a": {**traced("a"), "on": {"e": {"do": [Log("x")]}}}}))
    s, effects = run(c, ["e"])
    assert s.configuration == ("a",) and logs(effects) == ["+a", "x"]


def test_descendant_transitions_take_priority_over_ancestors():
    c = compile(
        agent(
            {"p": {"initial": "q", "on": {"e": "z"}, "states": {"q": {"on": {"e": "r"}}, "r": {}}}, "z": {}}
        )
    )
    assert run(c, ["e"])[0].configuration == ("p", "r")
    assert run(c, ["e", "e"])[0].configuration == ("z",)  # r has no transition: p's answers


def test_first_enabled_transition_in_document_order_wins():
    c = compile(
        agent(
            {
                "a": {
                    "on": {
                        "e": [
                            {"guard": "n > 5", "target": "b"},
                            {"target": "c"},
                            {"guard": "true", "target": "d"},
                        ]
                    }
                },
                "b": {},
                "c": {},
                "d": {},
            },
            variables={"n": "1"},
        )
    )
    assert run(c, ["e"])[0].configuration == ("c",)


def test_event_data_fields_are_names_in_guards_and_shadow_variables():
    c = compile(
        agent(
            {"a": {"on": {"e": [{"guard": "n == 7 and event.name == 'e'", "target": "b"}]}}, "b": {}},
            variables={"n": "1"},
        )
    )
    assert run(c, [Event("e", {"n": 7})])[0].configuration == ("b",)
    assert run(c, [Event("e", {"n": 1})])[0].configuration == ("a",)
    assert run(c, ["e"])[0].configuration == ("a",)


def test_prefix_and_wildcard_matching():
    c = compile(
        agent({"a": {"on": {"user": "b"}}, "b": {"on": {"tool.*": "c"}}, "c": {"on": {"*": "d"}}, "d": {}})
    )
    assert run(c, ["username", "user.said"])[0].configuration == ("b",)
    assert run(c, ["user.said", "toolbox", "tool.x.done"])[0].configuration == ("c",)
    assert run(c, ["user.said", "tool.x.done", "whatever"])[0].configuration == ("d",)


def test_several_events_on_one_transition():
    c = compile(agent({"a": {"on": {"x y": "b"}}, "b": {"on": {"x y": "a"}}}))
    assert run(c, ["y"])[0].configuration == ("b",)
    assert run(c, ["y", "x"])[0].configuration == ("a",)


# --------------------------------------------------------------------------- parallel states

PAR = {
    "p": {"type": "parallel", "on": {"out": "z"}, "states": {
        "r1": {"initial": "a", "states": {"a": {**traced("a"), "on": {"e": "b", "leave": "z"}}, "b": traced("b")}},
        "r2": {"initial": "c", "states": {"c": {**traced("c"), "on": {"e": "d", "leave": "y"}}, "d": traced("d")}},
    }},
    "z": {},
    "y": {},
}  # fmt: skip


def test_parallel_regions_are_all_active_and_react_to_the_same_event():
    c = compile(agent(PAR))
    s, effects = start(c)
    assert s.configuration == ("p", "r1", "a", "r2", "c")
    s, effects = step(c, s, "e")
    assert s.configuration == ("p", "r1", "b", "r2", "d")
    assert logs(effects) == ["-c", "-a", "+b", "+d"]  # exits in reverse document order


def test_conflicting_transitions_first_in_document_order_wins():
    c = compile(agent(PAR))
    s, effects = run(c, ["leave"])
    assert s.configuration == ("z",)
    assert logs(effects)[-2:] == ["-c", "-a"]


def test_ancestor_transition_answers_for_all_regions_once():
    c = compile(agent(PAR))
    r = macrostep(c, start(c)[0], "out")
    assert r.snapshot.configuration == ("z",) and len(r.transitions) == 1


def test_multiple_targets_enter_several_regions():
    c = compile(agent({"s": {"on": {"e": "b d"}}, **PAR}, initial="s"))
    assert run(c, ["e"])[0].configuration == ("p", "r1", "b", "r2", "d")


def test_target_inside_one_region_enters_the_others_by_default():
    c = compile(agent({"s": {"on": {"e": "d"}}, **PAR}, initial="s"))
    assert run(c, ["e"])[0].configuration == ("p", "r1", "a", "r2", "d")


def test_in_predicate_sees_other_regions():
    spec = {"p": {"type": "parallel", "states": {
        "r1": {"initial": "a", "states": {"a": {"on": {"e": {"guard": "In('d')", "target": "b"}}}, "b": {}}},
        "r2": {"initial": "c", "states": {"c": {"on": {"f": "d"}}, "d": {}}},
    }}}  # fmt: skip
    c = compile(agent(spec))
    assert run(c, ["e"])[0].configuration == ("p", "r1", "a", "r2", "c")
    assert run(c, ["f", "e"])[0].configuration == ("p", "r1", "b", "r2", "d")


# --------------------------------------------------------------------------- final states and done events


def test_done_state_for_compound():
    c = compile(
        agent(
            {
                "p": {
                    "initial": "a",
                    "on": {"done.state.p": "z"},
                    "states": {"a": {"on": {"e": "f"}}, "f": {"type": "final"}},
                },
                "z": {},
            }
        )
    )
    r = macrostep(c, start(c)[0], "e")
    assert r.snapshot.configuration == ("z",)
    assert raised(r.effects) == ["done.state.p"]
    assert [e.name for e in r.events] == ["e", "done.state.p"]


def test_done_state_for_parallel_when_all_regions_are_final():
    spec = {"p": {"type": "parallel", "on": {"done.state.p": "z"}, "states": {
        "r1": {"initial": "a", "states": {"a": {"on": {"e1": "f1"}}, "f1": {"type": "final"}}},
        "r2": {"initial": "b", "states": {"b": {"on": {"e2": "f2"}}, "f2": {"type": "final"}}},
    }}, "z": {}}  # fmt: skip
    c = compile(agent(spec))
    s, effects = run(c, ["e1"])
    assert raised(effects) == ["done.state.r1"] and s.configuration[0] == "p"
    s, effects = run(c, ["e2"], s)
    assert raised(effects) == ["done.state.r2", "done.state.p"] and s.configuration == ("z",)


def test_top_level_final_finishes_the_chart():
    c = compile(agent({"a": {"on": {"e": "end"}}, "end": {"type": "final", **traced("end")}}))
    s, effects = run(c, ["e"])
    assert s.finished and s.configuration == ("end",) and logs(effects) == ["+end"]
    s2, effects = step(c, s, "e")
    assert s2 == s and effects == []


def test_finishing_drops_pending_internal_events():
    c = compile(
        agent({"a": {"on": {"e": {"target": "end", "do": [Raise("later")]}}}, "end": {"type": "final"}})
    )
    r = macrostep(c, start(c)[0], "e")
    assert r.snapshot.finished and r.snapshot.internal == ()


# --------------------------------------------------------------------------- history


HIST = {
    "p": {"initial": "a", "on": {"out": "z"}, "states": {
        "a": {"on": {"next": "b"}},
        "b": {"initial": "b1", "on": {"next": "a"}, "states": {"b1": {"on": {"deeper": "b2"}}, "b2": {}}},
        "hs": {"type": "history"},
        "hd": {"type": "history", "history": "deep", "default": "b2"},
    }},
    "z": {"on": {"shallow": "hs", "deep": "hd"}},
}  # fmt: skip


def test_history_default_when_nothing_recorded():
    c = compile(agent(HIST, initial="z"))
    assert run(c, ["shallow"])[0].configuration == ("p", "a")  # default: parent's initial
    assert run(c, ["deep"])[0].configuration == ("p", "b", "b2")  # declared default


def test_shallow_history_restores_the_child_with_its_default_entry():
    c = compile(agent(HIST))
    s, _ = run(c, ["next", "deeper", "out"])
    assert s.history == {"hs": ("b",), "hd": ("b2",)}
    assert run(c, ["shallow"], s)[0].configuration == ("p", "b", "b1")


def test_deep_history_restores_the_atomic_descendants():
    c = compile(agent(HIST))
    s, _ = run(c, ["next", "deeper", "out", "deep"])
    assert s.configuration == ("p", "b", "b2")


def test_history_of_a_parallel_state():
    spec = {"p": {"type": "parallel", "on": {"out": "z"}, "states": {
        "r1": {"initial": "a", "states": {"a": {"on": {"e": "b"}}, "b": {}}},
        "r2": {"initial": "c", "states": {"c": {"on": {"e": "d"}}, "d": {}}},
        "h": {"type": "history", "history": "deep"},
    }}, "z": {"on": {"back": "h"}}}  # fmt: skip
    c = compile(agent(spec))
    s, _ = run(c, ["e", "out"])
    assert s.configuration == ("z",)
    assert run(c, ["back"], s)[0].configuration == ("p", "r1", "b", "r2", "d")


def test_transition_from_a_state_to_its_own_history_restarts_it():
    c = compile(
        agent(
            {
                "p": {
                    **traced("p"),
                    "initial": "a",
                    "on": {"again": "h"},
                    "states": {
                        "a": {**traced("a"), "on": {"e": "b"}},
                        "b": traced("b"),
                        "h": {"type": "history"},
                    },
                }
            }
        )
    )
    s, effects = run(c, ["e", "again"])
    assert s.configuration == ("p", "b")
    assert logs(effects)[-4:] == ["-b", "-p", "+p", "+b"]


# --------------------------------------------------------------------------- eventless transitions and queues


def test_eventless_transitions_run_after_the_event_until_stable():
    c = compile(agent({"a": {"on": {"e": "b"}}, "b": {"always": ["c"]}, "c": {"always": ["d"]}, "d": {}}))
    r = macrostep(c, start(c)[0], "e")
    assert r.snapshot.configuration == ("d",) and [t.source for t in r.transitions] == ["a", "b", "c"]


def test_eventless_transitions_at_start():
    c = compile(agent({"a": {"always": ["b"]}, "b": {}}))
    assert start(c)[0].configuration == ("b",)


def test_guarded_eventless_transition_on_a_variable():
    c = compile(
        agent(
            {
                "count": {
                    "on": {"tick": {"do": [Set("n", Expr("n + 1"))]}},
                    "always": [{"guard": "n >= 3", "target": "done"}],
                },
                "done": {},
            },
            variables={"n": "0"},
        )
    )
    s, _ = run(c, ["tick", "tick"])
    assert s.configuration == ("count",) and s.variables["n"] == 2
    s, _ = run(c, ["tick"], s)
    assert s.configuration == ("done",)


def test_eventless_before_internal_events():
    c = compile(
        agent(
            {
                "a": {"on": {"e": {"target": "b", "do": [Raise("i")]}}},
                "b": {"always": ["c"], "on": {"i": "x"}},
                "c": {"on": {"i": "y"}},
                "x": {},
                "y": {},
            }
        )
    )
    assert run(c, ["e"])[0].configuration == ("y",)


def test_internal_events_in_order_before_the_next_external_event():
    c = compile(
        agent(
            {
                "a": {
                    "on": {
                        "e": {"do": [Raise("one"), Raise("two")]},
                        "one": {"do": [Log("1")]},
                        "two": {"do": [Log("2")]},
                    }
                }
            }
        )
    )
    r = macrostep(c, start(c)[0], "e")
    assert logs(r.effects) == ["1", "2"] and raised(r.effects) == ["one", "two"]
    assert [e.name for e in r.events] == ["e", "one", "two"]


def test_raised_event_data():
    c = compile(
        agent(
            {
                "a": {
                    "on": {
                        "e": {"do": [Raise("r", (("v", Expr("n * 2")),))]},
                        "r": {"guard": "v == 4", "target": "b"},
                    }
                },
                "b": {},
            },
            variables={"n": "2"},
        )
    )
    assert run(c, ["e"])[0].configuration == ("b",)


def test_eventless_loop_is_stopped_with_an_error():
    c = compile(agent({"a": {"on": {"go": "b"}}, "b": {"always": ["c"]}, "c": {"always": ["b"]}}))
    s, effects = run(c, ["go"])
    assert s.configuration in (("b",), ("c",))
    assert "error.execution" in raised(effects)


def test_step_accepts_event_names():
    c = compile(agent({"a": {"on": {"e": "b"}}, "b": {}}))
    s, _ = start(c)
    assert step(c, s, "e") == step(c, s, Event("e"))
