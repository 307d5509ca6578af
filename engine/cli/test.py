"""``counterpoint test [PATH...] [-k PATTERN] [-v]``: run the scenario tests (*.test.yaml)."""

from __future__ import annotations

import argparse

from counterpoint.engine.cli.common import Formatter, Subcommands, describe
from counterpoint.engine.testing.runner import run_paths


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "test",
        formatter_class=Formatter,
        help="run scenario tests (*.test.yaml) against agents",
        description=describe(
            "Run the scenario tests (*.test.yaml) found in the given files or folders "
            "(the current folder when none is given)."
        ),
        epilog="""examples:
  counterpoint test
  counterpoint test agents/
  counterpoint test agents/concierge/concierge.test.yaml -k barge -v

exit status: 0 all passed, 1 failures or broken files, 2 nothing to run or usage error""",
    )
    p.add_argument(
        "paths", nargs="*", default=["."], metavar="PATH", help="scenario files or folders (default: the current folder)"
    )
    p.add_argument(
        "-k",
        dest="keywords",
        action="append",
        default=[],
        metavar="PATTERN",
        help="run only the scenarios whose name (or file::name) contains PATTERN, ignoring case; "
        "repeat to select any of several",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="print each scenario and its result on a line")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    return run_paths([str(p) for p in args.paths], keywords=args.keywords, verbose=args.verbose)
