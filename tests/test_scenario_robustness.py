"""Scenario files and the harness on hostile or mistaken input: diagnostics, never hangs."""

from __future__ import annotations

from pathlib import Path

import pytest

from counterpoint.engine.testing import Harness, HarnessError, load_suite, run

ROOT = Path(__file__).resolve().parent.parent
CONCIERGE = ROOT / "agents" / "concierge" / "concierge.agent.yaml"


def diags(folder: Path, text: str) -> list[str]:
    path = folder / "x.test.yaml"
    path.write_text(text)
    return [d.format() for d in load_suite(path, "x.test.yaml").diagnostics]


def test_alias_bomb_in_event_data_is_refused_quickly(tmp_path: Path):
    lines = [
        f"agent: {CONCIERGE}",
        "scenarios:",
        "  - name: bomb",
        "    steps:",
        "      - send: user.said",
        "        data:",
        "          x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
    ]
    lines += [f"          x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    out = diags(tmp_path, "\n".join(lines) + "\n")
    assert len(out) == 1
    assert out[0] == "x.test.yaml:11:45: error[E010]: input too large: aliases expand the document to more than 50000 nodes"


def test_a_missing_agent_is_reported_at_the_agent_key(tmp_path: Path):
    out = diags(tmp_path, "agent: nope.agent.yaml\nscenarios:\n  - name: a\n    steps: [{in: chat}]\n")
    assert out == [
        "x.test.yaml:1:8: error[E009]: no agent file "
        + str(tmp_path / "nope.agent.yaml")
        + "\n  hint: 'agent:' is relative to the scenario file"
    ]


def test_unknown_names_are_reported_alongside_other_mistakes(tmp_path: Path):
    text = f"""\
agent: {CONCIERGE}
scenarios:
  - name: a
    steps:
      - sned: agent.said
      - in: greting
      - tool_done: find_tabel
"""
    out = diags(tmp_path, text)
    assert any("5:9: error[E004]: unknown key 'sned'" in d for d in out)
    assert any(
        "6:9: error[E008]: unknown state 'greting'" in d and "did you mean 'greeting'?" in d for d in out
    )
    assert any("7:9: error[E008]: unknown tool 'find_tabel'" in d for d in out)


@pytest.mark.parametrize("method", ["assert_in", "assert_not_in"])
def test_harness_state_assertions_refuse_unknown_states(method: str):
    async def scenario() -> None:
        async with Harness.open(CONCIERGE) as h:
            getattr(h, method)("greting")

    with pytest.raises(HarnessError, match=r"no state 'greting' in concierge \(did you mean 'greeting'\?\)"):
        run(scenario)


def test_deeply_nested_event_data_is_a_diagnostic_not_a_crash(tmp_path: Path):
    deep = "[" * 400 + "]" * 400
    text = f"agent: {CONCIERGE}\nscenarios:\n  - name: deep\n    steps:\n      - send: user.said\n"
    out = diags(tmp_path, text + f"        data: {{x: {deep}}}\n")
    assert len(out) == 1 and out[0].startswith("x.test.yaml:6:")
    assert "error[E010]: nesting too deep (over 100 levels)" in out[0]
