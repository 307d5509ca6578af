"""Walking every action of an agent, with the transition (if any) each belongs to."""

from __future__ import annotations

from collections.abc import Iterator

from counterpoint.dsl.model import Action, Agent, State, Timer, Transition, flatten, walk_states


def outgoing(state: State) -> tuple[Transition | Timer, ...]:
    """A state's transitions and timers, in that order (both may have targets)."""
    return (*state.transitions, *state.timers)


def state_actions(state: State) -> Iterator[tuple[Action, Transition | Timer | None]]:
    """``(action, owner)`` for the actions of one state, those inside ``if`` branches included;
    owner None for entry, exit and initial actions."""
    for a in flatten((*state.entry, *state.exit, *state.initial_actions)):
        yield a, None
    for t in state.transitions:
        for a in flatten(t.actions):
            yield a, t
    for tm in state.timers:
        for a in flatten(tm.actions):
            yield a, tm


def all_actions(agent: Agent) -> Iterator[Action]:
    for state in walk_states(agent.states):
        for action, _ in state_actions(state):
            yield action
