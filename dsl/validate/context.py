"""What every check needs to know about the agent being validated, computed once."""

from __future__ import annotations

from pathlib import Path

from counterpoint.dsl.diagnostics import Diagnostic
from counterpoint.dsl.model import Agent, Call, State, walk_with_parent
from counterpoint.dsl.source import Span, where
from counterpoint.dsl.validate.events import EventTable
from counterpoint.dsl.validate.exprs import ExprChecker
from counterpoint.dsl.validate.walk import all_actions


class Context:
    """One validation run: the agent, its states by id (with parents), the names it declares,
    and ``diags``, where every check appends what it finds (in the order checks run)."""

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


def located(span: Span | None, fallback: Span) -> Span:
    """``span`` when it is a real position in a file, else ``fallback`` (the enclosing node's)."""
    return span if span is not None and span.line > 0 else fallback
