"""The voice speaker and the timeline under virtual time, with a synthesiser that makes
exactly timed audio (each word 0.25 s of tone), so which words were heard is exact."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import trio
import trio.testing

from counterpoint.engine.speech.audio import CHUNK_SECONDS, SAMPLE_RATE
from counterpoint.engine.speech.clock import VoiceLog
from counterpoint.engine.speech.sinks import CallRecording
from counterpoint.engine.speech.speaker import VoiceSpeaker
from counterpoint.engine.speech.tts import Speech, SpokenWord
from counterpoint.engine.viz import draw_timeline

WORD = 0.25


class ToneSynth:
    """Each word is WORD seconds of tone; records the sentences it was asked for."""

    name = "tone"

    def __init__(self) -> None:
        self.sentences: list[str] = []

    def synthesize(self, text: str) -> Speech:
        self.sentences.append(text)
        spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        n = int(WORD * SAMPLE_RATE)
        audio = np.tile(0.3 * np.sin(np.arange(n) / 5), len(spans)).astype(np.float32)
        words = tuple(SpokenWord(a, b, i * WORD, (i + 1) * WORD) for i, (a, b) in enumerate(spans))
        return Speech(text, audio, words, "alignment")


def play(script: list[tuple[float, str]], interrupt_at: float | None, tmp: Path) -> tuple[str, VoiceLog, ToneSynth]:
    """Feed timed text pieces, optionally interrupt; return what the utterance says was played."""
    synth = ToneSynth()
    result: list[str] = []

    async def main() -> VoiceLog:
        log = VoiceLog(trio.current_time())
        rec = CallRecording(tmp / "out.wav")
        rec.open(log.start)
        speaker = VoiceSpeaker(synth, [rec], log)
        async with trio.open_nursery() as nursery:
            await nursery.start(speaker.run)
            utt = speaker.begin()

            async def stop() -> None:
                assert interrupt_at is not None
                await trio.sleep_until(log.start + interrupt_at)
                result.append(utt.interrupt())

            if interrupt_at is not None:
                nursery.start_soon(stop)
            for at, text in script:
                await trio.sleep_until(log.start + at)
                utt.feed(text)
            result.append(await utt.finish())
            nursery.cancel_scope.cancel()
        rec.close()
        return log

    log = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return result[0], log, synth


def test_the_first_sentence_plays_while_the_rest_is_still_being_written(tmp_path: Path) -> None:
    text, log, synth = play([(0.0, "One two. "), (1.0, "Three four five. "), (1.2, "Six")], None, tmp_path)
    assert text == "One two. Three four five. Six"
    assert synth.sentences == ["One two. ", "Three four five. ", "Six"]
    starts = [t for t, name, _ in log.records if name == "agent.audio.started"]
    ends = [t for t, name, _ in log.records if name == "agent.audio.ended"]
    assert starts == [0.0]  # audio began before the text was complete
    assert ends[0] >= 6 * WORD  # and no word was lost


def test_an_interruption_stops_within_one_chunk_and_keeps_only_whole_played_words(tmp_path: Path) -> None:
    # words end at 0.25, 0.5, 0.75, 1.0 ...: at 0.8 s three words were heard, the fourth was cut
    heard, log, _ = play([(0.0, "alpha beta gamma delta epsilon.")], 0.8, tmp_path)
    assert heard == "alpha beta gamma"
    (end,) = [(t, d) for t, name, d in log.records if name == "agent.audio.ended"]
    assert end[1]["interrupted"] and 0.8 <= end[0] <= 0.8 + CHUNK_SECONDS + 1e-9
    import wave

    with wave.open(str(tmp_path / "out.wav")) as w:
        agent = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)[:, 1]
    assert len(agent) <= int((0.8 + CHUNK_SECONDS) * SAMPLE_RATE) + 1  # nothing was written after the cut


def test_interrupting_before_any_audio_keeps_nothing(tmp_path: Path) -> None:
    heard, log, _ = play([(0.5, "too late")], 0.2, tmp_path)
    assert heard == ""
    assert not [r for r in log.records if r[1].startswith("agent.audio")]


def test_the_timeline_draws_every_kind_of_record(tmp_path: Path) -> None:
    records = [
        (0.0, "state.changed", {"configuration": ["call", "idle"]}),
        (0.5, "user.speech.started", {"onset": 0.4}),
        (1.8, "state.changed", {"configuration": ["call", "listening"]}),
        (2.0, "user.speech.stopped", {"onset": 0.4, "end": 1.3}),
        (2.1, "asr.done", {"seconds": 0.1, "audio": 1.1}),
        (2.1, "user.said", {"text": "What is the weather in Paris?"}),
        (2.1, "llm.started", {}),
        (2.4, "tool.forecast.started", {"call_id": "call1"}),
        (2.5, "llm.done", {"text": "Let me look."}),
        (2.6, "agent.audio.started", {"utterance": 1}),
        (3.0, "voice.ignored", {"onset": 3.0, "end": 3.3, "text": "yeah"}),
        (4.0, "user.speech.started", {"onset": 3.4, "barge_in": True}),
        (4.01, "agent.audio.ended", {"utterance": 1, "interrupted": True, "heard": "Let", "remaining": 1.2}),
        (4.5, "timer.fired", {"name": "after.5s"}),
        (6.0, "tool.forecast.done", {"call_id": "call1"}),
        (6.1, "tool.other.started", {"call_id": "call2"}),
    ]
    out = draw_timeline(records, tmp_path / "t.png", title="test")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


class Hoarse(ToneSynth):
    """Fails on sentences that mention a frog."""

    def synthesize(self, text: str) -> Speech:
        if "frog" in text:
            raise RuntimeError("voice model crashed")
        return super().synthesize(text)


def test_a_sentence_that_fails_to_synthesise_is_logged_and_skipped(tmp_path: Path) -> None:
    synth = Hoarse()

    async def main() -> tuple[str, VoiceLog]:
        log = VoiceLog(trio.current_time())
        speaker = VoiceSpeaker(synth, [], log)
        async with trio.open_nursery() as nursery:
            await nursery.start(speaker.run)
            utt = speaker.begin()
            utt.feed("One two. A frog here. Three.")
            text = await utt.finish()
            nursery.cancel_scope.cancel()
        return text, log

    text, log = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert text == "One two. A frog here. Three."
    (error,) = [d for _, name, d in log.records if name == "voice.error"]
    assert error == {"stage": "tts", "error": "RuntimeError: voice model crashed"}
    (end,) = [t for t, name, _ in log.records if name == "agent.audio.ended"]
    assert end == pytest.approx(0.76)  # "One two." and "Three.": 3 words of 0.25 s, in whole 20 ms chunks
