"""Seeded mutation fuzzing of agent files, scenario files and expressions (see tests/test_fuzz.py).

Every input is made from a seed text by a few random edits, with a random generator seeded by
``(seed, kind, index)``: any single input can be made again from the three. The checks are the
promises the tools make on hostile input: no exception escapes, nothing takes over
:data:`TIME_LIMIT`, every position lies inside the file as editors count lines, printed lines
hold no control characters, and validation and compilation agree.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from counterpoint.dsl import Agent, check_file, print_text
from counterpoint.dsl.diagnostics import Diagnostic, DiagnosticError
from counterpoint.dsl.expr.ast import Node
from counterpoint.dsl.expr.eval import MappingEnv, compile_expr
from counterpoint.dsl.expr.parse import (
    ExprError,
    ExprRuntimeError,
    compile_template,
    parse_expr,
    parse_template,
)
from counterpoint.dsl.source import Span
from counterpoint.dsl.yaml import load_yaml
from counterpoint.engine import cli
from counterpoint.engine.cli.common import EXIT_INTERNAL, format_diagnostic
from counterpoint.engine.core.chart import compile_chart, validation_errors
from counterpoint.engine.testing import load_suite

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"

#: No single input may take longer (a guard against hangs and blow-ups, with room for a slow machine).
TIME_LIMIT = 2.0

#: Text that tends to break readers: structure, escapes, controls, line breaks editors do not
#: count, numbers beyond Python's limits, comments that once made a regex backtrack.
NASTY = [
    "{", "}", "[", "]", "(", ")", ":", ": ", "- ", ",", ";", "=", "==", "->", "/", "?", "|", ">", "~",
    "&a ", "*a", "<<: *a", "!!int ", "!!float ", "!!bool ", "!!str ", "!!binary ", "!!timestamp ", "!!set ",
    "!!python/object:os.system ", "!x ", "---\n", "...\n",
    "#", " # #1 #2 #3 #4 #5 #6 #7 #8 #9 #10 #11 #12 #13 #14 #15 #16 #17 #18 #19 #20",
    '"', "'", '"""', "\\", "\\u", "\\ud800", "\\udc00", "\\U00110000", "\\x", "\\e]0;x\\a\\e[2J",
    "\n", "\r", "\r\n", "\t", "\x0b", "\x0c", "\x1b[2J", "\x1b]0;x\x07", "\x07", "\x7f", "\x85",
    "\u2028", "\u2029", "\ufeff", "\u202e", "é", "😀", "\ud7ff",
    "1" * 4301, "1" + "0" * 309, "1" + "0" * 400, "-1", "1e999", "0.5", "2**1024", "0b_", "0x_", "0o",
    "2001-02-30", "12:30", "null", "true", "no", ".nan", ".inf",
    "len()", "min()", "max(1)", "round(1, 2, 3)", "In('a')", "In(x)", "{x}", "{{", "}}", "{len()}", "{min()}",
    "'' * 100000000000000000000", "x + 0.5", "str([[[[[[]]]]]])", "1 +", "not", "and", " in ",
    "agent ", "initial ", "state ", "parallel ", "final ", "history deep ", "on ", "entry ", "exit ",
    "always ", "after 5s ", "after 5s -> a ", "every 1ms ", "say ", "respond ", "call ", "raise ",
    "send ", "send e after 5s ", "cancel ", "cancel_send ", "set ", "log ", "spawn ", "fork ", "as ",
    "task ", "include ", "var ", "event ", "priority ", "tool ", "tools ", "timeout ", "keep ",
    "deliver when idle ", "silent ", "prompt ", "internal ", "llm ", "voice ", "allow ", "description ",
    "include: std:dialog\n", "include: [std:" + "b" * 300 + "]\n", "a" * 300, "x/" * 200, "../",
    "/dev/zero", "/dev/stdin", "std:", "std:nope", "os:system", "builtins:eval", "__import__",
    "states:", "vars:", "events:", "tools:", "handler: ", "params:", "target: ", "guard: ", "on:",
    "type: final", "type: parallel", "type: history", "scenarios:", "steps:", "send: ", "wait: ",
    "timer: ", "in: ", "vars: ", "expect: ", "data: ", "name: ", "llm:", "tool_done: ", "restart: ",
]  # fmt: skip

_BREAK = re.compile(r"\r\n?|\n")
#: What may not appear in a printed line: C0/C1 controls, DEL, line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass
class Failure:
    kind: str
    index: int
    text: str
    problem: str

    def __str__(self) -> str:
        shown = repr(self.text) if len(self.text) <= 400 else repr(self.text[:400]) + f"... ({len(self.text)} chars)"
        return f"[{self.kind} #{self.index}] {self.problem}\n    input: {shown}"


# --------------------------------------------------------------------------- making inputs


def mutate(text: str, rng: random.Random, others: list[str]) -> str:
    """``text`` after one to four random edits (cuts, copies, insertions, splices, repeats)."""
    for _ in range(rng.randint(1, 4)):
        n = len(text)
        i = rng.randint(0, n)
        j = min(n, i + rng.choice((1, 2, 5, 20, 80)))
        op = rng.randrange(9)
        if op == 0:  # cut
            text = text[:i] + text[j:]
        elif op == 1:  # copy a piece elsewhere
            k = rng.randint(0, n)
            text = text[:k] + text[i:j] + text[k:]
        elif op in (2, 3):  # insert something nasty
            text = text[:i] + rng.choice(NASTY) + text[i:]
        elif op == 4:  # replace a piece with something nasty
            text = text[:i] + rng.choice(NASTY) + text[j:]
        elif op == 5:  # swap two lines
            lines = text.split("\n")
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
        elif op == 6:  # splice a piece of another seed
            other = rng.choice(others) if others else text
            k = rng.randint(0, len(other))
            text = text[:i] + other[k : k + rng.randint(1, 200)] + text[i:]
        elif op == 7:  # repeat a piece many times: large inputs
            text = text[:i] + text[i:j] * rng.choice((2, 10, 100, 1000)) + text[j:]
        else:  # cut off the end (no final newline, an unclosed block)
            text = text[:i]
    return text


def inputs(kind: str, seeds: list[str], count: int, seed: int) -> Iterator[tuple[int, str]]:
    """``count`` mutated inputs of ``kind``, each from its own generator (reproducible one by one)."""
    for index in range(count):
        rng = random.Random(f"{seed}:{kind}:{index}")
        yield index, mutate(rng.choice(seeds), rng, seeds)


def agent_seeds(syntax: str) -> list[str]:
    """Agent texts to mutate: the shipped agents, the runtime test agents and the broken corpus;
    YAML agents are also printed in the textual syntax, which has fewer samples of its own."""
    yaml_files = sorted({*ROOT.glob("agents/*/*.agent.yaml"), *ROOT.glob("tests/agents_rt/*.agent.yaml"),
                         *ROOT.glob("dsl/std/*.agent.yaml"), *CORPUS.glob("y_*.agent.yaml")})  # fmt: skip
    if syntax == "yaml":
        return [p.read_text(encoding="utf-8", errors="replace") for p in yaml_files]
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(ROOT.glob("agents/*/*.agent"))]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted(CORPUS.glob("d_*.agent"))]
    for p in yaml_files:
        agent, _ = load_yaml(p.read_text(encoding="utf-8", errors="replace"), str(p))
        if agent is not None:
            with contextlib.suppress(Exception):  # a broken corpus input need not print
                texts.append(print_text(agent))
    return texts


# --------------------------------------------------------------------------- checks


def editor_lines(text: str) -> list[str]:
    """``text`` cut into lines as editors cut it: at ``\\n``, ``\\r\\n`` and ``\\r`` only."""
    return _BREAK.split(text)


def outside(span: Span, lines: list[str]) -> str | None:
    """Why ``span`` is not inside the file of ``lines`` (:func:`editor_lines`), or None."""

    def bad(line: int, col: int) -> bool:
        return not (1 <= line <= len(lines) and 1 <= col <= len(lines[line - 1]) + 1)

    if bad(span.line, span.col):
        return f"starts outside the file ({len(lines)} lines)"
    if bad(span.end_line, span.end_col):
        return f"ends outside the file ({len(lines)} lines)"
    if (span.end_line, span.end_col) < (span.line, span.col):
        return "ends before it starts"
    return None


def position_problems(diags: list[Diagnostic], path: Path, text: str) -> list[str]:
    """Diagnostics placed outside their file (this one, or one it includes), or nowhere."""
    texts = {str(path): editor_lines(text)}
    found = []
    for d in diags:
        file = d.span.file
        if file not in texts:
            if d.span.line <= 0 or not Path(file).is_file():
                found.append(f"{d.code} has no position in a file ({d.span}): {d.message[:100]}")
                continue
            texts[file] = editor_lines(Path(file).read_bytes().decode("utf-8-sig", "replace"))
        why = outside(d.span, texts[file])
        if why:
            found.append(f"{d.code} at {d.span.line}:{d.span.col}-{d.span.end_line}:{d.span.end_col} {why}: {d.message[:100]}")
    return found


def line_problems(output: str) -> list[str]:
    """Printed lines holding control characters (or characters that cannot be encoded)."""
    found = []
    for line in output.split("\n"):
        m = _CONTROL.search(line)
        if m:
            found.append(f"control character {m[0]!r} printed: {line[:120]!r}")
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            found.append(f"unencodable character printed: {line[:120]!r}")
    return found


def agreement_problems(agent: Agent | None, diags: list[Diagnostic]) -> list[str]:
    """Validation and compilation agree: validation reports no error <=> ``compile_chart`` succeeds."""
    if agent is None:
        return []
    errors = validation_errors(agent)
    if not any(d.is_error for d in diags) and errors:
        return [f"check_file found no error, compile_chart's validation did: {errors[0].format()[:200]}"]
    try:
        compile_chart(agent, validated=not errors)  # a chart with errors must fail in validation
    except DiagnosticError as err:
        if not errors:
            return [f"validation found no error but compiling failed: {err.diagnostics[0].format()[:200]}"]
        return []
    return ["validation reports errors but compile_chart(agent) succeeded"] if errors else []


def run_cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue() + err.getvalue()


def cli_problems(argv: list[str]) -> list[str]:
    code, output = run_cli(argv)
    found = line_problems(output)
    if code == EXIT_INTERNAL or "internal error" in output:
        found.append(f"internal error: {output[-300:]!r}")
    return found


def json_problems(path: Path, text: str) -> list[str]:
    """``validate --format json``: parseable, and its positions (relative names) inside the file."""
    code, output = run_cli(["validate", "--format", "json", "--color", "never", str(path)])
    if code == EXIT_INTERNAL:
        return [f"internal error: {output[-300:]!r}"]
    try:
        data = json.loads(output[output.index("{") :])
    except ValueError:
        return [f"validate --format json printed no JSON: {output[:200]!r}"]
    spans = [
        Span(str(path), d["line"], d["col"], d["end_line"], d["end_col"])
        for d in data["diagnostics"]
        if Path(d["file"]).name == path.name
    ]
    lines = editor_lines(text)
    return [f"JSON position {s.line}:{s.col}-{s.end_line}:{s.end_col} {why}" for s in spans if (why := outside(s, lines))]


def warm_up(folder: Path) -> None:
    """Build the parsers (a second or so, once per process) before anything is timed."""
    for name, text in (("warm.agent", "agent w\n"), ("warm.agent.yaml", "agent: w\n")):
        (folder / name).write_text(text, encoding="utf-8")
        check_file(folder / name)
    parse_expr("1")


def timed(check: Callable[[], list[str]]) -> list[str]:
    start = time.process_time()
    try:
        found = check()
    except Exception as exc:  # noqa: BLE001 - any escaping exception is what the fuzzer looks for
        found = [f"{type(exc).__name__} escaped: {str(exc)[:200]}"]
    elapsed = time.process_time() - start
    if elapsed > TIME_LIMIT:
        found.append(f"took {elapsed:.2f}s (limit {TIME_LIMIT}s)")
    return found


def check_agent(path: Path, text: str, through_cli: bool) -> list[str]:
    """Every promise for one agent file: in-process (positions, printing, agreement), then the CLI."""

    def in_process() -> list[str]:
        agent, diags = check_file(path)
        found = position_problems(diags, path, text)
        found += line_problems("\n".join(format_diagnostic(d, colour=False) for d in diags))
        return found + agreement_problems(agent, diags)

    found = timed(in_process)
    if through_cli:
        found += timed(lambda: cli_problems(["validate", "--color", "never", str(path)]))
        found += timed(lambda: json_problems(path, text))
    return found


def write(path: Path, text: str) -> str:
    """Write ``text`` as the file an editor would open; returns the text as read back (UTF-8, BOM dropped)."""
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path.read_bytes().decode("utf-8-sig", "replace")


def check_scenario(path: Path, text: str, through_cli: bool) -> list[str]:
    """A scenario file: loading it (and its agent) never raises, positions and printing as for agents."""

    def in_process() -> list[str]:
        suite = load_suite(path)
        found = position_problems(suite.diagnostics, path, text)
        return found + line_problems("\n".join(d.format() for d in suite.diagnostics))

    found = timed(in_process)
    if through_cli:
        found += timed(lambda: cli_problems(["test", str(path)]))
    return found


# --------------------------------------------------------------------------- expressions

#: Expressions to mutate: every operator, literal and function of the language.
EXPRESSIONS = [
    "x + 1", "len(items) > 0 and In('a')", "{'a': [1, 2.5, \"s\"], 'b': null}['a'][0]", "str(x) + lower(text)",
    "min(1, 2, x)", "max(items)", "round(x, 2)", "not (a in b)", "x == null or y != true", "-x * 3 / 2 % 5",
    "\"\\u00e9\\n\" + 'q\\''", "int('12') + float('1.5')", "[x, y][1]", "abs(-x)", "event.data.text",
    "upper(text) not in ['A', 'B']", "1 < x <= 3", "x.y.z", "1.5e3 - 2", "items[0] * 2",
    "'{' + text + '}'", "Hello {name}, {len(items)} items, {{literal}}", "{x + 1} and {str(items)}",
]  # fmt: skip


def hostile_values() -> dict[str, object]:
    """Names an expression may meet at run time, with values at the edges of what Python handles."""
    deep: list[object] = []
    for _ in range(50_000):
        deep = [deep]
    return {
        "x": 10**5000, "y": 1e308, "a": float("nan"), "b": deep, "text": "é" * 1000, "items": [deep, 10**400, "s"],
        "name": "\x1b[2J", "event": {"data": {"text": float("inf")}}, "z": -(10**5000),
    }  # fmt: skip


def check_expression(source: str, values: dict[str, object]) -> list[str]:
    """Parsing, compiling and evaluating raise only the language's own errors, at offsets inside the text."""

    def run() -> list[str]:
        found = []
        for parse in (parse_expr, parse_template):
            try:
                parsed = parse(source)
            except ExprError as err:
                if not 0 <= err.col_offset <= len(source):
                    found.append(f"error offset {err.col_offset} outside the text ({len(source)} chars)")
                continue
            except RecursionError:
                continue  # reported as E010 by validation
            try:
                fn = compile_expr(parsed) if isinstance(parsed, Node) else compile_template(parsed)
            except ExprError:
                continue
            for env in (MappingEnv(values, lambda s: True), MappingEnv({})):
                with contextlib.suppress(ExprRuntimeError):
                    fn(env)
        return found

    return timed(run)
