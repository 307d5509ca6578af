"""The textual printer: canonical layout, exact strings, and print -> parse round trips."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counterpoint.dsl import (
    Agent,
    Call,
    Expr,
    LLMSettings,
    Param,
    Say,
    Send,
    State,
    StateKind,
    Timer,
    Tool,
    Transition,
    Variable,
    VoiceSettings,
    load_text,
    print_text,
)
from counterpoint.dsl.text.printer import quote

CONCIERGE = """\
agent concierge
description "Books restaurant tables."
instructions \"\"\"You are a concise, friendly concierge.
Keep answers short.\"\"\"
llm { provider "openai" model "gpt-4o-mini" temperature 0.3 max_tokens 200 }
voice { asr "tiny.en" tts "joe" language "en" speed 1.0 }
allow requests_cache
include "common_tools.agent.yaml"
var attempts = 0
var city = "Paris"
event order.ready(order_id, eta)
priority user.speech.started = 0

tool find_table(
    cuisine: string,
    party: integer "number of guests",
    time?: string,
    size: string in ["small", "large"],
) = concierge_tools:find_table {
    description "Search for free tables."
    timeout 1m
    cancel on interrupt
    keep on exit
    deliver interrupt
}

tool quick() = tools:quick

initial chat

state chat {
    description "Main conversation."
    prompt "Call find_table once you know cuisine, time and party size."
    tools find_table
    entry say "Hello!"; respond
    exit log "leaving chat"
    on tool.find_table.done -> confirm
    on user.said ['goodbye' in text] -> bye
    on user.said -> chat / set attempts = attempts + 1; respond
    on order.ready, order.late -> notify
    on user.speech.* internal -> listening
    on cancel / cancel find_table
    on remind / send remind(text = 'hi') after 30s as r1 priority 5
    always [attempts > 3] -> give_up
    after 45s / say "Are you still there?"
    every 10s / log "tick"
    initial ask
    state ask
    state wait

    parallel both {
        state left
        state right
    }

    history back deep -> ask
    history shallow_back
}

state confirm {
    prompt "Read the options back and ask which one to book."
}

final bye {
    entry say "Goodbye!"; spawn "helper.agent.yaml" as h1 task "Find flights"; fork "x.agent"
}

state dialog {
    include "std:dialog"
}
"""


def round_trip(agent: Agent) -> str:
    text = print_text(agent)
    loaded, diags = load_text(text, "printed.agent")
    assert diags == [], (text, [d.format() for d in diags])
    assert loaded == agent, text
    assert print_text(loaded) == text, text
    return text


def test_canonical_text_is_a_fixed_point():
    agent, diags = load_text(CONCIERGE, "c.agent")
    assert diags == []
    assert print_text(agent) == CONCIERGE


def test_free_form_text_is_printed_canonically():
    agent, diags = load_text('agent a state s{on e->t/say "x";respond}initial s var n=1', "a.agent")
    assert diags == []
    assert print_text(agent) == textwrap.dedent(
        """\
        agent a
        var n = 1

        initial s

        state s {
            on e -> t / say "x"; respond
        }
        """
    )


def test_minimal_agent():
    assert round_trip(Agent("a")) == "agent a\n"


def test_empty_settings_blocks():
    text = round_trip(Agent("a", llm=LLMSettings(), voice=VoiceSettings()))
    assert "llm {}" in text and "voice {}" in text


def test_numbers_in_settings():
    round_trip(Agent("a", llm=LLMSettings(temperature=1e-05, max_tokens=0), voice=VoiceSettings(speed=2.0)))
    round_trip(Agent("a", llm=LLMSettings(temperature=-0.5, max_tokens=-1)))
    # an int where a float is expected reads back as the equal float
    agent = Agent("a", llm=LLMSettings(temperature=1))  # type: ignore[arg-type]
    loaded, _ = load_text(print_text(agent), "x.agent")
    assert loaded == agent


TRICKY = [
    "",
    'say "hi"',
    "back\\slash \\n not a newline",
    "two\nlines",
    "\nleading and trailing\n",
    'ends with a quote"',
    '"starts with a quote',
    'contains """ triple quotes\nand a newline',
    'ends with two quotes""\nx""',
    "{braces} and {{escaped}} # and a hash",
    "tab\there\nnewline",
    "carriage\r\nreturn",
    "control \x00 \x07 \x1b",
    "unicode é 日本語 😀 \u2028 \x85",
    "   spaces   ",
    "\n",
    '"""',
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_strings_round_trip(text):
    state = State("s", description=text, prompt=text, entry=(Say(text),))
    round_trip(Agent("a", description=text, instructions=text, states=(state,)))


def test_quote_style():
    assert quote("plain") == '"plain"'
    assert quote("two\nlines") == '"""two\nlines"""'
    assert quote('ends"\nwith quote"') == '"""ends"\nwith quote""""'
    assert quote('has """\ninside') == '"has \\"\\"\\"\\ninside"'
    assert quote("cr\r\nlf") == '"cr\\r\\nlf"'


def test_tool_params_and_settings():
    tool = Tool(
        "t",
        "pkg.mod:fn",
        (
            Param("a"),
            Param("b", "integer", 'a "quoted" description', required=False),
            Param("c", "number", enum=(1, 2.5, -3, True, "x")),
            Param("d", "string", "multi\nline", enum=()),
        ),
        description="d",
        timeout=0.25,
        on_interrupt="cancel",
        on_exit="keep",
        deliver="silent",
    )
    round_trip(Agent("a", tools=(tool, Tool("u", "not a handler"), Tool("v", "m:f", deliver="interrupt"))))


def test_history_states():
    text = round_trip(
        Agent(
            "a",
            states=(
                State(
                    "p",
                    initial="x",
                    children=(
                        State("x"),
                        State("h", StateKind.HISTORY, history="shallow"),
                        State("d", StateKind.HISTORY, history="deep", default=("x", "y")),
                    ),
                ),
            ),
        )
    )
    assert "history h\n" in text and "history d deep -> x, y\n" in text


def test_empty_after_timer_after_a_send():
    state = State(
        "s",
        transitions=(Transition(("e",), actions=(Send("x"),)),),
        timers=(Timer("after", 5.0), Timer("after", 1.0, actions=(Send("y"),)), Timer("after", 2.0, ("s",))),
    )
    text = round_trip(Agent("a", states=(state,)))
    assert "after 5s /\n" in text


def test_long_action_lists_are_split():
    actions = tuple(Say("x" * 30) for _ in range(5))
    text = round_trip(Agent("a", states=(State("s", entry=actions, exit=actions),)))
    assert text.count("entry say") == 5


def test_keyword_names_round_trip():
    kw = ["state", "on", "cancel", "log", "final", "history", "deep", "after", "in", "not", "true", "agent"]
    states = tuple(State(k, entry=(Call(k, ((k, Expr("1")),), k),)) for k in kw)
    round_trip(Agent("agent", variables=tuple(Variable(k) for k in kw), initial="on", states=states))


def test_deep_nesting():
    state = State("leaf")
    for i in range(50):
        state = State(f"s{i}", initial=state.id, children=(state,))
    round_trip(Agent("a", states=(state,)))


# --------------------------------------------------------------------------- properties


PROPERTY = settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@pytest.mark.slow
def test_random_models_round_trip():
    import helpers.models as strategies

    @settings(PROPERTY, max_examples=60)
    @given(strategies.agents())
    def check(agent):
        round_trip(agent)

    check()


@PROPERTY
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_any_text_round_trips(text):
    round_trip(Agent("a", instructions=text, states=(State("s", prompt=text, entry=(Say(text),)),)))


@PROPERTY
@given(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**63), 2**63),
    st.lists(st.one_of(st.text(max_size=5), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                       st.booleans()), max_size=4),
)  # fmt: skip
def test_any_numbers_round_trip(temperature, max_tokens, enum):
    round_trip(
        Agent(
            "a",
            llm=LLMSettings(temperature=temperature, max_tokens=max_tokens),
            tools=(Tool("t", "m:f", (Param("p", enum=tuple(enum)),)),),
        )
    )


def test_long_transitions_continue_on_the_next_line():
    guard = Expr("x / 2 > " + "1" * 60)
    state = State(
        "s",
        transitions=(
            Transition(("e",), ("s",), guard, (Say("y" * 40),)),
            Transition(("f",), actions=(Say("z"),)),
        ),
        timers=(Timer("after", 1.0, ("s",), guard, (Say("y" * 40),)),),
    )
    text = round_trip(Agent("a", states=(state,)))
    assert f"    on e [{guard.source}] -> s\n        / say " in text
    assert '    on f / say "z"\n' in text
    assert f"    after 1s [{guard.source}] -> s\n        / say " in text


def test_a_tool_without_description_prints_its_settings_after_the_handler():
    from counterpoint.dsl import Agent, State, Tool

    agent = Agent("a", tools=(Tool("t", "m:f", timeout=5.0, deliver="silent"),), initial="s", states=(State("s"),))
    text = print_text(agent)
    assert "tool t() = m:f\n    timeout 5s, deliver silent\n" in text
    assert load_text(text, "x.agent")[0] == agent
