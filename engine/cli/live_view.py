"""The live terminal view of ``counterpoint run``: the conversation, what runs, and a typing line.

Drawn with rich, refreshed ten times a second by a trio task (no drawing thread). Keys are
read in cbreak mode by a worker thread and handed to trio; a finished line is ``user.said``
at once, so typing while the agent answers interrupts it exactly as the definition's
priorities say. Enter sends, Backspace edits, Ctrl-D (or ``/quit``) ends the session, Ctrl-C
ends it too; the terminal is restored in every case.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import sys
import termios
import tty
from collections.abc import Iterator

import trio
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from counterpoint.dsl.files import display_path
from counterpoint.engine.agent.driver import DriverOptions, SessionDriver, stop_on_signals
from counterpoint.engine.agent.loading import Definition
from counterpoint.engine.agent.speaker import TextSpeaker, TextUtterance
from counterpoint.engine.cli.run import timer_names
from counterpoint.engine.cli.transcript import Line, TranscriptPrinter, clean, short
from counterpoint.engine.llm.base import LLMBackend

_STYLES = {"user": "bold cyan", "agent": "green", "tool": "yellow", "state": "dim", "timer": "magenta",
           "error": "bold red"}
HELP = "Enter: send · Ctrl-D or /quit: end · Ctrl-C: stop"


class LiveView:
    def __init__(self, definition: Definition, console: Console) -> None:
        self.definition = definition
        self.console = console
        self.lines: list[Line] = []
        self.utterance: TextUtterance | None = None  # the agent's words being spoken
        self.typed = ""
        self.driver: SessionDriver | None = None

    def speaker(self, pace: float | None) -> TextSpeaker:
        """A text speaker whose utterance in progress the view shows as it is "spoken"."""
        view = self

        class _Shown(TextSpeaker):
            def begin(self) -> TextUtterance:
                view.utterance = super().begin()
                return view.utterance

        return _Shown(None, pace)

    def render(self) -> Group:
        driver = self.driver
        height = max(8, self.console.size.height - 12)
        convo = Text()
        shown = [line for line in self.lines if line.kind != "state"][-height:]
        for line in shown:
            convo.append(f"{line.t:7.1f}s ", style="dim")
            convo.append(line.text + "\n", style=_STYLES.get(line.kind, ""))
        speaking = self.utterance
        if speaking is not None and speaking._stopped is None and speaking.played_chars() < len(speaking.text):
            played = speaking.text[: speaking.played_chars()]  # only what was "spoken" so far
            convo.append("         agent: " + clean(played) + " …\n", style="green italic")
        status = Table.grid(padding=(0, 2))
        status.add_column(style="bold")
        status.add_column()
        if driver is not None:
            now = driver.session.session_time()
            status.add_row("states", ", ".join(driver.interpreter.configuration))
            for call in driver.session.runner.running():
                status.add_row("running", f"{call.tool} ({call.call_id}) {short(call.args, 60)}  {now - call.started:.1f}s")
            for (key, _epoch), left in sorted(driver.interpreter.pending_timers.items()):
                status.add_row("timer", f"{key}: {left:.1f}s left")
            subs = driver.session.subagents_running()
            if subs:
                status.add_row("sub-agents", f"{subs} running")
        title = f"{self.definition.agent.name} — {display_path(self.definition.path)}"
        prompt = Text("> ", style="bold") + Text(clean(self.typed)) + Text("▌", style="blink")
        return Group(Panel(convo, title=title, title_align="left"), Panel(status, title="now", title_align="left"),
                     prompt, Text(HELP, style="dim"))


@contextlib.contextmanager
def cbreak(fd: int) -> Iterator[None]:
    """Keys one by one without echo; Ctrl-C still sends SIGINT. Restored on the way out."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        attrs = termios.tcgetattr(fd)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def run_live(definition: Definition, backend: LLMBackend, options: DriverOptions) -> int:
    console = Console(highlight=False)
    view = LiveView(definition, console)

    async def main() -> SessionDriver:
        printer = TranscriptPrinter(lambda _line: None,
                                    lambda: view.driver.session.session_time() if view.driver else 0.0,
                                    timer_names(definition))
        view.lines = printer.lines

        options.listeners = (printer,)
        options.speaker = view.speaker(options.pace)
        driver = SessionDriver(definition, backend, options)
        view.driver = driver
        token = trio.lowlevel.current_trio_token()
        fd = sys.stdin.fileno()

        def key(data: str) -> None:
            for ch in data:
                if ch in ("\r", "\n"):
                    text, view.typed = view.typed.strip(), ""
                    if text == "/quit":
                        driver.stop("ended by the user")
                    elif text:
                        driver.say(text)
                elif ch == "\x04":  # Ctrl-D
                    if not view.typed:
                        driver.stop("ended by the user")
                elif ch in ("\x7f", "\x08"):
                    view.typed = view.typed[:-1]
                elif ch == "\x15":  # Ctrl-U
                    view.typed = ""
                elif ch >= " ":
                    view.typed += ch

        def read_keys() -> None:
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            while True:
                data = os.read(fd, 1024)
                if not data:
                    trio.from_thread.run_sync(driver.stop, "end of input", trio_token=token)
                    return
                text = decoder.decode(data)
                try:
                    trio.from_thread.run_sync(key, text, trio_token=token)
                except trio.RunFinishedError:
                    return

        async def user(d: SessionDriver) -> None:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(stop_on_signals, d)
                await trio.to_thread.run_sync(read_keys, abandon_on_cancel=True)
            await trio.sleep_forever()

        with cbreak(fd), Live(view.render(), console=console, auto_refresh=False, transient=False) as live:
            async with trio.open_nursery() as nursery:

                async def draw() -> None:
                    while True:
                        live.update(view.render(), refresh=True)
                        await trio.sleep(0.1)

                nursery.start_soon(draw)
                await driver.run(user)
                nursery.cancel_scope.cancel()
            live.update(view.render(), refresh=True)
        await backend.aclose()
        return driver

    driver = trio.run(main)
    console.print(f"-- {driver.ended}")
    console.print(driver.summary().format(), highlight=False)
    if options.record is not None:
        console.print(f"recorded {display_path(options.record)}")
    return 0

