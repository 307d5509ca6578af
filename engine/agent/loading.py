"""From a definition file to a runnable session: load, validate, compile, bind tools, wire."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from counterpoint.dsl.diagnostics import DiagnosticError
from counterpoint.dsl.validate.checks import check_file
from counterpoint.engine.agent.ledger import Ledger
from counterpoint.engine.agent.prompt import PromptBudget
from counterpoint.engine.agent.session import AgentSession, SessionLimits
from counterpoint.engine.agent.speaker import Speaker
from counterpoint.engine.agent.subagents import SubAgents
from counterpoint.engine.core.chart import compile_chart
from counterpoint.engine.llm.base import LLMBackend
from counterpoint.engine.runtime.interpreter import Interpreter, Listener
from counterpoint.engine.tools.binding import bind_tools


@dataclass
class SessionOptions:
    """How to run a session, beyond the definition itself."""

    speaker: Speaker | None = None
    started_at: datetime | None = None
    budget: PromptBudget | None = None
    limits: SessionLimits = field(default_factory=SessionLimits)
    listeners: tuple[Listener, ...] = ()


def open_session(path: str | Path, backend: LLMBackend, options: SessionOptions | None = None, *,
                 ledger: Ledger | None = None, depth: int = 0) -> tuple[Interpreter, AgentSession]:
    """Load the definition at ``path`` and return an interpreter wired to an agent session.

    Raises :class:`DiagnosticError` (with positioned diagnostics) when the file does not load;
    nothing has run then. ``await interpreter.run()`` starts the agent.
    """
    options = options or SessionOptions()
    path = Path(path)
    agent, diagnostics = check_file(path)
    errors = [d for d in diagnostics if d.is_error]
    if agent is None or errors:
        raise DiagnosticError(errors or diagnostics)
    chart = compile_chart(agent)
    base_dir = path.resolve().parent
    tools = bind_tools(agent, base_dir)

    def make_child(child_path: Path, parent: AgentSession, child_ledger: Ledger) -> tuple[Interpreter, AgentSession]:
        child_options = SessionOptions(speaker=None, started_at=parent.started_at, budget=options.budget,
                                       limits=options.limits)
        return open_session(child_path, parent.backend, child_options, ledger=child_ledger, depth=parent.depth + 1)

    session = AgentSession(chart, backend, tools=tools, speaker=options.speaker, ledger=ledger,
                           started_at=options.started_at, budget=options.budget, limits=options.limits,
                           spawner=SubAgents(base_dir, make_child), depth=depth)
    interpreter = Interpreter(chart, handlers=[session], listeners=options.listeners)
    return interpreter, session
