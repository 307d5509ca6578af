"""Compiling agents into charts: tables, precomputed sets, priorities, and what is rejected."""

from __future__ import annotations

import pytest

from counterpoint.dsl import Call, DiagnosticError, Expr, Say, Set, Tool
from counterpoint.dsl.names import matches
from counterpoint.engine import DEFAULT_PRIORITY, compile, compile_chart
from counterpoint.engine.core.chart import COMPOUND, NO_DOMAIN, PARALLEL, ROOT, describe
from helpers.oracle_build import agent

NESTED = {
    "a": {"initial": "a1", "on": {"go": "b"}, "states": {
        "a1": {"on": {"t": "a2"}},
        "a2": {},
        "h": {"type": "history", "history": "deep"},
    }},
    "b": {"type": "parallel", "states": {
        "r1": {"initial": "x", "states": {"x": {}, "y": {}}},
        "r2": {},
    }},
    "c": {"type": "final"},
}  # fmt: skip


def codes(excinfo: pytest.ExceptionInfo[DiagnosticError]) -> list[str]:
    return [d.code for d in excinfo.value.diagnostics]


def test_states_are_indexed_in_document_order_under_an_implicit_root():
    c = compile(agent(NESTED))
    assert compile is compile_chart
    assert c.ids == ("test", "a", "a1", "a2", "h", "b", "r1", "x", "y", "r2", "c")
    assert c.state_ids == c.ids[1:]
    assert c.parent[c.index("x")] == c.index("r1")
    assert c.ancestors_of("x") == ("r1", "b")
    assert c.parent_of("a") is None
    assert c.depth[c.index("x")] == 3
    assert c.kind[ROOT] == COMPOUND and c.kind[c.index("b")] == PARALLEL
    assert c.kind_of("h") == "history" and c.kind_of("c") == "final" and c.kind_of("r2") == "atomic"
    assert c.children[c.index("a")] == (c.index("a1"), c.index("a2"))  # history is not a child region
    assert c.history_children[c.index("a")] == (c.index("h"),)
    b = c.index("b")
    assert [c.ids[i] for i in range(b + 1, c.end[b])] == ["r1", "x", "y", "r2"]  # descendants = interval
    assert c.state("a").initial == "a1"


def test_first_top_level_state_is_initial_by_default():
    c = compile(agent(NESTED))
    assert c.initial[ROOT] == c.index("a")
    assert [c.ids[i] for i in c.initial_entry] == ["a", "a1"]
    c2 = compile(agent(NESTED, initial="b"))
    assert [c2.ids[i] for i in c2.initial_entry] == ["b", "r1", "x", "r2"]


def test_domains_and_entry_sets_are_precomputed():
    c = compile(agent(NESTED))
    table = {(t["source"], tuple(t["events"])): t for t in describe(c)["transitions"]}
    go = table[("a", ("go",))]
    assert go["domain"] == "test" and go["entry"] == ["b", "r1", "x", "r2"]
    t = table[("a1", ("t",))]
    assert t["domain"] == "a" and t["entry"] == ["a2"]


def test_internal_transition_domain_is_the_source_only_for_descendant_targets():
    c = compile(
        agent(
            {
                "p": {
                    "initial": "q",
                    "on": {
                        "e": {"target": "q", "internal": True},
                        "f": {"target": "q"},
                        "g": {"target": "p", "internal": True},
                    },
                    "states": {"q": {}},
                }
            }
        )
    )
    domains = {t.events[0]: c.ids[t.domain] for t in c.transitions}
    assert domains == {"e": "p", "f": "test", "g": "test"}


def test_targetless_transitions_have_no_domain():
    c = compile(agent({"a": {"on": {"e": {"do": [Say("hi")]}}}}))
    assert c.transitions[0].domain == NO_DOMAIN and c.transitions[0].entry is None


def test_timer_transitions_come_after_event_transitions_with_reserved_names():
    c = compile(agent({"a": {"after": {30: "b"}, "every": {5: None}, "on": {"x": "b"}}, "b": {}}))
    trs = c.event_transitions[c.index("a")]
    assert [t.events for t in trs] == [("x",), ("after:a:0",), ("every:a:1",)]
    timers = c.timers[c.index("a")]
    assert [(t.key, t.delay, t.repeat) for t in timers] == [
        ("after:a:0", 30.0, False),
        ("every:a:1", 5.0, True),
    ]
    assert c.timer_of_event == {"after:a:0": c.index("a"), "every:a:1": c.index("a")}


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("user", "user", True),
        ("user", "user.said", True),
        ("user.*", "user.speech.started", True),
        ("user*", "user.said", True),
        ("user", "username", False),
        ("user.said", "user", False),
        ("*", "anything.at.all", True),
        ("tool.*.done", "tool.find.done", True),
        ("tool.*.done", "tool.find.error", False),
    ],
)
def test_event_matching(pattern, name, expected):
    assert matches(pattern, name) is expected


def test_priorities_most_specific_pattern_wins():
    c = compile(agent({"a": {}}, priorities={"user": 3, "user.speech.started": 0, "*": 7}))
    assert c.priority_of("user.speech.started") == 0
    assert c.priority_of("user.said") == 3
    assert c.priority_of("tool.x.done") == 7
    assert compile(agent({"a": {}})).priority_of("x") == DEFAULT_PRIORITY


def test_chart_is_immutable():
    c = compile(agent({"a": {}}))
    with pytest.raises(AttributeError):
        c.ids = ()


def test_event_dispatch_is_cached_per_state_and_name():
    c = compile(
        agent(
            {"p": {"initial": "a", "on": {"e": "q"}, "states": {"a": {"on": {"e.x": "b"}}, "b": {}}}, "q": {}}
        )
    )
    chain = c.chain(c.index("a"), "e.x.y")
    assert [t.source for t in chain] == ["a", "p"]
    assert c.chain(c.index("a"), "e.x.y") is chain
    assert [t.source for t in c.chain(c.index("a"), "e")] == ["p"]


# --------------------------------------------------------------------------- rejected charts


def test_unknown_target_with_hint():
    with pytest.raises(DiagnosticError) as e:
        compile(agent({"alpha": {"on": {"go": "alpah"}}, "beta": {}}))
    (d,) = e.value.diagnostics
    assert d.code == "E101" and "alpah" in d.message and d.hint == "did you mean 'alpha'?"


def test_structural_errors_are_all_reported():
    bad = {
        "a": {"states": {"a1": {}}},  # no initial
        "b": {"initial": "zz", "states": {"b1": {}}},  # initial not a child
        "f": {"type": "final", "on": {"e": "a"}},  # final with transitions
        "a1": {},  # duplicate id
    }
    with pytest.raises(DiagnosticError) as e:
        compile(agent(bad))
    assert sorted(codes(e)) == ["E102", "E103", "E104", "E105"]


def test_history_must_be_inside_a_state():
    with pytest.raises(DiagnosticError) as e:
        compile(agent({"a": {}, "h": {"type": "history"}}))
    assert codes(e) == ["E106"]


def test_history_default_must_be_inside_its_parent():
    with pytest.raises(DiagnosticError) as e:
        compile(
            agent(
                {
                    "p": {"initial": "a", "states": {"a": {}, "h": {"type": "history", "default": "q"}}},
                    "q": {},
                }
            )
        )
    assert codes(e) == ["E106"]


def test_agent_initial_must_be_top_level():
    with pytest.raises(DiagnosticError) as e:
        compile(agent({"p": {"initial": "a", "states": {"a": {}}}}, initial="a"))
    assert codes(e) == ["E104"]


def test_several_targets_must_be_in_different_regions():
    ok = {
        "p": {
            "type": "parallel",
            "states": {
                "r1": {"initial": "x", "states": {"x": {}, "y": {}}},
                "r2": {"initial": "u", "states": {"u": {}, "v": {}}},
            },
        },
        "s": {"on": {"e": "y v"}},
    }
    compile(agent(ok, initial="s"))
    bad = dict(ok, s={"on": {"e": "x y"}})
    with pytest.raises(DiagnosticError) as e:
        compile(agent(bad, initial="s"))
    assert codes(e) == ["E117"]


def test_bad_expressions_are_diagnostics():
    with pytest.raises(DiagnosticError) as e:
        compile(
            agent(
                {
                    "a": {
                        "on": {"e": {"guard": "x >", "target": "a"}, "f": {"guard": "nope(1)", "target": "a"}}
                    }
                },
                variables={"x": "0"},
            )
        )
    assert codes(e) == ["E011", "E116"]
    with pytest.raises(DiagnosticError) as e:
        compile(agent({"a": {"entry": [Say("hello {")]}}))
    assert codes(e) == ["E011"]


def test_unknown_variable_and_tool():
    with pytest.raises(DiagnosticError) as e:
        compile(agent({"a": {"entry": [Set("ghost", Expr("1")), Call("nowhere")]}}))
    assert sorted(codes(e)) == ["E107", "E108"]
    tool = Tool("find", "m:f")
    compile(agent({"a": {"entry": [Call("find")]}}, tools=(tool,)))


def test_agent_without_states():
    with pytest.raises(DiagnosticError) as e:
        compile(agent({}))
    assert codes(e) == ["E006"]


def test_variable_initial_values():
    c = compile(agent({"a": {}}, variables={"n": "1", "s": "'x'", "l": "[1, 2]", "z": None, "b": "true"}))
    assert c.initial_variables == {"n": 1, "s": "x", "l": [1, 2], "z": None, "b": True}
