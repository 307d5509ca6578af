"""``counterpoint validate PATH...``: check definitions and print one diagnostic per problem."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from counterpoint.dsl.diagnostics import format_json, summary
from counterpoint.dsl.validate import check_paths
from counterpoint.engine.cli.common import (
    EXIT_ERRORS,
    EXIT_OK,
    Formatter,
    Subcommands,
    UsageError,
    add_color,
    describe,
    paint,
    print_diagnostics,
    relativise,
    use_colour,
)


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "validate",
        formatter_class=Formatter,
        help="check agent definitions and report problems with file:line:col",
        description=describe(
            "Check agent definitions (*.agent.yaml, *.agent). Folders are searched recursively; "
            "scenario files (*.test.yaml) are skipped. Prints one diagnostic per problem, then a summary."
        ),
        epilog="""examples:
  counterpoint validate agents/
  counterpoint validate chat.agent.yaml other.agent
  counterpoint validate --format json agents/ > report.json

exit status: 0 no errors (warnings allowed), 1 errors (or warnings with --strict),
             2 usage error (including: no agent file found)""",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="agent files or folders")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.add_argument("--no-warnings", action="store_true", help="report errors only")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    add_color(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    diags, files = check_paths([Path(p) for p in args.paths])
    diags = list(diags)
    if files == 0 and not diags:  # a typo in a folder name must not pass a CI check silently
        raise UsageError(f"no agent files (*.agent.yaml, *.agent) in {', '.join(args.paths)}")
    if args.no_warnings:
        diags = [d for d in diags if d.is_error]
    errors = sum(d.is_error for d in diags)
    failed = errors > 0 or (args.strict and len(diags) > 0)
    if args.format == "json":
        print(format_json(relativise(diags), files))
        return EXIT_ERRORS if failed else EXIT_OK
    colour = use_colour(sys.stdout, args.color)
    print_diagnostics(diags, sys.stdout, colour)
    line = summary(diags, files)
    print(paint(line, "error" if errors else "warning" if diags else "ok", colour))
    return EXIT_ERRORS if failed else EXIT_OK
