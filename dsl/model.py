"""The agent model: what both syntaxes parse into and both printers print from.

All nodes are frozen dataclasses. Each carries a ``span`` (where it was written) that is
excluded from equality, so a definition read from YAML equals the same definition read
from the textual syntax. Collections are tuples so models are immutable and hashable.

Durations are stored as float seconds. Expressions (guards, ``set`` values, call
arguments, event data) are kept as their source text in :class:`Expr`; they are parsed
by :mod:`counterpoint.dsl.expr.parse` when validated or compiled, never evaluated by Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, TypeAlias

from counterpoint.dsl.source import NO_SPAN, Span


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Expr:
    """An expression in the safe expression language, kept as (stripped) source text."""

    source: str
    span: Span = _span()


#: Name/expression pairs: call arguments, event data. Order is kept as written.
Bindings: TypeAlias = tuple[tuple[str, Expr], ...]


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Say:
    """Speak ``text``; ``{expr}`` inside the text is interpolated."""

    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Respond:
    """Start an LLM turn, optionally with an extra instruction for this turn only."""

    prompt: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    """Start a tool call in the background. ``id`` names the call so it can be cancelled."""

    tool: str
    args: Bindings = ()
    id: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Cancel:
    """Cancel running tool calls: ``target`` is a tool name or a call id."""

    target: str
    span: Span = _span()


@dataclass(frozen=True)
class Raise:
    """Put an event on the internal queue (processed in the current macrostep)."""

    event: str
    data: Bindings = ()
    span: Span = _span()


@dataclass(frozen=True)
class Send:
    """Put an event on the external queue, optionally after ``delay`` seconds.

    A delayed send with an ``id`` can be cancelled with :class:`CancelSend`.
    """

    event: str
    data: Bindings = ()
    delay: float | None = None
    id: str | None = None
    priority: int | None = None
    span: Span = _span()


@dataclass(frozen=True)
class CancelSend:
    id: str
    span: Span = _span()


@dataclass(frozen=True)
class Set:
    """Assign the value of ``expr`` to the declared variable ``var``."""

    var: str
    expr: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Log:
    """Write ``text`` (with ``{expr}`` interpolation) to the trace."""

    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Spawn:
    """Start a sub-agent from the definition file ``agent``.

    ``fork=False`` (spawn) gives it a fresh context; ``fork=True`` gives it a copy of the
    ledger. Its result comes back as ``agent.<id>.done`` (or ``.error``).
    """

    agent: str
    id: str | None = None
    task: str | None = None
    fork: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class Branch:
    """One ``if``/``elif`` arm of an :class:`If`: ``actions`` run when ``cond`` holds."""

    cond: Expr
    actions: tuple[Action, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class If:
    """Conditional actions: the first branch whose condition holds runs, else ``orelse``.

    ``branches[0]`` is the ``if``, the others are ``elif``s, in order.
    """

    branches: tuple[Branch, ...]
    orelse: tuple[Action, ...] = ()
    span: Span = _span()


Action: TypeAlias = Say | Respond | Call | Cancel | Raise | Send | CancelSend | Set | Log | Spawn | If


def flatten(actions: tuple[Action, ...]) -> Iterator[Action]:
    """Every action of a block in document order, those inside ``if`` branches included
    (each :class:`If` itself comes before its branches' actions)."""
    for a in actions:
        yield a
        if isinstance(a, If):
            for b in a.branches:
                yield from flatten(b.actions)
            yield from flatten(a.orelse)

# --------------------------------------------------------------------------- transitions and timers


@dataclass(frozen=True)
class Transition:
    """``events`` empty means eventless; ``targets`` empty means targetless.

    ``internal`` only matters for transitions whose targets are descendants of the source
    state: then the source is not exited and re-entered.
    """

    events: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    guard: Expr | None = None
    actions: tuple[Action, ...] = ()
    internal: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class Timer:
    """``after`` fires once, ``every`` repeatedly, while the declaring state is active."""

    kind: Literal["after", "every"]
    delay: float
    targets: tuple[str, ...] = ()
    guard: Expr | None = None
    actions: tuple[Action, ...] = ()
    span: Span = _span()


# --------------------------------------------------------------------------- states


class StateKind(StrEnum):
    STATE = "state"  # atomic or compound, depending on children
    PARALLEL = "parallel"
    FINAL = "final"
    HISTORY = "history"


@dataclass(frozen=True)
class State:
    id: str
    kind: StateKind = StateKind.STATE
    initial: str | None = None
    children: tuple[State, ...] = ()
    transitions: tuple[Transition, ...] = ()
    timers: tuple[Timer, ...] = ()
    entry: tuple[Action, ...] = ()
    exit: tuple[Action, ...] = ()
    prompt: str | None = None
    tools: tuple[str, ...] = ()
    description: str | None = None
    #: where each name in ``tools`` was written (for diagnostics; not part of equality)
    tools_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)
    #: history states only: "shallow" or "deep", and the default targets
    history: Literal["shallow", "deep"] | None = None
    default: tuple[str, ...] = ()
    #: the children, initial and declarations of this state come from another file
    include: str | None = None
    #: actions of the initial transition: they run after ``entry`` when the state is entered
    #: by default (not when a transition targets one of its descendants)
    initial_actions: tuple[Action, ...] = ()
    #: final states only: the data of the ``done.state.<parent>`` event (and, for a top-level
    #: final state, the agent's result)
    data: Bindings = ()
    span: Span = _span()


# --------------------------------------------------------------------------- agent-level declarations


@dataclass(frozen=True)
class Param:
    """A tool parameter; ``type`` is a JSON Schema type name."""

    name: str
    type: str = "string"
    description: str | None = None
    required: bool = True
    enum: tuple[str | int | float | bool, ...] | None = None
    span: Span = _span()


#: The events of a tool call, ``tool.<name>.<kind>``, with the data fields each carries
#: (docs/language.md): the runtime produces them, validation and the core read them.
_TIMES = frozenset({"call_id", "started", "ended", "elapsed"})
TOOL_EVENTS: dict[str, frozenset[str]] = {
    "started": frozenset({"call_id", "args", "state", "origin"}),
    "progress": frozenset({"call_id", "progress", "message"}),
    "done": _TIMES | {"result"},
    "error": _TIMES | {"error"},
    "timeout": _TIMES | {"timeout"},
    "cancelled": _TIMES | {"reason"},
}

#: The kinds of tool events that end a call: after one of them the call is no longer pending.
TOOL_CALL_ENDINGS = frozenset(TOOL_EVENTS) - {"started", "progress"}


@dataclass(frozen=True)
class Tool:
    name: str
    handler: str  # "module:function"
    params: tuple[Param, ...] = ()
    description: str | None = None
    timeout: float | None = None
    on_interrupt: Literal["keep", "cancel"] = "keep"
    on_exit: Literal["keep", "cancel"] = "cancel"
    deliver: Literal["interrupt", "when_idle", "silent"] = "when_idle"
    span: Span = _span()
    #: where the handler text was written (for diagnostics)
    handler_span: Span = _span()


@dataclass(frozen=True)
class Variable:
    name: str
    init: Expr | None = None
    span: Span = _span()


@dataclass(frozen=True)
class EventDecl:
    """An event the host may send, with the names of its data fields."""

    name: str
    fields: tuple[str, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class Priority:
    """Events matching ``event`` (a pattern) are queued with ``level``; lower is more urgent."""

    event: str
    level: int
    span: Span = _span()


@dataclass(frozen=True)
class LLMSettings:
    provider: str | None = None  # "openai" (any compatible endpoint) or "embedded"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    span: Span = _span()


@dataclass(frozen=True)
class VoiceSettings:
    asr: str | None = None
    tts: str | None = None
    language: str | None = None
    speed: float | None = None
    vad_threshold: float | None = None  # Silero speech probability (0-1) that counts as speech
    min_barge_in: float | None = None  # seconds of speech before the user's voice stops the agent
    end_of_turn: float | None = None  # seconds of silence that end the user's turn
    span: Span = _span()


@dataclass(frozen=True)
class Include:
    """A file whose declarations and top-level states are merged into this agent.

    ``std:NAME`` names a definition shipped with counterpoint (e.g. ``std:dialog``);
    other paths are relative to the including file.
    """

    path: str
    span: Span = _span()


@dataclass(frozen=True)
class Agent:
    name: str
    description: str | None = None
    instructions: str | None = None
    llm: LLMSettings | None = None
    voice: VoiceSettings | None = None
    allow: tuple[str, ...] = ()  # packages tool handlers may come from, besides the agent's folder
    includes: tuple[Include, ...] = ()
    variables: tuple[Variable, ...] = ()
    events: tuple[EventDecl, ...] = ()
    priorities: tuple[Priority, ...] = ()
    tools: tuple[Tool, ...] = ()
    initial: str | None = None
    states: tuple[State, ...] = ()
    span: Span = _span()
    #: Where ``initial`` is written, for diagnostics (not part of the agent's value).
    initial_span: Span | None = field(default=None, compare=False)


# --------------------------------------------------------------------------- helpers


def walk_states(states: tuple[State, ...]) -> Iterator[State]:
    """Yield every state in document order (pre-order), descendants included."""
    for s in states:
        yield s
        yield from walk_states(s.children)


def walk_with_parent(
    states: tuple[State, ...], parent: State | None = None
) -> Iterator[tuple[State, State | None]]:
    """Yield ``(state, parent)`` pairs in document order; top-level states have parent None."""
    for s in states:
        yield s, parent
        yield from walk_with_parent(s.children, s)
