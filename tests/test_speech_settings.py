"""The definition's ``voice:`` section: both syntaxes, printers, validation and the schema."""

from __future__ import annotations

from pathlib import Path

from counterpoint.dsl import json_schema, load_text, load_yaml, print_text, print_yaml
from counterpoint.dsl.validate.checks import validate

YAML = "agent: a\nvoice: {tts: piper, vad_threshold: 0.6, min_barge_in: 0.4, end_of_turn: 0.9}\nstates: {s: {}}\n"
TEXT = 'agent a\nvoice { tts "piper" vad_threshold 0.6 min_barge_in 0.4 end_of_turn 0.9 }\nstate s\n'


def test_both_syntaxes_read_the_voice_settings_and_print_them_back() -> None:
    a, diags = load_yaml(YAML, "a.agent.yaml")
    b, more = load_text(TEXT, "a.agent")
    assert a is not None and b is not None and not diags and not more
    assert a.voice is not None and b.voice is not None
    assert (a.voice.vad_threshold, a.voice.min_barge_in, a.voice.end_of_turn) == (0.6, 0.4, 0.9)
    assert a.voice == b.voice.__class__(**{**b.voice.__dict__, "span": a.voice.span})
    again, _ = load_text(print_text(a), "b.agent")
    back, _ = load_yaml(print_yaml(b), "b.agent.yaml")
    assert again is not None and back is not None and again.voice is not None and back.voice is not None
    assert (again.voice.min_barge_in, back.voice.end_of_turn) == (0.4, 0.9)


def test_an_unknown_voice_key_gets_a_hint() -> None:
    _, diags = load_yaml("agent: a\nvoice: {min_bargein: 0.4}\nstates: {s: {}}\n", "a.agent.yaml")
    assert [d.code for d in diags] == ["E004"]
    assert "min_barge_in" in (diags[0].hint or "")


def test_out_of_range_voice_settings_are_errors_that_say_the_range() -> None:
    agent, _ = load_yaml("agent: a\nvoice: {vad_threshold: 1.5, end_of_turn: -1}\nstates: {s: {}}\n", "a.agent.yaml")
    assert agent is not None
    diags = [d for d in validate(agent, Path(".")) if d.code == "E005"]
    assert sorted(d.message for d in diags) == [
        "voice setting 'end_of_turn' is -1, outside 0 to 10",
        "voice setting 'vad_threshold' is 1.5, outside 0 to 1",
    ]


def test_the_schema_knows_the_voice_settings() -> None:
    voice = json_schema()["properties"]["voice"]["anyOf"][1]["properties"]
    assert {"vad_threshold", "min_barge_in", "end_of_turn"} <= set(voice)
