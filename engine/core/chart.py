"""Compiling a resolved agent into a :class:`Chart`: the immutable tables the pure core runs on.

States become integer indexes in document order (pre-order), index 0 being the agent itself,
an implicit compound state whose children are the top-level states. Because the order is
pre-order, the descendants of state ``s`` are exactly the indexes ``s < i < end[s]``: "is a
descendant", exit sets and "active states under the domain" are interval tests on a sorted
configuration, whatever the size of the chart.

Everything that does not depend on the configuration is computed here once: parents,
ancestor tuples, depth, kinds, initial children, per-state transition lists in document
order (timer transitions after event transitions, eventless ones apart), each transition's
domain (least common compound ancestor) and, unless it targets a history state, its whole
entry set. What depends on the configuration is memoised lazily by :mod:`.plan`, keyed by
immutable inputs, so stepping stays pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Protocol

from counterpoint.dsl.diagnostics import Diagnostic, DiagnosticError
from counterpoint.dsl.model import Agent, State, StateKind, Timer, Tool, Transition
from counterpoint.dsl.names import event_pattern, matches, pattern_matches
from counterpoint.dsl.source import Span
from counterpoint.dsl.validate import validate
from counterpoint.engine.core.actions import Op, compile_actions, compile_bindings
from counterpoint.engine.core.events import BUILTIN_PRIORITIES, DEFAULT_PRIORITY
from counterpoint.engine.core.exprs import Compiled, CompileError, compile_guard, constant_value
from counterpoint.engine.core.timers import timer_key

if TYPE_CHECKING:
    from counterpoint.engine.core.plan import ConfigInfo

ROOT = 0

# state kinds
ATOMIC, COMPOUND, PARALLEL, FINAL, HISTORY = range(5)
KIND_NAMES = ("atomic", "compound", "parallel", "final", "history")

#: Marks a transition whose domain depends on recorded history (computed when taken).
DYNAMIC = -2
#: Domain of a targetless transition: it exits and enters nothing.
NO_DOMAIN = -1


# --------------------------------------------------------------------------- event priorities


def _most_specific(patterns: tuple[tuple[tuple[str, ...] | None, int], ...], name: str) -> int | None:
    best, level = -1, None
    for segments, lv in patterns:
        n = 0 if segments is None else len(segments)
        if n > best and pattern_matches(segments, name):
            best, level = n, lv
    return level


_BUILTIN = tuple((event_pattern(p), lv) for p, lv in BUILTIN_PRIORITIES)


def priority(patterns: tuple[tuple[tuple[str, ...] | None, int], ...], name: str) -> int:
    """The level of the most specific matching declared pattern (more segments wins, then the
    first); when none matches, the runtime's built-in level, else DEFAULT_PRIORITY."""
    level = _most_specific(patterns, name)
    if level is None:
        level = _most_specific(_BUILTIN, name)
    return DEFAULT_PRIORITY if level is None else level


# --------------------------------------------------------------------------- compiled pieces


@dataclass(frozen=True, slots=True, eq=False)
class ChartTransition:
    """A compiled transition. The first fields describe it (for listeners and traces).

    ``domain`` is the state whose descendants it exits and enters (NO_DOMAIN when
    targetless, DYNAMIC when it depends on history); ``entry`` the states it enters in
    document order, or None when that depends on history.
    """

    index: int
    source: str
    targets: tuple[str, ...]
    events: tuple[str, ...]
    guard: str | None
    internal: bool
    timer: str | None
    span: Span
    src: int
    tgts: tuple[int, ...]
    test: Compiled | None
    ops: tuple[Op, ...]
    patterns: tuple[tuple[str, ...] | None, ...]
    domain: int
    entry: tuple[int, ...] | None

    @property
    def event(self) -> str | None:
        return " ".join(self.events) if self.events else None

    def __repr__(self) -> str:
        on = " ".join(self.events) if self.events else "(eventless)"
        return f"<transition #{self.index} {self.source} on {on} -> {', '.join(self.targets) or '(none)'}>"


@dataclass(frozen=True, slots=True)
class TimerSpec:
    """A timer of a state: ``key`` and ``event`` are the same reserved name, never a user event."""

    key: str
    event: str
    delay: float
    repeat: bool
    state: int


# --------------------------------------------------------------------------- the chart


class Structure(Protocol):
    """The per-state structural tables the SCXML helpers below read: a :class:`Chart` has them,
    and so has the compiler's :class:`_Tree`, which needs them before the chart exists."""

    @property
    def parent(self) -> tuple[int, ...]: ...
    @property
    def children(self) -> tuple[tuple[int, ...], ...]: ...
    @property
    def kind(self) -> tuple[int, ...]: ...
    @property
    def end(self) -> tuple[int, ...]: ...
    @property
    def ancestors(self) -> tuple[tuple[int, ...], ...]: ...
    @property
    def initial(self) -> tuple[int, ...]: ...
    @property
    def history_default(self) -> tuple[tuple[int, ...], ...]: ...


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Chart:
    """An agent compiled for the pure core, built once by :func:`compile_chart`. Immutable:
    only the memo tables (the last four fields, filled by :mod:`.plan`) change.

    Public lookups: :attr:`name`, :attr:`agent`, :attr:`ids` (``ids[0]`` is the agent),
    :meth:`index`, :meth:`state`, :meth:`parent_of`, :meth:`ancestors_of`, :meth:`kind_of`,
    :attr:`transitions`, :attr:`timers`, :meth:`priority_of`, :meth:`matches`.
    """

    # Per-state tables are tuples indexed by state index (0 is the agent itself).
    name: str
    agent: Agent
    ids: tuple[str, ...]
    _index: dict[str, int]
    models: tuple[State, ...]
    parent: tuple[int, ...]
    children: tuple[tuple[int, ...], ...]
    history_children: tuple[tuple[int, ...], ...]
    kind: tuple[int, ...]
    atomic: tuple[bool, ...]
    end: tuple[int, ...]
    depth: tuple[int, ...]
    ancestors: tuple[tuple[int, ...], ...]
    initial: tuple[int, ...]
    history_deep: tuple[bool, ...]
    history_default: tuple[tuple[int, ...], ...]
    transitions: tuple[ChartTransition, ...]
    event_transitions: tuple[tuple[ChartTransition, ...], ...]
    eventless: tuple[tuple[ChartTransition, ...], ...]
    has_eventless: tuple[bool, ...]
    entry_ops: tuple[tuple[Op, ...], ...]
    exit_ops: tuple[tuple[Op, ...], ...]
    #: the actions of each compound state's initial transition (run on default entry)
    initial_ops: tuple[tuple[Op, ...], ...]
    #: each final state's ``data``, compiled (None when it declares none)
    outputs: tuple[Callable[[Any], dict[str, Any]] | None, ...]
    timers: tuple[tuple[TimerSpec, ...], ...]
    timer_of_event: dict[str, int]
    initial_entry: tuple[int, ...]
    initial_variables: dict[str, Any]
    variable_names: frozenset[str]
    tools: dict[str, Tool]
    cancel_on_exit: frozenset[str]
    _priorities: tuple[tuple[tuple[str, ...] | None, int], ...]
    _priority_cache: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _chains: dict[str | None, dict[int, tuple[ChartTransition, ...]]] = field(
        default_factory=dict, init=False, repr=False
    )
    _configs: dict[tuple[int, ...], ConfigInfo] = field(default_factory=dict, init=False, repr=False)
    _by_ids: dict[tuple[str, ...], ConfigInfo] = field(default_factory=dict, init=False, repr=False)

    # ---------------------------------------------------------------- lookups

    def index(self, state_id: str) -> int:
        """The index of a state id; raises KeyError for unknown ids."""
        return self._index[state_id]

    def has_state(self, state_id: str) -> bool:
        return state_id in self._index

    def state(self, state_id: str) -> State:
        """The model node of a state (prompt, tools, description...)."""
        return self.models[self._index[state_id]]

    def parent_of(self, state_id: str) -> str | None:
        p = self.parent[self._index[state_id]]
        return None if p <= ROOT else self.ids[p]

    def ancestors_of(self, state_id: str) -> tuple[str, ...]:
        """Proper ancestors, nearest first, without the agent itself."""
        return tuple(self.ids[a] for a in self.ancestors[self._index[state_id]] if a != ROOT)

    def kind_of(self, state_id: str) -> str:
        return KIND_NAMES[self.kind[self._index[state_id]]]

    @property
    def state_ids(self) -> tuple[str, ...]:
        """Every state id in document order (the agent itself excluded)."""
        return self.ids[1:]

    def is_descendant(self, a: int, b: int) -> bool:
        return b < a < self.end[b]

    def matches(self, pattern: str, name: str) -> bool:
        return matches(pattern, name)

    def priority_of(self, name: str) -> int:
        """Queue priority of events named ``name``: the most specific ``priorities`` pattern
        that matches (more segments wins, then declaration order), else DEFAULT_PRIORITY."""
        cached = self._priority_cache.get(name)
        if cached is None:
            cached = priority(self._priorities, name)
            if len(self._priority_cache) < 10_000:
                self._priority_cache[name] = cached
        return cached

    # ---------------------------------------------------------------- dispatch support

    def chain(self, leaf: int, name: str | None) -> tuple[ChartTransition, ...]:
        """Transitions that may answer ``name`` (None: eventless ones) for atomic ``leaf``, in
        selection order: the leaf's own first, then each ancestor's, each in document order."""
        per_name = self._chains.get(name)
        if per_name is None:
            per_name = {}
            if len(self._chains) < 10_000:
                self._chains[name] = per_name
        found = per_name.get(leaf)
        if found is None:
            timer = self.timer_of_event.get(name) if name is not None else None
            out: list[ChartTransition] = []
            for s in (leaf, *self.ancestors[leaf]):
                if name is None:
                    out.extend(self.eventless[s])
                elif timer is not None:
                    out.extend(t for t in self.event_transitions[s] if t.timer == name)
                else:
                    out.extend(
                        t
                        for t in self.event_transitions[s]
                        if t.timer is None and any(pattern_matches(p, name) for p in t.patterns)
                    )
            found = per_name[leaf] = tuple(out)
        return found

    def default_entered(
        self, transitions: tuple[ChartTransition, ...], history: Callable[[int], tuple[int, ...] | None]
    ) -> Callable[[int], bool]:
        """Whether an entered compound state is entered by default (its initial transition is
        taken, SCXML statesForDefaultEntry) rather than on the way to a target inside it."""
        end = self.end
        inside = tuple(x for t in transitions for x in self.effective_targets(t, history))
        return lambda s: not any(s < x < end[s] for x in inside)

    def effective_targets(
        self, t: ChartTransition, history: Callable[[int], tuple[int, ...] | None]
    ) -> tuple[int, ...]:
        out: list[int] = []
        for s in t.tgts:
            if self.kind[s] == HISTORY:
                recorded = history(s)
                out.extend(recorded if recorded is not None else self.history_default[s])
            else:
                out.append(s)
        return tuple(out)

    def domain_of(self, t: ChartTransition, history: Callable[[int], tuple[int, ...] | None]) -> int:
        """SCXML getTransitionDomain; only history targets make it depend on anything."""
        if t.domain != DYNAMIC:
            return t.domain
        return _domain(self, t.src, self.effective_targets(t, history), t.internal)

    def entry_set(
        self,
        transitions: tuple[ChartTransition, ...] | list[ChartTransition],
        history: Callable[[int], tuple[int, ...] | None],
    ) -> set[int]:
        """SCXML computeEntrySet for ``transitions`` given recorded history."""
        enter: set[int] = set()
        for t in transitions:
            if not t.tgts:
                continue
            if t.entry is not None:
                enter.update(t.entry)
                continue
            for s in t.tgts:
                _add_descendants(self, s, enter, history)
            domain = self.domain_of(t, history)
            for s in self.effective_targets(t, history):
                _add_ancestors(self, s, domain, enter, history)
        return enter

    def __repr__(self) -> str:
        return f"<Chart {self.name!r}: {len(self.ids) - 1} states, {len(self.transitions)} transitions>"


# --------------------------------------------------------------------------- SCXML helpers over indexes


def _no_history(h: int) -> None:
    return None


def _domain(tables: Structure, src: int, targets: tuple[int, ...], internal: bool) -> int:
    if not targets:
        return NO_DOMAIN
    end = tables.end
    if internal and tables.kind[src] == COMPOUND and all(src < s < end[src] for s in targets):
        return src
    for anc in tables.ancestors[src]:
        if tables.kind[anc] == COMPOUND and all(anc < s < end[anc] for s in targets):
            return anc
    return ROOT  # unreachable: ROOT is compound and contains every state


def _add_descendants(tables: Structure, s: int, enter: set[int], history: Callable[[int], Any]) -> None:
    kind = tables.kind[s]
    if kind == HISTORY:
        recorded = history(s)
        states = recorded if recorded is not None else tables.history_default[s]
        for x in states:
            _add_descendants(tables, x, enter, history)
        for x in states:
            _add_ancestors(tables, x, tables.parent[s], enter, history)
        return
    enter.add(s)
    if kind == COMPOUND:
        _add_descendants(tables, tables.initial[s], enter, history)
    elif kind == PARALLEL:
        _add_regions(tables, s, enter, history)


def _add_regions(tables: Structure, s: int, enter: set[int], history: Callable[[int], Any]) -> None:
    end = tables.end
    for child in tables.children[s]:
        if not any(child < e < end[child] for e in enter):
            _add_descendants(tables, child, enter, history)


def _add_ancestors(
    tables: Structure, s: int, stop: int, enter: set[int], history: Callable[[int], Any]
) -> None:
    for anc in tables.ancestors[s]:
        if anc in (stop, ROOT):
            break
        enter.add(anc)
        if tables.kind[anc] == PARALLEL:
            _add_regions(tables, anc, enter, history)


def _static_entry(
    tables: Structure, src: int, tgts: tuple[int, ...], internal: bool
) -> tuple[int, tuple[int, ...] | None]:
    """A transition's domain and entry set, when no history state among its targets makes them
    depend on what was recorded: ``(DYNAMIC, None)`` then, and ``(NO_DOMAIN, None)`` when targetless."""
    if any(tables.kind[x] == HISTORY for x in tgts):
        return DYNAMIC, None
    domain = _domain(tables, src, tgts, internal)
    if domain == NO_DOMAIN:
        return domain, None
    enter: set[int] = set()
    reached: list[int] = []  # history states met on the way (an ``initial`` naming one)

    def probe(h: int) -> None:
        reached.append(h)

    for s in tgts:
        _add_descendants(tables, s, enter, probe)
    for s in tgts:
        _add_ancestors(tables, s, domain, enter, probe)
    if reached:  # what is entered depends on what the history recorded
        return DYNAMIC, None
    return domain, tuple(sorted(enter))


# --------------------------------------------------------------------------- compiling


def compile_chart(agent: Agent, *, validated: bool = False) -> Chart:
    """Compile a resolved agent (includes merged). Raises DiagnosticError when it is not sound.

    Soundness is validation's business: the errors :func:`counterpoint.dsl.validate.validate`
    reports (handlers are not imported here) are exactly what makes compiling fail, so
    ``counterpoint validate`` and the runtime never disagree. The compiler itself only turns
    expressions and actions into closures; failures there are diagnostics too, as a safety net.
    ``validated``: the caller already validated ``agent`` without errors (as
    :func:`counterpoint.dsl.files.load_agent` does), so it is not validated a second time.
    """
    if not isinstance(agent, Agent):  # the likeliest mistake: a file name where a model belongs
        what = f"the path {str(agent)!r}" if isinstance(agent, str | PurePath) else f"a {type(agent).__name__}"
        raise TypeError(
            f"compile() takes a resolved Agent, not {what}; "
            "to compile a definition file, call counterpoint.engine.load_chart(path)"
        )
    errors = [] if validated else validation_errors(agent)
    if errors:
        raise DiagnosticError(errors)
    return _Compiler(agent).run()


def validation_errors(agent: Agent) -> list[Diagnostic]:
    """The errors validation reports for ``agent``, without importing tool handlers."""
    base = Path(agent.span.file).parent if agent.span.line > 0 else Path(".")
    try:
        diags = validate(agent, base, check_handlers=False)
    except RecursionError:
        return [Diagnostic("E010", "input too complex (nesting too deep)", agent.span)]
    return [d for d in diags if d.is_error]


@dataclass(frozen=True, slots=True)
class _Tree:
    """The state tree as per-state tables: the chart's structure, computed before anything
    else because domains and entry sets of transitions are computed from it."""

    models: tuple[State, ...]
    index: dict[str, int]
    parent: tuple[int, ...]
    children: tuple[tuple[int, ...], ...]
    history_children: tuple[tuple[int, ...], ...]
    kind: tuple[int, ...]
    end: tuple[int, ...]
    depth: tuple[int, ...]
    ancestors: tuple[tuple[int, ...], ...]
    initial: tuple[int, ...]
    history_deep: tuple[bool, ...]
    history_default: tuple[tuple[int, ...], ...]


def _tree(agent: Agent) -> _Tree:
    """Index the states in pre-order and derive the structural tables (validation has accepted
    the agent: ids are unique, initial children and history defaults exist)."""
    root = State(agent.name or "agent", StateKind.STATE, agent.initial, agent.states, span=agent.span)
    models: list[State] = [root]
    parent: list[int] = [-1]
    index: dict[str, int] = {}
    stack: list[tuple[State, int]] = [(s, ROOT) for s in reversed(agent.states)]
    while stack:  # pre-order, iteratively: nesting depth is not bounded here
        state, p = stack.pop()
        i = len(models)
        models.append(state)
        parent.append(p)
        index.setdefault(state.id, i)  # ids are unique (E102)
        stack.extend((c, i) for c in reversed(state.children))

    n = len(models)
    kind = [COMPOUND] + [ATOMIC] * (n - 1)
    children: list[list[int]] = [[] for _ in range(n)]
    history_children: list[list[int]] = [[] for _ in range(n)]
    for i in range(1, n):
        m = models[i]
        if m.kind is StateKind.HISTORY:
            kind[i] = HISTORY
        elif m.kind is StateKind.FINAL:
            kind[i] = FINAL
        elif m.children:
            kind[i] = PARALLEL if m.kind is StateKind.PARALLEL else COMPOUND
        (history_children if kind[i] == HISTORY else children)[parent[i]].append(i)
    end = list(range(1, n + 1))
    depth = [0] * n
    ancestors: list[tuple[int, ...]] = [()] * n
    for i in range(1, n):
        p = parent[i]
        depth[i] = depth[p] + 1
        ancestors[i] = (p, *ancestors[p])
    for i in range(n - 1, 0, -1):
        end[parent[i]] = max(end[parent[i]], end[i])

    # the initial child: named (E103/E104 make sure it is a child, possibly a history state),
    # or the first child (for the agent: the first top-level state)
    initial = [-1] * n
    for i in range(n):
        if kind[i] == COMPOUND:
            named = models[i].initial
            initial[i] = children[i][0] if named is None else index[named]

    deep = [False] * n
    default: list[tuple[int, ...]] = [()] * n
    for i in range(1, n):
        if kind[i] != HISTORY:
            continue
        m = models[i]
        deep[i] = m.history == "deep"
        p = parent[i]
        if m.default:
            default[i] = tuple(index[x] for x in m.default)  # E101: they exist
        elif kind[p] == COMPOUND:
            # a history that is its parent's initial state falls back to the first child
            default[i] = (initial[p] if initial[p] != i else children[p][0],)
        else:
            default[i] = tuple(children[p])

    return _Tree(
        models=tuple(models),
        index=index,
        parent=tuple(parent),
        children=tuple(tuple(c) for c in children),
        history_children=tuple(tuple(c) for c in history_children),
        kind=tuple(kind),
        end=tuple(end),
        depth=tuple(depth),
        ancestors=tuple(ancestors),
        initial=tuple(initial),
        history_deep=tuple(deep),
        history_default=tuple(default),
    )


class _Compiler:
    """Compiles an agent that validation has accepted: the tree first, then the declarations,
    then every transition complete with its domain and entry set; then the chart, in one go."""

    def __init__(self, agent: Agent):
        self.agent = agent
        self.errors: list[Diagnostic] = []
        self.tree = _tree(agent)
        self.tools: dict[str, Tool] = {t.name: t for t in agent.tools}
        self.variable_names = frozenset(v.name for v in agent.variables)
        self.priorities = tuple((event_pattern(p.event), p.level) for p in agent.priorities)
        self._priority_cache: dict[str, int] = {}
        self.transitions: list[ChartTransition] = []

    def run(self) -> Chart:
        initial_variables = self._initial_variables()
        tree, agent, n = self.tree, self.agent, len(self.tree.models)
        event_transitions: list[tuple[ChartTransition, ...]] = [()] * n
        eventless: list[tuple[ChartTransition, ...]] = [()] * n
        timers: list[tuple[TimerSpec, ...]] = [()] * n
        timer_of_event: dict[str, int] = {}
        entry_ops: list[tuple[Op, ...]] = [()] * n
        exit_ops: list[tuple[Op, ...]] = [()] * n
        initial_ops: list[tuple[Op, ...]] = [()] * n
        outputs: list[Callable[[Any], dict[str, Any]] | None] = [None] * n
        for i in range(1, n):
            m = tree.models[i]
            if tree.kind[i] == HISTORY:
                continue
            entry_ops[i] = self._ops(m.entry)
            exit_ops[i] = self._ops(m.exit)
            initial_ops[i] = self._ops(m.initial_actions)
            if m.data:
                outputs[i] = self._output(m)
            on: list[ChartTransition] = []
            always: list[ChartTransition] = []
            for tr in m.transitions:
                compiled = self._transition(i, tr)
                if compiled is not None:
                    (on if tr.events else always).append(compiled)
            state_timers: list[TimerSpec] = []
            for k, timer in enumerate(m.timers):
                name = timer_key(timer.kind, m.id, k)
                compiled = self._transition(i, timer, name)
                if compiled is not None:
                    on.append(compiled)
                    state_timers.append(TimerSpec(name, name, timer.delay, timer.kind == "every", i))
                    timer_of_event[name] = i
            event_transitions[i] = tuple(on)
            eventless[i] = tuple(always)
            timers[i] = tuple(state_timers)
        if self.errors:
            raise DiagnosticError(self.errors)

        initial_entry: set[int] = set()
        if tree.initial[ROOT] >= 0:
            _add_descendants(tree, tree.initial[ROOT], initial_entry, _no_history)
        tools = self.tools
        return Chart(
            name=agent.name,
            agent=agent,
            ids=tuple(m.id for m in tree.models),
            _index=dict(tree.index),
            models=tree.models,
            parent=tree.parent,
            children=tree.children,
            history_children=tree.history_children,
            kind=tree.kind,
            atomic=tuple(k in (ATOMIC, FINAL) for k in tree.kind),
            end=tree.end,
            depth=tree.depth,
            ancestors=tree.ancestors,
            initial=tree.initial,
            history_deep=tree.history_deep,
            history_default=tree.history_default,
            transitions=tuple(self.transitions),
            event_transitions=tuple(event_transitions),
            eventless=tuple(eventless),
            has_eventless=tuple(bool(e) for e in eventless),
            entry_ops=tuple(entry_ops),
            exit_ops=tuple(exit_ops),
            initial_ops=tuple(initial_ops),
            outputs=tuple(outputs),
            timers=tuple(timers),
            timer_of_event=timer_of_event,
            initial_entry=tuple(sorted(initial_entry)),
            initial_variables=initial_variables,
            variable_names=self.variable_names,
            tools=dict(tools),
            cancel_on_exit=frozenset(t for t, spec in tools.items() if spec.on_exit == "cancel"),
            _priorities=self.priorities,
        )

    def _initial_variables(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for v in self.agent.variables:
            if v.init is None:
                values[v.name] = None
                continue
            try:
                values[v.name] = constant_value(v.init)
            except CompileError as err:
                self.errors.append(err.diagnostic)
        return values

    def _priority_of(self, name: str) -> int:
        cache = self._priority_cache
        if name not in cache:
            cache[name] = priority(self.priorities, name)
        return cache[name]

    def _ops(self, actions: tuple[Any, ...]) -> tuple[Op, ...]:
        return compile_actions(actions, self.tools, self.variable_names, self._priority_of, self.errors)

    def _output(self, state: State) -> Callable[[Any], dict[str, Any]] | None:
        try:
            return compile_bindings(state.data, f"data of final state '{state.id}'")
        except CompileError as err:
            self.errors.append(err.diagnostic)
            return None

    def _transition(
        self, src: int, tr: Transition | Timer, timer: str | None = None
    ) -> ChartTransition | None:
        tree = self.tree
        before = len(self.errors)
        targets = tuple(tree.index[x] for x in tr.targets)  # E101: they exist
        test = None
        if tr.guard is not None:
            try:
                test = compile_guard(tr.guard)
            except CompileError as err:
                self.errors.append(err.diagnostic)
        ops = self._ops(tr.actions)
        if len(self.errors) > before:
            return None
        if isinstance(tr, Timer):
            events: tuple[str, ...] = (timer,) if timer else ()
            internal = False
        else:
            events, internal = tr.events, tr.internal
        domain, entry = _static_entry(tree, src, targets, internal)
        t = ChartTransition(
            index=len(self.transitions),
            source=tree.models[src].id,
            targets=tuple(tree.models[x].id for x in targets),
            events=events,
            guard=tr.guard.source if tr.guard is not None else None,
            internal=internal,
            timer=timer,
            span=tr.span,
            src=src,
            tgts=targets,
            test=test,
            ops=ops,
            patterns=tuple(event_pattern(e) for e in events) if timer is None else (),
            domain=domain,
            entry=entry,
        )
        self.transitions.append(t)
        return t


def describe(chart: Chart) -> Mapping[str, Any]:
    """A JSON-able summary of the compiled tables (for debugging and docs)."""
    return {
        "states": [
            {
                "id": chart.ids[i],
                "kind": KIND_NAMES[chart.kind[i]],
                "parent": chart.ids[chart.parent[i]] if i else None,
                "depth": chart.depth[i],
            }
            for i in range(1, len(chart.ids))
        ],
        "transitions": [
            {
                "source": t.source,
                "events": list(t.events),
                "targets": list(t.targets),
                "domain": chart.ids[t.domain] if t.domain >= 0 else None,
                "entry": [chart.ids[s] for s in t.entry] if t.entry is not None else None,
            }
            for t in chart.transitions
        ],
    }
