"""Random statecharts for the oracle: nesting, parallel regions, history, finals, guards, eventless.

The generator draws through a :class:`Chooser`, so the same code runs from a seeded
``random.Random`` or from hypothesis (which then shrinks failing charts). Choices shrink
towards "less": fewer states, no guard, no action, shallower nesting.

Charts stay within what both engines define and must terminate: eventless transitions
always carry ``[x < K]`` and increment ``x``; ``raise`` appears only on transitions answering
external events; entry/exit actions only increment. Loops through ``done.state.*`` can still
occur; the oracle harness stops both engines and stops comparing when they do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Protocol

from oracle_build import agent

from counterpoint.dsl.model import Agent, Expr, Raise, Set

EXTERNAL = ("e0", "e1", "e2", "e0.x", "e1.y")
DESCRIPTORS = ("e0", "e1", "e2", "e0.x", "e1.y", "e0.*", "*", "i0", "i1")
MAX_DEPTH = 4


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

    def region_of(self, s: Node) -> Node | None:
        """The child of this node containing ``s`` (or being it)."""
        while s.parent is not None and s.parent is not self:
            s = s.parent
        return s if s.parent is self else None


class _Gen:
    def __init__(self, ch: Chooser):
        self.ch = ch
        self.count = 0
        self.history_ids: set[str] = set()
        self.histories: list[Node] = []

    def pick(self, seq: list[Any] | tuple[Any, ...]) -> Any:
        return seq[self.ch.integer(0, len(seq) - 1)]

    def new_id(self) -> str:
        self.count += 1
        return f"s{self.count}"

    def node(self, parent: Node | None, depth: int, final_ok: bool, in_region: bool = False) -> Node:
        n = Node(self.new_id(), "state", parent)
        r = self.ch.integer(0, 99)
        if depth < MAX_DEPTH and r >= 60:
            n.kind = "parallel" if r >= 85 else "state"
            if n.kind == "state":
                self.compound(n, depth)
            else:
                for _ in range(self.ch.integer(2, 3)):
                    region = Node(self.new_id(), "state", n)
                    n.children.append(region)
                    if self.ch.chance(70):
                        # regions of a top-level parallel get no final children: python-statemachine
                        # ends the whole chart when they are all final (docs/semantics.md)
                        self.compound(region, depth + 1, final_ok=depth > 1)
                if self.ch.chance(20):
                    self.history_child(n)
        elif final_ok and r >= 50:
            n.kind = "final"
        return n

    def compound(self, n: Node, depth: int, final_ok: bool = True) -> None:
        for _ in range(self.ch.integer(1, 3)):
            n.children.append(self.node(n, depth + 1, final_ok=final_ok))
        n.initial = self.pick([c.id for c in n.children])
        if self.ch.chance(45):
            self.history_child(n)

    def history_child(self, n: Node) -> None:
        h = Node(self.new_id(), "history", n, history="deep" if self.ch.chance(50) else "shallow")
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
        ))  # fmt: skip

    def transitions(
        self, n: Node, states: list[Node], targets: list[Node], parallels: list[Node], done_events: list[str]
    ) -> dict[str, Any]:
        on: dict[str, list[dict[str, Any]]] = {}
        always: list[dict[str, Any]] = []
        for _ in range(self.ch.integer(0, 3)):
            t: dict[str, Any] = {}
            if self.ch.chance(12):  # eventless: bounded by its guard
                k = self.ch.integer(1, 3)
                t["guard"] = f"x < {k}" + (f" and {self.guard(states)}" if self.ch.chance(30) else "")
                t["do"] = [Set("x", Expr("x + 1"))]
                t["target"] = self.target(targets, parallels, n)
                if self.to_history(t["target"]):
                    continue  # its action would run twice in python-statemachine
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
            actions = []
            if self.ch.chance(35):
                actions.append(
                    self.pick(
                        (
                            Set("x", Expr("x + 1")),
                            Set("x", Expr("(x + 1) % 4")),
                            Set("y", Expr("x")),
                            Set("x", Expr("0")),
                        )
                    )
                )
            if all(e in EXTERNAL for e in events.split()) and self.ch.chance(25):
                actions.append(Raise(self.pick(("i0", "i1"))))
            if actions and not self.to_history(t["target"]):  # python-statemachine runs them twice
                t["do"] = actions
            on.setdefault(events, []).append(t)
        self.no_conflicts(on)
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


def generate(ch: Chooser) -> tuple[Agent, list[str]]:
    """A random chart and a random sequence of external events."""
    g = _Gen(ch)
    top = [g.node(None, 1, final_ok=False)]
    for _ in range(ch.integer(0, 2)):
        top.append(g.node(None, 1, final_ok=ch.chance(30)))
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
        if ch.chance(15):
            spec["entry"] = [Set("y", Expr("y + 1"))]
        if ch.chance(15):
            spec["exit"] = [Set("x", Expr("x + 1"))]
        extra[s.id] = spec
    model = agent({t.id: _spec(t, extra) for t in top}, initial=top[0].id, variables={"x": "0", "y": "0"})
    events = [g.pick(EXTERNAL) for _ in range(ch.integer(4, 20))]
    return model, events
