"""Scenario tests: run ``*.test.yaml`` files against their agents, in virtual time.

Each scenario runs through the real :class:`~.interpreter.Interpreter` (via
:class:`~.harness.Harness`) under ``trio.testing.MockClock(autojump_threshold=0)``, so an
hour of timers takes milliseconds. The format is described in ``docs/testing.md``;
parsing lives in :mod:`.scenario_format`, matching in :mod:`.scenario_match`.

:func:`run_paths` is what ``counterpoint test`` calls; :mod:`.pytest_plugin` runs the same
scenarios as pytest items.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import trio
import trio.testing

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean, printable, sort_key
from counterpoint.dsl.files import display_path, is_file, load_agent
from counterpoint.dsl.model import walk_states
from counterpoint.dsl.source import Span
from counterpoint.engine.agent.ledger import Ledger
from counterpoint.engine.agent.session import AgentSession
from counterpoint.engine.llm.scripted import ScriptedLLM
from counterpoint.engine.runtime.interpreter import EffectHandler, RecordingHandler, collapse_groups
from counterpoint.engine.testing.format import SUFFIX, Scenario, ScenarioFile, Step, parse_file
from counterpoint.engine.testing.harness import Harness, HarnessError
from counterpoint.engine.testing.matchers import Mismatch, actual_lines, check_absent, diff_states, diff_vars
from counterpoint.engine.testing.world import ToolTimeouts
from counterpoint.engine.tools.binding import BoundTool, ToolBindError, bind_tools

PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"


@dataclass
class Outcome:
    """How one scenario went; ``message`` is the readable failure text (empty when passed)."""

    file: str
    name: str
    status: str
    message: str = ""
    span: Span | None = None
    seconds: float = 0.0

    @property
    def nodeid(self) -> str:
        return f"{self.file}::{self.name}"


@dataclass
class Suite:
    """A scenario file with its compiled chart (None when the file or the agent has errors)."""

    file: ScenarioFile
    chart: Any = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    tools: dict[str, BoundTool] | None = None  # bound when a scenario runs the agent runtime

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


class StepFailed(Exception):
    def __init__(self, step: Step | None, span: Span, mismatch: Mismatch) -> None:
        super().__init__(mismatch.summary)
        self.step, self.span, self.mismatch = step, span, mismatch

    def format(self) -> str:
        where = f"{self.span}: {self.step.kind}" if self.step is not None else f"{self.span}: scenario"
        return f"{where}: {self.mismatch.format()}"


# --------------------------------------------------------------------------- loading


def load_suite(path: str | Path, display: str | None = None) -> Suite:
    """Parse a scenario file, load and compile its agent, and check names against the agent.

    ``display`` is how messages name the file (default: ``path`` as given).
    """
    sfile = parse_file(path, display)
    suite = Suite(sfile, diagnostics=list(sfile.diagnostics))
    if sfile.agent_path is None:
        return suite
    at = sfile.agent_span or Span(sfile.path, 1, 1, 1, 1)
    if not is_file(sfile.agent_path):
        suite.diagnostics.append(
            Diagnostic(
                "E009",
                f"no agent file {sfile.agent_path}",
                at,
                "'agent:' is relative to the scenario file" if sfile.agent_span else None,
            )
        )
        return suite
    agent, diags = load_agent(sfile.agent_path)
    if agent is None:
        suite.diagnostics.append(
            Diagnostic(
                "E008",
                f"the agent {sfile.agent_path} has errors; scenarios cannot run",
                at,
                f"run 'counterpoint validate {sfile.agent_path}'",
            )
        )
        suite.diagnostics += [d for d in diags if d.is_error]
        return suite
    # names are checked even when other steps are broken: one run reports every mistake
    suite.diagnostics += check_names(sfile, agent)
    if suite.errors:
        return suite
    if any(s.llm is not None for s in sfile.scenarios):  # these run the agent runtime: real tool handlers
        try:
            suite.tools = bind_tools(agent, sfile.agent_path.resolve().parent)
        except ToolBindError as err:
            suite.diagnostics.append(err.diagnostic)
            return suite
    from counterpoint.engine.core.chart import compile_chart

    try:
        suite.chart = compile_chart(agent, validated=True)
    except Exception as exc:  # a valid agent the compiler rejects: report, do not crash the run
        suite.diagnostics.append(
            Diagnostic("E008", f"cannot compile {sfile.agent_path}: {exc}", Span(sfile.path, 1, 1))
        )
    return suite


def check_names(sfile: ScenarioFile, agent: Any) -> list[Diagnostic]:
    """State ids, variables and tools a scenario names must exist in the agent."""
    states = [s.id for s in walk_states(agent.states)]
    variables = [v.name for v in agent.variables]
    tools = [t.name for t in agent.tools]
    out: list[Diagnostic] = []

    def unknown(what: str, name: str, known: list[str], span: Span) -> None:
        out.append(
            Diagnostic(
                "E008",
                f"unknown {what} '{name}' in {agent.name}",
                span,
                did_you_mean(name, known) or f"{what}s: {', '.join(known) or '(none)'}",
            )
        )

    for scenario in sfile.scenarios:
        for step in scenario.steps:
            for state in step.args.get("states", ()):
                if state not in states:
                    unknown("state", state, states, step.span)
            for name in step.args.get("values", {}):
                if name not in variables:
                    unknown("variable", name, variables, step.span)
            if step.kind in ("tool_done", "tool_error") and step.args["tool"] not in tools:
                unknown("tool", step.args["tool"], tools, step.span)
            for m in step.matchers:
                if m.kind in ("enter", "exit", "timer", "cancel_timer", "fired") and m.get("state") not in (
                    None,
                    *states,
                ):
                    unknown("state", m.get("state"), states, step.span)
                if m.kind == "tool" and m.get("name") not in tools:
                    unknown("tool", m.get("name"), tools, step.span)
    return out


# --------------------------------------------------------------------------- running one scenario


#: Wall-clock time of second 0 in scenarios that run the agent runtime (prompts show it).
SCENARIO_EPOCH = datetime(2026, 1, 1, 9, 0, 0, tzinfo=UTC)


def _handlers(chart: Any, scenario: Scenario, tools: Mapping[str, BoundTool] | None,
              ledger: Ledger | None) -> tuple[list[EffectHandler], AgentSession | None]:
    """Chart-only scenarios record effects (the test plays the world; declared tool timeouts still
    fire); scenarios with ``llm:`` run the agent runtime with the scripted model and real tools."""
    if scenario.llm is None:
        return [RecordingHandler(), ToolTimeouts()], None
    session = AgentSession(chart, ScriptedLLM(scenario.llm), tools=tools, ledger=ledger, started_at=SCENARIO_EPOCH)
    return [session], session


async def _play(chart: Any, scenario: Scenario, tools: Mapping[str, BoundTool] | None = None) -> None:
    stack = AsyncExitStack()
    try:
        handlers, session = _handlers(chart, scenario, tools, None)
        h = await stack.enter_async_context(Harness.open(chart, handlers=handlers))
        opener: Step | None = None  # the action that opened the current window
        for step in scenario.steps:
            if step.is_action:
                _check_errors(h, scenario, opener)
                opener = step
                if step.kind == "restart":
                    saved = h.save()
                    await stack.aclose()
                    stack = AsyncExitStack()
                    handlers, session = _handlers(chart, scenario, tools,
                                                  session.ledger if session is not None else None)
                    h = await stack.enter_async_context(Harness.open(chart, handlers=handlers, resume=saved))
                else:
                    await _act(h, step)
            elif step.kind == "prompt":
                _check_prompt(step, session)
            else:
                _check(h, step)
        _check_errors(h, scenario, opener)
    finally:
        await stack.aclose()


async def _act(h: Harness, step: Step) -> None:
    args = step.args
    if step.kind == "wait":
        await h.wait(args["seconds"])
        return
    if step.kind == "send":
        events = list(args["events"])
    else:  # tool_done / tool_error
        call_id = args["id"] or h.last_call_id(args["tool"])
        if call_id is None:
            raise StepFailed(
                step,
                step.span,
                Mismatch(
                    f"no call of tool '{args['tool']}' has started, so none can complete",
                    ("expect it first, e.g. '- tool: " + args["tool"] + "', or name the call with 'id:'",),
                ),
            )
        name = f"tool.{args['tool']}.{'done' if step.kind == 'tool_done' else 'error'}"
        events = [(name, {"call_id": call_id, args["field"]: args["value"]}, None)]
    if h.finished:
        raise StepFailed(
            step,
            step.span,
            Mismatch(
                f"the chart has finished; nothing receives '{events[0][0]}'",
                (f"configuration: {', '.join(h.configuration) or '(none)'}",),
            ),
        )
    await h.send_all(events)


def _check(h: Harness, step: Step) -> None:
    args = step.args
    mismatch: Mismatch | None
    if step.kind == "in":
        mismatch = diff_states(args["states"], h.configuration, active=True)
    elif step.kind == "not_in":
        mismatch = diff_states(args["states"], h.configuration, active=False)
    elif step.kind == "vars":
        mismatch = diff_vars(args["values"], h.vars)
    elif step.kind == "finished":
        mismatch = None
        if h.finished != args["finished"]:
            mismatch = Mismatch(
                "the chart has " + ("not finished" if args["finished"] else "finished"),
                (f"configuration: {', '.join(h.configuration) or '(none)'}",),
            )
    elif step.kind == "expect_not":
        mismatch = check_absent(step.matchers, h.window)
    else:  # expect, and the one-expectation shorthands
        mismatch = h.check(step.matchers)
    if mismatch is not None:
        raise StepFailed(step, step.span, mismatch)


def _check_prompt(step: Step, session: AgentSession | None) -> None:
    """``prompt: REGEX``: the last request sent to the (scripted) model matches."""
    if session is None or not isinstance(session.backend, ScriptedLLM):
        raise StepFailed(step, step.span, Mismatch("'prompt' needs the agent runtime",
                                                   ("give the scenario (or the file) an 'llm:' list of replies",)))
    requests = session.backend.requests
    if not requests:
        raise StepFailed(step, step.span, Mismatch("no LLM turn has started yet", ()))
    text = "\n".join(f"{m.get('role')}: {m.get('content') or ''}" for m in requests[-1].messages)
    if step.args["pattern"].search(text) is None:
        raise StepFailed(step, step.span, Mismatch(
            f"the last prompt does not match {step.args['pattern'].pattern!r}",
            tuple(f"  {line}" for line in text.splitlines()[-12:])))


def _check_errors(h: Harness, scenario: Scenario, opener: Step | None) -> None:
    if scenario.allow_errors:
        return
    errors = h.unexpected_errors()
    if not errors:
        return
    first = errors[0]
    event = first.value if first.kind == "event" else first.value.event
    detail = event.data.get("error", "") if hasattr(event.data, "get") else ""
    summary = f"unexpected {event.name}" + (f": {detail}" if detail else "")
    hint = "expect it with '- error: PATTERN' after this step, or set 'allow_errors: true' on the scenario"
    window = h.window
    marks = {i: "!" for i, obs in enumerate(window) if obs in errors}
    span = opener.span if opener is not None else scenario.span
    raise StepFailed(opener, span, Mismatch(summary, (hint, *actual_lines(window, marks))))


def run_scenario(chart: Any, scenario: Scenario, file: str, tools: Mapping[str, BoundTool] | None = None) -> Outcome:
    """Run one scenario under a fresh MockClock; never raises for a failing test."""
    if scenario.skip:
        return Outcome(file, scenario.name, SKIPPED, scenario.skip, scenario.span)
    start = time.perf_counter()
    try:
        with collapse_groups():
            trio.run(_play, chart, scenario, tools, clock=trio.testing.MockClock(autojump_threshold=0))
    except StepFailed as failure:
        return Outcome(
            file, scenario.name, FAILED, failure.format(), failure.span, time.perf_counter() - start
        )
    except HarnessError as failure:
        return Outcome(
            file,
            scenario.name,
            FAILED,
            f"{scenario.span}: {failure}",
            scenario.span,
            time.perf_counter() - start,
        )
    except Exception:
        text = traceback.format_exc()
        return Outcome(
            file,
            scenario.name,
            ERROR,
            f"{scenario.span}: the scenario crashed:\n{text}",
            scenario.span,
            time.perf_counter() - start,
        )
    return Outcome(file, scenario.name, PASSED, "", scenario.span, time.perf_counter() - start)


def run_suite(suite: Suite, names: Iterable[str] | None = None) -> list[Outcome]:
    """Run the scenarios of a loaded file (all, or those named)."""
    wanted = set(names) if names is not None else None
    display = suite.file.path
    return [
        run_scenario(suite.chart, s, display, suite.tools)
        for s in suite.file.scenarios
        if wanted is None or s.name in wanted
    ]


# --------------------------------------------------------------------------- run_paths: the CLI's entry point


def collect(paths: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Scenario files named or found below folders (sorted), and usage problems."""
    files: list[Path] = []
    problems: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(_scenario_files(p))
            if not found:
                problems.append(f"no scenario files (*{SUFFIX}) in {raw}")
            files += found
        elif p.is_file():
            if not p.name.endswith(SUFFIX):
                problems.append(f"{raw} is not a scenario file (*{SUFFIX})")
            else:
                files.append(p)
        else:
            problems.append(f"{raw}: no such file or folder")
    unique = list(dict.fromkeys(files))
    return unique, problems


def _scenario_files(folder: Path) -> Iterable[Path]:
    """Scenario files below ``folder``; hidden folders (.git, .venv) are not even entered."""
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        yield from (Path(root) / n for n in names if n.endswith(SUFFIX) and not n.startswith("."))


def selected(outcome_file: str, name: str, keywords: Sequence[str]) -> bool:
    """Whether ``-k`` selects a scenario: any keyword is a case-insensitive part of its name or
    of ``file::name``; no keywords select everything."""
    nodeid = f"{outcome_file}::{name}".casefold()
    return not keywords or any(k.casefold() in nodeid for k in keywords)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 or word in ("passed", "failed", "skipped") else f"{n} {word}s"


def summary_line(outcomes: Sequence[Outcome], file_errors: int, seconds: float, deselected: int = 0) -> str:
    """``3 passed, 1 failed in 0.12s`` (skips, errors and deselected added when there are any)."""
    count = {s: sum(o.status == s for o in outcomes) for s in (PASSED, FAILED, SKIPPED, ERROR)}
    parts = [f"{count[PASSED]} passed", f"{count[FAILED]} failed"]
    if count[SKIPPED]:
        parts.append(f"{count[SKIPPED]} skipped")
    errors = count[ERROR] + file_errors
    if errors:
        parts.append(_plural(errors, "error"))
    if deselected:
        parts.append(f"{deselected} deselected")
    return f"{', '.join(parts)} in {seconds:.2f}s"


def run_paths(
    paths: Sequence[str],
    out: TextIO | None = None,
    *,
    keywords: Sequence[str] = (),
    verbose: bool = False,
    err: TextIO | None = None,
) -> int:
    """Run the scenario files in ``paths`` (folders recursively); print progress and a summary.

    ``keywords`` (``-k``) select scenarios by name (see :func:`selected`); ``verbose`` prints
    each scenario on its own line with its result instead of one character. Usage problems go
    to ``err`` (stderr by default) as ``counterpoint: error: ...``.
    Returns 0 when everything passed, 1 on failures or broken files, 2 on usage errors
    (nothing to run, a path that does not exist, no scenario matching the keywords).
    """
    stream, errors = _Escaping(out or sys.stdout), _Escaping(err or sys.stderr)
    started = time.perf_counter()
    if not paths:
        print("counterpoint: error: name scenario files (*.test.yaml) or folders to run", file=errors)
        return 2
    files, problems = collect(paths)
    if problems:
        for problem in problems:
            print(f"counterpoint: error: {problem}", file=errors)
        return 2
    outcomes: list[Outcome] = []
    broken: list[tuple[str, list[Diagnostic]]] = []
    deselected = 0
    for path in files:
        shown = display_path(path)
        suite = load_suite(path, shown)
        if suite.errors:
            broken.append((shown, suite.diagnostics))
            print(f"{shown} ERROR" if verbose else f"{shown} E", file=stream, flush=True)
            continue
        chosen = [sc for sc in suite.file.scenarios if selected(shown, sc.name, keywords)]
        deselected += len(suite.file.scenarios) - len(chosen)
        if not chosen:
            continue
        if not verbose:
            print(shown + " ", end="", file=stream, flush=True)
        for scenario in chosen:
            outcome = run_scenario(suite.chart, scenario, shown, suite.tools)
            outcomes.append(outcome)
            if verbose:
                print(f"{outcome.nodeid} {_WORDS[outcome.status]}", file=stream, flush=True)
            else:
                print(_MARKS[outcome.status], end="", file=stream, flush=True)
        if not verbose:
            print(file=stream)
    if keywords and not outcomes and not broken:
        shown_keywords = " or ".join(repr(k) for k in keywords)
        print(f"counterpoint: error: no scenario matches -k {shown_keywords} ({deselected} deselected)", file=errors)
        return 2
    bad = [o for o in outcomes if o.status in (FAILED, ERROR)]
    if broken:
        print(_banner("ERRORS"), file=stream)
        for shown, diags in broken:
            print(_banner(f"ERROR loading {shown}", "_"), file=stream)
            for d in sorted(diags, key=sort_key):
                print(d.format(), file=stream)
    if bad:
        print(_banner("FAILURES"), file=stream)
        for o in bad:
            print(_banner(o.nodeid, "_"), file=stream)
            print(o.message, file=stream)
    if bad or broken:
        print(_banner("short test summary info"), file=stream)
        for o in bad:
            print(f"{'FAILED' if o.status == FAILED else 'ERROR'} {o.nodeid}", file=stream)
        for shown, _ in broken:
            print(f"ERROR {shown}", file=stream)
    print(summary_line(outcomes, len(broken), time.perf_counter() - started, deselected), file=stream)
    return 1 if bad or broken else 0


_MARKS = {PASSED: ".", FAILED: "F", SKIPPED: "s", ERROR: "E"}
_WORDS = {PASSED: "PASSED", FAILED: "FAILED", SKIPPED: "SKIPPED", ERROR: "ERROR"}


class _Escaping:
    """A stream that shows control characters escaped (line breaks excepted): scenario names,
    events and values come from files, and must not drive the terminal."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, text: str) -> int:
        return self.out.write("\n".join(printable(line) for line in text.split("\n")))

    def flush(self) -> None:
        self.out.flush()


def _banner(title: str, fill: str = "=") -> str:
    return f" {title} ".center(80, fill)
