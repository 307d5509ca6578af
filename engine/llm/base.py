"""The one interface every LLM backend implements: a streaming, cancellable chat turn.

A backend receives an :class:`LLMRequest` (chat messages in the OpenAI format, the tools the
active states allow as OpenAI tool schemas) and yields :class:`TextDelta` and
:class:`ToolCallRequest` items as the model produces them. Cancelling the trio task that
iterates the stream stops generation at once. Failures are :class:`LLMError`; the agent
runtime turns them into ``llm.error`` events, never into crashes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, runtime_checkable

#: A chat message in the OpenAI format: ``{"role": ..., "content": ..., "tool_calls": ..., ...}``.
Message: TypeAlias = dict[str, Any]
#: A tool in the OpenAI format: ``{"type": "function", "function": {"name", "description", "parameters"}}``.
ToolSchema: TypeAlias = dict[str, Any]


@dataclass(frozen=True, slots=True)
class LLMRequest:
    """One turn's input. ``tool_choice``: ``"auto"`` (words or a call), ``"required"`` (a call),
    ``"none"`` (words only); ``temperature`` and ``max_tokens`` override the backend's defaults."""

    messages: Sequence[Message]
    tools: Sequence[ToolSchema] = ()
    temperature: float | None = None
    max_tokens: int | None = None
    tool_choice: str = "auto"


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """One complete tool call the model asked for.

    ``arguments`` is the raw JSON text the model produced (it may be malformed: the runtime
    checks it); ``call_id`` is the model's id when it gives one, else the backend makes one.
    """

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class TurnUsage:
    """Sent last, once the turn completed: token counts when the backend knows them."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None


StreamItem: TypeAlias = TextDelta | ToolCallRequest | TurnUsage


class LLMError(Exception):
    """A failed turn. ``retryable`` errors (connection, timeout, 429, 5xx) were already retried.

    The message is meant for people and for the model's next turn; it never contains an API key.
    """

    def __init__(self, message: str, *, kind: str = "error", retryable: bool = False,
                 status: int | None = None) -> None:
        super().__init__(message)
        # "connection" | "timeout" | "rate_limit" | "server" | "bad_request" | "auth" | "config" | "error"
        self.kind = kind
        self.retryable = retryable
        self.status = status


@runtime_checkable
class LLMBackend(Protocol):
    """What the agent runtime needs from a model."""

    #: e.g. "embedded:SmolLM2-135M-Instruct", "openai:gpt-4o-mini", "scripted"
    name: str

    def stream(self, request: LLMRequest) -> AsyncIterator[StreamItem]:
        """Yield the turn's items as they come; raise :class:`LLMError` on failure."""
        ...

    async def aclose(self) -> None:
        """Release connections, threads and model memory."""
        ...


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """Which backend to build, from the definition's ``llm:`` section and command-line flags."""

    provider: str = "embedded"  # "embedded" | "openai" | "scripted"
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
