"""Golden test for every diagnostic code, in both syntaxes.

For each code in ``CODES`` there is an input ``tests/corpus/golden/CODE.agent.yaml`` and/or
``CODE.agent`` and, next to it, ``<input>.expected`` with the exact lines
``file:line:col: severity[CODE]: message`` that checking it prints (files relative to the
golden folder, hints left out). Run with ``UPDATE_GOLDEN=1`` to rewrite the expected files
after an intended change, then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from counterpoint.dsl import CODES, Diagnostic, check_file

GOLDEN = Path(__file__).parent / "corpus" / "golden"

#: Codes one syntax cannot produce: YAML has no DSL syntax errors and vice versa; in the textual
#: syntax a value is an expression, where None is an unknown name (E107).
NOT_APPLICABLE = {"E001": ".agent", "E002": ".agent.yaml", "W205": ".agent"}


def render(diags: list[Diagnostic]) -> str:
    lines = []
    for d in diags:
        file = Path(d.span.file)
        shown = file.relative_to(GOLDEN).as_posix() if file.is_relative_to(GOLDEN) else d.span.file
        message = d.message.replace(f"{GOLDEN}/", "")
        lines.append(f"{shown}:{d.span.line}:{d.span.col}: {d.severity.value}[{d.code}]: {message}")
    return "\n".join(lines) + "\n"


#: Known bugs elsewhere, kept visible (xfail) until fixed: (code, suffix) -> reason.
KNOWN_GAPS: dict[tuple[str, str], str] = {}

CASES = [
    (code, suffix)
    for code in CODES
    for suffix in (".agent.yaml", ".agent")
    if NOT_APPLICABLE.get(code) != suffix
]


@pytest.mark.parametrize(("code", "suffix"), CASES, ids=[f"{c}{s}" for c, s in CASES])
def test_golden(code: str, suffix: str) -> None:
    path = GOLDEN / f"{code}{suffix}"
    assert path.is_file(), f"missing golden input {path.name}"
    _, diags = check_file(path)
    got = render(diags)
    expected_path = path.with_name(path.name + ".expected")
    if (code, suffix) not in KNOWN_GAPS and (os.environ.get("UPDATE_GOLDEN") or not expected_path.exists()):
        new = not expected_path.exists()
        expected_path.write_text(got, encoding="utf-8")
        assert not new, f"wrote the new {expected_path.name}; review it and run again"
    if (code, suffix) in KNOWN_GAPS and got != expected_path.read_text(encoding="utf-8"):
        pytest.xfail(KNOWN_GAPS[code, suffix])
    assert f"[{code}]" in got, f"{path.name} does not produce {code}:\n{got}"
    assert got == expected_path.read_text(encoding="utf-8")


def test_both_syntaxes_report_the_same_codes() -> None:
    for code in CODES:
        if code in NOT_APPLICABLE or (code, ".agent") in KNOWN_GAPS:
            continue
        yaml_codes = [d.code for d in check_file(GOLDEN / f"{code}.agent.yaml")[1]]
        text_codes = [d.code for d in check_file(GOLDEN / f"{code}.agent")[1]]
        assert yaml_codes == text_codes, code


def test_every_golden_input_is_a_code() -> None:
    stems = {p.name.split(".")[0] for p in GOLDEN.glob("*.agent*") if not p.name.endswith(".expected")}
    assert stems <= set(CODES)
