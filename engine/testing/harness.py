"""A Python API for testing charts: drive a real :class:`Interpreter` step by step.

::

    from counterpoint.engine.testing import Harness, run

    async def main():
        async with Harness.open("agents/concierge/concierge.agent.yaml") as h:
            h.assert_in("chat")
            await h.send("user.said", text="a table for two")
            h.expect({"tool": {"name": "find_table", "args": {"party": 2}}})
            await h.wait("45s")
            h.expect({"say": "still there"})

    run(main)      # trio.run under MockClock(autojump_threshold=0): virtual time

``send`` and ``wait`` return once the interpreter has nothing left to do at that instant,
so assertions see the consequences. Expectations take the same ``{kind: spec}``
mappings as ``*.test.yaml`` files and check the *window*: everything that happened since
the previous ``send``/``wait`` (or since the start).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import trio
import trio.testing

from counterpoint.dsl.diagnostics import did_you_mean
from counterpoint.dsl.durations import parse_duration
from counterpoint.dsl.model import Agent
from counterpoint.engine.core.chart import Chart, compile_chart
from counterpoint.engine.core.effects import Effect, Speak, StartTool
from counterpoint.engine.loading import load_chart
from counterpoint.engine.runtime.interpreter import (
    EffectHandler,
    Interpreter,
    StepRecord,
    collapse_groups,
)
from counterpoint.engine.testing.matchers import (
    Matcher,
    Mismatch,
    Observation,
    check_absent,
    check_in_order,
    diff_states,
    diff_vars,
    observations_of,
    parse_matchers,
)

T = TypeVar("T")

#: A run stops (and the test fails) after this many macrosteps: a runaway ``every`` or ping-pong.
MAX_MACROSTEPS = 100_000


class HarnessError(AssertionError):
    """An expectation of a harness test failed; the message is the readable diff."""


def _chart_of(source: str | os.PathLike[str] | Agent | Chart) -> Chart:
    """A compiled chart from a definition file, a resolved Agent, or an already compiled chart.

    Raises DiagnosticError when the file has errors.
    """
    if isinstance(source, str | os.PathLike):
        return load_chart(source)
    if isinstance(source, Agent):
        return compile_chart(source)
    return source


def run(async_fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``trio.run(async_fn, *args)`` under a MockClock that jumps whenever everything sleeps."""
    return trio.run(async_fn, *args, clock=trio.testing.MockClock(autojump_threshold=0))


class Harness:
    """A running interpreter plus what it did; create it with :meth:`open`."""

    def __init__(self, interpreter: Interpreter) -> None:
        self.interpreter = interpreter
        self.records: list[StepRecord] = []
        self.observations: list[Observation] = []
        self._window_start = 0
        self._matched: set[int] = set()  # observation indexes matched by expectations
        self._t0 = trio.current_time()
        self.overflow = False
        interpreter.add_listener(self._record)

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        source: str | os.PathLike[str] | Agent | Chart,
        *,
        handlers: EffectHandler | list[EffectHandler] | None = None,
        listeners: tuple[Callable[[StepRecord], None], ...] = (),
        resume: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Harness]:
        """Start the chart (a file, an Agent or a compiled chart) and yield once it settled.

        ``resume`` continues from a state :meth:`save` returned instead of starting.
        """
        chart = _chart_of(source)
        if resume is not None:
            interpreter = Interpreter.resume(chart, resume, handlers=handlers, listeners=listeners)
        else:
            interpreter = Interpreter(chart, handlers=handlers, listeners=listeners)
        harness = cls(interpreter)
        with collapse_groups():
            async with trio.open_nursery() as nursery:
                nursery.start_soon(interpreter.run)
                await harness.settle()
                try:
                    yield harness
                finally:
                    interpreter.stop()

    # ------------------------------------------------------------------ recording

    def _record(self, record: StepRecord) -> None:
        self.records.append(record)
        self.observations += observations_of(record, record.time - self._t0)
        if len(self.records) > MAX_MACROSTEPS and not self.overflow:
            self.overflow = True
            self.interpreter.stop()

    @property
    def time(self) -> float:
        """Seconds of (virtual) time since the harness started."""
        return trio.current_time() - self._t0

    @property
    def window(self) -> list[Observation]:
        """What happened since the last ``send``/``wait`` (or since the start)."""
        return self.observations[self._window_start :]

    def _new_window(self) -> None:
        self._window_start = len(self.observations)
        self._matched = set()

    @property
    def effects(self) -> list[Effect]:
        """Every effect so far, in order."""
        return [e for r in self.records for e in r.effects]

    @property
    def said(self) -> list[str]:
        return [e.text for e in self.effects if isinstance(e, Speak)]

    @property
    def tool_calls(self) -> list[StartTool]:
        return [e for e in self.effects if isinstance(e, StartTool)]

    @property
    def vars(self) -> dict[str, Any]:
        return dict(self.interpreter.variables)

    @property
    def configuration(self) -> tuple[str, ...]:
        return self.interpreter.configuration

    @property
    def finished(self) -> bool:
        return self.interpreter.finished

    # ------------------------------------------------------------------ driving

    async def settle(self) -> None:
        """Return once every task is blocked: all events due by now have been processed."""
        await trio.testing.wait_all_tasks_blocked()
        if self.overflow:
            raise HarnessError(
                f"more than {MAX_MACROSTEPS} macrosteps: a runaway 'every' timer or an "
                "endless exchange of events?"
            )

    async def send(
        self, name: str, data: Mapping[str, Any] | None = None, *, priority: int | None = None, **fields: Any
    ) -> list[Observation]:
        """Send an event (data as a mapping and/or keyword fields), wait until it is processed.

        Returns the new window: what the event caused.
        """
        self._new_window()
        self.interpreter.send(name, {**(data or {}), **fields}, priority)
        await self.settle()
        return self.window

    async def send_all(
        self, events: Sequence[tuple[str, Mapping[str, Any] | None, int | None]]
    ) -> list[Observation]:
        """Queue several ``(name, data, priority)`` events at the same instant, then let them be processed.

        They are processed by priority (then in the order given): the way to test preemption.
        """
        self._new_window()
        for name, data, priority in events:
            self.interpreter.send(name, data, priority)
        await self.settle()
        return self.window

    async def wait(self, duration: float | str) -> list[Observation]:
        """Advance (virtual) time by ``duration`` (seconds or ``"30s"``), firing due timers."""
        self._new_window()
        await trio.sleep(parse_duration(duration))
        await self.settle()
        return self.window

    def last_call_id(self, tool: str) -> str | None:
        """The call id to answer for ``tool``: its most recent pending call, else its most recent call."""
        core = self.interpreter.core
        pending: list[str] = [
            cid for cid, (name, _) in (core.pending.items() if core is not None else ()) if name == tool
        ]
        if pending:
            return pending[-1]
        for effect in reversed(self.effects):
            if isinstance(effect, StartTool) and effect.tool == tool:
                return effect.call_id
        return None

    # ------------------------------------------------------------------ assertions

    def _fail(self, mismatch: Mismatch | None) -> None:
        if mismatch is not None:
            raise HarnessError(mismatch.format())

    def _known_states(self, states: Sequence[str]) -> None:
        """A typo in a state id fails loudly: ``assert_not_in("typo")`` would otherwise always pass."""
        ids = list(self.interpreter.chart.ids[1:])
        unknown = [s for s in states if s not in ids]
        if unknown:
            hint = did_you_mean(unknown[0], ids)
            raise HarnessError(
                f"no state {', '.join(map(repr, unknown))} in {self.interpreter.chart.name}"
                + (f" ({hint})" if hint else f"; states: {', '.join(ids)}")
            )

    def assert_in(self, *states: str) -> None:
        self._known_states(states)
        self._fail(diff_states(states, self.configuration, active=True))

    def assert_not_in(self, *states: str) -> None:
        self._known_states(states)
        self._fail(diff_states(states, self.configuration, active=False))

    def assert_vars(self, values: Mapping[str, Any] | None = None, **kw: Any) -> None:
        self._fail(diff_vars({**(values or {}), **kw}, self.vars))

    def expect(self, *items: Mapping[str, Any]) -> None:
        """Each ``{kind: spec}`` happened in the window, in this order (see the scenario format)."""
        self._fail(self.check(parse_matchers(list(items))))

    def expect_not(self, *items: Mapping[str, Any]) -> None:
        """None of the ``{kind: spec}`` happened in the window."""
        self._fail(check_absent(parse_matchers(list(items)), self.window))

    def check(self, matchers: Sequence[Matcher]) -> Mismatch | None:
        """Like :meth:`expect` with parsed matchers, returning the mismatch instead of raising."""
        mismatch, matched = check_in_order(matchers, self.window)
        self._matched |= matched
        return mismatch

    def unexpected_errors(self) -> list[Observation]:
        """``error.*`` events in the window that no expectation matched."""
        return [obs for i, obs in enumerate(self.window) if obs.is_error and i not in self._matched]

    def save(self) -> dict[str, Any]:
        """The interpreter's whole state (:meth:`Interpreter.save`), for ``open(..., resume=...)``."""
        return self.interpreter.save()
