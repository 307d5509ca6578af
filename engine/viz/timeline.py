"""A session over time, drawn with matplotlib from plain ``(t, name, data)`` records.

Rows, top to bottom: the chart's states, the user (speech from onset to end, ignored
short sounds in grey, what was recognised), the agent (audio from first to last chunk, with
what was heard), the part of the agent's speech a barge-in cut off (hatched in red, after
a dashed line at the cut), recognition and synthesis work, LLM turns, one
row per tool call (a bar from start to result, coloured by outcome), and timers. Times are
session seconds. Any record list with these names works: a live session's log or a
recording read back.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Record = tuple[float, str, dict[str, Any]]

_COLOURS = {
    "user": "#3b7dd8", "agent": "#2e9e5b", "cut": "#d63c3c", "ignored": "#9a9a9a", "llm": "#8e5cc9",
    "asr": "#5fa8d3", "tts": "#7fc99a", "done": "#2e9e5b", "error": "#d63c3c", "timeout": "#e08a1e",
    "cancelled": "#9a9a9a", "running": "#c9c9c9", "timer": "#e08a1e",
}
_TOOL_ENDINGS = ("done", "error", "timeout", "cancelled")


def _short(text: str, width: int = 38) -> str:
    return textwrap.shorten(text, width, placeholder="…") if text else ""


def _state_segments(records: Sequence[Record], end: float) -> list[tuple[float, float, str]]:
    """(start, end, label) per configuration, labelled by its atomic states (``leaves``) when the
    records say which they are, else by the states not active throughout."""
    changes = [(t, list(d.get("leaves") or d.get("configuration", []))) for t, n, d in records
               if n == "state.changed"]
    if not changes:
        return []
    always = set(changes[0][1]).intersection(*(set(c) for _, c in changes))
    out: list[tuple[float, float, str]] = []
    for i, (t, config) in enumerate(changes):
        stop = changes[i + 1][0] if i + 1 < len(changes) else end
        label = " · ".join(s for s in config if s not in always) or " · ".join(config[-1:])
        if out and out[-1][2] == label:
            out[-1] = (out[-1][0], stop, label)
        elif stop > t or i + 1 == len(changes):
            out.append((t, stop, label))
    return out


def draw_timeline(records: Sequence[Record], path: str | Path, *, title: str | None = None) -> Path:
    """Draw ``records`` into ``path`` (``.png`` or ``.svg``); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    records = sorted(records, key=lambda r: r[0])
    end = max([r[0] for r in records] + [1.0]) + 0.5
    rows: list[str] = ["states", "user", "agent", "agent (cut off)", "asr / tts", "llm"]
    tool_rows: dict[str, int] = {}
    for _, name, data in records:
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "tool" and parts[2] == "started":
            tool_rows.setdefault(str(data.get("call_id", len(tool_rows))), len(tool_rows))
    rows += [f"tool {cid}" for cid in tool_rows] + ["timers"]
    y = {label: len(rows) - i for i, label in enumerate(rows)}
    fig, ax = plt.subplots(figsize=(max(10.0, min(30.0, end * 0.55)), 0.55 * len(rows) + 1.6))

    def bar(row: str, start: float, stop: float, colour: str, **kw: Any) -> None:
        ax.broken_barh([(start, max(stop - start, 0.02))], (y[row] - 0.35, 0.7), facecolors=colour, **kw)

    def note(row: str, t: float, text: str, above: bool = True) -> None:
        ax.text(t, y[row] + (0.38 if above else -0.38), text, fontsize=6.5, va="bottom" if above else "top",
                ha="left", clip_on=True)

    width_in = fig.get_figwidth() * 0.85
    for i, (start, stop, label) in enumerate(_state_segments(records, end)):
        bar("states", start, stop, "#f2e7c9" if i % 2 else "#e6d6a8", edgecolor="#b59a55", linewidth=0.5)
        fits = int((stop - start) / end * width_in / 0.05)  # characters of 6.5 pt that fit the bar
        if fits >= 3:
            text = label if len(label) <= fits else label[: fits - 1] + "…"
            ax.text(start + 0.05, y["states"], text, fontsize=6.5, va="center", clip_on=True)

    user_open: float | None = None
    agent_open: dict[Any, float] = {}
    llm_open: float | None = None
    tool_open: dict[str, tuple[float, str]] = {}
    for t, name, data in records:
        parts = name.split(".")
        if name == "user.speech.started":
            user_open = float(data.get("onset", t))
        elif name == "user.speech.stopped":
            bar("user", float(data.get("onset", user_open if user_open is not None else t)), float(data.get("end", t)),
                _COLOURS["user"])
            user_open = None
        elif name == "voice.ignored":
            bar("user", float(data["onset"]), float(data["end"]), _COLOURS["ignored"])
            note("user", float(data["onset"]), f"ignored {_short(str(data.get('text') or ''), 16)}", above=False)
        elif name == "user.said":
            note("user", t, f"“{_short(str(data.get('text', '')))}”")
        elif name == "agent.audio.started":
            agent_open[data.get("utterance")] = t
        elif name == "agent.audio.ended":
            start = agent_open.pop(data.get("utterance"), t)
            bar("agent", start, t, _COLOURS["agent"])
            if data.get("interrupted"):
                rest = float(data.get("remaining", 0.0))
                bar("agent (cut off)", t, t + max(rest, 0.3), "none", edgecolor=_COLOURS["cut"], hatch="///",
                    linewidth=0.8)
                ax.axvline(t, color=_COLOURS["cut"], linewidth=1.0, linestyle="--")
            note("agent", start, f"“{_short(str(data.get('heard', '')))}”")
        elif name in ("asr.done", "asr.early", "tts.done"):
            seconds = float(data.get("seconds", 0.0))
            bar("asr / tts", t - seconds, t, _COLOURS[parts[0]])
        elif name == "llm.started":
            llm_open = t
        elif name in ("llm.done", "llm.error", "llm.cancelled") and llm_open is not None:
            bar("llm", llm_open, t, _COLOURS["llm"] if name == "llm.done" else _COLOURS["error"])
            llm_open = None
        elif len(parts) == 3 and parts[0] == "tool" and parts[2] == "started":
            tool_open[str(data.get("call_id"))] = (t, parts[1])
        elif len(parts) == 3 and parts[0] == "tool" and parts[2] in _TOOL_ENDINGS:
            cid = str(data.get("call_id"))
            if cid in tool_open and f"tool {cid}" in y:
                start, tool = tool_open.pop(cid)
                bar(f"tool {cid}", start, t, _COLOURS[parts[2]])
                note(f"tool {cid}", start, f"{tool} → {parts[2]}")
        elif name == "timer.fired":
            ax.plot([t], [y["timers"]], marker="v", color=_COLOURS["timer"])
            note("timers", t, str(data.get("name", "")))
    if user_open is not None:
        bar("user", user_open, end, _COLOURS["user"], alpha=0.5)
    if llm_open is not None:
        bar("llm", llm_open, end, _COLOURS["llm"], alpha=0.5)
    for cid, (start, tool) in tool_open.items():
        bar(f"tool {cid}", start, end, _COLOURS["running"])
        note(f"tool {cid}", start, f"{tool} (still running)")

    ax.set_yticks([y[r] for r in rows], rows, fontsize=8)
    ax.set_ylim(0.4, len(rows) + 0.9)
    ax.set_xlim(0, end)
    ax.set_xlabel("session time (s)")
    ax.grid(axis="x", linestyle=":", linewidth=0.5)
    ax.set_title(title or "session timeline", fontsize=10)
    ax.legend(handles=[Patch(color=_COLOURS["user"], label="user speech"),
                       Patch(color=_COLOURS["ignored"], label="ignored sound"),
                       Patch(color=_COLOURS["agent"], label="agent audio"),
                       Patch(facecolor="none", edgecolor=_COLOURS["cut"], hatch="///", label="cut off by barge-in"),
                       Patch(color=_COLOURS["llm"], label="LLM turn"),
                       Patch(color=_COLOURS["error"], label="error / cancelled turn")],
              loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=6, fontsize=7, frameon=False)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
