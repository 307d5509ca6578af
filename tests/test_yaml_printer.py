"""The YAML printer: canonical, readable text that reads back into the same model."""

from __future__ import annotations

import textwrap

import pytest

from counterpoint.dsl import (
    Agent,
    Call,
    Expr,
    LLMSettings,
    Param,
    Respond,
    Say,
    Set,
    State,
    StateKind,
    Timer,
    Tool,
    Transition,
    Variable,
    load_yaml,
    print_yaml,
)
from counterpoint.dsl.names import AGENT_RE

CONCIERGE = """\
agent: concierge
instructions: You are a concise, friendly concierge on a phone call.
tools:
  find_table:
    handler: concierge_tools:find_table
    params: {cuisine: string, time: string, party: integer}
    timeout: 60s
    on_interrupt: keep
    deliver: when_idle
initial: chat
states:
  chat:
    prompt: Call find_table once you know cuisine, time and party size.
    tools: [find_table]
    on:
      tool.find_table.done: confirm
      user.said: {guard: "'goodbye' in text", target: bye}
    after:
      45s: {say: Are you still there?}
  confirm: {prompt: Read the options back and ask which one to book.}
  bye: {type: final, entry: {say: Goodbye!}}
"""

CONCIERGE_PRINTED = """\
agent: concierge
instructions: You are a concise, friendly concierge on a phone call.
tools:
  find_table:
    handler: concierge_tools:find_table
    params: {cuisine: string, time: string, party: integer}
    timeout: 1m
initial: chat
states:
  chat:
    prompt: Call find_table once you know cuisine, time and party size.
    tools: [find_table]
    on:
      tool.find_table.done: confirm
      user.said: {guard: "'goodbye' in text", target: bye}
    after: {45s: {say: 'Are you still there?'}}
  confirm: {prompt: Read the options back and ask which one to book.}
  bye: {type: final, entry: {say: Goodbye!}}
"""


def load(text: str) -> Agent:
    agent, diags = load_yaml(text, "t.agent.yaml")
    assert diags == [], [d.format() for d in diags]
    assert agent is not None
    return agent


def round_trip(agent: Agent) -> str:
    text = print_yaml(agent)
    assert load(text) == agent, text
    return text


def test_concierge_prints_canonically() -> None:
    assert print_yaml(load(CONCIERGE)) == CONCIERGE_PRINTED
    assert print_yaml(load(CONCIERGE_PRINTED)) == CONCIERGE_PRINTED


TRICKY = [
    "yes",
    "no",
    "on",
    "off",
    "null",
    "Null",
    "~",
    "",
    "12",
    "-3",
    "1.5",
    "1e5",
    ".5",
    "0x1F",
    "0o17",
    ".inf",
    "-.Inf",
    ".nan",
    "true",
    "FALSE",
    "2001-12-14",
    "#x",
    "a #b",
    ": ",
    "a: b",
    "- x",
    "-",
    "? x",
    "*x",
    "&x",
    "!x",
    "%x",
    "@x",
    "`x",
    "|",
    ">",
    "[x]",
    "{x}",
    "x, y",
    "{{ literal }}",
    "it's",
    'say "hi"',
    "both ' and \"",
    " leading",
    "trailing ",
    "multi\nline",
    "multi\nline\n",
    "\nleading break",
    "trailing breaks\n\n",
    " indented\nfirst line",
    "a \nb",
    "tab\there",
    "crlf\r\n",
    "nel\x85x",
    "ls\u2028x",
    "ps\u2029x",
    "bell\x07",
    "del\x7f",
    "ünïcödé ✓ 日本 😀",
    "\ufeffbom",
    "back\\slash",
    "---",
    "...",
    "x" * 300,
]


@pytest.mark.parametrize("text", TRICKY, ids=repr)
def test_tricky_texts_survive(text: str) -> None:
    agent = Agent(
        text if AGENT_RE.fullmatch(text) else "a",  # other names are E115 (as in the DSL)
        description=text,
        states=(State("s", entry=(Say(text), Respond(text)), prompt=text),),
        variables=(Variable("v", Expr(f'"{text}"' if text.isalnum() else '"x"')),),
    )
    round_trip(agent)


@pytest.mark.parametrize(
    "source", ["1", "-1", "2.5", "1.0", "true", "false", "null", "1e5", "2.50", "'x'", "x"]
)
def test_expression_values_keep_their_source(source: str) -> None:
    agent = Agent(
        "a", states=(State("s", entry=(Set("x", Expr(source)), Call("t", (("a", Expr(source)),)))),)
    )
    round_trip(agent)


def test_literal_expressions_print_unquoted() -> None:
    agent = Agent(
        "a", states=(State("s", entry=(Set("x", Expr("1")), Set("y", Expr("true")), Set("z", Expr("1e5")))),)
    )
    text = round_trip(agent)
    assert "{set: {x: 1, y: true, z: '1e5'}}" in text


def test_var_inits_print_as_yaml_values() -> None:
    agent = Agent(
        "a",
        variables=(
            Variable("n", Expr("1")),
            Variable("s", Expr('"yes"')),
            Variable("l", Expr('[1, "two", null, {"k": false}]')),
            Variable("big", Expr("1e+100")),
        ),
    )
    text = round_trip(agent)
    assert "n: 1\n" in text and "s: yes\n" in text and "l: [1, two, null, {k: false}]" in text


def test_non_json_var_init_falls_back_to_expression_literal() -> None:
    agent = Agent("a", variables=(Variable("s", Expr("'Paris'")), Variable("n", Expr("-2"))))
    assert load(print_yaml(agent)).variables == (Variable("s", Expr('"Paris"')), Variable("n", Expr("-2")))


def test_short_forms() -> None:
    agent = Agent(
        "a",
        tools=(Tool("t", "m:f", (Param("a"), Param("b", "integer", required=False))),),
        states=(
            State(
                "s",
                transitions=(
                    Transition(("e",), ("x",)),
                    Transition(("f", "g"), ("x", "y")),
                    Transition(("h",), actions=(Respond(),)),
                    Transition(("i",), ("x",), actions=(Set("a", Expr("1")), Set("b", Expr("2")))),
                ),
                timers=(Timer("after", 90.0, ("x",)),),
            ),
        ),
    )
    text = round_trip(agent)
    assert "params: {a: string, b: {type: integer, required: false}}" in text
    assert "e: x\n" in text
    assert "f g: {target: [x, y]}" in text
    assert "h: {do: respond}" in text
    assert "i: {target: x, set: {a: 1, b: 2}}" in text
    assert "after: {90s: x}" in text


def test_same_variable_set_twice_stays_two_actions() -> None:
    agent = Agent("a", states=(State("s", entry=(Set("a", Expr("1")), Set("a", Expr("2")))),))
    assert "[{set: {a: 1}}, {set: {a: 2}}]" in round_trip(agent)


def test_non_contiguous_groups_are_merged_into_one_key() -> None:
    agent = Agent(
        "a",
        states=(
            State(
                "s",
                transitions=(
                    Transition(("e",), ("x",)),
                    Transition(("f",), ("y",)),
                    Transition(("e",), ("z",)),
                ),
            ),
        ),
    )
    text = print_yaml(agent)
    loaded = load(text)
    assert [t.targets for t in loaded.states[0].transitions] == [("x",), ("z",), ("y",)]


def test_history_defaults() -> None:
    shallow = State("h", StateKind.HISTORY, history="shallow")
    assert "h: {type: history}" in round_trip(Agent("a", states=(shallow,)))
    deep = State("h", StateKind.HISTORY, history="deep", default=("a", "b"))
    assert "h: {type: history, history: deep, default: [a, b]}" in round_trip(Agent("a", states=(deep,)))


def test_llm_numbers() -> None:
    agent = Agent("a", llm=LLMSettings(temperature=1.0, max_tokens=5))
    assert "llm: {temperature: 1.0, max_tokens: 5}" in round_trip(agent)
    assert "llm: {}" in round_trip(Agent("a", llm=LLMSettings()))


def test_compound_states_are_blocks() -> None:
    agent = Agent("a", initial="p", states=(State("p", initial="c", children=(State("c"),)),))
    assert print_yaml(agent) == textwrap.dedent(
        """\
        agent: a
        initial: p
        states:
          p:
            initial: c
            states:
              c: {}
        """
    )
