"""Macrostep records as JSON, and a listener that writes them as JSON lines.

One JSON object per macrostep keeps traces greppable and streamable: ``jq`` or a few
lines of Python replay a session. Lines reach the file when the interpreter waits for input
(it flushes its listeners then), so a crash loses at most the burst of events in progress.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from counterpoint.engine.core.events import Event

if TYPE_CHECKING:
    from counterpoint.engine.runtime.interpreter import StepRecord


def to_jsonable(value: Any) -> Any:
    """A JSON-compatible copy of ``value`` (events, effects, dataclasses, mappings, tuples)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Event):
        return value.to_json()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_jsonable(to_json())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name != "span"}
    return repr(value)


def effect_to_json(effect: Any) -> dict[str, Any]:
    """``{"type": "Speak", "text": ...}``: the effect's class name plus its fields."""
    out: dict[str, Any] = {"type": type(effect).__name__}
    if dataclasses.is_dataclass(effect):
        for f in dataclasses.fields(effect):
            out[f.name] = to_jsonable(getattr(effect, f.name))
    else:
        out["value"] = to_jsonable(effect)
    return out


def transition_to_json(transition: Any) -> Any:
    """A transition as the core reports it, reduced to source, events and targets when it has them."""
    if isinstance(transition, str):
        return transition
    fields = ("index", "source", "events", "targets", "guard", "timer") if hasattr(transition, "events") else (
        "source", "event", "target", "targets")
    found = {name: to_jsonable(getattr(transition, name)) for name in fields if hasattr(transition, name)}
    if found:
        return found
    return to_jsonable(transition)


def _default(value: Any) -> Any:
    """``json.dumps`` hook: what plain JSON cannot hold goes through :func:`to_jsonable`."""
    out = to_jsonable(value)
    return repr(value) if out is value else out


_dumps = json.JSONEncoder(ensure_ascii=False, default=_default).encode
#: Entries a line encoder's cache holds before it starts afresh (memory stays bounded).
CACHE_LIMIT = 4096


class LineEncoder:
    """A :class:`StepRecord` as one JSON line, equal to ``json.dumps(record.to_json())``.

    A trace is written on every macrostep, so this avoids building the record's dict: the
    parts that repeat (transitions, state lists, configurations, effects of one shape, event
    headers) are encoded once and cached (bounded), and the variables are encoded again only
    when the record carries a different mapping (the core copies on write, so an unchanged
    mapping is the same object).
    """

    def __init__(self) -> None:
        self._cache: dict[Any, str] = {}
        self._vars: Any = None
        self._vars_json = "{}"
        self._fields: dict[type, tuple[str, tuple[str, ...]]] = {}

    def _cached(self, key: Any, make: Any) -> str:
        cache = self._cache
        text = cache.get(key)
        if text is None:
            text = make(key)
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            cache[key] = text
        return text

    def __call__(self, record: StepRecord) -> str:
        cached = self._cached
        event = record.event
        variables = record.variables
        if variables is not self._vars:
            self._vars = variables
            self._vars_json = _dumps(variables if type(variables) is dict else dict(variables))
        effects = record.effects
        return (
            f'{{"index": {_number(record.index)}, "time": {_number(record.time)}, '
            f'"event": {"null" if event is None else self._event(event)}, '
            f'{cached((record.transitions, record.exited, record.entered), _moves)}, '
            f'"effects": {"[" + ", ".join(map(self._effect, effects)) + "]" if effects else "[]"}, '
            f'"configuration": {cached(record.configuration, _strings)}, '
            f'"variables": {self._vars_json}}}\n'
        )

    def _event(self, event: Event) -> str:
        head = self._cached(event.name, _event_head)
        data = event.data
        text = (f'{head}{_dumps(dict(data)) if data else "{}"}, "priority": {_number(event.priority)}, '
                f'"time": {_number(event.time)}, "seq": {_number(event.seq)}')
        if event.send_id is not None:
            text += f', "send_id": {_dumps(event.send_id)}'
        return text + "}"

    def _effect(self, effect: Any) -> str:
        kind = type(effect)
        shape = self._fields.get(kind)
        if shape is None:
            if not dataclasses.is_dataclass(effect):
                return _dumps(effect_to_json(effect))
            shape = self._fields[kind] = (
                f'{{"type": {_dumps(kind.__name__)}', tuple(f.name for f in dataclasses.fields(effect))
            )
        head, names = shape
        parts = [head]
        for name in names:
            value = getattr(effect, name)
            parts.append(f", {_dumps(name)}: {_dumps(value)}")
        parts.append("}")
        return "".join(parts)


def _strings(names: tuple[str, ...]) -> str:
    return _dumps(list(names))


def _moves(key: tuple[tuple[Any, ...], tuple[str, ...], tuple[str, ...]]) -> str:
    transitions, exited, entered = key
    return (f'"transitions": {_dumps([transition_to_json(t) for t in transitions])}, '
            f'"exited": {_strings(exited)}, "entered": {_strings(entered)}')


def _event_head(name: str) -> str:
    return f'{{"name": {_dumps(name)}, "data": '


def _number(value: Any) -> str:
    """JSON of an int or a finite float without the encoder's overhead (the same text)."""
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return repr(value)
    return _dumps(value)


class JsonlTrace:
    """A listener writing one JSON object per macrostep to a file or stream.

    Use it as ``interpreter.add_listener(JsonlTrace("run.jsonl"))``; close it (or use it as a
    context manager) when it owns the file. Lines are written as macrosteps end and flushed
    when the interpreter waits for input (it calls :meth:`flush`), so a burst of events costs
    one write to the file, and a crash loses at most the lines of the burst in progress.
    """

    def __init__(self, target: str | os.PathLike[str] | TextIO) -> None:
        if isinstance(target, str | os.PathLike):
            self._stream: TextIO = Path(target).open("w", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        else:
            self._stream = target
            self._owned = False
        self._encode = LineEncoder()
        self.lines = 0

    def __call__(self, record: StepRecord) -> None:
        self._stream.write(self._encode(record))
        self.lines += 1

    def flush(self) -> None:
        if not self._stream.closed:
            self._stream.flush()

    def close(self) -> None:
        if self._owned and not self._stream.closed:
            self._stream.close()
        else:
            self.flush()

    def __enter__(self) -> JsonlTrace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_trace(source: str | os.PathLike[str] | TextIO) -> list[dict[str, Any]]:
    """The records of a JSONL trace, as dicts."""
    if isinstance(source, str | os.PathLike):
        text = Path(source).read_text(encoding="utf-8")
    else:
        text = source.read() if not isinstance(source, io.StringIO) else source.getvalue()
    return [json.loads(line) for line in text.splitlines() if line.strip()]
