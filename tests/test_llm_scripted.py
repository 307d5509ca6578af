"""The scripted LLM test double: replies, timing under the virtual clock, failures, the data format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
import trio.testing

from counterpoint.engine.llm.base import (
    LLMBackend,
    LLMError,
    LLMRequest,
    StreamItem,
    TextDelta,
    ToolCallRequest,
    TurnUsage,
)
from counterpoint.engine.llm.scripted import (
    ScriptedCall,
    ScriptedFailure,
    ScriptedLLM,
    ScriptedReply,
    ScriptError,
    parse_script,
)

REQUEST = LLMRequest(messages=[{"role": "user", "content": "hello"}])


def run(coro_fn, *args):  # type: ignore[no-untyped-def]
    return trio.run(coro_fn, *args, clock=trio.testing.MockClock(autojump_threshold=0))


async def collect(llm: ScriptedLLM, request: LLMRequest = REQUEST) -> list[tuple[float, StreamItem]]:
    items = []
    async for item in llm.stream(request):
        items.append((trio.current_time(), item))
    return items


def text_of(items: list[tuple[float, StreamItem]]) -> str:
    return "".join(item.text for _, item in items if isinstance(item, TextDelta))


def test_it_is_an_llm_backend() -> None:
    assert isinstance(ScriptedLLM(), LLMBackend)


def test_text_streams_word_by_word_and_joins_back_exactly() -> None:
    llm = ScriptedLLM(["  Hello there,\nworld!  "])
    items = run(collect, llm)
    pieces = [item.text for _, item in items if isinstance(item, TextDelta)]
    assert pieces == ["  Hello", " there,", "\nworld!", "  "]
    assert text_of(items) == "  Hello there,\nworld!  "
    assert items[-1][1] == TurnUsage(prompt_tokens=None, completion_tokens=4, finish_reason="stop")


def test_replies_play_in_order_and_requests_are_recorded() -> None:
    llm = ScriptedLLM(["one", "two"])
    second = LLMRequest(messages=[{"role": "user", "content": "again"}], tools=[{"type": "function"}])

    async def main() -> tuple[str, str]:
        return text_of(await collect(llm)), text_of(await collect(llm, second))

    assert run(main) == ("one", "two")
    assert llm.requests == [REQUEST, second]
    assert llm.remaining == 0


def test_an_exhausted_script_gives_empty_answers() -> None:
    llm = ScriptedLLM()
    items = [item for _, item in run(collect, llm)]
    assert items == [TurnUsage(prompt_tokens=None, completion_tokens=0, finish_reason="stop")]
    assert len(llm.requests) == 1


def test_delay_and_pace_use_the_trio_clock() -> None:
    llm = ScriptedLLM([ScriptedReply(say="a b c", delay=2.0, pace=0.5)])

    async def main() -> list[tuple[float, StreamItem]]:
        start = trio.current_time()
        return [(at - start, item) for at, item in await collect(llm)]

    times = [at for at, item in run(main) if isinstance(item, TextDelta)]
    assert times == pytest.approx([2.0, 2.5, 3.0])


def test_tool_calls_follow_the_text_with_ids_and_json_arguments() -> None:
    llm = ScriptedLLM([
        ScriptedReply(say="Looking.", calls=(ScriptedCall("find_table", {"cuisine": "thai"}),
                                             ScriptedCall("weather", "{not json", call_id="w1"))),
        ScriptedReply(calls=(ScriptedCall("find_table"),)),
    ])

    async def main() -> list[StreamItem]:
        return [item for _, item in await collect(llm)] + [item for _, item in await collect(llm)]

    items = run(main)
    calls = [item for item in items if isinstance(item, ToolCallRequest)]
    assert calls == [ToolCallRequest("call_1", "find_table", '{"cuisine": "thai"}'),
                     ToolCallRequest("w1", "weather", "{not json"),
                     ToolCallRequest("call_3", "find_table", "{}")]
    assert isinstance(items[0], TextDelta)
    usages = [item for item in items if isinstance(item, TurnUsage)]
    assert [usage.finish_reason for usage in usages] == ["tool_calls", "tool_calls"]


def test_a_failure_comes_after_the_text_and_before_any_call() -> None:
    llm = ScriptedLLM([ScriptedReply(say="Sorry, I", calls=(ScriptedCall("x"),),
                                     error=ScriptedFailure("rate_limit", "slow down", 429))])
    seen: list[StreamItem] = []

    async def main() -> None:
        async for item in llm.stream(REQUEST):
            seen.append(item)

    with pytest.raises(LLMError) as info:
        run(main)
    assert [type(item) for item in seen] == [TextDelta, TextDelta]
    assert (str(info.value), info.value.kind, info.value.status, info.value.retryable) == \
        ("slow down", "rate_limit", 429, True)


def test_cancelling_a_turn_stops_it_during_its_delay() -> None:
    llm = ScriptedLLM([ScriptedReply(say="late", delay=3600.0), "next"])

    async def main() -> tuple[float, str]:
        with trio.move_on_after(1.0):
            await collect(llm)
        return trio.current_time(), text_of(await collect(llm))

    now, text = run(main)
    assert now == pytest.approx(1.0)
    assert text == "next"


# ------------------------------------------------------------------------------ plain data


def test_from_data_reads_the_scenario_format() -> None:
    llm = ScriptedLLM.from_data([
        {"say": "Let me look.", "calls": [{"tool": "find_table", "args": {"cuisine": "thai"}}],
         "delay": "2s", "pace": "50ms"},
        "Just words.",
        {"calls": [{"tool": "book", "args": '{"table": ', "id": "b1"}]},
        {"say": "Oops", "error": {"kind": "server", "message": "upstream went away", "status": 502}},
        {"error": "connection"},
    ])
    replies = list(llm._replies)
    assert replies[0] == ScriptedReply(say="Let me look.", calls=(ScriptedCall("find_table", {"cuisine": "thai"}),),
                                       delay=2.0, pace=0.05)
    assert replies[1] == ScriptedReply(say="Just words.")
    assert replies[2].calls == (ScriptedCall("book", '{"table": ', "b1"),)
    assert replies[3].error == ScriptedFailure("server", "upstream went away", 502)
    assert replies[4].error == ScriptedFailure("connection", "scripted connection failure")


@pytest.mark.parametrize(("data", "message"), [
    ({"say": "x"}, "an LLM script is a list of replies, got dict"),
    ([{"sya": "x"}], "reply 1: unknown key 'sya'; allowed keys are say, calls, delay, pace, error"),
    (["ok", 3], "reply 2: a reply is a string or a mapping, got int 3"),
    ([{"say": 5}], "reply 1: 'say' must be text, got int 5"),
    ([{"calls": {"tool": "x"}}], "reply 1: 'calls' must be a list"),
    ([{"calls": [{"args": {}}]}], "reply 1, call 1: 'tool' (the tool's name) is required"),
    ([{"calls": [{"tool": "x", "args": [1]}]}], "reply 1, call 1: 'args' must be a mapping or raw JSON text"),
    ([{"delay": "soon"}], "reply 1: 'delay': 'soon' is not a duration"),
    ([{"pace": -1}], "reply 1: 'pace': duration must be a non-negative number"),
    ([{"error": {"kind": "meteor"}}], "reply 1: 'error': unknown kind 'meteor'; use one of connection"),
    ([{"error": {"kind": "server", "status": "500"}}], "'status' must be an HTTP status number"),
])
def test_bad_data_gets_a_clear_message(data: object, message: str) -> None:
    with pytest.raises(ScriptError) as info:
        parse_script(data)
    assert message in str(info.value)


def test_from_file_reads_yaml_and_names_the_file_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "turns.yaml"
    good.write_text("replies:\n  - say: Hi there\n  - calls: [{tool: ping}]\n", encoding="utf-8")
    llm = ScriptedLLM.from_file(good)
    assert (llm.name, llm.remaining) == ("scripted:turns.yaml", 2)
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {say: [}\n", encoding="utf-8")
    with pytest.raises(ScriptError, match="bad.yaml: not valid YAML"):
        ScriptedLLM.from_file(bad)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("- {delay: forever}\n", encoding="utf-8")
    with pytest.raises(ScriptError, match=r"wrong.yaml: reply 1: 'delay'"):
        ScriptedLLM.from_file(wrong)
    with pytest.raises(ScriptError, match="cannot read the LLM script"):
        ScriptedLLM.from_file(tmp_path / "missing.yaml")


def test_arguments_given_as_a_mapping_are_sent_as_json() -> None:
    llm = ScriptedLLM.from_data([{"calls": [{"tool": "t", "args": {"n": 2, "name": "Zoë"}}]}])
    calls = [item for _, item in run(collect, llm) if isinstance(item, ToolCallRequest)]
    assert json.loads(calls[0].arguments) == {"n": 2, "name": "Zoë"}
