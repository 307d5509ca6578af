"""``counterpoint convert FILE``: print an agent in the other syntax (YAML <-> textual DSL)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from counterpoint.dsl.files import TEXT_SUFFIXES, YAML_SUFFIXES, display_path, load_file
from counterpoint.dsl.text.printer import print_text
from counterpoint.dsl.yaml.printer import print_yaml
from counterpoint.engine.cli.common import (
    EXIT_OK,
    Failure,
    Formatter,
    Subcommands,
    UsageError,
    add_color,
    describe,
    print_diagnostics,
    refuse_overwrite,
    require_valid,
    use_colour,
    write_output,
)


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "convert",
        formatter_class=Formatter,
        help="print an agent in the other syntax (YAML <-> textual DSL)",
        description=describe(
            "Print an agent definition in YAML or in the textual syntax. Includes are kept as "
            "includes. Files with errors are refused."
        ),
        epilog="""examples:
  counterpoint convert agents/reminders/reminders.agent --to yaml
  counterpoint convert agents/form/form.agent.yaml --to dsl -o form.agent

exit status: 0 converted, 1 the agent has errors, 2 usage error""",
    )
    p.add_argument("file", metavar="FILE", help="the agent file")
    p.add_argument("--to", choices=("yaml", "dsl"), help="target syntax (default: the other one)")
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: standard output)")
    add_color(p)
    p.set_defaults(func=run)
    return p


def syntax_of(path: str) -> str:
    return "dsl" if path.lower().endswith(TEXT_SUFFIXES) else "yaml"


def convert_target(file: str, to: str | None, out: str | None) -> str:
    """The syntax to print: ``--to``, else the one ``-o``'s suffix names, else the other one.

    A suffix that contradicts ``--to`` is a usage error: the file would not load again.
    """
    named = None
    if out not in (None, "-"):
        lower = Path(out).name.lower()
        named = "dsl" if lower.endswith(TEXT_SUFFIXES) else "yaml" if lower.endswith(YAML_SUFFIXES) else None
    if to and named and to != named:
        suffix = TEXT_SUFFIXES[0] if to == "dsl" else YAML_SUFFIXES[0]
        raise UsageError(
            f"--to {to} but -o {out} names a {'YAML' if named == 'yaml' else 'textual'} file; "
            f"name the output *{suffix}"
        )
    return to or named or ("yaml" if syntax_of(file) == "dsl" else "dsl")


def run(args: argparse.Namespace) -> int:
    colour = use_colour(sys.stderr, args.color)
    target = convert_target(args.file, args.to, args.output)
    refuse_overwrite(args.output, [args.file])
    require_valid(args.file, colour)  # the whole definition, includes resolved, must be valid
    agent, diags = load_file(Path(args.file))  # unresolved: includes stay includes
    if agent is None or any(d.is_error for d in diags):
        print_diagnostics(list(diags), sys.stderr, colour)
        raise Failure(f"cannot read {display_path(args.file)}")
    printer = print_yaml if target == "yaml" else print_text
    write_output(args.output, printer(agent))
    return EXIT_OK
