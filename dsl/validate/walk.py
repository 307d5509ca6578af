"""Walking every action of an agent, with the transition (if any) each belongs to."""

from __future__ import annotations

from collections.abc import Iterator

from counterpoint.dsl.model import Action, Agent, State, Timer, Transition, walk_states


def outgoing(state: State) -> tuple[Transition | Timer, ...]:
    """A state's transitions and timers, in that order (both may have targets)."""
    return (*state.transitions, *state.timers)


def state_actions(state: State) -> Iterator[tuple[Action, Transition | Timer | None]]:
    """``(action, owner)`` for the actions of one state; owner None for entry/exit."""
    for a in state.entry:
        yield a, None
    for a in state.exit:
        yield a, None
    for t in state.transitions:
        for a in t.actions:
            yield a, t
    for tm in state.timers:
        for a in tm.actions:
            yield a, tm


def all_actions(agent: Agent) -> Iterator[Action]:
    for state in walk_states(agent.states):
        for action, _ in state_actions(state):
            yield action
