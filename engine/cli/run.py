"""``counterpoint run FILE``: talk to an agent in a live terminal view, or run it headless.

In a terminal the live view shows the conversation, the active states, running tool calls,
timers and sub-agents while the user types (a line sent while the agent answers is user
input with its priority, so it can interrupt). Without a terminal (piped input) or with
``--script``, the user's lines come from the script or stdin, the session prints plain
timestamped lines and a summary, and ends when the script and the agent are done.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import trio
import trio.testing

from counterpoint.dsl.diagnostics import DiagnosticError
from counterpoint.dsl.files import display_path
from counterpoint.engine.agent.driver import DriverOptions, SessionDriver, play_script, stop_on_signals
from counterpoint.engine.agent.loading import Definition, load_definition
from counterpoint.engine.agent.script import ScriptFileError, ScriptLine, parse_script, read_script
from counterpoint.engine.cli.common import (
    Failure,
    Formatter,
    Subcommands,
    UsageError,
    describe,
    print_diagnostics,
    use_colour,
)
from counterpoint.engine.cli.transcript import TranscriptPrinter
from counterpoint.engine.llm.base import LLMBackend, LLMError
from counterpoint.engine.llm.factory import make_backend, parse_backend_option, spec_from_settings


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "run",
        formatter_class=Formatter,
        help="run an agent: live in a terminal, or headless from a script",
        description=describe(
            "Run an agent from its definition. In a terminal: a live view of the conversation, states, "
            "tool calls and timers; type while the agent answers. Headless (piped input or --script): "
            "timestamped lines, then a summary with latencies."),
        epilog="""script lines (--script FILE, or piped input):
  @1s Hello, can you hear me?   at session second 1
  +2.5s I'd like thai food      2.5 s after the previous line
  >0.8s and for two people      0.8 s after the agent answered and went quiet
  and for two people            the same as ">0s"
  ~1.5s wait, make that three   1.5 s into the agent's next speech (an interruption)

examples:
  counterpoint run agents/concierge/concierge.agent.yaml
  counterpoint run agents/concierge/concierge.agent.yaml --script user.txt --record session.jsonl
  echo "hello" | counterpoint run greeter.agent.yaml --llm scripted:replies.yaml

exit status: 0 the session ran, 1 the definition or script has errors or the model cannot start, 2 usage""",
    )
    p.add_argument("file", metavar="FILE", help="the agent definition (.agent.yaml or .agent)")
    p.add_argument("--llm", metavar="BACKEND", default=None,
                   help="embedded (default), embedded:PATH.gguf, openai:MODEL, or scripted:FILE.yaml")
    p.add_argument("--base-url", metavar="URL", help="the OpenAI-compatible endpoint (with --llm openai:MODEL)")
    p.add_argument("--api-key-env", metavar="VAR",
                   help="the environment variable holding the API key (default OPENAI_API_KEY)")
    p.add_argument("--script", metavar="FILE", help="the user's lines, timed (see below); runs headless")
    p.add_argument("--record", metavar="FILE.jsonl", help="record the session (replay it with 'counterpoint replay')")
    p.add_argument("--pace", type=float, default=20.0, metavar="CPS",
                   help="characters per second the agent's text is spoken at; 0 for instant (default 20)")
    p.add_argument("--virtual-time", action="store_true",
                   help="headless only: run on a virtual clock (waits and timers take no real time; "
                        "for scripted models and tests)")
    p.add_argument("--settle", type=float, default=1.0, metavar="SECONDS",
                   help="headless: quiet seconds after the last line before the session ends (default 1)")
    p.add_argument("--started-at", metavar="ISO", help="the wall-clock time of session second 0 (default now)")
    p.set_defaults(func=run)
    return p


def load(file: str) -> Definition:
    """The definition, or its diagnostics on stderr and a Failure: nothing runs."""
    if not Path(file).exists():
        raise Failure(f"{file}: no such file")
    try:
        return load_definition(file)
    except DiagnosticError as err:
        print_diagnostics(list(err.diagnostics), sys.stderr, use_colour(sys.stderr))
        n = sum(1 for d in err.diagnostics if d.is_error)
        raise Failure(f"{display_path(file)} has {n} error{'' if n == 1 else 's'}; fix them before running it") from None


def backend_for(definition: Definition, args: argparse.Namespace) -> LLMBackend:
    """``--llm`` (default embedded, keeping the definition's temperature and token limit)."""
    try:
        override = parse_backend_option(args.llm or "embedded")
        if args.base_url or args.api_key_env:
            from dataclasses import replace

            override = replace(override, base_url=args.base_url or override.base_url,
                               api_key_env=args.api_key_env or override.api_key_env)
        spec = spec_from_settings(definition.agent.llm, override)
        if args.llm is None:  # the definition's model section only tunes the embedded default
            settings = definition.agent.llm
            if settings is not None and (settings.provider or "embedded") != "embedded":
                print(f"note: running on the embedded model; the definition names {settings.provider}"
                      f"{':' + settings.model if settings.model else ''} (use --llm to choose it)", file=sys.stderr)
                from dataclasses import replace

                spec = replace(spec, temperature=settings.temperature, max_tokens=settings.max_tokens)
        return make_backend(spec)
    except LLMError as err:
        raise Failure(f"the model cannot start: {err}") from None


def script_lines(args: argparse.Namespace) -> list[ScriptLine] | None:
    """The scripted user: --script, or stdin when it is not a terminal; None for a live session."""
    try:
        if args.script:
            return read_script(args.script)
        if not sys.stdin.isatty():
            return parse_script(sys.stdin.read(), "<stdin>")
    except ScriptFileError as err:
        raise Failure(str(err)) from None
    return None


def run(args: argparse.Namespace) -> int:
    from datetime import datetime

    definition = load(args.file)
    lines = script_lines(args)
    if lines is None and args.virtual_time:
        raise UsageError("--virtual-time needs a scripted user (--script FILE or piped input)")
    started_at = None
    if args.started_at:
        try:
            started_at = datetime.fromisoformat(args.started_at)
        except ValueError:
            raise UsageError(f"--started-at {args.started_at!r} is not an ISO time like 2026-01-01T09:00:00+00:00") from None
    if args.pace < 0:
        raise UsageError("--pace must be 0 (instant) or a positive number of characters per second")
    backend = backend_for(definition, args)
    record = Path(args.record) if args.record else None
    if record is not None:
        try:
            record.parent.mkdir(parents=True, exist_ok=True)
            record.touch()
        except OSError as err:
            raise Failure(f"cannot write the recording {args.record}: {err.strerror or err}") from None
    options = DriverOptions(record=record, pace=args.pace or None, started_at=started_at, settle=args.settle)
    if lines is None:
        from counterpoint.engine.cli.live_view import run_live

        return run_live(definition, backend, options)
    return run_headless(definition, backend, options, lines, virtual=args.virtual_time)


def timer_names(definition: Definition) -> dict[str, str]:
    chart = definition.chart
    return {name: chart.ids[index] for name, index in chart.timer_of_event.items()}


def run_headless(definition: Definition, backend: LLMBackend, options: DriverOptions, lines: list[ScriptLine],
                 *, virtual: bool = False) -> int:
    out = sys.stdout

    def write(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    async def main() -> SessionDriver:
        holder: list[SessionDriver] = []
        printer = TranscriptPrinter(write, lambda: holder[0].session.session_time() if holder else 0.0,
                                    timer_names(definition))
        options.listeners = (printer,)
        driver = SessionDriver(definition, backend, options)
        holder.append(driver)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stop_on_signals, driver)
            await driver.run(lambda d: play_script(d, lines))
            nursery.cancel_scope.cancel()
        await backend.aclose()
        return driver

    clock = trio.testing.MockClock(autojump_threshold=0) if virtual else None
    driver = trio.run(main, clock=clock)
    write(f"-- {driver.ended}")
    write(driver.summary().format())
    if options.record is not None:
        print(f"recorded {display_path(options.record)}", file=sys.stderr)
    return 0

