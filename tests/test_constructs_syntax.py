"""Conditional actions, final-state data and initial transitions in both syntaxes: the same
model from YAML and from text, printed back by both printers, their mistakes, their labels."""

from __future__ import annotations

from counterpoint.dsl import Branch, Expr, If, Log, Say, Set, load_text, load_yaml, print_text, print_yaml
from counterpoint.dsl.render import to_dot
from counterpoint.dsl.render.labels import action_text

YAML = """\
agent: shop
vars: {size: null, n: 0}
states:
  order:
    initial: {target: resume, do: [{log: welcome back}, {set: {n: n + 1}}]}
    on:
      user.said:
        do:
          - if: "'large' in text"
            then: [{set: {size: "'large'"}}, {say: A large one.}]
            elif:
              - if: "'small' in text"
                then:
                  - if: "n > 1"
                    then: {say: Small again.}
                    else: {say: A small one.}
            else: {say: Large or small?}
          - log: "size is {size}"
      done.state.order: {target: bye, say: "Total {total}."}
    states:
      ask: {on: {ok: paid}}
      resume: {type: history, default: ask}
      paid: {type: final, data: {total: n * 2, size: size}}
  bye: {type: final, data: {size: size}}
"""

TEXT = """\
agent shop
var size = null
var n = 0

state order {
    on user.said
        / if ['large' in text] { set size = 'large'; say "A large one." } elif ['small' in text] { if [n > 1] { say "Small again." } else { say "A small one." } } else { say "Large or small?" }; log "size is {size}"
    on done.state.order -> bye / say "Total {total}."
    initial resume / log "welcome back"; set n = n + 1

    state ask {
        on ok -> paid
    }

    history resume -> ask
    final paid(total = n * 2, size = size)
}

final bye(size = size)
"""


def load(text: str, name: str = "shop.agent"):
    agent, diags = (load_yaml if name.endswith(".yaml") else load_text)(text, name)
    assert agent is not None, diags
    return agent, diags


def test_yaml_and_text_give_the_same_model():
    from_yaml, d1 = load(YAML, "shop.agent.yaml")
    from_text, d2 = load(TEXT)
    assert not d1 and not d2
    assert from_yaml == from_text
    order = from_text.states[0]
    assert order.initial == "resume"
    assert order.initial_actions == (Log("welcome back"), Set("n", Expr("n + 1")))
    assert order.children[2].data == (("total", Expr("n * 2")), ("size", Expr("size")))
    choice = order.transitions[0].actions[0]
    assert choice == If(
        (
            Branch(Expr("'large' in text"), (Set("size", Expr("'large'")), Say("A large one."))),
            Branch(
                Expr("'small' in text"),
                (If((Branch(Expr("n > 1"), (Say("Small again."),)),), (Say("A small one."),)),),
            ),
        ),
        (Say("Large or small?"),),
    )


def test_the_text_printer_writes_the_canonical_text():
    agent, _ = load(YAML, "shop.agent.yaml")
    assert print_text(agent) == TEXT


def test_the_yaml_printer_round_trips():
    agent, _ = load(TEXT)
    printed = print_yaml(agent)
    again, diags = load(printed, "printed.agent.yaml")
    assert not diags and again == agent
    assert "initial:\n      target: resume\n      do: [{log: welcome back}, {set: {n: n + 1}}]\n" in printed
    assert "paid: {type: final, data: {total: n * 2, size: size}}" in printed
    # an 'if' as the only action of a transition stays under 'do:' (it is not a transition key)
    single, _ = load('agent a\nvar n = 0\nstate s { on go / if [n] { log "x" } }\n')
    assert "do: {if: n, then: {log: x}}" in print_yaml(single)


def codes(text: str, name: str = "m.agent.yaml") -> list[tuple[str, int, int, str]]:
    _, diags = (load_yaml if name.endswith(".yaml") else load_text)(text, name)
    return [(d.code, d.span.line, d.span.col, d.message) for d in diags]


def test_yaml_mistakes_with_if():
    text = (
        "agent: a\nstates:\n  s:\n    on:\n"
        '      go: {target: s, if: "true", then: {say: x}}\n'
        "      stop: {target: s, then: {say: x}}\n"
        "      more:\n        do:\n"
        '          - if: "true"\n'
        "          - {if: null, then: {say: x}}\n"
    )
    assert codes(text) == [
        ("E005", 5, 23, "'if' cannot be written directly on a transition"),
        ("E004", 6, 25, "unknown key 'then' in a transition"),
        ("E006", 9, 13, "missing required key 'then' in 'if'"),
        ("E006", 10, 14, "'if' needs a condition"),
    ]


def test_data_belongs_to_final_states_only():
    found = codes("agent: a\nstates:\n  s: {data: {x: 1}}\n")
    assert found == [("E004", 3, 7, "unknown key 'data' in state 's'")]
    # the textual syntax has no place for it: data follow the name of a final state only
    assert codes("agent a\nstate s(x = 1)\n", "m.agent")[0][0] == "E002"


def test_if_conditions_need_brackets_in_the_textual_syntax():
    found = codes('agent a\nvar n = 0\nstate s { entry if n > 1 { say "x" } }\n', "m.agent")
    assert found[0][:3] == ("E002", 3, 20) and "expected '['" in found[0][3]


def test_labels_and_diagrams():
    choice = If(
        (Branch(Expr("n > 1"), (Say("Many"),)), Branch(Expr("n == 1"), ())),
        (Log("none"),),
    )
    assert action_text(choice) == 'if [n > 1] {say "Many"} elif [n == 1] {} else {log}'
    agent, _ = load(TEXT)
    dot = to_dot(agent)
    assert "/ log; set n" in dot  # the initial transition's actions label its edge
    assert "data / total, size" in dot  # a final state shows the names of its data
    assert "if [&#x27;large&#x27; in text&#93; {set size" in dot
