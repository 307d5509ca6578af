"""Macrostep records as JSON, and a listener that writes them as JSON lines.

One JSON object per macrostep keeps traces greppable and streamable: ``jq`` or a few
lines of Python replay a session, and a crash loses at most the line being written.
"""

from __future__ import annotations

import dataclasses
import io
import json
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


class JsonlTrace:
    """A listener writing one JSON object per macrostep to a file or stream.

    Use it as ``interpreter.add_listener(JsonlTrace("run.jsonl"))``; close it (or use it as a
    context manager) when it owns the file.
    """

    def __init__(self, target: str | os.PathLike[str] | TextIO) -> None:
        if isinstance(target, str | os.PathLike):
            self._stream: TextIO = Path(target).open("w", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        else:
            self._stream = target
            self._owned = False
        self.lines = 0

    def __call__(self, record: StepRecord) -> None:
        self._stream.write(json.dumps(record.to_json(), ensure_ascii=False, default=repr) + "\n")
        self._stream.flush()
        self.lines += 1

    def close(self) -> None:
        if self._owned and not self._stream.closed:
            self._stream.close()

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
