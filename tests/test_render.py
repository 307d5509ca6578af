"""Diagram rendering: structure of the dot text, escaping, determinism, output formats."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import graphviz
import pytest

from counterpoint.dsl import (
    Agent,
    Call,
    Cancel,
    Expr,
    Log,
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
)
from counterpoint.dsl.files import standard_region
from counterpoint.dsl.render import RenderError, render, to_dot
from counterpoint.dsl.render import graphviz as render_mod
from counterpoint.dsl.render.labels import action_text, esc, shorten

P = StateKind.PARALLEL
FINAL = StateKind.FINAL
HIST = StateKind.HISTORY


def on(events: str, *targets: str, guard: str | None = None, do=(), internal: bool = False) -> Transition:
    return Transition(
        events=tuple(events.split()),
        targets=targets,
        guard=Expr(guard) if guard else None,
        actions=tuple(do),
        internal=internal,
    )


def always(*targets: str, guard: str | None = None, do=()) -> Transition:
    return Transition(targets=targets, guard=Expr(guard) if guard else None, actions=tuple(do))


def after(seconds: float, *targets: str, guard: str | None = None, do=(), every: bool = False) -> Timer:
    return Timer(
        kind="every" if every else "after",
        delay=seconds,
        targets=targets,
        guard=Expr(guard) if guard else None,
        actions=tuple(do),
    )


def dialog_region() -> State:
    """The standard dialog region: idle, listening, generating, emitting."""
    return State(
        "dialog",
        initial="idle",
        children=(
            State("idle", transitions=(on("user.speech.started", "listening"),)),
            State(
                "listening",
                transitions=(
                    on("user.said", "generating", do=[Respond()]),
                    on("user.speech.stopped", "idle", guard="len(text) == 0"),
                ),
            ),
            State(
                "generating",
                transitions=(
                    on("agent.speech.started", "emitting"),
                    on("user.speech.started", "listening"),
                    on("llm.error", "idle", do=[Say("Sorry, something went wrong.")]),
                ),
            ),
            State(
                "emitting",
                transitions=(
                    on("agent.said", "idle"),
                    on("user.speech.started", "listening", do=[Log("barge-in")]),
                ),
            ),
        ),
    )


def concierge() -> Agent:
    """A concierge: dialog region in parallel with a task region running a slow tool."""
    task = State(
        "task",
        initial="chat",
        children=(
            State(
                "chat",
                prompt="Call find_table once you know cuisine, time and party size.",
                tools=("find_table",),
                transitions=(
                    on("tool.find_table.started", "searching"),
                    on("user.said", "bye", guard="'goodbye' in text"),
                ),
                timers=(after(45, do=[Say("Are you still there?")]),),
            ),
            State(
                "searching",
                entry=(Say("Let me look that up for you."),),
                timers=(
                    after(5, do=[Say("Still searching, one moment…")], every=True),
                    after(60, "chat", do=[Cancel("find_table"), Say("That is taking too long, sorry.")]),
                ),
                transitions=(
                    on("tool.find_table.done", "confirm", do=[Respond("Read the options back")]),
                    on("tool.find_table.error", "chat", do=[Say("The booking system is down.")]),
                ),
            ),
            State(
                "confirm",
                prompt="Read the options back and ask which one to book.",
                transitions=(
                    on("user.said", "booked", guard="'yes' in lower(text)", do=[Set("booked", Expr("true"))]),
                    on("user.said", "chat", guard="'no' in lower(text)"),
                ),
            ),
            State("booked", entry=(Say("Your table is booked. Goodbye!"),), kind=FINAL),
            State("bye", kind=FINAL),
        ),
    )
    session = State("session", kind=P, children=(dialog_region(), task))
    return Agent(
        name="concierge",
        instructions="You are a concise, friendly concierge on a phone call.",
        tools=(Tool("find_table", "concierge_tools:find_table", timeout=60),),
        initial="session",
        states=(session,),
    )


def reminder() -> Agent:
    """A reminder agent: timers, a deep history to resume, snooze."""
    active = State(
        "active",
        initial="waiting",
        children=(
            State("hist", kind=HIST, history="deep", default=("waiting",)),
            State(
                "waiting",
                timers=(
                    after(1800, "reminding"),
                    after(60, do=[Log("tick {count}"), Set("count", Expr("count + 1"))], every=True),
                ),
                transitions=(on("user.said", "snoozed", guard="'snooze' in text"),),
            ),
            State(
                "reminding",
                initial="ringing",
                children=(
                    State(
                        "ringing",
                        entry=(Say("Time to take your medication: {medication}"),),
                        timers=(after(30, "escalating"),),
                    ),
                    State(
                        "escalating",
                        entry=(Send("notify.caregiver", delay=None),),
                        timers=(after(10, do=[Say("Please answer me!")], every=True),),
                    ),
                ),
                transitions=(on("user.said", "done", guard="'taken' in text", do=[Log("taken")]),),
            ),
            State("snoozed", timers=(after(600, "reminding"),)),
        ),
        transitions=(on("call.incoming", "paused"),),
    )
    return Agent(
        name="reminder",
        initial="active",
        states=(
            active,
            State("paused", transitions=(on("call.ended", "hist"),)),
            State("done", kind=FINAL),
        ),
    )


def form_filler() -> Agent:
    """A form-filling agent: nested compound states and a parallel validation region."""
    address = State(
        "address",
        initial="street",
        children=(
            State("street", transitions=(on("user.said", "city", do=[Set("street", Expr("text"))]),)),
            State("city", transitions=(on("user.said", "postcode", do=[Set("city", Expr("text"))]),)),
            State(
                "postcode", transitions=(on("user.said", "address_done", do=[Set("postcode", Expr("text"))]),)
            ),
            State("address_done", kind=FINAL),
        ),
    )
    collecting = State(
        "collecting",
        initial="name",
        prompt="Ask for one field at a time; never guess.",
        children=(
            State(
                "name",
                entry=(Say("What is your full name?"),),
                transitions=(on("user.said", "address", do=[Set("name", Expr("text"))]),),
            ),
            address,
        ),
        transitions=(on("done.state.address", "checking"),),
    )
    checks = State(
        "checks",
        kind=P,
        children=(
            State(
                "postcode_check",
                initial="pending",
                children=(
                    State(
                        "pending",
                        entry=(Call("lookup_postcode", args=(("code", Expr("postcode")),)),),
                        transitions=(
                            on("tool.lookup_postcode.done", "ok", guard="result.valid"),
                            on("tool.lookup_postcode.done", "bad", guard="not result.valid"),
                        ),
                    ),
                    State("ok", kind=FINAL),
                    State("bad", entry=(Raise("invalid.postcode"),)),
                ),
            ),
            State(
                "name_check",
                initial="checking_name",
                children=(
                    State("checking_name", transitions=(always("name_ok", guard="len(name) > 1"),)),
                    State("name_ok", kind=FINAL),
                ),
            ),
        ),
        tools=("lookup_postcode",),
    )
    checking = State(
        "checking",
        initial="checks",
        children=(checks,),
        transitions=(
            on("done.state.checks", "submitted", do=[Spawn("archiver.agent.yaml", id="arch")]),
            on(
                "invalid.postcode",
                "address",
                do=[Say("That postcode does not exist, let's redo the address.")],
            ),
        ),
    )
    return Agent(
        name="form_filler",
        tools=(Tool("lookup_postcode", "forms:lookup_postcode"),),
        initial="collecting",
        states=(
            collecting,
            checking,
            State("submitted", kind=FINAL, entry=(Say("Thanks, all done."),)),
        ),
    )


EXAMPLES = {"concierge": concierge, "reminder": reminder, "form_filler": form_filler}


def write_examples(folder: Path, fmt: str = "png") -> list[Path]:
    paths = []
    for name, build in EXAMPLES.items():
        path = folder / f"render_{name}.{fmt}"
        path.write_bytes(render(build(), fmt))
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- helpers


def dot_ok(source: str) -> None:
    """The dot text is accepted by Graphviz without errors or warnings."""
    proc = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr.decode().strip() == "", proc.stderr.decode()


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_are_valid_dot(name):
    dot_ok(to_dot(EXAMPLES[name]()))


def test_clusters_regions_and_pseudo_states():
    src = to_dot(concierge())
    assert "compound=true" in src
    # session (parallel) is a cluster; its regions are dashed clusters
    assert src.count("subgraph cluster_") == 3
    assert "(parallel)" in src and "‖" in src
    assert src.count("dashed") >= 2
    # initial dots: root + dialog + task
    assert len(re.findall(r"^\s*i(?:_root|\d+) \[", src, re.M)) == 3
    # atomic states are rounded tables, finals with no actions double circles
    assert 'STYLE="rounded"' in src
    assert "doublecircle" in src
    assert "<B>generating</B>" in src


def test_labels_of_transitions_timers_and_activities():
    src = to_dot(concierge())
    assert "user.said [&#x27;goodbye&#x27; in text&#93;" in src
    assert "after 1m" in src
    assert "/ cancel find_table; say &quot;That is taking too long…&quot;" in src
    # targetless timers and entry actions are internal activities of the state
    assert "every 5s / say &quot;Still searching, one mo…&quot;" in src
    assert "entry / say &quot;Let me look that up for…&quot;" in src
    assert "after 45s / say &quot;Are you still there?&quot;" in src
    # prompts and tools are shown compactly
    assert "✎ Call find_table once you know cuisi…" in src
    assert "⚙ find_table" in src
    # an edge into a cluster is clipped at its border
    assert "lhead=cluster_" in src


def test_history_and_eventless_labels():
    src = to_dot(reminder())
    assert 'label="H*"' in src
    assert "style=dashed" in src  # history default edge
    assert "ltail=cluster_" in src  # call.incoming leaves the active cluster
    form = to_dot(form_filler())
    assert "[len(name) &gt; 1&#93;" in form
    assert "spawn arch" in form
    assert "call lookup_postcode(…)" in form


def test_edges_inside_own_cluster_are_not_clipped():
    # child -> parent and parent -> child: lhead/ltail would be rejected by dot
    agent = Agent(
        name="a",
        initial="outer",
        states=(
            State(
                "outer",
                initial="x",
                children=(State("x", transitions=(on("up", "outer"),)),),
                transitions=(on("down", "x"), on("again", "outer")),
            ),
        ),
    )
    dot_ok(to_dot(agent))


def test_multi_target_transition_gives_several_edges():
    agent = Agent(
        name="m",
        initial="p",
        states=(
            State(
                "p",
                kind=P,
                children=(
                    State("r1", initial="a", children=(State("a"), State("b"))),
                    State("r2", initial="c", children=(State("c"), State("d"))),
                ),
                transitions=(on("go", "b", "d"),),
            ),
        ),
    )
    src = to_dot(agent)
    assert src.count("label=<go>") == 2
    dot_ok(src)


def test_action_texts():
    assert action_text(Say("x" * 40)) == 'say "' + "x" * 23 + '…"'
    assert action_text(Respond()) == "respond"
    assert action_text(Call("t")) == "call t()"
    assert action_text(Send("remind", delay=30)) == "send remind after 30s"
    assert action_text(Spawn("sub/helper.agent.yaml")) == "spawn helper"
    assert action_text(Spawn("h.agent.yaml", id="h1", fork=True)) == "fork h1"
    assert action_text(Log("x")) == "log"
    assert shorten("a\n  b", 10) == "a b"


# --------------------------------------------------------------------------- escaping and determinism


HOSTILE = 'x" ] -> evil; \\ <B>&amp;</B> {}\n\t\x00\x07 é 中 🦜 \ud800 \ufffe'


def test_escape_strips_non_xml_and_markup():
    text = esc(HOSTILE)
    assert "<" not in text and ">" not in text and '"' not in text
    assert "\x00" not in text and "\ud800" not in text and "\ufffe" not in text
    assert "é 中 🦜" in text


def test_hostile_names_and_texts_do_not_break_dot():
    evil_id = HOSTILE
    agent = Agent(
        name=HOSTILE,
        initial=evil_id,
        states=(
            State(
                evil_id,
                initial="in}ner",
                prompt=HOSTILE,
                tools=(HOSTILE,),
                entry=(Say(HOSTILE), Log(HOSTILE)),
                children=(
                    State(
                        "in}ner",
                        transitions=(on("ev\\il", "\\\\", guard='a < b and "c" > d', do=[Say(HOSTILE)]),),
                    ),
                    State("\\\\", kind=FINAL, entry=(Raise('"]'),)),
                ),
                transitions=(on("x", "nowhere"),),  # unknown target: drawn, not fatal
            ),
        ),
    )
    src = to_dot(agent)
    dot_ok(src)
    assert "? nowhere" in src
    for fmt in ("svg", "png"):
        assert render(agent, fmt)


def test_every_ascii_character_as_a_name():
    chars = [chr(c) for c in range(1, 128)]
    states = tuple(
        State(
            f"s{i}_{c}",
            prompt=c,
            tools=(c,),
            entry=(Say(c),),
            transitions=(on(f"e{i}", f"s{(i + 1) % len(chars)}_{chars[(i + 1) % len(chars)]}", guard=c),),
        )
        for i, c in enumerate(chars)
    ) + tuple(State(c * n, kind=FINAL) for c in chars for n in (1, 2, 3) if c.strip())
    dot_ok(to_dot(Agent(name="ascii", initial="s0_\x01", states=states)))


def test_deterministic():
    for build in EXAMPLES.values():
        assert to_dot(build()) == to_dot(build())
        assert render(build(), "dot") == to_dot(build()).encode()


# --------------------------------------------------------------------------- highlight


def test_highlight_marks_states():
    plain = to_dot(concierge())
    src = to_dot(concierge(), highlight=["generating", "task", "bye"])
    assert src != plain
    assert render_mod.ACTIVE_FILL in src
    gen = re.search(r"<B>generating</B>", src)
    assert gen
    assert f'BGCOLOR="{render_mod.ACTIVE_FILL}"' in src  # atomic: table fill
    assert "bold" in src  # cluster: bold border
    dot_ok(src)


def test_highlight_unknown_state_is_an_error():
    with pytest.raises(RenderError) as info:
        to_dot(concierge(), highlight=["generatin"])
    assert "generatin" in info.value.message
    assert info.value.hint == "did you mean 'generating'?"
    with pytest.raises(RenderError):
        render(concierge(), "svg", highlight=["nope"])


def test_highlight_accepts_a_single_string():
    assert render_mod.ACTIVE_FILL in to_dot(reminder(), highlight="ringing")


# --------------------------------------------------------------------------- formats and errors


@pytest.mark.parametrize(
    ("fmt", "magic"),
    [("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF-"), ("dot", b"digraph")],
)
def test_formats(fmt, magic):
    assert render(reminder(), fmt).startswith(magic)


def test_svg():
    data = render(form_filler(), "svg")
    assert data.lstrip().startswith(b"<?xml") and b"<svg" in data[:1000]


def test_unknown_format():
    with pytest.raises(RenderError) as info:
        render(reminder(), "pgn")
    assert info.value.hint == "did you mean 'png'?"


def test_missing_dot_is_a_render_error(monkeypatch):
    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(render_mod.graphviz, "pipe", missing)
    with pytest.raises(RenderError) as info:
        render(reminder(), "svg")
    assert "apt-get install graphviz" in str(info.value)


def test_failing_dot_is_a_render_error(monkeypatch):
    def failing(*args, **kwargs):
        raise graphviz.CalledProcessError(1, ["dot"], stderr=b"Error: syntax error in line 1")

    monkeypatch.setattr(render_mod.graphviz, "pipe", failing)
    with pytest.raises(RenderError) as info:
        render(reminder(), "png")
    assert "syntax error in line 1" in info.value.message


def test_example_pngs(tmp_path):
    for path in write_examples(tmp_path):
        assert path.read_bytes().startswith(b"\x89PNG")


def test_odd_and_invalid_models_still_render():
    agents = [
        Agent(name="empty"),
        Agent(
            name="odd",
            initial="p",
            states=(
                State(
                    "p",
                    kind=P,
                    children=(
                        State("h", kind=HIST, default=("r1",)),
                        State("r1", initial="a", children=(State("a"), State("b"))),
                        State("leaf", transitions=(on("x", "p"),)),  # atomic region, child -> parent
                    ),
                    transitions=(on("again", "p"), on("down", "a")),  # self loop, parent -> child
                ),
                State("p", entry=(Say("duplicate id"),)),  # invalid: drawn once
                State("nested", initial=None, children=(State("only"),)),  # no initial: first child
                State("f", kind=FINAL, children=(State("ghost"),), transitions=(on("go", "ghost"),)),
                State("inc", include="std:dialog"),
            ),
        ),
    ]
    for agent in agents:
        src = to_dot(agent)
        dot_ok(src)
    src = to_dot(agents[1])
    assert src.count("duplicate id") == 0
    assert "include std:dialog" in src
    assert "? ghost" in src


@pytest.mark.parametrize(
    "name",
    [
        '"',
        "\\",
        '\\\\"',
        "<",
        ">",
        "&",
        "{",
        "}",
        "]",
        "[",
        "a\nb",
        "\r",
        "-> x",
        "node",
        "graph",
        "subgraph",
        "&amp;",
        "<<B>>",
        "\u202e",
        "\U0001f600",
        "a" * 300,
    ],
)
def test_hostile_ids_one_by_one(name):
    agent = Agent(
        name=name,
        initial=name,
        states=(
            State(
                name,
                initial="k",
                children=(State("k", transitions=(on("e", name, guard=name, do=[Say(name)]),)),),
            ),
            State("k2", kind=FINAL, entry=(Log(name),)),
        ),
    )
    dot_ok(to_dot(agent, highlight=[name]))


# --------------------------------------------------------------------------- standard regions, labels, tooltips

ROOT = Path(__file__).resolve().parent.parent


def concierge_file() -> Agent:
    from counterpoint.dsl import check_file

    agent, _ = check_file(ROOT / "agents" / "concierge" / "concierge.agent.yaml")
    assert agent is not None
    return agent


def test_an_included_standard_region_is_one_box_unless_expanded():
    agent = concierge_file()
    compact = to_dot(agent)
    assert "std:dialog" in compact and "idle, listening, generating, emitting" in compact
    assert "llm.started" not in compact and "dialog.user.said" not in compact  # its edges are left out
    full = to_dot(agent, expand=True)
    assert "std:dialog" not in full and "llm.started" in full
    assert standard_region(agent.states[0].children[0]) == "std:dialog"
    assert standard_region(agent.states[0].children[1]) is None
    dot_ok(compact)


def test_highlighting_a_state_of_a_compact_region_marks_the_box_and_the_name():
    src = to_dot(concierge_file(), highlight=("listening",))
    assert f'COLOR="{render_mod.ACTIVE_LINE}"><B>listening</B>' in src


def test_set_labels_show_the_value():
    assert action_text(Set("size", Expr("'large'"))) == "set size = 'large'"
    assert action_text(Set("n", Expr("n + " + "1 + " * 20 + "1"))) == "set n = n + 1 + 1 + 1 +…"


def test_cut_labels_carry_their_full_text_as_tooltips():
    long = "Goodbye, and have a lovely evening, with a back\\slash"
    agent = Agent(
        name="t",
        initial="a",
        states=(
            State("a", entry=(Say(long),), transitions=(on("user.said", "b", guard="len(text) > 100000000000"),)),
            State("b"),
        ),
    )
    src = to_dot(agent)
    assert "Goodbye, and have a lov…" in src  # the label is cut
    assert 'tooltip="a\\nentry say \\"Goodbye, and have a lovely evening, with a back\\\\\\\\slash' in src
    assert 'tooltip="on user.said [len(text) > 100000000000] -> b"' in src
    dot_ok(src)
    svg = render(agent, "svg").decode()
    assert "xlink:title=\"a&#10;entry say &quot;Goodbye, and have a lovely evening" in svg


def test_a_state_s_own_transitions_inward_start_at_a_visible_entry_point():
    agent = Agent(
        name="a",
        initial="outer",
        states=(
            State("outer", initial="x", children=(State("x"), State("y")), transitions=(on("reset", "y"),)),
        ),
    )
    src = to_dot(agent)
    assert re.search(r"\ta0 \[[^]]*shape=circle", src)  # the anchor is drawn, not invisible
    dot_ok(src)


def test_self_loop_labels_are_external():
    agent = Agent(name="a", initial="s", states=(State("s", transitions=(on("again", "s"),)),))
    src = to_dot(agent)
    assert "xlabel=<again>" in src and "forcelabels=true" in src
