"""W3C-style semantics tests for conditional actions, final-state data, initial transitions
with actions or a history target, and the current event's name.

Each chart is a translation of the idea of an SCXML conformance test (the number says which):
it ends in the top-level final state ``pass`` when the behaviour is right and in ``fail``
otherwise, so a test only has to send the events and check where the chart ended. The same
charts are read from YAML as well where the YAML form is the point.
"""

from __future__ import annotations

import pytest

from counterpoint.dsl import load_text, load_yaml
from counterpoint.engine import Event, compile, start, step
from counterpoint.engine import effects as fx
from helpers.steps import logs, raised, run


def chart(text: str):
    agent, diags = load_text(text, "w3c.agent")
    assert agent is not None and not [d for d in diags if d.is_error], diags
    return compile(agent)


def verdict(text: str, events: list[str | Event] = ()) -> str:
    """Where the chart ended: ``pass``, ``fail``, or the configuration when it did not finish."""
    snapshot, _ = run(chart(text), list(events))
    assert snapshot.finished, f"the chart did not finish: {snapshot.configuration}"
    return snapshot.configuration[-1]


# --------------------------------------------------------------------------- if / elif / else


def test_147_the_first_true_elif_runs_and_only_it():
    text = """
    agent t147
    var v = 0
    state s0 {
        entry if [false] { raise foo; set v = v + 1 } elif [true] { raise bar; set v = v + 1 } else { raise baz; set v = v + 1 }; raise bat
        on bar [v == 1] -> pass
        on * -> fail
    }
    final pass
    final fail
    """
    assert verdict(text) == "pass"


def test_148_else_runs_when_no_condition_holds():
    text = """
    agent t148
    var v = 0
    state s0 {
        entry if [false] { raise foo; set v = v + 1 } elif [false] { raise bar; set v = v + 1 } else { raise baz; set v = v + 1 }; raise bat
        on baz [v == 1] -> pass
        on * -> fail
    }
    final pass
    final fail
    """
    assert verdict(text) == "pass"


def test_149_nothing_runs_when_no_condition_holds_and_there_is_no_else():
    text = """
    agent t149
    var v = 0
    state s0 {
        entry if [false] { raise foo; set v = v + 1 } elif [false] { raise bar; set v = v + 1 }; raise bat
        on bat [v == 0] -> pass
        on * -> fail
    }
    final pass
    final fail
    """
    assert verdict(text) == "pass"


def test_nested_ifs_and_event_data_in_conditions():
    text = """
    agent nested
    var size = "large"
    state s0 {
        on order / if [qty > 1] { if [size == 'large'] { raise many_large } else { raise many } } else { raise one }
        on many_large -> pass
        on * -> fail
    }
    final pass
    final fail
    """
    assert verdict(text, [Event("order", {"qty": 3})]) == "pass"


def test_an_error_in_a_condition_stops_the_block_and_raises_error_execution():
    """SCXML: an error in executable content ends its block (test 159 for nested content)."""
    text = """
    agent errors
    var v = 0
    var m = {}
    state s0 {
        entry set v = 1; if [m.key > 1] { set v = 2 } else { set v = 3 }; set v = 4
        on error.execution [v == 1] -> pass
        on * -> fail
    }
    final pass
    final fail
    """
    c = chart(text)
    snapshot, effects = run(c, [])
    assert snapshot.configuration == ("pass",)
    errors = [e.event.data["error"] for e in effects if isinstance(e, fx.Raised)]
    assert "if [m.key > 1]" in errors[0]


def test_if_in_yaml_means_the_same():
    yaml = """
agent: t147
vars: {v: 0}
states:
  s0:
    entry:
      - if: "false"
        then: [{raise: foo}, {set: {v: v + 1}}]
        elif:
          - {if: "true", then: [{raise: bar}, {set: {v: v + 1}}]}
        else: [{raise: baz}, {set: {v: v + 1}}]
      - raise: bat
    on:
      bar: {guard: "v == 1", target: pass}
      "*": fail
  pass: {type: final}
  fail: {type: final}
"""
    agent, diags = load_yaml(yaml, "t147.agent.yaml")
    assert agent is not None and not diags
    snapshot, _ = run(compile(agent), [])
    assert snapshot.configuration == ("pass",)


# --------------------------------------------------------------------------- data of final states


def test_294_final_data_is_the_data_of_the_done_event():
    text = """
    agent t294
    var v = 1
    state s0 {
        initial s01
        on done.state.s0 [var1 == 1 and label == 'ok'] -> pass
        on done.state.s0 -> fail
        state s01 { on go -> s02 }
        final s02(var1 = v, label = 'ok')
    }
    final pass
    final fail
    """
    assert verdict(text, ["go"]) == "pass"


def test_final_data_is_evaluated_when_the_final_state_is_entered():
    """After its entry actions, with the event that led there."""
    text = """
    agent when
    var v = 1
    state s0 {
        initial s01
        on done.state.s0 [n == 2 and why == 'go'] -> pass
        on done.state.s0 -> fail
        state s01 { on go -> s02 }
        final s02(n = v, why = event.name) { entry set v = 2 }
    }
    final pass
    final fail
    """
    assert verdict(text, ["go"]) == "pass"


def test_343_an_error_in_final_data_raises_error_execution_first_and_the_done_event_has_no_data():
    text = """
    agent t343
    var m = {}
    state s0 {
        initial s01
        on error.execution -> s1
        on done.state.s0 -> fail
        state s01 { on go -> s02 }
        final s02(x = m.here)
    }
    state s1 {
        on done.state.s0 -> pass
        on * -> fail
    }
    final pass
    final fail
    """
    c = chart(text)
    snapshot, effects = run(c, ["go"])
    assert snapshot.configuration == ("pass",)
    done = [e.event for e in effects if isinstance(e, fx.Raised) and e.event.name == "done.state.s0"]
    assert done[0].data == {}


def test_a_parallel_states_done_event_carries_no_data():
    text = """
    agent par
    parallel p {
        state r1 { initial a  state a { on go -> f1 }  final f1(x = 1) }
        state r2 { initial b  state b { on go -> f2 }  final f2(y = 2) }
        on done.state.p -> end
    }
    final end
    """
    c = chart(text)
    _, effects = run(c, ["go"])
    done = {e.event.name: e.event.data for e in effects if isinstance(e, fx.Raised)}
    assert done == {"done.state.r1": {"x": 1}, "done.state.r2": {"y": 2}, "done.state.p": {}}


def test_a_top_level_final_state_with_data_reports_the_output():
    text = """
    agent out
    var n = 2
    state a { on go -> end }
    final end(total = n * 10)
    final other
    """
    c = chart(text)
    snapshot, effects = run(c, ["go"])
    assert snapshot.finished
    assert [e for e in effects if isinstance(e, fx.Finished)] == [fx.Finished("end", {"total": 20})]


def test_a_top_level_final_state_without_data_reports_nothing():
    c = chart("agent out\nstate a { on go -> end }\nfinal end\n")
    _, effects = run(c, ["go"])
    assert not [e for e in effects if isinstance(e, fx.Finished)]


# --------------------------------------------------------------------------- initial transitions


def test_412_initial_actions_run_after_the_parents_entry_and_before_the_childs():
    text = """
    agent t412
    state s0 {
        initial s01 / log "initial"
        entry log "entry s0"
        state s01 { entry log "entry s01" }
    }
    """
    _, effects = start(chart(text))
    assert logs(effects) == ["entry s0", "initial", "entry s01"]


def test_initial_actions_do_not_run_when_a_transition_targets_a_descendant():
    text = """
    agent explicit
    state s0 {
        initial s01 / log "initial"
        state s01 { on go -> s02 }
        state s02 { on back -> s0 }
        on jump -> s02
    }
    """
    c = chart(text)
    snapshot, effects = start(c)
    assert logs(effects) == ["initial"]
    snapshot, effects = step(c, snapshot, "jump")  # targets s02, inside s0: no default entry
    assert logs(effects) == []
    snapshot, effects = step(c, snapshot, "back")  # targets s0 itself: default entry again
    assert logs(effects) == ["initial"] and snapshot.configuration == ("s0", "s01")


def test_579_initial_to_history_resumes_where_the_chart_left_off():
    text = """
    agent resume
    var visits = 0
    state task {
        initial back / set visits = visits + 1
        on pause -> away
        state ask { on next -> confirm }
        state confirm { on next -> done }
        history back -> ask
        final done
    }
    state away { on resume -> task }
    """
    c = chart(text)
    snapshot, _ = start(c)
    assert snapshot.configuration == ("task", "ask")  # no history yet: the default
    snapshot, _ = run(c, ["next", "pause"], snapshot)
    assert snapshot.configuration == ("away",)
    snapshot, _ = step(c, snapshot, "resume")
    assert snapshot.configuration == ("task", "confirm")
    assert snapshot.variables["visits"] == 2


def test_an_initial_history_without_default_falls_back_to_the_first_child():
    text = """
    agent first
    state task {
        initial back
        history back
        state ask { on next -> confirm }
        state confirm
        on pause -> away
    }
    state away { on resume -> task }
    """
    c = chart(text)
    snapshot, _ = start(c)
    assert snapshot.configuration == ("task", "ask")
    snapshot, _ = run(c, ["next", "pause", "resume"], snapshot)
    assert snapshot.configuration == ("task", "confirm")


def test_initial_to_deep_history_inside_a_target_of_a_transition():
    """The entry set depends on recorded history even when the target is the parent, not
    the history state: such transitions are planned when taken, never memoised."""
    text = """
    agent deep
    state outer {
        initial inner
        on pause -> away
        state inner {
            initial h
            history h deep
            state a { initial a1  state a1 { on next -> a2 }  state a2 }
        }
    }
    state away { on resume -> outer }
    """
    c = chart(text)
    snapshot, _ = run(c, ["next", "pause", "resume"])
    assert snapshot.configuration == ("outer", "inner", "a", "a2")
    snapshot, _ = run(c, ["pause", "resume"], snapshot)
    assert snapshot.configuration == ("outer", "inner", "a", "a2")


def test_initial_in_yaml_takes_a_target_and_actions():
    yaml = """
agent: resume
states:
  task:
    initial: {target: back, do: {log: welcome}}
    states:
      ask: {}
      back: {type: history, default: ask}
"""
    agent, diags = load_yaml(yaml, "resume.agent.yaml")
    assert agent is not None and not diags
    snapshot, effects = start(compile(agent))
    assert snapshot.configuration == ("task", "ask") and logs(effects) == ["welcome"]


# --------------------------------------------------------------------------- the current event's name


def test_the_event_name_is_event_name_in_guards_and_actions():
    text = """
    agent names
    var seen = ""
    state s0 {
        on ping, pong [event.name == 'pong'] -> pass / set seen = event.name
        on * -> fail
    }
    final pass
    final fail
    """
    c = chart(text)
    snapshot, _ = run(c, ["pong"])
    assert snapshot.configuration == ("pass",) and snapshot.variables["seen"] == "pong"
    assert run(c, ["ping"])[0].configuration == ("fail",)


def test_318_the_event_stays_bound_in_eventless_transitions_and_entry_actions():
    text = """
    agent t318
    var name = ""
    state s0 { on foo -> s1 }
    state s1 {
        entry set name = event.name
        always [event.name == 'foo' and name == 'foo'] -> pass
        always -> fail
    }
    final pass
    final fail
    """
    assert verdict(text, ["foo"]) == "pass"


@pytest.mark.parametrize("tool", ["find_table", "book"])
def test_which_tool_failed_on_a_wildcard_transition(tool):
    text = """
    agent tools
    var failed = null
    tool find_table() = tools:find_table
    tool book() = tools:book
    state s0 {
        tools find_table, book
        on tool.*.error / set failed = split(event.name, '.')[1]; say "The {split(event.name, '.')[1]} call failed: {error}"
    }
    """
    c = chart(text)
    snapshot, effects = run(c, [Event(f"tool.{tool}.error", {"error": "boom", "call_id": "c1"})])
    assert snapshot.variables["failed"] == tool
    assert [e.text for e in effects if isinstance(e, fx.Speak)] == [f"The {tool} call failed: boom"]


def test_a_star_part_matches_exactly_one_part_and_keeps_prefix_matching():
    c = chart("agent p\nstate s { on tool.*.error / raise hit }\n")
    snapshot, _ = start(c)
    assert raised(step(c, snapshot, "tool.find.error")[1]) == ["hit"]
    assert raised(step(c, snapshot, "tool.find.error.more")[1]) == ["hit"]
    assert raised(step(c, snapshot, "tool.error")[1]) == []
    assert raised(step(c, snapshot, "tool.find.done")[1]) == []
