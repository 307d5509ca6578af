"""Reading ``*.test.yaml`` scenario files into steps that remember their line.

The file is composed with the language's YAML reader (:mod:`counterpoint.dsl.yaml.nodes`:
YAML 1.2 scalars, the same limits and messages as agent files), so every step keeps its
position; a failing step, and every mistake in the test file itself, is reported at
``file:line:col``.
Problems in the file are :class:`~counterpoint.dsl.diagnostics.Diagnostic` values, never
tracebacks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean
from counterpoint.dsl.durations import DurationError, parse_duration
from counterpoint.dsl.files import AGENT_SUFFIXES, SCENARIO_SUFFIXES, read_source
from counterpoint.dsl.names import EVENT_RE, IDENT_RE
from counterpoint.dsl.source import Span
from counterpoint.dsl.yaml.nodes import YNode, compose, to_python
from counterpoint.engine.llm.scripted import ScriptedReply, ScriptError, parse_script
from counterpoint.engine.testing.matchers import (
    KINDS,
    Matcher,
    SpecError,
    compile_regex,
    parse_matcher,
    parse_matchers,
)

#: Suffix of scenario files (the name folders are searched for).
SUFFIX = SCENARIO_SUFFIXES[0]

#: Steps that make something happen; each opens a new window for the expectations after it.
ACTIONS = ("send", "wait", "tool_done", "tool_error", "restart")
#: Steps that check the current state or the current window.
CHECKS = ("in", "not_in", "vars", "expect", "expect_not", "finished", "prompt")
STEP_KEYS = (*ACTIONS, *CHECKS, *KINDS)
#: Extra keys a step of the given kind may carry.
EXTRA_KEYS: dict[str, tuple[str, ...]] = {"send": ("data", "priority")}
#: Most steps a scenario file may hold (aliases counted at every use): each step runs the chart,
#: so this bounds the time a file takes (5,000 steps take about a second).
MAX_STEPS = 5_000
FILE_KEYS = ("agent", "description", "llm", "scenarios")
SCENARIO_KEYS = ("name", "description", "llm", "steps", "allow_errors", "skip")


@dataclass(frozen=True)
class Step:
    """One step; ``args`` holds its parsed values (see :data:`STEP_KEYS`)."""

    kind: str
    args: Mapping[str, Any]
    span: Span
    text: str  # the step as it reads, for messages

    @property
    def is_action(self) -> bool:
        return self.kind in ACTIONS

    @property
    def matchers(self) -> list[Matcher]:
        return list(self.args.get("matchers", ()))


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    span: Span
    allow_errors: bool = False
    skip: str | None = None
    #: the scripted model's replies: the scenario runs with the agent runtime (None: chart only)
    llm: tuple[ScriptedReply, ...] | None = None


@dataclass
class ScenarioFile:
    """A parsed scenario file; ``diagnostics`` lists what is wrong with the file itself."""

    path: str
    agent_path: Path | None = None
    agent_span: Span | None = None  # where 'agent:' names the file (None: found by the file's name)
    scenarios: list[Scenario] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


class _Bad(Exception):
    def __init__(self, code: str, message: str, node: YNode | None, hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.node, self.hint = code, message, node, hint


class _Reader:
    """Turns composed YAML nodes into steps, collecting diagnostics."""

    def __init__(self, path: str, base_dir: Path | None = None) -> None:
        self.path = path
        self.base_dir = base_dir if base_dir is not None else Path(path).parent
        self.diags: list[Diagnostic] = []
        self.file_llm: tuple[ScriptedReply, ...] | None = None

    def span(self, node: YNode | None) -> Span:
        return Span(self.path, 1, 1) if node is None else node.span(self.path)

    def report(self, bad: _Bad) -> None:
        if bad.code:
            self.diags.append(Diagnostic(bad.code, bad.message, self.span(bad.node), bad.hint))

    def value(self, node: YNode) -> Any:
        return to_python(node)

    def mapping(
        self, node: YNode, what: str, allowed: tuple[str, ...]
    ) -> dict[str, tuple[YNode, YNode]]:
        """``key -> (key node, value node)``; unknown and duplicate keys are diagnostics."""
        if node.kind != "map":
            raise _Bad("E005", f"{what} must be a mapping", node)
        out: dict[str, tuple[YNode, YNode]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if key_node.kind == "scalar" else self.value(key_node)
            if not isinstance(key, str):
                raise _Bad(
                    "E005",
                    f"keys in {what} must be text, got {key!r}",
                    key_node,
                    "quote keys YAML reads as booleans or numbers, e.g. 'true' or '1'",
                )
            if key in out:
                self.report(_Bad("E003", f"duplicate key '{key}' in {what}", key_node))
                continue
            if key not in allowed:
                self.report(
                    _Bad(
                        "E004",
                        f"unknown key '{key}' in {what}",
                        key_node,
                        did_you_mean(key, allowed) or f"allowed keys: {', '.join(allowed)}",
                    )
                )
                continue
            out[key] = (key_node, value_node)
        return out

    # ------------------------------------------------------------------ file

    def read(self, text: str) -> ScenarioFile:
        result = ScenarioFile(self.path)
        root, result.diagnostics = compose(text, self.path)  # what it reports (tags) does not stop reading
        if root is None or (root.kind == "scalar" and root.value is None):
            if not result.errors:
                result.diagnostics.append(
                    Diagnostic("E006", "empty scenario file: expected 'scenarios:'", Span(self.path, 1, 1))
                )
            return result
        try:
            top = self.mapping(root, "a scenario file", FILE_KEYS)
            if "agent" in top:
                agent = self.value(top["agent"][1])
                if not isinstance(agent, str) or not agent:
                    raise _Bad(
                        "E005",
                        "'agent' must be the path of the agent file, relative to this file",
                        top["agent"][1],
                    )
                result.agent_path = self.base_dir / agent
                result.agent_span = self.span(top["agent"][1])
            else:
                found = default_agents(self.base_dir / Path(self.path).name)
                if len(found) > 1:
                    raise _Bad(
                        "E006",
                        f"missing 'agent', and two agent files match this scenario file: {found[0].name} "
                        f"and {found[1].name}",
                        root,
                        f"add 'agent: {found[0].name}' (or {found[1].name}) to say which one it tests",
                    )
                result.agent_path = found[0] if found else None
                if result.agent_path is None:
                    raise _Bad(
                        "E006",
                        "missing 'agent': the agent file this scenario file tests",
                        root,
                        f"add 'agent: NAME.agent.yaml', or name this file after the agent ({SUFFIX})",
                    )
            if "llm" in top:
                self.file_llm = self.replies(top["llm"][1])
            if "scenarios" not in top:
                raise _Bad("E006", "missing 'scenarios': a list of scenarios", root)
            seq = top["scenarios"][1]
            if not seq.kind == "seq" or not seq.value:
                raise _Bad("E005", "'scenarios' must be a non-empty list of scenarios", seq)
        except _Bad as bad:
            self.report(bad)
            result.diagnostics += self.diags
            return result
        names: set[str] = set()
        steps = sum(_step_count(node) for node in seq.value)
        if steps > MAX_STEPS:
            too_many = f"input too large: {steps} steps (at most {MAX_STEPS} in a file)"
            self.report(_Bad("E010", too_many, seq, "split the scenarios over several files"))
            result.diagnostics += self.diags
            return result
        for node in seq.value:
            try:
                scenario = self.scenario(node)
            except _Bad as bad:
                self.report(bad)
                continue
            if scenario.name in names:
                self.report(_Bad("E003", f"duplicate scenario name '{scenario.name}'", node))
            names.add(scenario.name)
            result.scenarios.append(scenario)
        result.diagnostics += self.diags
        return result

    def scenario(self, node: YNode) -> Scenario:
        keys = self.mapping(node, "a scenario", SCENARIO_KEYS)
        if "name" not in keys:
            raise _Bad("E006", "a scenario needs a 'name'", node)
        name = self.value(keys["name"][1])
        if not isinstance(name, str | int | float) or isinstance(name, bool) or not str(name).strip():
            raise _Bad("E005", "'name' must be a text", keys["name"][1])
        allow_errors = False
        if "allow_errors" in keys:
            allow_errors = self.value(keys["allow_errors"][1])
            if not isinstance(allow_errors, bool):
                raise _Bad("E005", "'allow_errors' must be true or false", keys["allow_errors"][1])
        skip = None
        if "skip" in keys:
            raw = self.value(keys["skip"][1])
            if not isinstance(raw, bool | str):
                raise _Bad("E005", "'skip' must be true or a reason", keys["skip"][1])
            skip = None if raw is False else ("skipped" if raw is True else raw)
        if "steps" not in keys:
            raise _Bad("E006", f"scenario '{name}' needs 'steps'", node)
        seq = keys["steps"][1]
        if not seq.kind == "seq" or not seq.value:
            raise _Bad("E005", "'steps' must be a non-empty list of steps", seq)
        steps = []
        for step_node in seq.value:
            try:
                steps.append(self.step(step_node))
            except _Bad as bad:
                self.report(bad)
        llm = self.replies(keys["llm"][1]) if "llm" in keys else self.file_llm
        return Scenario(str(name).strip(), tuple(steps), self.span(node), allow_errors, skip, llm)

    def replies(self, node: YNode) -> tuple[ScriptedReply, ...]:
        """``llm:``: the scripted model's replies, in the format of :func:`parse_script`."""
        try:
            return tuple(parse_script(self.value(node)))
        except ScriptError as err:
            raise _Bad(
                "E005",
                f"llm: {err}",
                node,
                "a list of replies: '- say: TEXT', with optional calls, delay, pace, error",
            ) from None

    # ------------------------------------------------------------------ steps

    def step(self, node: YNode) -> Step:
        if node.kind != "map":
            raise _Bad(
                "E005",
                "a step must be a mapping such as '- send: user.said' or '- wait: 30s'",
                node,
                f"steps: {', '.join(STEP_KEYS)}",
            )
        extras = {k for ks in EXTRA_KEYS.values() for k in ks}
        keys = self.mapping(node, "a step", (*STEP_KEYS, *extras))
        main = [k for k in keys if k in STEP_KEYS]
        if len(main) != 1:
            if not main and node.value and not keys:
                raise _Bad("", "", node)  # its only keys were unknown: already reported
            if not main and not keys:
                raise _Bad("E006", "empty step", node, f"steps: {', '.join(STEP_KEYS)}")
            what = "no step kind" if not main else f"several step kinds ({', '.join(main)})"
            raise _Bad(
                "E008",
                f"a step has exactly one of {', '.join(STEP_KEYS)}; this one has {what}",
                node,
                "write each step as its own list item ('- ...')",
            )
        kind = main[0]
        for extra in keys:
            if extra != kind and extra not in EXTRA_KEYS.get(kind, ()):
                raise _Bad(
                    "E004",
                    f"'{extra}' does not belong to a '{kind}' step",
                    keys[extra][0],
                    f"'{extra}' goes with: " + ", ".join(k for k, v in EXTRA_KEYS.items() if extra in v),
                )
        value_node = keys[kind][1]
        value = self.value(value_node)
        span = self.span(node)
        try:
            args = self.step_args(kind, value, value_node, keys)
        except SpecError as exc:
            raise _Bad("E008", exc.message, value_node, exc.hint) from None
        return Step(kind, args, span, _step_text(kind, value))

    def step_args(
        self, kind: str, value: Any, node: YNode, keys: dict[str, tuple[YNode, YNode]]
    ) -> dict[str, Any]:
        if kind == "send":
            if isinstance(value, list):
                if "data" in keys or "priority" in keys:
                    raise _Bad(
                        "E004", "a list of events carries its own 'data' and 'priority' per event", node
                    )
                return {"events": tuple(_event_item(item, node) for item in value)}
            data = self.value(keys["data"][1]) if "data" in keys else {}
            priority = self.value(keys["priority"][1]) if "priority" in keys else None
            where = {
                "data": keys["data"][1] if "data" in keys else node,
                "priority": keys["priority"][1] if "priority" in keys else node,
            }
            return {"events": (_event(value, data, priority, node, where),)}
        if kind == "wait":
            try:
                return {"seconds": parse_duration(value)}
            except DurationError as exc:
                raise _Bad("E007", str(exc), node) from None
        if kind in ("in", "not_in"):
            states = value if isinstance(value, list) else [value]
            if not states or not all(isinstance(s, str) and IDENT_RE.fullmatch(s) for s in states):
                raise _Bad("E005", f"'{kind}' takes a state id or a list of state ids", node)
            return {"states": tuple(states)}
        if kind == "vars":
            if not isinstance(value, Mapping) or not value:
                raise _Bad("E005", "'vars' takes a mapping of variable names to expected values", node)
            return {"values": dict(value)}
        if kind in ("expect", "expect_not"):
            if value is None or value == []:
                raise _Bad(
                    "E006",
                    f"'{kind}' needs at least one expectation",
                    node,
                    f"known expectations: {', '.join(KINDS)}",
                )
            return {"matchers": tuple(parse_matchers(value))}
        if kind == "prompt":
            if not isinstance(value, str) or not value:
                raise _Bad(
                    "E005",
                    "'prompt' must be a regular expression the last prompt sent to the model matches",
                    node,
                )
            try:
                return {"pattern": compile_regex(value)}
            except (re.error, OverflowError, RecursionError) as err:  # a{99999999999}, ((((...))))
                raise _Bad("E005", f"'prompt' is not a valid regular expression: {err}", node) from None
        if kind == "finished":
            if not isinstance(value, bool):
                raise _Bad("E005", "'finished' must be true or false", node)
            return {"finished": value}
        if kind in ("tool_done", "tool_error"):
            return _tool_reply(kind, value, node)
        if kind == "restart":
            if value is not True:
                raise _Bad("E005", "'restart' must be true", node)
            return {}
        return {"matchers": (parse_matcher(kind, value),)}


def _event(
    name: Any, data: Any, priority: Any, node: YNode, where: Mapping[str, YNode] | None = None
) -> tuple[str, dict[str, Any], int | None]:
    """A checked ``(event name, data, priority)`` of a ``send`` step."""
    where = where or {}
    if not isinstance(name, str) or not EVENT_RE.fullmatch(name):
        raise _Bad("E008", f"'send' needs an event name such as user.said, got {name!r}", node)
    if not isinstance(data, Mapping):
        raise _Bad("E005", "'data' must be a mapping of field names to values", where.get("data", node))
    if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
        raise _Bad(
            "E005", "'priority' must be an integer (lower is more urgent)", where.get("priority", node)
        )
    return name, dict(data), priority


def _event_item(item: Any, node: YNode) -> tuple[str, dict[str, Any], int | None]:
    if isinstance(item, str):
        return _event(item, {}, None, node)
    if not isinstance(item, Mapping) or "event" not in item:
        raise _Bad("E005", "each event of a 'send' list is a name or {event, data, priority}", node)
    for key in item:
        if key not in ("event", "data", "priority"):
            raise _Bad(
                "E004",
                f"unknown key '{key}' in an event of 'send'",
                node,
                did_you_mean(str(key), ("event", "data", "priority")),
            )
    return _event(item["event"], item.get("data") or {}, item.get("priority"), node)


def _tool_reply(kind: str, value: Any, node: YNode) -> dict[str, Any]:
    field_name = "result" if kind == "tool_done" else "error"
    if isinstance(value, str):
        value = {"tool": value}
    if not isinstance(value, Mapping):
        raise _Bad("E005", f"'{kind}' takes a tool name or {{tool, {field_name}, id}}", node)
    allowed = ("tool", field_name, "id")
    for key in value:
        if key not in allowed:
            raise _Bad(
                "E004",
                f"unknown key '{key}' in '{kind}'",
                node,
                did_you_mean(str(key), allowed) or f"allowed keys: {', '.join(allowed)}",
            )
    tool = value.get("tool")
    if not isinstance(tool, str) or not IDENT_RE.fullmatch(tool):
        raise _Bad("E006", f"'{kind}' needs 'tool': the name of the tool whose call completes", node)
    call_id = value.get("id")
    if call_id is not None and not isinstance(call_id, str):
        raise _Bad("E005", f"'{kind}.id' must be a call id", node)
    return {"tool": tool, "value": value.get(field_name), "id": call_id, "field": field_name}


def _step_count(scenario: YNode) -> int:
    """How many steps a scenario node lists (0 when it is not a scenario; that is reported later)."""
    if scenario.kind != "map":
        return 0
    return sum(len(v.value) for k, v in scenario.value if k.value == "steps" and v.kind == "seq")


def _step_text(kind: str, value: Any) -> str:
    text = f"{kind}: {value!r}" if not isinstance(value, str) else f"{kind}: {value}"
    return text if len(text) <= 60 else text[:57] + "..."


def default_agents(test_file: Path) -> list[Path]:
    """``x.test.yaml`` tests ``x.agent.yaml`` or ``x.agent`` in the same folder: those that exist."""
    name = test_file.name
    if not name.endswith(SUFFIX):
        return []
    stem = name[: -len(SUFFIX)]
    return [c for c in (test_file.with_name(stem + suffix) for suffix in AGENT_SUFFIXES) if c.exists()]


def parse_text(text: str, path: str, base_dir: Path | None = None) -> ScenarioFile:
    """Parse scenario text; ``path`` names it in messages, ``base_dir`` anchors ``agent:`` (default: its folder)."""
    return _Reader(path, base_dir).read(text)


def parse_file(path: str | Path, display: str | None = None) -> ScenarioFile:
    """Read and parse a scenario file; problems are in ``.diagnostics``, shown as ``display`` (default ``path``)."""
    shown = display if display is not None else str(path)
    text, diags = read_source(path)
    if text is None:
        return ScenarioFile(shown, diagnostics=[replace(d, span=replace(d.span, file=shown)) for d in diags])
    return parse_text(text, shown, Path(path).parent)
