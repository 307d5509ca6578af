"""Random statecharts for the oracle: nesting, parallel regions, history, finals, guards, eventless.

The generator draws through a :class:`Chooser`, so the same code runs from a seeded
``random.Random`` or from hypothesis (which then shrinks failing charts). Choices shrink
towards "less": fewer states, no guard, no action, shallower nesting.

Besides random nesting, every chart is likely to hold a *history gadget*: a top-level compound
nested at least three levels deep, with a deep and/or shallow history, a parallel state whose
regions can all finish (``done.state`` of a parallel state, listened for), a transition out and
one back in through the history. Entry, exit and transition actions fold a per-action constant
into ``h`` (``h = (h * 7 + k) % M``), so the *order* in which actions ran is part of the compared
variables; they also ``raise`` internal events and set the flag ``f`` that eventless transitions
wait for. The event sequence is a :class:`Walk`: mostly events that some active state listens
for, weighted towards leaving a state that has history and coming back through the history.

Charts stay within what both engines define and mostly terminate: eventless transitions
always carry ``[x < K]`` (and increment ``x``) or ``[f == 1]`` (and reset ``f``); transitions
answering internal events raise nothing themselves. Loops (through ``raise`` in entry/exit
actions or ``done.state.*`` listeners) still occur in a few percent of the charts; the oracle
harness stops both engines at the same count and checks that both looped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Protocol

from counterpoint.dsl import Agent, Expr, Raise, Set
from counterpoint.dsl.names import matches
from helpers.oracle_build import agent

EXTERNAL = ("e0", "e1", "e2", "e0.x", "e1.y")
INTERNAL = ("i0", "i1", "i2")
DESCRIPTORS = ("e0", "e1", "e2", "e0.x", "e1.y", "e0.*", "*", *INTERNAL)
MAX_DEPTH = 4
VARIABLES = {"x": "0", "y": "0", "h": "0", "f": "0"}


def tag(k: int) -> Set:
    """An action whose effect depends on when it runs relative to the other tags."""
    return Set("h", Expr(f"(h * 7 + {k}) % 1000003"))


class Chooser(Protocol):
    def integer(self, lo: int, hi: int) -> int: ...

    def chance(self, percent: int) -> bool: ...


class RandomChooser:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def chance(self, percent: int) -> bool:
        return self.rng.randrange(100) < percent


class DataChooser:
    """Draws from hypothesis' ``st.data()``: zero is the simplest choice of every draw."""

    def __init__(self, data: Any):
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(self.st.integers(lo, hi))

    def chance(self, percent: int) -> bool:
        return self.data.draw(self.st.integers(0, 99)) >= 100 - percent


@dataclass
class Node:
    id: str
    kind: str  # state | parallel | final | history
    parent: Node | None
    children: list[Node] = field(default_factory=list)
    initial: str | None = None
    history: str | None = None
    default: str | None = None

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def descendants(self):
        for c in self.children:
            yield from c.walk()


class _Gen:
    def __init__(self, ch: Chooser):
        self.ch = ch
        self.count = 0
        self.tags = 0
        self.history_ids: set[str] = set()
        self.histories: list[Node] = []

    def pick(self, seq: list[Any] | tuple[Any, ...]) -> Any:
        return seq[self.ch.integer(0, len(seq) - 1)]

    def new_id(self) -> str:
        self.count += 1
        return f"s{self.count}"

    def tag(self) -> Set:
        self.tags += 1
        return tag(self.tags)

    def node(self, parent: Node | None, depth: int, final_ok: bool) -> Node:
        n = Node(self.new_id(), "state", parent)
        r = self.ch.integer(0, 99)
        if depth < MAX_DEPTH and r >= 60:
            n.kind = "parallel" if r >= 85 else "state"
            if n.kind == "state":
                self.compound(n, depth)
            else:
                self.parallel(n, depth)
        elif final_ok and r >= 50:
            n.kind = "final"
        return n

    def parallel(self, n: Node, depth: int, finishing: bool = False) -> None:
        """Regions; ``finishing``: each region is a compound that can reach a final child."""
        n.kind = "parallel"
        for _ in range(self.ch.integer(2, 3)):
            region = Node(self.new_id(), "state", n)
            n.children.append(region)
            if finishing:
                work = Node(self.new_id(), "state", region)
                if depth + 2 < MAX_DEPTH + 1 and self.ch.chance(40):
                    self.compound(work, depth + 2, final_ok=False)
                region.children += [work, Node(self.new_id(), "final", region)]
                region.initial = work.id
            elif self.ch.chance(70):
                # regions of a top-level parallel get no final children: python-statemachine
                # ends the whole chart when they are all final (docs/semantics.md)
                self.compound(region, depth + 1, final_ok=depth > 1)
        if self.ch.chance(20):
            self.history_child(n)

    def compound(self, n: Node, depth: int, final_ok: bool = True) -> None:
        for _ in range(self.ch.integer(1, 3)):
            n.children.append(self.node(n, depth + 1, final_ok=final_ok))
        n.initial = self.pick([c.id for c in n.children])
        if self.ch.chance(45):
            self.history_child(n)

    def gadget(self) -> Node:
        """A top-level compound nested three or four levels deep, with history and a parallel
        state that can finish: what distinguishes deep from shallow history and raises
        ``done.state`` for compound and parallel states."""
        g = Node(self.new_id(), "state", None)
        self.nest(g, 1, 2)
        kinds = self.pick((("deep",), ("shallow",), ("deep", "shallow"), ("deep",)))
        for kind in kinds:
            self.history_child(g, kind)
        return g

    def nest(self, n: Node, depth: int, levels: int) -> None:
        inner = Node(self.new_id(), "state", n)
        n.children.append(inner)
        if levels > 1:
            self.nest(inner, depth + 1, levels - 1)
        else:
            self.compound(inner, depth + 1)
        for _ in range(1 if depth == 1 else self.ch.integer(0, 1)):
            if self.ch.chance(60 if depth == 1 else 30):
                p = Node(self.new_id(), "parallel", n)
                self.parallel(p, depth + 1, finishing=True)
                n.children.append(p)
            else:
                n.children.append(self.node(n, depth + 1, final_ok=self.ch.chance(30)))
        n.initial = self.pick([c.id for c in n.children])
        if n.children[-1].kind == "parallel" and self.ch.chance(50):
            n.initial = n.children[-1].id  # start in the parallel state that can finish
        if depth > 1 and self.ch.chance(30):
            self.history_child(n)

    def history_child(self, n: Node, kind: str | None = None) -> None:
        if kind is None:
            kind = "deep" if self.ch.chance(50) else "shallow"
        h = Node(self.new_id(), "history", n, history=kind)
        candidates = [d for d in n.descendants() if d.kind != "history"]
        if candidates and self.ch.chance(50):
            h.default = self.pick(candidates).id
        n.children.append(h)

    # ---------------------------------------------------------------- transitions

    def guard(self, states: list[Node]) -> str:
        k = self.ch.integer(0, 3)
        op = self.pick(("<", ">", "==", "!=", ">=", "<="))
        other = self.pick(states).id
        return self.pick((
            f"x {op} {k}",
            f"In('{other}')",
            f"not In('{other}')",
            f"x {op} {k} and In('{other}')",
            f"y == {k} or x > {k}",
            f"f == {k % 2}",
        ))  # fmt: skip

    def actions(self, external: bool) -> list[Any]:
        """Transition actions; only transitions answering external events raise (no loops)."""
        actions: list[Any] = []
        if self.ch.chance(35):
            actions.append(
                self.pick(
                    (
                        Set("x", Expr("x + 1")),
                        Set("x", Expr("(x + 1) % 4")),
                        Set("y", Expr("x")),
                        Set("x", Expr("0")),
                        Set("f", Expr("1")),
                    )
                )  # fmt: skip
            )
        if self.ch.chance(30):
            actions.append(self.tag())
        if external and self.ch.chance(30):
            actions.append(Raise(self.pick(INTERNAL)))
            if self.ch.chance(30):
                actions.append(Raise(self.pick(INTERNAL)))
        return actions

    def transitions(
        self, n: Node, states: list[Node], targets: list[Node], parallels: list[Node], done_events: list[str]
    ) -> dict[str, Any]:
        on: dict[str, list[dict[str, Any]]] = {}
        always: list[dict[str, Any]] = []
        for _ in range(self.ch.integer(0, 3)):
            t: dict[str, Any] = {}
            if self.ch.chance(15):  # eventless: bounded by its guard
                t["target"] = self.target(targets, parallels, n)
                if self.to_history(t["target"]):
                    continue  # its action would run twice in python-statemachine
                k = self.ch.integer(1, 3)
                if self.ch.chance(50):
                    t["guard"] = "f == 1"
                    t["do"] = [Set("f", Expr("0"))]
                else:
                    t["guard"] = f"x < {k}" + (f" and {self.guard(states)}" if self.ch.chance(30) else "")
                    t["do"] = [Set("x", Expr("x + 1"))]
                if self.ch.chance(30):
                    t["do"].append(self.tag())
                if self.ch.chance(20):
                    t["do"].append(Raise(self.pick(INTERNAL)))
                if self.ch.chance(20):
                    t["internal"] = True
                always.append(t)
                continue
            events = self.pick(DESCRIPTORS + tuple(done_events))
            if self.ch.chance(10):
                events += " " + self.pick(DESCRIPTORS)
            if self.ch.chance(30):
                t["guard"] = self.guard(states)
            t["target"] = self.target(targets, parallels, n)
            if self.ch.chance(20):
                t["internal"] = True
            actions = self.actions(all(e in EXTERNAL for e in events.split()))
            if actions and not self.to_history(t["target"]):  # python-statemachine runs them twice
                t["do"] = actions
            on.setdefault(events, []).append(t)
        spec: dict[str, Any] = {}
        if on:
            spec["on"] = on
        if always:
            spec["always"] = always
        return spec

    @staticmethod
    def no_conflicts(on: dict[str, list[dict[str, Any]]]) -> None:
        """A second unguarded transition on the same events is E111 (compile rejects it): give
        it an always-true guard (x never goes below 0), which keeps document-order selection."""
        unguarded: set[frozenset[str]] = set()
        for events, ts in on.items():
            key = frozenset(events.split())
            for t in ts:
                if "guard" in t:
                    continue
                if key in unguarded:
                    t["guard"] = "x >= 0"
                unguarded.add(key)

    def to_history(self, target: str | None) -> bool:
        return bool(target) and any(self.history_ids.__contains__(x) for x in target.split())

    def deviating_history(self, source: Node, h: Node) -> bool:
        """From inside its parent, a deep history (or a default below a child) makes the
        reference exit more than SCXML does (it records compound states too), and makes
        SCXML's entry set name active ancestors (see docs/semantics.md)."""
        parent = h.parent
        inside = any(d is source for d in parent.descendants()) if parent is not None else False
        deep_default = h.default is not None and not any(c.id == h.default for c in parent.children)
        return inside and (h.history == "deep" or deep_default)

    def target(self, targets: list[Node], parallels: list[Node], source: Node | None = None) -> str | None:
        r = self.ch.integer(0, 99)
        if r < 12:
            return None
        if r < 32 and self.histories:
            h = self.pick(self.histories)
            if source is None or not self.deviating_history(source, h):
                return h.id
            return None
        if r >= 95 and parallels:
            p = self.pick(parallels)
            regions = [c for c in p.children if c.kind != "history"]
            a, b = self.pick(regions), self.pick(regions)
            if a is not b:
                ta = self.pick([x for x in a.walk() if x.kind != "history"])
                tb = self.pick([x for x in b.walk() if x.kind != "history"])
                return f"{ta.id} {tb.id}"
        if self.ch.chance(40):  # a leaf: reaches non-initial nested configurations
            return self.pick([t for t in targets if not t.children and t.kind != "history"]).id
        choice = self.pick(targets)
        if choice.kind == "history" and source is not None and self.deviating_history(source, choice):
            return None
        return choice.id

    def wire_gadget(self, g: Node, outside: list[Node], extra: dict[str, dict[str, Any]]) -> None:
        """Moves inside the gadget, a way out and a way back in through each history, and a
        listener for the ``done.state`` of each of its compound and parallel states. They come
        first in each state's transitions, so document order gives them priority."""

        def add(s: Node, events: str, t: dict[str, Any]) -> None:
            on = extra.setdefault(s.id, {}).setdefault("on", {})
            on[events] = [t, *on.get(events, [])]

        inner = [s for s in g.descendants() if s.kind in ("state", "parallel")]
        for s in inner:
            leaves = (
                [x for x in s.parent.descendants() if not x.children and x.kind == "state"]
                if s.parent
                else []
            )
            finals: list[Node] = []
            anc = s.parent
            while anc is not None and anc is not g and not finals:  # the nearest region's finals
                finals = [c for c in anc.children if c.kind == "final"]
                anc = anc.parent
            if not s.children and finals and self.ch.chance(90):  # finish a region
                add(s, self.pick(EXTERNAL), {"target": self.pick(finals).id})
            elif not s.children and leaves and self.ch.chance(60):  # move to another leaf nearby
                t = {"target": self.pick(leaves).id}
                if self.ch.chance(40):
                    t["do"] = self.actions(True)
                add(s, self.pick(EXTERNAL), t)
            if s.children and any(c.kind == "final" for c in s.walk()) and self.ch.chance(70):
                t = {"target": self.pick(outside).id if self.ch.chance(50) else None}
                t["do"] = [self.tag()]
                add(s.parent if s.parent is not None and self.ch.chance(30) else s, f"done.state.{s.id}", t)
        for s in [x for x in inner if not x.children and x.kind == "state"]:
            if self.ch.chance(25):
                add(s, self.pick(EXTERNAL), {"target": self.pick(outside).id})  # leave from deep inside
        add(g, self.pick(EXTERNAL), {"target": self.pick(outside).id, "do": [self.tag()]})
        for h in [c for c in g.children if c.kind == "history"]:
            add(self.pick(outside), self.pick(EXTERNAL), {"target": h.id})


def _spec(n: Node, extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if n.kind != "state":
        spec["type"] = n.kind
    if n.kind == "history":
        spec["history"] = n.history
        if n.default:
            spec["default"] = n.default
        return spec
    if n.initial:
        spec["initial"] = n.initial
    if n.children:
        spec["states"] = {c.id: _spec(c, extra) for c in n.children}
    spec.update(extra.get(n.id, {}))
    return spec


class Walk:
    """A sequence of external events chosen as the chart runs: mostly ones that some active
    state listens for, weighted towards leaving history parents and entering history states.

    ``next(configuration)`` gives the next event (None: the walk is over). The oracle asks with
    the configuration both engines agreed on, so a faulty engine sees the same events as a
    correct one until it first disagrees.
    """

    def __init__(self, ch: Chooser, length: int, listeners: dict[str, list[tuple[tuple[str, ...], int]]]):
        self.ch, self.length, self.listeners = ch, length, listeners
        self.sent: list[str] = []

    def next(self, configuration: set[str] | tuple[str, ...]) -> str | None:
        if len(self.sent) >= self.length:
            return None
        weights = dict.fromkeys(EXTERNAL, 0)
        for sid in configuration:
            for patterns, weight in self.listeners.get(sid, ()):
                for name in EXTERNAL:
                    if any(matches(p, name) for p in patterns):
                        weights[name] = max(weights[name], weight)
        total = sum(weights.values())
        if total == 0 or self.ch.chance(15):
            name = EXTERNAL[self.ch.integer(0, len(EXTERNAL) - 1)]
        else:
            r = self.ch.integer(0, total - 1)
            for name, w in weights.items():  # noqa: B007 - the loop picks ``name``
                if r < w:
                    break
                r -= w
        self.sent.append(name)
        return name


def _listeners(
    top: list[Node], extra: dict[str, dict[str, Any]], history_ids: set[str]
) -> dict[str, list[tuple[tuple[str, ...], int]]]:
    """Per state: the descriptors of its event transitions and how much the walk wants them
    (entering a history: 3; leaving a state that has a history child: 2; otherwise 1)."""
    nodes = {n.id: n for t in top for n in t.walk()}
    out: dict[str, list[tuple[tuple[str, ...], int]]] = {}
    for sid, spec in extra.items():
        for events, ts in (spec.get("on") or {}).items():
            for t in ts:
                targets = (t.get("target") or "").split()
                weight = 1
                if any(x in history_ids for x in targets):
                    weight = 3
                elif targets:
                    anc = nodes[sid]
                    while anc is not None:
                        if any(c.kind == "history" for c in anc.children) and not all(
                            any(d.id == x for d in anc.descendants()) for x in targets
                        ):
                            weight = 2
                            break
                        anc = anc.parent
                out.setdefault(sid, []).append((tuple(events.split()), weight))
    return out


def generate(ch: Chooser) -> tuple[Agent, Walk]:
    """A random chart and the walk of external events to run it with."""
    g = _Gen(ch)
    top = [g.gadget()] if ch.chance(75) else []
    top.append(g.node(None, 1, final_ok=False))
    for _ in range(0 if len(top) > 1 else ch.integer(1, 2)):
        top.append(g.node(None, 1, final_ok=ch.chance(30)))
    if top[0].kind == "final":
        top.reverse()
    everything = [s for t in top for s in t.walk()]
    states = [s for s in everything if s.kind != "history"]
    parallels = [s for s in states if s.kind == "parallel"]
    g.histories = [s for s in everything if s.kind == "history"]
    g.history_ids = {h.id for h in g.histories}
    done_events = [f"done.state.{s.id}" for s in states if s.children]
    extra: dict[str, dict[str, Any]] = {}
    for s in states:
        if s.kind == "final":
            spec: dict[str, Any] = {}
        else:
            spec = g.transitions(s, states, everything, parallels, done_events)
        entry: list[Any] = []
        if ch.chance(15):
            entry.append(Set("y", Expr("y + 1")))
        if ch.chance(35):
            entry.append(g.tag())
        if ch.chance(10):
            entry.append(Raise(g.pick(INTERNAL)))
        exit_: list[Any] = []
        if ch.chance(15):
            exit_.append(Set("x", Expr("x + 1")))
        if ch.chance(35):
            exit_.append(g.tag())
        if ch.chance(10):
            exit_.append(Raise(g.pick(INTERNAL)))
        if entry:
            spec["entry"] = entry
        if exit_:
            spec["exit"] = exit_
        extra[s.id] = spec
    outside = [t for t in top[1:] if t.kind != "final"]
    if outside and any(c.kind == "history" for c in top[0].children):
        g.wire_gadget(top[0], outside, extra)
    for spec in extra.values():
        if "on" in spec:
            g.no_conflicts(spec["on"])
    model = agent({t.id: _spec(t, extra) for t in top}, initial=top[0].id, variables=dict(VARIABLES))
    return model, Walk(ch, ch.integer(5, 16), _listeners(top, extra, g.history_ids))
