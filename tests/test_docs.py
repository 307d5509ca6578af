"""Every fenced code block in README.md and docs/*.md is checked, so the docs cannot rot.

Conventions (an HTML comment on the line(s) right before a fence sets its options):

- ```yaml blocks with a top-level ``scenarios:`` key are scenario files (docs/testing.md), not
  agents, and are left to the scenario tests.
- ```yaml blocks with a top-level ``agent:`` key and ```agent blocks (the textual syntax)
  starting with ``agent NAME`` are complete agents: they must load and validate with no
  errors. Handler modules and included files of complete agents that are not shown in
  the docs (E109, E113) are tolerated.
- Other ```yaml / ```agent blocks are fragments. They are wrapped into a minimal agent:
  agent-level pieces (``tools:``, ``states:``, ``var ...``, ``state ...``) directly, state
  pieces (``on:``, ``after:``, ``on ... -> ...``, ``entry ...``) inside a state. A fragment
  must parse without errors; names defined outside it (targets, variables, tools, files)
  may be missing.
- ``<!-- file: NAME -->``: the block is the content of file NAME; later ```console blocks of
  the same document run in a folder holding these files (and a link to ``agents/``).
- ``<!-- expect: E101 W202 -->``: the block must give exactly these diagnostic codes.
- ``<!-- exit: N -->``: the commands of the next ```console block exit with N (default 0).
- ``<!-- shared: yes -->``: the next ```console block runs in one folder shared by all the
  document's blocks marked so, in document order: a later block sees the files an earlier
  one wrote (a recording, then its replay).
- ```console blocks: ``$ command`` lines are run with a shell and their output (stdout and
  stderr) must match the lines shown; a line ``...`` matches any number of lines.
- ```sh blocks are not run, but every ``counterpoint ...`` line in them must parse.
- ```python blocks must compile. Those marked ``<!-- run: yes -->`` are run as scripts, in a
  fresh interpreter, in the folder of the document's files (see ``file:``); they must exit 0,
  so their ``assert`` lines are checked results.
- ```json, ```text and ```make blocks are shown as they are. Every fence must name a language.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from counterpoint.dsl import Diagnostic

pytestmark = pytest.mark.slow  # runs every command and example of the docs in subprocesses

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
KNOWN_INFO = {"yaml", "agent", "console", "sh", "python", "json", "text", "make"}
#: Codes about things a fragment may legitimately refer to without defining them.
CONTEXT_CODES = {"E101", "E104", "E107", "E108", "E109", "E110", "E113", "W201", "W202", "W203"}
#: Codes about files a complete example may name without the docs showing them.
EXTERNAL_CODES = {"E109", "E113"}
AGENT_KEYS = {
    "agent",
    "description",
    "instructions",
    "llm",
    "voice",
    "allow",
    "include",
    "vars",
    "events",
    "priorities",
    "tools",
    "initial",
    "states",
}
DSL_AGENT_WORDS = {
    "agent",
    "description",
    "instructions",
    "llm",
    "voice",
    "allow",
    "include",
    "var",
    "event",
    "priority",
    "tool",
    "initial",
    "state",
    "parallel",
    "final",
    "history",
}


@dataclass
class Block:
    doc: Path
    line: int  # 1-based line of the opening fence
    info: str
    text: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def parse_blocks(doc: Path) -> list[Block]:
    lines = doc.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    options: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        comment = re.fullmatch(r"\s*<!--\s*([a-z]+)\s*:\s*(.*?)\s*-->\s*", line)
        if comment:
            options[comment.group(1)] = comment.group(2)
            i += 1
            continue
        fence = re.match(r"^(\s*)(```+)\s*([^\s`]*)", line)
        if fence:
            indent, ticks, info = fence.groups()
            start = i
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(ticks):
                body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
                i += 1
            blocks.append(Block(doc, start + 1, info, "\n".join(body) + "\n", options))
            options = {}
        elif line.strip():
            options = {}
        i += 1
    return blocks


ALL_BLOCKS = [b for doc in DOCS for b in parse_blocks(doc)]


def blocks_of(*infos: str) -> list[Block]:
    return [b for b in ALL_BLOCKS if b.info in infos]


def test_docs_exist() -> None:
    names = {p.name for p in DOCS}
    assert {"README.md", "language.md", "cli.md", "tutorial.md"} <= names
    assert len(AGENT_BLOCKS) >= 15


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=lambda b: b.id)
def test_every_fence_names_a_language(block: Block) -> None:
    assert block.info in KNOWN_INFO, (
        f"{block.id}: fence needs one of {sorted(KNOWN_INFO)}, got {block.info!r}"
    )


# --------------------------------------------------------------------------- agents


def _first_word(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return re.split(r"[\s:{(\[]", stripped, maxsplit=1)[0]
    return ""


def _yaml_keys(text: str) -> list[str]:
    return re.findall(r"^([A-Za-z_][\w.]*)\s*:", text, flags=re.M)


def is_complete(block: Block) -> bool:
    if block.info == "yaml":
        return "agent" in _yaml_keys(block.text)
    return _first_word(block.text) == "agent"


def wrap(block: Block) -> str:
    """A fragment made into a whole agent file."""
    text = block.text
    if block.info == "yaml":
        keys = _yaml_keys(text)
        if set(keys) <= AGENT_KEYS:
            head = "agent: doc\n"
            if "initial" not in keys and "states" in keys:
                first = re.search(r"^states:\s*\n\s+([A-Za-z_]\w*)\s*:", text, flags=re.M)
                head += f"initial: {first.group(1)}\n" if first else ""
            if "states" not in keys:
                text += "initial: s\nstates: {s: {}}\n"
            return head + text
        return "agent: doc\ninitial: s\nstates:\n  s:\n" + textwrap.indent(text, "    ")
    if _first_word(text) in DSL_AGENT_WORDS:
        head = "agent doc\n"
        first = re.search(r"^(?:state|parallel|final)\s+([A-Za-z_]\w*)", text, flags=re.M)
        if not re.search(r"^initial\b", text, flags=re.M):
            head += f"initial {first.group(1)}\n" if first else ""
        if not first:
            text += "initial s\nstate s\n"
        return head + text
    return "agent doc\ninitial s\nstate s {\n" + textwrap.indent(text, "    ") + "}\n"


#: The one folder of each document whose console blocks say ``shared: yes``.
_SHARED: dict[Path, Path] = {}


def _workdir(block: Block, tmp: Path) -> Path:
    """A folder with the files the document declared before ``block`` and a link to agents/."""
    if block.options.get("shared") == "yes":
        if block.doc not in _SHARED:
            _SHARED[block.doc] = tmp
            (tmp / "agents").symlink_to(ROOT / "agents")
        tmp = _SHARED[block.doc]
    else:
        (tmp / "agents").symlink_to(ROOT / "agents")
    for b in parse_blocks(block.doc):
        if b.line >= block.line:
            break
        if "file" in b.options:
            (tmp / b.options["file"]).write_text(b.text, encoding="utf-8")
    return tmp


def check_source(text: str, info: str, folder: Path, name: str | None = None) -> list[Diagnostic]:
    from counterpoint.dsl import check_file

    path = folder / (name or ("doc.agent.yaml" if info == "yaml" else "doc.agent"))
    path.write_text(text, encoding="utf-8")
    _agent, diags = check_file(path)
    return list(diags)


def is_scenario(block: Block) -> bool:
    return block.info == "yaml" and "scenarios" in _yaml_keys(block.text)


AGENT_BLOCKS = [b for b in blocks_of("yaml", "agent") if not is_scenario(b)]


@pytest.mark.parametrize("block", AGENT_BLOCKS, ids=lambda b: b.id)
def test_agent_blocks(block: Block, tmp_path: Path) -> None:
    complete = is_complete(block)
    source = block.text if complete else wrap(block)
    diags = check_source(source, block.info, _workdir(block, tmp_path), block.options.get("file"))
    codes = sorted({d.code for d in diags})
    where = f"{block.id} ({'complete agent' if complete else 'fragment'})"
    if "expect" in block.options:
        assert codes == sorted(set(block.options["expect"].split())), (
            f"{where}: expected {block.options['expect']}, got:\n" + "\n".join(d.format() for d in diags)
        )
        return
    ignore = EXTERNAL_CODES if complete else CONTEXT_CODES
    bad = [d for d in diags if d.code not in ignore and (d.is_error or complete)]
    assert not bad, f"{where}:\n{source}\n" + "\n".join(d.format() for d in bad)


def side_by_side() -> list[tuple[Block, Block]]:
    """A ```yaml block directly followed by an ```agent block: the same thing in both syntaxes."""
    pairs = []
    for doc in DOCS:
        blocks = parse_blocks(doc)
        for a, b in zip(blocks, blocks[1:], strict=False):
            if (
                a.info == "yaml"
                and b.info == "agent"
                and "expect" not in a.options
                and is_complete(a) == is_complete(b)
            ):
                pairs.append((a, b))
    return pairs


@pytest.mark.parametrize("pair", side_by_side(), ids=lambda p: p[0].id)
def test_side_by_side_examples_are_the_same_model(pair: tuple[Block, Block]) -> None:
    from counterpoint.dsl import load_text, load_yaml

    a, b = pair
    from_yaml, _ = load_yaml(a.text if is_complete(a) else wrap(a), "doc.agent.yaml")
    from_text, _ = load_text(b.text if is_complete(b) else wrap(b), "doc.agent")
    assert from_yaml is not None and from_text is not None
    assert from_yaml == from_text, f"{a.id} and {b.id} differ"


# --------------------------------------------------------------------------- commands


def _cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["NO_COLOR"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "100"
    return env


def _matches(expected: list[str], actual: list[str]) -> bool:
    """Line-by-line equality where an expected ``...`` line matches any run of lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(_matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and _matches(expected[1:], actual[1:])


def _sessions(block: Block) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line.rstrip())
    while out and out[-1][1] and not out[-1][1][-1]:
        out[-1][1].pop()
    return out


@pytest.mark.parametrize("block", blocks_of("console"), ids=lambda b: b.id)
def test_console_blocks(block: Block, tmp_path: Path) -> None:
    cwd = _workdir(block, tmp_path)
    expected_code = int(block.options.get("exit", "0"))
    sessions = _sessions(block)
    assert sessions, f"{block.id}: a console block needs '$ command' lines"
    for command, expected in sessions:
        proc = subprocess.run(
            command,
            shell=True,
            cwd=cwd,
            env=_cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )
        actual = [line.rstrip() for line in proc.stdout.rstrip("\n").splitlines()]
        assert proc.returncode == expected_code, (
            f"{block.id}: `{command}` exited {proc.returncode}:\n{proc.stdout}"
        )
        assert _matches(expected, actual), (
            f"{block.id}: `{command}` printed:\n{proc.stdout}\nexpected:\n" + "\n".join(expected)
        )


@pytest.mark.parametrize("block", blocks_of("sh"), ids=lambda b: b.id)
def test_shell_commands_parse(block: Block) -> None:
    from counterpoint.engine.cli.app import build_parser

    for line in block.text.splitlines():
        line = line.split(" #")[0].strip()
        if line.startswith("counterpoint "):
            args = shlex.split(line)[1:]
            try:
                build_parser().parse_args(args)
            except SystemExit as exc:
                if exc.code == 0:  # --help, --version
                    continue
                pytest.fail(f"{block.id}: `{line}` is not a valid command line (exit {exc.code})")


@pytest.mark.parametrize("block", blocks_of("python"), ids=lambda b: b.id)
def test_python_blocks_compile(block: Block) -> None:
    compile(block.text, block.id, "exec")


RUN_BLOCKS = [b for b in blocks_of("python") if b.options.get("run") == "yes"]


def test_the_api_page_runs_its_examples() -> None:
    assert sum(b.doc.name == "api.md" for b in RUN_BLOCKS) >= 4


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=lambda b: b.id)
def test_python_blocks_run(block: Block, tmp_path: Path) -> None:
    cwd = _workdir(block, tmp_path)
    (cwd / "example.py").write_text(block.text, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "example.py"],
        cwd=cwd,
        env=_cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"{block.id} failed:\n{proc.stdout}"
