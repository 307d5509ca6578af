"""Throughput benchmark: counterpoint's statechart core against its peers, in one run.

Run ``python -m counterpoint.engine.bench`` (``--quick`` for a short run, ``--json`` for
machine-readable output). Each scenario builds the same chart in every library, sends the
same events, and reports events per second (median of several repetitions) and the ratio
counterpoint / peer. Peers: python-statemachine, sismic, transitions (pytransitions);
a peer that is not installed is skipped and said so.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from counterpoint.dsl.model import Agent, Expr, Set, State, StateKind, Transition, Variable
from counterpoint.engine.core.events import Event

#: A driver sends one event per call; built fresh for each repetition.
Driver = Callable[[], None]


@dataclass(frozen=True)
class Shape:
    """A benchmark chart, described once and built in every library.

    ``states`` is a nested dict: id -> {"children": {...}, "initial": id, "parallel": bool}.
    ``transitions`` is a list of (source, event, target). ``events`` is the cycle of events sent.
    """

    name: str
    states: dict[str, Any]
    initial: str
    transitions: list[tuple[str, str, str]]
    events: tuple[str, ...]
    #: every transition has the guard ``n < LIMIT`` and the action ``n = n + 1``
    counted: bool = False


#: Never reached: the guard always holds, but every library must evaluate it.
LIMIT = 10**12


# --------------------------------------------------------------------------- scenarios


def flat_toggle() -> Shape:
    return Shape("flat 2-state toggle", {"a": {}, "b": {}}, "a", [("a", "t", "b"), ("b", "t", "a")], ("t",))


def ring(n: int = 1000) -> Shape:
    states: dict[str, dict[str, Any]] = {f"s{i}": {} for i in range(n)}
    trans = [(f"s{i}", "next", f"s{(i + 1) % n}") for i in range(n)]
    return Shape(f"{n}-state flat ring", states, "s0", trans, ("next",))


def _chain(depth: int, prefix: str, leaves: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Nested compound states ``prefix1 > prefix2 > ... > prefixN`` holding ``leaves``."""
    inner: dict[str, Any] = leaves
    ids = [f"{prefix}{i}" for i in range(1, depth + 1)]
    for i in reversed(range(depth)):
        inner = {ids[i]: {"children": inner, "initial": next(iter(inner))}}
    return inner, ids


def leaf_toggle(depth: int) -> Shape:
    states, _ = _chain(depth, "n", {"a": {}, "b": {}})
    return Shape(f"leaf toggle, depth {depth}", states, "n1", [("a", "t", "b"), ("b", "t", "a")], ("t",))


def ancestor_exit_enter(depth: int = 16) -> Shape:
    left, _ = _chain(depth, "l", {"la": {}})
    right, _ = _chain(depth, "r", {"ra": {}})
    states = {**left, **right}
    return Shape(f"exit and enter {depth} ancestors", states, "l1", [("la", "t", "ra"), ("ra", "t", "la")], ("t",))


def parallel_regions() -> Shape:
    states = {
        "p": {
            "parallel": True,
            "children": {
                "r1": {"children": {"a": {}, "b": {}}, "initial": "a"},
                "r2": {"children": {"c": {}, "d": {}}, "initial": "c"},
            },
        }
    }
    trans = [("a", "t", "b"), ("b", "t", "a"), ("c", "t", "d"), ("d", "t", "c")]
    return Shape("two parallel regions", states, "p", trans, ("t",))


def guarded_counter() -> Shape:
    """Beyond the structural scenarios: a guard and an assignment on every step, so the
    variables change and the work cannot be memoised away."""
    return Shape("toggle with guard and counter", {"a": {}, "b": {}}, "a", [("a", "t", "b"), ("b", "t", "a")],
                 ("t",), counted=True)


def scenarios() -> list[Shape]:
    return [flat_toggle(), ring(), leaf_toggle(1), leaf_toggle(4), leaf_toggle(16), ancestor_exit_enter(16),
            parallel_regions(), guarded_counter()]


# --------------------------------------------------------------------------- counterpoint


def _cp_states(spec: dict[str, Any], trans: dict[str, list[Transition]]) -> tuple[State, ...]:
    out = []
    for sid, body in spec.items():
        children = _cp_states(body.get("children", {}), trans)
        kind = StateKind.PARALLEL if body.get("parallel") else StateKind.STATE
        initial = body.get("initial") if kind is StateKind.STATE and children else None
        out.append(State(sid, kind, initial=initial, children=children, transitions=tuple(trans.get(sid, ()))))
    return tuple(out)


def counterpoint_driver(shape: Shape) -> Driver:
    from counterpoint.engine.core.chart import compile_chart
    from counterpoint.engine.core.step import start, step

    trans: dict[str, list[Transition]] = {}
    guard = Expr(f"n < {LIMIT}") if shape.counted else None
    actions = (Set("n", Expr("n + 1")),) if shape.counted else ()
    for src, ev, dst in shape.transitions:
        trans.setdefault(src, []).append(Transition(events=(ev,), targets=(dst,), guard=guard, actions=actions))
    variables = (Variable("n", Expr("0")),) if shape.counted else ()
    chart = compile_chart(Agent("bench", variables=variables, initial=shape.initial,
                                states=_cp_states(shape.states, trans)))
    snapshot = start(chart)[0]
    names = shape.events
    n = len(names)
    current = [snapshot]
    counter = [0]

    def send() -> None:
        i = counter[0]
        current[0] = step(chart, current[0], Event(names[i % n]))[0]
        counter[0] = i + 1

    return send


# --------------------------------------------------------------------------- python-statemachine


def _psm_states(spec: dict[str, Any], trans: dict[str, list[tuple[str, str]]], initial: str | None,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {}
    for sid, body in spec.items():
        d: dict[str, Any] = {}
        if sid == initial:
            d["initial"] = True
        if body.get("parallel"):
            d["parallel"] = True
        if body.get("children"):
            d["states"] = _psm_states(body["children"], trans, body.get("initial"), extra)
        on: dict[str, Any] = {}
        for ev, dst in trans.get(sid, ()):
            on.setdefault(ev, []).append({"target": dst, **(extra or {})})
        if on:
            d["on"] = on
        out[sid] = d
    return out


def psm_driver(shape: Shape) -> Driver:
    from statemachine.io import create_machine_class_from_definition

    trans: dict[str, list[tuple[str, str]]] = {}
    for src, ev, dst in shape.transitions:
        trans.setdefault(src, []).append((ev, dst))
    data = {"n": 0}

    def below_limit() -> bool:
        return data["n"] < LIMIT

    def count() -> None:
        data["n"] += 1

    extra = {"cond": below_limit, "on": count} if shape.counted else None
    cls = create_machine_class_from_definition(
        "Bench", _psm_states(shape.states, trans, shape.initial, extra),
        validate_disconnected_states=False, validate_trap_states=False, validate_final_reachability=False,
    )
    sm = cls()
    names = shape.events
    n = len(names)
    counter = [0]

    def send() -> None:
        i = counter[0]
        sm.send(names[i % n])
        counter[0] = i + 1

    return send


# --------------------------------------------------------------------------- sismic


def sismic_driver(shape: Shape) -> Driver:
    from sismic.interpreter import Interpreter
    from sismic.model import BasicState, CompoundState, OrthogonalState, Statechart
    from sismic.model import Transition as STransition

    sc = Statechart("bench", preamble="n = 0" if shape.counted else None)
    sc.add_state(CompoundState("root", initial=shape.initial), None)

    def add(spec: dict[str, Any], parent: str) -> None:
        for sid, body in spec.items():
            if body.get("parallel"):
                sc.add_state(OrthogonalState(sid), parent)
            elif body.get("children"):
                sc.add_state(CompoundState(sid, initial=body["initial"]), parent)
            else:
                sc.add_state(BasicState(sid), parent)
            if body.get("children"):
                add(body["children"], sid)

    add(shape.states, "root")
    for src, ev, dst in shape.transitions:
        if shape.counted:
            sc.add_transition(STransition(src, dst, event=ev, guard=f"n < {LIMIT}", action="n = n + 1"))
        else:
            sc.add_transition(STransition(src, dst, event=ev))
    it = Interpreter(sc)
    it.execute()
    names = shape.events
    n = len(names)
    counter = [0]

    def send() -> None:
        i = counter[0]
        it.queue(names[i % n])
        it.execute_once()
        counter[0] = i + 1

    return send


# --------------------------------------------------------------------------- transitions


def transitions_driver(shape: Shape) -> Driver:
    from transitions import Machine
    from transitions.extensions import HierarchicalMachine

    nested = any(body.get("children") for body in shape.states.values())
    paths: dict[str, str] = {}

    def convert(spec: dict[str, Any], prefix: str) -> list[Any]:
        out: list[Any] = []
        for sid, body in spec.items():
            path = f"{prefix}{sid}"
            paths[sid] = path
            if body.get("parallel"):
                out.append({"name": sid, "parallel": convert(body["children"], path + "_")})
            elif body.get("children"):
                out.append({"name": sid, "children": convert(body["children"], path + "_"),
                            "initial": body["initial"]})
            else:
                out.append(sid)
        return out

    states = convert(shape.states, "")
    data = {"n": 0}

    def below_limit() -> bool:
        return data["n"] < LIMIT

    def count() -> None:
        data["n"] += 1

    extra: dict[str, Any] = {"conditions": [below_limit], "after": [count]} if shape.counted else {}
    machine: Machine
    if nested:
        machine = HierarchicalMachine(states=states, initial=shape.initial, auto_transitions=False)
        for src, ev, dst in shape.transitions:
            machine.add_transition(ev, paths[src], paths[dst], **extra)
    else:
        machine = Machine(states=states, initial=shape.initial, auto_transitions=False)
        for src, ev, dst in shape.transitions:
            machine.add_transition(ev, src, dst, **extra)
    names = shape.events
    n = len(names)
    counter = [0]

    def send() -> None:
        i = counter[0]
        machine.trigger(names[i % n])
        counter[0] = i + 1

    return send


PEERS: dict[str, Callable[[Shape], Driver]] = {
    "python-statemachine": psm_driver,
    "sismic": sismic_driver,
    "transitions": transitions_driver,
}


# --------------------------------------------------------------------------- measurement


def measure(make: Callable[[], Driver], seconds: float, repeats: int) -> float:
    """Median events per second over ``repeats`` runs of about ``seconds`` each."""
    rates = []
    for _ in range(repeats):
        send = make()
        for _ in range(50):  # warm caches
            send()
        gc.collect()
        count, batch = 0, 64
        begin = time.perf_counter()
        deadline = begin + seconds
        now = begin
        while now < deadline:
            for _ in range(batch):
                send()
            count += batch
            now = time.perf_counter()
        rates.append(count / (now - begin))
    return statistics.median(rates)


def run(seconds: float, repeats: int, only: list[str] | None = None) -> list[dict[str, Any]]:
    results = []
    for shape in scenarios():
        if only and not any(o in shape.name for o in only):
            continue
        row: dict[str, Any] = {"scenario": shape.name, "rates": {}, "skipped": {}}
        row["rates"]["counterpoint"] = measure(partial(counterpoint_driver, shape), seconds, repeats)
        for peer, driver in PEERS.items():
            try:
                row["rates"][peer] = measure(partial(driver, shape), seconds, repeats)
            except ImportError as exc:
                row["skipped"][peer] = f"not installed ({exc.name})"
        results.append(row)
    return results


def format_table(results: list[dict[str, Any]]) -> str:
    peers = list(PEERS)
    head = f"{'scenario':34} {'counterpoint':>13}" + "".join(f" {p:>22}" for p in peers)
    lines = ["events per second (median); in brackets: counterpoint / peer", head, "-" * len(head)]
    for row in results:
        cp = row["rates"]["counterpoint"]
        cells = []
        for p in peers:
            rate = row["rates"].get(p)
            cells.append(f" {'skipped':>22}" if rate is None else f" {rate:>12,.0f} ({cp / rate:>6.1f}x)")
        lines.append(f"{row['scenario']:34} {cp:>13,.0f}" + "".join(cells))
    slowest = {p: min((r["rates"]["counterpoint"] / r["rates"][p]) for r in results if p in r["rates"])
               for p in peers if any(p in r["rates"] for r in results)}
    lines.append("")
    lines.append("smallest ratio per peer: " + ", ".join(f"{p} {v:.1f}x" for p, v in slowest.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m counterpoint.engine.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=0.3, help="duration of one repetition (default 0.3)")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions per library and scenario (default 5)")
    parser.add_argument("--quick", action="store_true", help="short run: 0.05 s x 3 repetitions")
    parser.add_argument("--only", nargs="*", help="run only scenarios whose name contains one of these words")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    args = parser.parse_args(argv)
    seconds, repeats = (0.05, 3) if args.quick else (args.seconds, args.repeats)
    results = run(seconds, repeats, args.only)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(format_table(results))
    return 0


