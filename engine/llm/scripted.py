"""``ScriptedLLM``: the deterministic test double for an LLM backend.

It plays a queue of :class:`ScriptedReply` values, one per turn, and records every
:class:`~counterpoint.engine.llm.base.LLMRequest` it received in ``requests`` so a test can check
the prompt. A reply may hold text (streamed word by word), tool calls (arguments as a mapping, or
as raw JSON text so malformed JSON can be scripted), a delay before its first item, a pause
between text pieces, and a failure. All waiting is ``trio.sleep``, so under
``trio.testing.MockClock`` the delays are virtual.

A turn plays its reply in this order: wait ``delay``; stream the text (``pace`` between pieces);
raise the failure if there is one; otherwise yield the tool calls, then a :class:`TurnUsage`.
When the script is exhausted, each further turn is an empty answer: no text, no calls, only a
``TurnUsage`` with ``finish_reason="stop"``.

Scenario files describe replies as plain data, read by :meth:`ScriptedLLM.from_data`::

    - say: "Let me look that up."
      calls: [{tool: find_table, args: {cuisine: thai}}]
      delay: 2s
      pace: 50ms
    - "A bare string is a reply that only speaks."
    - {say: "Sorry,", error: {kind: server, message: "upstream went away"}}
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
import yaml

from counterpoint.dsl.durations import DurationError, parse_duration
from counterpoint.engine.llm.base import (
    LLMError,
    LLMRequest,
    StreamItem,
    TextDelta,
    ToolCallRequest,
    TurnUsage,
)

#: Failure kinds a script may name; the first four are the ones a real backend retries.
FAILURE_KINDS = ("connection", "timeout", "rate_limit", "server", "bad_request", "auth", "error")
_RETRYABLE = frozenset({"connection", "timeout", "rate_limit", "server"})

# Words with the whitespace before them, so the pieces join back into the exact text.
_PIECE = re.compile(r"\s*\S+|\s+$")


class ScriptError(ValueError):
    """A script that cannot be played; the message says where and how to fix it."""


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    """A tool call to produce. ``arguments`` as text is sent verbatim (it may be malformed JSON)."""

    tool: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    call_id: str | None = None

    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class ScriptedFailure:
    """The turn fails with an :class:`LLMError` of this kind, after the reply's text."""

    kind: str = "server"
    message: str = "scripted failure"
    status: int | None = None

    def error(self) -> LLMError:
        return LLMError(self.message, kind=self.kind, retryable=self.kind in _RETRYABLE, status=self.status)


@dataclass(frozen=True, slots=True)
class ScriptedReply:
    """One turn's reply. ``delay`` and ``pace`` are seconds (``pace`` is the wait between pieces)."""

    say: str = ""
    calls: tuple[ScriptedCall, ...] = ()
    delay: float = 0.0
    pace: float = 0.0
    error: ScriptedFailure | None = None


class ScriptedLLM:
    """An LLM backend that plays scripted replies in order (see the module docstring)."""

    name: str

    def __init__(self, replies: Iterable[ScriptedReply | str] = (), *, name: str = "scripted") -> None:
        self.name = name
        self.requests: list[LLMRequest] = []
        self._replies: deque[ScriptedReply] = deque()
        self._calls_made = 0
        self.add(*replies)

    @classmethod
    def from_data(cls, data: object, *, name: str = "scripted") -> ScriptedLLM:
        """Build from plain data (a list of replies as a YAML scenario holds them); raises ScriptError."""
        return cls(parse_script(data), name=name)

    @classmethod
    def from_file(cls, path: str | Path) -> ScriptedLLM:
        """Read a YAML file holding a list of replies (or a mapping with a ``replies:`` list)."""
        file = Path(path)
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ScriptError(f"cannot read the LLM script {file}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise ScriptError(f"{file}: not valid YAML: {exc}") from None
        if isinstance(data, Mapping) and set(data) == {"replies"}:
            data = data["replies"]
        try:
            return cls.from_data(data, name=f"scripted:{file.name}")
        except ScriptError as exc:
            raise ScriptError(f"{file}: {exc}") from None

    def add(self, *replies: ScriptedReply | str) -> None:
        """Queue more replies (a string is a reply that only speaks)."""
        for reply in replies:
            self._replies.append(ScriptedReply(say=reply) if isinstance(reply, str) else reply)

    @property
    def remaining(self) -> int:
        """Replies not played yet."""
        return len(self._replies)

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamItem]:
        self.requests.append(request)
        reply = self._replies.popleft() if self._replies else ScriptedReply()
        if reply.delay:
            await trio.sleep(reply.delay)
        pieces = _PIECE.findall(reply.say)
        for index, piece in enumerate(pieces):
            if index and reply.pace:
                await trio.sleep(reply.pace)
            yield TextDelta(piece)
        if reply.error is not None:
            raise reply.error.error()
        for call in reply.calls:
            self._calls_made += 1
            call_id = call.call_id or f"call_{self._calls_made}"
            yield ToolCallRequest(call_id=call_id, name=call.tool, arguments=call.arguments_text())
        yield TurnUsage(prompt_tokens=None, completion_tokens=len(pieces),
                        finish_reason="tool_calls" if reply.calls else "stop")

    async def aclose(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"ScriptedLLM(name={self.name!r}, remaining={self.remaining}, requests={len(self.requests)})"


# ------------------------------------------------------------------------------------ parsing

_REPLY_KEYS = ("say", "calls", "delay", "pace", "error")
_CALL_KEYS = ("tool", "args", "id")
_ERROR_KEYS = ("kind", "message", "status")


def parse_script(data: object) -> list[ScriptedReply]:
    """Replies from plain data; raises :class:`ScriptError` naming the faulty reply and key."""
    if data is None:
        return []
    if isinstance(data, str | bytes) or not isinstance(data, Sequence):
        raise ScriptError(f"an LLM script is a list of replies, got {_kind(data)}")
    return [_reply(item, f"reply {number}") for number, item in enumerate(data, start=1)]


def _reply(item: object, where: str) -> ScriptedReply:
    if isinstance(item, str):
        return ScriptedReply(say=item)
    mapping = _mapping(item, where, _REPLY_KEYS, "a reply is a string or a mapping")
    say = mapping.get("say", "")
    if not isinstance(say, str):
        raise ScriptError(f"{where}: 'say' must be text, got {_kind(say)}")
    calls = mapping.get("calls", [])
    if isinstance(calls, str | bytes) or not isinstance(calls, Sequence):
        raise ScriptError(f"{where}: 'calls' must be a list of {{tool: NAME, args: {{...}}}}, got {_kind(calls)}")
    error = mapping.get("error")
    return ScriptedReply(
        say=say,
        calls=tuple(_call(call, f"{where}, call {n}") for n, call in enumerate(calls, start=1)),
        delay=_duration(mapping.get("delay", 0), f"{where}: 'delay'"),
        pace=_duration(mapping.get("pace", 0), f"{where}: 'pace'"),
        error=None if error is None else _failure(error, f"{where}: 'error'"),
    )


def _call(item: object, where: str) -> ScriptedCall:
    mapping = _mapping(item, where, _CALL_KEYS, "a call is a mapping {tool: NAME, args: {...}}")
    tool = mapping.get("tool")
    if not isinstance(tool, str) or not tool:
        raise ScriptError(f"{where}: 'tool' (the tool's name) is required")
    args = mapping.get("args", {})
    if not isinstance(args, str | Mapping):
        raise ScriptError(f"{where}: 'args' must be a mapping or raw JSON text, got {_kind(args)}")
    call_id = mapping.get("id")
    if call_id is not None and not isinstance(call_id, str):
        raise ScriptError(f"{where}: 'id' must be text, got {_kind(call_id)}")
    return ScriptedCall(tool=tool, arguments=args, call_id=call_id)


def _failure(item: object, where: str) -> ScriptedFailure:
    if isinstance(item, str):
        item = {"kind": item}
    mapping = _mapping(item, where, _ERROR_KEYS, "an error is a kind or a mapping {kind: ..., message: ...}")
    kind = mapping.get("kind", "server")
    if kind not in FAILURE_KINDS:
        raise ScriptError(f"{where}: unknown kind {kind!r}; use one of {', '.join(FAILURE_KINDS)}")
    message = mapping.get("message", f"scripted {kind} failure")
    if not isinstance(message, str):
        raise ScriptError(f"{where}: 'message' must be text, got {_kind(message)}")
    status = mapping.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise ScriptError(f"{where}: 'status' must be an HTTP status number, got {_kind(status)}")
    return ScriptedFailure(kind=kind, message=message, status=status)


def _mapping(item: object, where: str, keys: tuple[str, ...], what: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise ScriptError(f"{where}: {what}, got {_kind(item)}")
    unknown = [str(key) for key in item if key not in keys]
    if unknown:
        raise ScriptError(f"{where}: unknown key {unknown[0]!r}; allowed keys are {', '.join(keys)}")
    return item


def _duration(value: object, where: str) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ScriptError(f"{where}: {exc}") from None


def _kind(value: object) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]
