"""The JSON Schema of *.agent.yaml accepts what the loader accepts and rejects unknown keys."""

from __future__ import annotations

import textwrap

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings

from counterpoint.dsl import json_schema, load_yaml, print_yaml
from counterpoint.dsl.yaml.nodes import compose, to_python
from helpers.models import agents

VALIDATOR = jsonschema.Draft202012Validator(json_schema())

VALID = [
    "agent: a\n",
    """\
    agent: concierge
    description: Books restaurant tables.
    instructions: You are a concise, friendly concierge.
    llm: {provider: openai, model: gpt-4o-mini, temperature: 0.3, max_tokens: 100}
    voice: {asr: tiny.en, tts: joe, language: en, speed: 1.2}
    allow: [requests_cache]
    include: [common_tools.agent.yaml]
    vars: {attempts: 0, city: Paris, l: [1, {a: b}]}
    events:
      order.ready: [order_id, eta]
    priorities: {user.speech.started: 0, "*": 5}
    tools:
      find_table:
        handler: concierge_tools:find_table
        description: Search for free tables.
        params:
          cuisine: string
          party: {type: integer, description: number of guests}
          time: {type: string, required: false}
          size: {type: string, enum: [small, large]}
        timeout: 60s
        on_interrupt: keep
        on_exit: cancel
        deliver: when_idle
    initial: chat
    states:
      chat:
        description: Main conversation.
        prompt: Call find_table once you know cuisine, time and party size.
        tools: [find_table]
        entry: {say: Hello!}
        exit: [{log: leaving chat}]
        on:
          tool.find_table.done: confirm
          user.said:
            - {guard: "'goodbye' in text", target: bye}
            - {target: chat, do: [{set: {turns: turns + 1}}, respond]}
          "order.ready order.late": {target: notify}
          user.speech.*: {target: listening, internal: true}
          cancel: {do: [{cancel: find_table}]}
        always:
          - {guard: "attempts > 3", target: give_up}
        after:
          30s: reminder
          2m: {guard: "attempts < 3", say: Still there?}
        every:
          5s: {do: [{log: "tick {count}"}]}
        initial: ask
        states: {ask: {}, wait: {}}
      both:
        type: parallel
        states: {left: {}, right: {}}
      back:
        type: history
        history: deep
        default: chat
      done: {type: final}
      dialog: {include: "std:dialog"}
      acts:
        entry:
          - respond
          - respond: extra instruction
          - call: find_table
          - call: {tool: find_table, args: {party: party_size}, id: t1}
          - raise: ready
          - raise: {event: ready, data: {n: count}}
          - send: {event: remind, data: {text: "'hi'"}, delay: 30s, id: r1, priority: 5}
          - cancel_send: r1
          - spawn: {agent: helper.agent.yaml, id: h1, task: Find flights}
          - fork: {agent: helper.agent.yaml, id: h1}
    """,
    "agent: a\nevents: [ping, pong]\ninclude: 'std:dialog'\nstates: {s: , t: {tools: x, on: {e: }}}\n",
]

INVALID = [
    ("", "not an object"),
    ("states: {}\n", "missing agent"),
    ("agent: a\nstaets: {}\n", "unknown top key"),
    ("agent: a\nstates: {s: {promt: x}}\n", "unknown state key"),
    ("agent: a\nstates: {s: {type: composite}}\n", "bad state type"),
    ("agent: a\ntools: {t: {handler: 'm:f', deliver: later}}\n", "bad deliver"),
    ("agent: a\ntools: {t: {description: x}}\n", "missing handler"),
    ("agent: a\ntools: {t: {handler: 'm:f', timeout: soon}}\n", "bad duration"),
    ("agent: a\nstates: {s: {after: {soon: x}}}\n", "bad timer key"),
    ("agent: a\nstates: {s: {entry: [{say: a, log: b}]}}\n", "two keys in one action"),
    ("agent: a\nstates: {s: {entry: [{sya: a}]}}\n", "unknown action"),
    ("agent: a\nstates: {s: {on: {e: {targt: x}}}}\n", "unknown transition key"),
    ("agent: a\nstates: {s: {after: {1s: {internal: true}}}}\n", "internal on a timer"),
    ("agent: a\nstates: {9s: {}}\n", "bad state name"),
    ("agent: a\nstates: {s: {on: {'user..said': x}}}\n", "bad event"),
    ("agent: a\nstates: {s: {on: {e: {guard: 1}}}}\n", "guard not a string"),
    ("agent: a\nstates: {s: {entry: {set: {x: [1]}}}}\n", "list as a set value"),
    ("agent: a\nllm: {provider: ollama}\n", "bad provider"),
    ("agent: a\npriorities: {e: high}\n", "bad priority"),
]


def data_of(text: str):
    root, diags = compose(textwrap.dedent(text), "t")
    assert diags == []
    return None if root is None else to_python(root)


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json_schema())
    assert json_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_properties_have_descriptions() -> None:
    schema = json_schema()
    for key, prop in schema["properties"].items():
        assert prop.get("description"), key
    state = schema["$defs"]["state"]["anyOf"][1]
    for key, prop in state["properties"].items():
        assert prop.get("description"), key


@pytest.mark.parametrize("text", VALID)
def test_valid_examples_validate(text: str) -> None:
    agent, diags = load_yaml(textwrap.dedent(text), "t")
    assert agent is not None and diags == []
    VALIDATOR.validate(data_of(text))


@pytest.mark.parametrize("text,why", INVALID, ids=[why for _, why in INVALID])
def test_invalid_examples_do_not_validate(text: str, why: str) -> None:
    _, diags = load_yaml(text, "t")
    assert any(d.is_error for d in diags), why
    assert not VALIDATOR.is_valid(data_of(text)), why


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(agents())
def test_printed_models_validate(agent) -> None:
    VALIDATOR.validate(data_of(print_yaml(agent)))
