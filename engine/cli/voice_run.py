"""``counterpoint run --voice``: a voice session from the command line.

The user's voice comes from a WAV file (``--audio-in``), from a script synthesised into the
input stream (``--script``), or from the microphone; the agent speaks into a call recording
(``--audio-out``) and, live, through the speakers. The session prints the same timestamped
lines as a text session, then the summary and the voice latencies, and can draw its timeline.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import trio
import trio.testing

from counterpoint.dsl.files import display_path
from counterpoint.engine.agent.driver import DriverOptions, SessionDriver, stop_on_signals
from counterpoint.engine.agent.loading import Definition
from counterpoint.engine.agent.script import ScriptLine
from counterpoint.engine.cli.common import Failure
from counterpoint.engine.cli.run import timer_names
from counterpoint.engine.cli.transcript import TranscriptPrinter
from counterpoint.engine.llm.base import LLMBackend


def run_voice_session(definition: Definition, backend: LLMBackend, options: DriverOptions,
                      lines: list[ScriptLine] | None, args: argparse.Namespace) -> int:
    try:
        from counterpoint.engine import speech
        from counterpoint.engine.viz import draw_timeline
    except ImportError as err:
        raise Failure(f"voice needs the voice extra ({err.name} is missing): pip install 'counterpoint[voice]'") from None
    config = speech.VoiceConfig.from_settings(definition.agent.voice)
    print("loading the speech models…", file=sys.stderr)
    try:
        engines = speech.load_engines(config.tts, config.speed, config.language)
        live = not args.audio_in and lines is None
        source: Any
        if args.audio_in:
            source = speech.SamplesSource.from_wav(args.audio_in)
        elif lines is not None:
            source = speech.ScriptedCaller(lines, engines.synthesizer)
        else:
            source = speech.MicrophoneSource()
        sinks: list[Any] = []
        if args.audio_out:
            sinks.append(speech.CallRecording(Path(args.audio_out)))
        if live:
            sinks.append(speech.SpeakerSink())
    except (speech.AudioError, speech.VoiceUnavailable) as err:
        raise Failure(str(err)) from None

    def write(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    async def main() -> tuple[SessionDriver, Any]:
        holder: list[SessionDriver] = []
        printer = TranscriptPrinter(write, lambda: holder[0].session.session_time() if holder else 0.0,
                                    timer_names(definition))
        options.listeners = (printer,)
        driver = SessionDriver(definition, backend, options)
        holder.append(driver)
        load = getattr(backend, "load", None)
        if callable(load):
            await load()
        report = None
        async with trio.open_nursery() as nursery:
            with trio.CancelScope() as scope:

                async def stop_on_ctrl_c() -> None:
                    await stop_on_signals(driver)
                    scope.cancel()

                nursery.start_soon(stop_on_ctrl_c)
                report = await speech.run_voice(driver.session, source=source, sinks=sinks, config=config,
                                                engines=engines, send=driver.send)
            nursery.cancel_scope.cancel()
        if driver.ended is None:
            driver.ended = report.ended if report is not None else "stopped"
        await driver.close(driver.ended)
        await backend.aclose()
        return driver, report

    clock = trio.testing.MockClock(autojump_threshold=0) if args.virtual_time else None
    try:
        driver, report = trio.run(main, clock=clock)
    except (speech.AudioError, speech.VoiceUnavailable) as err:
        raise Failure(str(err)) from None
    write(f"-- {driver.ended}")
    write(driver.summary().format())
    if report is not None:
        write(report.summary())
        if args.timeline:
            try:
                draw_timeline(report.records, args.timeline, title=f"{definition.agent.name}: {driver.ended}")
            except (OSError, ValueError) as err:
                raise Failure(f"cannot write the timeline {args.timeline}: {err}") from None
            print(f"wrote {display_path(args.timeline)}", file=sys.stderr)
    if args.audio_out:
        print(f"wrote {display_path(args.audio_out)}", file=sys.stderr)
    if options.record is not None:
        print(f"recorded {display_path(options.record)}", file=sys.stderr)
    return 0
