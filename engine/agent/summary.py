"""What a session did, in numbers: turns, tool calls and latencies, from its processed events.

Works on ``(time, name, data)`` triples in processing order, so a live session, a replay
and a recording read back all give the same summary.

- **first token**: from ``llm.started`` to the turn's first words (``agent.speech.started``);
- **turn**: from ``llm.started`` to ``llm.done`` (or ``llm.error`` / ``llm.cancelled``);
- **response**: from ``user.said`` to the first words the agent says after it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TimedEvent = tuple[float, str, Mapping[str, Any]]


@dataclass
class Summary:
    duration: float = 0.0
    user_turns: int = 0
    llm_turns: int = 0
    cancelled_turns: int = 0
    failed_turns: int = 0
    interrupted: int = 0  # agent utterances cut short
    tool_calls: dict[str, int] = field(default_factory=dict)  # ending (done, error...) -> count
    first_token: list[float] = field(default_factory=list)
    turn: list[float] = field(default_factory=list)
    response: list[float] = field(default_factory=list)

    def format(self) -> str:
        calls = sum(self.tool_calls.values())
        endings = ", ".join(f"{n} {kind}" for kind, n in sorted(self.tool_calls.items()))
        lines = [
            f"session {self.duration:.1f}s: {self.user_turns} user turns, {self.llm_turns} model turns"
            + (f" ({self.cancelled_turns} cancelled)" if self.cancelled_turns else "")
            + (f" ({self.failed_turns} failed)" if self.failed_turns else "")
            + f", {calls} tool calls" + (f" ({endings})" if endings else "")
            + (f", {self.interrupted} interrupted" if self.interrupted else ""),
            "latency      p50     p95     max    (n)",
        ]
        for label, values in (("first token", self.first_token), ("model turn", self.turn),
                              ("response", self.response)):
            lines.append(f"{label:<11}" + _stats(values))
        return "\n".join(lines)


def _stats(values: Sequence[float]) -> str:
    if not values:
        return "      -       -       -    (0)"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):7.2f}s {p95:6.2f}s {ordered[-1]:6.2f}s  ({len(ordered)})"


def summarize(events: Iterable[TimedEvent]) -> Summary:
    out = Summary()
    turn_start: float | None = None
    first_seen = False
    waiting_since: float | None = None  # a user.said not yet answered
    for t, name, data in events:
        out.duration = max(out.duration, t)
        if name == "user.said":
            out.user_turns += 1
            if waiting_since is None:
                waiting_since = t
        elif name == "llm.started":
            out.llm_turns += 1
            turn_start, first_seen = t, False
        elif name == "agent.speech.started":
            if turn_start is not None and not first_seen:
                out.first_token.append(t - turn_start)
                first_seen = True
            if waiting_since is not None:
                out.response.append(t - waiting_since)
                waiting_since = None
        elif name in ("llm.done", "llm.error", "llm.cancelled"):
            if turn_start is not None:
                out.turn.append(t - turn_start)
                turn_start = None
            if name == "llm.error":
                out.failed_turns += 1
            elif name == "llm.cancelled":
                out.cancelled_turns += 1
        elif name == "agent.said" and data.get("interrupted"):
            out.interrupted += 1
        elif name.startswith("tool."):
            kind = name.rsplit(".", 1)[-1]
            if kind in ("done", "error", "timeout", "cancelled"):
                out.tool_calls[kind] = out.tool_calls.get(kind, 0) + 1
    return out


def recorded_events(entries: Iterable[Mapping[str, Any]]) -> list[TimedEvent]:
    """The processed events of a recording's ``step`` entries."""
    return [(float(e["t"]), e["event"]["name"], e["event"].get("data") or {})
            for e in entries if e.get("kind") == "step" and e.get("event")]
