"""Prompt rendering time against ledger size: ``python -m counterpoint.engine.bench.prompt``.

Builds a synthetic session (user turns, tool calls with progress and results, agent turns)
of 10, 100, 1,000 and 10,000 entries and times :func:`render_prompt`:

- *cold*: the first render of a ledger, which renders every entry the budget reaches once;
- *warm*: append one entry, render again; what each turn of a long session costs;
- with the default :class:`PromptBudget` and with one large enough for the whole ledger.

Each time is the median of several runs (``--repeat``, fewer for the large ledgers).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from counterpoint.engine.agent.ledger import (
    AgentTurn,
    Entry,
    Ledger,
    ToolCall,
    ToolOutcome,
    ToolProgress,
    UserTurn,
)
from counterpoint.engine.agent.prompt import PromptBudget, PromptContext, RenderedPrompt, render_prompt

SIZES = (10, 100, 1_000, 10_000)
STARTED_AT = datetime(2026, 11, 30, 14, 0, 0, tzinfo=UTC)
#: Large enough for 10,000 synthetic entries.
ALL_FIT = PromptBudget(max_tokens=10_000_000)
TOOL = {
    "type": "function",
    "function": {
        "name": "find_table",
        "description": "Find a free table.",
        "parameters": {"type": "object", "properties": {"cuisine": {"type": "string"}, "time": {"type": "string"}}},
    },
}


def synthetic_session(size: int) -> list[Entry]:
    """A plausible conversation of ``size`` entries: one every 3 s, a tool call every 6 entries."""
    entries: list[Entry] = []
    t = 0.0
    for n in range(size):
        t += 3.0
        step, call_id = n % 6, f"c{n // 6}"
        if step == 0:
            entries.append(UserTurn(t, f"Could you find a table for {n % 7 + 2} people, thai food, around eight?"))
        elif step == 1:
            entries.append(ToolCall(t, call_id, "find_table", {"cuisine": "thai", "time": "20:00"}, "booking"))
        elif step == 2:
            entries.append(AgentTurn(t, "Sure, I am looking for a table now. Anything else meanwhile?"))
        elif step == 3:
            entries.append(ToolProgress(t, call_id, "asked 4 of 9 restaurants", 0.44))
        elif step == 4:
            result: dict[str, object] = {
                "restaurant": "Baan Thai", "time": "20:15", "address": "12 Canal Street", "seats": 4,
                "notes": "window table, vegan menu available, deposit of 20 EUR"}
            if n % 30 == 4:  # now and then a long result, which the budget condenses
                result["alternatives"] = [{"restaurant": f"Thai Garden {k}", "time": "20:30"} for k in range(12)]
            entries.append(ToolOutcome(t, call_id, "find_table", "done", result, None, t - 9.0))
        else:
            entries.append(AgentTurn(t, "Baan Thai has a window table at 20:15. Shall I book it?"))
    return entries


def _context(ledger: Ledger, budget: PromptBudget) -> PromptContext:
    now = ledger.entries[-1].time + 1.0
    return PromptContext(instructions="You book restaurants for people. Be brief and friendly.",
                         state_prompts=("You are in the booking step.",), now=now, started_at=STARTED_AT,
                         tools=(TOOL,), budget=budget)


def _timed_render(ledger: Ledger, budget: PromptBudget) -> tuple[float, RenderedPrompt]:
    ctx = _context(ledger, budget)
    start = time.perf_counter()
    rendered = render_prompt(ledger, ctx)
    return time.perf_counter() - start, rendered


def measure(size: int, budget: PromptBudget, repeat: int) -> tuple[float, float, RenderedPrompt]:
    """(cold ms, warm ms, the rendered prompt) for a ledger of ``size`` entries, medians of up to ``repeat`` runs."""
    entries = synthetic_session(size)
    colds, warms = [], []
    rendered = None
    for _ in range(max(3, min(repeat, 20_000 // size))):
        gc.collect()
        cold, rendered = _timed_render(Ledger(entries), budget)
        colds.append(cold)
        ledger = Ledger(entries[:-1])
        render_prompt(ledger, _context(ledger, budget))
        ledger.append(entries[-1])
        warm, _ = _timed_render(ledger, budget)
        warms.append(warm)
    assert rendered is not None
    return statistics.median(colds) * 1000, statistics.median(warms) * 1000, rendered


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m counterpoint.engine.bench.prompt", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="ledger sizes (entries)")
    parser.add_argument("--repeat", type=int, default=50, help="runs per measurement (median)")
    args = parser.parse_args(argv)
    default = PromptBudget()
    print(f"prompt rendering, default budget {default.max_tokens} tokens; times in ms (median of {args.repeat})")
    print(f"{'entries':>8} | {'cold':>7} {'warm':>7} {'msgs':>5} {'dropped':>7} {'cond.':>5} {'tokens':>6} "
          f"| {'all-fit cold':>12} {'warm':>7} {'tokens':>7}")
    for size in args.sizes:
        cold, warm, shown = measure(size, default, args.repeat)
        cold_all, warm_all, whole = measure(size, ALL_FIT, args.repeat)
        print(f"{size:>8} | {cold:>7.3f} {warm:>7.3f} {len(shown.messages):>5} {shown.dropped:>7} "
              f"{shown.condensed:>5} {shown.estimated_tokens:>6} | {cold_all:>12.3f} {warm_all:>7.3f} "
              f"{whole.estimated_tokens:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
