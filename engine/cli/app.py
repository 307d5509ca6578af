"""The ``counterpoint`` command: validate, render, convert, schema, test.

Every user error becomes a clear message and an exit code, never a traceback:

- 0: success (``validate``: no errors; warnings alone do not fail)
- 1: the input has errors, or the operation failed (file not writable, Graphviz missing)
- 2: usage error (bad option, no path, unknown output format)
- 3: internal error (a bug in counterpoint: please report it)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean, sort_key, summary
from counterpoint.dsl.files import TEXT_SUFFIXES, YAML_SUFFIXES, display_path, load_agent, load_file
from counterpoint.dsl.render.graphviz import RenderError, render
from counterpoint.dsl.text.printer import print_text
from counterpoint.dsl.validate import check_paths
from counterpoint.dsl.yaml.printer import print_yaml
from counterpoint.dsl.yaml.schema import json_schema
from counterpoint.engine.testing.runner import run_paths

if TYPE_CHECKING:  # annotations only: the CLI imports the dsl lazily
    from counterpoint.dsl.model import Agent

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

PROG = "counterpoint"
RENDER_FORMATS = ("svg", "png", "pdf", "dot")


class UsageError(Exception):
    """A command line that cannot be carried out as written (exit 2)."""


class Failure(Exception):
    """An operation that failed for a reason the user can fix (exit 1)."""


# --------------------------------------------------------------------------- output helpers


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("counterpoint")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


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


def relativise(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [replace(d, span=replace(d.span, file=display_path(d.span.file))) for d in diagnostics]


def format_diagnostic(d: Diagnostic, colour: bool) -> str:
    severity = d.severity.value
    text = f"{paint(str(d.span), 'bold', colour)}: {paint(f'{severity}[{d.code}]', severity, colour)}: {d.message}"
    if d.hint:
        text += f"\n  {paint('hint', 'hint', colour)}: {d.hint}"
    return text


def print_diagnostics(diagnostics: list[Diagnostic], stream: TextIO, colour: bool) -> None:
    for d in sorted(relativise(diagnostics), key=sort_key):
        print(format_diagnostic(d, colour), file=stream)


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


# --------------------------------------------------------------------------- loading


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


# --------------------------------------------------------------------------- subcommands


def cmd_validate(args: argparse.Namespace) -> int:
    diags, files = check_paths([Path(p) for p in args.paths])
    diags = list(diags)
    if files == 0 and not diags:  # a typo in a folder name must not pass a CI check silently
        raise UsageError(f"no agent files (*.agent.yaml, *.agent) in {', '.join(args.paths)}")
    if args.no_warnings:
        diags = [d for d in diags if d.is_error]
    errors = sum(d.is_error for d in diags)
    failed = errors > 0 or (args.strict and len(diags) > 0)
    if args.format == "json":
        from counterpoint.dsl.diagnostics import format_json

        print(format_json(relativise(diags), files))
        return EXIT_ERRORS if failed else EXIT_OK
    colour = use_colour(sys.stdout, args.color)
    print_diagnostics(diags, sys.stdout, colour)
    line = summary(diags, files)
    print(paint(line, "error" if errors else "warning" if diags else "ok", colour))
    return EXIT_ERRORS if failed else EXIT_OK


def render_format(out: str, explicit: str | None) -> str:
    """The format to render: ``--format``, else the output's suffix; the two must agree."""
    suffix = "" if out == "-" else Path(out).suffix.lower().lstrip(".")
    named = "dot" if suffix == "gv" else suffix if suffix in RENDER_FORMATS else None
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


def cmd_render(args: argparse.Namespace) -> int:
    fmt = render_format(args.output, args.format)
    if args.output == "-" and fmt not in ("svg", "dot"):
        raise UsageError(f"refusing to write binary {fmt} to standard output; pass -o FILE.{fmt}")
    refuse_overwrite(args.output, [args.file])
    colour = use_colour(sys.stderr, args.color)
    agent = require_valid(args.file, colour)
    highlight = tuple(args.highlight or ())
    if highlight:
        from counterpoint.dsl.model import walk_states

        known = [s.id for s in walk_states(agent.states)]
        for state in highlight:
            if state not in known:
                hint = did_you_mean(state, known)
                raise UsageError(
                    f"--highlight: no state '{state}' in {display_path(args.file)}"
                    + (f" ({hint})" if hint else "")
                )
    try:
        data = render(agent, fmt, highlight)
    except RenderError as exc:
        raise Failure(exc.message + (f"\n  hint: {exc.hint}" if exc.hint else "")) from exc
    write_output(args.output, data)
    if args.output != "-":
        print(f"wrote {display_path(args.output)}", file=sys.stderr)
    return EXIT_OK


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


def cmd_convert(args: argparse.Namespace) -> int:
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
    if args.output not in (None, "-"):
        print(f"wrote {display_path(args.output)}", file=sys.stderr)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    write_output(args.output, json.dumps(json_schema(), indent=2, ensure_ascii=False))
    if args.output not in (None, "-"):
        print(f"wrote {display_path(args.output)}", file=sys.stderr)
    return EXIT_OK


def cmd_test(args: argparse.Namespace) -> int:
    return int(run_paths([str(p) for p in args.paths]))


# --------------------------------------------------------------------------- argument parsing


def _desc(text: str) -> str:
    return textwrap.fill(text, 88)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors name the full subcommand and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n(run '{self.prog} --help' for help)\n")


def _add_color(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output: auto (default: only on a terminal, not when NO_COLOR is set), always, never",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        formatter_class=_Formatter,
        description=_desc(
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

    p = sub.add_parser(
        "validate",
        formatter_class=_Formatter,
        help="check agent definitions and report problems with file:line:col",
        description=_desc(
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
    _add_color(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "render",
        formatter_class=_Formatter,
        help="draw an agent's statechart with Graphviz (svg, png, pdf, dot)",
        description=_desc(
            "Validate an agent, then draw its statechart. The format comes from the output "
            "file's suffix unless --format is given; '-o -' writes svg or dot to standard output."
        ),
        epilog="""examples:
  counterpoint render agents/form/form.agent.yaml -o form.png
  counterpoint render chat.agent -o - --format dot
  counterpoint render chat.agent.yaml -o chat.svg --highlight listening waiting

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
    p.add_argument("--format", choices=RENDER_FORMATS, help="output format (default: from the suffix of OUT)")
    p.add_argument(
        "--highlight", nargs="+", action="extend", metavar="STATE", help="mark these states as active"
    )
    _add_color(p)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser(
        "convert",
        formatter_class=_Formatter,
        help="print an agent in the other syntax (YAML <-> textual DSL)",
        description=_desc(
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
    _add_color(p)
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser(
        "schema",
        formatter_class=_Formatter,
        help="print the JSON Schema of *.agent.yaml files (for editors)",
        description=_desc("Print the JSON Schema of the YAML syntax, for editor completion and checking."),
        epilog="""examples:
  counterpoint schema -o agent.schema.json

  then, with the YAML language server (e.g. VS Code), start an agent file with:
  # yaml-language-server: $schema=agent.schema.json""",
    )
    p.add_argument("-o", "--output", metavar="OUT", help="output file (default: standard output)")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser(
        "test",
        formatter_class=_Formatter,
        help="run scenario tests (*.test.yaml) against agents",
        description=_desc("Run the scenario tests (*.test.yaml) found in the given files or folders."),
        epilog="""examples:
  counterpoint test agents/
  counterpoint test agents/concierge/concierge.test.yaml

exit status: 0 all passed, 1 failures or broken files, 2 nothing to run or usage error""",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or folders")
    p.set_defaults(func=cmd_test)
    parser.commands = dict(sub.choices)  # type: ignore[attr-defined]  # ad-hoc; main() reads it via getattr
    return parser


# --------------------------------------------------------------------------- entry point


def _fail(message: str, code: int) -> int:
    colour = use_colour(sys.stderr)
    print(f"{PROG}: {paint('error', 'error', colour)}: {message}", file=sys.stderr)
    return code


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; returns the exit code (argparse may raise SystemExit)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the subcommand's parser, so the usage shown is the subcommand's
        sub = getattr(parser, "commands", {}).get(getattr(args, "command", None), parser)
        sub.error(f"unrecognized arguments: {' '.join(extra)}")
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
