"""``counterpoint test PATH...``: run the scenario tests (*.test.yaml) against their agents."""

from __future__ import annotations

import argparse

from counterpoint.engine.cli.common import Formatter, Subcommands, describe
from counterpoint.engine.testing.runner import run_paths


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "test",
        formatter_class=Formatter,
        help="run scenario tests (*.test.yaml) against agents",
        description=describe("Run the scenario tests (*.test.yaml) found in the given files or folders."),
        epilog="""examples:
  counterpoint test agents/
  counterpoint test agents/concierge/concierge.test.yaml

exit status: 0 all passed, 1 failures or broken files, 2 nothing to run or usage error""",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or folders")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    return int(run_paths([str(p) for p in args.paths]))
