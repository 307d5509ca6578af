"""Scenario files: the format, passing and failing runs with their diff text, file errors, run_paths."""

from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path

import pytest

from counterpoint.dsl.yaml.nodes import compose, to_python
from counterpoint.engine.testing import load_suite, run_paths, run_suite
from counterpoint.engine.testing.format import parse_text
from counterpoint.engine.testing.runner import FAILED, PASSED, SKIPPED

SHOP = """
agent: shop
vars: {attempts: 0, found: []}
tools:
  find_table:
    handler: shop_tools:find_table
    params: {party: integer}
events:
  ping: []
initial: chat
states:
  chat:
    tools: [find_table]
    on:
      user.said:
        - {guard: "'bye' in text", target: bye}
        - {guard: "'crash' in text", set: {attempts: "attempts / 0"}}
        - do: [{set: {attempts: attempts + 1}}, {call: {tool: find_table, args: {party: 2}}}]
      tool.find_table.done: {target: confirm, set: {found: result}}
      tool.find_table.error: {say: "search failed: {error}"}
      ping: {send: {event: pong, delay: 10s, id: p1}}
      pong: {say: pong}
    after: {45s: {say: Are you still there?}}
    every: {20s: {log: tick}}
  confirm:
    entry: {say: "Found {len(found)} tables"}
    on: {user.said: chat}
  bye: {type: final, entry: {say: Goodbye!}}
"""

TOOLS = "def find_table(party: int) -> list:\n    return []\n"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "shop.agent.yaml").write_text(textwrap.dedent(SHOP), encoding="utf-8")
    (tmp_path / "shop_tools.py").write_text(TOOLS, encoding="utf-8")
    return tmp_path


def write(folder: Path, text: str, name: str = "shop.test.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def run(paths: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = run_paths(paths, out)
    return code, out.getvalue()


def failure_of(text: str, folder: Path) -> str:
    """The failure text of the only scenario of a file (paths shortened to the file name)."""
    path = write(folder, text)
    suite = load_suite(path)
    assert not suite.diagnostics, [d.format() for d in suite.diagnostics]
    (outcome,) = run_suite(suite)
    assert outcome.status == FAILED, outcome
    return outcome.message.replace(str(path), "shop.test.yaml")


# --------------------------------------------------------------------------- passing


PASSING = """
agent: shop.agent.yaml
scenarios:
  - name: starts in chat with its timers
    steps:
      - in: chat
      - not_in: [confirm, bye]
      - expect: [{enter: chat}, {timer: {after: 45s, state: chat}}, {timer: {every: 20s}}]
      - vars: {attempts: 0}
      - finished: false

  - name: a request starts the tool and the result confirms
    steps:
      - send: user.said
        data: {text: "a table for two"}
      - expect:
          - event: user.said
          - tool: {name: find_table, args: {party: 2}}
      - expect_not: {say: .}
      - vars: {attempts: 1}
      - wait: 2s
      - tool_done: {tool: find_table, result: [a, b, c]}
      - expect: [{exit: chat}, {enter: confirm}, {cancel_timer: chat}, {say: "Found 3 tables"}]
      - in: confirm
      - vars: {found: [a, b, c]}

  - name: asks again after silence, in virtual time
    steps:
      - wait: 44.999s
      - expect_not: {say: still there}
      - wait: 1ms
      - say: Are you still there\\?
      - expect: [{fired: chat}, {say: still}]
      - expect_not: {event: user}
      - wait: 1h
      - log: tick
      - in: chat

  - name: delayed sends arrive on time and bye finishes the chart
    steps:
      - send: ping
      - sent: {event: pong, delay: 10s, id: p1}
      - wait: 9s
      - expect_not: {say: pong}
      - wait: 1s
      - say: ^pong$
      - send: user.said
        data: {text: bye}
      - say: Goodbye
      - finished: true

  - name: errors can be expected
    steps:
      - send: user.said
        data: {text: crash}
      - error: (?i)division|zero

  - name: errors can be allowed
    allow_errors: true
    steps:
      - send: user.said
        data: {text: crash}
      - in: chat

  - name: tool errors and restarts
    steps:
      - send: user.said
        data: {text: "table"}
      - wait: 30s
      - restart: true
      - wait: 15s
      - say: still there
      - tool_error: {tool: find_table, error: no network}
      - say: "search failed: no network"

  - name: not ready yet
    skip: waiting for the booking tool
    steps:
      - wait: 1s
"""


def test_passing_file(shop: Path):
    path = write(shop, PASSING)
    code, out = run([str(path)])
    assert code == 0, out
    assert re.search(r"shop\.test\.yaml \.\.\.\.\.\.\.s\n", out)
    assert re.search(r"^7 passed, 0 failed, 1 skipped in \d+\.\d\ds$", out, flags=re.M), out


def test_outcomes_and_folder_collection(shop: Path):
    write(shop, PASSING)
    sub = shop / "more"
    sub.mkdir()
    (sub / "shop.agent.yaml").write_text(textwrap.dedent(SHOP), encoding="utf-8")
    (sub / "shop_tools.py").write_text(TOOLS, encoding="utf-8")
    write(sub, "scenarios:\n  - name: inferred agent\n    steps: [{in: chat}]\n")  # agent: from the file name
    code, out = run([str(shop)])
    assert code == 0, out
    assert "8 passed, 0 failed, 1 skipped" in out
    outcomes = run_suite(load_suite(shop / "shop.test.yaml"))
    assert [o.status for o in outcomes] == [PASSED] * 7 + [SKIPPED]
    assert outcomes[0].nodeid.endswith("shop.test.yaml::starts in chat with its timers")


# --------------------------------------------------------------------------- failing, with the diff text


def test_failing_state_check(shop: Path):
    msg = failure_of("""
    agent: shop.agent.yaml
    scenarios:
      - name: wrong state
        steps:
          - send: user.said
            data: {text: bye}
          - in: [chat]
    """, shop)
    assert msg == textwrap.dedent("""\
        shop.test.yaml:7:9: in: chat is not active
          expected active: chat
          configuration:   bye""")


def test_failing_vars_check(shop: Path):
    msg = failure_of("""
    agent: shop.agent.yaml
    scenarios:
      - name: wrong count
        steps:
          - send: user.said
            data: {text: one}
          - vars: {attempts: 2, found: []}
    """, shop)
    assert msg == textwrap.dedent("""\
        shop.test.yaml:7:9: vars: variable attempts differs
          - attempts: 2   (expected)
          + attempts: 1   (actual)""")


def test_failing_expectation_lists_the_window(shop: Path):
    msg = failure_of("""
    agent: shop.agent.yaml
    scenarios:
      - name: says the wrong thing
        steps:
          - wait: 45s
          - say: hello
    """, shop)
    assert msg == textwrap.dedent("""\
        shop.test.yaml:6:9: say: no 'say ~ /hello/'
          expected:
            > say ~ /hello/
          actual:
              t=20s     fired every timer of chat (every:chat:1)
              t=20s     log "tick"
              t=40s     fired every timer of chat (every:chat:1)
              t=40s     log "tick"
              t=45s     fired after timer of chat (after:chat:0)
              t=45s     say "Are you still there?\"""")


def test_failing_order(shop: Path):
    msg = failure_of("""
    agent: shop.agent.yaml
    scenarios:
      - name: wrong order
        steps:
          - send: user.said
            data: {text: two}
          - expect: [{tool: find_table}, {event: user.said}]
    """, shop)
    assert msg.startswith("shop.test.yaml:7:9: expect: 'event user.said' happened, but before 'tool find_table'\n")
    assert "      tool find_table\n    > event user.said\n" in msg
    assert '    ! t=0s      event user.said {"text": "two"}\n' in msg
    assert '    + t=0s      tool find_table {"party": 2} (call ' in msg


def test_failing_args(shop: Path):
    msg = failure_of("""
    agent: shop.agent.yaml
    scenarios:
      - name: wrong args
        steps:
          - send: user.said
            data: {text: two}
          - tool: {name: find_table, args: {party: 3}}
    """, shop)
    assert msg.splitlines()[:3] == [
        "shop.test.yaml:7:9: tool: no 'tool find_table {\"party\": 3}'",
        "  expected:",
        "    > tool find_table {\"party\": 3}",
    ]


def test_failing_expect_not(shop: Path):
    msg = failure_of("""
    agent: shop.agent.yaml
    scenarios:
      - name: spoke
        steps:
          - wait: 45s
          - expect_not: [{say: still}]
    """, shop)
    assert msg.splitlines()[0] == "shop.test.yaml:6:9: expect_not: unexpected 'say \"Are you still there?\"'"
    assert '    ! t=45s     say "Are you still there?"' in msg.splitlines()


def test_unexpected_error_fails_at_the_action(shop: Path):
    msg = failure_of("""
    agent: shop.agent.yaml
    scenarios:
      - name: crash
        steps:
          - send: user.said
            data: {text: crash}
          - in: chat
    """, shop)
    first, hint = msg.splitlines()[:2]
    assert first.startswith("shop.test.yaml:5:9: send: unexpected error.execution: ")
    assert hint == ("  expect it with '- error: PATTERN' after this step, or set 'allow_errors: true' "
                    "on the scenario")


def test_finished_and_send_after_finish(shop: Path):
    msg = failure_of("""
    agent: shop.agent.yaml
    scenarios:
      - name: too late
        steps:
          - send: user.said
            data: {text: bye}
          - send: user.said
            data: {text: "hello?"}
    """, shop)
    assert msg == textwrap.dedent("""\
        shop.test.yaml:7:9: send: the chart has finished; nothing receives 'user.said'
          configuration: bye""")


def test_tool_done_without_a_call(shop: Path):
    msg = failure_of("""
    agent: shop.agent.yaml
    scenarios:
      - name: no call
        steps:
          - tool_done: find_table
    """, shop)
    assert msg.splitlines()[0] == ("shop.test.yaml:5:9: tool_done: no call of tool 'find_table' has started, "
                                   "so none can complete")


def test_failure_report_of_run_paths(shop: Path):
    path = write(shop, """
    agent: shop.agent.yaml
    scenarios:
      - name: good
        steps: [{in: chat}]
      - name: bad
        steps: [{in: bye}]
    """)
    code, out = run([str(path)])
    assert code == 1
    shown = str(path)
    assert f"{shown} .F\n" in out
    assert "=== FAILURES ===" in out
    assert f"{shown}::bad" in out and f"FAILED {shown}::bad\n" in out
    assert f"{shown}:6:13: in: bye is not active" in out
    assert re.search(r"^1 passed, 1 failed in \d+\.\d\ds$", out, flags=re.M)


# --------------------------------------------------------------------------- errors in the test file


def diags_of(text: str) -> list[str]:
    return [d.format() for d in parse_text(textwrap.dedent(text).lstrip(), "t.test.yaml").diagnostics]


def test_yaml_syntax_error_is_a_diagnostic():
    text = "scenarios:\n  - name: x\n    steps: [\n"
    (d,) = diags_of(text)
    # the language's reader, with its message: as an agent file with the same text
    assert [d] == [x.format() for x in compose(text, "t.test.yaml")[1]]
    assert d.startswith("t.test.yaml:4:1: error[E001]: ")


def test_scalars_read_as_in_agent_files():
    """YAML 1.2 scalars: 'no' and '12:30' are strings in scenarios as in agent files (not False and 750)."""
    sfile = parse_text(
        "agent: a.agent.yaml\nscenarios:\n  - name: s\n    steps:\n"
        "      - send: user.said\n        data: {answer: no, t: 12:30}\n",
        "t.test.yaml",
    )
    assert sfile.diagnostics == []
    ((name, data, _),) = sfile.scenarios[0].steps[0].args["events"]
    assert (name, data) == ("user.said", {"answer": "no", "t": "12:30"})
    root, _ = compose("{answer: no, t: 12:30}", "a.agent.yaml")
    assert root is not None and to_python(root) == data


def test_step_errors_have_positions_and_hints():
    diags = diags_of("""
    agent: a.agent.yaml
    scenarios:
      - name: mistakes
        steps:
          - sned: user.said
          - wait: soon
          - send: user.said
            date: {text: hi}
          - expect: {sya: hello}
          - say: "(unclosed"
          - in: [chat, 3]
          - send: x
            wait: 1s
          - hello
          - expect: []
    """)
    assert diags == [
        "t.test.yaml:5:9: error[E004]: unknown key 'sned' in a step\n  hint: did you mean 'send'?",
        "t.test.yaml:6:15: error[E007]: 'soon' is not a duration; write e.g. 500ms, 30s, 1.5s, 2m, 1h or 1m30s",
        "t.test.yaml:8:9: error[E004]: unknown key 'date' in a step\n  hint: did you mean 'data'?",
        "t.test.yaml:9:17: error[E008]: unknown expectation 'sya' (known: " + ", ".join(
            __import__("counterpoint.engine.testing.matchers", fromlist=["KINDS"]).KINDS)
        + ")\n  hint: did you mean 'say'?",
        "t.test.yaml:10:14: error[E008]: 'say' is not a valid regular expression: missing ), unterminated "
        "subpattern at position 0\n  hint: escape special characters such as ? ( ) [ ] with a backslash, "
        "or use re.escape",
        "t.test.yaml:11:13: error[E005]: 'in' takes a state id or a list of state ids",
        "t.test.yaml:12:9: error[E008]: a step has exactly one of " + ", ".join(
            __import__("counterpoint.engine.testing.format", fromlist=["STEP_KEYS"]).STEP_KEYS)
        + "; this one has several step kinds (send, wait)\n  hint: write each step as its own list item ('- ...')",
        "t.test.yaml:14:9: error[E005]: a step must be a mapping such as '- send: user.said' or '- wait: 30s'\n"
        "  hint: steps: " + ", ".join(
            __import__("counterpoint.engine.testing.format", fromlist=["STEP_KEYS"]).STEP_KEYS),
        "t.test.yaml:15:17: error[E006]: 'expect' needs at least one expectation\n  hint: known expectations: "
        + ", ".join(__import__("counterpoint.engine.testing.matchers", fromlist=["KINDS"]).KINDS),
    ]


def test_file_level_errors():
    assert diags_of("[1, 2]\n") == ["t.test.yaml:1:1: error[E005]: a scenario file must be a mapping"]
    assert diags_of("agent: a.agent.yaml\n") == ["t.test.yaml:1:1: error[E006]: missing 'scenarios': a list of scenarios"]
    assert diags_of("scenarios: []\n")[0].startswith("t.test.yaml:1:1: error[E006]: missing 'agent'")
    assert diags_of("""
    agent: a.agent.yaml
    scenarios:
      - name: same
        steps: [{wait: 1s}]
      - name: same
        steps: [{wait: 1s}]
      - steps: [{wait: 1s}]
      - name: empty
        steps: []
        flaky: true
    """) == [
        "t.test.yaml:5:5: error[E003]: duplicate scenario name 'same'",
        "t.test.yaml:7:5: error[E006]: a scenario needs a 'name'",
        "t.test.yaml:10:5: error[E004]: unknown key 'flaky' in a scenario\n  hint: allowed keys: name, description, "
        "llm, steps, allow_errors, skip",
        "t.test.yaml:9:12: error[E005]: 'steps' must be a non-empty list of steps",
    ]


def test_names_are_checked_against_the_agent(shop: Path):
    path = write(shop, """
    agent: shop.agent.yaml
    scenarios:
      - name: typos
        steps:
          - in: chatt
          - vars: {attempt: 1}
          - tool: find_tabel
          - enter: confrim
    """)
    code, out = run([str(path)])
    assert code == 1
    assert f"{path} E\n" in out
    assert f"{path}:5:9: error[E008]: unknown state 'chatt' in shop\n  hint: did you mean 'chat'?" in out
    assert f"{path}:6:9: error[E008]: unknown variable 'attempt' in shop\n  hint: did you mean 'attempts'?" in out
    assert f"{path}:7:9: error[E008]: unknown tool 'find_tabel' in shop\n  hint: did you mean 'find_table'?" in out
    assert f"{path}:8:9: error[E008]: unknown state 'confrim' in shop" in out
    assert re.search(r"^0 passed, 0 failed, 1 error in", out, flags=re.M)


def test_broken_agent_is_reported(tmp_path: Path):
    (tmp_path / "bad.agent.yaml").write_text("agent: bad\ninitial: nowhere\nstates: {a: {}}\n", encoding="utf-8")
    path = write(tmp_path, "scenarios:\n  - name: x\n    steps: [{in: a}]\n", "bad.test.yaml")
    code, out = run([str(path)])
    assert code == 1
    assert f"{path}:1:1: error[E008]: the agent {tmp_path / 'bad.agent.yaml'} has errors; scenarios cannot run" in out
    assert "E104" in out or "E101" in out


def test_missing_agent_file(tmp_path: Path):
    path = write(tmp_path, "agent: nope.agent.yaml\nscenarios:\n  - name: x\n    steps: [{in: a}]\n", "x.test.yaml")
    code, out = run([str(path)])
    assert code == 1 and "E009" in out


# --------------------------------------------------------------------------- usage


def test_usage_errors(tmp_path: Path):
    def usage(paths: list[str]) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        code = run_paths(paths, out, err=err)
        assert out.getvalue() == ""
        return code, err.getvalue()

    assert usage([])[0] == 2
    code, err = usage([str(tmp_path / "missing")])
    assert code == 2 and err.startswith("counterpoint: error: ") and "no such file or folder" in err
    code, err = usage([str(tmp_path)])
    assert code == 2 and "no scenario files (*.test.yaml)" in err
    other = tmp_path / "x.agent.yaml"
    other.write_text("agent: x\n", encoding="utf-8")
    code, err = usage([str(other)])
    assert code == 2 and "is not a scenario file" in err


def test_hidden_folders_are_not_searched(shop: Path):
    hidden = shop / ".venv" / "lib"
    hidden.mkdir(parents=True)
    write(hidden, "scenarios: [{name: n, steps: [{in: chat}]}]\n")
    code, out = run([str(shop)])
    assert code == 2 and out == ""


def test_two_agent_files_for_one_scenario_file_is_an_error(shop: Path):
    (shop / "shop.agent").write_text("agent shop\nstate s {}\n", encoding="utf-8")
    path = write(shop, "scenarios: [{name: n, steps: [{in: chat}]}]\n")
    (diag,) = load_suite(path).diagnostics
    assert diag.code == "E006" and "shop.agent.yaml and shop.agent" in diag.message
    assert "agent: shop.agent.yaml" in (diag.hint or "")


# --------------------------------------------------------------------------- the examples in the docs


ROOT = Path(__file__).resolve().parent.parent


def doc_scenarios() -> list[tuple[str, str, bool]]:
    """``(where, text, meant to fail)`` for every ```yaml block with a top-level ``scenarios:`` key."""
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if not doc.exists():
            continue
        text = doc.read_text(encoding="utf-8")
        for m in re.finditer(r"(?:<!--\s*file:\s*(\S+)\s*-->\n)?```yaml\n(.*?)```", text, flags=re.S):
            if re.search(r"^scenarios:", m.group(2), flags=re.M):
                line = text.count("\n", 0, m.start()) + 1
                found.append((f"{doc.name}:{line}", m.group(2), "failing" in (m.group(1) or "")))
    return found


@pytest.mark.parametrize(("where", "text", "failing"), [pytest.param(*d, id=d[0]) for d in doc_scenarios()])
def test_doc_scenarios_are_valid_and_pass(where: str, text: str, failing: bool, tmp_path: Path):
    path = tmp_path / "doc.test.yaml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "agents").symlink_to(ROOT / "agents")
    suite = load_suite(path)
    assert not suite.diagnostics, f"{where}: " + "\n".join(d.format() for d in suite.diagnostics)
    outcomes = run_suite(suite)
    if not failing:
        assert all(o.status in (PASSED, SKIPPED) for o in outcomes), "\n".join(o.message for o in outcomes)
    else:
        assert any(o.status == FAILED for o in outcomes)


def test_docs_have_scenario_examples():
    assert len(doc_scenarios()) >= 3
