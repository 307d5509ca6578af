"""The voice pipeline's parts: turn detection, backchannels, sentences, scripts, the call
recording, latency figures, settings, and the listener's memory. No models but the small
Silero VAD: these run in about a second."""

from __future__ import annotations

import numpy as np
import pytest

from counterpoint.dsl.model import VoiceSettings
from counterpoint.engine.agent.script import ScriptLine, parse_script
from counterpoint.engine.speech import latency
from counterpoint.engine.speech.audio import CHUNK, SAMPLE_RATE, AudioError, read_wav, resample, write_wav
from counterpoint.engine.speech.settings import MIN_BARGE_IN, VoiceConfig
from counterpoint.engine.speech.sinks import CallRecording
from counterpoint.engine.speech.speaker import next_sentence
from counterpoint.engine.speech.tts import aligned_words, estimate_words
from counterpoint.engine.speech.vad import (
    WINDOW_SECONDS,
    Ignored,
    Paused,
    Started,
    Stopped,
    TurnDetector,
    is_backchannel,
)


def run(detector: TurnDetector, pattern: list[tuple[float, float]], agent: bool = False, t: float = 0.0
        ) -> list[object]:
    """Feed (probability, seconds) stretches from ``t``; return the decisions."""
    out: list[object] = []
    for prob, seconds in pattern:
        for _ in range(round(seconds / WINDOW_SECONDS)):
            d = detector.step(prob, t, agent)
            if d is not None:
                out.append(d)
            t += WINDOW_SECONDS
    return out


def detector() -> TurnDetector:
    return TurnDetector(threshold=0.5, min_speech=0.1, min_barge_in=0.6, end_of_turn=0.7)


def test_a_turn_starts_after_min_speech_and_stops_after_the_end_of_turn_silence() -> None:
    out = run(detector(), [(0.0, 0.32), (0.9, 1.6), (0.05, 1.0)])
    started, paused, stopped = out
    assert isinstance(paused, Paused) and (paused.onset, paused.end) == (stopped.onset, stopped.end)  # type: ignore[union-attr]
    assert isinstance(started, Started) and not started.barge_in
    assert started.onset == pytest.approx(0.32)
    assert started.at - started.onset == pytest.approx(4 * WINDOW_SECONDS)  # 0.1 s → 4 windows of 32 ms
    assert isinstance(stopped, Stopped)
    assert stopped.end == pytest.approx(0.32 + 1.6, abs=WINDOW_SECONDS)
    assert stopped.at - stopped.end >= 0.7


def test_while_the_agent_speaks_a_short_sound_is_ignored_and_a_long_one_barges_in() -> None:
    short = run(detector(), [(0.0, 0.32), (0.9, 0.35), (0.0, 1.0)], agent=True)
    assert len(short) == 1 and isinstance(short[0], Ignored) and short[0].while_agent_spoke
    long = run(detector(), [(0.0, 0.32), (0.9, 1.0)], agent=True)
    assert isinstance(long[0], Started) and long[0].barge_in
    assert long[0].at - long[0].onset == pytest.approx(MIN_BARGE_IN, abs=WINDOW_SECONDS)


def test_a_comma_pause_does_not_split_a_sound_but_a_longer_silence_does() -> None:
    comma = run(detector(), [(0.9, 0.35), (0.0, 0.2), (0.9, 0.4)], agent=True)
    assert [type(d) for d in comma] == [Started]
    assert comma[0].onset == 0.0
    apart = run(detector(), [(0.9, 0.35), (0.0, 0.5), (0.9, 0.35), (0.0, 0.5)], agent=True)
    assert [type(d) for d in apart] == [Ignored, Ignored]


def test_hysteresis_keeps_a_turn_through_soft_syllables() -> None:
    out = run(detector(), [(0.9, 0.5), (0.4, 0.6), (0.9, 0.3), (0.0, 1.0)])
    assert [type(d) for d in out] == [Started, Paused, Stopped]


def test_a_pause_that_is_not_the_end_is_reported_again_at_the_next_pause() -> None:
    out = run(detector(), [(0.9, 0.5), (0.0, 0.4), (0.9, 0.5), (0.0, 1.0)])
    assert [type(d) for d in out] == [Started, Paused, Paused, Stopped]
    assert out[1].end < out[2].end == out[3].end  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["Mm-hm.", "Yeah.", "okay", "Uh-huh", "I see.", "Right, right.", ""])
def test_backchannels(text: str) -> None:
    assert is_backchannel(text)


@pytest.mark.parametrize("text", ["Stop.", "Wait!", "No.", "Hold on.", "Yeah, but what about Berlin?"])
def test_not_backchannels(text: str) -> None:
    assert not is_backchannel(text)


def test_sentences_end_at_punctuation_followed_by_space_and_long_clauses_at_commas() -> None:
    text = "Hello there. How are you? Fine"
    assert next_sentence(text, 0) == len("Hello there. ")
    assert next_sentence(text, 13) == len("Hello there. How are you? ")
    assert next_sentence(text, 26) is None  # no end yet: wait for more text
    assert next_sentence("3.5 degrees", 0) is None  # a decimal point is not a sentence end
    long = "word, " * 30
    cut = next_sentence(long, 0)
    assert cut is not None and cut <= 120 and long[:cut].endswith(", ")


def test_scripts_parse_absolute_and_relative_lines_and_explain_bad_ones() -> None:
    lines = parse_script("# caller\n@1.5s Hello there\n\n>0.8 Yes please\n~1s Wait\n")
    assert lines == [ScriptLine("at", 1.5, "Hello there", 2), ScriptLine("answered", 0.8, "Yes please", 4),
                     ScriptLine("during", 1.0, "Wait", 5)]


def test_estimated_word_times_cover_the_voiced_audio_in_order() -> None:
    audio = np.concatenate([np.zeros(1600), 0.5 * np.ones(16000), np.zeros(1600)]).astype(np.float32)
    words = estimate_words("one two three", audio)
    assert [("one two three"[w.start_char:w.end_char]) for w in words] == ["one", "two", "three"]
    assert words[0].start == pytest.approx(0.1, abs=0.011) and words[-1].end == pytest.approx(1.1, abs=0.011)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(words, words[1:], strict=False))


def test_aligned_word_times_follow_the_phonemes_and_give_up_on_a_mismatch() -> None:
    phonemes = [("^", 100), ("h", 100), ("i", 100), (",", 300), (" ", 50), ("j", 100), ("u", 100), (".", 200)]
    words = aligned_words("Hi, you.", phonemes, 1000)
    assert words is not None
    assert [(w.start, w.end) for w in words] == [(0.1, 0.3), (0.65, 0.85)]  # the comma's pause is no word
    assert aligned_words("Hi there, you.", phonemes, 1000) is None


def test_the_call_recording_puts_both_sides_on_one_time_axis(tmp_path: object) -> None:
    path = tmp_path / "call.wav"  # type: ignore[operator]
    rec = CallRecording(path)
    rec.open(10.0)
    rec.user(10.0, np.full(CHUNK, 0.25, np.float32))
    rec.agent(10.5, np.full(CHUNK, -0.5, np.float32))
    rec.close()
    import wave

    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, SAMPLE_RATE)
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2) / 32767
    assert frames.shape[0] == int(0.5 * SAMPLE_RATE) + CHUNK
    assert frames[:CHUNK, 0] == pytest.approx(0.25, abs=1e-3) and not frames[CHUNK:, 0].any()
    assert not frames[: 8000, 1].any() and frames[8000:, 1] == pytest.approx(-0.5, abs=1e-3)


def test_wav_files_are_read_as_16k_mono_and_bad_files_are_explained(tmp_path: object) -> None:
    path = tmp_path / "in.wav"  # type: ignore[operator]
    t = np.arange(22050) / 22050
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    write_wav(path, [tone, tone], rate=22050)
    audio = read_wav(path)
    assert len(audio) == SAMPLE_RATE and abs(float(np.abs(audio).max()) - 0.5) < 0.02
    assert len(resample(audio, SAMPLE_RATE, 8000)) == 8000
    bad = tmp_path / "bad.wav"  # type: ignore[operator]
    bad.write_text("not audio")
    with pytest.raises(AudioError, match="not a readable WAV file"):
        read_wav(bad)
    with pytest.raises(AudioError, match="no such audio file"):
        read_wav(tmp_path / "missing.wav")  # type: ignore[operator]


RECORDS: list[latency.Record] = [
    (1.0, "user.speech.started", {"onset": 0.9, "barge_in": False}),
    (3.0, "user.speech.stopped", {"onset": 0.9, "end": 2.3}),
    (3.2, "asr.done", {"seconds": 0.2, "audio": 1.8}),
    (3.2, "user.said", {"text": "hi"}),
    (3.2, "llm.started", {}),
    (3.6, "agent.speech.started", {"text": "Hello"}),
    (3.7, "tts.done", {"seconds": 0.1, "audio": 2.0}),
    (3.7, "agent.audio.started", {"utterance": 1}),
    (4.5, "user.speech.started", {"onset": 3.9, "barge_in": True}),
    (4.51, "agent.audio.ended", {"utterance": 1, "interrupted": True, "cut": 4.5}),
]


def test_latency_figures_come_from_the_records() -> None:
    (turn,) = latency.turn_latencies(RECORDS)
    assert turn.voice_to_voice == pytest.approx(1.4) and turn.end_of_turn == pytest.approx(0.7)
    assert (turn.asr, turn.first_token, turn.first_audio) == pytest.approx((0.2, 0.4, 0.1))
    (cut,) = latency.barge_ins(RECORDS)
    assert cut.stop_latency == pytest.approx(0.01) and cut.detected - cut.onset == pytest.approx(0.6)
    assert latency.real_time_factors(RECORDS) == pytest.approx({"asr": 0.2 / 1.8, "tts": 0.05})
    text = latency.summary(RECORDS)
    assert "voice to voice" in text and "1400 ms" in text and "10 ms" in text


def test_percentiles_use_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert latency.percentile(values, 50) == 10 and latency.percentile(values, 95) == 19
    assert latency.percentile([], 50) is None


def test_voice_settings_override_the_defaults() -> None:
    assert VoiceConfig.from_settings(None) == VoiceConfig()
    config = VoiceConfig.from_settings(VoiceSettings(tts="joe", speed=1.2, min_barge_in=0.4))
    assert (config.tts, config.speed, config.min_barge_in, config.end_of_turn) == ("piper", 1.2, 0.4, 0.6)


def test_an_ignored_sound_that_was_words_resumes_as_the_start_of_a_turn() -> None:
    d = detector()
    first = run(d, [(0.0, 0.32), (0.9, 0.35), (0.0, 0.35)], agent=True)  # "Wait," then a pause: ignored
    assert [type(x) for x in first] == [Ignored]
    assert d.resume(first[0].onset, first[0].end)  # it was a word: the turn starts (and is not yet over)
    rest = run(d, [(0.9, 0.5), (0.0, 1.0)], agent=True, t=1.024)
    assert [type(x) for x in rest] == [Paused, Stopped]
    rest = rest[1:]
    assert rest[0].onset == pytest.approx(0.32)  # one turn from "Wait," to the end, heard whole
    assert rest[0].end == pytest.approx(1.024 + 0.5, abs=WINDOW_SECONDS)
    late = detector()
    ignored = run(late, [(0.9, 0.35), (0.0, 0.35), (0.9, 1.0), (0.0, 1.0)], agent=True)
    assert [type(x) for x in ignored] == [Ignored, Started, Paused, Stopped]
    assert not late.resume(0.0, 0.35) and not late.in_turn  # recognised too late: the next turn stands
    again = detector()
    run(again, [(0.9, 1.0)], agent=True)  # a turn already running
    assert again.in_turn and not again.resume(0.0, 0.1)  # is not started twice


def test_the_listener_keeps_only_recent_audio_while_no_turn_needs_it() -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    from faster_whisper.vad import get_vad_model

    from counterpoint.engine.speech.audio import CHUNK_SECONDS
    from counterpoint.engine.speech.clock import VoiceLog
    from counterpoint.engine.speech.session import VoiceEngines, _Listener

    quiet: Any = SimpleNamespace(busy=False, interpreter=None)
    engines = VoiceEngines(get_vad_model(), cast(Any, None), cast(Any, None))
    listener = _Listener(quiet, SimpleNamespace(speaking=False), engines, VoiceConfig(), [], VoiceLog())  # type: ignore[arg-type]
    tone = (0.1 * np.sin(np.arange(CHUNK) / 3)).astype(np.float32)  # no speech: no turn is ever pending
    for i in range(int(70 / CHUNK_SECONDS)):
        listener.hear(i * CHUNK_SECONDS, tone * (i % 7))
    assert listener.samples == 70 * SAMPLE_RATE
    assert listener.samples - listener.dropped <= 30 * SAMPLE_RATE and len(listener.audio) == 60 * SAMPLE_RATE
    last = listener.audio[listener.samples - listener.dropped - CHUNK:listener.samples - listener.dropped]
    assert last == pytest.approx(tone * ((int(70 / CHUNK_SECONDS) - 1) % 7))  # the newest frame is where it belongs


def test_the_concierge_caller_script_parses() -> None:
    from pathlib import Path

    path = Path(__file__).parent.parent / "agents" / "concierge" / "concierge.caller.txt"
    lines = parse_script(path.read_text(encoding="utf-8"), str(path))
    assert [line.when for line in lines] == ["answered", "during", "answered", "answered"]
