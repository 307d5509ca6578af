"""Memory of a long run: the core's memo tables stay bounded on a chart with many configurations.

``python -m counterpoint.engine.bench.memory`` steps a chart of 5 parallel regions of 12 states
each (12^5 = 248,832 configurations) through a seeded random walk of events (each event moves
one region) and prints the resident set every ``--every`` events. After the warm-up (the memo
tables filling to their bound) the figure must stay flat.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time

from counterpoint.dsl.model import Agent, State, StateKind, Transition
from counterpoint.engine.core.chart import Chart, compile_chart
from counterpoint.engine.core.events import Event
from counterpoint.engine.core.step import start, step

REGIONS = 5
STATES = 12


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def parallel_chart(regions: int = REGIONS, states: int = STATES) -> Chart:
    """``regions`` parallel regions of ``states`` states in a ring; event ``r<i>`` moves region i."""
    children = []
    for r in range(regions):
        ring = tuple(
            State(f"r{r}s{i}", transitions=(Transition(events=(f"r{r}",), targets=(f"r{r}s{(i + 1) % states}",)),))
            for i in range(states)
        )
        children.append(State(f"r{r}", initial=f"r{r}s0", children=ring))
    return compile_chart(Agent("memory", initial="p", states=(State("p", StateKind.PARALLEL, children=tuple(children)),)))


def run(events: int, every: int, seed: int = 1) -> list[tuple[int, float]]:
    chart = parallel_chart()
    snapshot = start(chart)[0]
    rng = random.Random(seed)
    names = [Event(f"r{r}") for r in range(REGIONS)]
    gc.collect()
    samples = [(0, _rss_mib())]
    print(f"{0:>12,} events  {samples[0][1]:8.1f} MiB", flush=True)
    began = time.perf_counter()
    for i in range(1, events + 1):
        snapshot = step(chart, snapshot, names[rng.randrange(REGIONS)])[0]
        if i % every == 0:
            samples.append((i, _rss_mib()))
            print(f"{i:>12,} events  {samples[-1][1]:8.1f} MiB  ({time.perf_counter() - began:.0f} s)", flush=True)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m counterpoint.engine.bench.memory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="events to send (default 10,000,000)")
    parser.add_argument("--every", type=int, default=1_000_000, help="print the resident set this often")
    args = parser.parse_args(argv)
    samples = run(args.events, args.every)
    settled = [rss for n, rss in samples if n >= args.events // 10]
    print(f"\nafter warm-up (from event {args.events // 10:,}): {min(settled):.1f}–{max(settled):.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
