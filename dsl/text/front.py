"""The textual front end: ``*.agent`` text -> :class:`~counterpoint.dsl.model.Agent`.

``agent.lark`` finds the structure (expressions included, via ``expr.lark``); this module
walks the parse tree into the model. Expressions are kept as their source text, sliced out of
the input by position. What the grammar leaves lenient is checked here: names (E115),
durations (E007), types (E005) and values (E008), statements given twice (E003), with
the codes and words the YAML front end uses for the same mistake. Nothing semantic (targets,
reachability, expression names) is checked: that is ``validate.py``'s job.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from itertools import islice
from typing import Any, Literal

from lark import Token, Tree

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean, sort_key
from counterpoint.dsl.durations import DurationError, parse_duration
from counterpoint.dsl.expr.parse import (
    ExprError,
    ListLit,
    leaf,
    literal_source,
    literal_value,
    parse_expr,
    subtree,
)
from counterpoint.dsl.model import (
    Action,
    Agent,
    Branch,
    Call,
    Cancel,
    CancelSend,
    EventDecl,
    Expr,
    If,
    Include,
    LLMSettings,
    Log,
    Param,
    Priority,
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
    Variable,
    VoiceSettings,
)
from counterpoint.dsl.names import (
    AGENT_HINT,
    AGENT_RE,
    DOTTED_HINT,
    DOTTED_RE,
    EVENT_HINT,
    EVENT_RE,
    IDENT_HINT,
    IDENT_RE,
    PATTERN_HINT,
    PATTERN_RE,
)
from counterpoint.dsl.source import Span, normalise_newlines
from counterpoint.dsl.text.parser import blank_comments, parse_text
from counterpoint.dsl.validate.exprs import error_span
from counterpoint.dsl.yaml.reader import value_kind

__all__ = ["load_text", "MAX_CHARS", "MAX_TOKENS", "MAX_STATE_DEPTH"]

#: Longest text accepted (the loader refuses larger files before they get here).
MAX_CHARS = 2 * 1024 * 1024
#: More tokens than this are refused (E010): parsing costs ~10 µs a token, so this bounds the time
#: a hostile file can take (a few seconds); long texts are single tokens and cost nothing.
MAX_TOKENS = 100_000
#: States nested deeper than this are refused (E010); real charts nest a handful of levels.
MAX_STATE_DEPTH = 100

_TOKEN = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|#[^\n]*|[A-Za-z0-9_]+|\S')
_JSON = json.JSONDecoder(strict=False)
_SURROGATE = re.compile("[\ud800-\udfff]")

IDENT, AGENT, DOTTED, EVENT, PATTERN = IDENT_RE, AGENT_RE, DOTTED_RE, EVENT_RE, PATTERN_RE
#: The hint for a name that breaks each rule (worded as in YAML).
_NAME_HINTS = {
    IDENT: IDENT_HINT,
    AGENT: AGENT_HINT,
    DOTTED: DOTTED_HINT,
    EVENT: EVENT_HINT,
    PATTERN: PATTERN_HINT,
}

PARAM_TYPES = ("string", "integer", "number", "boolean", "array", "object")
LLM_KEYS: dict[str, type] = {
    "provider": str,
    "model": str,
    "base_url": str,
    "api_key_env": str,
    "temperature": float,
    "max_tokens": int,
}
LLM_PROVIDERS = ("openai", "embedded")
VOICE_KEYS: dict[str, type] = {"asr": str, "tts": str, "language": str, "speed": float,
                               "vad_threshold": float, "min_barge_in": float, "end_of_turn": float}
_KINDS = {"state": StateKind.STATE, "parallel": StateKind.PARALLEL, "final": StateKind.FINAL}
_DELIVER = {"interrupt": "interrupt", "silent": "silent"}  # anything else is `when idle`


def load_text(text: str, file: str = "<text>") -> tuple[Agent | None, list[Diagnostic]]:
    """Parse an ``*.agent`` text into an agent and diagnostics.

    As with the YAML front end, the agent is None only when the text is unusable (a syntax
    error, no ``agent NAME``, too large); after other errors (E003, E007, E008, E115) it is
    returned as far as it could be read, so validation can report more. Never raises on bad
    input: a syntax error is a diagnostic at the offending token, E011 (worded by the expression
    parser) when it is inside an expression, E004 for an unknown statement, else E002; parsing
    goes on at the next statement, so independent syntax errors are reported together.
    """
    at_start = Span(file, 1, 1)
    if not isinstance(text, str):
        return None, [Diagnostic("E009", f"expected text, got {type(text).__name__}", at_start)]
    if len(text) > MAX_CHARS:
        return None, [
            Diagnostic(
                "E009", f"text is too large ({len(text)} characters, limit {MAX_CHARS})", at_start,
                "split the definition with include",
            )
        ]  # fmt: skip
    text = normalise_newlines(text.removeprefix("\ufeff"))  # a lone \r ends a line too, as in editors
    if sum(1 for _ in islice(_TOKEN.finditer(text), MAX_TOKENS + 1)) > MAX_TOKENS:
        return None, [
            Diagnostic(
                "E010", f"input too complex (more than {MAX_TOKENS} tokens)", at_start,
                "split the definition with include",
            )
        ]  # fmt: skip
    try:
        tree, syntax = parse_text(text, file)
    except RecursionError:  # pragma: no cover - the LALR parser is iterative
        return None, [Diagnostic("E010", "input too complex (nesting too deep)", at_start)]
    if tree is None:
        return None, syntax
    builder = _Builder(text, file)
    try:
        agent = builder.agent(tree)
    except RecursionError:  # pragma: no cover - depth is limited before Python's stack is
        return None, [Diagnostic("E010", "input too complex (nesting too deep)", at_start)]
    return agent, sorted(builder.diags, key=sort_key)


# --------------------------------------------------------------------------- tree helpers


def _tokens(tree: Tree[Token], *types: str) -> list[Token]:
    return [c for c in tree.children if isinstance(c, Token) and c.type in types]


def _trees(tree: Tree[Token], *names: str) -> list[Tree[Token]]:
    return [c for c in tree.children if isinstance(c, Tree) and c.data in names]


def _tree(tree: Tree[Token], name: str) -> Tree[Token] | None:
    found = _trees(tree, name)
    return found[0] if found else None


def _token(tree: Tree[Token], *types: str) -> Token | None:
    found = _tokens(tree, *types)
    return found[0] if found else None


class _Once:
    """Remembers single-valued settings of one scope to report the second one (E003)."""

    def __init__(self, builder: _Builder, where: str):
        self.builder = builder
        self.where = where
        self.seen: dict[str, Span] = {}

    def first(self, key: str, node: Tree[Token] | Token, hint: str | None = None) -> bool:
        span = self.builder.span(node)
        if key in self.seen:
            first = self.seen[key]
            more = f"first given at line {first.line}, column {first.col}"
            self.builder.error(
                "E003", f"duplicate '{key}' {self.where}", span, f"{more}; {hint}" if hint else more
            )
            return False
        self.seen[key] = span
        return True


class _Builder:
    """Walks the parse tree into model nodes, collecting diagnostics on the way."""

    def __init__(self, text: str, file: str):
        self.text = text
        self.file = file
        self.diags: list[Diagnostic] = []
        self.too_deep = False

    # ----------------------------------------------------------------- basics

    def span(self, node: Tree[Token] | Token) -> Span:
        if isinstance(node, Token):
            return Span(self.file, node.line or 0, node.column or 0, node.end_line or 0, node.end_column or 0)
        m = node.meta
        if m.empty:
            return Span(self.file, 0, 0)
        return Span(self.file, m.line, m.column, m.end_line, m.end_column)

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, hint))

    def string(self, tok: Token) -> str:
        raw = str(tok)
        if raw.startswith('"""'):
            return raw[3:-3]
        if "\\" not in raw:
            return raw[1:-1]
        try:
            decoded: str = _JSON.decode(raw)
        except json.JSONDecodeError as e:
            self.bad_escape(tok, e.pos, e.msg.lower())
            return raw[1:-1]
        lone = _SURROGATE.search(decoded)
        if lone:  # half of a \uXXXX pair is no character: it could never be printed or sent
            self.bad_escape(tok, raw.lower().find(f"\\u{ord(lone[0]):04x}"), "half of a surrogate pair")
            return raw[1:-1]
        return decoded

    def bad_escape(self, tok: Token, offset: int, why: str) -> None:
        col = (tok.column or 0) + max(offset, 0)
        self.error(
            "E008", f"invalid escape in string: {why}", Span(self.file, tok.line or 0, col),
            'escapes are as in JSON: \\" \\\\ \\n \\t \\uXXXX; """...""" takes text verbatim',
        )  # fmt: skip

    def integer(self, tok: Token, what: str) -> int:
        try:
            return int(str(tok))
        except ValueError:  # longer than Python converts (4,300 digits)
            self.error("E008", f"{what} is too large a number ({len(tok)} characters)", self.span(tok))
            return 0

    def name(self, tok: Token, kind: str = "name", rule: re.Pattern[str] = IDENT) -> str:
        value = str(tok)
        if not rule.fullmatch(value):
            self.error("E115", f"invalid {kind} '{value}'", self.span(tok), _NAME_HINTS[rule])
        return value

    def duration(self, tok: Token) -> float:
        try:
            return parse_duration(str(tok))
        except DurationError as e:
            self.error("E007", f"invalid duration: {e}", self.span(tok))
            return 0.0

    def expr(self, value: Tree[Token]) -> Expr:
        node = value.children[0] if value.children else value
        m = node.meta if isinstance(node, Tree) else value.meta
        source = blank_comments(self.text[m.start_pos : m.end_pos]).strip()
        return Expr(source, self.span(node))

    def literal(self, value: Tree[Token], what: str) -> tuple[Any, Expr] | None:
        """The literal value written at ``value`` (E011/E008 when it is not one)."""
        e = self.expr(value)
        try:
            return literal_value(parse_expr(e.source, e.span)), e
        except ExprError as err:
            if "not a literal" in err.message:
                self.error(
                    "E008", f"{what} must be a literal, not '{_short(e.source)}'", e.span,
                    "literals are numbers, strings, true, false, null, lists and maps",
                )  # fmt: skip
            else:
                self.error("E011", f"invalid expression: {err.message}", err.span or e.span)
        except RecursionError:
            self.error("E010", "expression nested too deeply", e.span)
        return None

    # ----------------------------------------------------------------- the agent

    def agent(self, tree: Tree[Token]) -> Agent | None:
        once = _Once(self, "in the agent")
        fields: dict[str, Any] = {}
        lists: dict[str, list[Any]] = {
            k: [] for k in ("allow", "includes", "variables", "events", "priorities")
        }
        tools: list[Tool] = []
        states: list[State] = []
        initial_span: Span | None = None
        name_node: Tree[Token] | None = None
        for c in tree.children:
            assert isinstance(c, Tree)
            kind = c.data
            if kind == "agent_name":
                if once.first("agent", c, "a file defines one agent"):
                    name_node = c
                    fields["name"] = self.name(leaf(c), "agent name", AGENT)
            elif kind in ("description", "instructions"):
                if once.first(kind, c):
                    fields[kind] = self.string(leaf(c))
            elif kind in ("llm", "voice"):
                if once.first(kind, c, f"put all {kind} settings in one block"):
                    fields[kind] = self.settings(c, kind)
            elif kind == "allow":
                lists["allow"] += [self.name(t, "package name", DOTTED) for t in _tokens(c, "NAME")]
            elif kind == "include":
                lists["includes"] += [Include(self.string(t), self.span(t)) for t in _tokens(c, "STRING")]
            elif kind == "var":
                lists["variables"].append(self.variable(c))
            elif kind == "event_decl":
                names = _tokens(c, "NAME")
                event = self.name(names[0], "event name", EVENT)
                fields_ = tuple(self.name(t, "field name") for t in names[1:])
                lists["events"].append(EventDecl(event, fields_, self.span(c)))
            elif kind == "priority_decl":
                event = self.name(_tokens(c, "NAME")[0], "event pattern", PATTERN)
                level = self.integer(_tokens(c, "INT")[0], f"the priority of '{event}'")
                lists["priorities"].append(Priority(event, level, self.span(c)))
            elif kind == "tool":
                tools.append(self.tool(c))
            elif kind == "initial":
                if once.first("initial", c, "the agent has one initial state"):
                    fields["initial"] = self.name(leaf(c), "state name")
                    initial_span = self.span(leaf(c))
                    do = _tree(c, "do")
                    if do is not None:
                        self.error(
                            "E004", "the agent's initial state takes no actions", self.span(do),
                            f"put them in the entry of '{fields['initial']}'",
                        )  # fmt: skip
            else:
                states.append(self.state(c, 1))
        if name_node is None:
            self.error(
                "E006",
                "missing `agent NAME`",
                Span(self.file, 1, 1, 1, 1),
                "start the file with `agent my_agent`",
            )
            return None
        return Agent(
            name=fields["name"],
            description=fields.get("description"),
            instructions=fields.get("instructions"),
            llm=fields.get("llm"),
            voice=fields.get("voice"),
            allow=tuple(lists["allow"]),
            includes=tuple(lists["includes"]),
            variables=tuple(lists["variables"]),
            events=tuple(lists["events"]),
            priorities=tuple(lists["priorities"]),
            tools=tuple(tools),
            initial=fields.get("initial"),
            states=tuple(states),
            span=self.span(name_node),
            initial_span=initial_span,
        )

    def settings(self, tree: Tree[Token], kind: str) -> LLMSettings | VoiceSettings:
        keys = LLM_KEYS if kind == "llm" else VOICE_KEYS
        once = _Once(self, f"in {kind} settings")
        values: dict[str, Any] = {}
        for s in _trees(subtree(tree), "setting"):
            key_tok, val_tok = leaf(s, 0), leaf(s, 1)
            key = str(key_tok)
            if key not in keys:
                hint = did_you_mean(key, keys) or "known keys: " + ", ".join(keys)
                self.error("E004", f"unknown {kind} setting '{key}'", self.span(key_tok), hint)
                continue
            if not once.first(key, s):
                continue
            value = self.setting_value(val_tok, keys[key], key)
            if value is not None:
                values[key] = value
        cls = LLMSettings if kind == "llm" else VoiceSettings
        return cls(**values, span=self.span(tree))

    def setting_value(self, tok: Token, want: type, key: str) -> Any:
        """A setting's value, checked as the YAML front end checks it (same codes and words)."""
        what = f"'{key}'"
        if tok.type == "STRING":
            if want is str:
                value = self.string(tok)
                if key == "provider" and value not in LLM_PROVIDERS:
                    self.error(
                        "E008", f"invalid value '{value}' for {what}; allowed: {', '.join(LLM_PROVIDERS)}",
                        self.span(tok), did_you_mean(value, LLM_PROVIDERS),
                    )  # fmt: skip
                    return None
                return value
            kind = "an integer" if want is int else "a number"
            self.error("E005", f"{what} must be {kind}, got a string", self.span(tok), f"write e.g. {key} 1")
            return None
        text = str(tok)
        if want is str:  # a number is taken as written, as YAML takes `model: 4`
            return self.setting_value(Token.new_borrow_pos("STRING", json.dumps(text), tok), str, key)
        if want is int:
            if re.fullmatch(r"-?[0-9]+", text):
                return self.integer(tok, what)
            self.error("E005", f"{what} must be an integer, got a number", self.span(tok))
            return None
        number = float(text)
        if not math.isfinite(number):
            self.error("E008", f"{what} must be a finite number, got {text}", self.span(tok))
            return None
        return number

    def variable(self, tree: Tree[Token]) -> Variable:
        name = self.name(_tokens(tree, "NAME")[0], "variable name")
        value = _tree(tree, "value")
        init = None
        if value is not None:
            found = self.literal(value, f"the initial value of '{name}'")
            if found is not None:
                v, e = found
                init = Expr(literal_source(v), e.span)
        return Variable(name, init, self.span(tree))

    # ----------------------------------------------------------------- tools

    def tool(self, tree: Tree[Token]) -> Tool:
        name = self.name(_tokens(tree, "NAME")[0], "tool name")
        params: list[Param] = []
        seen_params = _Once(self, f"parameter in tool '{name}'")
        for p in _trees(tree, "param"):
            param = self.param(p)
            if seen_params.first(param.name, p):
                params.append(param)
        handler_tok = _token(tree, "HANDLER", "STRING")
        assert handler_tok is not None
        handler = str(handler_tok) if handler_tok.type == "HANDLER" else self.string(handler_tok)
        settings: dict[str, Any] = {}
        body = _tree(tree, "tool_body") or _tree(tree, "tool_inline")
        if body is not None:
            once = _Once(self, f"in tool '{name}'")
            for s in body.children:
                assert isinstance(s, Tree)
                key = {"on_interrupt": "on interrupt", "on_exit": "on exit"}.get(s.data, s.data)
                if not once.first(key, s):
                    continue
                if s.data == "description":
                    settings["description"] = self.string(leaf(s))
                elif s.data == "timeout":
                    settings["timeout"] = self.duration(leaf(s))
                elif s.data in ("on_interrupt", "on_exit"):
                    settings[s.data] = "keep" if leaf(s).type == "KEEP" else "cancel"
                else:  # deliver
                    settings["deliver"] = _DELIVER.get(str(s.children[0]), "when_idle")
        return Tool(
            name,
            handler,
            tuple(params),
            span=self.span(tree),
            handler_span=self.span(handler_tok),
            **settings,
        )

    def param(self, tree: Tree[Token]) -> Param:
        names = _tokens(tree, "NAME")
        name = self.name(names[0], "parameter name")
        type_ = "string"
        if len(names) > 1:
            type_ = str(names[1])
            if type_ not in PARAM_TYPES:
                self.error(
                    "E008",
                    f"invalid value '{type_}' for the type of parameter '{name}'; allowed: {', '.join(PARAM_TYPES)}",
                    self.span(names[1]),
                    did_you_mean(type_, PARAM_TYPES),
                )
                type_ = "string"
        desc = _token(tree, "STRING")
        value = _tree(tree, "value")
        return Param(
            name,
            type_,
            description=self.string(desc) if desc is not None else None,
            required=_token(tree, "OPTIONAL") is None,
            enum=self.enum(value) if value is not None else None,
            span=self.span(tree),
        )

    def enum(self, value: Tree[Token]) -> tuple[str | int | float | bool, ...] | None:
        """The values after ``in``: a list of strings, numbers or booleans (E005 as in YAML)."""
        found = self.literal(value, "the values of an enum")
        if found is None:
            return None
        v, e = found
        if not isinstance(v, list):
            self.error("E005", f"'enum' must be a list of values, got {value_kind(v)}", e.span)
            return None
        written = parse_expr(e.source)
        assert isinstance(written, ListLit)  # literal() gave a list, so it was written as one
        out = []
        for x, node in zip(v, written.items, strict=True):
            if isinstance(x, str | int | float | bool) and x is not None:
                out.append(x)
            else:
                where = error_span(e.span, e.source, node.pos if node.pos >= 0 else 0)
                self.error(
                    "E005", f"an 'enum' value must be a string, number or boolean, got {value_kind(x)}", where
                )
        return tuple(out)

    # ----------------------------------------------------------------- states

    def state(self, tree: Tree[Token], depth: int) -> State:
        name_tok = _tokens(tree, "NAME")[0]
        sid = self.name(name_tok, "state name")
        span = self.span(tree)
        kind = _KINDS.get(tree.data, StateKind.HISTORY)
        extra: dict[str, Any] = {}
        if kind is StateKind.HISTORY:
            mode = _token(tree, "DEEP", "SHALLOW")
            extra["history"] = str(mode) if mode is not None else "shallow"
            targets = _tree(tree, "targets")
            if targets is not None:
                extra["default"] = self.targets(targets)
        if kind is StateKind.FINAL:
            extra["data"] = self.bindings(_tree(tree, "bindings"), f"in the data of '{sid}'")
        body = _tree(tree, "body")
        if body is None:
            return State(sid, kind, span=span, **extra)
        if depth > MAX_STATE_DEPTH:
            if not self.too_deep:
                self.too_deep = True
                self.error(
                    "E010", f"states nested too deeply (more than {MAX_STATE_DEPTH} levels)", span,
                    "flatten the chart or move parts into included files",
                )  # fmt: skip
            return State(sid, kind, span=span, **extra)
        return State(sid, kind, span=span, **extra, **self.body(body, sid, depth))

    def body(self, tree: Tree[Token], sid: str, depth: int) -> dict[str, Any]:
        once = _Once(self, f"in state '{sid}'")
        out: dict[str, Any] = {}
        tools: list[str] = []
        tools_spans: list[Span] = []
        entry: list[Action] = []
        exit_: list[Action] = []
        transitions: list[Transition] = []
        timers: list[Timer] = []
        children: list[State] = []
        for c in tree.children:
            assert isinstance(c, Tree)
            kind = c.data
            if kind in ("description", "prompt"):
                if once.first(kind, c, 'write the text in one string ("""...""" may span lines)'):
                    out[kind] = self.string(leaf(c))
            elif kind == "tools":
                for t in _tokens(c, "NAME"):
                    tools.append(self.name(t, "tool name"))
                    tools_spans.append(self.span(t))
            elif kind == "include":
                paths = _tokens(c, "STRING")
                if once.first("include", c, "a state includes one file"):
                    out["include"] = self.string(paths[0])
                    if len(paths) > 1:
                        self.error(
                            "E008", "a state includes one file", self.span(paths[1]),
                            "include several files at the top level of the agent",
                        )  # fmt: skip
            elif kind == "entry":
                entry += self.actions(subtree(c))
            elif kind == "exit":
                exit_ += self.actions(subtree(c))
            elif kind in ("transition", "always"):
                transitions.append(self.transition(c))
            elif kind in ("after", "every"):
                timers.append(self.timer(c))
            elif kind == "initial":
                if once.first("initial", c, "a state has one initial state"):
                    out["initial"] = self.name(leaf(c), "state name")
                    do = _tree(c, "do")
                    actions = _tree(do, "actions") if do is not None else None
                    if actions is not None:
                        out["initial_actions"] = tuple(self.actions(actions))
            else:
                children.append(self.state(c, depth + 1))
        out.update(
            tools=tuple(tools),
            tools_spans=tuple(tools_spans),
            entry=tuple(entry),
            exit=tuple(exit_),
            transitions=tuple(transitions),
            timers=tuple(timers),
            children=tuple(children),
        )
        return out

    # ----------------------------------------------------------------- transitions

    def targets(self, tree: Tree[Token]) -> tuple[str, ...]:
        return tuple(self.name(t, "target state") for t in _tokens(tree, "NAME"))

    def _tail(self, tree: Tree[Token]) -> dict[str, Any]:
        """Guard, targets and actions, shared by transitions and timers."""
        out: dict[str, Any] = {}
        guard = _tree(tree, "guard")
        if guard is not None:
            out["guard"] = self.expr(subtree(guard))
        targets = _tree(tree, "targets")
        if targets is not None:
            out["targets"] = self.targets(targets)
        do = _tree(tree, "do")
        if do is not None:
            actions = _tree(do, "actions")
            out["actions"] = tuple(self.actions(actions)) if actions is not None else ()
        return out

    def transition(self, tree: Tree[Token]) -> Transition:
        events: tuple[str, ...] = ()
        ev = _tree(tree, "events")
        if ev is not None:
            events = tuple(self.name(t, "event pattern", PATTERN) for t in _tokens(ev, "NAME"))
        internal = _token(tree, "INTERNAL") is not None
        return Transition(events, internal=internal, span=self.span(tree), **self._tail(tree))

    def timer(self, tree: Tree[Token]) -> Timer:
        delay = self.duration(_tokens(tree, "DURATION")[0])
        kind: Literal["after", "every"] = "after" if tree.data == "after" else "every"
        return Timer(kind, delay, span=self.span(tree), **self._tail(tree))

    # ----------------------------------------------------------------- actions

    def actions(self, tree: Tree[Token]) -> list[Action]:
        out: list[Action] = []
        for a in tree.children:
            if isinstance(a, Tree):
                out.append(self._ACTIONS[a.data](self, a))
        return out

    def bindings(self, tree: Tree[Token] | None, what: str) -> tuple[tuple[str, Expr], ...]:
        if tree is None:
            return ()
        once = _Once(self, what)
        out = []
        for b in _trees(tree, "binding"):
            key_tok = leaf(b)
            key = self.name(key_tok, "argument name")
            value = self.expr(_trees(b, "value")[0])
            if once.first(key, key_tok):
                out.append((key, value))
        return tuple(out)

    def _options(self, tree: Tree[Token], where: str) -> dict[str, Tree[Token]]:
        once = _Once(self, where)
        out: dict[str, Tree[Token]] = {}
        labels = {"send_after": "after", "as_id": "as", "send_priority": "priority", "task": "task"}
        for o in tree.children:
            if isinstance(o, Tree) and o.data in labels and once.first(labels[o.data], o):
                out[o.data] = o
        return out

    def _say(self, t: Tree[Token]) -> Action:
        return Say(self.string(leaf(t)), self.span(t))

    def _log(self, t: Tree[Token]) -> Action:
        return Log(self.string(leaf(t)), self.span(t))

    def _respond(self, t: Tree[Token]) -> Action:
        tok = _token(t, "STRING")
        return Respond(self.string(tok) if tok is not None else None, self.span(t))

    def _call(self, t: Tree[Token]) -> Action:
        tool = self.name(_tokens(t, "NAME")[0], "tool name")
        as_id = _tree(t, "as_id")
        ident = self.name(leaf(as_id), "call id") if as_id is not None else None
        return Call(tool, self.bindings(_tree(t, "bindings"), f"in call of '{tool}'"), ident, self.span(t))

    def _cancel(self, t: Tree[Token]) -> Action:
        return Cancel(self.name(_tokens(t, "NAME")[0], "tool name or call id"), self.span(t))

    def _raise(self, t: Tree[Token]) -> Action:
        event = self.name(_tokens(t, "NAME")[0], "event name", EVENT)
        return Raise(event, self.bindings(_tree(t, "bindings"), f"in event '{event}'"), self.span(t))

    def _send(self, t: Tree[Token]) -> Action:
        event = self.name(_tokens(t, "NAME")[0], "event name", EVENT)
        opts = self._options(t, f"in send of '{event}'")
        delay = self.duration(leaf(opts["send_after"])) if "send_after" in opts else None
        ident = self.name(leaf(opts["as_id"]), "send id") if "as_id" in opts else None
        prio = self.integer(leaf(opts["send_priority"]), "a send's priority") if "send_priority" in opts else None
        data = self.bindings(_tree(t, "bindings"), f"in event '{event}'")
        return Send(event, data, delay, ident, prio, self.span(t))

    def _cancel_send(self, t: Tree[Token]) -> Action:
        return CancelSend(self.name(leaf(t), "send id"), self.span(t))

    def _set(self, t: Tree[Token]) -> Action:
        var = self.name(_tokens(t, "NAME")[0], "variable name")
        return Set(var, self.expr(_trees(t, "value")[0]), self.span(t))

    def _spawn(self, t: Tree[Token]) -> Action:
        path = self.string(_tokens(t, "STRING")[0])
        opts = self._options(t, f"in {t.data} of '{path}'")
        ident = self.name(leaf(opts["as_id"]), "agent id") if "as_id" in opts else None
        task = self.string(leaf(opts["task"])) if "task" in opts else None
        return Spawn(path, ident, task, t.data == "fork", self.span(t))

    def _if(self, t: Tree[Token]) -> Action:
        branches = []
        orelse: tuple[Action, ...] = ()
        for part in (t, *_trees(t, "elif_branch"), *_trees(t, "else_branch")):
            block = _tree(part, "block")
            actions = _tree(block, "actions") if block is not None else None
            done = tuple(self.actions(actions)) if actions is not None else ()
            guard = _tree(part, "guard")
            if guard is None:
                orelse = done
            else:
                branches.append(Branch(self.expr(subtree(guard)), done, self.span(part)))
        return If(tuple(branches), orelse, self.span(t))

    _ACTIONS: dict[str, Callable[[_Builder, Tree[Token]], Action]] = {
        "say": _say,
        "log": _log,
        "respond": _respond,
        "call": _call,
        "cancel": _cancel,
        "raise": _raise,
        "send": _send,
        "cancel_send": _cancel_send,
        "set": _set,
        "spawn": _spawn,
        "fork": _spawn,
        "if_action": _if,
    }


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
