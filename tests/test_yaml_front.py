"""The YAML front end: every construct of docs/language.md, every diagnostic, hostile inputs."""

from __future__ import annotations

import random
import textwrap
import time

import pytest

from counterpoint.dsl import (
    Agent,
    Call,
    Cancel,
    CancelSend,
    EventDecl,
    Expr,
    Include,
    LLMSettings,
    Log,
    Param,
    Priority,
    Raise,
    Respond,
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
    VoiceSettings,
    load_yaml,
)
from counterpoint.dsl.yaml.nodes import MAX_NODES


def load(text: str) -> Agent:
    agent, diags = load_yaml(textwrap.dedent(text), "t.agent.yaml")
    assert diags == [], [d.format() for d in diags]
    assert agent is not None
    return agent


def diags_of(text: str) -> list[tuple[str, int, int]]:
    _, diags = load_yaml(textwrap.dedent(text), "t.agent.yaml")
    return [(d.code, d.span.line, d.span.col) for d in diags]


def one_diag(text: str):
    agent, diags = load_yaml(textwrap.dedent(text), "t.agent.yaml")
    assert len(diags) == 1, [d.format() for d in diags]
    return agent, diags[0]


MARK = "‸"


def marked(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Text without its ‸ marks, and the (line, col) each mark stood at."""
    text = textwrap.dedent(text)
    marks = []
    lines = []
    for number, line in enumerate(text.split("\n"), 1):
        while MARK in line:
            col = line.index(MARK)
            marks.append((number, col + 1))
            line = line[:col] + line[col + 1 :]
        lines.append(line)
    return "\n".join(lines), marks


def check_marked(code: str, text: str) -> None:
    """Exactly one diagnostic ``code`` at each ‸ of ``text``, nothing else."""
    clean, marks = marked(text)
    assert diags_of(clean) == [(code, line, col) for line, col in marks]


def state(text: str) -> State:
    """The single state ``s`` of an agent whose body is ``text`` (indented under it)."""
    body = textwrap.indent(textwrap.dedent(text), "    ")
    return load(f"agent: a\nstates:\n  s:\n{body}").states[0]


def transitions(text: str) -> tuple[Transition, ...]:
    return state(text).transitions


# --------------------------------------------------------------------------- the agent

CONCIERGE = """\
agent: concierge
description: Books restaurant tables.
instructions: You are a concise, friendly concierge.
llm: {provider: openai, model: gpt-4o-mini, temperature: 0.3, base_url: "http://x/v1", api_key_env: KEY, max_tokens: 200}
voice: {asr: tiny.en, tts: joe, language: en, speed: 1}
allow: [requests_cache]
include: [common_tools.agent.yaml]
vars: {attempts: 0, city: Paris}
events:
  order.ready: [order_id, eta]
priorities: {user.speech.started: 0}
tools: {}
initial: chat
states: {chat: {}}
"""


def test_agent_keys() -> None:
    a = load(CONCIERGE)
    assert a == Agent(
        name="concierge",
        description="Books restaurant tables.",
        instructions="You are a concise, friendly concierge.",
        llm=LLMSettings("openai", "gpt-4o-mini", "http://x/v1", "KEY", 0.3, 200),
        voice=VoiceSettings("tiny.en", "joe", "en", 1.0),
        allow=("requests_cache",),
        includes=(Include("common_tools.agent.yaml"),),
        variables=(Variable("attempts", Expr("0")), Variable("city", Expr('"Paris"'))),
        events=(EventDecl("order.ready", ("order_id", "eta")),),
        priorities=(Priority("user.speech.started", 0),),
        tools=(),
        initial="chat",
        states=(State("chat"),),
    )


def test_spans_are_one_based_and_cover_nodes() -> None:
    a = load(CONCIERGE)
    assert a.span == Span("t.agent.yaml", 1, 1, 15, 1)
    assert a.llm.span.line == 4 and a.llm.span.col == 6
    assert a.variables[1].span == Span("t.agent.yaml", 8, 21, 8, 32)
    assert a.includes[0].span.line == 7 and a.includes[0].span.col == 11
    assert a.events[0].span.line == 10 and a.events[0].span.col == 3
    assert a.states[0].span == Span("t.agent.yaml", 14, 10, 14, 18)


def test_include_and_allow_single_strings() -> None:
    a = load("agent: a\ninclude: 'std:dialog'\nallow: numpy\n")
    assert a.includes == (Include("std:dialog"),) and a.allow == ("numpy",)


def test_vars_are_yaml_literals_with_core_schema() -> None:
    a = load(
        """\
        agent: a
        vars:
          n: 1
          f: 2.5
          t: true
          z: null
          e:
          s: "12"
          yes_: yes
          on_: on
          date: 2001-12-14
          octal: 0o17
          hex: 0x1F
          l: [1, {k: no}]
          u: héllo
        """
    )
    assert [v.init.source for v in a.variables] == [
        "1",
        "2.5",
        "true",
        "null",
        "null",
        '"12"',
        '"yes"',
        '"on"',
        '"2001-12-14"',
        "15",
        "31",
        '[1, {"k": "no"}]',
        '"héllo"',
    ]


def test_keys_are_always_strings() -> None:
    a = load("agent: a\nvars: {true: 1, null: 3}\nstates: {s: {on: {yes: s}}}\n")
    assert [v.name for v in a.variables] == ["true", "null"]
    assert a.states[0].transitions[0].events == ("yes",)


def test_agent_name_may_contain_dashes_but_not_start_with_a_digit() -> None:
    assert load("agent: my-agent_2\n").name == "my-agent_2"
    agent, diags = load_yaml("agent: 007\n", "a.agent.yaml")
    assert agent is not None and agent.name == "007"  # kept as written, reported (as in the DSL)
    assert [(d.code, d.message) for d in diags] == [("E115", "invalid agent name '007'")]


def test_events_as_list_and_null_fields() -> None:
    a = load("agent: a\nevents: [ping, order.ready]\n")
    assert a.events == (EventDecl("ping"), EventDecl("order.ready"))
    a = load("agent: a\nevents: {ping: , pong: []}\n")
    assert a.events == (EventDecl("ping"), EventDecl("pong"))


def test_empty_sections() -> None:
    a = load("agent: a\nvars:\ntools:\nstates:\nevents:\npriorities:\nllm:\nvoice:\n")
    assert a == Agent("a")
    assert load("agent: a\nllm: {}\n").llm == LLMSettings()


# --------------------------------------------------------------------------- tools


def test_tool_full() -> None:
    a = load(
        """\
        agent: a
        tools:
          find_table:
            handler: concierge_tools:find_table
            description: Search for free tables.
            params:
              cuisine: string
              party: {type: integer, description: number of guests}
              time: {type: string, required: false}
              size: {type: string, enum: [small, large]}
              any:
              n: {enum: [1, 2.5, true]}
            timeout: 60s
            on_interrupt: cancel
            on_exit: keep
            deliver: interrupt
          quick: {handler: "m:f"}
        """
    )
    assert a.tools == (
        Tool(
            "find_table",
            "concierge_tools:find_table",
            (
                Param("cuisine", "string"),
                Param("party", "integer", "number of guests"),
                Param("time", "string", required=False),
                Param("size", "string", enum=("small", "large")),
                Param("any"),
                Param("n", enum=(1, 2.5, True)),
            ),
            "Search for free tables.",
            60.0,
            "cancel",
            "keep",
            "interrupt",
        ),
        Tool("quick", "m:f"),
    )


def test_tool_defaults_and_numeric_timeout() -> None:
    t = load("agent: a\ntools: {t: {handler: 'm:f', timeout: 1.5}}\n").tools[0]
    assert (t.timeout, t.on_interrupt, t.on_exit, t.deliver) == (1.5, "keep", "cancel", "when_idle")


# --------------------------------------------------------------------------- states


def test_state_keys() -> None:
    a = load(
        """\
        agent: a
        initial: chat
        states:
          chat:
            description: Main conversation.
            prompt: Call find_table once you know cuisine.
            tools: [find_table]
            entry: {say: Hello!}
            exit: [{log: leaving chat}]
            on: {}
            always: []
            after: {45s: {say: Are you still there?}}
            every: {10s: {log: tick}}
            initial: ask
            states: {ask: {}, wait: }
          both:
            type: parallel
            states: {left: {}, right: {}}
          back:
            type: history
            history: deep
            default: chat
          shallow_back: {type: history, default: [chat, both]}
          done: {type: final}
          dialog: {include: "std:dialog"}
          solo: {tools: find_table}
        """
    )
    chat, both, back, shallow, done, dialog, solo = a.states
    assert chat == State(
        "chat",
        initial="ask",
        children=(State("ask"), State("wait")),
        timers=(
            Timer("after", 45.0, actions=(Say("Are you still there?"),)),
            Timer("every", 10.0, actions=(Log("tick"),)),
        ),
        entry=(Say("Hello!"),),
        exit=(Log("leaving chat"),),
        prompt="Call find_table once you know cuisine.",
        tools=("find_table",),
        description="Main conversation.",
    )
    assert both == State("both", StateKind.PARALLEL, children=(State("left"), State("right")))
    assert back == State("back", StateKind.HISTORY, history="deep", default=("chat",))
    assert shallow == State("shallow_back", StateKind.HISTORY, history="shallow", default=("chat", "both"))
    assert done == State("done", StateKind.FINAL)
    assert dialog == State("dialog", include="std:dialog")
    assert solo.tools == ("find_table",)


def test_canonical_order_of_transitions_and_timers() -> None:
    s = state(
        """\
        every: {1s: a}
        always: [b]
        after: {2s: c}
        on: {e: d}
        """
    )
    assert [t.targets for t in s.transitions] == [("d",), ("b",)]
    assert [(t.kind, t.targets) for t in s.timers] == [("after", ("c",)), ("every", ("a",))]


# --------------------------------------------------------------------------- transitions


def test_transitions_of_language_md() -> None:
    ts = transitions(
        """\
        on:
          tool.find_table.done: confirm
          user.said:
            - {guard: "'goodbye' in text", target: bye}
            - {target: chat, do: [{set: {turns: turns + 1}}, respond]}
          "order.ready order.late": {target: notify}
          user.speech.*: {target: listening, internal: true}
          cancel: {do: [{cancel: find_table}]}
          "*": {target: [a, b], say: Hi}
          ping:
        always:
          - {guard: "attempts > 3", target: give_up}
        """
    )
    assert ts == (
        Transition(("tool.find_table.done",), ("confirm",)),
        Transition(("user.said",), ("bye",), Expr("'goodbye' in text")),
        Transition(("user.said",), ("chat",), actions=(Set("turns", Expr("turns + 1")), Respond())),
        Transition(("order.ready", "order.late"), ("notify",)),
        Transition(("user.speech.*",), ("listening",), internal=True),
        Transition(("cancel",), actions=(Cancel("find_table"),)),
        Transition(("*",), ("a", "b"), actions=(Say("Hi"),)),
        Transition(("ping",)),
        Transition((), ("give_up",), Expr("attempts > 3")),
    )


def test_transition_shorthands() -> None:
    ts = transitions(
        """\
        on:
          a: [x, y]
          b: {target: x, say: Hi, log: there, do: respond}
          c: {target: , do: }
        always: x
        """
    )
    assert ts == (
        Transition(("a",), ("x",)),
        Transition(("a",), ("y",)),
        Transition(("b",), ("x",), actions=(Say("Hi"), Log("there"), Respond())),
        Transition(("c",)),
        Transition((), ("x",)),
    )


def test_timers() -> None:
    s = state(
        """\
        after:
          30s: reminder
          2m: {guard: "attempts < 3", say: Still there?}
          1m30s: [a, {target: b}]
          "5": x
          500ms: {do: [{log: "tick {count}"}]}
        every:
          5s: {do: [{log: "tick {count}"}]}
        """
    )
    assert s.timers == (
        Timer("after", 30.0, ("reminder",)),
        Timer("after", 120.0, guard=Expr("attempts < 3"), actions=(Say("Still there?"),)),
        Timer("after", 90.0, ("a",)),
        Timer("after", 90.0, ("b",)),
        Timer("after", 5.0, ("x",)),
        Timer("after", 0.5, actions=(Log("tick {count}"),)),
        Timer("every", 5.0, actions=(Log("tick {count}"),)),
    )


def test_expression_spans_point_at_the_expression_text() -> None:
    ts = transitions(
        """\
        on:
          a: {guard: x > 1}
          b: {guard: "  y > 2"}
          c: {guard: 'z'}
        """
    )
    # line 5 is "      a: {guard: x > 1}": x is in column 18
    assert [(t.guard.span.line, t.guard.span.col) for t in ts] == [(5, 18), (6, 21), (7, 19)]


# --------------------------------------------------------------------------- actions


def test_every_action() -> None:
    s = state(
        """\
        entry:
          - say: Hello {name}!
          - respond
          - respond: extra instruction
          - respond: null
          - respond:
          - call: find_table
          - call: {tool: find_table, args: {party: party_size, cuisine: "'thai'", n: 2, ok: true, z: null}, id: t1}
          - cancel: find_table
          - raise: ready
          - raise: {event: ready, data: {n: count}}
          - send: remind
          - send: {event: remind, data: {text: "'hi'"}, delay: 30s, id: r1, priority: 5}
          - cancel_send: r1
          - set: {count: count + 1, flag: false, x: 1.5}
          - log: "count is {count}"
          - spawn: helper.agent.yaml
          - spawn: {agent: helper.agent.yaml, id: h1, task: Find flights}
          - fork: {agent: helper.agent.yaml, id: h1}
          - fork: other.agent.yaml
        exit: respond
        """
    )
    assert s.entry == (
        Say("Hello {name}!"),
        Respond(),
        Respond("extra instruction"),
        Respond(),
        Respond(),
        Call("find_table"),
        Call(
            "find_table",
            (
                ("party", Expr("party_size")),
                ("cuisine", Expr("'thai'")),
                ("n", Expr("2")),
                ("ok", Expr("true")),
                ("z", Expr("null")),
            ),
            "t1",
        ),
        Cancel("find_table"),
        Raise("ready"),
        Raise("ready", (("n", Expr("count")),)),
        Send("remind"),
        Send("remind", (("text", Expr("'hi'")),), 30.0, "r1", 5),
        CancelSend("r1"),
        Set("count", Expr("count + 1")),
        Set("flag", Expr("false")),
        Set("x", Expr("1.5")),
        Log("count is {count}"),
        Spawn("helper.agent.yaml"),
        Spawn("helper.agent.yaml", "h1", "Find flights"),
        Spawn("helper.agent.yaml", "h1", fork=True),
        Spawn("other.agent.yaml", fork=True),
    )
    assert s.exit == (Respond(),)


def test_action_spans() -> None:
    text, marks = marked(
        "agent: a\nstates:\n  s:\n    entry: [{‸say: hi}, ‸respond]\n    exit: {set: {‸a: ‸1, ‸b: 2}}\n"
    )
    s = load(text).states[0]
    spans = [s.entry[0].span, s.entry[1].span, s.exit[0].span, s.exit[0].expr.span, s.exit[1].span]
    assert [(x.line, x.col) for x in spans] == marks


def test_multiline_texts() -> None:
    s = state("entry:\n  say: |\n    line one\n    line two\n  # comment\nprompt: >\n  folded\n  text\n")
    assert s.entry == (Say("line one\nline two\n"),)
    assert s.prompt == "folded text\n"


# --------------------------------------------------------------------------- diagnostics (exact positions)


def test_e001_syntax_error() -> None:
    agent, d = one_diag("agent: a\nstates: [1\n")
    assert agent is None and (d.code, d.span.line, d.span.col) == ("E001", 3, 1)
    assert "expected ',' or ']'" in d.message


def test_e001_more_syntax() -> None:
    assert diags_of("agent: a\n\tstates: {}\n") == [("E001", 2, 1)]
    assert diags_of("agent: a: b\n") == [("E001", 1, 9)]
    assert diags_of("agent: 'a\n") == [("E001", 2, 1)]
    assert diags_of("agent: a\n---\nagent: b\n") == [("E001", 2, 1)]
    assert diags_of("agent: *nope\n") == [("E001", 1, 8)]
    assert diags_of("agent: a\x01\n") == [("E001", 1, 9)]
    assert diags_of("agent: é\x00\n") == [("E001", 1, 9)]
    assert diags_of("agent: a\ndescription: \udcff\n") == [("E001", 2, 14)]


def test_e003_duplicate_key() -> None:
    _, d = one_diag("agent: a\nstates:\n  s: {}\n  s: {}\n")
    assert (d.code, d.span.line, d.span.col) == ("E003", 4, 3)
    assert "line 3" in d.hint
    assert diags_of("agent: a\nagent: b\n") == [("E003", 2, 1)]
    assert diags_of("agent: a\nvars: {x: {k: 1, k: 2}}\n") == [("E003", 2, 18)]


def test_e004_unknown_keys() -> None:
    _, d = one_diag("agent: a\nstaets: {}\n")
    assert (d.code, d.span.line, d.span.col, d.hint) == ("E004", 2, 1, "did you mean 'states'?")
    _, d = one_diag("agent: a\nstates: {s: {zzz: 1}}\n")
    assert (d.code, d.span.line, d.span.col) == ("E004", 2, 14)
    assert d.hint.startswith("valid keys: type, description, prompt")
    check_marked(
        "E004",
        """\
        agent: a
        llm: {‸modle: x}
        voice: {‸spead: 1}
        tools: {t: {handler: 'm:f', ‸timout: 1s, params: {p: {‸typ: string}}}}
        states:
          s:
            entry: {‸sya: x}
            on: {e: {‸targt: s, call: {tool: t, ‸arg: {}}, send: {event: e, ‸dealy: 1s}}}
            after: {1s: {‸internal: true}}
        """,
    )


def test_e005_wrong_types() -> None:
    _, d = one_diag("agent: a\ntools: {t: {handler: 'm:f', timeout: [1]}}\n")
    assert (d.code, d.span.line, d.span.col) == ("E005", 2, 38)
    assert d.message == "'timeout' must be a duration, got a list"
    assert diags_of("[1, 2]\n") == [("E005", 1, 1)]
    assert diags_of("just text\n") == [("E005", 1, 1)]
    check_marked(
        "E005",
        """\
        agent: ‸[a]
        description: ‸{x: 1}
        llm: ‸[1]
        voice: {speed: ‸fast}
        allow: ‸{a: 1}
        include: ‸{a: 1}
        vars: ‸[1]
        events: ‸3
        priorities: {x: ‸high}
        tools: {t: ‸[1], u: {handler: 'm:f', params: {p: ‸[1], q: {type: string, enum: ‸x}}}}
        states:
          s: ‸1
          t: {entry: ‸hello, on: ‸[1], always: {guard: ‸1}, tools: ‸{a: 1}, after: {1s: [‸[1]]}}
          u: {entry: {set: ‸1}, exit: [{call: ‸[1]}, {say: ‸[x]}, ‸{}], states: ‸[1]}
          v: {on: {e: {internal: ‸maybe, target: ‸{a: 1}}}}
          w: {on: {e: {raise: {event: e, data: ‸[1]}, send: {event: e, data: {x: ‸[1]}}}}}
        """,
    )


def test_e005_action_with_two_keys_and_bare_names() -> None:
    _, d = one_diag("agent: a\nstates: {s: {entry: [{say: a, log: b}]}}\n")
    assert (d.code, d.span.line, d.span.col) == ("E005", 2, 31)
    _, d = one_diag("agent: a\nstates: {s: {entry: [say]}}\n")
    assert d.code == "E005" and d.hint == "'say' needs a value: {say: ...}"


def test_e005_unsupported_tags_and_non_string_keys() -> None:
    assert diags_of("agent: !!python/object:os.system a\n") == [("E005", 1, 8)]
    assert diags_of("agent: a\nvars: {x: !!int abc}\n") == [("E005", 2, 11)]
    assert diags_of("agent: a\n? [x]\n: 1\n") == [("E005", 2, 3)]
    assert load("agent: a\nvars: {x: !!str 12}\n").variables[0].init == Expr('"12"')


def test_e006_missing_keys() -> None:
    for text in ("", "# only a comment\n", "---\n", "~\n"):
        agent, d = one_diag(text)
        assert agent is None and (d.code, d.span.line, d.span.col) == ("E006", 1, 1)
        assert "agent" in d.message
    agent, d = one_diag("states: {s: {}}\n")
    assert agent is not None and (d.code, d.span.line, d.span.col) == ("E006", 1, 1)
    check_marked(
        "E006",
        """\
        agent: a
        tools:
          ‸t: {description: x}
          ‸u:
        states:
          s:
            entry: [{‸call: {id: x}}, {‸raise: {data: {}}}, {‸send: {delay: 1s}}, {‸spawn: {id: x}}, {‸fork: {}}]
        """,
    )


def test_e007_durations() -> None:
    _, d = one_diag("agent: a\nstates: {s: {after: {3 parsecs: x}}}\n")
    assert (d.code, d.span.line, d.span.col) == ("E007", 2, 22)
    assert "3 parsecs" in d.message
    check_marked(
        "E007",
        """\
        agent: a
        tools: {t: {handler: 'm:f', timeout: ‸soon}, u: {handler: 'm:f', timeout: ‸-1}}
        states:
          s:
            every: {‸"": x, ‸1y: y, ‸400d: z}
            entry: {send: {event: e, delay: ‸true}}
        """,
    )
    _, d = one_diag("agent: a\nstates: {s: {after: {9999h: x}}}\n")
    assert d.code == "E007" and "longer than a year" in d.message


def test_e008_invalid_values() -> None:
    _, d = one_diag("agent: a\ntools: {t: {handler: 'm:f', deliver: later}}\n")
    assert (d.code, d.span.line, d.span.col) == ("E008", 2, 38)
    assert d.message == "invalid value 'later' for 'deliver'; allowed: interrupt, when_idle, silent"
    _, d = one_diag("agent: a\ntools: {t: {handler: 'm:f', deliver: when-idle}}\n")
    assert d.hint == "did you mean 'when_idle'?"
    check_marked(
        "E008",
        """\
        agent: a
        llm: {provider: ‸ollama, temperature: ‸.nan}
        vars: {x: ‸.inf, y: [‸-.inf]}
        tools: {t: {handler: 'm:f', on_interrupt: ‸stop, on_exit: ‸pause, params: {p: ‸str, q: {type: ‸int}}}}
        states:
          s: {type: ‸composite}
          h: {type: history, history: ‸wide}
          t: {entry: {set: {x: ‸.inf}}}
        """,
    )


def test_e115_invalid_names() -> None:
    _, d = one_diag("agent: a\nstates: {9s: {}}\n")
    assert (d.code, d.span.line, d.span.col) == ("E115", 2, 10)
    check_marked(
        "E115",
        """\
        agent: a
        vars: {‸1x: 1, ‸my-var: 2}
        events: {‸bad event: [a], ok: [‸1b]}
        priorities: {‸"user.x*": 1}
        tools: {‸find-table: {handler: 'm:f', params: {‸p q: string}}}
        initial: ‸0
        states:
          ok:
            tools: [‸a-b]
            initial: ‸"x y"
            on: {‸"user..said": x, ‸"a b*": y, ‸"": z, e: [{target: ‸1y}]}
            entry: [{raise: ‸"no way"}, {send: ‸"x.*"}, {call: {tool: t, args: {‸a b: 1}, id: ‸2}}, {cancel: ‸x.y}]
            exit: [{set: {‸x.y: 1}}, {cancel_send: ‸"-"}, {spawn: {agent: a, id: ‸"a b"}}]
          h: {type: history, default: [x, ‸2]}
        """,
    )


def test_event_patterns_accepted() -> None:
    ts = transitions('on: {"*": a, user.*: b, a-b.c_d: c, "x  y": d, 1.2: e, tool.*.error: f}\n')
    assert [t.events for t in ts] == [("*",), ("user.*",), ("a-b.c_d",), ("x", "y"), ("1.2",), ("tool.*.error",)]


def test_many_problems_in_one_pass() -> None:
    agent, diags = load_yaml(
        "agent: a\nbogus: 1\ntools: {t: {deliver: x}}\nstates: {s: {type: y, on: {e: {guard: 1}}}}\n", "f"
    )
    assert agent is not None and agent.tools[0].name == "t" and agent.states[0].id == "s"
    assert [d.code for d in diags] == ["E004", "E006", "E008", "E008", "E005"]


def test_diagnostics_reached_through_aliases_are_reported_once() -> None:
    check_marked("E004", "agent: a\nstates:\n  s: &x {entry: {‸sya: 1}}\n  t: *x\n")


def test_aliases_within_limits_work() -> None:
    a = load("agent: a\nstates:\n  s: &x {entry: {say: hi}}\n  t: *x\n")
    assert a.states[0].entry == a.states[1].entry == (Say("hi"),)


# --------------------------------------------------------------------------- hostile inputs


#: Seconds after which a hostile input counts as a hang. Deliberately generous: these tests
#: check that the work is bounded (limits stop reading early), not how fast the machine is;
#: with a tight limit they failed on a loaded machine (the 5 MB input takes ~0.7 s alone).
HANG_GUARD = 60.0


def _timed(text: str):
    start = time.perf_counter()
    agent, diags = load_yaml(text, "h.agent.yaml")
    assert time.perf_counter() - start < HANG_GUARD
    return agent, diags


def _codes(diags) -> list[str]:
    return [d.code for d in diags]


def test_billion_laughs() -> None:
    lines = ["agent: a", "vars:", "  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"  {cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    agent, diags = _timed("\n".join(lines) + "\n")
    assert agent is None and _codes(diags) == ["E010"]
    assert diags[0].span.line == 7


def test_recursive_alias() -> None:
    agent, diags = _timed("agent: a\nvars: {x: &r [*r]}\n")
    assert agent is None and [(d.code, d.span.line, d.span.col) for d in diags] == [("E010", 2, 15)]


def test_deep_alias() -> None:
    deep = "[" * 60 + "]" * 60
    agent, diags = _timed(f"agent: a\nx: &a {deep}\ny: {'[' * 60}*a{']' * 60}\n")
    assert agent is None and _codes(diags) == ["E010"]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 10_000 + "]" * 10_000,
        "[" * 1_000_000,
        "a: " + "{a: " * 10_000 + "1" + "}" * 10_000,
        "".join(" " * i + "a:\n" for i in range(2000)),
        "".join("  " * i + "- \n" for i in range(2000)),
    ],
    ids=["flow-seq", "unclosed", "flow-map", "block-map", "block-seq"],
)
def test_deep_nesting(text: str) -> None:
    agent, diags = _timed(text)
    assert agent is None and _codes(diags) == ["E010"]


def test_deep_states_within_limit_load() -> None:
    text = "agent: a\nstates:\n"
    for i in range(40):
        text += "  " * (2 * i + 1) + f"s{i}:\n" + "  " * (2 * i + 2) + "states:\n"
    text += "  " * 81 + "leaf: {}\n"
    agent, diags = _timed(text)
    assert diags == [] and agent is not None


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("codec", ["latin-1", "utf-8-replace", "utf-8-surrogateescape"])
def test_binary_garbage(seed: int, codec: str) -> None:
    data = random.Random(seed).randbytes(200_000)
    name, _, errors = codec.partition("-") if codec == "latin-1" else codec.rpartition("-")
    text = data.decode("latin-1") if codec == "latin-1" else data.decode(name, errors)
    agent, diags = _timed(text)
    assert agent is None and _codes(diags) == ["E001"]
    assert diags[0].span.line >= 1 and diags[0].span.col >= 1


@pytest.mark.slow
def test_five_megabytes() -> None:
    agent, diags = _timed("agent: a\ndescription: " + "x" * 5_000_000 + "\n")
    assert diags == [] and len(agent.description) == 5_000_000
    many = "agent: x\nstates:\n" + "".join(
        f"  s{i}: {{description: 'state number {i}'}}\n" for i in range(120_000)
    )
    assert len(many) > 5_000_000
    agent, diags = _timed(many)
    assert agent is None and _codes(diags) == ["E010"]
    # reading stopped at the node limit (4 nodes a line), not at the end of the 120,002 lines
    assert diags[0].span.line == MAX_NODES // 4 + 1


def test_printable_garbage_never_raises() -> None:
    rnd = random.Random(7)
    alphabet = "ab: -[]{}&*!|>'\"%@`#,?\n\t 0123.~"
    for _ in range(2000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(60)))
        agent, diags = load_yaml(text, "g")
        assert agent is not None or diags


WRONG_VALUES = ["[1]", "{a: 1}", "1", "true", "null", "x y", "''", "-1", ".nan"]


@pytest.mark.parametrize("value", WRONG_VALUES)
@pytest.mark.parametrize(
    "template",
    [
        "agent: {v}\n",
        "agent: a\nk: {v}\n",
        "agent: a\nllm: {{provider: {v}, model: {v}, temperature: {v}, max_tokens: {v}}}\n",
        "agent: a\nvoice: {{asr: {v}, speed: {v}}}\n",
        "agent: a\nvars: {{x: {v}}}\nevents: {{e: {v}}}\npriorities: {{e: {v}}}\n",
        "agent: a\ntools: {{t: {v}, u: {{handler: {v}, params: {v}, timeout: {v}, deliver: {v}}}}}\n",
        "agent: a\ntools: {{u: {{handler: 'm:f', params: {{p: {v}, q: {{type: {v}, required: {v}, enum: {v}}}}}}}}}\n",
        "agent: a\nstates: {{s: {v}, t: {{type: {v}, initial: {v}, states: {v}, history: {v}, default: {v}}}}}\n",
        "agent: a\nstates: {{s: {{entry: {v}, exit: [{v}], on: {v}, always: {v}, after: {v}, every: {{1s: {v}}}}}}}\n",
        "agent: a\nstates: {{s: {{on: {{e: {{target: {v}, guard: {v}, internal: {v}, do: {v}}}}}}}}}\n",
        "agent: a\nstates: {{s: {{entry: [{{say: {v}}}, {{respond: {v}}}, {{call: {v}}}, {{cancel: {v}}}]}}}}\n",
        "agent: a\nstates: {{s: {{entry: [{{raise: {v}}}, {{send: {v}}}, {{cancel_send: {v}}}, {{set: {v}}}]}}}}\n",
        "agent: a\nstates: {{s: {{entry: [{{log: {v}}}, {{spawn: {v}}}, {{fork: {v}}}]}}}}\n",
        "agent: a\nstates: {{s: {{entry: [{{call: {{tool: {v}, args: {v}, id: {v}}}}}]}}}}\n",
        "agent: a\nstates: {{s: {{entry: [{{send: {{event: {v}, data: {v}, delay: {v}, id: {v}, priority: {v}}}}}]}}}}\n",
        "agent: a\nstates: {{s: {{entry: [{{spawn: {{agent: {v}, id: {v}, task: {v}}}}}, {{set: {{x: {v}}}}}]}}}}\n",
    ],
)
def test_wrong_types_at_every_level_never_raise(template: str, value: str) -> None:
    text = template.format(v=value)
    agent, diags = _timed(text)
    for d in diags:
        assert d.code.startswith("E0") or d.code == "E115"
        assert d.span.line >= 1 and d.span.col >= 1
