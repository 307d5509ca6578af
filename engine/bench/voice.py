"""``python -m counterpoint.engine.bench voice``: a headless voice session on the embedded models.

A scripted caller (Piper's voice, synthesised before the session starts) talks to an agent
answered by the embedded model (SmolLM2-135M through llama.cpp), on the real clock, through
the whole pipeline: Silero VAD, Whisper tiny.en, the LLM, Piper sentence by sentence, 20 ms
output chunks. One line of the script interrupts the agent. Reported: voice-to-voice latency
(end of the caller's speech → first agent audio) p50/p95 with where the time goes, barge-in
stop latency, and the real-time factors of recognition and synthesis.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import trio

from counterpoint.engine.agent.loading import SessionOptions, load_definition
from counterpoint.engine.agent.script import parse_script
from counterpoint.engine.speech import (
    CallRecording,
    ScriptedCaller,
    VoiceReport,
    latency,
    load_engines,
    run_voice,
)
from counterpoint.engine.speech.sinks import Sink

AGENT = textwrap.dedent("""\
    agent: voicebench
    instructions: You are a friendly assistant on a phone call. Answer in one short sentence.
    llm: {max_tokens: 40}
    initial: call
    states:
      call:
        type: parallel
        states:
          dialog: {include: "std:dialog"}
    """)

SCRIPT = textwrap.dedent("""\
    @0.5s Hello, can you hear me?
    >0.6s What is the capital of France?
    ~1s Wait, sorry, tell me about Italy instead.
    >0.6s Thank you. What should I cook tonight?
    >0.6s Which colour is the sky?
    >0.6s Great, thank you, goodbye.
    """)


async def _session(path: Path, engines: Any, sinks: list[Sink]) -> tuple[VoiceReport, float]:
    from counterpoint.engine.llm.embedded import EmbeddedLLM

    model = EmbeddedLLM(temperature=0, max_tokens=40)
    await model.load()
    _, session = load_definition(path).session(model, SessionOptions())
    caller = ScriptedCaller(parse_script(SCRIPT), engines.synthesizer)
    report = await run_voice(session, source=caller, sinks=sinks, engines=engines, max_seconds=300)
    await model.aclose()
    return report, model.load_seconds or 0.0


def run(audio_out: str | None = None, timeline: str | None = None) -> dict[str, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    engines = load_engines("piper")
    loaded = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "voicebench.agent.yaml"
        path.write_text(AGENT, encoding="utf-8")
        sinks: list[Sink] = [CallRecording(audio_out)] if audio_out else []
        report, llm_load = trio.run(_session, path, engines, sinks)
    if timeline:
        from counterpoint.engine.viz import draw_timeline

        draw_timeline(report.records, timeline, title="voice benchmark")
    turns = [t.voice_to_voice for t in report.turns if t.voice_to_voice is not None]
    stops = [s for b in report.barge_ins if (s := b.stop_latency) is not None]
    return {
        "session_seconds": report.seconds,
        "ended": report.ended,
        "load_seconds": {"vad_asr_tts": round(loaded, 2), "llm": round(llm_load, 2)},
        "turns": len(report.turns),
        "voice_to_voice_p50": latency.percentile(turns, 50),
        "voice_to_voice_p95": latency.percentile(turns, 95),
        "barge_ins": len(report.barge_ins),
        "barge_in_stop_max": max(stops) if stops else None,
        "real_time_factors": latency.real_time_factors(report.records),
        "said": [d["text"] for _, n, d in report.records if n == "user.said"],
        "summary": report.summary(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m counterpoint.engine.bench voice", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audio-out", help="write the call recording (stereo WAV) here")
    parser.add_argument("--timeline", help="draw the session timeline (PNG) here")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    results = run(args.audio_out, args.timeline)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"voice session: {results['session_seconds']:.1f} s, {results['turns']} caller turns, "
              f"{results['barge_ins']} barge-in(s); models loaded in {results['load_seconds']}")
        print(results["summary"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
