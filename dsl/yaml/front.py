"""The YAML front end: ``*.agent.yaml`` text to the model, with a span on every node.

Only structure, types and values are checked here (codes E001-E010, E115); whether
targets exist, tools are declared and so on is :mod:`counterpoint.dsl.validate`'s job.
The model is canonical: transitions under ``on`` come before ``always`` ones and ``after``
timers before ``every`` ones, whatever order the keys are written in (eventless and
event transitions are selected in different phases, so this does not change meaning).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeAlias, TypedDict, TypeVar

from counterpoint.dsl.diagnostics import Diagnostic, sort_key
from counterpoint.dsl.model import (
    Action,
    Agent,
    Bindings,
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
from counterpoint.dsl.names import AGENT_HINT, AGENT_RE, DOTTED_HINT, DOTTED_RE
from counterpoint.dsl.source import NO_SPAN, Span
from counterpoint.dsl.yaml.nodes import YNode, compose
from counterpoint.dsl.yaml.reader import Reader, comma_cut, kind_of

T = TypeVar("T")

AGENT_KEYS = (
    "agent",
    "description",
    "instructions",
    "llm",
    "voice",
    "allow",
    "include",
    "vars",
    "events",
    "priorities",
    "tools",
    "initial",
    "states",
)
LLM_KEYS = ("provider", "model", "base_url", "api_key_env", "temperature", "max_tokens")
LLM_PROVIDERS = ("openai", "embedded")
VOICE_KEYS = ("asr", "tts", "language", "speed", "vad_threshold", "min_barge_in", "end_of_turn")
TOOL_KEYS = ("handler", "description", "params", "timeout", "on_interrupt", "on_exit", "deliver")
PARAM_KEYS = ("type", "description", "required", "enum")
PARAM_TYPES = ("string", "integer", "number", "boolean", "array", "object")
KeepCancel: TypeAlias = Literal["keep", "cancel"]
Deliver: TypeAlias = Literal["interrupt", "when_idle", "silent"]
HistoryKind: TypeAlias = Literal["shallow", "deep"]
TimerKind: TypeAlias = Literal["after", "every"]
KEEP_CANCEL: tuple[KeepCancel, ...] = ("keep", "cancel")
DELIVER: tuple[Deliver, ...] = ("interrupt", "when_idle", "silent")
STATE_KEYS = (
    "type",
    "description",
    "prompt",
    "tools",
    "entry",
    "exit",
    "on",
    "always",
    "after",
    "every",
    "initial",
    "states",
    "history",
    "default",
    "include",
    "data",
)
STATE_TYPES = tuple(k.value for k in StateKind)
HISTORY_KINDS: tuple[HistoryKind, ...] = ("shallow", "deep")
TIMER_KINDS: tuple[TimerKind, ...] = ("after", "every")
ACTION_KEYS = (
    "say",
    "respond",
    "call",
    "cancel",
    "raise",
    "send",
    "cancel_send",
    "set",
    "log",
    "spawn",
    "fork",
)
TRANSITION_KEYS = ("target", "guard", "internal", "do", *ACTION_KEYS)
TIMER_KEYS = ("target", "guard", "do", *ACTION_KEYS)
CALL_KEYS = ("tool", "args", "id")
RAISE_KEYS = ("event", "data")
SEND_KEYS = ("event", "data", "delay", "id", "priority")
SPAWN_KEYS = ("agent", "id", "task")
IF_KEYS = ("if", "then", "elif", "else")
ELIF_KEYS = ("if", "then")
INITIAL_KEYS = ("target", "do")


def load_yaml(text: str, file: str) -> tuple[Agent | None, list[Diagnostic]]:
    """Read an agent definition; the model is None only when the text is unusable."""
    try:
        root, diags = compose(text, file)
        if root is None or (root.kind == "scalar" and root.value is None):
            if not any(d.is_error for d in diags):
                diags.append(
                    Diagnostic(
                        "E006",
                        "missing required key 'agent': the file defines nothing",
                        Span(file, 1, 1, 1, 1),
                        "start with 'agent: NAME'",
                    )
                )
            return None, _tidy(diags)
        if root.kind != "map":
            diags.append(
                Diagnostic(
                    "E005",
                    f"the top level must be a mapping (agent: NAME, states: ...), got {kind_of(root)}",
                    Span(file, root.line, root.col, root.end_line, root.end_col),
                )
            )
            return None, _tidy(diags)
        front = _Front(file)
        agent = front.agent(root)
        return agent, _tidy(diags + front.diags)
    except RecursionError:
        return None, [Diagnostic("E010", "input too complex (nesting too deep)", Span(file, 1, 1))]


def _tidy(diags: list[Diagnostic]) -> list[Diagnostic]:
    """Sorted by position, without repeats (a node reached through several aliases)."""
    return sorted(dict.fromkeys(diags), key=sort_key)


class _ToolChoices(TypedDict, total=False):
    """The Tool fields given as one of a few words; absent ones keep the model's defaults."""

    on_interrupt: KeepCancel
    on_exit: KeepCancel
    deliver: Deliver


class _Front(Reader):
    # ------------------------------------------------------------------ agent

    def agent(self, root: YNode) -> Agent:
        f = self.fields(root, "the agent", AGENT_KEYS)
        name = ""
        if "agent" in f:
            name = self.text(f["agent"][1], "'agent'", required=True) or ""
            if name:
                self.check_name(name, f["agent"][1], "agent name", AGENT_RE, AGENT_HINT)
        else:
            self.error(
                "E006",
                "missing required key 'agent' (the agent's name)",
                Span(self.file, root.line, root.col, root.line, root.col),
                "start with 'agent: NAME'",
            )

        def get(key: str, fn: Callable[[YNode], T], default: T) -> T:
            return fn(f[key][1]) if key in f else default

        no_texts: list[tuple[str, YNode]] = []
        return Agent(
            name=name,
            description=get("description", lambda n: self.text(n, "'description'"), None),
            instructions=get("instructions", lambda n: self.text(n, "'instructions'"), None),
            llm=get("llm", self.llm, None),
            voice=get("voice", self.voice, None),
            allow=tuple(
                t
                for t, n in get("allow", lambda n: self.texts(n, "'allow'"), no_texts)
                if self.check_name(t, n, "package name", DOTTED_RE, DOTTED_HINT)
            ),
            includes=tuple(
                Include(t, self.span(n))
                for t, n in get("include", lambda n: self.texts(n, "'include'"), no_texts)
            ),
            variables=get("vars", self.variables, ()),
            events=get("events", self.events, ()),
            priorities=get("priorities", self.priorities, ()),
            tools=get("tools", self.tools, ()),
            initial=get("initial", self.agent_initial, None),
            states=get("states", self.states, ()),
            span=self.span(root),
            initial_span=self.span(f["initial"][1]) if "initial" in f else None,
        )

    def agent_initial(self, node: YNode) -> str | None:
        if node.kind != "map":
            return self.name(node, "initial state")
        target, _ = self.initial(node)
        self.error(
            "E004", "the agent's initial state takes no actions", node,
            f"put them in the entry of '{target}'" if target else "name a top-level state",
        )  # fmt: skip
        return target

    def llm(self, node: YNode) -> LLMSettings | None:
        if node.kind == "scalar" and node.value is None:
            return None
        f = self.fields(node, "'llm'", LLM_KEYS)
        if node.kind != "map":
            return None
        v = {k: n for k, (_, n) in f.items()}
        return LLMSettings(
            provider=self.choice(v["provider"], "'provider'", LLM_PROVIDERS) if "provider" in v else None,
            model=self.text(v["model"], "'model'") if "model" in v else None,
            base_url=self.text(v["base_url"], "'base_url'") if "base_url" in v else None,
            api_key_env=self.text(v["api_key_env"], "'api_key_env'") if "api_key_env" in v else None,
            temperature=self._opt(v, "temperature", self.number),
            max_tokens=self._opt(v, "max_tokens", self.integer),
            span=self.span(node),
        )

    def _opt(self, v: dict[str, YNode], key: str, fn: Callable[[YNode, str], T]) -> T | None:
        """An optional typed field: absent or null is None."""
        node = v.get(key)
        if node is None or (node.kind == "scalar" and node.value is None):
            return None
        return fn(node, f"'{key}'")

    def voice(self, node: YNode) -> VoiceSettings | None:
        if node.kind == "scalar" and node.value is None:
            return None
        f = self.fields(node, "'voice'", VOICE_KEYS)
        if node.kind != "map":
            return None
        v = {k: n for k, (_, n) in f.items()}
        return VoiceSettings(
            asr=self.text(v["asr"], "'asr'") if "asr" in v else None,
            tts=self.text(v["tts"], "'tts'") if "tts" in v else None,
            language=self.text(v["language"], "'language'") if "language" in v else None,
            speed=self._opt(v, "speed", self.number),
            vad_threshold=self._opt(v, "vad_threshold", self.number),
            min_barge_in=self._opt(v, "min_barge_in", self.number),
            end_of_turn=self._opt(v, "end_of_turn", self.number),
            span=self.span(node),
        )

    def variables(self, node: YNode) -> tuple[Variable, ...]:
        out = []
        for key, k, v in self._entries(node, "'vars'"):
            name = self.check_name(key, k, "variable name")
            init = self.literal(v, f"the value of variable '{key}'")
            if name is not None:
                out.append(Variable(name, init, self.span(k, v)))
        return tuple(out)

    def _entries(self, node: YNode, what: str) -> list[tuple[str, YNode, YNode]]:
        """Entries of an optional mapping (null is empty)."""
        if node.kind == "scalar" and node.value is None:
            return []
        return self.items(node, what) or []

    def events(self, node: YNode) -> tuple[EventDecl, ...]:
        out = []
        if node.kind == "seq":
            for item in node.value:
                name = self.event(item, "event name")
                if name is not None:
                    out.append(EventDecl(name, (), self.span(item)))
            return tuple(out)
        if node.kind == "scalar" and node.value is None:
            return ()
        if node.kind != "map":
            self.wrong_type(node, "'events'", "a mapping of event names to data fields, or a list of names")
            return ()
        for key, k, v in self.items(node, "'events'") or ():
            name = self.check_event(key, k, "event name")
            fields: tuple[str, ...] = ()
            if v.kind == "seq" or (v.kind == "scalar" and v.value is None):
                fields = self.names(v, "data field name")
            else:
                self.wrong_type(v, f"the data fields of event '{key}'", "a list of names")
            if name is not None:
                out.append(EventDecl(name, fields, self.span(k, v)))
        return tuple(out)

    def priorities(self, node: YNode) -> tuple[Priority, ...]:
        out = []
        for key, k, v in self._entries(node, "'priorities'"):
            pattern = self.check_event(key, k, "event pattern", pattern=True)
            level = self.integer(v, f"the priority of '{key}'")
            if pattern is not None and level is not None:
                out.append(Priority(pattern, level, self.span(k, v)))
        return tuple(out)

    # ------------------------------------------------------------------ tools

    def tools(self, node: YNode) -> tuple[Tool, ...]:
        out = []
        for key, k, v in self._entries(node, "'tools'"):
            name = self.check_name(key, k, "tool name")
            tool = self.tool(key, k, v)
            if name is not None and tool is not None:
                out.append(tool)
        return tuple(out)

    def tool(self, name: str, knode: YNode, node: YNode) -> Tool | None:
        what = f"tool '{name}'"
        if node.kind == "scalar" and node.value is None:
            self.missing("handler", what, knode, "e.g. handler: my_tools:find_table")
            return Tool(name, "", span=self.span(knode, node))
        if node.kind != "map":
            self.wrong_type(node, what, "a mapping (handler, params, ...)")
            return None
        f = {key: n for key, (_, n) in self.fields(node, what, TOOL_KEYS).items()}
        handler = ""
        if "handler" in f:
            handler = self.text(f["handler"], "'handler'", required=True) or ""
        else:
            self.missing("handler", what, knode, "e.g. handler: my_tools:find_table")
        kwargs: _ToolChoices = {}
        if (on_interrupt := self.opt_choice(f, "on_interrupt", KEEP_CANCEL)) is not None:
            kwargs["on_interrupt"] = on_interrupt
        if (on_exit := self.opt_choice(f, "on_exit", KEEP_CANCEL)) is not None:
            kwargs["on_exit"] = on_exit
        if (deliver := self.opt_choice(f, "deliver", DELIVER)) is not None:
            kwargs["deliver"] = deliver
        return Tool(
            name=name,
            handler=handler,
            params=self.params(f["params"]) if "params" in f else (),
            description=self.text(f["description"], "'description'") if "description" in f else None,
            timeout=self._opt(f, "timeout", self.duration),
            span=self.span(knode, node),
            handler_span=self.span(f["handler"]) if "handler" in f else NO_SPAN,
            **kwargs,
        )

    def params(self, node: YNode) -> tuple[Param, ...]:
        out = []
        for key, k, v in self._entries(node, "'params'"):
            name = self.check_name(key, k, "parameter name")
            param = self.param(key, k, v)
            if name is not None and param is not None:
                out.append(param)
        return tuple(out)

    def param(self, name: str, knode: YNode, node: YNode) -> Param | None:
        span = self.span(knode, node)
        if node.kind == "scalar":
            if node.value is None:
                return Param(name, span=span)
            ptype = self.choice(node, f"the type of parameter '{name}'", PARAM_TYPES)
            return Param(name, ptype or "string", span=span)
        if node.kind != "map":
            self.wrong_type(node, f"parameter '{name}'", "a type name or a mapping")
            return None
        f = {key: n for key, (_, n) in self.fields(node, f"parameter '{name}'", PARAM_KEYS).items()}
        ptype = "string"
        if "type" in f:
            ptype = self.choice(f["type"], "'type'", PARAM_TYPES) or "string"
        required = True
        if "required" in f:
            value = self.boolean(f["required"], "'required'")
            required = True if value is None else value
        enum = None
        if "enum" in f:
            enum = self.enum(f["enum"])
        return Param(
            name,
            ptype,
            description=self.text(f["description"], "'description'") if "description" in f else None,
            required=required,
            enum=enum,
            span=span,
        )

    def enum(self, node: YNode) -> tuple[str | int | float | bool, ...] | None:
        if node.kind != "seq":
            self.wrong_type(node, "'enum'", "a list of values")
            return None
        out = []
        for item in node.value:
            if item.kind == "scalar" and item.value is not None:
                if isinstance(item.value, float) and item.value != item.value:
                    self.error("E008", "'enum' values must be numbers, not NaN", item)
                    continue
                out.append(item.value)
            else:
                self.wrong_type(item, "an 'enum' value", "a string, number or boolean")
        return tuple(out)

    # ------------------------------------------------------------------ states

    def states(self, node: YNode) -> tuple[State, ...]:
        out = []
        for key, k, v in self._entries(node, "'states'"):
            name = self.check_name(key, k, "state name")
            state = self.state(key, k, v)
            if name is not None and state is not None:
                out.append(state)
        return tuple(out)

    def state(self, name: str, knode: YNode, node: YNode) -> State | None:
        span = self.span(knode, node)
        if node.kind == "scalar" and node.value is None:
            return State(name, span=span)
        what = f"state '{name}'"
        if node.kind != "map":
            self.wrong_type(node, what, "a mapping")
            return None
        keyed = self.fields(node, what, STATE_KEYS)
        f = {key: n for key, (_, n) in keyed.items()}
        kind = StateKind.STATE
        if "type" in f:
            value = self.choice(f["type"], "'type'", STATE_TYPES)
            kind = StateKind(value) if value else kind
        history: HistoryKind | None = None
        if "history" in f:
            history = self.choice(f["history"], "'history'", HISTORY_KINDS)
        if kind is StateKind.HISTORY and history is None:
            history = "shallow"
        transitions: list[Transition] = []
        for key, events in (("on", None), ("always", ())):
            if key in f:
                transitions += self.on(f[key]) if events is None else self.transitions(f[key], (), None)
        timers: list[Timer] = []
        for timer_kind in TIMER_KINDS:
            if timer_kind in f:
                timers += self.timers(f[timer_kind], timer_kind)
        tool_names, tool_spans = self.names_and_spans(f["tools"], "tool name") if "tools" in f else ((), ())
        initial, initial_actions = self.initial(f["initial"]) if "initial" in f else (None, ())
        data: Bindings = ()
        if "data" in f:
            if kind is StateKind.FINAL:
                data = self.bindings(f["data"], "'data'")
            else:
                self.error(
                    "E004", f"unknown key 'data' in {what}", keyed["data"][0],
                    "only final states have data (type: final); it becomes the data of done.state.<parent>",
                )  # fmt: skip
        return State(
            id=name,
            kind=kind,
            initial=initial,
            initial_actions=initial_actions,
            data=data,
            children=self.states(f["states"]) if "states" in f else (),
            transitions=tuple(transitions),
            timers=tuple(timers),
            entry=self.actions(f["entry"], "'entry'") if "entry" in f else (),
            exit=self.actions(f["exit"], "'exit'") if "exit" in f else (),
            prompt=self.text(f["prompt"], "'prompt'") if "prompt" in f else None,
            tools=tool_names,
            tools_spans=tool_spans,
            description=self.text(f["description"], "'description'") if "description" in f else None,
            history=history,
            default=self.names(f["default"], "default state") if "default" in f else (),
            include=self.text(f["include"], "'include'") if "include" in f else None,
            span=span,
        )

    def initial(self, node: YNode) -> tuple[str | None, tuple[Action, ...]]:
        """A state's ``initial``: a child's name, or ``{target: NAME, do: ACTIONS}``."""
        if node.kind != "map":
            return self.name(node, "initial state"), ()
        f = {k: n for k, (_, n) in self.fields(node, "'initial'", INITIAL_KEYS).items()}
        if "target" not in f:
            self.missing("target", "'initial'", node, "e.g. initial: {target: ask, do: {say: Hello}}")
        target = self.name(f["target"], "initial state") if "target" in f else None
        return target, self.actions(f["do"], "'do'") if "do" in f else ()

    # ------------------------------------------------------------------ transitions and timers

    def on(self, node: YNode) -> list[Transition]:
        out: list[Transition] = []
        for key, k, v in self._entries(node, "'on'"):
            events = tuple(key.split())
            if not events:
                self.error("E115", "empty event name", k, "write the event, e.g. user.said")
            valid = all([self.check_event(e, k, "event pattern", pattern=True) is not None for e in events])
            transitions = self.transitions(v, events, k)
            if valid and events:
                out += transitions
        return out

    def transitions(self, node: YNode, events: tuple[str, ...], knode: YNode | None) -> list[Transition]:
        if node.kind == "scalar" and node.value is None and not events:
            return []
        items = [(item, item) for item in node.value] if node.kind == "seq" else [(node, knode or node)]
        out = []
        for item, start in items:
            parts = self.transition_parts(item, TRANSITION_KEYS, "a transition")
            if parts is not None:
                targets, guard, actions, internal = parts
                out.append(Transition(events, targets, guard, actions, internal, self.span(start, item)))
        return out

    def timers(self, node: YNode, kind: TimerKind) -> list[Timer]:
        out = []
        for key, k, v in self._entries(node, f"'{kind}'"):
            delay = self.parse_duration(key, k, f"'{kind}'")
            items = [(item, item) for item in v.value] if v.kind == "seq" else [(v, k)]
            for item, start in items:
                parts = self.transition_parts(item, TIMER_KEYS, f"an '{kind}' timer")
                if parts is not None and delay is not None:
                    targets, guard, actions, _ = parts
                    out.append(Timer(kind, delay, targets, guard, actions, self.span(start, item)))
        return out

    def transition_parts(
        self, node: YNode, allowed: tuple[str, ...], what: str
    ) -> tuple[tuple[str, ...], Expr | None, tuple[Action, ...], bool] | None:
        """(targets, guard, actions, internal) of a transition value: a target, null or a mapping."""
        if node.kind == "scalar":
            if node.value is None:
                return (), None, (), False
            target = self.name(node, "target state")
            return ((target,) if target else ()), None, (), False
        if node.kind != "map":
            self.wrong_type(node, what, "a target state or a mapping (target, guard, do, ...)")
            return None
        targets: tuple[str, ...] = ()
        guard = None
        internal = False
        actions: list[Action] = []
        found = self.fields(node, what, (*allowed, *IF_KEYS))
        for key, (k, v) in found.items():
            if key == "if":
                self.error(
                    "E005", f"'if' cannot be written directly on {what}", k,
                    "put it in the actions: do: [{if: ..., then: ...}]",
                )  # fmt: skip
            elif key in IF_KEYS:
                if "if" not in found:  # else part of the misplaced 'if' reported above
                    self.unknown_key(key, k, what, allowed)
            elif key == "target":
                targets = self.names(v, "target state")
            elif key == "guard":
                guard = self.guard(v)
            elif key == "internal":
                internal = bool(self.boolean(v, "'internal'"))
            elif key == "do":
                actions += self.actions(v, "'do'")
            else:
                actions += self.action(key, k, v)
        return targets, guard, tuple(actions), internal

    # ------------------------------------------------------------------ actions

    def actions(self, node: YNode, what: str) -> tuple[Action, ...]:
        """One action or a list of them."""
        if node.kind == "scalar" and node.value is None:
            return ()
        items = node.value if node.kind == "seq" else [node]
        out: list[Action] = []
        for item in items:
            out += self.action_item(item, what)
        return tuple(out)

    def action_item(self, node: YNode, what: str) -> list[Action]:
        if node.kind == "scalar" and node.value == "respond":
            return [Respond(span=self.span(node))]
        if node.kind != "map":
            hint = None
            if node.kind == "scalar" and isinstance(node.value, str) and node.value in ACTION_KEYS:
                hint = f"'{node.value}' needs a value: {{{node.value}: ...}}"
            self.error(
                "E005",
                f"an action in {what} must be a mapping such as {{say: Hello}} or 'respond', got {kind_of(node)}",
                node,
                hint,
            )
            return []
        entries = self.items(node, "an action") or []
        if any(key == "if" for key, _, _ in entries):
            return self.conditional(node)
        if not entries:
            self.error("E005", f"empty action in {what}", node, "e.g. {say: Hello}")
        cut = comma_cut(entries, ACTION_KEYS)
        if cut and len(cut) == len(entries) and cut[0][0] in ("say", "log", "respond"):
            self.comma_error(cut)
            key, k, v = cut[0]
            return self.action(key, k, v)
        out: list[Action] = []
        for i, (key, k, v) in enumerate(entries):
            if i == 1:
                self.error(
                    "E005",
                    f"an action has exactly one key; '{key}' is a second one",
                    k,
                    "write each action as its own list item: [{say: ...}, {log: ...}]",
                )
            if key in ACTION_KEYS:
                out += self.action(key, k, v)
            else:
                self.unknown_key(key, k, "an action", ACTION_KEYS)
        return out

    def conditional(self, node: YNode) -> list[Action]:
        """``{if: COND, then: ACTIONS, elif: [{if: COND, then: ACTIONS}, ...], else: ACTIONS}``."""
        f = self.fields(node, "an 'if'", IF_KEYS)
        first = self.branch(node, f, "'if'")
        branches = [first] if first is not None else []
        if "elif" in f:
            elif_node = f["elif"][1]
            items = elif_node.value if elif_node.kind == "seq" else [elif_node]
            for item in items:
                if item.kind != "map":
                    self.wrong_type(item, "an 'elif'", "a mapping {if: CONDITION, then: ACTIONS}")
                    continue
                branch = self.branch(item, self.fields(item, "an 'elif'", ELIF_KEYS), "'elif'")
                if branch is not None:
                    branches.append(branch)
        orelse = self.actions(f["else"][1], "'else'") if "else" in f else ()
        if not branches:
            return []
        return [If(tuple(branches), orelse, self.span(node))]

    def branch(self, node: YNode, f: dict[str, tuple[YNode, YNode]], what: str) -> Branch | None:
        if "if" not in f:
            self.missing("if", what, node, "the condition, e.g. if: \"count > 1\"")
            return None
        if "then" not in f:
            self.missing("then", what, node, "the actions to run when the condition holds")
        cond = self.guard(f["if"][1], "the condition of 'if'")
        actions = self.actions(f["then"][1], "'then'") if "then" in f else ()
        if cond is None:
            if f["if"][1].kind == "scalar" and f["if"][1].value is None:
                self.error("E006", "'if' needs a condition", f["if"][0], 'e.g. if: "count > 1"')
            return None
        return Branch(cond, actions, self.span(f["if"][0], node))

    def action(self, key: str, knode: YNode, node: YNode) -> list[Action]:
        span = self.span(knode, node)
        what = f"'{key}'"
        if key in ("say", "log"):
            text = self.text(node, what, required=True)
            if text is None:
                return []
            return [Say(text, span) if key == "say" else Log(text, span)]
        if key == "respond":
            if node.kind == "scalar" and node.value is None:
                return [Respond(None, span)]
            prompt = self.text(node, what)
            return [Respond(prompt, span)] if prompt is not None else []
        if key in ("cancel", "cancel_send"):
            name = self.name(node, "tool name or call id" if key == "cancel" else "send id")
            if name is None:
                return []
            return [Cancel(name, span) if key == "cancel" else CancelSend(name, span)]
        if key == "set":
            return self.sets(node)
        if key == "call":
            return self.call(knode, node, span)
        if key in ("raise", "send"):
            return self.raise_send(key, knode, node, span)
        return self.spawn(key, knode, node, span)

    def sets(self, node: YNode) -> list[Action]:
        if node.kind != "map":
            self.wrong_type(node, "'set'", "a mapping of variable: expression")
            return []
        out: list[Action] = []
        for key, k, v in self.items(node, "'set'") or ():
            name = self.check_name(key, k, "variable name")
            expr = self.value(v, f"the value of '{key}'")
            if name is not None and expr is not None:
                out.append(Set(name, expr, self.span(k, v)))
        return out

    def bindings(self, node: YNode, what: str) -> Bindings:
        out = []
        for key, k, v in self._entries(node, what):
            name = self.check_name(key, k, "argument name" if what == "'args'" else "data field name")
            expr = self.value(v, f"the value of '{key}'")
            if name is not None and expr is not None:
                out.append((name, expr))
        return tuple(out)

    def call(self, knode: YNode, node: YNode, span: Span) -> list[Action]:
        if node.kind != "map":
            tool = self.name(node, "tool name")
            return [Call(tool, span=span)] if tool else []
        f = {key: n for key, (_, n) in self.fields(node, "'call'", CALL_KEYS).items()}
        if "tool" not in f:
            self.missing("tool", "'call'", knode)
            return []
        tool = self.name(f["tool"], "tool name")
        args = self.bindings(f["args"], "'args'") if "args" in f else ()
        call_id = self._opt_name(f, "id", "call id")
        return [Call(tool, args, call_id, span)] if tool else []

    def _opt_name(self, f: dict[str, YNode], key: str, what: str) -> str | None:
        node = f.get(key)
        if node is None or (node.kind == "scalar" and node.value is None):
            return None
        return self.name(node, what)

    def raise_send(self, key: str, knode: YNode, node: YNode, span: Span) -> list[Action]:
        if node.kind != "map":
            event = self.event(node, "event name")
            if event is None:
                return []
            return [Raise(event, span=span) if key == "raise" else Send(event, span=span)]
        f = {
            k: n
            for k, (_, n) in self.fields(
                node, f"'{key}'", RAISE_KEYS if key == "raise" else SEND_KEYS
            ).items()
        }
        if "event" not in f:
            self.missing("event", f"'{key}'", knode)
            return []
        event = self.event(f["event"], "event name")
        data = self.bindings(f["data"], "'data'") if "data" in f else ()
        if key == "raise":
            return [Raise(event, data, span)] if event else []
        delay = self._opt(f, "delay", self.duration)
        priority = self._opt(f, "priority", self.integer)
        send_id = self._opt_name(f, "id", "send id")
        return [Send(event, data, delay, send_id, priority, span)] if event else []

    def spawn(self, key: str, knode: YNode, node: YNode, span: Span) -> list[Action]:
        fork = key == "fork"
        if node.kind != "map":
            path = self.text(node, f"'{key}'", required=True)
            return [Spawn(path, fork=fork, span=span)] if path is not None else []
        f = {k: n for k, (_, n) in self.fields(node, f"'{key}'", SPAWN_KEYS).items()}
        if "agent" not in f:
            self.missing("agent", f"'{key}'", knode, "the sub-agent's definition file")
            return []
        path = self.text(f["agent"], "'agent'", required=True)
        spawn_id = self._opt_name(f, "id", "sub-agent id")
        task = self.text(f["task"], "'task'") if "task" in f else None
        return [Spawn(path, spawn_id, task, fork, span)] if path is not None else []
