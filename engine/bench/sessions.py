"""Many agent sessions in one process: memory per session, events per second, added latency.

``python -m counterpoint.engine.bench.sessions`` runs N concurrent sessions of a help-desk agent
(std:dialog beside a task with a tool) on the real clock. Each session gets one user turn per
``--interval`` seconds (default 1, staggered); the scripted model answers every turn with a
sentence and, every third turn, a tool call whose handler sleeps 2 s; so each user turn sets off
about seven events (``user.said``, ``llm.started``, ``agent.speech.started``, ``llm.done``,
``agent.said``, and the tool's ``started``/``done``).

*Added latency* of an event is the time from its being queued to the end of its macrostep
(waiting behind other events plus the step and its effects), measured for every event.
*Memory per session* is the growth of the resident set after the sessions started and ran,
divided by N. *GC* is what CPython's cyclic garbage collector did meanwhile: the number of full
(generation 2) collections and the longest pause of any collection.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import trio

from counterpoint.engine.agent.loading import SessionOptions, load_definition
from counterpoint.engine.llm.scripted import ScriptedLLM
from counterpoint.engine.runtime.interpreter import StepRecord

AGENT = textwrap.dedent("""\
    agent: bench_desk
    instructions: You are a help desk.
    tools:
      lookup:
        handler: bench_tools:lookup
        params: {query: string}
        timeout: 10s
    initial: desk
    states:
      desk:
        type: parallel
        states:
          dialog: {include: "std:dialog"}
          task:
            initial: open
            states:
              open:
                prompt: Use lookup when you need facts.
                tools: [lookup]
    """)

TOOLS = textwrap.dedent("""\
    import trio


    async def lookup(query: str) -> dict:
        await trio.sleep(2.0)
        return {"answer": "facts about " + query}
    """)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@dataclass
class Result:
    sessions: int
    seconds: float
    events: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    rss_per_session_kb: float
    full_collections: int
    gc_max_ms: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds


class _GCWatch:
    """Times every collection of the cyclic garbage collector (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.started = 0.0
        self.full = 0
        self.longest = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        self.longest = max(self.longest, time.perf_counter() - self.started)
        if info["generation"] == 2:
            self.full += 1


async def _run(n: int, seconds: float, interval: float, folder: Path, freeze: bool = True) -> Result:
    latencies: list[float] = []
    watch = _GCWatch()

    def listen(record: StepRecord) -> None:
        if record.event is not None:
            latencies.append(trio.current_time() - record.event.time)

    turns = int(seconds / interval) + 2
    script = [{"say": "Sure, one moment please.",
               **({"calls": [{"tool": "lookup", "args": {"query": "trains"}}]} if i % 3 == 0 else {})}
              for i in range(turns)]
    gc.collect()
    rss0 = _rss_bytes()
    definition = load_definition(folder / "bench_desk.agent.yaml")  # loaded once, shared by all sessions
    if freeze:
        # Start-up objects (modules, grammars, the compiled definition) live as long as the
        # process: keep them out of every later full collection (docs/runtime.md).
        gc.collect()
        gc.freeze()
    sessions = [definition.session(ScriptedLLM.from_data(script), SessionOptions(listeners=(listen,)))
                for _ in range(n)]
    async with trio.open_nursery() as nursery:
        for interp, _ in sessions:
            nursery.start_soon(interp.run)

        async def user(index: int) -> None:
            interp = sessions[index][0]
            await trio.sleep(interval * index / n)  # staggered: an even load
            while True:
                interp.send("user.said", {"text": "are the trains on time?"})
                await trio.sleep(interval)

        await trio.sleep(0.5)
        latencies.clear()
        start = trio.current_time()
        for i in range(n):
            nursery.start_soon(user, i)
        gc.callbacks.append(watch)
        try:
            await trio.sleep(seconds)
        finally:
            gc.callbacks.remove(watch)
        elapsed = trio.current_time() - start
        rss1 = _rss_bytes()
        nursery.cancel_scope.cancel()
    ms = sorted(x * 1000 for x in latencies)
    return Result(n, elapsed, len(ms), statistics.median(ms), ms[int(len(ms) * 0.99)], ms[-1],
                  (rss1 - rss0) / n / 1024, watch.full, watch.longest * 1000)


def run(counts: list[int], seconds: float, interval: float, folder: Path, freeze: bool = True) -> list[Result]:
    (folder / "bench_desk.agent.yaml").write_text(AGENT)
    (folder / "bench_tools.py").write_text(TOOLS)
    results = []
    for n in counts:
        result = trio.run(_run, n, seconds, interval, folder, freeze)
        gc.unfreeze()
        results.append(result)
        print(_row(result), flush=True)
    return results


HEADER = (f"{'sessions':>8} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'KiB/session':>12}"
          f" {'full GCs':>9} {'GC max ms':>10}\n" + "-" * 80)


def _row(r: Result) -> str:
    return (f"{r.sessions:>8} {r.events_per_second:>10,.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.max_ms:>8.1f} "
            f"{r.rss_per_session_kb:>12.1f} {r.full_collections:>9} {r.gc_max_ms:>10.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m counterpoint.engine.bench.sessions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="*", default=[10, 100, 1000, 5000],
                        help="session counts to run (default 10 100 1000 5000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per count (default 10)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between a session's user turns")
    parser.add_argument("--quick", action="store_true", help="10 and 100 sessions, 3 s each")
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave the start-up objects to the garbage collector (no gc.freeze() after loading)")
    args = parser.parse_args(argv)
    counts, seconds = ([10, 100], 3.0) if args.quick else (args.sessions, args.seconds)
    import tempfile

    print(HEADER)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run(counts, seconds, args.interval, Path(tmp), not args.no_freeze)
    print(f"\n{time.perf_counter() - started:.0f} s in all; added latency = queued -> end of its macrostep")
    return 0


if __name__ == "__main__":
    sys.exit(main())
