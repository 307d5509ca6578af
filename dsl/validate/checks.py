"""Validation of a resolved agent: structure, references, expressions, handlers, warnings.

Front ends report what is wrong with the text; this module reports what is wrong with the
chart (codes E101-E117, W201-W203 and a few of E006-E008 in docs/language.md). It is the only
home of these checks: ``counterpoint.engine.compile`` runs it too. ``check_file``/``check_paths``
run the whole pipeline (read, parse, resolve includes, validate) the way the CLI does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean, sort_key
from counterpoint.dsl.durations import format_duration
from counterpoint.dsl.expr.parse import evaluate
from counterpoint.dsl.files import agent_files, load_file, resolve_include_path
from counterpoint.dsl.handlers import check_handler
from counterpoint.dsl.includes import resolve_includes
from counterpoint.dsl.model import (
    Agent,
    Call,
    Cancel,
    Log,
    Raise,
    Respond,
    Say,
    Send,
    Set,
    Spawn,
    State,
    StateKind,
    Timer,
    Transition,
    walk_states,
    walk_with_parent,
)
from counterpoint.dsl.source import Span, where
from counterpoint.dsl.validate.events import EventTable
from counterpoint.dsl.validate.exprs import ExprChecker
from counterpoint.dsl.validate.walk import all_actions, outgoing, state_actions

LEAF_HINT = "a history state is a leaf child of a compound or parallel state"
#: Shortest period of an ``every`` timer: a shorter one would keep the runtime busy firing it.
MIN_EVERY = 0.001


def validate(agent: Agent, base_dir: Path, check_handlers: bool = True) -> list[Diagnostic]:
    """Every problem of a resolved ``agent`` whose file lives in ``base_dir``.

    ``check_handlers`` checks what lies outside the definition: it imports each tool's handler
    module (E109/E110) and checks that spawned agents' files exist (E113).
    This is the one home of the chart checks: ``counterpoint.engine.compile`` runs it (without
    handlers) and rejects the chart when it reports an error.
    """
    return _Validator(agent, Path(base_dir), check_handlers).run()


class _Validator:
    def __init__(self, agent: Agent, base_dir: Path, check_handlers: bool):
        self.agent = agent
        self.base_dir = base_dir
        self.check_handlers = check_handlers
        self.diags: list[Diagnostic] = []
        self.states: dict[str, State] = {}
        self.parent: dict[str, State | None] = {}
        for s, p in walk_with_parent(agent.states):
            if s.id in self.states:
                first = self.states[s.id]
                self.diags.append(
                    Diagnostic(
                        "E102",
                        f"duplicate state id '{s.id}' (first defined at {where(first.span, s.span)})",
                        s.span,
                        "state ids must be unique in the whole chart, nested states included",
                    )
                )
            else:
                self.states[s.id] = s
                self.parent[s.id] = p
        self.events = EventTable(agent)
        self.exprs = ExprChecker(self.diags, set(self.states))
        self.var_names = {v.name for v in agent.variables}
        self.tool_names = {t.name for t in agent.tools}
        self.call_ids = {a.id for a in all_actions(agent) if isinstance(a, Call) and a.id}

    def run(self) -> list[Diagnostic]:
        self.declarations()
        self.root()
        for state, parent in walk_with_parent(self.agent.states):
            self.structure(state, parent)
            self.timers(state)
            self.references(state)
            self.conflicts(state)
            self.expressions(state)
        self.unused_tools()
        self.unreachable()
        return self.diags

    # ------------------------------------------------------------------ declarations

    def declarations(self) -> None:
        for kind, decls in (
            ("tool", self.agent.tools),
            ("variable", self.agent.variables),
            ("event", self.agent.events),
        ):
            seen: dict[str, Span] = {}
            for d in decls:
                if d.name in seen:
                    self.diags.append(
                        Diagnostic(
                            "E114",
                            f"{kind} '{d.name}' is declared twice (first at {where(seen[d.name], d.span)})",
                            d.span,
                            "rename one of them or remove the duplicate",
                        )
                    )
                else:
                    seen[d.name] = d.span
        for var in self.agent.variables:
            if var.init is not None:
                self.initial_value(var.name, var.init.source, _span(var.init.span, var.span))
        if self.check_handlers:
            for tool in self.agent.tools:
                diag = check_handler(tool, self.base_dir, self.agent.allow)
                if diag is not None:
                    self.diags.append(diag)

    def initial_value(self, name: str, source: str, span: Span) -> None:
        """A variable's initial value must be computable before the chart starts."""
        before = len(self.diags)
        if self.exprs.expr(source, span, set(), f"initial value of '{name}'") is None:
            return
        if len(self.diags) > before:
            return
        try:
            evaluate(source, {})
        except Exception as err:  # noqa: BLE001 - any failure to compute it is a definition error
            self.diags.append(
                Diagnostic(
                    "E008",
                    f"initial value of '{name}' cannot be computed: {getattr(err, 'message', err)}",
                    span,
                    "write a literal: a number, string, boolean, null, list or map",
                )
            )

    # ------------------------------------------------------------------ structure

    def root(self) -> None:
        top = [s.id for s in self.agent.states]
        if not top:
            self.diags.append(
                Diagnostic(
                    "E006",
                    f"agent '{self.agent.name}' has no states",
                    self.agent.span,
                    "a chart needs at least one state",
                )
            )
            return
        initial = self.agent.initial
        regions = [s.id for s in self.agent.states if s.kind is not StateKind.HISTORY]
        if initial is not None and initial in top and initial not in regions:
            self.diags.append(
                Diagnostic(
                    "E104",
                    f"initial state '{initial}' of the agent is a history state",
                    self.agent.span,
                    _choose(regions),
                )
            )
        if initial is not None and initial not in top:
            self.diags.append(
                Diagnostic(
                    "E104",
                    f"initial state '{initial}' is not a top-level state of the agent",
                    self.agent.span,
                    did_you_mean(initial, top) or _choose(top),
                )
            )

    def structure(self, state: State, parent: State | None) -> None:
        children = [c.id for c in state.children]
        if state.kind is StateKind.HISTORY:
            self.history(state, parent)
            return
        if state.kind is StateKind.STATE and children and state.initial is None:
            self.diags.append(
                Diagnostic(
                    "E103",
                    f"compound state '{state.id}' has no initial state",
                    state.span,
                    f"add initial: {children[0]}",
                )
            )
        regions = [c.id for c in state.children if c.kind is not StateKind.HISTORY]
        if state.initial is not None and state.initial not in children:
            msg = (
                f"initial state '{state.initial}' is not a child of '{state.id}'"
                if children
                else f"state '{state.id}' has an initial state but no children"
            )
            self.diags.append(
                Diagnostic("E104", msg, state.span, did_you_mean(state.initial, regions) or _choose(regions))
            )
        elif state.initial is not None and state.initial not in regions:
            self.diags.append(
                Diagnostic(
                    "E104",
                    f"initial state '{state.initial}' of '{state.id}' is a history state",
                    state.span,
                    _choose(regions) or "add a state to enter first",
                )
            )
        if state.kind is StateKind.PARALLEL and children and not regions:
            self.diags.append(
                Diagnostic(
                    "E106",
                    f"parallel state '{state.id}' has only history children",
                    state.span,
                    "a parallel state needs at least one region (a state) besides its history states",
                )
            )
        if state.kind is StateKind.FINAL:
            offending = outgoing(state)
            if offending:
                self.diags.append(
                    Diagnostic(
                        "E105",
                        f"final state '{state.id}' has outgoing transitions",
                        _span(offending[0].span, state.span),
                        "a final state may only have entry/exit actions; use a normal state",
                    )
                )
            if state.children:
                self.diags.append(
                    Diagnostic(
                        "E105",
                        f"final state '{state.id}' has children",
                        _span(state.children[0].span, state.span),
                        "a final state is a leaf; to finish a compound state, give it a final child",
                    )
                )

    def history(self, state: State, parent: State | None) -> None:
        def bad(why: str, span: Span, hint: str = LEAF_HINT) -> None:
            self.diags.append(Diagnostic("E106", f"history state '{state.id}' {why}", span, hint))

        if parent is None:
            bad("is at the top level of the agent", state.span)
        if state.children:
            bad("has children", _span(state.children[0].span, state.span))
        behaviour = [*state.transitions, *state.timers, *state.entry, *state.exit]
        if behaviour:
            bad(
                "has transitions, timers or actions",
                _span(behaviour[0].span, state.span),
                "a history state only stands for what was active; put the behaviour on its parent",
            )
        if parent is None:
            return
        descendants = {s.id for s in walk_states(parent.children)}
        for target in state.default:
            if target in self.states and target not in descendants:
                bad(f"has default '{target}', which is not inside '{parent.id}'", state.span)
            elif target in self.states and self.states[target].kind is StateKind.HISTORY:
                bad(
                    f"has default '{target}', which is a history state",
                    state.span,
                    "a default names states to enter, not another history state",
                )

    def timers(self, state: State) -> None:
        """Timer delays: an ``every`` with no period would fire without end at one instant."""
        for tm in state.timers:
            span = _span(tm.span, state.span)
            if not math.isfinite(tm.delay) or tm.delay < 0:
                self.diags.append(Diagnostic("E007", f"invalid duration for '{tm.kind}': {tm.delay!r}", span))
            elif tm.kind == "every" and tm.delay < MIN_EVERY:
                self.diags.append(
                    Diagnostic(
                        "E007",
                        f"every needs a positive period (at least 1ms), got {format_duration(tm.delay)}",
                        span,
                        "use 'after 0s' to act once on entry",
                    )
                )

    # ------------------------------------------------------------------ references

    def references(self, state: State) -> None:
        for t in outgoing(state):
            for target in t.targets:
                self.target(target, _span(t.span, state.span))
            if len(t.targets) > 1:
                self.together(t.targets, _span(t.span, state.span))
        for target in state.default:
            self.target(target, state.span)
        if len(state.default) > 1:
            self.together(state.default, state.span)
        spans = getattr(state, "tools_spans", ())
        for i, name in enumerate(state.tools):
            if name not in self.tool_names:
                self.undeclared_tool(name, _span(spans[i] if i < len(spans) else None, state.span))
        for action, owner in state_actions(state):
            span = _span(action.span, owner.span if owner else state.span)
            if isinstance(action, Call) and action.tool not in self.tool_names:
                self.undeclared_tool(action.tool, span)
            elif isinstance(action, Spawn) and self.check_handlers:
                self.sub_agent(action, span)
            elif isinstance(action, Cancel) and action.target not in self.tool_names | self.call_ids:
                self.diags.append(
                    Diagnostic(
                        "E108",
                        f"cancel names '{action.target}', which is neither a tool nor a call id",
                        span,
                        did_you_mean(action.target, self.tool_names | self.call_ids),
                    )
                )

    def sub_agent(self, action: Spawn, span: Span) -> None:
        """A spawned or forked agent's definition file must exist (it is read when it starts)."""
        here = span.file if span.line > 0 else self.base_dir / "agent"
        if resolve_include_path(action.agent, here) is None:
            verb = "fork" if action.fork else "spawn"
            self.diags.append(
                Diagnostic(
                    "E113",
                    f"{verb}: agent file '{action.agent}' not found",
                    span,
                    "the path is relative to the file that names it; std:NAME names a shipped definition",
                )
            )

    def target(self, target: str, span: Span) -> None:
        if target not in self.states:
            self.diags.append(
                Diagnostic(
                    "E101", f"unknown transition target '{target}'", span, did_you_mean(target, self.states)
                )
            )

    def together(self, targets: tuple[str, ...], span: Span) -> None:
        """Several targets of one transition must lie in different regions of a parallel state."""
        if any(t not in self.states for t in targets):
            return  # E101 already
        places = [self._place(t) for t in targets]
        for i in range(len(targets)):
            for j in range(i + 1, len(targets)):
                a, b = places[i], places[j]
                lca = self._lca(a, b)
                if lca is None or lca is a or lca is b or lca.kind is not StateKind.PARALLEL:
                    self.diags.append(
                        Diagnostic(
                            "E117",
                            f"targets '{targets[i]}' and '{targets[j]}' cannot be active together",
                            span,
                            "several targets must lie in different regions of one parallel state",
                        )
                    )
                    return

    def _place(self, sid: str) -> State | None:
        """Where a target puts the configuration: a history state stands for its parent."""
        state = self.states[sid]
        return self.parent[sid] if state.kind is StateKind.HISTORY else state

    def _chain(self, state: State | None) -> list[State | None]:
        chain: list[State | None] = []
        while state is not None:
            chain.append(state)
            state = self.parent[state.id]
        return [*chain, None]  # None: the agent itself, a compound state

    def _lca(self, a: State | None, b: State | None) -> State | None:
        """The nearest common ancestor-or-self; None is the agent."""
        chain_b = self._chain(b)
        return next(s for s in self._chain(a) if any(s is x for x in chain_b))

    def undeclared_tool(self, name: str, span: Span) -> None:
        self.diags.append(
            Diagnostic(
                "E108",
                f"tool '{name}' is not declared",
                span,
                did_you_mean(name, self.tool_names) or "declare it under tools:",
            )
        )

    def conflicts(self, state: State) -> None:
        seen: dict[frozenset[str], Transition] = {}
        for t in state.transitions:
            if t.guard is not None:
                continue
            key = frozenset(e.strip() for e in t.events)
            if key in seen:
                what = f"event {' '.join(t.events)}" if t.events else "no event (always)"
                self.diags.append(
                    Diagnostic(
                        "E111",
                        f"conflicting unguarded transitions on {what} in state '{state.id}'",
                        _span(t.span, state.span),
                        f"the transition at {where(seen[key].span, t.span)} is always taken first; add a guard",
                    )
                )
            else:
                seen[key] = t

    # ------------------------------------------------------------------ expressions

    def expressions(self, state: State) -> None:
        base = self.var_names | {"event"}
        for t in state.transitions:
            fields = self.events.data_fields(t.events) if t.events else set()
            self.owner_exprs(t, None if fields is None else base | fields, state)
        for tm in state.timers:
            self.owner_exprs(tm, base, state)
        for action in (*state.entry, *state.exit):
            self.action(action, base, state.span)

    def owner_exprs(self, owner: Transition | Timer, names: set[str] | None, state: State) -> None:
        span = _span(owner.span, state.span)
        if owner.guard is not None:
            self.exprs.expr(owner.guard.source, _span(owner.guard.span, span), names, "guard")
        for action in owner.actions:
            self.action(action, names, span)

    def action(self, action: object, names: set[str] | None, owner_span: Span) -> None:
        span = _span(getattr(action, "span", None), owner_span)
        if isinstance(action, Set):
            if action.var not in self.var_names:
                self.diags.append(
                    Diagnostic(
                        "E107",
                        f"set assigns undeclared variable '{action.var}'",
                        span,
                        did_you_mean(action.var, self.var_names) or "declare it under vars:",
                    )
                )
            self.exprs.expr(
                action.expr.source, _span(action.expr.span, span), names, f"value for '{action.var}'"
            )
        elif isinstance(action, Call | Raise | Send):
            delay = action.delay if isinstance(action, Send) else None
            if delay is not None and (not math.isfinite(delay) or delay < 0):
                self.diags.append(
                    Diagnostic("E007", f"invalid duration for the delay of send: {delay!r}", span)
                )
            bindings = action.args if isinstance(action, Call) else action.data
            for key, value in bindings:
                self.exprs.expr(value.source, _span(value.span, span), names, f"value for '{key}'")
        elif isinstance(action, Say | Log):
            self.exprs.template(action.text, span, names, "say" if isinstance(action, Say) else "log")
        elif isinstance(action, Respond) and action.prompt is not None:
            self.exprs.template(action.prompt, span, names, "respond")

    # ------------------------------------------------------------------ warnings

    def unused_tools(self) -> None:
        used: set[str] = set()
        for state in walk_states(self.agent.states):
            used.update(state.tools)
        used.update(a.tool for a in all_actions(self.agent) if isinstance(a, Call))
        own_file = self.agent.span.file
        for tool in self.agent.tools:
            if tool.name not in used and tool.span.file == own_file:
                self.diags.append(
                    Diagnostic(
                        "W203",
                        f"tool '{tool.name}' is declared but never used",
                        tool.span,
                        "list it in a state's tools: or call it from an action",
                    )
                )

    def unreachable(self) -> None:
        if not self.agent.states:
            return
        reached: set[str] = set()
        todo: list[str] = [self.agent.initial or self.agent.states[0].id]
        while todo:
            sid = todo.pop()
            if sid in reached or sid not in self.states:
                continue
            reached.add(sid)
            state = self.states[sid]
            parent = self.parent.get(sid)
            if parent is not None:
                todo.append(parent.id)
            if state.kind is StateKind.PARALLEL:
                todo += [c.id for c in state.children if c.kind is not StateKind.HISTORY]
            elif state.children:
                todo.append(state.initial or state.children[0].id)
            if state.kind is StateKind.HISTORY:
                todo += list(state.default)
                if not state.default and parent is not None and parent.children:
                    todo.append(parent.initial or parent.children[0].id)
            for t in outgoing(state):
                todo += list(t.targets)
        self._report_unreachable(self.agent.states, reached)
        for state in walk_states(self.agent.states):
            for t in state.transitions:
                for event in t.events:
                    if not self.events.is_produced(event):
                        self.diags.append(
                            Diagnostic(
                                "W202",
                                f"event '{event}' is listened for but never produced",
                                _span(t.span, state.span),
                                did_you_mean(event, self.events.fields)
                                or "declare it under events: if the host sends it",
                            )
                        )

    def _report_unreachable(self, states: Iterable[State], reached: set[str]) -> None:
        for s in states:
            if s.id not in reached and s.kind is not StateKind.HISTORY and self.states.get(s.id) is s:
                self.diags.append(
                    Diagnostic(
                        "W201",
                        f"state '{s.id}' is unreachable",
                        s.span,
                        "no transition, initial state or history default leads to it",
                    )
                )
            else:
                self._report_unreachable(s.children, reached)


def _span(span: Span | None, fallback: Span) -> Span:
    return span if span is not None and span.line > 0 else fallback


def _choose(ids: list[str]) -> str | None:
    return f"choose one of: {', '.join(ids)}" if ids else None


# ---------------------------------------------------------------------- pipeline


def _dedupe(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, str, int, int, str]] = set()
    out = []
    for d in diags:
        key = (d.code, d.span.file, d.span.line, d.span.col, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return sorted(out, key=sort_key)


#: Checks whose findings stand on their own even when the front end dropped something:
#: expressions, handlers, conflicts, misplaced finals/histories, timer periods.
INDEPENDENT = frozenset({"E007", "E011", "E105", "E106", "E109", "E110", "E111", "E115", "E116", "E117"})


def check_file(path: str | Path, check_handlers: bool = True) -> tuple[Agent | None, list[Diagnostic]]:
    """Read, parse, resolve includes and (when all that worked) validate one file.

    Returns the resolved agent (None when the file could not be parsed) and the diagnostics.
    """
    agent, diags = load_file(path)
    if agent is None:
        return None, _dedupe(diags)
    resolved, more = resolve_includes(agent, path)
    # After mistakes the front end recovered from (it drops what it could not read), only
    # checks that cannot be echoes of a dropped piece run, so one run reports as much as
    # possible without cascades; nothing runs when includes failed.
    if not any(d.is_error for d in more):
        recovered = any(d.is_error for d in diags)
        flagged = {(d.span.file, d.span.line) for d in diags if d.is_error}
        try:
            found = validate(resolved, Path(path).parent, check_handlers)
        except RecursionError:
            found = [Diagnostic("E010", "input too complex (nesting too deep)", Span(str(path), 1, 1))]
        if recovered:
            found = [d for d in found if d.code in INDEPENDENT and (d.span.file, d.span.line) not in flagged]
        more += found
    return resolved, _dedupe([*diags, *more])


def check_paths(paths: Iterable[str | Path], check_handlers: bool = True) -> tuple[list[Diagnostic], int]:
    """``check_file`` over files and folders; returns all diagnostics and the number of files."""
    diags: list[Diagnostic] = []
    count = 0
    for raw in paths:
        path = Path(raw)
        files = agent_files(path) if path.is_dir() else [path]
        for file in files:
            count += 1
            diags += check_file(file, check_handlers)[1]
    return diags, count
