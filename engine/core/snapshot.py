"""Snapshot: everything the pure core needs to continue a chart, as one small immutable value.

A snapshot holds the active configuration (state ids in document order), recorded history,
variables, internal events not yet processed (empty between macrosteps), the entry epoch of
every state with timers, the counters behind generated call and agent ids, the pending tool
calls and whether the chart has finished. ``to_json()``/``from_json()`` round-trip it exactly.

Mappings are exposed read-only; the core never mutates a mapping it has put in a snapshot
(it copies on write), so snapshots can be shared freely. A snapshot also carries a private
pointer to the chart's memo entry for its configuration, which lets ``step`` skip a lookup;
it is not part of the value (not compared, not serialised).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from counterpoint.engine.core.events import Event

if TYPE_CHECKING:
    from counterpoint.engine.core.plan import ConfigInfo

_EMPTY: dict[str, Any] = {}


class Snapshot:
    __slots__ = (
        "configuration",
        "finished",
        "_vars",
        "_history",
        "_internal",
        "_epochs",
        "_counters",
        "_pending",
        "_info",
    )

    configuration: tuple[str, ...]
    finished: bool
    _vars: dict[str, Any]
    _history: dict[str, tuple[str, ...]]
    _internal: tuple[Event, ...]
    _epochs: dict[str, int]
    _counters: dict[str, int]
    _pending: dict[str, tuple[str, str]]
    #: the chart's memo entry for this configuration (not part of the value)
    _info: ConfigInfo | None

    def __init__(
        self,
        configuration: tuple[str, ...] | list[str] = (),
        variables: Mapping[str, Any] | None = None,
        history: Mapping[str, tuple[str, ...] | list[str]] | None = None,
        internal: tuple[Event, ...] | list[Event] = (),
        epochs: Mapping[str, int] | None = None,
        counters: Mapping[str, int] | None = None,
        pending: Mapping[str, tuple[str, str] | list[str]] | None = None,
        finished: bool = False,
    ) -> None:
        _set = object.__setattr__
        _set(self, "configuration", tuple(configuration))
        _set(self, "finished", bool(finished))
        _set(self, "_vars", dict(variables or {}))
        _set(self, "_history", {k: tuple(v) for k, v in (history or {}).items()})
        _set(self, "_internal", tuple(internal))
        _set(self, "_epochs", {k: int(v) for k, v in (epochs or {}).items()})
        _set(self, "_counters", {k: int(v) for k, v in (counters or {}).items()})
        _set(self, "_pending", {k: (v[0], v[1]) for k, v in (pending or {}).items()})
        _set(self, "_info", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Snapshot is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Snapshot is immutable")

    # ---------------------------------------------------------------- read-only views

    @property
    def variables(self) -> Mapping[str, Any]:
        return MappingProxyType(self._vars)

    @property
    def history(self) -> Mapping[str, tuple[str, ...]]:
        """History state id -> the state ids it recorded (children, or atomic descendants if deep)."""
        return MappingProxyType(self._history)

    @property
    def internal(self) -> tuple[Event, ...]:
        return self._internal

    @property
    def epochs(self) -> Mapping[str, int]:
        """State id -> how many times it was entered (only states with timers)."""
        return MappingProxyType(self._epochs)

    @property
    def counters(self) -> Mapping[str, int]:
        return MappingProxyType(self._counters)

    @property
    def pending(self) -> Mapping[str, tuple[str, str]]:
        """Tool calls started and not yet finished: call id -> (tool, state that started it)."""
        return MappingProxyType(self._pending)

    def active(self, state_id: str) -> bool:
        info = self._info
        if info is not None:
            return state_id in info.id_set
        return state_id in self.configuration

    # ---------------------------------------------------------------- value semantics

    def _key(self) -> tuple[Any, ...]:
        return (
            self.configuration,
            self.finished,
            self._vars,
            self._history,
            self._internal,
            self._epochs,
            self._counters,
            self._pending,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Snapshot):
            return NotImplemented
        return self is other or self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # variables may hold lists and maps

    def __repr__(self) -> str:
        parts = [f"configuration={self.configuration!r}"]
        for name in ("variables", "history", "internal", "epochs", "counters", "pending"):
            value = getattr(self, "_vars" if name == "variables" else f"_{name}")
            if value:
                shown = dict(value) if isinstance(value, dict) else value
                parts.append(f"{name}={shown!r}")
        if self.finished:
            parts.append("finished=True")
        return f"Snapshot({', '.join(parts)})"

    def __copy__(self) -> Snapshot:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> Snapshot:
        """A deep copy of the data; the memo pointer (into the chart) is shared, not copied."""
        configuration, finished, variables, history, internal, epochs, counters, pending = copy.deepcopy(
            self._key(), memo
        )
        if self._info is not None:
            return make(self._info, variables, history, internal, epochs, counters, pending, finished)
        return Snapshot(configuration, variables, history, internal, epochs, counters, pending, finished)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as its JSON form: the memo pointer into the chart is not part of the value."""
        return (_from_json, (self.to_json(),))

    def replace(self, **changes: Any) -> Snapshot:
        """A copy with some fields changed (public constructor names: ``variables=...`` etc.)."""
        fields: dict[str, Any] = {
            "configuration": self.configuration,
            "variables": self._vars,
            "history": self._history,
            "internal": self._internal,
            "epochs": self._epochs,
            "counters": self._counters,
            "pending": self._pending,
            "finished": self.finished,
        }
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"unknown snapshot fields: {', '.join(sorted(unknown))}")
        fields.update(changes)
        return Snapshot(**fields)

    # ---------------------------------------------------------------- JSON

    def to_json(self) -> dict[str, Any]:
        return {
            "configuration": list(self.configuration),
            "variables": dict(self._vars),
            "history": {k: list(v) for k, v in self._history.items()},
            "internal": [e.to_json() for e in self._internal],
            "epochs": dict(self._epochs),
            "counters": dict(self._counters),
            "pending": {k: list(v) for k, v in self._pending.items()},
            "finished": self.finished,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Snapshot:
        """The snapshot ``to_json`` described; raises ValueError when ``raw`` is malformed."""
        try:
            return cls(
                configuration=[str(s) for s in raw["configuration"]],
                variables=raw.get("variables") or {},
                history=raw.get("history") or {},
                internal=[Event.from_json(e) for e in raw.get("internal") or ()],
                epochs=raw.get("epochs") or {},
                counters=raw.get("counters") or {},
                pending=raw.get("pending") or {},
                finished=bool(raw.get("finished", False)),
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ValueError(f"malformed snapshot: {type(exc).__name__}: {exc}") from exc


def _from_json(raw: Mapping[str, Any]) -> Snapshot:
    return Snapshot.from_json(raw)


_new = object.__new__
# Raw slot setters (the slot descriptors' ``__set__``), bypassing the immutability guard; read
# through ``__dict__`` because mypy types ``Snapshot.x`` as the value, not the descriptor.
_slots = Snapshot.__dict__
_set_configuration: Callable[[Snapshot, tuple[str, ...]], None] = _slots["configuration"].__set__
_set_finished: Callable[[Snapshot, bool], None] = _slots["finished"].__set__
_set_vars: Callable[[Snapshot, dict[str, Any]], None] = _slots["_vars"].__set__
_set_history: Callable[[Snapshot, dict[str, tuple[str, ...]]], None] = _slots["_history"].__set__
_set_internal: Callable[[Snapshot, tuple[Event, ...]], None] = _slots["_internal"].__set__
_set_epochs: Callable[[Snapshot, dict[str, int]], None] = _slots["_epochs"].__set__
_set_counters: Callable[[Snapshot, dict[str, int]], None] = _slots["_counters"].__set__
_set_pending: Callable[[Snapshot, dict[str, tuple[str, str]]], None] = _slots["_pending"].__set__
_set_info: Callable[[Snapshot, ConfigInfo | None], None] = _slots["_info"].__set__
del _slots


def make(
    info: ConfigInfo,
    variables: dict[str, Any],
    history: dict[str, tuple[str, ...]],
    internal: tuple[Event, ...],
    epochs: dict[str, int],
    counters: dict[str, int],
    pending: dict[str, tuple[str, str]],
    finished: bool,
) -> Snapshot:
    """The core's constructor: no copies (the caller hands over ownership of the dicts)."""
    s = _new(Snapshot)
    _set_configuration(s, info.ids)
    _set_finished(s, finished)
    _set_vars(s, variables)
    _set_history(s, history)
    _set_internal(s, internal)
    _set_epochs(s, epochs)
    _set_counters(s, counters)
    _set_pending(s, pending)
    _set_info(s, info)
    return s


def moved(snapshot: Snapshot, info: ConfigInfo) -> Snapshot:
    """``snapshot`` with only the configuration changed (the hot path of a simple step)."""
    s = _new(Snapshot)
    _set_configuration(s, info.ids)
    _set_finished(s, False)
    _set_vars(s, snapshot._vars)
    _set_history(s, snapshot._history)
    _set_internal(s, ())
    _set_epochs(s, snapshot._epochs)
    _set_counters(s, snapshot._counters)
    _set_pending(s, snapshot._pending)
    _set_info(s, info)
    return s
