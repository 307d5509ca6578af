"""The OpenAI-compatible backend against real servers on 127.0.0.1: llama.cpp's server running the
embedded GGUF, and a small HTTP server of ours that answers with chosen statuses."""

from __future__ import annotations

import email.utils
import json
import socket
import time
import traceback
from collections.abc import Iterator

import pytest
import trio

from counterpoint.engine.llm.base import (
    BackendSpec,
    LLMBackend,
    LLMError,
    LLMRequest,
    StreamItem,
    TextDelta,
    ToolCallRequest,
    TurnUsage,
)
from counterpoint.engine.llm.openai_compat import OpenAICompatibleLLM, RetryPolicy, _retry_after
from helpers.llm_servers import Reply, model_server, sse_answer, sse_events, status_server

REQUEST = LLMRequest(messages=[{"role": "user", "content": "Say hello."}], max_tokens=8)
FAST = RetryPolicy(attempts=3, base_delay=0.1, max_delay=1.0, max_retry_after=5.0)
SECRET = "sk-test-0123456789abcdefSECRET"


@pytest.fixture(scope="module")
def llama_url() -> Iterator[str]:
    with model_server() as url:
        yield url


def turn(llm: OpenAICompatibleLLM, request: LLMRequest = REQUEST) -> list[StreamItem]:
    async def main() -> list[StreamItem]:
        try:
            return [item async for item in llm.stream(request)]
        finally:
            await llm.aclose()

    return trio.run(main)


def failure(llm: OpenAICompatibleLLM, request: LLMRequest = REQUEST) -> LLMError:
    with pytest.raises(LLMError) as info:
        turn(llm, request)
    return info.value


def gaps(seen: list) -> list[float]:  # type: ignore[type-arg]
    return [later.at - earlier.at for earlier, later in zip(seen, seen[1:], strict=False)]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ----------------------------------------------------------------------- a real model server


@pytest.mark.slow  # a llama.cpp server process loads and runs the model
def test_streams_text_from_a_real_llama_cpp_server(llama_url: str) -> None:
    llm = OpenAICompatibleLLM("smollm2", base_url=llama_url, temperature=0.0)
    assert isinstance(llm, LLMBackend)
    items = turn(llm)
    texts = [item.text for item in items if isinstance(item, TextDelta)]
    assert len(texts) >= 2 and "".join(texts).strip()
    usage = items[-1]
    assert isinstance(usage, TurnUsage)
    assert usage.completion_tokens == len(texts) and usage.prompt_tokens and usage.prompt_tokens > 5
    assert usage.finish_reason in ("stop", "length")


@pytest.mark.slow  # a llama.cpp server process loads and runs the model
def test_cancelling_a_turn_on_the_real_server_returns_at_once(llama_url: str) -> None:
    llm = OpenAICompatibleLLM("smollm2", base_url=llama_url)
    long = LLMRequest(messages=[{"role": "user", "content": "Tell a long story."}], max_tokens=400)

    async def main() -> tuple[int, float]:
        got = 0
        with trio.CancelScope() as scope:
            async for item in llm.stream(long):
                got += isinstance(item, TextDelta)
                if got == 3:
                    scope.cancel()
                    cancelled_at = time.monotonic()
        await llm.aclose()
        return got, time.monotonic() - cancelled_at

    got, after = trio.run(main)
    assert got == 3 and after < 0.5


# ------------------------------------------------------------------- tool calls, as streamed


def test_parallel_tool_call_fragments_are_assembled_by_index() -> None:
    def call(index: int, **fields: object) -> dict[str, object]:
        return {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": index, **fields}]}}]}

    events = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Checking."}}]},
        call(0, id="call_a", type="function", function={"name": "find_table", "arguments": ""}),
        call(1, id="call_b", type="function", function={"name": "weather", "arguments": '{"ci'}),
        call(0, function={"arguments": '{"cuisine": '}),
        call(1, function={"arguments": 'ty": "Oslo"}'}),
        call(0, function={"arguments": '"thai"}'}),
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 31, "completion_tokens": 17, "total_tokens": 48}},
    ]
    with status_server([sse_events(events)]) as (url, seen):
        items = turn(OpenAICompatibleLLM("m", base_url=url), LLMRequest(
            messages=[{"role": "user", "content": "thai food, and the weather?"}],
            tools=[{"type": "function", "function": {"name": "find_table", "parameters": {"type": "object"}}}]))
    assert items == [
        TextDelta("Checking."),
        ToolCallRequest("call_a", "find_table", '{"cuisine": "thai"}'),
        ToolCallRequest("call_b", "weather", '{"city": "Oslo"}'),
        TurnUsage(prompt_tokens=31, completion_tokens=17, finish_reason="tool_calls"),
    ]
    assert seen[0].path == "/v1/chat/completions"
    body = json.loads(seen[0].body)
    assert body["tool_choice"] == "auto" and body["tools"][0]["function"]["name"] == "find_table"
    assert body["stream"] is True


# ------------------------------------------------------------------------- failures, retries


def test_connection_refused_is_retried_with_backoff_then_reported() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    started = time.monotonic()
    error = failure(OpenAICompatibleLLM("m", base_url=url, retry=FAST))
    elapsed = time.monotonic() - started
    assert error.kind == "connection" and error.retryable
    assert str(error) == f"openai:m: cannot connect to {url} (gave up after 3 attempts)"
    assert 0.3 <= elapsed < 2.0  # waited 0.1 s, then 0.2 s


@pytest.mark.slow  # waits out the server's Retry-After in real time (about 1.5 s)
def test_429_honours_retry_after_then_succeeds() -> None:
    replies = [Reply(429, {"Retry-After": "1"}), sse_answer("Hello there")]
    with status_server(replies) as (url, seen):
        items = turn(OpenAICompatibleLLM("m", base_url=url, retry=FAST))
    assert "".join(item.text for item in items if isinstance(item, TextDelta)) == "Hello there"
    assert len(seen) == 2
    assert 1.0 <= gaps(seen)[0] < 1.8  # the server's Retry-After, not the 0.1 s backoff


@pytest.mark.slow  # waits out the server's Retry-After in real time (about 1.5 s)
def test_retry_after_in_milliseconds_is_honoured_and_capped() -> None:
    replies = [Reply(429, {"retry-after-ms": "400"}), Reply(503, {"Retry-After": "3600"}), sse_answer("ok")]
    policy = RetryPolicy(attempts=3, base_delay=0.05, max_retry_after=0.6)
    with status_server(replies) as (url, seen):
        items = turn(OpenAICompatibleLLM("m", base_url=url, retry=policy))
    assert TextDelta("o") in items
    first, second = gaps(seen)
    assert 0.4 <= first < 0.9
    assert 0.6 <= second < 1.1  # an hour asked, capped at max_retry_after


def test_server_errors_are_retried_a_bounded_number_of_times() -> None:
    with status_server([Reply(500, body='{"error": {"message": "model crashed"}}')]) as (url, seen):
        error = failure(OpenAICompatibleLLM("m", base_url=url, retry=FAST))
    assert (error.kind, error.status, error.retryable) == ("server", 500, True)
    assert str(error) == (f"openai:m: server error from {url} (HTTP 500): model crashed "
                          "(gave up after 3 attempts)")
    assert len(seen) == 3
    first, second = gaps(seen)
    assert 0.1 <= first < 0.5 and 0.2 <= second < 0.6  # exponential backoff


def test_client_errors_are_not_retried() -> None:
    with status_server([Reply(400, body='{"error": {"message": "messages must not be empty"}}')]) as (url, seen):
        error = failure(OpenAICompatibleLLM("m", base_url=url, retry=FAST))
    assert (error.kind, error.status, error.retryable, len(seen)) == ("bad_request", 400, False, 1)
    assert "messages must not be empty" in str(error)


def test_a_stream_that_breaks_after_text_is_not_retried() -> None:
    broken = sse_answer("Hello there")
    broken.cut = 400  # the connection closes after two chunks
    with status_server([broken, sse_answer("never")]) as (url, seen):
        llm = OpenAICompatibleLLM("m", base_url=url, retry=FAST)
        got: list[StreamItem] = []

        async def main() -> None:
            async for item in llm.stream(REQUEST):
                got.append(item)

        with pytest.raises(LLMError) as info:
            trio.run(main)
    assert info.value.kind == "connection"
    assert str(info.value) == (f"openai:m: the connection to {url} broke "
                               "(after part of the answer had arrived, so it was not retried)")
    assert got == [TextDelta("H"), TextDelta("e")]
    assert len(seen) == 1


def test_the_api_key_never_appears_in_errors_or_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_LLM_KEY", SECRET)
    echo = json.dumps({"error": {"message": f"Incorrect API key provided: {SECRET}."}})
    with status_server([Reply(401, body=echo)]) as (url, seen):
        llm = OpenAICompatibleLLM.from_spec(BackendSpec(provider="openai", model="m", base_url=url,
                                                        api_key_env="SHOP_LLM_KEY"))
        text = repr(llm) + str(llm.__dict__.get("name"))
        error = failure(llm)
    assert seen[0].headers["authorization"] == f"Bearer {SECRET}"  # the key did reach the server
    assert error.kind == "auth" and "[redacted]" in str(error)
    shown = text + str(error) + repr(error) + "".join(traceback.format_exception(error))
    assert SECRET not in shown
    assert error.__cause__ is None and error.__context__ is None  # the client's request is not attached
    refused = failure(OpenAICompatibleLLM("m", base_url=f"http://127.0.0.1:{closed_port()}/v1",
                                          api_key=SECRET, retry=RetryPolicy(attempts=1)))
    assert SECRET not in str(refused) + "".join(traceback.format_exception(refused))


# ---------------------------------------------------------------------------- configuration


def test_from_spec_reads_the_usual_environment_variables() -> None:
    env = {"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_MODEL": "tiny"}
    llm = OpenAICompatibleLLM.from_spec(BackendSpec(provider="openai", temperature=0.2), env)
    assert (llm.model, llm.base_url, llm.temperature, llm.name) == ("tiny", "http://127.0.0.1:9/v1", 0.2, "openai:tiny")
    assert SECRET not in repr(llm)
    spec = BackendSpec(provider="openai", model="big", base_url="http://127.0.0.1:8/v1")
    assert OpenAICompatibleLLM.from_spec(spec, env).base_url == "http://127.0.0.1:8/v1"


@pytest.mark.parametrize(("spec", "env", "message"), [
    (BackendSpec(provider="openai"), {}, "no model given"),
    (BackendSpec(provider="openai", model="m"), {}, "no API key: set OPENAI_API_KEY"),
    (BackendSpec(provider="openai", model="m", api_key_env="MY_KEY"), {"OPENAI_API_KEY": "x"},
     "the environment variable MY_KEY (named by api_key_env) is not set"),
])
def test_from_spec_explains_what_is_missing(spec: BackendSpec, env: dict[str, str], message: str) -> None:
    with pytest.raises(LLMError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        OpenAICompatibleLLM.from_spec(spec, env)
    assert info.value.kind == "config"


def test_a_local_server_needs_no_key() -> None:
    llm = OpenAICompatibleLLM.from_spec(BackendSpec(provider="openai", model="m", base_url="http://127.0.0.1:1/v1"), {})
    assert llm.base_url == "http://127.0.0.1:1/v1"


def test_retry_after_forms_and_the_backoff_schedule() -> None:
    assert _retry_after({"retry-after": "2"}) == 2.0
    assert _retry_after({"retry-after": "1.5", "retry-after-ms": "250"}) == 0.25
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (_retry_after({"retry-after": later}) or 0) <= 30
    assert _retry_after({"retry-after": "whenever"}) is None
    assert _retry_after({}) is None
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, max_retry_after=10.0)
    assert [policy.delay(n, None) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(1, 4.0) == 4.0 and policy.delay(1, 99.0) == 10.0
