"""``counterpoint schema``: print the JSON Schema of the YAML syntax, for editors."""

from __future__ import annotations

import argparse
import json

from counterpoint.dsl.yaml.schema import json_schema
from counterpoint.engine.cli.common import EXIT_OK, Formatter, Subcommands, describe, write_output


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "schema",
        formatter_class=Formatter,
        help="print the JSON Schema of *.agent.yaml files (for editors)",
        description=describe("Print the JSON Schema of the YAML syntax, for editor completion and checking."),
        epilog="""examples:
  counterpoint schema -o agent.schema.json

  then, with the YAML language server (e.g. VS Code), start an agent file with:
  # yaml-language-server: $schema=agent.schema.json""",
    )
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: standard output)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    write_output(args.output, json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK
