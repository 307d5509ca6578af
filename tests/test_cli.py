"""The ``counterpoint`` command: every subcommand, its output and its exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from counterpoint.engine import cli
from counterpoint.engine.cli import common, schema
from counterpoint.engine.cli import test as test_command

ROOT = Path(__file__).resolve().parent.parent
AGENTS = ROOT / "agents"
CONCIERGE = AGENTS / "concierge" / "concierge.agent.yaml"
REMINDERS = AGENTS / "reminders" / "reminders.agent"

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

BAD = """\
agent: hello
initial: chat
states:
  chat:
    on:
      user.said: bey
  bye: {type: final}
"""

WARN = """\
agent: hello
initial: chat
states:
  chat:
    on:
      user.said: bye
      never.sent: bye
  bye: {type: final}
"""


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "good.agent.yaml").write_text(GOOD)
    (tmp_path / "bad.agent.yaml").write_text(BAD)
    (tmp_path / "warn.agent.yaml").write_text(WARN)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "counterpoint.engine", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --------------------------------------------------------------------------- top level


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.startswith("counterpoint ")


@pytest.mark.parametrize("command", [[], ["validate"], ["render"], ["convert"], ["schema"], ["test"]])
def test_help_everywhere_with_examples(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    assert "usage: counterpoint" in out
    assert "examples:" in out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2
    assert "usage:" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["frobnicate"],
        ["validate"],
        ["validate", "--format", "xml", "x"],
        ["render", "x.agent"],
        ["convert"],
        ["convert", "x.agent", "--to", "json"],
        ["validate", "--bogus", "x"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "error" in err


def test_python_dash_m_and_console_script_agree() -> None:
    proc = run_process("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("counterpoint ")


# --------------------------------------------------------------------------- validate


def test_validate_ok(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "good.agent.yaml")
    assert code == 0
    assert out == "1 file checked: 0 errors, 0 warnings\n"


def test_validate_error_format_and_exit_1(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "bad.agent.yaml")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("bad.agent.yaml:6:7: error[E101]: ")
    assert lines[1].startswith("  hint: ") and "bye" in lines[1]
    assert "warning[W201]" in out  # 'bye' is unreachable because of the typo
    assert lines[-1] == "1 file checked: 1 error, 1 warning"


def test_validate_paths_are_relative_to_cwd(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(work / "bad.agent.yaml"))
    assert code == 1
    assert out.startswith("bad.agent.yaml:")


def test_validate_warnings_do_not_fail(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "warn.agent.yaml")
    assert code == 0
    assert "warning[W202]" in out
    assert out.splitlines()[-1] == "1 file checked: 0 errors, 1 warning"


def test_validate_no_warnings_and_strict(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "--no-warnings", "warn.agent.yaml")
    assert (code, out) == (0, "1 file checked: 0 errors, 0 warnings\n")
    code, _, _ = run(capsys, "validate", "--strict", "warn.agent.yaml")
    assert code == 1


def test_validate_folder_recurses_and_skips_scenarios(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sub = work / "nested" / "deeper"
    sub.mkdir(parents=True)
    (sub / "x.agent.yaml").write_text(GOOD)
    (sub / "x.test.yaml").write_text("this: [is not an agent")
    (sub / "notes.txt").write_text("ignored")
    code, out, _ = run(capsys, "validate", "nested")
    assert (code, out) == (0, "1 file checked: 0 errors, 0 warnings\n")


def test_validate_empty_folder_is_a_usage_error(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "empty").mkdir()
    code, _, err = run(capsys, "validate", "empty")
    assert code == 2
    assert "no agent files" in err


def test_validate_missing_file_is_a_diagnostic(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "nope.agent.yaml")
    assert code == 1
    assert "error[E009]" in out


def test_validate_json(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "--format", "json", "bad.agent.yaml", "good.agent.yaml")
    assert code == 1
    report = json.loads(out)
    assert report["files"] == 2 and report["errors"] == 1 and report["warnings"] == 1
    (d,) = [d for d in report["diagnostics"] if d["code"] == "E101"]
    assert (d["file"], d["line"], d["col"], d["code"], d["severity"]) == (
        "bad.agent.yaml",
        6,
        7,
        "E101",
        "error",
    )


def test_validate_colour_only_when_asked(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, plain, _ = run(capsys, "validate", "bad.agent.yaml")
    assert "\x1b[" not in plain
    _, coloured, _ = run(capsys, "validate", "--color", "always", "bad.agent.yaml")
    assert "\x1b[1;31merror[E101]" in coloured


def test_use_colour_respects_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert common.use_colour(Tty())  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "1")
    assert not common.use_colour(Tty())  # type: ignore[arg-type]
    assert common.use_colour(Tty(), "always")  # type: ignore[arg-type]


def test_validate_examples_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(AGENTS))
    assert code == 0, out
    assert out.splitlines()[-1].endswith(": 0 errors, 0 warnings")


def test_validate_hostile_input_no_traceback(work: Path) -> None:
    (work / "bin.agent.yaml").write_bytes(b"\x00\x01\x02agent")
    (work / "bomb.agent.yaml").write_text(
        'a: &a ["x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\n'
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e]\n"
    )
    (work / "deep.agent").write_text("agent x\n" + "state a {\n" * 500)
    (work / "empty.agent.yaml").write_text("")
    proc = run_process("validate", ".", cwd=work)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr


# --------------------------------------------------------------------------- render


@pytest.mark.parametrize("suffix", ["svg", "png", "pdf", "dot"])
def test_render_formats_from_suffix(suffix: str, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "render", "good.agent.yaml", "-o", f"out/good.{suffix}")
    assert code == 0, err
    data = (work / "out" / f"good.{suffix}").read_bytes()
    magic = {"svg": b"<svg", "png": b"\x89PNG", "pdf": b"%PDF", "dot": b"digraph"}[suffix]
    assert magic in data[:400]
    assert f"wrote out/good.{suffix}" in err


def test_render_to_stdout(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "render", "good.agent.yaml", "-o", "-", "--format", "dot")
    assert code == 0
    assert out.lstrip().startswith("digraph")


def test_render_to_stdout_svg_default(work: Path) -> None:
    proc = run_process("render", "good.agent.yaml", "-o", "-", cwd=work)
    assert proc.returncode == 0
    assert "<svg" in proc.stdout


def test_render_refuses_binary_to_stdout_and_unknown_suffix(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "render", "good.agent.yaml", "-o", "-", "--format", "png")
    assert code == 2 and "standard output" in err
    code, _, err = run(capsys, "render", "good.agent.yaml", "-o", "good.jpeg")
    assert code == 2 and "--format" in err


def test_render_refuses_invalid_agent(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "render", "bad.agent.yaml", "-o", "bad.svg")
    assert code == 1
    assert "error[E101]" in err and "1 error" in err
    assert not (work / "bad.svg").exists()


def test_render_highlight(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, plain, _ = run(capsys, "render", "good.agent.yaml", "-o", "-", "--format", "dot")
    code, lit, _ = run(
        capsys, "render", "good.agent.yaml", "-o", "-", "--format", "dot", "--highlight", "chat"
    )
    assert code == 0 and plain != lit
    code, _, err = run(capsys, "render", "good.agent.yaml", "-o", "x.svg", "--highlight", "chta")
    assert code == 2
    assert "did you mean 'chat'" in err


def test_render_unwritable_output(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "blocker").write_text("a file, not a folder")
    code, _, err = run(capsys, "render", "good.agent.yaml", "-o", "blocker/x.svg")
    assert code == 1
    assert "cannot write" in err


# --------------------------------------------------------------------------- convert


def test_convert_yaml_to_dsl_and_back(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, dsl, _ = run(capsys, "convert", "good.agent.yaml", "--to", "dsl")
    assert code == 0
    assert dsl.startswith("agent hello")
    (work / "good.agent").write_text(dsl)
    code, yaml_text, _ = run(capsys, "convert", "good.agent")  # --to defaults to the other syntax
    assert code == 0
    assert yaml_text.startswith("agent: hello")
    from counterpoint.dsl import load_file

    assert load_file(work / "good.agent")[0] == load_file(work / "good.agent.yaml")[0]


def test_convert_keeps_includes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "convert", str(CONCIERGE), "--to", "dsl")
    assert code == 0
    assert 'include "std:dialog"' in out


def test_convert_to_file(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "convert", "good.agent.yaml", "-o", "conv/good.agent")
    assert code == 0 and out == ""
    assert (work / "conv" / "good.agent").read_text().startswith("agent hello")


def test_convert_refuses_errors(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "convert", "bad.agent.yaml", "--to", "dsl")
    assert code == 1
    assert out == ""
    assert "error[E101]" in err


# --------------------------------------------------------------------------- schema, test


def test_schema_stdout_and_file(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    assert "properties" in schema and "agent" in schema["properties"]
    code, _, _ = run(capsys, "schema", "-o", "agent.schema.json")
    assert code == 0
    assert json.loads((work / "agent.schema.json").read_text()) == schema


def test_test_subcommand_delegates(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[list[str], list[str], bool]] = []

    def fake_run_paths(paths: list[str], *, keywords: list[str], verbose: bool) -> int:
        seen.append((paths, keywords, verbose))
        return 1

    monkeypatch.setattr(test_command, "run_paths", fake_run_paths)
    code, _, _ = run(capsys, "test", "a.test.yaml", "agents")
    assert code == 1 and seen == [(["a.test.yaml", "agents"], [], False)]
    run(capsys, "test", "-k", "bye", "-k", "Hello", "-v")
    assert seen[-1] == (["."], ["bye", "Hello"], True)  # the current folder by default


SCENARIOS = """\
scenarios:
  - name: starts in chat
    steps: [{in: chat}]
  - name: greets the user
    steps: [{say: Hello}]
"""


def test_test_selects_lists_and_defaults_to_the_current_folder(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "good.test.yaml").write_text(SCENARIOS)
    code, out, _ = run(capsys, "test")
    assert code == 0 and "good.test.yaml .." in out and "2 passed, 0 failed" in out
    code, out, _ = run(capsys, "test", "-k", "GREETS", "-v")
    assert code == 0
    assert "good.test.yaml::greets the user PASSED" in out
    assert "starts in" not in out and "1 passed, 0 failed, 1 deselected" in out
    code, out, err = run(capsys, "test", "-k", "zzz")
    assert code == 2 and err.startswith("counterpoint: error: no scenario matches -k 'zzz'")


def test_test_usage_errors_look_like_every_other_command(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "test", "missing")
    assert code == 2 and out == "" and err == "counterpoint: error: missing: no such file or folder\n"
    code, _, err = run(capsys, "test")
    assert code == 2 and err == "counterpoint: error: no scenario files (*.test.yaml) in .\n"


# --------------------------------------------------------------------------- failures


def test_internal_errors_exit_3_without_traceback(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(args: object) -> int:
        raise RuntimeError("kaput")

    monkeypatch.setattr(schema, "run", boom)
    monkeypatch.delenv("COUNTERPOINT_DEBUG", raising=False)
    code, _, err = run(capsys, "schema")
    assert code == 3
    assert "internal error: RuntimeError: kaput" in err and "please report" in err
    assert "Traceback" not in err
