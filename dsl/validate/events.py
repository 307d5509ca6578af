"""Which events a chart can see, and which data fields each carries.

Used by validation for W202 (listening for an event nothing produces) and for E107 (the
names an expression on a transition may use include its event's data fields).
"""

from __future__ import annotations

from collections.abc import Iterable

from counterpoint.dsl.model import TOOL_EVENTS, Agent, Raise, Send, Spawn, StateKind, walk_states
from counterpoint.dsl.names import matches, overlaps
from counterpoint.dsl.validate.walk import all_actions

#: Events the runtime produces on its own, with their data fields (docs/language.md). The core
#: raises ``error.execution`` with ``error``; the interpreter adds ``effect`` (the failed effect's
#: type) when an effect handler fails. ``done.state.<id>`` carries no data.
RUNTIME_EVENTS: dict[str, frozenset[str]] = {
    "user.speech.started": frozenset({"onset", "barge_in"}),
    "user.speech.stopped": frozenset({"onset", "end"}),
    "user.said": frozenset({"text"}),
    "agent.speech.started": frozenset({"text"}),
    "agent.said": frozenset({"text", "interrupted"}),
    "llm.started": frozenset(),
    "llm.done": frozenset({"text"}),
    "llm.error": frozenset({"error"}),
    "error.execution": frozenset({"error", "effect"}),
}

AGENT_EVENT_FIELDS = frozenset({"result", "error"})


class EventTable:
    """Produced event patterns and known data fields for one (resolved) agent."""

    def __init__(self, agent: Agent):
        fields: dict[str, set[str]] = {k: set(v) for k, v in RUNTIME_EVENTS.items()}
        produced: list[str] = [*RUNTIME_EVENTS, "error.*"]
        for tool in agent.tools:
            for kind, names in TOOL_EVENTS.items():
                fields.setdefault(f"tool.{tool.name}.{kind}", set()).update(names)
        for decl in agent.events:
            fields.setdefault(decl.name, set()).update(decl.fields)
            produced.append(decl.name)
        for state in walk_states(agent.states):
            if state.children and state.kind in (StateKind.STATE, StateKind.PARALLEL):
                # a final child's data are the fields of its parent's done event
                fields.setdefault(f"done.state.{state.id}", set()).update(
                    k for c in state.children if c.kind is StateKind.FINAL for k, _ in c.data
                )
                produced.append(f"done.state.{state.id}")
        for action in all_actions(agent):
            if isinstance(action, Raise | Send):
                fields.setdefault(action.event, set()).update(k for k, _ in action.data)
                produced.append(action.event)
            elif isinstance(action, Spawn):
                if action.id:
                    for kind in ("done", "error"):
                        fields.setdefault(f"agent.{action.id}.{kind}", set()).update(AGENT_EVENT_FIELDS)
                else:
                    produced.append("agent.*")
        self.fields = fields
        self.produced = list(dict.fromkeys([*produced, *fields]))  # in order, without repeats
        self._produced_cache: dict[str, bool] = {}
        self._fields_cache: dict[tuple[str, ...], set[str] | None] = {}

    def is_produced(self, listened: str) -> bool:
        found = self._produced_cache.get(listened)
        if found is None:
            found = self._produced_cache[listened] = any(overlaps(listened, p) for p in self.produced)
        return found

    def data_fields(self, descriptors: Iterable[str]) -> set[str] | None:
        """Data field names the events of a transition may carry; None means "any name"."""
        key = tuple(descriptors)
        if key not in self._fields_cache:
            self._fields_cache[key] = self._data_fields(key)
        found = self._fields_cache[key]
        return None if found is None else set(found)

    def _data_fields(self, descriptors: tuple[str, ...]) -> set[str] | None:
        out: set[str] = set()
        for d in descriptors:
            if d.strip().endswith("*"):
                return None
            known = [name for name in self.fields if matches(d, name)]
            if not known:
                return None
            for name in known:
                out |= self.fields[name]
        return out
