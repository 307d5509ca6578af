"""The interpreter runs a burst of queued events without a checkpoint per macrostep, but never
more than MAX_BURST in a row: other tasks still get their turn."""

from __future__ import annotations

import textwrap

import trio
import trio.testing

from counterpoint.dsl import load_yaml
from counterpoint.engine import compile_chart
from counterpoint.engine.runtime import Interpreter
from counterpoint.engine.runtime.interpreter import MAX_BURST
from counterpoint.engine.testing import run

TOGGLE = """
agent: toggle
initial: a
states:
  a: {on: {t: b}}
  b: {on: {t: a}}
"""


def test_other_tasks_run_at_least_every_max_burst_macrosteps():
    agent, _ = load_yaml(textwrap.dedent(TOGGLE), "t.agent.yaml")
    chart = compile_chart(agent)

    async def main() -> tuple[list[int], int]:
        interp = Interpreter(chart, handlers=[])
        seen: list[int] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(interp.run)
            await trio.testing.wait_all_tasks_blocked()

            async def watch() -> None:
                while True:
                    seen.append(interp.macrosteps)
                    if interp.idle:
                        return
                    await trio.lowlevel.checkpoint()

            for _ in range(5 * MAX_BURST):
                interp.send("t")
            async with trio.open_nursery() as watching:
                watching.start_soon(watch)
            await trio.testing.wait_all_tasks_blocked()
            done = interp.macrosteps
            nursery.cancel_scope.cancel()
        return seen, done

    seen, done = run(main)
    assert done == 5 * MAX_BURST + 1  # the initial macrostep, then every event
    gaps = [b - a for a, b in zip(seen, seen[1:], strict=False)]
    # bursts, not one event per checkpoint; and none longer than MAX_BURST (trio may run the
    # watcher first in one batch of tasks and last in the next: two bursts between its turns)
    assert MAX_BURST <= max(gaps) <= 2 * MAX_BURST
