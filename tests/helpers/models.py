"""Hypothesis strategies for random, structurally valid agent models.

Models are canonical, as the front ends produce them: within a state, event transitions
come grouped by their event list (each list once) before eventless ones; ``after`` timers
come before ``every`` ones, grouped by delay; history states have ``shallow`` or ``deep``.
Names avoid keywords of the textual syntax; expressions come from a pool of valid ones.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from counterpoint.dsl import (
    Agent,
    Branch,
    Call,
    Cancel,
    CancelSend,
    EventDecl,
    Expr,
    If,
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
    Spawn,
    State,
    StateKind,
    Timer,
    Tool,
    Transition,
    Variable,
    VoiceSettings,
)

NAMES = ["chat", "ask", "wait", "find_table", "count", "x", "_private", "Alpha", "s1", "turns", "b2b", "city"]
EVENTS = ["user.said", "tool.find_table.done", "order.ready", "a-b.c_d", "ping", "done.state.chat", "x1.y2"]
PATTERNS = [*EVENTS, "user.*", "*", "tool.*", "tool.*.error"]
EXPRESSIONS = [
    "x > 1",
    "'a' in text",
    "count + 1",
    "In('s1')",
    "not done",
    "len(text) >= 3 and x != 'y'",
    'text == "yes"',
    "[1, 2]",
    '{"k": 1}',
    "event.data['k']",
    "1",
    "-1",
    "2.5",
    "1e5",
    "2.50",
    "true",
    "null",
    "'null'",
    "'a # b' + x",
    "a - -1",
]
TEXTS = [
    "Hello!",
    "Hello {name}!",
    "literal {{braces}}",
    'it\'s "quoted"',
    "yes",
    "no",
    "on",
    "null",
    "~",
    "12",
    "1.5",
    "1e5",
    "0x1F",
    "0o17",
    ".inf",
    "True",
    "2001-12-14",
    "#x",
    "a: b",
    ": x",
    "- item",
    "*star",
    "&anchor",
    "!tag",
    "%percent",
    "@at",
    "`tick",
    "|",
    ">",
    "[x]",
    "{x}",
    "  leading",
    "trailing  ",
    "",
    "two\nlines",
    "\nleading newline",
    "trailing newline\n",
    "a\n\nb\n\n",
    "tab\tinside",
    "crlf\r\nline",
    "nel\x85line",
    "ls\u2028line",
    "héllo wörld — ünïcode ✓ 日本語 😀",
    "back\\slash",
    "bell\x07",
    "  \n  ",
]
#: Deepest state nesting generated (top level is depth 0).
MAX_DEPTH = 3
DELAYS = [0.001, 0.25, 0.5, 1.0, 1.5, 30.0, 45.0, 90.0, 120.0, 3600.0, 5400.0]

names = st.sampled_from(NAMES)
texts = st.one_of(
    st.sampled_from(TEXTS),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufeff"), max_size=20),
)
exprs = st.builds(Expr, st.sampled_from(EXPRESSIONS))
events = st.sampled_from(EVENTS)


def _unique(elements, max_size: int = 3, key=None):
    return (
        st.lists(elements, max_size=max_size, unique_by=key).map(tuple)
        if key
        else st.lists(elements, max_size=max_size, unique=True).map(tuple)
    )


bindings = st.lists(st.tuples(names, exprs), max_size=3, unique_by=lambda b: b[0]).map(tuple)

simple_actions = st.one_of(
    st.builds(Say, texts),
    st.builds(Respond, st.none() | texts),
    st.builds(Call, names, bindings, st.none() | names),
    st.builds(Cancel, names),
    st.builds(Raise, events, bindings),
    st.builds(
        Send,
        events,
        bindings,
        st.none() | st.sampled_from(DELAYS),
        st.none() | names,
        st.none() | st.integers(-5, 20),
    ),
    st.builds(CancelSend, names),
    st.builds(Set, names, exprs),
    st.builds(Log, texts),
    st.builds(
        Spawn,
        st.sampled_from(["helper.agent.yaml", "sub/agent.agent", "std:dialog"]),
        st.none() | names,
        st.none() | texts,
        st.booleans(),
    ),
)
actions = st.recursive(
    simple_actions,
    lambda inner: st.builds(
        If,
        st.lists(st.builds(Branch, exprs, st.lists(inner, max_size=2).map(tuple)), min_size=1, max_size=3).map(
            tuple
        ),
        st.lists(inner, max_size=2).map(tuple),
    ),
    max_leaves=4,
)
action_lists = st.lists(actions, max_size=4).map(tuple)
targets = st.lists(names, max_size=2).map(tuple)
guards = st.none() | exprs


@st.composite
def transitions(draw, final: bool = False) -> tuple[Transition, ...]:
    """Event transitions grouped by event list, then eventless ones."""
    if final:
        return ()
    keys = draw(
        st.lists(
            st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=2, unique=True).map(tuple),
            max_size=3,
            unique=True,
        )
    )
    out = []
    for key in keys:
        for _ in range(draw(st.integers(1, 2))):
            out.append(Transition(key, draw(targets), draw(guards), draw(action_lists), draw(st.booleans())))
    for _ in range(draw(st.integers(0, 2))):
        out.append(Transition((), draw(targets), draw(guards), draw(action_lists), draw(st.booleans())))
    return tuple(out)


@st.composite
def timers(draw) -> tuple[Timer, ...]:
    out = []
    for kind in ("after", "every"):
        for delay in draw(st.lists(st.sampled_from(DELAYS), max_size=2, unique=True)):
            for _ in range(draw(st.integers(1, 2))):
                out.append(Timer(kind, delay, draw(targets), draw(guards), draw(action_lists)))
    return tuple(out)


@st.composite
def states(draw, depth: int = 0, counter: list[int] | None = None) -> tuple[State, ...]:
    """Sibling states with unique ids (ids are unique in the whole tree)."""
    counter = counter if counter is not None else [0]
    out = []
    for _ in range(draw(st.integers(1 if depth == 0 else 0, 3 if depth == 0 else 2))):
        counter[0] += 1
        sid = f"{draw(names)}_{counter[0]}"
        kind = draw(
            st.sampled_from(list(StateKind))
            if depth < MAX_DEPTH
            else st.sampled_from([StateKind.STATE, StateKind.FINAL])
        )
        common = {
            "description": draw(st.none() | texts),
            "entry": draw(action_lists),
            "exit": draw(action_lists),
        }
        if kind is StateKind.HISTORY:
            out.append(
                State(
                    sid,
                    kind,
                    history=draw(st.sampled_from(["shallow", "deep"])),
                    default=draw(targets),
                    description=common["description"],
                )
            )
            continue
        if kind is StateKind.FINAL:
            out.append(State(sid, kind, data=draw(bindings), **common))
            continue
        children = draw(states(depth + 1, counter)) if depth < MAX_DEPTH else ()
        if kind is StateKind.PARALLEL and not children:
            children = (State(f"region_{counter[0]}"),)
        initial = None
        if kind is StateKind.STATE and children:
            initial = children[0].id
        out.append(
            State(
                sid,
                kind,
                initial=initial,
                initial_actions=draw(action_lists) if initial else (),
                children=children,
                transitions=draw(transitions()),
                timers=draw(timers()),
                prompt=draw(st.none() | texts),
                tools=draw(_unique(names)),
                include=draw(st.none() | st.just("std:dialog")),
                **common,
            )
        )
    return tuple(out)


literals = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)

params = st.builds(
    Param,
    names,
    st.sampled_from(["string", "integer", "number", "boolean", "array", "object"]),
    st.none() | texts,
    st.booleans(),
    st.none()
    | st.lists(
        st.one_of(texts, st.integers(-9, 9), st.sampled_from([0.5, -2.25]), st.booleans()), max_size=3
    ).map(tuple),
)
tools = st.builds(
    Tool,
    names,
    st.sampled_from(["tools:find_table", "my.pkg.mod:fn", "x:y"]),
    st.lists(params, max_size=3, unique_by=lambda p: p.name).map(tuple),
    st.none() | texts,
    st.none() | st.sampled_from(DELAYS),
    st.sampled_from(["keep", "cancel"]),
    st.sampled_from(["keep", "cancel"]),
    st.sampled_from(["interrupt", "when_idle", "silent"]),
)
llm_settings = st.builds(
    LLMSettings,
    st.none() | st.sampled_from(["openai", "embedded"]),
    st.none() | st.sampled_from(["gpt-4o-mini", "smollm2", "1.5"]),
    st.none() | st.just("http://localhost:8080/v1"),
    st.none() | st.just("OPENAI_API_KEY"),
    st.none() | st.sampled_from([0.0, 0.3, 1.0, 1.25]),
    st.none() | st.integers(1, 4096),
)
voice_settings = st.builds(
    VoiceSettings,
    st.none() | st.just("tiny.en"),
    st.none() | st.sampled_from(["joe", "yes"]),
    st.none() | st.sampled_from(["en", "no"]),
    st.none() | st.sampled_from([1.0, 1.25, 0.8]),
)


def _literal_expr(value) -> Expr:
    return Expr(json.dumps(value, ensure_ascii=False))


@st.composite
def agents(draw) -> Agent:
    tops = draw(states())
    return Agent(
        name=draw(names),
        description=draw(st.none() | texts),
        instructions=draw(st.none() | texts),
        llm=draw(st.none() | llm_settings),
        voice=draw(st.none() | voice_settings),
        allow=draw(_unique(st.sampled_from(["requests_cache", "numpy", "my_pkg"]))),
        includes=tuple(
            Include(p) for p in draw(_unique(st.sampled_from(["std:dialog", "common.agent.yaml"])))
        ),
        variables=tuple(
            Variable(n, _literal_expr(v))
            for n, v in draw(st.lists(st.tuples(names, literals), max_size=3, unique_by=lambda p: p[0]))
        ),
        events=draw(
            st.lists(
                st.builds(EventDecl, events, _unique(names)), max_size=3, unique_by=lambda e: e.name
            ).map(tuple)
        ),
        priorities=draw(
            st.lists(
                st.builds(Priority, st.sampled_from(PATTERNS), st.integers(-3, 20)),
                max_size=3,
                unique_by=lambda p: p.event,
            ).map(tuple)
        ),
        tools=draw(st.lists(tools, max_size=2, unique_by=lambda t: t.name).map(tuple)),
        initial=tops[0].id,
        states=tops,
    )
