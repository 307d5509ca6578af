"""Validation of a resolved agent: structure, references, expressions, handlers, warnings.

Front ends report what is wrong with the text; this module reports what is wrong with the
chart (codes E101-E116, W201-W203 in docs/language.md). ``check_file``/``check_paths`` run
the whole pipeline (read, parse, resolve includes, validate) the way the CLI does.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .diagnostics import Diagnostic, did_you_mean, sort_key
from .handlers import check_handler
from .loader import load_file, resolve_includes, where
from .model import (
    Agent,
    Call,
    Cancel,
    Log,
    Raise,
    Say,
    Send,
    Set,
    State,
    StateKind,
    Timer,
    Transition,
    walk_states,
    walk_with_parent,
)
from .source import Span
from .validate_events import EventTable
from .validate_expr import ExprChecker
from .validate_walk import all_actions, state_actions


def validate(agent: Agent, base_dir: Path, check_handlers: bool = True) -> list[Diagnostic]:
    """Every problem of a resolved ``agent`` whose file lives in ``base_dir``.

    ``check_handlers`` imports each tool's handler module to check it resolves (E109/E110).
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
                self.exprs.expr(
                    var.init.source, _span(var.init.span, var.span), set(), f"initial value of '{var.name}'"
                )
        if self.check_handlers:
            for tool in self.agent.tools:
                diag = check_handler(tool, self.base_dir, self.agent.allow)
                if diag is not None:
                    self.diags.append(diag)

    # ------------------------------------------------------------------ structure

    def root(self) -> None:
        top = [s.id for s in self.agent.states]
        initial = self.agent.initial
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
        if state.initial is not None and state.initial not in children:
            msg = (
                f"initial state '{state.initial}' is not a child of '{state.id}'"
                if children
                else f"state '{state.id}' has an initial state but no children"
            )
            self.diags.append(
                Diagnostic(
                    "E104", msg, state.span, did_you_mean(state.initial, children) or _choose(children)
                )
            )
        if state.kind is StateKind.FINAL:
            offending = [*state.transitions, *state.timers]
            if offending:
                self.diags.append(
                    Diagnostic(
                        "E105",
                        f"final state '{state.id}' has outgoing transitions",
                        _span(offending[0].span, state.span),
                        "a final state may only have entry/exit actions; use a normal state",
                    )
                )

    def history(self, state: State, parent: State | None) -> None:
        def bad(why: str, span: Span) -> None:
            self.diags.append(
                Diagnostic(
                    "E106",
                    f"history state '{state.id}' {why}",
                    span,
                    "a history state is a leaf child of a compound or parallel state",
                )
            )

        if parent is None:
            bad("is at the top level of the agent", state.span)
        if state.children:
            bad("has children", state.span)
        if parent is None:
            return
        descendants = {s.id for s in walk_states(parent.children)}
        for target in state.default:
            if target in self.states and target not in descendants:
                bad(f"has default '{target}', which is not inside '{parent.id}'", state.span)

    # ------------------------------------------------------------------ references

    def references(self, state: State) -> None:
        for t in (*state.transitions, *state.timers):
            for target in t.targets:
                self.target(target, _span(t.span, state.span))
        for target in state.default:
            self.target(target, state.span)
        for name in state.tools:
            if name not in self.tool_names:
                self.undeclared_tool(name, state.span)
        for action, owner in state_actions(state):
            span = _span(action.span, owner.span if owner else state.span)
            if isinstance(action, Call) and action.tool not in self.tool_names:
                self.undeclared_tool(action.tool, span)
            elif isinstance(action, Cancel) and action.target not in self.tool_names | self.call_ids:
                self.diags.append(
                    Diagnostic(
                        "E108",
                        f"cancel names '{action.target}', which is neither a tool nor a call id",
                        span,
                        did_you_mean(action.target, self.tool_names | self.call_ids),
                    )
                )

    def target(self, target: str, span: Span) -> None:
        if target not in self.states:
            self.diags.append(
                Diagnostic(
                    "E101", f"unknown transition target '{target}'", span, did_you_mean(target, self.states)
                )
            )

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
            bindings = action.args if isinstance(action, Call) else action.data
            for key, value in bindings:
                self.exprs.expr(value.source, _span(value.span, span), names, f"value for '{key}'")
        elif isinstance(action, Say | Log):
            self.exprs.template(action.text, span, names, "say" if isinstance(action, Say) else "log")

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
            for t in (*state.transitions, *state.timers):
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


def check_file(path: str | Path, check_handlers: bool = True) -> tuple[Agent | None, list[Diagnostic]]:
    """Read, parse, resolve includes and (when all that worked) validate one file.

    Returns the resolved agent (None when the file could not be parsed) and the diagnostics.
    """
    agent, diags = load_file(path)
    if agent is None:
        return None, _dedupe(diags)
    resolved, more = resolve_includes(agent, path)
    diags = [*diags, *more]
    if not any(d.is_error for d in diags):
        try:
            diags += validate(resolved, Path(path).parent, check_handlers)
        except RecursionError:
            diags.append(Diagnostic("E010", "input too complex (nesting too deep)", Span(str(path), 1, 1)))
    return resolved, _dedupe(diags)


def agent_files(folder: Path) -> list[Path]:
    """Definition files under ``folder`` (recursively), skipping scenario tests and hidden dirs."""
    found = [
        p
        for pattern in ("*.agent.yaml", "*.agent")
        for p in folder.rglob(pattern)
        if p.is_file()
        and not p.name.endswith(".test.yaml")
        and not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts)
    ]
    return sorted(set(found))


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
