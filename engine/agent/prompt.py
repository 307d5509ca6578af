"""Rendering the ledger into one LLM turn's chat messages: time-aware and within a budget.

The format and the budget policy are documented in ``docs/prompting.md``; in short:

- one system message: the instructions, the active states' prompts (outermost first), a fixed
  explanation of how tool results arrive, this turn's extra instruction, the current time and
  the calls still running with their age (stable parts first, so servers that cache the
  prompt's prefix can reuse it);
- then the ledger, one or two messages per entry, each starting with its wall-clock time.
  A tool call is an assistant message with ``tool_calls`` followed at once by a ``tool``
  message acknowledging the start (OpenAI requires that pair); the outcome, which arrives
  later, is a ``user`` message with an unmistakable prefix, because a second ``tool`` message
  for the same call id is rejected and ``system`` messages in the middle of a conversation
  break many chat templates, while a ``user`` message is accepted everywhere.

Entries are immutable, so each one's rendering (full and condensed) is cached per ledger and
a render walks back from the newest entry only as far as the budget allows: the cost of a
turn does not grow with the length of the session.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from weakref import WeakKeyDictionary

from counterpoint.engine.agent.ledger import (
    AgentTurn,
    Entry,
    Ledger,
    Note,
    SubAgentOutcome,
    TimerFired,
    ToolCall,
    ToolOutcome,
    ToolProgress,
    UserTurn,
)
from counterpoint.engine.llm.base import Message, ToolSchema

#: What one message costs beyond its text (role, delimiters), in characters.
MESSAGE_OVERHEAD_CHARS = 16
#: A running call's arguments are shown up to this many characters in the system message.
MAX_SIGNATURE_CHARS = 100

TOOLS_EXPLANATION = (
    "How tools work here: calling a tool does not wait for it. The call gets an id, the tool runs "
    "in the background and the conversation goes on. Its result arrives later, in a separate message "
    "that names the tool, the call id, when the call started and how long it took; results can "
    "arrive in any order, after other messages. Calls listed as still running have no result yet: "
    "do not call them again. Every message starts with the time it happened, in brackets; do not "
    "write these times yourself. Messages about results, progress, notes and timers come from the "
    "system, not from the user."
)


@dataclass(frozen=True, slots=True)
class PromptBudget:
    """How much of the model's context the prompt may use (leave room for the answer).

    Sizes are estimated from characters (``chars_per_token`` per token), not tokenized:
    rendering must stay cheap. ``max_result_chars`` is how much of a tool result, error or
    progress message is kept once it is condensed.
    """

    max_tokens: int = 6000
    chars_per_token: float = 4.0
    max_result_chars: int = 400

    def __post_init__(self) -> None:
        if self.max_tokens < 1 or self.chars_per_token <= 0 or self.max_result_chars < 0:
            raise ValueError(
                "prompt budget: max_tokens must be at least 1, chars_per_token positive and "
                f"max_result_chars not negative (got {self.max_tokens}, {self.chars_per_token}, "
                f"{self.max_result_chars})"
            )

    @property
    def max_chars(self) -> int:
        return int(self.max_tokens * self.chars_per_token)


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptContext:
    """Everything a turn's prompt needs besides the ledger."""

    instructions: str | None = None
    #: the active states' prompts, outermost first
    state_prompts: Sequence[str] = ()
    #: the ``respond`` action's extra instruction for this turn
    extra: str | None = None
    #: session seconds
    now: float
    #: the wall-clock time of session second 0 (timezone-aware)
    started_at: datetime
    #: the tools the active states allow, plus the built-in ones
    tools: Sequence[ToolSchema] = ()
    budget: PromptBudget = PromptBudget()

    def __post_init__(self) -> None:
        if self.started_at.utcoffset() is None:
            raise ValueError(
                "PromptContext.started_at must be timezone-aware, e.g. datetime.now(timezone.utc)"
            )


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """One turn's request. The messages are shared with the render cache: treat them as read-only."""

    messages: list[Message]
    tools: list[ToolSchema]
    #: ledger entries left out to fit the budget
    dropped: int
    #: ledger entries shown condensed (truncated results, errors, progress)
    condensed: int
    #: the prompt's size in tokens, estimated from its characters
    estimated_tokens: int


def render_prompt(ledger: Ledger, ctx: PromptContext) -> RenderedPrompt:
    """The messages and tools for an LLM turn at session time ``ctx.now``.

    Budget policy (``docs/prompting.md``): if the ledger does not fit in full, tool results,
    errors and progress older than the most recent user turn are condensed; newer entries are
    kept in full while they fit, then condensed; the oldest entries that still do not fit are
    left out, replaced by one line saying how many. The system message (with the running
    calls) and the most recent user turn are kept whatever the budget.
    """
    cache = _cache_for(ledger, ctx)
    budget = ctx.budget
    system: Message = {"role": "system", "content": _system_text(ledger, ctx, cache.clock)}
    tools = list(ctx.tools)
    fixed = _cost((system,)) + (len(json.dumps(tools)) if tools else 0)
    items = cache.sync(ledger)
    last_user = cache.last_user
    pinned = cache.get(ledger, last_user) if last_user >= 0 else None
    pinned_cost = pinned.full_cost if pinned is not None else 0
    room = budget.max_chars - fixed - 2 * _OMISSION_COST - pinned_cost

    walk = _walk(cache, items, ledger, last_user, room, condense_before=-1)
    if (walk.stop >= 0 or walk.condensed) and last_user > 0:
        walk = _walk(cache, items, ledger, last_user, room, condense_before=last_user)

    # entries 0..stop are left out, except the pinned user turn when it is among them
    stop = walk.stop
    spent = fixed + pinned_cost + walk.spent
    head: list[Message] = []
    dropped = stop + 1
    if stop >= 0:
        if pinned is not None and last_user < stop:
            dropped -= 1
            if last_user > 0:
                head.append(_omission(last_user))
            head.extend(pinned.full)
            head.append(_omission(stop - last_user))
            spent -= pinned_cost  # counted again with head
        else:
            head.append(_omission(stop + 1))
        spent += _cost(head)
    messages = [system, *head]
    for group in reversed(walk.taken):
        messages.extend(group)
    return RenderedPrompt(messages, tools, dropped, walk.condensed, math.ceil(spent / budget.chars_per_token))


@dataclass(slots=True)
class _Walk:
    taken: list[tuple[Message, ...]]  # newest first
    condensed: int
    spent: int  # characters taken, the pinned user turn excluded
    stop: int  # the newest entry left out; -1 when none is


def _walk(
    cache: _Cache, items: list[_Rendered | None], ledger: Ledger, pinned: int, room: int, condense_before: int
) -> _Walk:
    """Take entries from the newest back while they fit in ``room`` characters.

    Entries are taken in full while they fit, then condensed; entries older than
    ``condense_before`` are condensed from the start. Entry ``pinned`` is already paid for.
    """
    taken: list[tuple[Message, ...]] = []
    condensed = spent = 0
    in_full = True
    i = len(ledger) - 1
    while i >= 0:
        item = items[i] or cache.get(ledger, i)
        if i == pinned:
            taken.append(item.full)
        elif in_full and i > condense_before and item.full_cost <= room - spent:
            spent += item.full_cost
            taken.append(item.full)
        else:
            in_full = False
            if item.short_cost > room - spent:
                break
            spent += item.short_cost
            taken.append(item.short)
            condensed += item.short is not item.full
        i -= 1
    return _Walk(taken, condensed, spent, i)


# --------------------------------------------------------------------------- formats


def clock_time(started_at: datetime, seconds: float) -> datetime:
    """The wall-clock time of session second ``seconds``, in ``started_at``'s time zone."""
    zone = started_at.tzinfo
    assert zone is not None  # PromptContext checks it
    return (started_at.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(zone)


def format_duration(seconds: float) -> str:
    """``0.4 s``, ``12 s``, ``3 min 12 s``, ``1 h 5 min``: as precise as a person would say it."""
    seconds = max(seconds, 0.0)
    if seconds < 10 and round(seconds, 1) != round(seconds):
        return f"{seconds:.1f} s"
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


class _Clock:
    """Session seconds to wall-clock text, in the session's time zone."""

    __slots__ = ("started_at", "_day_second")

    def __init__(self, started_at: datetime) -> None:
        self.started_at = started_at
        # A fixed-offset zone (UTC included) needs no calendar: plain arithmetic is exact and
        # several times faster than datetime formatting. Zones with daylight saving do need it.
        self._day_second: float | None = None
        if isinstance(started_at.tzinfo, timezone):
            midnight = started_at.replace(hour=0, minute=0, second=0, microsecond=0)
            self._day_second = (started_at - midnight).total_seconds()

    def __call__(self, seconds: float) -> str:
        if self._day_second is None:
            moment = clock_time(self.started_at, seconds)
            return f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
        minutes, second = divmod(math.floor(self._day_second + seconds) % 86400, 60)
        hour, minute = divmod(minutes, 60)
        return f"{hour:02d}:{minute:02d}:{second:02d}"

    def full(self, seconds: float) -> str:
        moment = clock_time(self.started_at, seconds)
        return f"{moment:%Y-%m-%d %H:%M:%S} {moment.tzname() or moment.strftime('%z')}"


def _system_text(ledger: Ledger, ctx: PromptContext, clock: _Clock) -> str:
    parts = [text.strip() for text in (ctx.instructions, *ctx.state_prompts) if text and text.strip()]
    parts.append(TOOLS_EXPLANATION)
    if ctx.extra and ctx.extra.strip():
        parts.append(f"For this turn: {ctx.extra.strip()}")
    lines = [f"Current time: {clock.full(ctx.now)} (session time {format_duration(ctx.now)})."]
    running = ledger.running_calls()
    if running:
        lines.append("Tool calls still running:")
        lines.extend(
            f"- {_signature(call)} call {call.call_id} started {format_duration(ctx.now - call.time)} ago "
            f"(at {clock(call.time)}), still running"
            for call in running
        )
    else:
        lines.append("Tool calls still running: none.")
    parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _signature(call: ToolCall) -> str:
    args = ", ".join(f"{name}={_json(value)}" for name, value in call.args.items())
    if len(args) > MAX_SIGNATURE_CHARS:
        args = args[:MAX_SIGNATURE_CHARS].rstrip() + ", …"
    return f"{call.tool}({args})"


# One encoder for every call (json.dumps with options builds a new one each time).
# default=str: rendering never fails, even if a caller broke the "JSON values only" rule.
_json: Callable[[Any], str] = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _text(value: Any) -> str:
    """A result as the model reads it: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else _json(value)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]} … [condensed: {len(text) - limit} more characters left out]"


def _omission(count: int) -> Message:
    noun = "entry" if count == 1 else "entries"
    return {"role": "user", "content": f"[{count} earlier conversation {noun} left out here to fit the context]"}


_OMISSION_COST = MESSAGE_OVERHEAD_CHARS + len(_omission(10**9)["content"])


def _cost(messages: Sequence[Message]) -> int:
    total = 0
    for message in messages:
        total += MESSAGE_OVERHEAD_CHARS + len(message.get("content") or "")
        for call in message.get("tool_calls", ()):
            function = call["function"]
            total += len(call["id"]) + len(function["name"]) + len(function["arguments"])
    return total


# --------------------------------------------------------------------------- one entry


class _Rendered:
    """An entry's messages, in full and condensed (the same object when nothing condenses).

    A plain slotted class: a frozen dataclass is several times slower to build, and these are
    built once per entry and never handed out.
    """

    __slots__ = ("full", "full_cost", "short", "short_cost")

    def __init__(self, full: tuple[Message, ...], full_cost: int, short: tuple[Message, ...], short_cost: int) -> None:
        self.full = full
        self.full_cost = full_cost
        self.short = short
        self.short_cost = short_cost


def _plain(*messages: Message) -> _Rendered:
    cost = _cost(messages)
    return _Rendered(messages, cost, messages, cost)


def _condensable(role: str, head: str, body: str, limit: int) -> _Rendered:
    """A message ``head + body`` whose body is truncated to ``limit`` characters when condensed."""
    full = ({"role": role, "content": head + body},)
    short_body = _truncate(body, limit)
    if short_body is body:
        return _plain(*full)
    short = ({"role": role, "content": head + short_body},)
    return _Rendered(full, _cost(full), short, _cost(short))


def _user_turn(entry: UserTurn, ledger: Ledger, clock: _Clock, limit: int) -> _Rendered:
    return _plain({"role": "user", "content": f"[{clock(entry.time)}] {entry.text}"})


def _agent_turn(entry: AgentTurn, ledger: Ledger, clock: _Clock, limit: int) -> _Rendered:
    text = f"[{clock(entry.time)}] {entry.text}".rstrip()
    if entry.interrupted:
        if entry.text.strip():
            text += " … [interrupted by the user after these words]"
        else:
            text += " [interrupted by the user before saying anything]"
    return _plain({"role": "assistant", "content": text})


def _tool_call(entry: ToolCall, ledger: Ledger, clock: _Clock, limit: int) -> _Rendered:
    who = "" if entry.origin == "model" else f" by the agent's flow (state {entry.state}), not by you"
    request: Message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": entry.call_id,
                "type": "function",
                "function": {"name": entry.tool, "arguments": _json(dict(entry.args))},
            }
        ],
    }
    ack: Message = {
        "role": "tool",
        "tool_call_id": entry.call_id,
        "content": (
            f"[{clock(entry.time)}] {entry.tool} call {entry.call_id} was started in the background{who}. "
            "Its result will arrive later in a separate message."
        ),
    }
    return _plain(request, ack)


def _tool_progress(entry: ToolProgress, ledger: Ledger, clock: _Clock, limit: int) -> _Rendered:
    call = ledger.call(entry.call_id)
    assert call is not None  # the ledger accepts progress of running calls only
    head = f"[{clock(entry.time)}] Progress of {call.tool} call {entry.call_id}: "
    if entry.fraction is not None:
        head += f"{round(entry.fraction * 100)}% done" + ("; " if entry.message else ".")
    return _condensable("user", head, entry.message, limit)


def _outcome(subject: str, entry: ToolOutcome | SubAgentOutcome, clock: _Clock, limit: int) -> _Rendered:
    when = f"started {clock(entry.started)}"
    took = format_duration(entry.time - entry.started)
    stamp = f"[{clock(entry.time)}] "
    if entry.status == "done":
        return _condensable("user", f"{stamp}Result of {subject} ({when}, took {took}): ", _text(entry.result), limit)
    verb = {"error": "failed", "timeout": "timed out", "cancelled": "was cancelled"}[entry.status]
    details = [entry.error] if entry.error else []
    if entry.result is not None:
        details.append(f"partial result: {_text(entry.result)}")
    body = "; ".join(details) if details else "no result."
    return _condensable("user", f"{stamp}{subject} {verb} ({when}, after {took}): ", body, limit)


def _tool_outcome(entry: ToolOutcome, ledger: Ledger, clock: _Clock, limit: int) -> _Rendered:
    return _outcome(f"{entry.tool} call {entry.call_id}", entry, clock, limit)


def _subagent_outcome(entry: SubAgentOutcome, ledger: Ledger, clock: _Clock, limit: int) -> _Rendered:
    return _outcome(f"sub-agent {entry.agent_id}", entry, clock, limit)


def _note(entry: Note, ledger: Ledger, clock: _Clock, limit: int) -> _Rendered:
    return _plain({"role": "user", "content": f"[{clock(entry.time)}] Note: {entry.text}"})


def _timer_fired(entry: TimerFired, ledger: Ledger, clock: _Clock, limit: int) -> _Rendered:
    return _plain({"role": "user", "content": f"[{clock(entry.time)}] Timer fired: {entry.event} (state {entry.state})"})


_RENDERERS: dict[type, Callable[[Any, Ledger, _Clock, int], _Rendered]] = {
    UserTurn: _user_turn,
    AgentTurn: _agent_turn,
    ToolCall: _tool_call,
    ToolProgress: _tool_progress,
    ToolOutcome: _tool_outcome,
    SubAgentOutcome: _subagent_outcome,
    Note: _note,
    TimerFired: _timer_fired,
}


def _render_entry(entry: Entry, ledger: Ledger, clock: _Clock, limit: int) -> _Rendered:
    return _RENDERERS[type(entry)](entry, ledger, clock, limit)


# --------------------------------------------------------------------------- the cache


class _Cache:
    """One ledger's rendered entries by position (the ledger is append-only, so positions are stable)."""

    __slots__ = ("key", "clock", "limit", "items", "last_user")

    def __init__(self, started_at: datetime, limit: int) -> None:
        self.key: tuple[datetime, tzinfo | None, int] = (started_at, started_at.tzinfo, limit)
        self.clock = _Clock(started_at)
        self.limit = limit
        self.items: list[_Rendered | None] = []
        self.last_user = -1  # the position of the most recent user turn; -1: none

    def sync(self, ledger: Ledger) -> list[_Rendered | None]:
        """The cached items, one slot per entry (None: not rendered yet); updates ``last_user``."""
        items, known = self.items, len(self.items)
        if known < len(ledger):
            items.extend([None] * (len(ledger) - known))
            for index in range(len(ledger) - 1, known - 1, -1):  # only the new entries
                if type(ledger.entries[index]) is UserTurn:
                    self.last_user = index
                    break
        return items

    def get(self, ledger: Ledger, index: int) -> _Rendered:
        item = self.items[index]
        if item is None:
            item = self.items[index] = _render_entry(ledger.entries[index], ledger, self.clock, self.limit)
        return item


_caches: WeakKeyDictionary[Ledger, _Cache] = WeakKeyDictionary()


def _cache_for(ledger: Ledger, ctx: PromptContext) -> _Cache:
    started_at, limit = ctx.started_at, ctx.budget.max_result_chars
    cache = _caches.get(ledger)
    if cache is None or cache.key != (started_at, started_at.tzinfo, limit):
        cache = _caches[ledger] = _Cache(started_at, limit)
    return cache
