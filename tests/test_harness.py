"""The Python harness API and the pytest plugin that collects *.test.yaml files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import trio

from counterpoint.dsl import DiagnosticError, load_yaml
from counterpoint.engine import compile_chart
from counterpoint.engine.core.effects import Speak, StartTool
from counterpoint.engine.testing import Harness, HarnessError, run
from counterpoint.engine.testing import harness as harness_module

pytest_plugins = ["pytester"]

AGENT = """
agent: desk
vars: {asked: 0}
tools:
  lookup:
    handler: desk_tools:lookup
    params: {q: string}
initial: open
states:
  open:
    initial: idle
    on:
      user.said: {target: busy, set: {asked: asked + 1}, call: {tool: lookup, args: {q: text}}}
    after: {1m: {say: Anyone there?}}
    states:
      idle: {}
      busy:
        on:
          tool.lookup.done: {target: idle, say: "found {result}"}
  closed: {type: final}
"""

TOOLS = "def lookup(q: str) -> str:\n    return q\n"


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    (tmp_path / "desk.agent.yaml").write_text(textwrap.dedent(AGENT), encoding="utf-8")
    (tmp_path / "desk_tools.py").write_text(TOOLS, encoding="utf-8")
    return tmp_path / "desk.agent.yaml"


def test_harness_drives_a_file(desk: Path):
    async def main():
        async with Harness.open(desk) as h:
            h.assert_in("open", "idle")
            h.assert_not_in("busy")
            h.expect({"enter": "idle"}, {"timer": "1m"})
            window = await h.send("user.said", text="pizza")
            assert [o.kind for o in window][:1] == ["event"]
            h.assert_in("busy")
            h.assert_vars(asked=1)
            h.expect({"tool": {"name": "lookup", "args": {"q": "pizza"}}})
            assert h.tool_calls == [StartTool(h.last_call_id("lookup"), "lookup", {"q": "pizza"}, "desk")]  # open is left: the agent owns it
            await h.send("tool.lookup.done", {"call_id": h.last_call_id("lookup"), "result": "Luigi's"})
            h.expect({"say": "found Luigi's"})
            await h.wait("59s")
            h.expect_not({"say": "Anyone"})
            await h.wait(1)
            h.expect({"fired": "open"}, {"say": "Anyone there"})
            assert h.said == ["found Luigi's", "Anyone there?"]
            assert h.time == 60.0
            assert h.vars == {"asked": 1}
            assert not h.finished
            assert Speak("Anyone there?") in h.effects
            return len(h.records)

    assert run(main) == 4


def test_harness_failures_are_assertion_errors_with_the_diff(desk: Path):
    async def main():
        async with Harness.open(desk) as h:
            with pytest.raises(HarnessError) as info:
                h.assert_in("busy")
            assert str(info.value) == "busy is not active\n  expected active: busy\n  configuration:   open, idle"
            with pytest.raises(AssertionError, match="variable asked differs"):
                h.assert_vars({"asked": 5})
            await h.send("user.said", {"text": "x"})
            with pytest.raises(HarnessError, match="no 'say ~ /nothing/'"):
                h.expect({"say": "nothing"})
            with pytest.raises(HarnessError, match="unexpected 'tool lookup"):
                h.expect_not({"tool": "lookup"})
            with pytest.raises(ValueError, match="unknown expectation 'sya'"):
                h.expect({"sya": "x"})

    run(main)


def test_harness_accepts_agents_and_charts_and_resumes():
    agent, _ = load_yaml(textwrap.dedent("""
    agent: tick
    vars: {n: 0}
    initial: a
    states:
      a: {every: {10s: {set: {n: n + 1}}}}
    """), "tick.agent.yaml")

    async def main():
        async with Harness.open(agent) as h:
            await h.wait("25s")
            h.assert_vars(n=2)
            saved = h.save()
        async with Harness.open(compile_chart(agent), resume=saved) as h2:
            await h2.wait("4.999s")
            h2.assert_vars(n=2)
            await h2.wait("1ms")
            h2.assert_vars(n=3)

    run(main)


def test_harness_refuses_a_broken_file(tmp_path: Path):
    bad = tmp_path / "bad.agent.yaml"
    bad.write_text("agent: bad\ninitial: nowhere\nstates: {a: {}}\n", encoding="utf-8")

    async def main():
        async with Harness.open(bad):
            pass

    with pytest.raises(DiagnosticError):
        run(main)


def test_runaway_timers_stop_the_run(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(harness_module, "MAX_MACROSTEPS", 50)
    agent, _ = load_yaml("agent: fast\ninitial: a\nstates:\n  a: {every: {1ms: {log: tick}}}\n", "f.agent.yaml")

    async def main():
        async with Harness.open(agent) as h:
            with pytest.raises(HarnessError, match="more than 50 macrosteps"):
                await h.wait("1h")

    run(main)


def test_harness_exceptions_are_not_wrapped_in_groups(desk: Path):
    async def main():
        async with Harness.open(desk):
            raise KeyError("plain")

    with pytest.raises(KeyError):
        run(main)


def test_run_uses_virtual_time():
    async def main():
        await trio.sleep(3600)
        return trio.current_time()

    assert run(main) == 3600


# --------------------------------------------------------------------------- the pytest plugin


SCENARIOS = """
scenarios:
  - name: starts idle
    steps:
      - in: [open, idle]
  - name: looks things up
    steps:
      - send: user.said
        data: {text: soup}
      - tool: {name: lookup, args: {q: soup}}
      - tool_done: {tool: lookup, result: tomato}
      - say: found tomato
  - name: wrong on purpose
    steps:
      - wait: 1m
      - say: Hello
  - name: later
    skip: true
    steps: [{wait: 1s}]
"""


def test_pytest_plugin_collects_scenarios(pytester: pytest.Pytester):
    pytester.makefile(".agent.yaml", desk=textwrap.dedent(AGENT))
    pytester.makepyfile(desk_tools=TOOLS)
    pytester.makefile(".test.yaml", desk=textwrap.dedent(SCENARIOS))
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "*desk.test.yaml::starts idle PASSED*",
        "*desk.test.yaml::looks things up PASSED*",
        "*desk.test.yaml::wrong on purpose FAILED*",
        "desk.test.yaml:15:9: say: no 'say ~ /Hello/'",
        "  expected:",
        "    > say ~ /Hello/",
        "  actual:",
        "      t=1m      fired after timer of open (after:open:0)",
        '      t=1m      say "Anyone there?"',
    ])
    assert "Traceback" not in result.stdout.str()


def test_pytest_plugin_reports_broken_files(pytester: pytest.Pytester):
    pytester.makefile(".agent.yaml", desk=textwrap.dedent(AGENT))
    pytester.makepyfile(desk_tools=TOOLS)
    pytester.makefile(".test.yaml", desk="scenarios:\n  - name: x\n    steps: [{in: nowhere}]\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["desk.test.yaml cannot run:",
                                 "desk.test.yaml:3:13: error?E008?: unknown state 'nowhere' in desk",
                                 "  hint: states: open, idle, busy, closed"])
