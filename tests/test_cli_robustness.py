"""The command line on hostile input: no hang, no traceback, no lost data, the right exit code."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from counterpoint.dsl import load_file
from counterpoint.dsl.files import read_source
from counterpoint.engine import cli

GOOD = """\
agent: hello
initial: chat
states:
  chat:
    entry: {say: Hello!}
    on:
      user.said: bye
  bye: {type: final}
"""


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "good.agent.yaml").write_text(GOOD)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- files that are not files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_is_refused_without_blocking(work: Path, capsys: pytest.CaptureFixture[str]):
    os.mkfifo(work / "pipe.agent.yaml")
    code, out, _ = run(capsys, "validate", "pipe.agent.yaml")
    assert code == 1
    assert "pipe.agent.yaml:1:1: error[E009]: cannot read the file: it is not a regular file" in out


def test_a_broken_symlink_says_so(work: Path):
    (work / "link.agent.yaml").symlink_to(work / "gone.agent.yaml")
    text, diags = read_source(work / "link.agent.yaml")
    assert text is None and "broken symbolic link" in diags[0].message


def test_a_missing_file_is_missing_whatever_its_suffix(work: Path, capsys: pytest.CaptureFixture[str]):
    code, out, _ = run(capsys, "validate", "nope/")
    assert code == 1 and "cannot read the file: no such file" in out
    assert "unknown kind of file" not in out


def test_a_directory_named_on_render_is_a_directory(work: Path, capsys: pytest.CaptureFixture[str]):
    (work / "sub").mkdir()
    code, _, err = run(capsys, "render", "sub", "-o", "x.svg")
    assert code == 1 and "it is a directory" in err


def test_a_scenario_file_given_to_validate_points_at_test(work: Path, capsys: pytest.CaptureFixture[str]):
    (work / "hello.test.yaml").write_text("scenarios: []\n")
    code, out, _ = run(capsys, "validate", "hello.test.yaml")
    assert code == 1
    assert "it is a scenario file, not an agent definition" in out
    assert "hint: run it with 'counterpoint test hello.test.yaml'" in out


def test_file_level_diagnostics_have_a_closed_span(work: Path):
    _, diags = load_file(work / "nope.agent.yaml")
    span = diags[0].span
    assert (span.line, span.col, span.end_line, span.end_col) == (1, 1, 1, 1)


# --------------------------------------------------------------------------- never overwrite the input


def test_convert_refuses_to_overwrite_its_input(work: Path, capsys: pytest.CaptureFixture[str]):
    code, _, err = run(capsys, "convert", "good.agent.yaml", "-o", "./good.agent.yaml")
    assert code == 2 and "would overwrite the input file good.agent.yaml" in err
    assert (work / "good.agent.yaml").read_text() == GOOD


def test_render_refuses_to_overwrite_its_input(work: Path, capsys: pytest.CaptureFixture[str]):
    code, _, err = run(capsys, "render", "good.agent.yaml", "-o", "good.agent.yaml", "--format", "dot")
    assert code == 2 and "would overwrite the input file" in err
    assert (work / "good.agent.yaml").read_text() == GOOD


def test_convert_takes_the_syntax_from_the_output_suffix(work: Path, capsys: pytest.CaptureFixture[str]):
    assert run(capsys, "convert", "good.agent.yaml", "-o", "copy.agent.yaml")[0] == 0
    assert (work / "copy.agent.yaml").read_text().startswith("agent: hello")
    assert run(capsys, "validate", "copy.agent.yaml")[0] == 0
    assert run(capsys, "convert", "good.agent.yaml", "-o", "copy.agent")[0] == 0
    assert (work / "copy.agent").read_text().startswith("agent hello")


def test_convert_to_contradicting_the_output_suffix_is_a_usage_error(
    work: Path, capsys: pytest.CaptureFixture[str]
):
    code, _, err = run(capsys, "convert", "good.agent.yaml", "--to", "dsl", "-o", "out.agent.yaml")
    assert code == 2 and "--to dsl but -o out.agent.yaml names a YAML file" in err
    assert not (work / "out.agent.yaml").exists()


# --------------------------------------------------------------------------- usage errors


def test_extra_arguments_are_reported_by_the_subcommand(work: Path, capsys: pytest.CaptureFixture[str]):
    code, _, err = run(capsys, "schema", "extra")
    assert code == 2
    assert "usage: counterpoint schema" in err
    assert "counterpoint schema: error: unrecognized arguments: extra" in err


def test_render_refuses_a_format_that_contradicts_the_suffix(tmp_path: Path) -> None:
    from counterpoint.engine.cli import main

    agent = tmp_path / "a.agent.yaml"
    agent.write_text("agent: a\ninitial: s\nstates: {s: {}}\n")
    out = tmp_path / "x.pdf"
    assert main(["render", str(agent), "-o", str(out), "--format", "svg"]) == 2
    assert not out.exists()
    assert main(["render", str(agent), "-o", str(tmp_path / "x.svg"), "--format", "svg"]) == 0


# --------------------------------------------------------------------------- what reaches the terminal

EVIL = 'agent: x\ninitial: "\\e]0;x\\a\\e[2J"\nstates:\n  "\\e]0;x\\a\\e[2J": {}\n'


def test_names_from_a_file_cannot_drive_the_terminal(work: Path, capsys: pytest.CaptureFixture[str]):
    (work / "evil.agent.yaml").write_text(EVIL)
    code, out, _ = run(capsys, "validate", "evil.agent.yaml")
    assert code == 1
    assert "\x1b" not in out and "\x07" not in out
    assert "evil.agent.yaml:4:3: error[E115]: invalid state name '\\x1b]0;x\\x07\\x1b[2J'" in out


def test_json_output_keeps_control_characters_as_json_escapes(work: Path, capsys: pytest.CaptureFixture[str]):
    (work / "evil.agent.yaml").write_text(EVIL)
    _, out, _ = run(capsys, "validate", "--format", "json", "evil.agent.yaml")
    assert "\x1b" not in out and "\\u001b]0;x\\u0007" in out
    messages = [d["message"] for d in json.loads(out)["diagnostics"]]
    assert "invalid state name '\x1b]0;x\x07\x1b[2J'" in messages


def test_a_raw_newline_in_a_name_stays_on_its_line(work: Path, capsys: pytest.CaptureFixture[str]):
    (work / "nl.agent").write_text('agent x\ninclude "a\\nb"\n')
    _, out, _ = run(capsys, "validate", "nl.agent")
    assert out.splitlines()[0] == "nl.agent:2:9: error[E113]: included file 'a\\nb' not found"


def test_a_lone_surrogate_is_a_diagnostic(work: Path, capsys: pytest.CaptureFixture[str]):
    (work / "s.agent").write_text('agent x\nllm { provider "\\ud800" }\n')
    code, out, err = run(capsys, "validate", "s.agent")
    assert code == 1 and "internal error" not in err
    assert "s.agent:2:17: error[E008]: invalid escape in string: half of a surrogate pair" in out


def test_scenario_names_are_printed_escaped(work: Path, capsys: pytest.CaptureFixture[str]):
    (work / "x.test.yaml").write_text(
        'agent: good.agent.yaml\nscenarios:\n- name: "\\e[2J\\a"\n  steps: [{in: bye}]\n'
    )
    code, out, _ = run(capsys, "test", "x.test.yaml")
    assert code == 1 and "\x1b" not in out and "\x07" not in out
    assert "FAILED x.test.yaml::\\x1b[2J\\x07" in out


def test_a_name_too_long_for_the_system_is_not_found(work: Path, capsys: pytest.CaptureFixture[str]):
    (work / "long.agent.yaml").write_text("agent: x\ninclude: [" + "a" * 256 + "]\n")
    code, out, _ = run(capsys, "validate", "long.agent.yaml")
    assert code == 1 and "error[E113]: included file 'aaaa" in out
    (work / "long.test.yaml").write_text("agent: " + "a" * 256 + "\nscenarios: [{name: s, steps: [{in: chat}]}]\n")
    code, out, _ = run(capsys, "test", "long.test.yaml")
    assert code == 1 and "error[E009]: no agent file aaaa" in out
