"""The model printed as canonical ``*.agent.yaml`` text that reads back into an equal model.

We build a YAML node tree and let PyYAML's emitter write it, with a YAML 1.2 core-schema
resolver so that exactly the strings our loader would read as something else (``12``,
``1e5``, ``null``, ``true``) get quoted, while ``yes``/``on`` stay plain. Keys follow the
order of docs/language.md; short forms are used where they are unambiguous; small
collections are written inline (flow style) and larger ones as blocks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import yaml
from yaml.emitter import Emitter
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode
from yaml.serializer import Serializer

from counterpoint.dsl.durations import format_duration
from counterpoint.dsl.model import (
    Action,
    Agent,
    Bindings,
    Call,
    Cancel,
    CancelSend,
    Expr,
    If,
    Log,
    Param,
    Raise,
    Respond,
    Say,
    Send,
    Set,
    Spawn,
    State,
    StateKind,
    Timer,
    Tool,
    Transition,
)
from counterpoint.dsl.yaml.nodes import BOOL, FLOAT, INT, MAP, NULL, SEQ, STR, CoreResolver

T = TypeVar("T")

#: Widest collection written inline; wider ones are written as blocks.
FLOW_WIDTH = 72
#: Line breaks a block scalar would not keep (they are normalised or folded on reading).
_ODD_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


class _Dumper(Emitter, Serializer, CoreResolver):
    def __init__(self, stream: Any, **kwds: Any):
        Emitter.__init__(
            self,
            stream,
            canonical=False,
            indent=2,
            width=kwds.get("width", 10**6),
            allow_unicode=True,
            line_break="\n",
        )
        Serializer.__init__(
            self, encoding=None, explicit_start=False, explicit_end=False, version=None, tags=None
        )
        CoreResolver.__init__(self)

    def choose_scalar_style(self) -> str:
        # 'it''s' is hard to read: texts holding a single quote get double quotes instead
        style = super().choose_scalar_style()
        assert isinstance(self.event, yaml.ScalarEvent)
        if style == "'" and "'" in self.event.value:
            return '"'
        return style

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # lists inside mappings are indented under their key, as people write them
        super().increase_indent(flow, False)


def print_yaml(agent: Agent) -> str:
    """Canonical YAML text of ``agent``."""
    root = _agent(agent)
    _layout(root, top=True)
    return yaml.serialize(root, Dumper=_Dumper)


# --------------------------------------------------------------------------- node builders


def _s(text: str) -> ScalarNode:
    """A string scalar; multi-line texts as literal blocks when that keeps them exact."""
    style = None
    if any(b in text for b in _ODD_BREAKS):
        style = '"'
    elif "\n" in text:
        style = "|"
    return ScalarNode(STR, text, style=style)


def _v(value: Any) -> Node:
    """A plain data value (literal) as a node."""
    if value is None:
        return ScalarNode(NULL, "null")
    if isinstance(value, bool):
        return ScalarNode(BOOL, "true" if value else "false")
    if isinstance(value, int):
        return ScalarNode(INT, str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            text = ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
            return ScalarNode(FLOAT, text)
        return ScalarNode(FLOAT, repr(value))
    if isinstance(value, str):
        return _s(value)
    if isinstance(value, list | tuple):
        return SequenceNode(SEQ, [_v(v) for v in value])
    if isinstance(value, dict):
        return MappingNode(MAP, [(_s(str(k)), _v(v)) for k, v in value.items()])
    return _s(str(value))


def _map(pairs: list[tuple[str, Node]]) -> MappingNode:
    return MappingNode(MAP, [(_s(k), v) for k, v in pairs])


def _seq(items: list[Node]) -> SequenceNode:
    return SequenceNode(SEQ, items)


def _one_or_list(names: tuple[str, ...]) -> Node:
    return _s(names[0]) if len(names) == 1 else _seq([_s(n) for n in names])


def _expr(expr: Expr) -> Node:
    """An expression value: canonical JSON scalars (1, 2.5, true, null) unquoted, else its source."""
    try:
        value = json.loads(expr.source)
    except ValueError:
        return _s(expr.source)
    if (
        not isinstance(value, str | list | dict)
        and not (isinstance(value, float) and not math.isfinite(value))
        and json.dumps(value) == expr.source
    ):
        return _v(value)
    return _s(expr.source)


def _literal(expr: Expr | None) -> Node:
    """A variable's initial value, printed as the YAML value it stands for."""
    if expr is None:
        return _v(None)
    try:
        return _v(json.loads(expr.source))
    except ValueError:
        pass
    try:
        from counterpoint.dsl.expr.parse import literal_value, parse_expr

        return _v(literal_value(parse_expr(expr.source)))
    except Exception:  # not a literal after all: keep the text (a string value)
        return _s(expr.source)


# --------------------------------------------------------------------------- agent


def _agent(a: Agent) -> MappingNode:
    pairs: list[tuple[str, Node]] = [("agent", _s(a.name))]
    if a.description is not None:
        pairs.append(("description", _s(a.description)))
    if a.instructions is not None:
        pairs.append(("instructions", _s(a.instructions)))
    if a.llm is not None:
        llm = a.llm
        fields = [
            ("provider", llm.provider),
            ("model", llm.model),
            ("base_url", llm.base_url),
            ("api_key_env", llm.api_key_env),
        ]
        items: list[tuple[str, Node]] = [(k, _s(v)) for k, v in fields if v is not None]
        items += [
            (k, _v(v))
            for k, v in (("temperature", llm.temperature), ("max_tokens", llm.max_tokens))
            if v is not None
        ]
        pairs.append(("llm", _map(items)))
    if a.voice is not None:
        voice = a.voice
        items = [
            (k, _s(v))
            for k, v in (("asr", voice.asr), ("tts", voice.tts), ("language", voice.language))
            if v is not None
        ]
        items += [(k, _v(v)) for k, v in (("speed", voice.speed), ("vad_threshold", voice.vad_threshold),
                                          ("min_barge_in", voice.min_barge_in), ("end_of_turn", voice.end_of_turn))
                  if v is not None]
        pairs.append(("voice", _map(items)))
    if a.allow:
        pairs.append(("allow", _seq([_s(p) for p in a.allow])))
    if a.includes:
        paths = tuple(i.path for i in a.includes)
        pairs.append(("include", _one_or_list(paths)))
    if a.variables:
        pairs.append(("vars", _map([(v.name, _literal(v.init)) for v in a.variables])))
    if a.events:
        if any(e.fields for e in a.events):
            pairs.append(("events", _map([(e.name, _seq([_s(f) for f in e.fields])) for e in a.events])))
        else:
            pairs.append(("events", _seq([_s(e.name) for e in a.events])))
    if a.priorities:
        pairs.append(("priorities", _map([(p.event, _v(p.level)) for p in a.priorities])))
    if a.tools:
        pairs.append(("tools", _block(_map([(t.name, _tool(t)) for t in a.tools]))))
    if a.initial is not None:
        pairs.append(("initial", _s(a.initial)))
    if a.states:
        pairs.append(("states", _block(_map([(s.id, _state(s)) for s in a.states]))))
    return _map(pairs)


def _tool(t: Tool) -> MappingNode:
    pairs: list[tuple[str, Node]] = [("handler", _s(t.handler))]
    if t.description is not None:
        pairs.append(("description", _s(t.description)))
    if t.params:
        pairs.append(("params", _map([(p.name, _param(p)) for p in t.params])))
    if t.timeout is not None:
        pairs.append(("timeout", _s(format_duration(t.timeout))))
    if t.on_interrupt != "keep":
        pairs.append(("on_interrupt", _s(t.on_interrupt)))
    if t.on_exit != "cancel":
        pairs.append(("on_exit", _s(t.on_exit)))
    if t.deliver != "when_idle":
        pairs.append(("deliver", _s(t.deliver)))
    return _map(pairs)


def _param(p: Param) -> Node:
    if p.description is None and p.required and p.enum is None:
        return _s(p.type)
    pairs: list[tuple[str, Node]] = [("type", _s(p.type))]
    if p.description is not None:
        pairs.append(("description", _s(p.description)))
    if not p.required:
        pairs.append(("required", _v(False)))
    if p.enum is not None:
        pairs.append(("enum", _seq([_v(v) for v in p.enum])))
    return _map(pairs)


# --------------------------------------------------------------------------- states


def _state(s: State) -> MappingNode:
    pairs: list[tuple[str, Node]] = []
    if s.kind is not StateKind.STATE:
        pairs.append(("type", _s(s.kind.value)))
    if s.history is not None and not (s.kind is StateKind.HISTORY and s.history == "shallow"):
        pairs.append(("history", _s(s.history)))
    if s.default:
        pairs.append(("default", _one_or_list(s.default)))
    if s.description is not None:
        pairs.append(("description", _s(s.description)))
    if s.prompt is not None:
        pairs.append(("prompt", _s(s.prompt)))
    if s.tools:
        pairs.append(("tools", _seq([_s(t) for t in s.tools])))
    if s.include is not None:
        pairs.append(("include", _s(s.include)))
    if s.entry:
        pairs.append(("entry", _actions(s.entry)))
    if s.exit:
        pairs.append(("exit", _actions(s.exit)))
    on = [t for t in s.transitions if t.events]
    always = [t for t in s.transitions if not t.events]
    if on:
        groups = _group(on, lambda t: " ".join(t.events))
        pairs.append(("on", _map([(key, _transitions(ts)) for key, ts in groups])))
    if always:
        pairs.append(("always", _seq([_transition(t) for t in always])))
    for kind in ("after", "every"):
        timers = [t for t in s.timers if t.kind == kind]
        if timers:
            timer_groups = _group(timers, lambda t: format_duration(t.delay))
            pairs.append((kind, _map([(key, _transitions(ts)) for key, ts in timer_groups])))
    if s.initial is not None and s.initial_actions:
        pairs.append(("initial", _map([("target", _s(s.initial)), ("do", _actions(s.initial_actions))])))
    elif s.initial is not None:
        pairs.append(("initial", _s(s.initial)))
    if s.data:
        pairs.append(("data", _bindings(s.data)))
    if s.children:
        pairs.append(("states", _block(_map([(c.id, _state(c)) for c in s.children]))))
    node = _map(pairs)
    return _block(node) if s.children else node


def _group(items: list[T], key: Callable[[T], str]) -> list[tuple[str, list[T]]]:
    """Items grouped under their key, keys in order of first appearance (YAML keys are unique)."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return list(groups.items())


def _transitions(ts: Sequence[Transition | Timer]) -> Node:
    return _transition(ts[0]) if len(ts) == 1 else _seq([_transition(t) for t in ts])


def _transition(t: Transition | Timer) -> Node:
    internal = isinstance(t, Transition) and t.internal
    if len(t.targets) == 1 and t.guard is None and not t.actions and not internal:
        return _s(t.targets[0])
    pairs: list[tuple[str, Node]] = []
    if t.guard is not None:
        pairs.append(("guard", _s(t.guard.source)))
    if t.targets:
        pairs.append(("target", _one_or_list(t.targets)))
    if internal:
        pairs.append(("internal", _v(True)))
    items = _action_items(t.actions)
    if len(items) == 1 and isinstance(items[0], MappingNode) and not isinstance(t.actions[0], If):
        pairs += [(k.value, v) for k, v in items[0].value]
    elif items:
        pairs.append(("do", items[0] if len(items) == 1 else _seq(items)))
    return _map(pairs)


# --------------------------------------------------------------------------- actions


def _actions(actions: tuple[Action, ...]) -> Node:
    items = _action_items(actions)
    return items[0] if len(items) == 1 else _seq(items)


def _action_items(actions: tuple[Action, ...]) -> list[Node]:
    """One node per YAML action; consecutive sets of distinct variables share one ``set``."""
    items: list[Node] = []
    sets: list[tuple[str, Node]] = []

    def flush() -> None:
        if sets:
            items.append(_map([("set", _map(list(sets)))]))
            sets.clear()

    for action in actions:
        if isinstance(action, Set):
            if any(name == action.var for name, _ in sets):
                flush()
            sets.append((action.var, _expr(action.expr)))
            continue
        flush()
        items.append(_action(action))
    flush()
    return items


def _bindings(bindings: Bindings) -> MappingNode:
    return _map([(name, _expr(e)) for name, e in bindings])


def _action(a: Action) -> Node:
    if isinstance(a, Say):
        return _map([("say", _s(a.text))])
    if isinstance(a, Log):
        return _map([("log", _s(a.text))])
    if isinstance(a, Respond):
        return _s("respond") if a.prompt is None else _map([("respond", _s(a.prompt))])
    if isinstance(a, Cancel):
        return _map([("cancel", _s(a.target))])
    if isinstance(a, CancelSend):
        return _map([("cancel_send", _s(a.id))])
    if isinstance(a, Call):
        if not a.args and a.id is None:
            return _map([("call", _s(a.tool))])
        pairs: list[tuple[str, Node]] = [("tool", _s(a.tool))]
        if a.args:
            pairs.append(("args", _bindings(a.args)))
        if a.id is not None:
            pairs.append(("id", _s(a.id)))
        return _map([("call", _map(pairs))])
    if isinstance(a, Raise):
        if not a.data:
            return _map([("raise", _s(a.event))])
        return _map([("raise", _map([("event", _s(a.event)), ("data", _bindings(a.data))]))])
    if isinstance(a, Send):
        if not a.data and a.delay is None and a.id is None and a.priority is None:
            return _map([("send", _s(a.event))])
        pairs = [("event", _s(a.event))]
        if a.data:
            pairs.append(("data", _bindings(a.data)))
        if a.delay is not None:
            pairs.append(("delay", _s(format_duration(a.delay))))
        if a.id is not None:
            pairs.append(("id", _s(a.id)))
        if a.priority is not None:
            pairs.append(("priority", _v(a.priority)))
        return _map([("send", _map(pairs))])
    if isinstance(a, Spawn):
        key = "fork" if a.fork else "spawn"
        if a.id is None and a.task is None:
            return _map([(key, _s(a.agent))])
        pairs = [("agent", _s(a.agent))]
        if a.id is not None:
            pairs.append(("id", _s(a.id)))
        if a.task is not None:
            pairs.append(("task", _s(a.task)))
        return _map([(key, _map(pairs))])
    if isinstance(a, If):
        first, *others = a.branches
        pairs = [("if", _s(first.cond.source)), ("then", _actions(first.actions))]
        if others:
            arms: list[Node] = [_map([("if", _s(b.cond.source)), ("then", _actions(b.actions))]) for b in others]
            pairs.append(("elif", _seq(arms)))
        if a.orelse:
            pairs.append(("else", _actions(a.orelse)))
        return _map(pairs)
    raise TypeError(f"not an action: {a!r}")


# --------------------------------------------------------------------------- layout

_BLOCK = "block"


def _block(node: MappingNode) -> MappingNode:
    """Mark a collection to be written as a block whatever its size."""
    node.__dict__[_BLOCK] = True
    return node


def _layout(node: Node, top: bool = False) -> int | None:
    """Choose flow or block style bottom-up; the inline width of ``node``, None if it cannot be inline."""
    if isinstance(node, ScalarNode):
        if node.style in ("|", '"') and "\n" in node.value or any(b in node.value for b in _ODD_BREAKS):
            return None
        return len(node.value) + 2
    assert isinstance(node, CollectionNode)
    children = [c for pair in node.value for c in pair] if isinstance(node, MappingNode) else list(node.value)
    widths = [_layout(c) for c in children]
    if not children:
        node.flow_style = True
        return 2
    if top or node.__dict__.get(_BLOCK) or any(w is None for w in widths):
        node.flow_style = False
        return None
    width = sum(w for w in widths if w is not None) + 2 * len(children)
    if width > FLOW_WIDTH:
        node.flow_style = False
        return None
    node.flow_style = True
    return width
