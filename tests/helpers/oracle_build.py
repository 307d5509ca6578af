"""Build agent models from compact dicts shaped like the YAML syntax (test helper).

Tests of the core must not depend on the front ends, so they write charts as::

    agent({"a": {"on": {"go": "b"}}, "b": {"type": "final"}}, initial="a")

State keys: ``type`` (state/parallel/final/history), ``initial``, ``states``, ``on``
(event -> target | transition dict | list of them), ``always`` (list), ``after``/``every``
(seconds -> target | transition dict), ``entry``/``exit`` (list of model actions), ``history``,
``default``. Transition keys: ``target`` (id or list), ``guard``, ``internal``, ``do``.
"""

from __future__ import annotations

from typing import Any

from counterpoint.dsl import (
    Agent,
    EventDecl,
    Expr,
    Priority,
    State,
    StateKind,
    Timer,
    Tool,
    Transition,
    Variable,
)


def _targets(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    return tuple(value)


def _transition(events: tuple[str, ...], spec: Any) -> Transition:
    if spec is None or isinstance(spec, str | list | tuple):
        return Transition(events=events, targets=_targets(spec))
    guard = spec.get("guard")
    return Transition(
        events=events,
        targets=_targets(spec.get("target")),
        guard=Expr(guard) if guard is not None else None,
        actions=tuple(spec.get("do", ())),
        internal=bool(spec.get("internal", False)),
    )


def _timer(kind: str, delay: float, spec: Any) -> Timer:
    if spec is None or isinstance(spec, str | list | tuple):
        return Timer(kind, float(delay), _targets(spec))  # type: ignore[arg-type]
    guard = spec.get("guard")
    return Timer(
        kind,
        float(delay),
        _targets(spec.get("target")),  # type: ignore[arg-type]
        Expr(guard) if guard is not None else None,
        tuple(spec.get("do", ())),
    )


def state(sid: str, spec: dict[str, Any] | None = None) -> State:
    spec = spec or {}
    kind = StateKind(spec.get("type", "state"))
    transitions: list[Transition] = []
    for events, tspec in (spec.get("on") or {}).items():
        names = tuple(events.split())
        for one in tspec if isinstance(tspec, list) else [tspec]:
            transitions.append(_transition(names, one))
    for tspec in spec.get("always") or ():
        transitions.append(_transition((), tspec))
    timers = [_timer("after", d, t) for d, t in (spec.get("after") or {}).items()]
    timers += [_timer("every", d, t) for d, t in (spec.get("every") or {}).items()]
    children = tuple(state(cid, cspec) for cid, cspec in (spec.get("states") or {}).items())
    history = spec.get("history") if kind is StateKind.HISTORY else None
    if kind is StateKind.HISTORY and history is None:
        history = "shallow"
    return State(
        id=sid,
        kind=kind,
        initial=spec.get("initial"),
        children=children,
        transitions=tuple(transitions),
        timers=tuple(timers),
        entry=tuple(spec.get("entry", ())),
        exit=tuple(spec.get("exit", ())),
        history=history,
        default=_targets(spec.get("default")),
    )


def agent(
    states: dict[str, Any],
    initial: str | None = None,
    name: str = "test",
    variables: dict[str, str] | None = None,
    tools: tuple[Tool, ...] = (),
    priorities: dict[str, int] | None = None,
    events: tuple[str, ...] = (),
) -> Agent:
    """An Agent; ``variables`` maps names to initial-value expressions (source text)."""
    return Agent(
        name=name,
        initial=initial,
        states=tuple(state(sid, spec) for sid, spec in states.items()),
        variables=tuple(
            Variable(n, Expr(v) if v is not None else None) for n, v in (variables or {}).items()
        ),
        tools=tools,
        priorities=tuple(Priority(e, lv) for e, lv in (priorities or {}).items()),
        events=tuple(EventDecl(e) for e in events),
    )
