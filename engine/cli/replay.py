"""``counterpoint replay SESSION.jsonl``: re-run a recorded session under virtual time.

Neither the model nor the tools are called: their recorded outputs are played back. Reports
the first divergence when the definition changed, and with ``--to-test`` writes a scenario
test that pins the recorded behaviour.
"""

from __future__ import annotations

import argparse
import sys

from counterpoint.dsl.diagnostics import DiagnosticError
from counterpoint.dsl.files import display_path
from counterpoint.engine.agent.loading import Definition, load_definition
from counterpoint.engine.agent.pin import scenario_from_replay
from counterpoint.engine.agent.replay import recorded_definition_path, replay
from counterpoint.engine.cli.common import (
    EXIT_ERRORS,
    EXIT_OK,
    Failure,
    Formatter,
    Subcommands,
    describe,
    print_diagnostics,
    refuse_overwrite,
    use_colour,
    write_output,
)
from counterpoint.engine.cli.transcript import clean
from counterpoint.engine.runtime.recording import RecordingError, read_recording


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "replay",
        formatter_class=Formatter,
        help="re-run a recorded session without the model or tools; report divergences",
        description=describe(
            "Re-run a session recorded with 'counterpoint run --record' under virtual time, with the recorded "
            "model outputs and tool results (neither is called), and check that the definition still does "
            "what it did: the same configurations step by step and the same ledger."),
        epilog="""examples:
  counterpoint replay session.jsonl
  counterpoint replay session.jsonl --agent agents/concierge/concierge.agent.yaml
  counterpoint replay session.jsonl --to-test agents/concierge/pinned.test.yaml

exit status: 0 same behaviour, 1 a divergence or an unreadable recording, 2 usage error""",
    )
    p.add_argument("recording", metavar="SESSION.jsonl", help="a recording made with 'counterpoint run --record'")
    p.add_argument("--agent", metavar="FILE", help="the definition to replay against (default: the recorded one)")
    p.add_argument("--to-test", metavar="OUT.test.yaml", help="write a scenario test pinning the recorded behaviour")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    try:
        recording = read_recording(args.recording)
    except RecordingError as err:
        raise Failure(str(err)) from None
    if recording.torn:
        print(f"warning: {recording.torn}", file=sys.stderr)
    path = args.agent or str(recorded_definition_path(recording))
    definition = _load(path)
    result = replay(recording, definition)
    if result.definition_changed:
        print(f"note: {display_path(path)} changed since the recording was made", file=sys.stderr)
    if result.divergence is not None:
        print(clean(result.divergence.format()).replace(" ⏎ ", "\n"))
        return EXIT_ERRORS
    if result.ledger_difference is not None:
        print(f"the steps match, but the ledger differs: {clean(result.ledger_difference)}")
        return EXIT_ERRORS
    cut = " (up to where the recording was cut)" if recording.end is None else ""
    print(f"replayed {result.steps} steps{cut}: same configurations"
          + (" and the same ledger" if recording.end is not None else ""))
    if args.to_test:
        refuse_overwrite(args.to_test, [path, args.recording])
        write_output(args.to_test, scenario_from_replay(definition, recording, result, args.to_test))
    return EXIT_OK


def _load(path: str) -> Definition:
    try:
        return load_definition(path)
    except FileNotFoundError:
        raise Failure(f"{path}: the recorded definition is not there; give it with --agent FILE") from None
    except DiagnosticError as err:
        print_diagnostics(list(err.diagnostics), sys.stderr, use_colour(sys.stderr))
        raise Failure(f"{display_path(path)} has errors; fix them before replaying") from None
