"""What every command shares: exit codes, the two user-facing errors, colours, printing
diagnostics, writing the output, and the argparse pieces each command's parser is built from."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO, TypeAlias

from counterpoint.dsl.diagnostics import Diagnostic, printable, sort_key
from counterpoint.dsl.files import display_path, load_agent
from counterpoint.dsl.model import Agent

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

PROG = "counterpoint"


class UsageError(Exception):
    """A command line that cannot be carried out as written (exit 2)."""


class Failure(Exception):
    """An operation that failed for a reason the user can fix (exit 1)."""


# --------------------------------------------------------------------------- colours


def use_colour(stream: TextIO, choice: str = "auto") -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


_STYLES = {"error": "1;31", "warning": "1;33", "hint": "36", "bold": "1", "ok": "32"}


def paint(text: str, style: str, colour: bool) -> str:
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if colour else text


# --------------------------------------------------------------------------- diagnostics


def relativise(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [replace(d, span=replace(d.span, file=display_path(d.span.file))) for d in diagnostics]


def format_diagnostic(d: Diagnostic, colour: bool) -> str:
    severity = d.severity.value
    where = paint(printable(str(d.span)), "bold", colour)
    text = f"{where}: {paint(f'{severity}[{d.code}]', severity, colour)}: {printable(d.message)}"
    if d.hint:
        text += f"\n  {paint('hint', 'hint', colour)}: {printable(d.hint)}"
    return text


def print_diagnostics(diagnostics: list[Diagnostic], stream: TextIO, colour: bool) -> None:
    for d in sorted(relativise(diagnostics), key=sort_key):
        print(format_diagnostic(d, colour), file=stream)


def require_valid(path: str, colour: bool) -> Agent:
    """The resolved agent of ``path``; prints its errors (to stderr) and fails if there are any."""
    agent, diags = load_agent(Path(path))
    errors = [d for d in diags if d.is_error]  # warnings are for `validate` to report
    if errors:
        print_diagnostics(errors, sys.stderr, colour)
    if errors or agent is None:
        n = len(errors)
        raise Failure(
            f"{display_path(path)} has {n} error{'' if n == 1 else 's'}; fix {'it' if n == 1 else 'them'} first"
        )
    return agent


# --------------------------------------------------------------------------- output


def write_output(out: str | None, data: str | bytes) -> None:
    """Write to the file ``out``, or to stdout when ``out`` is None or ``-``."""
    if out in (None, "-"):
        if isinstance(data, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data if data.endswith("\n") else data + "\n")
        return
    path = Path(out)
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data if data.endswith("\n") else data + "\n", encoding="utf-8")
    except OSError as exc:
        raise Failure(f"cannot write {out}: {exc.strerror or exc}") from exc
    print(f"wrote {display_path(out)}", file=sys.stderr)


def refuse_overwrite(out: str | None, inputs: Sequence[str | os.PathLike[str]]) -> None:
    """A usage error when ``out`` is one of the ``inputs``: writing would destroy the source."""
    if out in (None, "-"):
        return
    target = Path(out)
    for source in inputs:
        with contextlib.suppress(OSError):
            if target.exists() and target.samefile(source):
                raise UsageError(
                    f"-o {out} would overwrite the input file {display_path(source)}; choose another output file"
                )


# --------------------------------------------------------------------------- parser pieces


def describe(text: str) -> str:
    """A command's description, wrapped like the rest of the help."""
    return textwrap.fill(text, 88)


class Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


def add_color(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output: auto (default: only on a terminal, not when NO_COLOR is set), always, never",
    )


#: What a command module's ``add_parser`` receives: the ``add_subparsers()`` of the main parser.
# argparse names no public type for it, and its class is generic only to type checkers.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
