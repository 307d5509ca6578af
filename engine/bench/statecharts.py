"""Throughput benchmark: counterpoint's runtime against its peers' machines, in one run.

Run ``python -m counterpoint.engine.bench`` (``--quick`` for a short run, ``--json`` for
machine-readable output). Each scenario builds the same chart in every library and sends the
same events. What is measured is each library's complete runtime: for counterpoint, the trio
:class:`~counterpoint.engine.runtime.interpreter.Interpreter` end to end (``send()``, the queue,
the macrostep, the effects handed to a handler, with and without the JSONL trace); for the
peers, their machines (python-statemachine's ``send``, sismic's ``queue`` + ``execute_once``,
transitions' ``trigger``), with the guards and actions as callbacks. The pure ``step()`` of
counterpoint's core is reported in a second table against the same peer figures.

Rates are events per CPU second of the process (median of the repetitions), so another
program on the machine disturbs them less than wall-clock time would; the libraries take turns
within each repetition, and the ratios (counterpoint / peer) compare figures of one run.
Scenarios marked *cold* measure the first events a freshly built machine receives (no
warm-up, empty memo tables). A peer that is not installed is skipped and said so.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio
import trio.testing

from counterpoint.dsl.model import (
    Action,
    Agent,
    Expr,
    Respond,
    Say,
    Set,
    State,
    StateKind,
    Transition,
    Variable,
)
from counterpoint.engine.core.chart import Chart, compile_chart
from counterpoint.engine.core.effects import Effect
from counterpoint.engine.core.events import Event
from counterpoint.engine.runtime.interpreter import EffectHandler, Interpreter
from counterpoint.engine.runtime.trace import JsonlTrace

#: A driver sends one event per call; built fresh for each repetition.
Driver = Callable[[], None]

#: Never reached: the guard always holds, but every library must evaluate it.
LIMIT = 10**12


@dataclass(frozen=True)
class Edge:
    """A transition: ``source --event--> target``, optionally guarded by ``n < LIMIT``, with
    actions among ``count`` (``n = n + 1``), ``say`` (a text with ``n`` in it) and ``respond``."""

    source: str
    event: str
    target: str
    guarded: bool = False
    actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Shape:
    """A benchmark chart, described once and built in every library.

    ``states`` is a nested dict: id -> {"children": {...}, "initial": id, "parallel": bool}.
    ``events`` is the cycle of events sent. ``cold``: measure the first ``cold_events`` events
    of a fresh machine instead of a warmed-up one.
    """

    name: str
    states: dict[str, Any]
    initial: str
    transitions: list[Edge]
    events: tuple[str, ...]
    cold: bool = False
    cold_events: int = 20_000

    @property
    def counted(self) -> bool:
        return any(e.guarded or e.actions for e in self.transitions)


def _plain(pairs: list[tuple[str, str, str]], guarded: bool = False, actions: tuple[str, ...] = ()) -> list[Edge]:
    return [Edge(src, ev, dst, guarded, actions) for src, ev, dst in pairs]


# --------------------------------------------------------------------------- scenarios


def flat_toggle() -> Shape:
    return Shape("flat 2-state toggle", {"a": {}, "b": {}}, "a", _plain([("a", "t", "b"), ("b", "t", "a")]), ("t",))


def ring(n: int = 1000) -> Shape:
    states: dict[str, dict[str, Any]] = {f"s{i}": {} for i in range(n)}
    trans = _plain([(f"s{i}", "next", f"s{(i + 1) % n}") for i in range(n)])
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
    return Shape(f"leaf toggle, depth {depth}", states, "n1", _plain([("a", "t", "b"), ("b", "t", "a")]), ("t",))


def ancestor_exit_enter(depth: int = 16) -> Shape:
    left, _ = _chain(depth, "l", {"la": {}})
    right, _ = _chain(depth, "r", {"ra": {}})
    states = {**left, **right}
    return Shape(f"exit and enter {depth} ancestors", states, "l1", _plain([("la", "t", "ra"), ("ra", "t", "la")]),
                 ("t",))


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
    trans = _plain([("a", "t", "b"), ("b", "t", "a"), ("c", "t", "d"), ("d", "t", "c")])
    return Shape("two parallel regions", states, "p", trans, ("t",))


def guarded_counter() -> Shape:
    """A guard and an assignment on every step, so the variables change and the work cannot be
    memoised away."""
    return Shape("toggle with guard and counter", {"a": {}, "b": {}}, "a",
                 _plain([("a", "t", "b"), ("b", "t", "a")], guarded=True, actions=("count",)), ("t",))


def agent_like() -> Shape:
    """What an agent looks like: a dialog region beside a three-level task, six event names,
    guards, assignments, ``say`` and ``respond``; each event moves one of the two regions."""
    states = {
        "desk": {
            "parallel": True,
            "children": {
                "dialog": {"initial": "listening", "children": {
                    "listening": {}, "hearing": {}, "thinking": {}, "speaking": {}}},
                "task": {"initial": "plan", "children": {
                    "plan": {"initial": "gather", "children": {"gather": {}, "verify": {}}},
                    "act": {"initial": "run", "children": {"run": {}, "report": {}}}}},
            },
        }
    }
    trans = [
        Edge("listening", "user.speech.started", "hearing"),
        Edge("hearing", "user.said", "thinking", True, ("count", "respond")),
        Edge("thinking", "llm.started", "speaking"),
        Edge("speaking", "agent.said", "listening", False, ("say",)),
        Edge("gather", "tool.started", "verify"),
        Edge("verify", "tool.done", "act", True, ("count",)),
        Edge("run", "tool.started", "report"),
        Edge("report", "tool.done", "plan", False, ("say",)),
    ]
    events = ("user.speech.started", "tool.started", "user.said", "tool.done", "llm.started", "tool.started",
              "agent.said", "tool.done")
    return Shape("agent-like: dialog beside a task", states, "desk", trans, events)


def cold_flat(n: int = 5000, names: int = 4) -> Shape:
    """A large flat chart where every event leads somewhere new: the first 20,000 events
    mostly meet (state, event) pairs for the first time, so nothing is memoised yet."""
    states: dict[str, dict[str, Any]] = {f"s{i}": {} for i in range(n)}
    trans = [Edge(f"s{i}", f"e{k}", f"s{(i * 31 + k * 977 + 1) % n}") for i in range(n) for k in range(names)]
    return Shape(f"cold: {n:,}-state flat chart, {names} events", states, "s0", trans,
                 tuple(f"e{k}" for k in range(names)), cold=True)


def cold_agent() -> Shape:
    shape = agent_like()
    return Shape("cold: agent-like", shape.states, shape.initial, shape.transitions, shape.events, cold=True,
                 cold_events=200)


def scenarios() -> list[Shape]:
    return [flat_toggle(), ring(), leaf_toggle(1), leaf_toggle(4), leaf_toggle(16), ancestor_exit_enter(16),
            parallel_regions(), guarded_counter(), agent_like(), cold_agent(), cold_flat()]


# --------------------------------------------------------------------------- counterpoint


def _cp_states(spec: dict[str, Any], trans: dict[str, list[Transition]]) -> tuple[State, ...]:
    out = []
    for sid, body in spec.items():
        children = _cp_states(body.get("children", {}), trans)
        kind = StateKind.PARALLEL if body.get("parallel") else StateKind.STATE
        initial = body.get("initial") if kind is StateKind.STATE and children else None
        out.append(State(sid, kind, initial=initial, children=children, transitions=tuple(trans.get(sid, ()))))
    return tuple(out)


_CP_ACTIONS: dict[str, Action] = {
    "count": Set("n", Expr("n + 1")),
    "say": Say("turn {n}"),
    "respond": Respond(),
}


def counterpoint_chart(shape: Shape) -> Chart:
    trans: dict[str, list[Transition]] = {}
    for e in shape.transitions:
        trans.setdefault(e.source, []).append(Transition(
            events=(e.event,), targets=(e.target,), guard=Expr(f"n < {LIMIT}") if e.guarded else None,
            actions=tuple(_CP_ACTIONS[a] for a in e.actions)))
    variables = (Variable("n", Expr("0")),) if shape.counted else ()
    return compile_chart(Agent("bench", variables=variables, initial=shape.initial,
                               states=_cp_states(shape.states, trans)))


def step_driver(shape: Shape) -> Driver:
    """The pure core alone: ``step()`` on a snapshot, no runtime around it."""
    from counterpoint.engine.core.step import start, step

    chart = counterpoint_chart(shape)
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


class _Performer(EffectHandler):
    """Receives every effect, as an agent's handler does, and counts them (the peers' action
    callbacks do the same work: render the text, count)."""

    def __init__(self) -> None:
        self.count = 0

    def handle(self, effect: Effect) -> Any:
        self.count += 1


#: Events sent before the runtime is given time to process them (a burst, as a streaming model
#: or a busy user produces).
BATCH = 64


def interpreter_run(shape: Shape, seconds: float, trace_dir: Path | None) -> tuple[int, float]:
    """(events, CPU seconds) of the trio interpreter processing ``shape``'s events end to end:
    ``send()`` from another task, the queue, the macrostep and the effects handed to a handler;
    with a JSONL trace file in ``trace_dir`` when given."""
    chart = counterpoint_chart(shape)

    async def main() -> tuple[int, float]:
        trace = JsonlTrace(trace_dir / "trace.jsonl") if trace_dir is not None else None
        interp = Interpreter(chart, handlers=[_Performer()], listeners=[trace] if trace else [])
        names, k = shape.events, len(shape.events)
        count = 0
        async with trio.open_nursery() as nursery:
            nursery.start_soon(interp.run)
            await trio.testing.wait_all_tasks_blocked()
            if not shape.cold:
                for i in range(BATCH):
                    interp.send(names[i % k])
                await trio.testing.wait_all_tasks_blocked()
            gc.collect()
            limit = shape.cold_events if shape.cold else None
            begin = time.process_time()
            deadline = begin + seconds
            while True:
                for _ in range(BATCH if limit is None else min(BATCH, limit - count)):
                    interp.send(names[count % k])
                    count += 1
                await trio.testing.wait_all_tasks_blocked()
                now = time.process_time()
                if now >= deadline or (limit is not None and count >= limit):
                    break
            interp.stop()
        if trace is not None:
            trace.close()
        return count, now - begin

    return trio.run(main)


# --------------------------------------------------------------------------- the peers' callbacks


class _Callbacks:
    """The guard and actions as the peers run them: plain Python callbacks."""

    def __init__(self) -> None:
        self.n = 0
        self.out: list[str] = []

    def below_limit(self) -> bool:
        return self.n < LIMIT

    def count(self) -> None:
        self.n += 1

    def say(self) -> None:
        self.out.append(f"turn {self.n}")
        if len(self.out) > 1000:
            self.out.clear()

    def respond(self) -> None:
        self.out.append("respond")


def _cycle(send_one: Callable[[str], Any], names: tuple[str, ...]) -> Driver:
    n = len(names)
    counter = [0]

    def send() -> None:
        i = counter[0]
        send_one(names[i % n])
        counter[0] = i + 1

    return send


# --------------------------------------------------------------------------- python-statemachine


def _psm_states(spec: dict[str, Any], trans: dict[str, list[dict[str, Any]]], initial: str | None) -> dict[str, Any]:
    out = {}
    for sid, body in spec.items():
        d: dict[str, Any] = {}
        if sid == initial:
            d["initial"] = True
        if body.get("parallel"):
            d["parallel"] = True
        if body.get("children"):
            d["states"] = _psm_states(body["children"], trans, body.get("initial"))
        on: dict[str, Any] = {}
        for ev, spec_ in trans.get(sid, ()):
            on.setdefault(ev, []).append(spec_)
        if on:
            d["on"] = on
        out[sid] = d
    return out


def psm_driver(shape: Shape) -> Driver:
    from statemachine.io import create_machine_class_from_definition

    cb = _Callbacks()
    trans: dict[str, list[Any]] = {}
    for e in shape.transitions:
        spec: dict[str, Any] = {"target": e.target}
        if e.guarded:
            spec["cond"] = cb.below_limit
        if e.actions:
            spec["on"] = [getattr(cb, a) for a in e.actions]
        trans.setdefault(e.source, []).append((e.event, spec))
    cls = create_machine_class_from_definition(
        "Bench", _psm_states(shape.states, trans, shape.initial),
        validate_disconnected_states=False, validate_trap_states=False, validate_final_reachability=False,
    )
    return _cycle(cls().send, shape.events)


# --------------------------------------------------------------------------- sismic

_SISMIC_ACTIONS = {"count": "n = n + 1", "say": "text = 'turn %d' % n", "respond": "turns = turns + 1"}


def sismic_driver(shape: Shape) -> Driver:
    from sismic.interpreter import Interpreter as SismicInterpreter
    from sismic.model import BasicState, CompoundState, OrthogonalState, Statechart
    from sismic.model import Transition as STransition

    sc = Statechart("bench", preamble="n = 0\nturns = 0" if shape.counted else None)
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
    for e in shape.transitions:
        action = "\n".join(_SISMIC_ACTIONS[a] for a in e.actions) or None
        sc.add_transition(STransition(e.source, e.target, event=e.event,
                                      guard=f"n < {LIMIT}" if e.guarded else None, action=action))
    it = SismicInterpreter(sc)
    it.execute()

    def send_one(name: str) -> None:
        it.queue(name)
        it.execute_once()

    return _cycle(send_one, shape.events)


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
    cb = _Callbacks()
    machine: Machine
    if nested:
        machine = HierarchicalMachine(states=states, initial=shape.initial, auto_transitions=False)
    else:
        machine = Machine(states=states, initial=shape.initial, auto_transitions=False)
        paths = {}
    for e in shape.transitions:
        extra: dict[str, Any] = {}
        if e.guarded:
            extra["conditions"] = [cb.below_limit]
        if e.actions:
            extra["after"] = [getattr(cb, a) for a in e.actions]
        machine.add_transition(e.event, paths.get(e.source, e.source), paths.get(e.target, e.target), **extra)
    return _cycle(machine.trigger, shape.events)


PEERS: dict[str, Callable[[Shape], Driver]] = {
    "python-statemachine": psm_driver,
    "sismic": sismic_driver,
    "transitions": transitions_driver,
}


# --------------------------------------------------------------------------- measurement

RUNTIME = "counterpoint"
TRACED = "counterpoint + JSONL trace"
STEP = "core step()"


def driver_run(make: Callable[[], Driver], shape: Shape, seconds: float) -> tuple[int, float]:
    """(events, CPU seconds) of a synchronous driver: warmed up unless the scenario is cold."""
    send = make()
    if not shape.cold:
        for _ in range(50):
            send()
    gc.collect()
    limit = shape.cold_events if shape.cold else None
    count = 0
    begin = time.process_time()
    deadline = begin + seconds
    while True:
        for _ in range(BATCH if limit is None else min(BATCH, limit - count)):
            send()
        count += BATCH if limit is None else min(BATCH, limit - count)
        now = time.process_time()
        if now >= deadline or (limit is not None and count >= limit):
            return count, now - begin


def _one(library: str, shape: Shape, seconds: float, tmp: Path) -> tuple[int, float]:
    if library == RUNTIME:
        return interpreter_run(shape, seconds, None)
    if library == TRACED:
        return interpreter_run(shape, seconds, tmp)
    if library == STEP:
        return driver_run(lambda: step_driver(shape), shape, seconds)
    return driver_run(lambda: PEERS[library](shape), shape, seconds)


def run(seconds: float, repeats: int, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Every scenario, every library taking its turn within each repetition; median rates."""
    results = []
    libraries = [RUNTIME, TRACED, STEP, *PEERS]
    with tempfile.TemporaryDirectory() as tmp:
        for shape in scenarios():
            if only and not any(o in shape.name for o in only):
                continue
            samples: dict[str, list[float]] = {lib: [] for lib in libraries}
            skipped: dict[str, str] = {}
            budget = seconds * 4 if shape.cold else seconds  # a cold run is a fixed number of events
            for _ in range(repeats):
                for lib in libraries:
                    if lib in skipped:
                        continue
                    try:
                        count, cpu = _one(lib, shape, budget, Path(tmp))
                    except ImportError as exc:
                        skipped[lib] = f"not installed ({exc.name})"
                        continue
                    samples[lib].append(count / cpu)
            rates = {lib: statistics.median(v) for lib, v in samples.items() if v}
            results.append({"scenario": shape.name, "rates": rates, "skipped": skipped})
    return results


def _ratio_cells(rate: float, row: dict[str, Any]) -> str:
    cells = []
    for p in PEERS:
        peer = row["rates"].get(p)
        cells.append(f" {'skipped':>22}" if peer is None else f" {peer:>12,.0f} ({rate / peer:>6.1f}x)")
    return "".join(cells)


def format_table(results: list[dict[str, Any]]) -> str:
    peers = list(PEERS)
    width = max([34, *(len(r["scenario"]) for r in results)])
    head = f"{'scenario':{width}} {'counterpoint':>13} {'+ JSONL trace':>20}" + "".join(f" {p:>22}" for p in peers)
    lines = ["Complete runtimes: events per CPU second (median); in brackets counterpoint / peer.",
             "counterpoint = the trio Interpreter end to end; + JSONL trace: the same with a trace file",
             "(in brackets: the throughput it loses).", head, "-" * len(head)]
    for row in results:
        rates = row["rates"]
        cp, traced = rates[RUNTIME], rates[TRACED]
        lines.append(f"{row['scenario']:{width}} {cp:>13,.0f} {traced:>11,.0f} ({1 - traced / cp:>5.0%})"
                     + _ratio_cells(cp, row))
    step_head = f"{'scenario':{width}} {'core step()':>13}" + "".join(f" {p:>22}" for p in peers)
    lines += ["", "Pure step, for reference: the core's step() alone (no runtime) against the same peer figures.",
              step_head, "-" * len(step_head)]
    for row in results:
        rate = row["rates"][STEP]
        lines.append(f"{row['scenario']:{width}} {rate:>13,.0f}" + _ratio_cells(rate, row))
    smallest = {p: min(r["rates"][RUNTIME] / r["rates"][p] for r in results if p in r["rates"])
                for p in peers if any(p in r["rates"] for r in results)}
    worst_trace = max(1 - r["rates"][TRACED] / r["rates"][RUNTIME] for r in results)
    lines.append("")
    lines.append("runtime, smallest ratio per peer: " + ", ".join(f"{p} {v:.1f}x" for p, v in smallest.items())
                 + f"; largest loss with the trace on: {worst_trace:.0%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m counterpoint.engine.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=0.3,
                        help="CPU seconds of one repetition (default 0.3; cold scenarios: a fixed number of events)")
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
