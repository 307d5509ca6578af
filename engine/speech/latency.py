"""The latency summary of a voice session, computed from its timed records.

Per user turn: end of the user's speech → first agent audio (voice to voice), split into
the end-of-turn wait, recognition, the model's first words and the first synthesised audio.
Per barge-in: the detected onset (``user.speech.started``) → the agent's audio stopped.
p50 and p95 over the session. Works on any list of ``(t, name, data)`` records in session
seconds, so a recorded session can be summarised again later.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Record = tuple[float, str, dict[str, Any]]


@dataclass(frozen=True)
class TurnLatency:
    speech_end: float  # the user stopped speaking (audio time)
    voice_to_voice: float | None  # → first agent audio; None when the agent did not answer
    end_of_turn: float  # silence waited before the turn was taken as over
    asr: float | None  # recognition time
    first_token: float | None  # turn started → first words of the model
    first_audio: float | None  # first words → first audio chunk


@dataclass(frozen=True)
class BargeIn:
    onset: float  # the user's voice began (audio time)
    detected: float  # user.speech.started
    stopped: float | None  # the agent's sound ended (end of the chunk in flight); None: it was not sounding

    @property
    def stop_latency(self) -> float | None:
        return None if self.stopped is None else self.stopped - self.detected


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0-100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _after(records: Sequence[Record], start: float, name: str, until: float = math.inf) -> Record | None:
    return next((r for r in records if start <= r[0] < until and r[1] == name), None)


def turn_latencies(records: Sequence[Record]) -> list[TurnLatency]:
    records = sorted(records, key=lambda r: r[0])
    starts = [r[0] for r in records if r[1] == "user.speech.started"]
    out: list[TurnLatency] = []
    for t, name, data in records:
        if name != "user.speech.stopped":
            continue
        end = float(data.get("end", t))
        until = next((s for s in starts if s > t), math.inf)
        audio = _after(records, t, "agent.audio.started", until)
        asr = _after(records, t, "asr.done", until)
        said = _after(records, t, "user.said", until)
        llm = _after(records, said[0] if said else t, "llm.started", until)
        words = _after(records, llm[0], "agent.speech.started", until) if llm else None
        out.append(TurnLatency(
            speech_end=end,
            voice_to_voice=audio[0] - end if audio else None,
            end_of_turn=t - end,
            asr=float(asr[2]["seconds"]) if asr else None,
            first_token=words[0] - llm[0] if words and llm else None,
            first_audio=audio[0] - words[0] if audio and words else None,
        ))
    return out


def barge_ins(records: Sequence[Record]) -> list[BargeIn]:
    records = sorted(records, key=lambda r: r[0])
    out: list[BargeIn] = []
    for t, name, data in records:
        if name == "user.speech.started" and data.get("barge_in"):
            # the cut this event made (None when the agent had the floor but was not sounding yet)
            cut = next((r for r in records if r[1] == "agent.audio.ended" and r[2].get("interrupted")
                        and abs(float(r[2].get("cut", r[0])) - t) < 1e-3), None)
            out.append(BargeIn(float(data.get("onset", t)), t, cut[0] if cut else None))
    return out


def real_time_factors(records: Sequence[Record]) -> dict[str, float | None]:
    """Compute seconds per second of audio, for recognition and synthesis."""
    def rtf(names: tuple[str, ...], audio_key: str) -> float | None:
        done = [(float(d["seconds"]), float(d[audio_key])) for _, n, d in records if n in names and d.get(audio_key)]
        audio = sum(a for _, a in done)
        return sum(s for s, _ in done) / audio if audio else None
    return {"asr": rtf(("asr.done", "asr.early"), "audio"), "tts": rtf(("tts.done",), "audio")}


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f} ms"


def summary(records: Sequence[Record]) -> str:
    """The latency summary as text (a few aligned lines)."""
    turns = turn_latencies(records)
    cuts = barge_ins(records)
    rows: list[tuple[str, list[float]]] = [
        ("voice to voice (end of speech → first audio)", [x.voice_to_voice for x in turns if x.voice_to_voice is not None]),
        ("  end-of-turn silence", [x.end_of_turn for x in turns]),
        ("  recognition", [x.asr for x in turns if x.asr is not None]),
        ("  model: turn start → first words", [x.first_token for x in turns if x.first_token is not None]),
        ("  synthesis: first words → first audio", [x.first_audio for x in turns if x.first_audio is not None]),
        ("barge-in: detected onset → agent silent", [s for b in cuts if (s := b.stop_latency) is not None]),
        ("barge-in: voice onset → detected", [b.detected - b.onset for b in cuts]),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'latency':<{width}}  {'n':>3}  {'p50':>8}  {'p95':>8}"]
    for label, values in rows:
        lines.append(f"{label:<{width}}  {len(values):>3}  {_ms(percentile(values, 50)):>8}  "
                     f"{_ms(percentile(values, 95)):>8}")
    rtf = real_time_factors(records)
    lines.append("real-time factor: recognition " + ("—" if rtf["asr"] is None else f"{rtf['asr']:.3f}")
                 + ", synthesis " + ("—" if rtf["tts"] is None else f"{rtf['tts']:.3f}"))
    return "\n".join(lines)
