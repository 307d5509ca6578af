"""The ``counterpoint`` command: the parser, the dispatch, and the never-a-traceback guard.

Each command is a module with ``add_parser(sub)`` (which sets ``func``) and ``run(args)``;
:data:`COMMANDS` is the one place a new command is registered.

Every user error becomes a clear message and an exit code, never a traceback:

- 0: success (``validate``: no errors; warnings alone do not fail)
- 1: the input has errors, or the operation failed (file not writable, Graphviz missing)
- 2: usage error (bad option, no path, unknown output format)
- 3: internal error (a bug in counterpoint: please report it)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from types import ModuleType
from typing import NoReturn

from counterpoint.dsl.diagnostics import printable
from counterpoint.engine.cli import convert, export, render, replay, schema, test, validate
from counterpoint.engine.cli import run as run_command
from counterpoint.engine.cli.common import (
    EXIT_ERRORS,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    Failure,
    Formatter,
    UsageError,
    describe,
    paint,
    use_colour,
)

#: The commands, in the order ``--help`` lists them.
COMMANDS: tuple[ModuleType, ...] = (validate, render, convert, schema, test, run_command, replay, export)


def version() -> str:
    try:
        return dist_version("counterpoint")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors name the full subcommand and exit 2."""

    #: The subcommand parsers by name (filled on the main parser by :func:`build_parser`).
    commands: dict[str, argparse.ArgumentParser]

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n(run '{self.prog} --help' for help)\n")


def build_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        formatter_class=Formatter,
        description=describe(
            "Real-time AI agents written as statecharts: check, draw, convert and test agent definitions."
        ),
        epilog="""examples:
  counterpoint validate agents/
  counterpoint render agents/concierge/concierge.agent.yaml -o concierge.svg
  counterpoint convert agents/reminders/reminders.agent --to yaml
  counterpoint schema -o agent.schema.json

Run 'counterpoint COMMAND --help' for the options of a command.
Exit codes: 0 ok, 1 errors in the input or a failed operation, 2 usage error, 3 internal error.""",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    parser.commands = {p.prog.split()[-1]: p for p in (command.add_parser(sub) for command in COMMANDS)}
    return parser


def _fail(message: str, code: int) -> int:
    colour = use_colour(sys.stderr)
    shown = "\n".join(printable(line) for line in message.split("\n"))  # names in it may come from files
    print(f"{PROG}: {paint('error', 'error', colour)}: {shown}", file=sys.stderr)
    return code


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; returns the exit code (argparse may raise SystemExit)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the subcommand's parser, so the usage shown is the subcommand's
        parser.commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(extra)}")
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return func(args)
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except Failure as exc:
        return _fail(str(exc), EXIT_ERRORS)


def main(argv: Sequence[str] | None = None) -> int:
    """The console script. Catches everything so a user never sees a traceback."""
    try:
        code = run(argv)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # `counterpoint schema | head`
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        code = EXIT_OK
    except Exception as exc:
        if os.environ.get("COUNTERPOINT_DEBUG"):
            raise
        code = _fail(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in counterpoint; please report it with the command and the input file "
            "(set COUNTERPOINT_DEBUG=1 to see the traceback).",
            EXIT_INTERNAL,
        )
    return code
