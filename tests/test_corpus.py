"""Broken inputs: each reports its expected diagnostic at the expected place, fast, without raising.

Every top-level file in ``tests/corpus/`` is an input: agent files (both syntaxes) and scenario
files (``*.test.yaml``, loaded with their agent as ``counterpoint test`` loads them). Its
expectations are in a header comment, ``# expect: CODE LINE:COL`` (several may be listed,
separated by commas; a position in another file is written ``CODE path/relative/to/corpus:LINE:COL``;
``# expect: none`` says the input is fine and must stay so), or, for inputs that
cannot hold a comment (binary, empty), in ``tests/corpus/expected.txt`` as
``FILE CODE LINE:COL``. A ``# says: TEXT`` header (there may be several) is text that the
message or hint of one of the diagnostics must contain. A ``# xfail: reason`` header marks a known bug elsewhere. Files in
``tests/corpus/lib/`` are only included by the inputs.
Inputs too large to keep in the repository are generated here.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from counterpoint.dsl import check_file
from counterpoint.dsl.files import MAX_BYTES
from counterpoint.engine.testing import load_suite

CORPUS = Path(__file__).parent / "corpus"
SUFFIXES = (".agent.yaml", ".agent", ".txt", ".test.yaml")
_EXPECT = re.compile(r"#\s*expect:\s*(.+)")
_XFAIL = re.compile(r"#\s*xfail:\s*(.+)")
_SAYS = re.compile(r"#\s*says:\s*(.+)")
_ITEM = re.compile(r"([EW]\d{3})\s+(?:(\S+):)?(\d+):(\d+)")

#: A guard against hangs, not a speed test (speed belongs in benchmarks; a loaded machine is slow).
TIME_LIMIT = 60.0

Expectation = tuple[str, str, int, int]  # code, file (relative to the corpus), line, col


def _sidecar() -> dict[str, list[Expectation]]:
    table: dict[str, list[Expectation]] = {}
    for raw in (CORPUS / "expected.txt").read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.startswith("#"):
            name, rest = raw.split(None, 1)
            table.setdefault(name, []).extend(_parse(rest, name))
    return table


def _parse(text: str, name: str) -> list[Expectation]:
    if text.strip() == "none":
        return []
    items = [_ITEM.fullmatch(part.strip()) for part in text.split(",")]
    assert items and all(items), f"{name}: cannot read expectation {text!r}"
    return [(m[1], m[2] or name, int(m[3]), int(m[4])) for m in items if m]


def expectations(path: Path, sidecar: dict[str, list[Expectation]]) -> list[Expectation]:
    if path.name in sidecar:
        return sidecar[path.name]
    head = path.read_text(encoding="utf-8").splitlines()[:3]
    for line in head:
        m = _EXPECT.match(line)
        if m:
            return _parse(m[1], path.name)
    raise AssertionError(f"{path.name}: no '# expect:' header and no entry in expected.txt")


def known_failure(path: Path) -> str | None:
    """The reason in a ``# xfail:`` header: a known bug elsewhere, kept visible until fixed."""
    if path.name.endswith(".txt") or path.name in _sidecar():
        return None
    for line in path.read_text(encoding="utf-8").splitlines()[:3]:
        m = _XFAIL.match(line)
        if m:
            return m[1]
    return None


def expected_texts(path: Path) -> list[str]:
    """The ``# says:`` headers: what the diagnostics must tell the user."""
    if path.name.endswith(".txt") or path.name in _sidecar():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [m[1].strip() for line in lines if line.startswith("#") and (m := _SAYS.match(line))]


def corpus_files() -> list[Path]:
    return sorted(
        p for p in CORPUS.iterdir() if p.is_file() and p.name.endswith(SUFFIXES) and p.name != "expected.txt"
    )


def run(path: Path) -> list[tuple[str, str, int, int]]:
    start = time.perf_counter()
    diags = load_suite(path).diagnostics if path.name.endswith(".test.yaml") else check_file(path)[1]
    elapsed = time.perf_counter() - start
    assert elapsed < TIME_LIMIT, f"{path.name} took {elapsed:.2f}s"
    return [(d.code, d.span.file, d.span.line, d.span.col) for d in diags]


def test_corpus_is_large_enough() -> None:
    assert len(corpus_files()) >= 60


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_input(path: Path) -> None:
    found = run(path)
    expected = expectations(path, _sidecar())
    if not expected:
        assert found == [], f"{path.name}: expected no diagnostics, got {found}"
    for code, file, line, col in expected:
        want = (code, str(CORPUS / file), line, col)
        reason = known_failure(path)
        if reason and want not in found:
            pytest.xfail(reason)
        assert want in found, f"{path.name}: expected {code} at {file}:{line}:{col}, got {found}"
    said = [f"{d.message}\n{d.hint or ''}" for d in check_file(path)[1]]
    for text in expected_texts(path):
        assert any(text in s for s in said), f"{path.name}: no diagnostic says {text!r}:\n" + "\n".join(said)


def test_huge_file(tmp_path: Path) -> None:
    p = tmp_path / "huge.agent.yaml"
    p.write_text("agent: a\n" + "# padding\n" * (MAX_BYTES // 10 + 1), encoding="utf-8")
    assert run(p) == [("E009", str(p), 1, 1)]


def test_many_states_are_fast(tmp_path: Path) -> None:
    """A large but valid-looking chart: validation stays well under the time limit."""
    lines = ["agent: a", "states:"]
    for i in range(2000):
        lines.append(f"  s{i}: {{on: {{user.said: s{(i + 1) % 2000}}}}}")
    p = tmp_path / "big.agent.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run(p) == []


def test_long_include_chain(tmp_path: Path) -> None:
    for i in range(60):
        (tmp_path / f"f{i}.agent.yaml").write_text(
            f"agent: f{i}\ninclude: f{i + 1}.agent.yaml\nvars: {{v{i}: 0}}\n"
        )
    (tmp_path / "f60.agent.yaml").write_text("agent: last\nstates: {s: {}}\n")
    codes = {c for c, *_ in run(tmp_path / "f0.agent.yaml")}
    assert codes == {"E010"}


def test_long_initial_value_is_placed_on_its_own_lines(tmp_path: Path) -> None:
    """An initial value's error is placed inside the value, not at an offset into its JSON form."""
    lines = ["agent: a", "initial: s", "vars:", "  v:"] + ["    - 1"] * 4000 + ["states: {s: {}}"]
    p = tmp_path / "long.agent.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (found,) = run(p)
    assert found[0] == "E011" and (found[2], found[3]) == (5, 5)
