"""Reading files, choosing the front end, resolving includes."""

from __future__ import annotations

from pathlib import Path

import pytest

from counterpoint.dsl import check_file, check_paths, load_file, resolve_includes
from counterpoint.dsl.files import (
    MAX_BYTES,
    STD_DIR,
    agent_files,
    agent_stem,
    display_path,
    load_agent,
    read_source,
)
from counterpoint.dsl.handlers import tool_base_dir


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def only(diags: list, code: str):
    found = [d for d in diags if d.code == code]
    assert found, [d.format() for d in diags]
    return found[0]


# ---------------------------------------------------------------------- read_source


def test_read_source_ok_and_bom(tmp_path: Path) -> None:
    p = tmp_path / "a.agent.yaml"
    p.write_bytes(b"\xef\xbb\xbfagent: a\n")
    assert read_source(p) == ("agent: a\n", [])


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"agent: a\x00\n", "binary"),
        (b"agent: \xff\xfe\n", "UTF-8"),
        (b"x" * (MAX_BYTES + 1), "too large"),
    ],
)
def test_read_source_refuses(tmp_path: Path, content: bytes, why: str) -> None:
    p = tmp_path / "a.agent.yaml"
    p.write_bytes(content)
    text, diags = read_source(p)
    assert text is None
    (d,) = diags
    assert d.code == "E009" and why in d.message and d.hint
    assert (d.span.file, d.span.line, d.span.col) == (str(p), 1, 1)


def test_read_source_missing_and_directory(tmp_path: Path) -> None:
    assert read_source(tmp_path / "nope.agent.yaml")[1][0].code == "E009"
    (d,) = read_source(tmp_path)[1]
    assert d.code == "E009" and "directory" in d.message


def test_load_file_unknown_suffix(tmp_path: Path) -> None:
    p = write(tmp_path, "agent.txt", "agent: a\n")
    agent, (d,) = load_file(p)
    assert agent is None and d.code == "E009" and ".agent.yaml" in (d.hint or "")


def test_load_file_dispatch(tmp_path: Path) -> None:
    y = write(tmp_path, "a.agent.yaml", "agent: a\nstates: {s: {}}\n")
    yml = write(tmp_path, "b.yml", "agent: a\nstates: {s: {}}\n")
    t = write(tmp_path, "c.agent", "agent a\nstate s\n")
    ay, dy = load_file(y)
    ayml, _ = load_file(yml)
    at, dt = load_file(t)
    assert dy == [] and dt == []
    assert ay == ayml == at
    assert ay is not None and ay.states[0].span.file == str(y)


# ---------------------------------------------------------------------- includes


COMMON = """\
agent: common
vars: {shared: 1}
events: {order.ready: [order_id]}
priorities: {user.said: 3}
allow: [json]
tools:
  lookup: {handler: "lib_tools:lookup"}
states:
  extra: {}
"""


def test_top_level_include_merges(tmp_path: Path) -> None:
    write(tmp_path, "lib/common.agent.yaml", COMMON)
    write(tmp_path, "lib/lib_tools.py", "def lookup():\n    return 1\n")
    main = write(
        tmp_path,
        "main.agent.yaml",
        "agent: main\ninclude: lib/common.agent.yaml\npriorities: {user.said: 1}\n"
        "initial: chat\nstates:\n  chat: {tools: [lookup], on: {go: extra}}\n",
    )
    agent, diags = load_file(main)
    assert agent is not None and diags == []
    resolved, diags = resolve_includes(agent, main)
    assert diags == []
    assert resolved.name == "main" and resolved.initial == "chat" and resolved.includes == ()
    assert [s.id for s in resolved.states] == ["chat", "extra"]
    assert [v.name for v in resolved.variables] == ["shared"]
    assert [e.name for e in resolved.events] == ["order.ready"]
    assert [(p.event, p.level) for p in resolved.priorities] == [("user.said", 1)]
    assert resolved.allow == ("json",)
    (tool,) = resolved.tools
    assert Path(tool.span.file) == tmp_path / "lib" / "common.agent.yaml"
    assert resolved.states[1].span.file == tool.span.file
    assert tool_base_dir(tool, tmp_path) == tmp_path / "lib"
    # the handler next to the included file resolves: no E109 from validation
    _, all_diags = check_file(main)
    assert [d.code for d in all_diags] == ["W202"]  # 'go' is never produced


def test_state_include_std_dialog(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        "main.agent.yaml",
        "agent: main\ninitial: session\nstates:\n  session:\n    type: parallel\n    states:\n"
        "      dialog: {include: 'std:dialog'}\n      task: {initial: chat, states: {chat: {}}}\n",
    )
    agent, diags = check_file(main)
    assert diags == [], [d.format() for d in diags]
    assert agent is not None
    dialog = agent.states[0].children[0]
    assert dialog.include is None and dialog.initial == "idle"
    assert [c.id for c in dialog.children] == ["idle", "listening", "generating", "emitting"]
    assert dialog.children[0].span.file == str(STD_DIR / "dialog.agent.yaml")
    assert {p.event for p in agent.priorities} >= {"user.speech.started"}


def test_include_cycle(tmp_path: Path) -> None:
    a = write(tmp_path, "a.agent.yaml", "agent: a\ninclude: b.agent.yaml\nstates: {s: {}}\n")
    write(tmp_path, "b.agent.yaml", "agent: b\ninclude: [c.agent.yaml]\nstates: {t: {}}\n")
    write(tmp_path, "c.agent.yaml", "agent: c\ninclude: [a.agent.yaml]\nstates: {u: {}}\n")
    _, diags = check_file(a)
    d = only(diags, "E112")
    assert Path(d.span.file).name == "c.agent.yaml"
    assert d.message == "include cycle: a.agent.yaml -> b.agent.yaml -> c.agent.yaml -> a.agent.yaml"


def test_self_include_in_state(tmp_path: Path) -> None:
    a = write(tmp_path, "a.agent.yaml", "agent: a\nstates: {s: {include: a.agent.yaml}}\n")
    d = only(check_file(a)[1], "E112")
    assert d.message == "include cycle: a.agent.yaml -> a.agent.yaml"


def test_missing_include_and_std(tmp_path: Path) -> None:
    a = write(
        tmp_path, "a.agent.yaml", "agent: a\ninclude: [nope.agent.yaml, 'std:nothing']\nstates: {s: {}}\n"
    )
    diags = check_file(a)[1]
    assert [d.code for d in diags] == ["E113", "E113"]
    assert "std:dialog" in (diags[1].hint or "")


def test_duplicate_declarations_across_files(tmp_path: Path) -> None:
    write(tmp_path, "lib.agent.yaml", "agent: lib\nvars: {x: 1}\ntools: {t: {handler: 'm:f'}}\n")
    a = write(
        tmp_path,
        "a.agent.yaml",
        "agent: a\ninclude: lib.agent.yaml\nvars: {x: 2}\ntools: {t: {handler: 'm:f'}}\nstates: {s: {}}\n",
    )
    diags = check_file(a)[1]
    assert [d.code for d in diags] == ["E114", "E114"]
    assert all(Path(d.span.file).name == "lib.agent.yaml" for d in diags)


def test_diamond_include_merged_once(tmp_path: Path) -> None:
    write(tmp_path, "base.agent.yaml", "agent: base\nvars: {x: 1}\n")
    write(tmp_path, "l.agent.yaml", "agent: l\ninclude: base.agent.yaml\n")
    write(tmp_path, "r.agent.yaml", "agent: r\ninclude: base.agent.yaml\n")
    a = write(tmp_path, "a.agent.yaml", "agent: a\ninclude: [l.agent.yaml, r.agent.yaml]\nstates: {s: {}}\n")
    agent, diags = check_file(a)
    assert diags == [] and agent is not None and [v.name for v in agent.variables] == ["x"]


def test_included_file_errors_point_into_it(tmp_path: Path) -> None:
    write(tmp_path, "bad.agent.yaml", "agent: bad\nstates:\n  s: {bogus_key: 1}\n")
    a = write(tmp_path, "a.agent.yaml", "agent: a\ninclude: bad.agent.yaml\nstates: {s0: {}}\n")
    d = only(check_file(a)[1], "E004")
    assert Path(d.span.file).name == "bad.agent.yaml" and d.span.line == 3


def test_nested_state_include_gets_relative_paths(tmp_path: Path) -> None:
    write(
        tmp_path,
        "sub/inner.agent.yaml",
        "agent: inner\ninclude: more.agent.yaml\ninitial: q\nstates: {p: {}, q: {}}\n",
    )
    write(tmp_path, "sub/more.agent.yaml", "agent: more\nvars: {m: 0}\n")
    a = write(tmp_path, "a.agent.yaml", "agent: a\nstates: {box: {include: sub/inner.agent.yaml}}\n")
    agent, diags = check_file(a)
    assert agent is not None
    assert [d.code for d in diags] == ["W201"]  # p is unreachable
    assert agent.states[0].initial == "q" and [v.name for v in agent.variables] == ["m"]


def test_check_paths_folder(tmp_path: Path) -> None:
    write(tmp_path, "x/a.agent.yaml", "agent: a\nstates: {s: {}}\n")
    write(tmp_path, "x/b.agent", "agent b\nstate s\n")
    write(tmp_path, "x/a.test.yaml", "not: checked\n")
    write(tmp_path, "x/.hidden/c.agent.yaml", "::: broken\n")
    write(tmp_path, "x/notes.yaml", "::: not an agent file\n")
    diags, count = check_paths([tmp_path / "x"])
    assert (diags, count) == ([], 2)
    diags, count = check_paths([tmp_path / "x" / "missing.agent"])
    assert count == 1 and diags[0].code == "E009"


# ---------------------------------------------------------------------- the one door


def test_load_agent_gives_a_valid_model_or_none(tmp_path: Path) -> None:
    good = write(tmp_path, "good.agent", "agent good\nstate s\nstate t\n")
    agent, diags = load_agent(good)
    assert agent is not None and [d.code for d in diags] == ["W201"]  # warnings do not refuse it
    bad = write(tmp_path, "bad.agent.yaml", "agent: bad\nstates: {s: {on: {go: nowhere}}}\n")
    agent, diags = load_agent(bad)
    assert agent is None and "E101" in [d.code for d in diags]
    # check_file keeps the resolved agent of a file with errors (for tools that show it anyway)
    assert check_file(bad)[0] is not None


def test_loading_for_a_run_validates_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness and the scenario loader pass the door's agent on without validating it again."""
    from counterpoint.engine.core import chart
    from counterpoint.engine.testing.harness import Harness, run
    from counterpoint.engine.testing.runner import load_suite

    def again(agent: object) -> list[object]:
        raise AssertionError("validated a second time")

    monkeypatch.setattr(chart, "validation_errors", again)
    path = write(tmp_path, "a.agent.yaml", "agent: a\nstates: {s: {on: {go: t}}, t: {}}\nevents: {go: []}\n")
    write(tmp_path, "a.test.yaml", "scenarios:\n  - name: goes\n    steps: [{send: go}, {in: t}]\n")
    suite = load_suite(tmp_path / "a.test.yaml")
    assert suite.errors == [] and suite.chart is not None

    async def main() -> None:
        async with Harness.open(path) as h:
            await h.send("go")
            h.assert_in("t")

    run(main)


def test_agent_files_skip_hidden_folders_and_other_files(tmp_path: Path) -> None:
    for name in ("a.agent.yaml", "sub/b.agent", "c.test.yaml", "d.yaml", ".git/e.agent", "__pycache__/f.agent"):
        write(tmp_path, name, "")
    assert [p.relative_to(tmp_path).as_posix() for p in agent_files(tmp_path)] == ["a.agent.yaml", "sub/b.agent"]


@pytest.mark.parametrize(
    ("path", "stem"),
    [("helpers/flights.agent.yaml", "flights"), ("x.agent.yml", "x"), ("x.agent", "x"), ("x.yml", "x"),
     ("std:dialog", "std:dialog"), (".agent", ".agent")],
)  # fmt: skip
def test_agent_stem(path: str, stem: str) -> None:
    assert agent_stem(path) == stem


def test_display_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "x" / "a.agent") == str(Path("x/a.agent"))
    assert display_path("x/../a.agent") == "x/../a.agent"  # relative paths stay as written
    assert display_path("<none>") == "<none>"
    outside = tmp_path.parent / "elsewhere.agent"
    assert display_path(outside) == str(outside)
