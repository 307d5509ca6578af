"""The voice pipeline with the real models (Silero VAD, Whisper tiny.en, Piper, espeak-ng),
in virtual time: recognition and synthesis run inline and take no virtual time, so every
timing below is exact and repeatable. Slow: loading the models takes seconds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trio
import trio.testing

from counterpoint.engine.agent import load_definition
from counterpoint.engine.agent.ledger import AgentTurn, ToolOutcome
from counterpoint.engine.llm import ScriptedLLM
from counterpoint.engine.speech import (
    CallRecording,
    SamplesSource,
    VoiceEngines,
    VoiceReport,
    load_engines,
    run_voice,
)
from counterpoint.engine.speech.audio import CHUNK_SECONDS, SAMPLE_RATE, Samples, silence
from counterpoint.engine.speech.tts import EspeakSynthesizer, Speech

pytestmark = pytest.mark.slow

AGENTS = Path(__file__).parent / "voice_agents"
ANSWER = ("Let me check the forecast for Paris. The weather service is a little slow today, so this can take "
          "a few seconds. Meanwhile, is there anything else?")


class Memo:
    """The synthesiser, remembering sentences it already said (the tests repeat themselves)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.memo = inner, inner.name, dict[str, Speech]()

    def synthesize(self, text: str) -> Speech:
        if text not in self.memo:
            self.memo[text] = self.inner.synthesize(text)
        return self.memo[text]


@pytest.fixture(scope="module")
def engines() -> VoiceEngines:
    loaded = load_engines("piper")
    return VoiceEngines(loaded.vad_model, loaded.recognizer, Memo(loaded.synthesizer))


NUMBERS = dict(enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]))


def words(text: str) -> list[str]:
    """Lower-case words, numbers spelled out (Whisper writes "8" for "eight": not an error)."""
    return [NUMBERS.get(int(w), w) if w.isdigit() else w for w in re.findall(r"[a-z0-9']+", text.lower())]


def wer(ref: list[str], hyp: list[str]) -> float:
    d = np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        prev, d[0] = d.copy(), i
        for j, h in enumerate(hyp, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r != h))
    return float(d[-1]) / max(1, len(ref))


def session(path: Path, replies: list[Any], audio: Samples, engines: VoiceEngines, **kw: Any) -> tuple[VoiceReport, Any]:
    async def main() -> tuple[VoiceReport, Any]:
        _, s = load_definition(path).session(ScriptedLLM.from_data(replies))
        report = await run_voice(s, source=SamplesSource(audio), engines=engines, max_seconds=60, **kw)
        return report, s
    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_round_trip_synthesised_speech_is_recognised(engines: VoiceEngines) -> None:
    sentences = ["What is the weather in Paris tomorrow?", "I would like a table for two at eight.",
                 "Please book the Italian place near the station.", "Can you call me back in ten minutes?",
                 "Thank you very much, goodbye."]
    audio = np.concatenate([np.concatenate([silence(0.5), engines.synthesizer.synthesize(s).audio, silence(1.0)])
                            for s in sentences])
    report, _ = session(AGENTS / "listener.agent.yaml", [], audio, engines)
    said = [d["text"] for _, name, d in report.records if name == "user.said"]
    assert len(said) == len(sentences)
    error = wer(words(" ".join(sentences)), words(" ".join(said)))
    print(f"round trip WER {error:.1%}: {said}")
    assert error <= 0.10


def test_barge_in_stops_within_a_chunk_keeps_the_played_words_and_the_tool_goes_on(
        engines: VoiceEngines, tmp_path: Path) -> None:
    synth = engines.synthesizer
    ask = synth.synthesize("What is the weather in Paris tomorrow?").audio
    cut_in = synth.synthesize("Actually, make that London please.").audio
    barge_at = 6.0  # seconds into the call: inside the answer's second sentence (checked below)
    audio = np.concatenate([silence(0.5), ask, silence(barge_at - 0.5 - len(ask) / SAMPLE_RATE), cut_in])
    replies = [{"say": ANSWER, "calls": [{"tool": "forecast", "args": {"city": "Paris"}}]},
               "Sure, London it is.", "The forecast for Paris says sunny, twenty one degrees."]
    call = tmp_path / "call.wav"
    report, s = session(AGENTS / "weather.agent.yaml", replies, audio, engines, sinks=[CallRecording(call)])
    records = report.records

    (barge,) = report.barge_ins
    assert barge.stop_latency is not None and 0 < barge.stop_latency <= CHUNK_SECONDS + 1e-6
    audio_start = next(t for t, n, _ in records if n == "agent.audio.started")
    first = next(d for _, n, d in records if n == "tts.done")
    assert audio_start + first["audio"] < barge.onset  # the caller spoke during the second sentence

    cut = next(e for e in s.ledger.entries if isinstance(e, AgentTurn) and e.interrupted)
    assert ANSWER.startswith(cut.text) and len(cut.text) < len(ANSWER)
    assert cut.text.startswith("Let me check the forecast for Paris. The")
    # what the recording's agent channel holds up to the cut, as the recogniser hears it
    agent = read_wav_channel(call, 1)[int(audio_start * SAMPLE_RATE):int(barge.stopped * SAMPLE_RATE) + 1]
    heard = engines.recognizer.transcribe(agent).text
    assert abs(len(words(heard)) - len(words(cut.text))) <= 1, (heard, cut.text)

    outcome = next(e for e in s.ledger.entries if isinstance(e, ToolOutcome))
    assert outcome.status == "done" and outcome.time > barge.detected  # kept running after the barge-in
    last = [e for e in s.ledger.entries if isinstance(e, AgentTurn)][-1]
    assert last.time > outcome.time and "sunny" in last.text and not last.interrupted


def read_wav_channel(path: Path, channel: int) -> Samples:
    import wave

    with wave.open(str(path)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels())
    return (frames[:, channel] / 32768.0).astype(np.float32)


def _cough() -> Samples:
    rng = np.random.default_rng(1)
    n = int(0.3 * SAMPLE_RATE)
    burst = rng.normal(0, 0.3, n) * np.exp(-np.linspace(0, 6, n))
    return np.convolve(burst, np.ones(8) / 8, "same").astype(np.float32)


def _click() -> Samples:
    x = np.zeros(800, np.float32)
    x[:80] = np.random.default_rng(2).normal(0, 0.6, 80)
    return x


SOUNDS = {"yeah": "Yeah.", "okay": "Okay.", "i see": "I see.", "cough": _cough, "click": _click,
          "wait": "Wait.", "hold on": "Hold on a second."}


@pytest.mark.parametrize(("sound", "stops"), [("yeah", False), ("okay", False), ("i see", False), ("cough", False),
                                              ("click", False), ("wait", True), ("hold on", True)])
def test_backchannels_and_noises_do_not_stop_the_agent_but_words_do(
        engines: VoiceEngines, sound: str, stops: bool) -> None:
    made = SOUNDS[sound]
    clip = made() if callable(made) else engines.synthesizer.synthesize(made).audio
    hello = engines.synthesizer.synthesize("Hello there.").audio
    audio = np.concatenate([silence(0.5), hello, silence(3.0), clip])
    report, s = session(AGENTS / "weather.agent.yaml", [ANSWER], audio, engines)
    turns = [e for e in s.ledger.entries if isinstance(e, AgentTurn)]
    assert bool(report.barge_ins) == stops
    assert turns[0].interrupted == stops
    if not stops and isinstance(made, str):
        assert any(n == "voice.ignored" and d.get("text") for _, n, d in report.records)


def test_espeak_is_a_working_fallback_voice(engines: VoiceEngines) -> None:
    speech = EspeakSynthesizer().synthesize("Good evening, where would you like to eat tonight?")
    assert speech.timing == "estimate" and 1.0 < speech.seconds < 6.0
    text = engines.recognizer.transcribe(np.concatenate([silence(0.3), speech.audio, silence(0.3)])).text
    assert wer(words("Good evening, where would you like to eat tonight?"), words(text)) <= 0.25


def test_piper_word_times_agree_with_the_recogniser(engines: VoiceEngines) -> None:
    errors = []
    for sentence in ["Let me check the forecast for Paris.", "Which one would you like me to book?",
                     "The weather service is a little slow today, so this can take a few seconds."]:
        speech = engines.synthesizer.synthesize(sentence)
        assert speech.timing == "alignment"
        heard = engines.recognizer.transcribe(np.concatenate([silence(0.3), speech.audio, silence(0.3)]), words=True)
        theirs = {w.word.lower().strip(".,?"): w.end - 0.3 for w in heard.words}
        for w in speech.words:
            key = sentence[w.start_char:w.end_char].lower().strip(".,?")
            if key in theirs:
                errors.append(abs(w.end - theirs[key]))
    assert len(errors) >= 20
    assert float(np.percentile(errors, 95)) <= 0.25, errors
