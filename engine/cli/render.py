"""``counterpoint render FILE -o OUT``: validate an agent, then draw its statechart."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from counterpoint.dsl.diagnostics import did_you_mean
from counterpoint.dsl.files import display_path
from counterpoint.dsl.model import walk_states
from counterpoint.dsl.render.graphviz import FORMATS, RenderError, render
from counterpoint.engine.cli.common import (
    EXIT_OK,
    Failure,
    Formatter,
    Subcommands,
    UsageError,
    add_color,
    describe,
    refuse_overwrite,
    require_valid,
    use_colour,
    write_output,
)


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "render",
        formatter_class=Formatter,
        help="draw an agent's statechart with Graphviz (svg, png, pdf, dot)",
        description=describe(
            "Validate an agent, then draw its statechart. The format comes from the output "
            "file's suffix unless --format is given; '-o -' writes svg or dot to standard output."
        ),
        epilog="""examples:
  counterpoint render agents/form/form.agent.yaml -o form.png
  counterpoint render chat.agent -o - --format dot
  counterpoint render chat.agent.yaml -o chat.svg --highlight listening waiting
  counterpoint render agents/concierge/concierge.agent.yaml -o concierge.svg --expand

exit status: 0 written, 1 the agent has errors or rendering failed, 2 usage error""",
    )
    p.add_argument("file", metavar="FILE", help="the agent file")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="output file (.svg .png .pdf .dot), or - for stdout",
    )
    p.add_argument("--format", choices=FORMATS, help="output format (default: from the suffix of OUT)")
    p.add_argument(
        "--highlight", nargs="+", action="extend", metavar="STATE", help="mark these states as active"
    )
    p.add_argument(
        "--expand",
        action="store_true",
        help="draw included standard regions (std:dialog) in full, not as one box naming their states",
    )
    add_color(p)
    p.set_defaults(func=run)
    return p


def render_format(out: str, explicit: str | None) -> str:
    """The format to render: ``--format``, else the output's suffix; the two must agree."""
    suffix = "" if out == "-" else Path(out).suffix.lower().lstrip(".")
    named = "dot" if suffix == "gv" else suffix if suffix in FORMATS else None
    if explicit:
        if named and named != explicit:
            raise UsageError(f"--format {explicit} but -o {out} names a {named} file; name the output *.{explicit}")
        return explicit
    if out == "-":
        return "svg"
    if named:
        return named
    raise UsageError(
        f"cannot tell the format of '{out}' from its suffix; use .svg, .png, .pdf or .dot, or pass --format"
    )


def run(args: argparse.Namespace) -> int:
    fmt = render_format(args.output, args.format)
    if args.output == "-" and fmt not in ("svg", "dot"):
        raise UsageError(f"refusing to write binary {fmt} to standard output; pass -o FILE.{fmt}")
    refuse_overwrite(args.output, [args.file])
    colour = use_colour(sys.stderr, args.color)
    agent = require_valid(args.file, colour)
    highlight = tuple(args.highlight or ())
    known = [s.id for s in walk_states(agent.states)]
    for state in highlight:
        if state not in known:
            hint = did_you_mean(state, known)
            raise UsageError(
                f"--highlight: no state '{state}' in {display_path(args.file)}" + (f" ({hint})" if hint else "")
            )
    try:
        data = render(agent, fmt, highlight, expand=args.expand)
    except RenderError as exc:
        raise Failure(exc.message + (f"\n  hint: {exc.hint}" if exc.hint else "")) from exc
    write_output(args.output, data)
    return EXIT_OK
