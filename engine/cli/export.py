"""``counterpoint export RECORDINGS... --format chat -o data.jsonl``: fine-tuning data from sessions."""

from __future__ import annotations

import argparse
import sys

from counterpoint.engine.agent.export import chat_examples
from counterpoint.engine.cli.common import Failure, Formatter, Subcommands, UsageError, describe, write_output
from counterpoint.engine.runtime.recording import RecordingError, read_recording

FORMATS = ("chat",)


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "export",
        formatter_class=Formatter,
        help="turn recorded sessions into fine-tuning examples",
        description=describe(
            "Turn recordings into fine-tuning examples for asynchronous tool use: one JSON line per model "
            "turn, with the messages exactly as the model saw them (time stamps, running calls, late results), "
            "the tools it was offered and what it answered, in the chat fine-tuning format "
            "({\"messages\": [...], \"tools\": [...]})."),
        epilog="""examples:
  counterpoint export session.jsonl -o data.jsonl
  counterpoint export recordings/*.jsonl --format chat --include-cut -o data.jsonl

exit status: 0 written, 1 an unreadable recording, 2 usage error""",
    )
    p.add_argument("recordings", nargs="+", metavar="RECORDING", help="recordings made with 'run --record'")
    p.add_argument("--format", default="chat", choices=FORMATS, help="the output format (default chat)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: standard output)")
    p.add_argument("--include-cut", action="store_true",
                   help="also export turns that were cancelled or failed (left out by default)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    lines: list[str] = []
    for path in args.recordings:
        try:
            recording = read_recording(path)
        except RecordingError as err:
            raise Failure(str(err)) from None
        if recording.torn:
            print(f"warning: {recording.torn}", file=sys.stderr)
        lines.extend(chat_examples(recording, include_cut=args.include_cut))
    if args.output in (None, "-") and not lines:
        raise UsageError("the recordings hold no complete model turn to export")
    write_output(args.output, "\n".join(lines))
    print(f"{len(lines)} example{'' if len(lines) == 1 else 's'} from {len(args.recordings)} recording"
          f"{'' if len(args.recordings) == 1 else 's'}", file=sys.stderr)
    return 0
