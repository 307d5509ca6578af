"""``OpenAICompatibleLLM``: any OpenAI-compatible chat endpoint, streamed through ``openai.AsyncOpenAI``.

The client runs under trio (it is anyio-based). Its own retries are disabled so that the policy is
this module's, and testable: a connection failure, a timeout, HTTP 408, 429 or 5xx is retried with
exponential backoff (``Retry-After``/``retry-after-ms`` honoured, capped) up to
``RetryPolicy.attempts`` tries, and only while nothing of the turn was yielded yet; after that the
turn fails with an :class:`LLMError` whose message says what happened and where. The API key is
given to the client and nowhere else: it is never part of a message, a ``repr`` or a log line, and
error messages coming from a server are scrubbed of it as well.

Streamed tool-call fragments are assembled by their index (parallel calls come out in index order,
each once complete), then the turn ends with a :class:`TurnUsage`.
"""

from __future__ import annotations

import email.utils
import os
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import openai
import trio

from counterpoint.engine.llm.base import (
    BackendSpec,
    LLMError,
    LLMRequest,
    StreamItem,
    TextDelta,
    ToolCallRequest,
    TurnUsage,
)

#: A key for endpoints that need none (local servers); the client insists on having one.
_NO_KEY = "no-key"
_EXCERPT = 300
DEFAULT_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries: ``attempts`` tries in all; waits ``base_delay * 2**(n-1)`` up to ``max_delay``,
    or what the server's ``Retry-After`` asks for, up to ``max_retry_after``."""

    attempts: int = DEFAULT_ATTEMPTS
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0

    def delay(self, failed_attempts: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return float(min(self.base_delay * 2 ** (failed_attempts - 1), self.max_delay))


class OpenAICompatibleLLM:
    """Streams chat turns from an OpenAI-compatible endpoint (see the module docstring)."""

    name: str

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 temperature: float | None = None, max_tokens: int | None = None,
                 timeout: float = 60.0, retry: RetryPolicy | None = None,
                 include_usage: bool = True) -> None:
        self.name = f"openai:{model}"
        self.model = model
        self.base_url = base_url
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.retry = retry or RetryPolicy()
        self.include_usage = include_usage
        self._secret = api_key or None
        self._client = openai.AsyncOpenAI(api_key=api_key or _NO_KEY, base_url=base_url,
                                          timeout=timeout, max_retries=0)

    @classmethod
    def from_spec(cls, spec: BackendSpec, environ: Mapping[str, str] | None = None) -> OpenAICompatibleLLM:
        """Model, base URL and key from the spec, else ``OPENAI_MODEL``, ``OPENAI_BASE_URL`` and
        ``OPENAI_API_KEY`` (or the variable ``spec.api_key_env`` names); ``spec.options`` may hold
        ``timeout`` (seconds per read) and ``attempts``. Raises LLMError(kind="config")."""
        env = os.environ if environ is None else environ
        model = spec.model or env.get("OPENAI_MODEL")
        if not model:
            raise LLMError("no model given for the OpenAI-compatible backend: use --llm openai:MODEL, "
                           "'model:' in the definition's llm: section, or set OPENAI_MODEL", kind="config")
        base_url = spec.base_url or env.get("OPENAI_BASE_URL") or None
        key_var = spec.api_key_env or "OPENAI_API_KEY"
        api_key = env.get(key_var) or None
        if api_key is None and spec.api_key_env:
            raise LLMError(f"the environment variable {key_var} (named by api_key_env) is not set", kind="config")
        if api_key is None and base_url is None:
            raise LLMError("no API key: set OPENAI_API_KEY (or name another variable with api_key_env), "
                           "or give a base_url for a local server that needs none", kind="config")
        options = dict(spec.options)
        return cls(model, base_url=base_url, api_key=api_key, temperature=spec.temperature,
                   max_tokens=spec.max_tokens, timeout=float(options.get("timeout", 60.0)),
                   retry=RetryPolicy(attempts=int(options.get("attempts", DEFAULT_ATTEMPTS))))

    def __repr__(self) -> str:
        return f"OpenAICompatibleLLM(model={self.model!r}, base_url={self.base_url!r})"

    async def aclose(self) -> None:
        await self._client.close()

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamItem]:
        body = self._body(request)
        failed = 0
        while True:
            yielded = False
            try:
                async with await self._client.chat.completions.create(**body) as chunks:
                    turn = _Turn()
                    async for chunk in chunks:
                        for item in turn.feed(chunk):
                            yielded = True
                            yield item
                for item in turn.finish():
                    yield item
                return
            except LLMError:
                raise
            except Exception as exc:  # any transport or API failure becomes an LLMError
                failed += 1
                error, retry_after = self._translate(exc, failed, yielded)
            # Raised out here, not in the handler, so that the client's exception (which holds
            # the request and its headers) is not attached to ours as its context.
            if not error.retryable or yielded or failed >= self.retry.attempts:
                raise error
            await trio.sleep(self.retry.delay(failed, retry_after))

    def _body(self, request: LLMRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": list(request.messages), "stream": True}
        if self.include_usage:
            body["stream_options"] = {"include_usage": True}
        temperature = request.temperature if request.temperature is not None else self.temperature
        if temperature is not None:
            body["temperature"] = temperature
        max_tokens = request.max_tokens if request.max_tokens is not None else self.max_tokens
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if request.tools:
            body["tools"] = list(request.tools)
            body["tool_choice"] = request.tool_choice
        return body

    def _translate(self, exc: Exception, failed: int, yielded: bool) -> tuple[LLMError, float | None]:
        """An LLMError for people and for the model, and the server's Retry-After in seconds, if any."""
        where = self.base_url or "the OpenAI API"
        status: int | None = None
        retry_after: float | None = None
        if isinstance(exc, openai.APITimeoutError):
            kind, what = "timeout", f"no answer from {where} in time"
        elif isinstance(exc, openai.APIConnectionError):
            kind, what = "connection", f"the connection to {where} broke" if yielded else f"cannot connect to {where}"
        elif isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            retry_after = _retry_after(exc.response.headers)
            detail = self._scrub(_excerpt(_server_message(exc)))
            if status == 429:
                kind, what = "rate_limit", f"rate limited by {where} (HTTP 429): {detail}"
            elif status == 408:
                kind, what = "timeout", f"{where} timed out the request (HTTP 408): {detail}"
            elif status >= 500:
                kind, what = "server", f"server error from {where} (HTTP {status}): {detail}"
            elif status in (401, 403):
                kind, what = "auth", (f"{where} refused the API key (HTTP {status}); check the variable "
                                      f"that holds it: {detail}")
            else:
                kind, what = "bad_request", f"{where} rejected the request (HTTP {status}): {detail}"
        else:
            kind, what = "connection", f"the stream from {where} broke: {self._scrub(_excerpt(str(exc)))}"
        retryable = kind in ("connection", "timeout", "rate_limit", "server")
        if yielded:
            what += " (after part of the answer had arrived, so it was not retried)"
        elif retryable and failed >= self.retry.attempts:
            what += f" (gave up after {failed} attempts)"
        return LLMError(f"{self.name}: {what}", kind=kind, retryable=retryable, status=status), retry_after

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "[redacted]") if self._secret else text


class _Turn:
    """Turns stream chunks into items; tool-call fragments are gathered by index until the end."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, str]] = {}
        self._finish: str | None = None
        self._usage: Any = None

    def feed(self, chunk: Any) -> list[StreamItem]:
        items: list[StreamItem] = []
        if getattr(chunk, "usage", None) is not None:
            self._usage = chunk.usage
        for choice in chunk.choices or ():
            delta = choice.delta
            if delta is not None and delta.content:
                items.append(TextDelta(delta.content))
            for fragment in (delta.tool_calls if delta is not None else None) or ():
                call = self._calls.setdefault(fragment.index, {"id": "", "name": "", "arguments": ""})
                if fragment.id:
                    call["id"] = fragment.id
                function = fragment.function
                if function is not None:
                    call["name"] += function.name or ""
                    call["arguments"] += function.arguments or ""
            if choice.finish_reason:
                self._finish = choice.finish_reason
        return items

    def finish(self) -> list[StreamItem]:
        items: list[StreamItem] = [
            ToolCallRequest(call_id=call["id"] or f"call_{uuid.uuid4().hex[:12]}", name=call["name"],
                            arguments=call["arguments"] or "{}")
            for _, call in sorted(self._calls.items())
        ]
        usage = self._usage
        items.append(TurnUsage(prompt_tokens=getattr(usage, "prompt_tokens", None),
                               completion_tokens=getattr(usage, "completion_tokens", None),
                               finish_reason=self._finish))
        return items


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms``, or ``Retry-After`` as seconds or an HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _server_message(exc: openai.APIStatusError) -> str:
    """The server's own words: ``error.message`` of the body when it has one."""
    body = exc.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, Mapping) else inner
        if isinstance(message, str) and message:
            return message
    return exc.message


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"
