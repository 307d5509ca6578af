"""Reading ``*.test.yaml`` scenario files into steps that remember their line.

The file is composed with PyYAML (not loaded) so every step keeps its position; a failing
step, and every mistake in the test file itself, is reported at ``file:line:col``.
Problems in the file are :class:`~counterpoint.dsl.diagnostics.Diagnostic` values, never
tracebacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean
from counterpoint.dsl.durations import DurationError, parse_duration
from counterpoint.dsl.files import AGENT_SUFFIXES, SCENARIO_SUFFIXES, read_source
from counterpoint.dsl.names import EVENT_RE, IDENT_RE
from counterpoint.dsl.source import Span
from counterpoint.engine.testing.matchers import KINDS, Matcher, SpecError, parse_matcher, parse_matchers

#: Suffix of scenario files (the name folders are searched for).
SUFFIX = SCENARIO_SUFFIXES[0]

#: Steps that make something happen; each opens a new window for the expectations after it.
ACTIONS = ("send", "wait", "tool_done", "tool_error", "restart")
#: Steps that check the current state or the current window.
CHECKS = ("in", "not_in", "vars", "expect", "expect_not", "finished")
STEP_KEYS = (*ACTIONS, *CHECKS, *KINDS)
#: Extra keys a step of the given kind may carry.
EXTRA_KEYS: dict[str, tuple[str, ...]] = {"send": ("data", "priority")}
FILE_KEYS = ("agent", "description", "scenarios")
SCENARIO_KEYS = ("name", "description", "steps", "allow_errors", "skip")

#: Largest number of YAML nodes a scenario file may expand to (aliases counted each time used).
MAX_NODES = 100_000
#: Deepest nesting of YAML collections accepted (as for agent files).
MAX_DEPTH = 100



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
    def __init__(self, code: str, message: str, node: yaml.Node | None, hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.node, self.hint = code, message, node, hint


class _Reader:
    """Turns composed YAML nodes into steps, collecting diagnostics."""

    def __init__(self, path: str, base_dir: Path | None = None) -> None:
        self.path = path
        self.base_dir = base_dir if base_dir is not None else Path(path).parent
        self.diags: list[Diagnostic] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def span(self, node: yaml.Node | None) -> Span:
        if node is None:
            return Span(self.path, 1, 1)
        start, end = node.start_mark, node.end_mark
        return Span(self.path, start.line + 1, start.column + 1, end.line + 1, end.column + 1)

    def report(self, bad: _Bad) -> None:
        if bad.code:
            self.diags.append(Diagnostic(bad.code, bad.message, self.span(bad.node), bad.hint))

    def value(self, node: yaml.Node) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except RecursionError:
            raise _Bad("E010", "input too complex (nesting too deep)", node) from None
        except yaml.YAMLError as exc:
            raise _Bad("E008", f"invalid value: {exc}", node) from None

    def mapping(
        self, node: yaml.Node, what: str, allowed: tuple[str, ...]
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """``key -> (key node, value node)``; unknown and duplicate keys are diagnostics."""
        if not isinstance(node, yaml.MappingNode):
            raise _Bad("E005", f"{what} must be a mapping", node)
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, str):
                raise _Bad(
                    "E005",
                    f"keys in {what} must be text, got {key!r}",
                    key_node,
                    "quote keys YAML reads as booleans or numbers, e.g. 'no' or '1'",
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
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            span = Span(self.path, mark.line + 1, mark.column + 1) if mark else Span(self.path, 1, 1)
            result.diagnostics.append(Diagnostic("E001", f"YAML syntax error: {exc.problem or exc}", span))
            return result
        except yaml.YAMLError as exc:
            result.diagnostics.append(Diagnostic("E001", f"YAML syntax error: {exc}", Span(self.path, 1, 1)))
            return result
        except RecursionError:
            result.diagnostics.append(
                Diagnostic("E010", "input too complex (nesting too deep)", Span(self.path, 1, 1))
            )
            return result
        if root is None:
            result.diagnostics.append(
                Diagnostic("E006", "empty scenario file: expected 'scenarios:'", Span(self.path, 1, 1))
            )
            return result
        deep = _deeper_than(root, MAX_DEPTH)
        if deep is not None:
            result.diagnostics.append(
                Diagnostic(
                    "E010",
                    f"nesting too deep (over {MAX_DEPTH} levels)",
                    self.span(deep),
                    "scenario data is plain YAML values; flatten it",
                )
            )
            return result
        bomb = _expands_beyond(root, MAX_NODES)
        if bomb is not None:
            result.diagnostics.append(
                Diagnostic(
                    "E010",
                    f"input too large: aliases expand the file to more than {MAX_NODES} nodes",
                    self.span(bomb),
                    "write the data out, or use fewer nested aliases (*name)",
                )
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
                result.agent_path = default_agent(self.base_dir / Path(self.path).name)
                if result.agent_path is None:
                    raise _Bad(
                        "E006",
                        "missing 'agent': the agent file this scenario file tests",
                        root,
                        f"add 'agent: NAME.agent.yaml', or name this file after the agent ({SUFFIX})",
                    )
            if "scenarios" not in top:
                raise _Bad("E006", "missing 'scenarios': a list of scenarios", root)
            seq = top["scenarios"][1]
            if not isinstance(seq, yaml.SequenceNode) or not seq.value:
                raise _Bad("E005", "'scenarios' must be a non-empty list of scenarios", seq)
        except _Bad as bad:
            self.report(bad)
            result.diagnostics += self.diags
            return result
        names: set[str] = set()
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

    def scenario(self, node: yaml.Node) -> Scenario:
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
        if not isinstance(seq, yaml.SequenceNode) or not seq.value:
            raise _Bad("E005", "'steps' must be a non-empty list of steps", seq)
        steps = []
        for step_node in seq.value:
            try:
                steps.append(self.step(step_node))
            except _Bad as bad:
                self.report(bad)
        return Scenario(str(name).strip(), tuple(steps), self.span(node), allow_errors, skip)

    # ------------------------------------------------------------------ steps

    def step(self, node: yaml.Node) -> Step:
        if not isinstance(node, yaml.MappingNode):
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
        self, kind: str, value: Any, node: yaml.Node, keys: dict[str, tuple[yaml.Node, yaml.Node]]
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


def _deeper_than(root: yaml.Node, limit: int) -> yaml.Node | None:
    """The first collection nested more than ``limit`` levels deep, or None (iterative: no recursion)."""
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, yaml.SequenceNode | yaml.MappingNode) or (id(node), depth) in seen:
            continue
        if depth > limit:
            return node
        seen.add((id(node), depth))
        children = node.value if isinstance(node, yaml.SequenceNode) else [n for kv in node.value for n in kv]
        stack.extend((child, depth + 1) for child in reversed(children))
    return None


def _expands_beyond(root: yaml.Node, limit: int) -> yaml.Node | None:
    """The first node (in document order) at which the expanded tree exceeds ``limit`` nodes.

    Composing shares aliased nodes, so this counts with a memo: linear in the file's size,
    however far the aliases (a "billion laughs") would expand.
    """
    sizes: dict[int, int] = {}
    culprit: list[yaml.Node] = []

    def size(node: yaml.Node, depth: int = 0) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a recursive alias counts once (the loader refuses it anyway)
        total = 1
        if depth < 500 and isinstance(node, yaml.SequenceNode | yaml.MappingNode):
            children = (
                node.value if isinstance(node, yaml.SequenceNode) else [n for kv in node.value for n in kv]
            )
            for child in children:
                total += size(child, depth + 1)
                if total > limit:
                    if not culprit:  # the innermost collection that is too big
                        culprit.append(node)
                    break
        sizes[id(node)] = total
        return total

    return culprit[0] if size(root) > limit else None


def _event(
    name: Any, data: Any, priority: Any, node: yaml.Node, where: Mapping[str, yaml.Node] | None = None
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


def _event_item(item: Any, node: yaml.Node) -> tuple[str, dict[str, Any], int | None]:
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


def _tool_reply(kind: str, value: Any, node: yaml.Node) -> dict[str, Any]:
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


def _step_text(kind: str, value: Any) -> str:
    text = f"{kind}: {value!r}" if not isinstance(value, str) else f"{kind}: {value}"
    return text if len(text) <= 60 else text[:57] + "..."


def default_agent(test_file: Path) -> Path | None:
    """``x.test.yaml`` tests ``x.agent.yaml`` or ``x.agent`` in the same folder, when one exists."""
    name = test_file.name
    if not name.endswith(SUFFIX):
        return None
    stem = name[: -len(SUFFIX)]
    for suffix in AGENT_SUFFIXES:
        candidate = test_file.with_name(stem + suffix)
        if candidate.exists():
            return candidate
    return None


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
