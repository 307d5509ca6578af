"""Validation of models built in code: each check, its span and its hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from counterpoint.dsl import (
    Agent,
    Call,
    Cancel,
    EventDecl,
    Expr,
    Log,
    Raise,
    Say,
    Send,
    Set,
    Span,
    Spawn,
    State,
    StateKind,
    Timer,
    Tool,
    Transition,
    Variable,
)
from counterpoint.dsl.names import overlaps
from counterpoint.dsl.validate import validate

F = "a.agent.yaml"


def sp(line: int, col: int = 1) -> Span:
    return Span(F, line, col)


def codes(agent: Agent, tmp_path: Path | None = None) -> list[str]:
    return sorted(d.code for d in validate(agent, tmp_path or Path("."), check_handlers=tmp_path is not None))


def diags(agent: Agent, code: str) -> list:
    return [d for d in validate(agent, Path("."), check_handlers=False) if d.code == code]


def on(event: str, *targets: str, guard: str | None = None, actions=(), line: int = 1, internal=False):
    g = Expr(guard, sp(line, 20)) if guard else None
    return Transition(tuple(event.split()), targets, g, tuple(actions), internal, sp(line, 5))


def agent(*states: State, **kw) -> Agent:
    return Agent("a", states=states, span=sp(1), **kw)


def test_valid_agent_has_no_diagnostics() -> None:
    a = agent(
        State("chat", transitions=(on("user.said", "bye", guard="'bye' in text"),), entry=(Say("Hi"),)),
        State("bye", StateKind.FINAL, entry=(Say("Bye {n}"),)),
        variables=(Variable("n", Expr("0")),),
    )
    assert validate(a, Path(".")) == []


def test_unknown_target_with_suggestion() -> None:
    a = agent(State("chat", transitions=(on("user.said", "confrim", line=4),)), State("confirm"))
    (d,) = diags(a, "E101")
    assert d.span == sp(4, 5) and d.hint == "did you mean 'confirm'?" and "confrim" in d.message


def test_timer_and_history_default_targets_checked() -> None:
    a = agent(
        State(
            "p",
            initial="x",
            children=(
                State("x", timers=(Timer("after", 5, ("nowhere",), span=sp(3)),)),
                State("h", StateKind.HISTORY, default=("missing",), span=sp(4)),
            ),
        )
    )
    assert [d.span.line for d in diags(a, "E101")] == [3, 4]


def test_duplicate_state_ids_anywhere() -> None:
    a = agent(
        State("a", initial="b", children=(State("b", span=sp(3)),), span=sp(2)),
        State("b", span=sp(5)),
    )
    (d,) = diags(a, "E102")
    assert d.span == sp(5) and "(first defined at line 3, column 1)" in d.message


def test_compound_without_initial_and_root_default() -> None:
    a = agent(State("outer", children=(State("x"), State("y")), span=sp(2)))  # root initial omitted: ok
    (d,) = diags(a, "E103")
    assert d.span == sp(2) and d.hint == "add initial: x"


def test_initial_not_a_child() -> None:
    a = agent(
        State("outer", initial="y", children=(State("x"),), span=sp(2)),
        State("y"),
        State("leaf", initial="x", span=sp(7)),
        initial="chta",
    )
    ds = diags(a, "E104")
    assert [d.span.line for d in ds] == [1, 2, 7]
    assert ds[0].hint == "choose one of: outer, y, leaf"


def test_final_with_transitions_or_timers() -> None:
    a = agent(
        State("s", transitions=(on("go", "f"),)),
        State("f", StateKind.FINAL, transitions=(on("x", "s", line=6),)),
        State("g", StateKind.FINAL, timers=(Timer("after", 1.0, span=sp(9)),)),
        events=(EventDecl("go"), EventDecl("x")),
    )
    assert [d.span.line for d in diags(a, "E105")] == [6, 9]


def test_misplaced_history() -> None:
    a = agent(
        State("h0", StateKind.HISTORY, span=sp(2)),
        State(
            "c",
            initial="a1",
            children=(
                State("a1"),
                State("h1", StateKind.HISTORY, children=(State("z"),), span=sp(5)),
                State("h2", StateKind.HISTORY, default=("other",), span=sp(6)),
            ),
        ),
        State("other"),
    )
    assert [d.span.line for d in diags(a, "E106")] == [2, 5, 6]


def test_expression_syntax_error_position() -> None:
    a = agent(State("s", transitions=(on("user.said", guard="text ==", line=3),)))
    (d,) = diags(a, "E011")
    assert d.span.line == 3 and d.span.col > 20


def test_expression_syntax_error_in_template_and_var_init() -> None:
    a = agent(
        State("s", entry=(Say("Hi {name", sp(2, 3)),)),
        variables=(Variable("x", Expr("1 +", sp(8, 10)), sp(8, 5)),),
    )
    ds = diags(a, "E011")
    assert [(d.span.line, d.span.col) for d in ds] == [(8, 13), (2, 3)]


def test_unknown_names_and_event_fields() -> None:
    a = agent(
        State(
            "s",
            transitions=(
                on("user.said", guard="'x' in txet", line=2),  # typo of the event field
                on("tool.t.done", guard="result and call_id", line=3),  # tool event fields
                on("user.*", guard="anything_goes", line=4),  # wildcard: any field
                on("order.ready", guard="eta > 3 and bogus", line=5),  # declared fields
                on("ping", guard="n > 0 and event.name == 'ping'", line=6),  # raise data fields
                on("user.said", actions=(Set("count", Expr("count + 1")),), line=7),
            ),
            entry=(Raise("ping", (("n", Expr("1")),)),),
            tools=("t",),
        ),
        tools=(Tool("t", "m:f"),),
        events=(EventDecl("order.ready", ("order_id", "eta")),),
        variables=(Variable("count", Expr("0")),),
    )
    ds = diags(a, "E107")
    assert [(d.span.line, d.message) for d in ds] == [
        (2, "unknown name 'txet' in expression"),
        (5, "unknown name 'bogus' in expression"),
    ]
    assert ds[0].hint == "did you mean 'text'?"
    assert ds[0].span.col == 20 + len("'x' in ")


def test_set_undeclared_variable() -> None:
    a = agent(
        State("s", entry=(Set("cuont", Expr("1"), sp(3)),)),
        variables=(Variable("count", Expr("0")),),
    )
    (d,) = diags(a, "E107")
    assert d.span == sp(3) and d.hint == "did you mean 'count'?"


def test_entry_actions_only_see_variables_and_event() -> None:
    a = agent(State("s", entry=(Log("{text} {event.name}", sp(2)),)))
    (d,) = diags(a, "E107")
    assert "'text'" in d.message


def test_unknown_function_and_in_state() -> None:
    a = agent(
        State("s", transitions=(on("user.said", guard="lenght(text) > 2 and In('chta')", line=2),)),
        State("chat"),
    )
    (f,) = diags(a, "E116")
    assert f.hint == "did you mean 'len'?" and f.span == sp(2, 20)
    (t,) = diags(a, "E101")
    assert t.hint == "did you mean 'chat'?" and t.span.col == 20 + len("lenght(text) > 2 and In(")


def test_tools_references() -> None:
    a = agent(
        State(
            "s",
            tools=("find", "nope"),
            entry=(
                Call("find", id="c1"),
                Call("fnd", span=sp(4)),
                Cancel("c1"),
                Cancel("find"),
                Cancel("zzz", sp(5)),
            ),
            span=sp(2),
        ),
        tools=(Tool("find", "m:f"),),
    )
    assert [d.span.line for d in diags(a, "E108")] == [2, 4, 5]
    assert diags(a, "E108")[1].hint == "did you mean 'find'?"


def test_handlers_checked(tmp_path: Path) -> None:
    (tmp_path / "mytools.py").write_text("def f():\n    pass\n")
    a = agent(
        State("s", tools=("a", "b", "c", "d")),
        tools=(Tool("a", "mytools:f"), Tool("b", "os:system"), Tool("c", "mytools:g"), Tool("d", "bad spec")),
    )
    assert codes(a, tmp_path) == ["E109", "E110", "E115"]


def test_conflicting_unguarded_transitions() -> None:
    a = agent(
        State(
            "s",
            transitions=(
                on("go", "t", line=2),
                on("go", "t", guard="true", line=3),
                on("go", "s", line=4),
                on("go stop", "s", line=5),
                on("stop go", "s", line=6),
            ),
        ),
        State("t"),
        events=(EventDecl("go"), EventDecl("stop")),
    )
    assert [d.span.line for d in diags(a, "E111")] == [4, 6]


def test_unreachable_states() -> None:
    a = agent(
        State("start", transitions=(on("go", "par"),)),
        State(
            "par",
            StateKind.PARALLEL,
            children=(State("r1"), State("r2", initial="q", children=(State("q"),))),
        ),
        State(
            "hist_host",
            initial="k",
            children=(State("k"), State("hh", StateKind.HISTORY, default=("k",))),
            span=sp(7),
        ),
        State("island", initial="i1", children=(State("i1"),), span=sp(9)),
        State("via_timer", span=sp(10)),
        events=(EventDecl("go"),),
    )
    ds = diags(a, "W201")
    assert [d.message for d in ds] == [
        "state 'hist_host' is unreachable",
        "state 'island' is unreachable",
        "state 'via_timer' is unreachable",
    ]


def test_history_default_and_timer_reach() -> None:
    a = agent(
        State("a", timers=(Timer("after", 1.0, ("c",)),)),
        State(
            "c",
            initial="x",
            children=(
                State("x", transitions=(on("go", "h"),)),
                State("y"),
                State("h", StateKind.HISTORY, default=("y",)),
            ),
        ),
        events=(EventDecl("go"),),
    )
    assert diags(a, "W201") == []


def test_events_never_produced() -> None:
    a = agent(
        State(
            "s",
            transitions=(
                on("user.said", line=2),
                on("tool.t.done", line=3),
                on("tool.zz.done", line=4),
                on("done.state.s", line=5),
                on("order.ready", line=6),
                on("odrer.ready", line=7),
                on("ping", line=8),
                on("agent.h1.done", line=9),
                on("error", line=10),
                on("user.*", line=11),
                on("*", line=12),
                on("tool.t", line=13),
            ),
            entry=(Send("ping"), Call("t"), Spawn("h.agent.yaml", id="h1")),
        ),
        tools=(Tool("t", "m:f"),),
        events=(EventDecl("order.ready"),),
    )
    ds = diags(a, "W202")
    assert [d.span.line for d in ds] == [4, 5, 7]
    assert ds[2].hint == "did you mean 'order.ready'?"


@pytest.mark.parametrize(
    ("listened", "produced", "expected"),
    [
        ("user.said", "user.said", True),
        ("user", "user.said", True),
        ("user.*", "user.said", True),
        ("*", "anything", True),
        ("user.said", "user", False),
        ("user.said.x", "user.said", False),
        ("agent.h1.done", "agent.*", True),
        ("tool.x.done", "tool.y.done", False),
    ],
)
def test_overlaps(listened: str, produced: str, expected: bool) -> None:
    assert overlaps(listened, produced) is expected


def test_unused_tools_only_for_own_file() -> None:
    a = agent(
        State("s"),
        tools=(Tool("mine", "m:f", span=sp(3)), Tool("lib", "m:f", span=Span("lib.agent.yaml", 2, 3))),
    )
    (d,) = diags(a, "W203")
    assert d.span == sp(3)


def test_duplicate_declarations_in_one_agent() -> None:
    a = agent(State("s"), variables=(Variable("x", span=sp(2)), Variable("x", span=sp(3))))
    (d,) = diags(a, "E114")
    assert d.span == sp(3)


def test_deep_chart_does_not_crash() -> None:
    s = State("leaf")
    for i in range(300):
        s = State(f"s{i}", initial=s.id, children=(s,))
    assert validate(agent(s), Path("."), check_handlers=False) == []


def test_spawned_agent_files_must_exist(tmp_path):
    from counterpoint.dsl import check_file

    (tmp_path / "helper.agent.yaml").write_text("agent: helper\ninitial: s\nstates: {s: {}}\n")
    path = tmp_path / "a.agent.yaml"
    path.write_text(
        "agent: a\ninitial: s\nstates:\n  s:\n    entry:\n"
        "      - {spawn: {agent: helper.agent.yaml, id: h}}\n"
        "      - {fork: {agent: nope.agent.yaml, id: n}}\n"
    )
    _, diags = check_file(path)
    assert [(d.code, d.span.line, d.message) for d in diags] == [
        ("E113", 7, "fork: agent file 'nope.agent.yaml' not found")
    ]


def test_handler_errors_are_reported_next_to_recovered_front_end_errors(tmp_path):
    from counterpoint.dsl import check_file

    path = tmp_path / "a.agent.yaml"
    path.write_text(
        "agent: a\ntools:\n  t:\n    handler: os:system\n    timeout: never\ninitial: s\nstates:\n  s: {tools: [t]}\n"
    )
    _, diags = check_file(path)
    assert sorted(d.code for d in diags) == ["E007", "E110"]
