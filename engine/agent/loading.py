"""From a definition file to runnable sessions: load, validate, compile and bind tools once,
then start as many sessions of it as needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from counterpoint.dsl.model import Agent, walk_states
from counterpoint.engine.agent.ledger import Ledger
from counterpoint.engine.agent.prompt import PromptBudget
from counterpoint.engine.agent.session import AgentSession, SessionLimits
from counterpoint.engine.agent.speaker import Speaker
from counterpoint.engine.agent.subagents import SubAgents
from counterpoint.engine.core.chart import Chart, compile_chart
from counterpoint.engine.llm.base import LLMBackend
from counterpoint.engine.loading import load_valid_agent
from counterpoint.engine.runtime.interpreter import Interpreter, Listener
from counterpoint.engine.tools.binding import BoundTool, bind_tools


@dataclass
class SessionOptions:
    """How to run a session, beyond the definition itself."""

    speaker: Speaker | None = None
    started_at: datetime | None = None
    budget: PromptBudget | None = None
    limits: SessionLimits = field(default_factory=SessionLimits)
    listeners: tuple[Listener, ...] = ()


@dataclass(frozen=True)
class Definition:
    """A loaded agent: its model, compiled chart and bound tools, shared by all its sessions."""

    path: Path
    agent: Agent
    chart: Chart
    tools: dict[str, BoundTool]

    @property
    def base_dir(self) -> Path:
        return self.path.resolve().parent

    @property
    def files(self) -> list[Path]:
        """The files the definition was read from: the agent file, then what it includes."""
        found = {self.path.resolve(): None}
        for state in walk_states(self.agent.states):
            file = Path(state.span.file)
            if state.span.line > 0 and file.is_file():
                found.setdefault(file.resolve(), None)
        return list(found)

    def session(self, backend: LLMBackend, options: SessionOptions | None = None, *,
                ledger: Ledger | None = None, depth: int = 0) -> tuple[Interpreter, AgentSession]:
        """A new interpreter wired to a new agent session; ``await interpreter.run()`` starts it."""
        options = options or SessionOptions()

        def make_child(path: Path, parent: AgentSession, child_ledger: Ledger) -> tuple[Interpreter, AgentSession]:
            child_options = SessionOptions(started_at=parent.started_at, budget=options.budget,
                                           limits=options.limits)
            # a backend may give its sub-agents another one: a recording backend gives them the
            # model it wraps, so that a recording holds the turns of its own session only
            backend = getattr(parent.backend, "subagent_backend", parent.backend)
            return load_definition(path).session(backend, child_options, ledger=child_ledger,
                                                 depth=parent.depth + 1)

        session = AgentSession(self.chart, backend, tools=self.tools, speaker=options.speaker, ledger=ledger,
                               started_at=options.started_at, budget=options.budget, limits=options.limits,
                               spawner=SubAgents(self.base_dir, make_child), depth=depth)
        return Interpreter(self.chart, handlers=[session], listeners=options.listeners), session


def load_definition(path: str | Path) -> Definition:
    """Load, validate, compile and bind the definition at ``path``.

    Raises :class:`DiagnosticError` with the same positioned diagnostics as ``counterpoint
    validate`` when the file has errors (a tool handler that cannot be imported included).
    """
    path = Path(path)
    agent = load_valid_agent(path)
    return Definition(path, agent, compile_chart(agent, validated=True), bind_tools(agent, path.resolve().parent))


def open_session(path: str | Path, backend: LLMBackend, options: SessionOptions | None = None
                 ) -> tuple[Interpreter, AgentSession]:
    """Load the definition at ``path`` and return an interpreter wired to a new agent session."""
    return load_definition(path).session(backend, options)
