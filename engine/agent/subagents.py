"""Sub-agents: ``spawn`` (a fresh context) and ``fork`` (a copy of the parent's ledger).

A sub-agent is another definition run in the same process, in the parent's nursery, with the
parent's model backend. Its ``task`` becomes its first user turn. It reports back like a tool:
``agent.<id>.done`` with ``result`` when it reaches a final state (that state's ``data`` if it
declares any, else its variable ``result`` if it declares one, else the last thing it said), ``agent.<id>.error`` when it cannot start,
fails, or is cancelled. Limits on depth and on how many run at once make a definition that
spawns itself forever end in an error event, not a hung process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from counterpoint.engine.agent.ledger import AgentTurn, Ledger, Status
from counterpoint.engine.agent.session import AgentSession
from counterpoint.engine.core.effects import Finished, SpawnAgent
from counterpoint.engine.runtime.interpreter import Interpreter, StepRecord

#: Builds a child session for a definition file (the agent loader): (path, parent, ledger) -> session.
ChildFactory = Callable[[Path, AgentSession, Ledger], tuple[Interpreter, AgentSession]]


@dataclass
class _Child:
    agent_id: str
    scope: trio.CancelScope
    started: float


class SubAgents:
    """The spawner an :class:`AgentSession` calls for ``spawn`` and ``fork`` effects."""

    def __init__(self, base_dir: Path, make_child: ChildFactory) -> None:
        self.base_dir = base_dir
        self.make_child = make_child
        self.running: dict[str, _Child] = {}

    def __call__(self, parent: AgentSession, effect: SpawnAgent) -> None:
        started = parent._now()
        problem = self._refusal(parent, effect)
        if problem is not None:
            parent.subagent_outcome(effect.id, "error", None, problem, started)
            return
        path = (self.base_dir / effect.agent).resolve()
        ledger = parent.ledger.fork() if effect.fork else Ledger()
        try:
            interp, child = self.make_child(path, parent, ledger)
        except Exception as exc:  # a definition that does not load is an error event
            parent.subagent_outcome(effect.id, "error", None, f"{effect.agent} could not start: {exc}", started)
            return
        entry = _Child(effect.id, trio.CancelScope(), started)
        self.running[effect.id] = entry
        assert parent.interpreter is not None
        parent.interpreter.nursery.start_soon(self._run, parent, entry, interp, child, effect.task)

    def _refusal(self, parent: AgentSession, effect: SpawnAgent) -> str | None:
        limits = parent.limits
        if parent.depth + 1 > limits.max_depth:
            return (f"cannot start {effect.agent}: sub-agents nest at most {limits.max_depth} deep "
                    "(a definition that spawns itself needs a condition that stops it)")
        if len(self.running) >= limits.max_subagents:
            return f"cannot start {effect.agent}: {limits.max_subagents} sub-agents are already running"
        if effect.id in self.running:
            return f"a sub-agent with id {effect.id!r} is already running"
        return None

    def cancel(self, target: str) -> bool:
        """Cancel the running sub-agent ``target``; False when there is none."""
        child = self.running.get(target)
        if child is None:
            return False
        child.scope.cancel()
        return True

    def count(self) -> int:
        return len(self.running)

    def cancel_all(self) -> None:
        for child in list(self.running.values()):
            child.scope.cancel()

    async def _run(self, parent: AgentSession, entry: _Child, interp: Interpreter, child: AgentSession,
                   task: str | None) -> None:
        status: Status = "error"
        result: Any = None
        error: str | None = "cancelled"
        outputs: list[Finished] = []

        def watch(record: StepRecord) -> None:
            outputs.extend(e for e in record.effects if isinstance(e, Finished))

        interp.add_listener(watch)
        try:
            with entry.scope:
                if task:
                    interp.send("user.said", {"text": task})
                await interp.run()
                output = dict(outputs[-1].output) if outputs else None
                status, result, error = "done", output if output is not None else _result_of(interp, child), None
        except Exception as exc:  # a failing child is an event for its parent
            status, error = "error", f"{type(exc).__name__}: {exc}"
        finally:
            self.running.pop(entry.agent_id, None)
            await child.aclose()
        parent.subagent_outcome(entry.agent_id, status, result, error, entry.started)


def _result_of(interp: Interpreter, child: AgentSession) -> Any:
    if "result" in interp.variables:
        return interp.variables["result"]
    for entry in reversed(child.ledger.entries):
        if isinstance(entry, AgentTurn):
            return entry.text
    return None
