"""Session recordings: one JSON object per line, written as things happen and flushed each time.

A recording holds what a session needs to be replayed without the model or the tools: a
header (format, counterpoint version, the definition's path and content hash, the session's
wall-clock start, the model's name), then entries in the order they happened, each with the
session time ``t`` in seconds:

``input``
    an event from outside the session (the user): name and data. Replay sends these again.
``step``
    a macrostep: the event (name, data, priority), the transitions taken and the configuration
    it left. Replay compares its own steps with these; tool outcomes are read from them.
``llm.start`` / ``llm.text`` / ``llm.call`` / ``llm.end``
    one model turn: the request as the model saw it, each streamed piece with its time, and
    how it ended (``error``, or ``cancelled``). Replay streams these instead of the model.
``end``
    the session ended: why, the final configuration and the whole ledger.

Each line is written with one ``write`` and flushed, so a process killed at any moment leaves
every earlier line intact; a torn last line is reported and skipped when reading.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from counterpoint.engine.runtime.interpreter import StepRecord
from counterpoint.engine.runtime.trace import to_jsonable, transition_to_json

FORMAT = "counterpoint.recording/1"


class RecordingError(Exception):
    """A file that cannot be read as a recording; the message says what and where."""


def content_hash(paths: list[Path]) -> str:
    """``sha256:…`` of the definition's files (the agent file first, then what it includes)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


def counterpoint_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("counterpoint")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


class Recorder:
    """Writes a recording. ``now`` gives the session time of each entry.

    Use :meth:`step` as an interpreter listener, :meth:`input` for events from outside,
    :meth:`llm` for a model turn's entries (see :mod:`counterpoint.engine.llm.recorded`),
    :meth:`close` with the ledger at the end.
    """

    def __init__(self, target: str | os.PathLike[str] | TextIO, header: Mapping[str, Any],
                 now: Callable[[], float]) -> None:
        if isinstance(target, str | os.PathLike):
            self.path: Path | None = Path(target)
            self._stream: TextIO = self.path.open("w", encoding="utf-8")  # noqa: SIM115
        else:
            self.path, self._stream = None, target
        self._now = now
        self.closed = False
        self._write({"kind": "header", "format": FORMAT, "version": counterpoint_version(), **header})

    def _write(self, entry: Mapping[str, Any]) -> None:
        if self.closed:
            return
        # one write per line, then flush: a crash keeps every complete line
        self._stream.write(json.dumps(entry, ensure_ascii=False, default=repr) + "\n")
        self._stream.flush()

    def entry(self, kind: str, **fields: Any) -> None:
        self._write({"kind": kind, "t": round(self._now(), 6), **to_jsonable(fields)})

    def input(self, name: str, data: Mapping[str, Any]) -> None:
        self.entry("input", name=name, data=dict(data))

    def step(self, record: StepRecord) -> None:
        event = record.event
        self.entry(
            "step",
            index=record.index,
            event=None if event is None else {"name": event.name, "data": dict(event.data),
                                              "priority": event.priority},
            transitions=[transition_to_json(t) for t in record.transitions],
            configuration=list(record.configuration),
        )

    def close(self, reason: str, *, configuration: list[str] | None = None,
              ledger: Any = None) -> None:
        if self.closed:
            return
        self.entry("end", reason=reason, configuration=configuration or [], ledger=ledger)
        self.closed = True
        if self.path is not None:
            self._stream.close()


@dataclass
class Recording:
    """A recording read back: its header and entries; ``torn`` says the last line was cut."""

    path: Path
    header: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)
    torn: str | None = None  # a message naming the line, when the last line was cut off

    def of_kind(self, *kinds: str) -> Iterator[dict[str, Any]]:
        return (e for e in self.entries if e["kind"] in kinds)

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.of_kind("step"))

    @property
    def end(self) -> dict[str, Any] | None:
        return next(self.of_kind("end"), None)

    def turns(self) -> list[LLMTurnRecord]:
        """The model turns, in the order they started."""
        turns: dict[int, LLMTurnRecord] = {}
        for e in self.of_kind("llm.start", "llm.text", "llm.call", "llm.end"):
            n = int(e["turn"])
            if e["kind"] == "llm.start":
                turns[n] = LLMTurnRecord(n, float(e["t"]), e.get("messages") or [], e.get("tools") or [])
            elif n in turns:
                turns[n].add(e)
        return [turns[n] for n in sorted(turns)]


@dataclass
class LLMTurnRecord:
    """One recorded model turn: pieces as ``(seconds after the start, kind, value)``."""

    number: int
    start: float
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    pieces: list[tuple[float, str, Any]] = field(default_factory=list)
    ended: float | None = None
    error: str | None = None
    cancelled: bool = False

    def add(self, e: Mapping[str, Any]) -> None:
        dt = float(e["t"]) - self.start
        if e["kind"] == "llm.text":
            self.pieces.append((dt, "text", str(e["text"])))
        elif e["kind"] == "llm.call":
            self.pieces.append((dt, "call", {"id": e.get("id", ""), "name": e["name"],
                                             "arguments": e.get("arguments", "")}))
        else:
            self.ended = dt
            self.error = e.get("error")
            self.cancelled = bool(e.get("cancelled"))

    @property
    def text(self) -> str:
        return "".join(v for _, k, v in self.pieces if k == "text")

    @property
    def calls(self) -> list[dict[str, Any]]:
        return [v for _, k, v in self.pieces if k == "call"]


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a recording; :class:`RecordingError` for a file that is not one.

    A torn last line (a process killed while writing) is skipped and reported in ``torn``;
    a bad line anywhere else is an error naming the line.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise RecordingError(f"{path}: cannot read the recording: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RecordingError(f"{path}: not a counterpoint recording (not UTF-8 text: byte {err.start})") from None
    lines = text.split("\n")
    complete_last = text.endswith("\n")
    if complete_last:
        lines.pop()
    if not lines or not lines[0].strip():
        raise RecordingError(f"{path}: empty file, not a counterpoint recording")
    entries: list[dict[str, Any]] = []
    torn: str | None = None
    for number, line in enumerate(lines, 1):
        last = number == len(lines)
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or not isinstance(entry.get("kind"), str):
                raise ValueError("not an entry")
        except ValueError:
            if number == 1:
                raise RecordingError(f"{path}:1: not a counterpoint recording (the first line must be its "
                                     f"JSON header with \"format\": \"{FORMAT}\")") from None
            if last and not complete_last:
                torn = f"{path}:{number}: the last line was cut off (the session did not end cleanly); skipped"
                break
            raise RecordingError(f"{path}:{number}: not a recording entry (a JSON object with a \"kind\")") from None
        entries.append(entry)
    header = entries.pop(0)
    if header.get("kind") != "header" or header.get("format") != FORMAT:
        found = header.get("format")
        raise RecordingError(f"{path}:1: not a counterpoint recording (format {found!r}, expected {FORMAT!r})")
    for number, entry in enumerate(entries, 2):
        if not isinstance(entry.get("t"), int | float):
            raise RecordingError(f"{path}:{number}: entry {entry['kind']!r} has no time \"t\"")
    return Recording(path, header, entries, torn)
