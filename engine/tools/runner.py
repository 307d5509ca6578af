"""Running tool calls in the background: every outcome becomes an event, never an exception.

:meth:`ToolRunner.start` returns at once. It emits ``tool.<name>.started`` and then, later,
exactly one outcome for that call id: ``done``, ``error``, ``timeout`` or ``cancelled``
(a call refused before it runs -- unknown tool, bad arguments, too many calls -- gets its
``error`` at once). Calls run concurrently and finish in any order; ``progress`` events may
come between the two.

Coroutine handlers run as trio tasks in the nursery given to ``start``. Sync handlers run in
worker threads (``trio.to_thread.run_sync`` with ``abandon_on_cancel=True``): cancelling one,
or its timeout, abandons the thread at once -- the call ends as ``cancelled``/``timeout`` and
whatever the function later returns is discarded -- and sets ``ctx.cancelled`` so a
cooperative handler can stop. A function that never looks keeps its thread until it returns.
Worker threads come from the runner's own limiter (``max_concurrent`` threads), so tools never
hold the threads an LLM backend needs, and an abandoned thread still counts until it returns.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import trio
import trio.testing

from counterpoint.dsl.diagnostics import did_you_mean
from counterpoint.engine.tools.binding import BoundTool
from counterpoint.engine.tools.context import ToolContext

Emit = Callable[[str, dict[str, Any]], None]

JSON_HINT = "return dicts, lists, strings, numbers, booleans or None"
#: Real seconds a sync handler may run while a virtual clock stands still (see _hold_virtual_clock).
HOLD_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class RunningCall:
    """A call that has started and not ended. ``origin`` says who asked (e.g. "chart", "model")."""

    call_id: str
    tool: str
    args: Mapping[str, Any]
    state: str | None
    origin: str
    started: float


@dataclass(eq=False, slots=True)
class _Call:
    info: RunningCall
    bound: BoundTool
    context: ToolContext = field(init=False)
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    ended: bool = False


class ToolFailure(Exception):
    """Raise it from a handler to fail the call with exactly this message (no exception type
    in front); replayed tools use it to give back the recorded error."""


def describe(exc: BaseException) -> str:
    """``ValueError: message`` for an exception; the leaves of an exception group, joined."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe(e) for e in exc.exceptions)
    if isinstance(exc, ToolFailure):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _handler_failure(exc: BaseException) -> str:
    """The message for what a handler raised; trio's cancellation (and Ctrl-C) is re-raised."""
    stop: BaseException | None
    rest: BaseException | None
    if isinstance(exc, BaseExceptionGroup):
        stop, rest = exc.split((trio.Cancelled, KeyboardInterrupt))
    else:
        stop, rest = (exc, None) if isinstance(exc, trio.Cancelled | KeyboardInterrupt) else (None, exc)
    if stop is not None:
        raise stop
    assert rest is not None
    return describe(rest)


def json_copy(value: Any) -> Any:
    """A JSON-only copy of ``value`` (tuples become lists); TypeError/ValueError when impossible."""
    return json.loads(json.dumps(value, allow_nan=False))


def _args_problem(args: Any) -> str | None:
    """Why ``args`` cannot be a call's arguments (a JSON object), or None."""
    if not isinstance(args, Mapping):
        return f"arguments must be an object of name: value, got {type(args).__name__}"
    for name, value in args.items():
        if not isinstance(name, str):
            return f"argument names must be strings, got {name!r}"
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            return f"argument '{name}' is not JSON data ({exc})"
    return None


def _shown(args: Any) -> dict[str, Any]:
    """Arguments that are not JSON data, as they are shown in the started event."""
    return {str(k): repr(v) for k, v in args.items()} if isinstance(args, Mapping) else {}


async def _hold_virtual_clock(done: trio.Event) -> None:
    """Under trio's MockClock, keep virtual time still while a handler's thread runs.

    The mock clock jumps to the next deadline as soon as every task waits, and a task waiting
    for a thread counts as waiting: a sync handler would take arbitrary virtual time and its
    timeout would fire at once. Held, a quick handler takes no virtual time, like a computation.
    The hold lasts at most HOLD_SECONDS of real time, so a hung handler still times out.
    """
    give_up = time.monotonic() + HOLD_SECONDS
    while not done.is_set() and time.monotonic() < give_up:
        await trio.sleep(0)


class ToolRunner:
    """Runs a session's tool calls; ``emit(name, data)`` receives every event, in the trio thread.

    ``max_concurrent`` bounds the calls running at once: one more is refused with an error
    event. ``now`` gives the times in outcome events (default: trio's clock).
    """

    def __init__(self, tools: Mapping[str, BoundTool], emit: Emit, *, max_concurrent: int = 32,
                 now: Callable[[], float] | None = None) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, got {max_concurrent}")
        self._tools = dict(tools)
        self._emit = emit
        self.max_concurrent = max_concurrent
        self._now = now or trio.current_time
        self._calls: dict[str, _Call] = {}
        self._threads = trio.CapacityLimiter(max_concurrent)
        self._trio_thread: int | None = None
        self._token: trio.lowlevel.TrioToken | None = None

    @property
    def tools(self) -> Mapping[str, BoundTool]:
        return self._tools

    # ------------------------------------------------------------------ starting

    def start(self, nursery: trio.Nursery, *, call_id: str, tool: str, args: Mapping[str, Any],
              state: str | None, origin: str) -> RunningCall | None:
        """Start a call and return at once: its RunningCall, or None when it was refused.

        Emits ``tool.<tool>.started`` before returning; a refused call also gets its
        ``tool.<tool>.error`` before returning.
        """
        if self._token is None:
            self._token = trio.lowlevel.current_trio_token()
            self._trio_thread = threading.get_ident()
        problem = _args_problem(args)
        clean = json_copy(args) if problem is None else _shown(args)
        info = RunningCall(call_id, tool, clean, state, origin, self._now())
        self._emit(f"tool.{tool}.started",
                   {"call_id": call_id, "args": dict(clean), "state": state, "origin": origin})
        bound = self._tools.get(tool)
        problem = self._refusal(call_id, tool) or problem
        if problem is None and bound is not None:
            problem = bound.check_args(clean)
        if problem is not None or bound is None:
            self._report(info, "error", {"error": problem})
            return None
        call = _Call(info, bound)
        call.context = ToolContext(call_id, tool, functools.partial(self._progress_from_any, call))
        self._calls[call_id] = call
        nursery.start_soon(self._run, call, name=f"tool {tool} {call_id}")
        return info

    def _refusal(self, call_id: str, tool: str) -> str | None:
        if tool not in self._tools:
            known = ", ".join(sorted(self._tools)) or "none"
            hint = did_you_mean(tool, self._tools)
            return f"unknown tool '{tool}' (tools: {known})" + (f"; {hint}" if hint else "")
        if call_id in self._calls:
            return f"a call with id '{call_id}' is already running; give each call its own id"
        if len(self._calls) >= self.max_concurrent:
            return (f"too many tool calls running at once (limit {self.max_concurrent}); wait for one to "
                    f"finish or cancel one, or raise the limit (the tool runner's max_concurrent)")
        return None

    # ------------------------------------------------------------------ running

    async def _run(self, call: _Call) -> None:
        outcome: tuple[str, dict[str, Any]] | None = None
        try:
            with call.scope:
                outcome = await self._perform(call)
        finally:
            if outcome is None:  # cancelled: by cancel() (already reported) or the nursery closing
                self._end(call)
        if outcome is not None:
            self._finish(call, *outcome)

    async def _perform(self, call: _Call) -> tuple[str, dict[str, Any]]:
        timeout = call.bound.tool.timeout
        with trio.move_on_after(math.inf if timeout is None else timeout):
            try:
                result = await self._invoke(call)
            except BaseException as exc:  # the handler's failure is an event, never the nursery's
                return "error", {"error": _handler_failure(exc)}
            try:
                return "done", {"result": json_copy(result)}
            except (TypeError, ValueError, RecursionError) as exc:
                return "error", {"error": f"{type(exc).__name__}: the result cannot be serialised to JSON "
                                          f"({exc}); {JSON_HINT}"}
        return "timeout", {"timeout": timeout}

    async def _invoke(self, call: _Call) -> Any:
        bound = call.bound
        kwargs = dict(call.info.args)
        if bound.context_param is not None:
            kwargs[bound.context_param] = call.context
        if bound.is_async:
            return await bound.handler(**kwargs)
        work = functools.partial(bound.handler, **kwargs)
        if not isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock):
            result = await trio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=self._threads)
        else:
            async with trio.open_nursery() as nursery:
                done = trio.Event()
                nursery.start_soon(_hold_virtual_clock, done)
                try:
                    result = await trio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=self._threads)
                finally:
                    done.set()
        return result

    # ------------------------------------------------------------------ ending

    def _end(self, call: _Call) -> bool:
        """Mark ``call`` ended (False when it already was) and tell a sync handler to stop."""
        if call.ended:
            return False
        call.ended = True
        call.context.cancelled.set()
        del self._calls[call.info.call_id]
        return True

    def _finish(self, call: _Call, kind: str, data: dict[str, Any]) -> None:
        if self._end(call):
            self._report(call.info, kind, data)

    def _report(self, info: RunningCall, kind: str, data: dict[str, Any]) -> None:
        ended = self._now()
        self._emit(f"tool.{info.tool}.{kind}", {"call_id": info.call_id, **data, "started": info.started,
                                                 "ended": ended, "elapsed": ended - info.started})

    # ------------------------------------------------------------------ progress

    def _progress_from_any(self, call: _Call, message: str | None, fraction: float | None) -> None:
        """The context's sink: called in the trio thread directly, from a worker thread via the token."""
        if threading.get_ident() == self._trio_thread:
            self._progress(call, message, fraction)
            return
        assert self._token is not None
        with contextlib.suppress(trio.RunFinishedError):  # an abandoned thread, after the session ended
            self._token.run_sync_soon(self._progress, call, message, fraction)

    def _progress(self, call: _Call, message: str | None, fraction: float | None) -> None:
        if call.ended:
            return  # the call ended (or was cancelled) before the report arrived
        self._emit(f"tool.{call.info.tool}.progress",
                   {"call_id": call.info.call_id, "message": message, "progress": fraction})

    # ------------------------------------------------------------------ cancelling and looking

    def cancel(self, target: str, reason: str) -> list[str]:
        """Cancel the call with id ``target``, or else every running call of the tool ``target``.

        Each gets ``tool.<name>.cancelled`` {reason} before this returns; the ids, in start order.
        """
        if target in self._calls:
            return self._cancel([self._calls[target]], reason)
        return self._cancel([c for c in self._calls.values() if c.info.tool == target], reason)

    def cancel_if(self, predicate: Callable[[RunningCall], bool], reason: str) -> list[str]:
        """Cancel every running call ``predicate`` accepts (on_exit and on_interrupt policies)."""
        return self._cancel([c for c in self._calls.values() if predicate(c.info)], reason)

    def cancel_all(self, reason: str) -> list[str]:
        return self._cancel(list(self._calls.values()), reason)

    def _cancel(self, calls: Iterable[_Call], reason: str) -> list[str]:
        ids = []
        for call in calls:
            self._finish(call, "cancelled", {"reason": reason})
            call.scope.cancel()
            ids.append(call.info.call_id)
        return ids

    def running(self) -> list[RunningCall]:
        """The calls started and not ended, oldest first."""
        return [c.info for c in self._calls.values()]

    def get(self, call_id: str) -> RunningCall | None:
        call = self._calls.get(call_id)
        return call.info if call is not None else None
