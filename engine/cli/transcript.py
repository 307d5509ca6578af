"""What a running session looks like as plain text: one timestamped line per happening.

Used by headless runs (``counterpoint run`` without a terminal, or with ``--script``) and as
the conversation pane of the live view. Control characters in user, model and tool text are
escaped, so nothing a model or a tool says can move the cursor or retitle the terminal.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from counterpoint.engine.runtime.interpreter import StepRecord


def clean(text: str) -> str:
    """``text`` with control characters shown as escapes (newlines as ``⏎``)."""
    out = []
    for ch in text:
        if ch == "\n":
            out.append(" ⏎ ")
        elif ch == "\t":
            out.append(" ")
        elif ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch in "\u2028\u2029":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def short(value: Any, limit: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)
    text = clean(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stamp(t: float) -> str:
    return f"[{t:7.2f}s]"


@dataclass
class Line:
    """One happening: ``kind`` is user, agent, tool, state, timer, agent-error, error, note."""

    t: float
    kind: str
    text: str

    def format(self) -> str:
        return f"{stamp(self.t)} {self.text}"


def describe_step(record: StepRecord, t: float, timer_names: dict[str, str]) -> list[Line]:
    """The lines one macrostep deserves (most steps deserve none)."""
    lines: list[Line] = []
    event = record.event
    if event is not None:
        name, data = event.name, event.data
        parts = name.split(".")
        if name == "user.said":
            lines.append(Line(t, "user", f"user: {clean(str(data.get('text', '')))}"))
        elif name == "agent.said":
            cut = " [interrupted]" if data.get("interrupted") else ""
            lines.append(Line(t, "agent", f"agent: {clean(str(data.get('text', '')))}{cut}"))
        elif name == "llm.error":
            lines.append(Line(t, "error", f"model error: {short(data.get('error', ''), 200)}"))
        elif len(parts) == 3 and parts[0] == "tool":
            lines.extend(_tool_line(t, parts[1], parts[2], data))
        elif len(parts) == 3 and parts[0] == "agent" and parts[2] in ("done", "error"):
            what = short(data.get("result")) if parts[2] == "done" else short(data.get("error"))
            lines.append(Line(t, "tool", f"sub-agent {parts[1]} {parts[2]}: {what}"))
        elif name in timer_names:
            lines.append(Line(t, "timer", f"timer of {timer_names[name]} fired"))
        elif name.startswith("error."):
            lines.append(Line(t, "error", f"{name}: {short(data.get('message', data), 200)}"))
    left = [s for s in record.exited if s not in record.entered]
    came = [s for s in record.entered if s not in record.exited]
    if left or came:
        change = " ".join([*(f"-{s}" for s in left), *(f"+{s}" for s in came)])
        lines.append(Line(t, "state", f"states: {change}"))
    return lines


def _tool_line(t: float, tool: str, kind: str, data: Any) -> list[Line]:
    call = data.get("call_id", "?")
    if kind == "started":
        return [Line(t, "tool", f"tool {tool} ({call}) started {short(data.get('args', {}))}")]
    if kind == "progress":
        return [Line(t, "tool", f"tool {tool} ({call}) progress {short(data.get('message') or data.get('progress'))}")]
    elapsed = data.get("elapsed")
    took = f" after {elapsed:.2f}s" if isinstance(elapsed, int | float) else ""
    if kind == "done":
        return [Line(t, "tool", f"tool {tool} ({call}) done{took}: {short(data.get('result'))}")]
    reason = data.get("error") or data.get("reason") or (f"no result within {data.get('timeout')}s"
                                                          if kind == "timeout" else "")
    return [Line(t, "tool", f"tool {tool} ({call}) {kind}{took}: {short(reason, 200)}")]


class TranscriptPrinter:
    """A listener printing each step's lines with ``write`` (flushed by the caller's stream)."""

    def __init__(self, write: Callable[[str], None], clock: Callable[[], float],
                 timer_names: dict[str, str]) -> None:
        self._write = write
        self._clock = clock
        self._timers = timer_names
        self.lines: list[Line] = []

    def __call__(self, record: StepRecord) -> None:
        for line in describe_step(record, self._clock(), self._timers):
            self.lines.append(line)
            self._write(line.format())
