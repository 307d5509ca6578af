"""The conversation ledger: an append-only, timestamped record of one session.

Every entry is a frozen dataclass with ``time`` (session seconds) as its first field. The
ledger keeps entries in the order they happened, which for tool outcomes is the order they
*arrived*, not the order of their calls. Entries are immutable, so the prompt renderer may
cache what it made of each one and a fork may share them with its parent. The JSON values an
entry holds (``args``, ``result``) must not be mutated after the entry is appended.

Invariants, checked by :meth:`Ledger.append` (breaking one is a bug in the caller, so it raises
``ValueError`` with the reason):

- times never go backwards;
- a call id is used by one :class:`ToolCall` only;
- :class:`ToolProgress` and :class:`ToolOutcome` refer to a call that is still running, and a
  call has at most one outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal, TypeAlias, get_args, overload

Origin: TypeAlias = Literal["model", "chart"]
Status: TypeAlias = Literal["done", "error", "timeout", "cancelled"]
_ORIGINS: tuple[str, ...] = get_args(Origin)
_STATUSES: tuple[str, ...] = get_args(Status)


@dataclass(frozen=True, slots=True)
class UserTurn:
    """What the user said (or typed)."""

    time: float
    text: str


@dataclass(frozen=True, slots=True)
class AgentTurn:
    """What the agent actually delivered; an interrupted turn holds only the words played."""

    time: float
    text: str
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call started by the model or by a chart action, in state ``state``."""

    time: float
    call_id: str
    tool: str
    args: Mapping[str, Any]
    state: str
    origin: Origin = "model"

    def __post_init__(self) -> None:
        if self.origin not in _ORIGINS:
            raise ValueError(f"tool call origin must be one of {', '.join(_ORIGINS)}, not {self.origin!r}")


@dataclass(frozen=True, slots=True)
class ToolProgress:
    """A progress report of a running call; ``fraction`` is in [0, 1] when the tool knows it."""

    time: float
    call_id: str
    message: str
    fraction: float | None = None


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """How a call ended: ``result`` when done, ``error`` otherwise; ``started`` is the call's time."""

    time: float
    call_id: str
    tool: str
    status: Status
    result: Any
    error: str | None
    started: float

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(f"tool outcome status must be one of {', '.join(_STATUSES)}, not {self.status!r}")


@dataclass(frozen=True, slots=True)
class SubAgentOutcome:
    """How a spawned or forked sub-agent ended."""

    time: float
    agent_id: str
    status: Status
    result: Any
    error: str | None
    started: float

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(f"sub-agent outcome status must be one of {', '.join(_STATUSES)}, not {self.status!r}")


@dataclass(frozen=True, slots=True)
class Note:
    """A note the chart chose to add to the conversation."""

    time: float
    text: str


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer of state ``state`` fired, delivering ``event``."""

    time: float
    state: str
    event: str


Entry: TypeAlias = UserTurn | AgentTurn | ToolCall | ToolProgress | ToolOutcome | SubAgentOutcome | Note | TimerFired

#: The ``type`` tag of each entry class in the JSON form.
_TAGS: dict[type, str] = {
    UserTurn: "user",
    AgentTurn: "agent",
    ToolCall: "tool_call",
    ToolProgress: "tool_progress",
    ToolOutcome: "tool_outcome",
    SubAgentOutcome: "subagent_outcome",
    Note: "note",
    TimerFired: "timer",
}
_CLASSES: dict[str, type] = {tag: cls for cls, tag in _TAGS.items()}
_FIELDS: dict[type, tuple[str, ...]] = {cls: tuple(f.name for f in fields(cls)) for cls in _TAGS}

LEDGER_FORMAT = 1


class Entries(Sequence[Entry]):
    """A read-only, live view of a ledger's entries (it grows as the ledger does)."""

    __slots__ = ("_items",)

    def __init__(self, items: list[Entry]) -> None:
        self._items = items

    @overload
    def __getitem__(self, index: int) -> Entry: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Entry]: ...
    def __getitem__(self, index: int | slice) -> Entry | Sequence[Entry]:
        if isinstance(index, slice):
            return tuple(self._items[index])
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"Entries({self._items!r})"


class Ledger:
    """One session's conversation: append-only, O(1) appends, O(running) running calls."""

    __slots__ = ("_entries", "_view", "_calls", "_running", "_outcomes", "__weakref__")

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entries: list[Entry] = []
        self._view = Entries(self._entries)
        self._calls: dict[str, ToolCall] = {}
        # insertion-ordered: running_calls() lists the oldest call first
        self._running: dict[str, ToolCall] = {}
        self._outcomes: dict[str, ToolOutcome] = {}
        for entry in entries:
            self.append(entry)

    def append(self, entry: Entry) -> None:
        """Record ``entry``; raises ``ValueError`` if it breaks an invariant (see the module)."""
        if type(entry) not in _TAGS:
            raise ValueError(f"not a ledger entry: {entry!r}")
        if self._entries and entry.time < self._entries[-1].time:
            raise ValueError(
                f"ledger times must not go backwards: {type(entry).__name__} at {entry.time} s "
                f"after an entry at {self._entries[-1].time} s"
            )
        if isinstance(entry, ToolCall):
            if entry.call_id in self._calls:
                raise ValueError(f"call id {entry.call_id!r} is already in the ledger: call ids must be unique")
            self._calls[entry.call_id] = entry
            self._running[entry.call_id] = entry
        elif isinstance(entry, ToolProgress | ToolOutcome):
            if entry.call_id not in self._running:
                state = "has already ended" if entry.call_id in self._outcomes else "was never started"
                raise ValueError(
                    f"{type(entry).__name__} for call {entry.call_id!r}, which {state}: "
                    "only running calls report progress or an outcome"
                )
            if isinstance(entry, ToolOutcome):
                del self._running[entry.call_id]
                self._outcomes[entry.call_id] = entry
        self._entries.append(entry)

    @property
    def entries(self) -> Sequence[Entry]:
        """All entries, oldest first (a live, read-only view)."""
        return self._view

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Ledger({len(self._entries)} entries, {len(self._running)} calls running)"

    def running_calls(self) -> tuple[ToolCall, ...]:
        """The calls with no outcome yet, oldest first."""
        return tuple(self._running.values())

    def call(self, call_id: str) -> ToolCall | None:
        """The call with this id, running or ended; None if there is none."""
        return self._calls.get(call_id)

    def outcome(self, call_id: str) -> ToolOutcome | None:
        """The outcome of the call with this id; None while it runs or if there is no such call."""
        return self._outcomes.get(call_id)

    def fork(self) -> Ledger:
        """An independent ledger with the same history, for a forked sub-agent.

        Entries are immutable, so they are shared, not copied: the cost is a few list and dict
        copies of references. Calls running now are running in the fork too (their outcomes
        are recorded in the ledger of the session that owns them).
        """
        child = Ledger.__new__(Ledger)
        child._entries = self._entries.copy()
        child._view = Entries(child._entries)
        child._calls = self._calls.copy()
        child._running = self._running.copy()
        child._outcomes = self._outcomes.copy()
        return child

    # ---------------------------------------------------------------- JSON

    def to_json(self) -> dict[str, Any]:
        """A JSON value (``json.dumps`` accepts it) that :meth:`from_json` turns back into this ledger."""
        out = []
        for entry in self._entries:
            item: dict[str, Any] = {"type": _TAGS[type(entry)]}
            for name in _FIELDS[type(entry)]:
                value = getattr(entry, name)
                item[name] = dict(value) if name == "args" else value
            out.append(item)
        return {"format": LEDGER_FORMAT, "entries": out}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Ledger:
        """The ledger ``to_json`` described; raises ``ValueError`` saying what is malformed."""
        try:
            if raw.get("format") != LEDGER_FORMAT:
                raise ValueError(f"unknown ledger format {raw.get('format')!r} (this version reads {LEDGER_FORMAT})")
            ledger = cls()
            for position, item in enumerate(raw["entries"]):
                tag = item.get("type")
                kind = _CLASSES.get(tag) if isinstance(tag, str) else None
                if kind is None:
                    raise ValueError(f"entry {position}: unknown type {tag!r} (known: {', '.join(_CLASSES)})")
                names = _FIELDS[kind]
                unknown = set(item) - set(names) - {"type"}
                if unknown:
                    raise ValueError(f"entry {position} ({tag}): unknown fields {', '.join(sorted(unknown))}")
                try:
                    entry = kind(**{name: item[name] for name in names if name in item})
                except TypeError as exc:
                    raise ValueError(f"entry {position} ({tag}): {exc}") from exc
                ledger.append(entry)
            return ledger
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"malformed ledger: {exc}") from exc
