"""The textual front end: every construct, spans, diagnostics (exact positions), hostile input."""

from __future__ import annotations

import itertools
import random
import re
import textwrap
import time
from pathlib import Path

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
    load_text,
)
from counterpoint.dsl.text.front import MAX_STATE_DEPTH
from counterpoint.dsl.text.parser import MAX_SYNTAX_ERRORS

DOCS = Path(__file__).resolve().parent.parent / "docs" / "language.md"


def load(text: str) -> Agent:
    agent, diags = load_text(textwrap.dedent(text), "t.agent")
    assert diags == [], [d.format() for d in diags]
    assert agent is not None
    return agent


def diags_of(text: str) -> list[str]:
    """Diagnostics as ``line:col CODE message`` strings."""
    _, diags = load_text(textwrap.dedent(text), "t.agent")
    return [f"{d.span.line}:{d.span.col} {d.code} {d.message}" for d in diags]


def one_state(body: str) -> State:
    return load(f"agent a\nstate s {{\n{body}\n}}\n").states[0]


# --------------------------------------------------------------------------- agent level


def test_agent_declarations():
    agent = load(
        """
        agent concierge
        description "Books restaurant tables."
        instructions "You are a concise, friendly concierge."
        llm { provider "openai" model "gpt-4o-mini" base_url "http://x/v1" api_key_env "KEY"
              temperature 0.3 max_tokens 256 }
        voice { asr "tiny.en" tts "joe" language "en" speed 1.25 }
        allow requests_cache, google.cloud
        allow more
        include "common_tools.agent.yaml", "std:dialog"
        include "other.agent"
        var attempts = 0
        var city = 'Paris'
        var conf = {"a": [1, 2.5, true, null], "b": -3}
        var nothing
        event order.ready(order_id, eta)
        event ping
        event pong()
        priority user.speech.started = 0
        priority tool.* = -2
        initial chat
        """
    )
    assert agent == Agent(
        name="concierge",
        description="Books restaurant tables.",
        instructions="You are a concise, friendly concierge.",
        llm=LLMSettings("openai", "gpt-4o-mini", "http://x/v1", "KEY", 0.3, 256),
        voice=VoiceSettings("tiny.en", "joe", "en", 1.25),
        allow=("requests_cache", "google.cloud", "more"),
        includes=(Include("common_tools.agent.yaml"), Include("std:dialog"), Include("other.agent")),
        variables=(
            Variable("attempts", Expr("0")),
            Variable("city", Expr('"Paris"')),
            Variable("conf", Expr('{"a": [1, 2.5, true, null], "b": -3}')),
            Variable("nothing"),
        ),
        events=(EventDecl("order.ready", ("order_id", "eta")), EventDecl("ping"), EventDecl("pong")),
        priorities=(Priority("user.speech.started", 0), Priority("tool.*", -2)),
        initial="chat",
    )
    assert isinstance(agent.llm.max_tokens, int) and isinstance(agent.voice.speed, float)


def test_statements_in_any_order_and_free_form():
    agent = load("initial s state s agent a\n# comment\n\n   var   x=1#c\n")
    assert agent == Agent("a", variables=(Variable("x", Expr("1")),), initial="s", states=(State("s"),))


def test_tool_declaration():
    agent = load(
        """
        agent a
        tool find_table(cuisine: string, party: integer "number of guests", time?: string,
                        size: string in ["small", "large"], n: number in [1, 2.5, true],
                        untyped, opt?) = concierge_tools:find_table {
            description "Search for free tables."
            timeout 1m30s
            cancel on interrupt
            keep on exit
            deliver interrupt
        }
        tool quiet() = pkg.mod:fn { deliver silent }
        tool idle(x: string,) = m:f { deliver when idle }
        tool plain() = "weird handler"
        """
    )
    assert agent.tools == (
        Tool(
            "find_table",
            "concierge_tools:find_table",
            (
                Param("cuisine", "string"),
                Param("party", "integer", description="number of guests"),
                Param("time", "string", required=False),
                Param("size", "string", enum=("small", "large")),
                Param("n", "number", enum=(1, 2.5, True)),
                Param("untyped"),
                Param("opt", required=False),
            ),
            description="Search for free tables.",
            timeout=90.0,
            on_interrupt="cancel",
            on_exit="keep",
            deliver="interrupt",
        ),
        Tool("quiet", "pkg.mod:fn", deliver="silent"),
        Tool("idle", "m:f", (Param("x"),), deliver="when_idle"),
        Tool("plain", "weird handler"),
    )


# --------------------------------------------------------------------------- states


def test_state_kinds_and_nesting():
    agent = load(
        """
        agent a
        initial chat
        state chat {
            description "Main conversation."
            prompt "Call find_table once you know cuisine, time and party size."
            tools find_table, other
            tools third
            initial ask
            state ask
            state wait { }
        }
        parallel both {
            state left
            state right
        }
        history back deep -> chat
        history h2
        history h3 shallow -> a, b
        final done
        final bye { entry say "Goodbye!" }
        state dialog { include "std:dialog" }
        """
    )
    assert agent.states == (
        State(
            "chat",
            description="Main conversation.",
            prompt="Call find_table once you know cuisine, time and party size.",
            tools=("find_table", "other", "third"),
            initial="ask",
            children=(State("ask"), State("wait")),
        ),
        State("both", StateKind.PARALLEL, children=(State("left"), State("right"))),
        State("back", StateKind.HISTORY, history="deep", default=("chat",)),
        State("h2", StateKind.HISTORY, history="shallow"),
        State("h3", StateKind.HISTORY, history="shallow", default=("a", "b")),
        State("done", StateKind.FINAL),
        State("bye", StateKind.FINAL, entry=(Say("Goodbye!"),)),
        State("dialog", include="std:dialog"),
    )


def test_entry_and_exit_lines_append():
    s = one_state('entry say "a"; respond\nexit log "x"\nentry respond "more"\nexit cancel_send r1')
    assert s.entry == (Say("a"), Respond(), Respond("more"))
    assert s.exit == (Log("x"), CancelSend("r1"))


def test_transitions():
    s = one_state(
        """
        on tool.find_table.done -> confirm
        on user.said ['goodbye' in text] -> bye
        on user.said -> chat / set turns = turns + 1; respond
        on order.ready, order.late -> notify
        on user.speech.* internal -> listening
        on cancel / cancel find_table
        on * internal [x[0] > {"a": 1}["a"]] -> a, b / say "hi"
        on ping
        on a-b.c_d->x
        always [attempts > 3] -> give_up
        always / log "tick"
        """
    )
    assert s.transitions == (
        Transition(("tool.find_table.done",), ("confirm",)),
        Transition(("user.said",), ("bye",), Expr("'goodbye' in text")),
        Transition(("user.said",), ("chat",), actions=(Set("turns", Expr("turns + 1")), Respond())),
        Transition(("order.ready", "order.late"), ("notify",)),
        Transition(("user.speech.*",), ("listening",), internal=True),
        Transition(("cancel",), actions=(Cancel("find_table"),)),
        Transition(("*",), ("a", "b"), Expr('x[0] > {"a": 1}["a"]'), (Say("hi"),), internal=True),
        Transition(("ping",)),
        Transition(("a-b.c_d",), ("x",)),
        Transition((), ("give_up",), Expr("attempts > 3")),
        Transition((), actions=(Log("tick"),)),
    )


def test_timers():
    s = one_state(
        """
        after 30s -> reminder
        after 2m [attempts < 3] / say "Still there?"
        every 5s / log "tick {count}"
        every 500ms
        after 1.5s /
        after 1m30s -> a, b / respond
        every 2 -> x
        """
    )
    assert s.timers == (
        Timer("after", 30.0, ("reminder",)),
        Timer("after", 120.0, guard=Expr("attempts < 3"), actions=(Say("Still there?"),)),
        Timer("every", 5.0, actions=(Log("tick {count}"),)),
        Timer("every", 0.5),
        Timer("after", 1.5),
        Timer("after", 90.0, ("a", "b"), actions=(Respond(),)),
        Timer("every", 2.0, ("x",)),
    )


def test_actions():
    s = one_state(
        """
        entry say "Hello {name}!"; respond; respond "extra instruction"
        entry call find_table(party = party_size, cuisine = 'thai',) as t1; call other; call noargs()
        entry cancel find_table; raise ready(n = count); raise plain
        entry send remind(text = 'hi') after 30s as r1 priority 5; send bare
        entry send opts priority -1 as r2 after 1m
        entry cancel_send r1; set count = count + 1; log "count is {count}"
        entry spawn "helper.agent.yaml" as h1 task "Find flights"; fork "helper.agent.yaml" as h2
        entry spawn "x.agent" task "t" as h3; fork "y.agent"
        """
    )
    assert s.entry == (
        Say("Hello {name}!"),
        Respond(),
        Respond("extra instruction"),
        Call("find_table", (("party", Expr("party_size")), ("cuisine", Expr("'thai'"))), "t1"),
        Call("other"),
        Call("noargs"),
        Cancel("find_table"),
        Raise("ready", (("n", Expr("count")),)),
        Raise("plain"),
        Send("remind", (("text", Expr("'hi'")),), 30.0, "r1", 5),
        Send("bare"),
        Send("opts", (), 60.0, "r2", -1),
        CancelSend("r1"),
        Set("count", Expr("count + 1")),
        Log("count is {count}"),
        Spawn("helper.agent.yaml", "h1", "Find flights"),
        Spawn("helper.agent.yaml", "h2", fork=True),
        Spawn("x.agent", "h3", "t"),
        Spawn("y.agent", fork=True),
    )


def test_send_delay_and_timer_after_are_told_apart():
    s = one_state(
        """
        on a / send x
        after 5s -> t
        on b / send y after 1s
        after 2s [g] / send z
        after 3s / send w after 4s
        every 1s / send v
        """
    )
    assert [t.actions for t in s.transitions] == [(Send("x"),), (Send("y", delay=1.0),)]
    assert s.timers == (
        Timer("after", 5.0, ("t",)),
        Timer("after", 2.0, guard=Expr("g"), actions=(Send("z"),)),
        Timer("after", 3.0, actions=(Send("w", delay=4.0),)),
        Timer("every", 1.0, actions=(Send("v"),)),
    )


def test_keywords_are_contextual_names():
    agent = load(
        """
        agent agent
        var set = 1
        tool log(in: string) = m:f
        initial state
        state state {
            tools log
            on cancel / cancel on; set set = set + 1
            on on -> final
            initial final
            final final
            history deep deep -> state
        }
        """
    )
    s = agent.states[0]
    assert agent.name == "agent" and agent.tools[0].name == "log" and agent.tools[0].params[0].name == "in"
    assert s.id == "state" and s.tools == ("log",)
    assert s.transitions[0] == Transition(("cancel",), actions=(Cancel("on"), Set("set", Expr("set + 1"))))
    assert s.transitions[1] == Transition(("on",), ("final",))
    assert s.children == (
        State("final", StateKind.FINAL),
        State("deep", StateKind.HISTORY, history="deep", default=("state",)),
    )


def test_strings():
    s = one_state(
        'description "tab\\t \\"q\\" back\\\\slash \\u00e9 \\ud83d\\ude00 {x} # not a comment"\n'
        'prompt """line 1\n  "quoted" \\n stays\n"""\n'
        'entry say """ends with a quote""""; say """"starts with one"""; say ""; say "日本語"'
    )
    assert s.description == 'tab\t "q" back\\slash é 😀 {x} # not a comment'
    assert s.prompt == 'line 1\n  "quoted" \\n stays\n'
    assert s.entry == (Say('ends with a quote"'), Say('"starts with one'), Say(""), Say("日本語"))


def test_crlf_and_bom():
    agent = load('\ufeffagent a\r\nstate s {\r\n  prompt """x\r\ny"""\r\n}\r\n')
    assert agent.states[0].prompt == "x\ny"


def test_expressions_keep_their_source_text():
    s = one_state("on e [ a  and\n   (b or c) ] -> x / set y = f(1,  2) ; set z = [ 1 ]")
    assert s.transitions[0].guard == Expr("a  and\n   (b or c)")
    assert s.transitions[0].actions == (Set("y", Expr("f(1,  2)")), Set("z", Expr("[ 1 ]")))


def test_var_literals_are_canonical():
    agent = load(
        "agent a\nvar a = 'it''s'\nvar b = [ 1 ,2 ]\nvar c = -2.50\nvar d = \"\\u00e9\"\n".replace(
            "''", "\\'"
        )
    )
    assert [v.init for v in agent.variables] == [Expr('"it\'s"'), Expr("[1, 2]"), Expr("-2.5"), Expr('"é"')]


# --------------------------------------------------------------------------- spans


def test_spans():
    text = 'agent a\nstate s {\n    on e [x > 1] -> t / say "hi"\n    after 5s -> t\n}\n'
    agent, diags = load_text(text, "f.agent")
    assert diags == []
    s = agent.states[0]
    assert (agent.span.file, agent.span.line, agent.span.col) == ("f.agent", 1, 1)
    assert (s.span.line, s.span.col, s.span.end_line, s.span.end_col) == (2, 1, 5, 2)
    t = s.transitions[0]
    assert (t.span.line, t.span.col, t.span.end_line, t.span.end_col) == (3, 5, 3, 33)
    assert (t.guard.span.line, t.guard.span.col, t.guard.span.end_col) == (3, 11, 16)
    assert (t.actions[0].span.line, t.actions[0].span.col) == (3, 25)
    assert (s.timers[0].span.line, s.timers[0].span.col) == (4, 5)


def test_every_node_has_a_span():
    agent = load(EXAMPLE)

    def check(node):
        if isinstance(node, tuple):
            for x in node:
                check(x)
        elif isinstance(node, Span):
            assert node.line > 0
        elif hasattr(node, "__dataclass_fields__"):
            assert node.span.line > 0, node
            for name in node.__dataclass_fields__:
                if name != "span":
                    check(getattr(node, name))

    check(agent)


EXAMPLE = """
agent concierge
llm { model "m" }
voice { tts "joe" }
include "x.agent"
var n = 1
event e(a)
priority e = 1
tool t(p: string) = m:f
state chat {
    entry say "hi"; call t(p = 'x') as c1; raise e(a = 1); send e after 1s; set n = 2; spawn "h.agent"
    on e [n > 1] -> chat / cancel c1; cancel_send r; log "x"; respond
    after 1s -> chat
}
"""


# --------------------------------------------------------------------------- diagnostics


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "1:1 E006 missing `agent NAME`"),
        ("# only a comment\n", "1:1 E006 missing `agent NAME`"),
        (
            "agent a\nstate s {\n  on x y\n}",
            "3:8 E002 missing '->' before the target 'y'",
        ),
        (
            "agent a\nstate s {\n  on x -> y z\n}",
            "3:13 E002 unexpected name 'z', expected ',', '/', a statement, or '}'",
        ),
        ("agent a\nstate s {\n  on x ->\n}", "4:1 E002 unexpected '}', expected a name"),
        (
            "agent a\nstate s {\n  on x -> y\n",
            "3:12 E002 unexpected end of file, expected '/', a statement, or '}'",
        ),
        (
            "agent a\nstate s { on x [a b] -> y }",
            "2:19 E011 invalid guard: unexpected name 'b'; expected an operator or end of input",
        ),
        ("agent a\nstate s { on x [] -> y }", "2:17 E011 invalid guard: empty expression; expected a value"),
        (
            "agent a\nstate s { entry set x = }",
            "2:25 E011 invalid value for 'x': empty expression; expected a value",
        ),
        (
            "agent a\nstate s { entry set x = 1 + }",
            "2:28 E011 invalid value for 'x': unexpected end of input; expected a value",
        ),
        ("agent a\nstate s { on x [a > > 1] }", "2:21 E011 invalid guard: unexpected '>'; expected a value"),
        (
            "agent a\nstate s { on x [a = 1] }",
            "2:19 E011 invalid guard: unexpected character '='; use '==' to compare",
        ),
        (
            "agent a\nstate s { entry raise e(a = ) }",
            "2:29 E011 invalid value for 'a': empty expression; expected a value",
        ),
        ("agent a\nstate s { on x [a > 1 }", "2:23 E002 unexpected '}', expected ']'"),
        (
            "agent a\nvar v = [1,",
            "2:12 E011 invalid initial value of 'v': unexpected end of input; expected a value or ']'",
        ),
        ("agent a\nstate s { entry foo }", "2:17 E002 unexpected name 'foo', expected an action"),
        ('agent a\nstate s { promt "x" }', "2:11 E004 unknown key 'promt' in state 's'"),
        ('agent a\nstate s { on e -> s\n promt "x" }', "3:2 E004 unknown key 'promt' in state 's'"),
        ("agent a\nstate s { tool x }", "2:11 E004 unknown key 'tool' in state 's'"),
        (
            'agent a\nstate p { history h -> a { descripton "x" } }',
            "2:28 E004 unknown key 'descripton' in state 'h'",
        ),
        ("agent a\ntool t() = m:f { timout 5s }", "2:18 E004 unknown key 'timout' in tool 't'"),
        ("agent a\ntool t(a) = m:f timout 5s", "2:17 E004 unknown key 'timout' in tool 't'"),
        ("agent a\nstat s", "2:1 E004 unknown key 'stat' in the agent"),
        ("agent a\ntool t() = m:f\nstat s", "3:1 E004 unknown key 'stat' in the agent"),
        ("agent a\nstate s { entry say 'hi' }", "2:21 E002 unexpected string 'hi': texts are written in double quotes"),
        ('agent a\nstate s { entry say "hi }', "2:21 E002 unterminated string"),
        ('agent a\ndescription """abc', '2:13 E002 unterminated """ string'),
        ("agent a\nstate s { after 5s }", "2:11 E002 the timer `after 5s` needs a guard, a target or actions"),
        ("agent a\nstate s {\n  after 30 seconds -> s\n}", "3:9 E007 invalid duration '30 seconds': the unit is written right after the number"),
        ("agent a\nstate s {\n  every 2 min / log \"x\"\n}", "3:9 E007 invalid duration '2 min': the unit is written right after the number"),
        (
            "agent a\ntool t() = m:f { deliver later }",
            "2:26 E002 unexpected name 'later', expected 'interrupt', 'silent', or 'when idle'",
        ),
        (
            "agent a\ntool t() = mf",
            "2:12 E002 unexpected name 'mf', expected a handler (module:function) or a string",
        ),
        ("agent a\nllm { model gpt }", "2:13 E002 unexpected name 'gpt', expected a number or a string"),
        ("agent a\n{{{{", "2:1 E002 unexpected '{', expected a statement or end of file"),
        ("\x00\x01binary", "1:1 E002 unexpected character '\\x00', expected a statement or end of file"),
        (
            "agent a\nstate s { after 5x -> y }",
            "2:17 E007 invalid duration: '5x' is not a duration; "
            "write e.g. 500ms, 30s, 1.5s, 2m, 1h or 1m30s",
        ),
        (
            "agent a\ntool t() = m:f { timeout 2y }",
            "2:26 E007 invalid duration: '2y' is not a duration; "
            "write e.g. 500ms, 30s, 1.5s, 2m, 1h or 1m30s",
        ),
        ("agent a\nstate 1x", "2:7 E115 invalid state name '1x'"),
        ("agent a\nstate s { on e -> a-b }", "2:19 E115 invalid target state 'a-b'"),
        ("agent a\nstate s { entry raise user.* }", "2:23 E115 invalid event name 'user.*'"),
        ("agent a\nstate s { on user.x* -> s }", "2:14 E115 invalid event pattern 'user.x*'"),
        ("agent a\nallow my-pkg", "2:7 E115 invalid package name 'my-pkg'"),
        ("agent a\nllm { temprature 0.3 }", "2:7 E004 unknown llm setting 'temprature'"),
        (
            'agent a\nllm { provider "openia" }',
            "2:16 E008 invalid value 'openia' for 'provider'; allowed: openai, embedded",
        ),
        ("agent a\nllm { max_tokens 1.5 }", "2:18 E005 'max_tokens' must be an integer, got a number"),
        ('agent a\nvoice { speed "fast" }', "2:15 E005 'speed' must be a number, got a string"),
        (
            "agent a\nllm { temperature 1e999 }",
            "2:19 E008 'temperature' must be a finite number, got 1e999",
        ),
        (
            "agent a\ntool t(a: strng) = m:f",
            "2:11 E008 invalid value 'strng' for the type of parameter 'a'; allowed: string, integer, number, boolean, array, object",
        ),
        (
            "agent a\ntool t(a: string in [1, [2]]) = m:f",
            "2:25 E005 an 'enum' value must be a string, number or boolean, got a list",
        ),
        (
            "agent a\ntool t(a: string in x) = m:f",
            "2:21 E008 the values of an enum must be a literal, not 'x'",
        ),
        ("agent a\nvar x = y", "2:9 E008 the initial value of 'x' must be a literal, not 'y'"),
        ("agent a\nvar x = f(1)", "2:9 E008 the initial value of 'x' must be a literal, not 'f(1)'"),
        ('agent a\nstate s { entry say "\\q" }', "2:22 E008 invalid escape in string: invalid \\escape"),
        ('agent a\nstate s { include "a", "b" }', "2:24 E008 a state includes one file"),
        ("agent a\nagent b", "2:1 E003 duplicate 'agent' in the agent"),
        ('agent a\ndescription "x"\ndescription "y"', "3:1 E003 duplicate 'description' in the agent"),
        ("agent a\ninitial x\ninitial y", "3:1 E003 duplicate 'initial' in the agent"),
        ("agent a\nllm { }\nllm { }", "3:1 E003 duplicate 'llm' in the agent"),
        ('agent a\nllm { model "a" model "b" }', "2:17 E003 duplicate 'model' in llm settings"),
        ("agent a\nstate s { initial a initial b }", "2:21 E003 duplicate 'initial' in state 's'"),
        ('agent a\nstate s { prompt "a" prompt "b" }', "2:22 E003 duplicate 'prompt' in state 's'"),
        ("agent a\ntool t(a, a) = m:f", "2:11 E003 duplicate 'a' parameter in tool 't'"),
        (
            "agent a\ntool t() = m:f { keep on exit keep on exit }",
            "2:31 E003 duplicate 'on exit' in tool 't'",
        ),
        ("agent a\ntool t() = m:f { timeout 1s timeout 2s }", "2:29 E003 duplicate 'timeout' in tool 't'"),
        ("agent a\nstate s { entry send x after 1s after 2s }", "2:33 E003 duplicate 'after' in send of 'x'"),
        ("agent a\nstate s { entry call t(a = 1, a = 2) }", "2:31 E003 duplicate 'a' in call of 't'"),
        ('agent a\nstate s { entry spawn "p" as a as b }', "2:32 E003 duplicate 'as' in spawn of 'p'"),
    ],
)
def test_diagnostics(text, expected):
    assert diags_of(text) == [expected]


def test_diagnostic_hints():
    _, diags = load_text("agent a\nstate s {\n  tool x\n}", "f.agent")
    assert diags[0].hint == "did you mean 'tools'?"
    _, diags = load_text("agent a\nstate s { foo 1 }", "f.agent")
    assert (diags[0].code, diags[0].hint) == (
        "E004",
        "statements here: after, always, description, entry, "
        "every, exit, final, history, include, initial, on, parallel, prompt, state, tools",
    )
    _, diags = load_text("agent a\nstate s { on x y }", "f.agent")
    assert diags[0].hint.startswith("statements here: after, always, description, entry")
    _, diags = load_text("agent a\ninitial x\ninitial y", "f.agent")
    assert diags[0].hint == "first given at line 2, column 1; the agent has one initial state"
    _, diags = load_text("agent a\nllm { temprature 1 }", "f.agent")
    assert diags[0].hint == "did you mean 'temperature'?"
    _, diags = load_text("", "f.agent")
    assert diags[0].hint == "start the file with `agent my_agent`"


def test_syntax_errors_give_no_model():
    agent, diags = load_text("agent a\nstate s { on }\nstate t { after 5x -> s }\n", "f.agent")
    assert agent is None and [d.code for d in diags] == ["E002"]  # no E007: syntax errors come alone


# --------------------------------------------------------------------------- several syntax errors


def test_independent_syntax_errors_are_reported_together():
    text = """\
        agent a
        state s {
            promt "Hello"
            on x -> y z
            on y -> s
            after 5s
        }
        state t {
            entry say "hi" log "x"
            on e [a b] -> s
            on f -> t
        }
        tool f() = m:f { timout 5s }
        """
    assert diags_of(text) == [
        "3:5 E004 unknown key 'promt' in state 's'",
        "4:15 E002 unexpected name 'z', expected ',', '/', a statement, or '}'",
        "6:5 E002 the timer `after 5s` needs a guard, a target or actions",
        "9:20 E002 unexpected name 'log', expected ';', a statement, or '}'",
        "10:13 E011 invalid guard: unexpected name 'b'; expected an operator or end of input",
        "13:18 E004 unknown key 'timout' in tool 'f'",
    ]


def test_the_first_error_is_reported_as_when_it_is_alone():
    first = "agent a\nstate s {\n  on x -> y z\n}\n"
    alone = diags_of(first)
    assert diags_of(first + "state t { on }\n") == [*alone, "5:14 E002 unexpected '}', expected a name"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a missing `}`: what follows is read into the open state until something cannot be
        (
            "agent a\nstate s {\n  on x -> y\ntool t() = m:f\nstate u { on e -> u }\n",
            ["4:1 E002 unexpected 'tool', expected '/', a statement, or '}'"],
        ),
        (
            "agent a\nstate s {\n  on x -> y\nvar n = 1\nstate u {\n  on e -> u\n}\n",
            ["4:1 E002 unexpected 'var', expected '/', a statement, or '}'"],
        ),
        # a missing `->` target: the next line's `on` is taken for the target
        (
            "agent a\nstate s {\n  on a ->\n  on b -> c\n}\n",
            ["4:6 E002 unexpected name 'b', expected ',', '/', a statement, or '}'"],
        ),
        ("agent a\nstate s {\n  on a ->\n}\nstate t\n", ["4:1 E002 unexpected '}', expected a name"]),
        # stray tokens
        (
            "agent a\nstate s { on x -> y } }\nstate t\n",
            ["2:23 E002 unexpected '}', expected a statement or end of file"],
        ),
        (
            "agent a\nstate s { on x -> y ; ; }\nstate t\n",
            ["2:21 E002 unexpected ';', expected ',', '/', a statement, or '}'"],
        ),
        (
            "agent a\nstate s { on x { -> y } }\nstate t\n",
            ["2:16 E002 unexpected '{', expected ',', '->', '/', '[', 'internal', a statement, or '}'"],
        ),
        (
            "agent a\nstate s { @ on x -> y }\nstate t\n",
            ["2:11 E002 unexpected character '@', expected a statement or '}'"],
        ),
        # a broken string or expression does not leak into the statements after it
        ('agent a\nstate s { entry say "hi }\nstate t { on e -> s }\n', ["2:21 E002 unterminated string"]),
        ('agent a\ndescription """abc\nstate t { on }\n', ['2:13 E002 unterminated """ string']),
        (
            'agent a\nstate s { entry set x = {"a" 1} }\nstate t\n',
            ["2:30 E011 invalid value for 'x': unexpected number 1; expected ':'"],
        ),
        (
            "agent a\nstate s { on e [a > (1 } ] -> s }\nstate t\n",
            ["2:24 E011 invalid guard: unexpected '}'; expected ')'"],
        ),
    ],
)
def test_no_cascades(text, expected):
    assert diags_of(text) == expected


def test_errors_right_after_a_recovery_are_not_reported():
    # `z` is skipped up to `on`; the error at `}` two tokens later is a consequence, not reported
    assert diags_of("agent a\nstate s { on x -> y z on }\nstate t { on q -> }\n") == [
        "2:21 E002 unexpected name 'z', expected ',', '/', a statement, or '}'",
        "3:19 E002 unexpected '}', expected a name",
    ]


def test_syntax_errors_are_capped():
    text = "agent a\n" + "".join(f"state s{i} {{ on }}\n" for i in range(50))
    agent, diags = _fast(text)
    assert agent is None and len(diags) == MAX_SYNTAX_ERRORS
    assert [(d.span.line, d.span.col) for d in diags] == [(i + 2, 16 if i >= 10 else 15) for i in range(20)]


def test_recoveries_are_capped():
    """Errors in the quiet window after a recovery count against the cap, so junk ends quickly."""
    agent, diags = _fast("agent a\nstate s {\n" + "on ; " * 10_000 + "}\n")
    assert agent is None and 1 <= len(diags) <= MAX_SYNTAX_ERRORS


def test_value_errors_still_give_a_model():
    agent, diags = load_text("agent a\nstate s { after 5x -> s }\nstate 9 {}", "f.agent")
    assert agent is not None and [d.code for d in diags] == ["E007", "E115"]


# --------------------------------------------------------------------------- hostile input


def _fast(text: str, limit: float = 60.0):  # a guard against hangs, not a speed test
    start = time.perf_counter()
    agent, diags = load_text(text, "h.agent")
    assert time.perf_counter() - start < limit
    return agent, diags


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{" * 10_000, "E002"),
        ("agent a\n" + "{" * 10_000, "E002"),
        ("agent a\nvar x = " + "(" * 10_000 + "1" + ")" * 10_000, "E011"),
        ("agent a\nvar x = " + "[" * 10_000, "E011"),
        ("agent a\nstate s { on e [" + "(" * 10_000, "E011"),
        ("agent a\n" + "state a {" * 10_000 + "}" * 10_000, "E010"),
        ("agent a\n" + "state a {" * 10_000, "E002"),
        ("x" * 5_000_000, "E009"),
        ("agent a\n" + "var x = 1\n" * 300_000, "E009"),
        ("agent a\n" + "var x = 1\n" * 100_000, "E010"),
        ('agent a\ndescription "' + "x" * 1_000_000, "E002"),
        ('agent a\ndescription """' + "x\n" * 500_000, "E010"),
        ('agent a\ndescription """' + "x" * 1_000_000, "E002"),
        ("agent a\nstate s { entry send x after" + " " * 1_000_000, "E002"),
    ],
    ids=lambda v: v[:30] if isinstance(v, str) else v,
)
def test_hostile_input_gives_a_diagnostic(text, code):
    agent, diags = _fast(text)
    assert [d.code for d in diags if d.is_error][:1] == [code]


def test_deep_but_allowed_nesting_loads():
    agent, diags = _fast("agent a\n" + "state a {" * MAX_STATE_DEPTH + "}" * MAX_STATE_DEPTH)
    assert diags == [] and agent is not None


@pytest.mark.parametrize("seed", range(20))
def test_random_junk_never_raises(seed):
    rng = random.Random(seed)
    junk = bytes(rng.randrange(256) for _ in range(2000)).decode("latin-1")
    _, diags = _fast(junk)
    assert diags and diags[0].code in ("E002", "E004")  # E004: junk that starts with a word


@pytest.mark.parametrize("seed", range(40))
def test_mutated_valid_text_never_raises(seed):
    rng = random.Random(seed)
    chars = list(EXAMPLE)
    for _ in range(5):
        i = rng.randrange(len(chars))
        op = rng.randrange(3)
        if op == 0:
            del chars[i]
        elif op == 1:
            chars.insert(i, rng.choice('{}[]()";/,->=#\n "x1*.'))
        else:
            chars[i] = rng.choice('{}[]()";/,->=#\n "x1*.')
    _fast("".join(chars))  # any result, but no exception


def test_non_text_input():
    _, diags = load_text(b"agent a", "f.agent")  # type: ignore[arg-type]
    assert [d.code for d in diags] == ["E009"]


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_refused_quickly(seed: int):
    junk = random.Random(seed).randbytes(100_000).decode("latin-1")
    agent, diags = _fast(junk)
    assert agent is None and diags and diags[0].code in ("E002", "E004")


# --------------------------------------------------------------------------- the language reference


def _fence_pairs(markdown: str) -> list[tuple[str, str]]:
    """Consecutive ```yaml / ```agent fences: the side-by-side examples of docs/language.md."""
    fences = re.findall(r"^```(\w+)\n(.*?)^```", markdown, re.M | re.S)
    return [(a[1], b[1]) for a, b in itertools.pairwise(fences) if a[0] == "yaml" and b[0] == "agent"]


def _wrap(yaml_text: str, dsl_text: str) -> tuple[str, str] | None:
    first = yaml_text.lstrip().split(":", 1)[0]
    if first == "agent":
        return yaml_text, dsl_text
    if first in ("tools", "states"):
        return "agent: a\n" + yaml_text, "agent a\n" + dsl_text
    if first in ("on", "after", "every", "always"):
        return (
            "agent: a\nstates:\n  s:\n" + textwrap.indent(yaml_text, "    "),
            "agent a\nstate s {\n" + dsl_text + "\n}\n",
        )
    return None


def test_language_reference_examples_are_equal_in_both_syntaxes():
    from counterpoint.dsl.yaml import front as yaml_front
    pairs = _fence_pairs(DOCS.read_text(encoding="utf-8"))
    checked = 0
    for yaml_text, dsl_text in pairs:
        wrapped = _wrap(yaml_text, dsl_text)
        if wrapped is None:
            continue
        from_yaml, ydiags = yaml_front.load_yaml(wrapped[0], "doc.agent.yaml")
        from_text, tdiags = load_text(wrapped[1], "doc.agent")
        assert [d for d in ydiags if d.is_error] == [], wrapped[0]
        assert tdiags == [], wrapped[1]
        assert from_text == from_yaml, wrapped[1]
        checked += 1
    assert checked >= 4


def test_tool_settings_may_follow_the_handler_as_a_list():
    short, diags = load_text(
        "agent a\ntool t(x: string) = m:f\n    timeout 60s, cancel on interrupt, deliver when idle\n"
        "initial s\nstate s { tools t }\n",
        "a.agent",
    )
    braces, _ = load_text(
        "agent a\ntool t(x: string) = m:f {\n    timeout 60s\n    cancel on interrupt\n    deliver when idle\n}\n"
        "initial s\nstate s { tools t }\n",
        "b.agent",
    )
    assert diags == [] and short == braces
    assert short is not None and short.tools[0].timeout == 60.0 and short.tools[0].on_interrupt == "cancel"
