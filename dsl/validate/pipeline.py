"""The whole pipeline over files, the way the command line runs it: read, parse, resolve
includes, validate, then report each problem once, in reading order."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from counterpoint.dsl.diagnostics import Diagnostic, sort_key
from counterpoint.dsl.files import agent_files, load_file
from counterpoint.dsl.includes import resolve_includes
from counterpoint.dsl.model import Agent
from counterpoint.dsl.source import Span
from counterpoint.dsl.validate.checks import validate


def _dedupe(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, str, int, int, str]] = set()
    out = []
    for d in diags:
        key = (d.code, d.span.file, d.span.line, d.span.col, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return sorted(out, key=sort_key)


#: Checks whose findings stand on their own even when the front end dropped something:
#: expressions, handlers, conflicts, misplaced finals/histories, timer periods.
INDEPENDENT = frozenset({"E007", "E011", "E105", "E106", "E109", "E110", "E111", "E115", "E116", "E117"})


def check_file(path: str | Path, check_handlers: bool = True) -> tuple[Agent | None, list[Diagnostic]]:
    """Read, parse, resolve includes and (when all that worked) validate one file.

    Returns the resolved agent (None when the file could not be parsed) and the diagnostics.
    """
    agent, diags = load_file(path)
    if agent is None:
        return None, _dedupe(diags)
    resolved, more = resolve_includes(agent, path)
    # After mistakes the front end recovered from (it drops what it could not read), only
    # checks that cannot be echoes of a dropped piece run, so one run reports as much as
    # possible without cascades; nothing runs when includes failed.
    if not any(d.is_error for d in more):
        recovered = any(d.is_error for d in diags)
        flagged = {(d.span.file, d.span.line) for d in diags if d.is_error}
        try:
            found = validate(resolved, Path(path).parent, check_handlers)
        except RecursionError:
            found = [Diagnostic("E010", "input too complex (nesting too deep)", Span(str(path), 1, 1))]
        if recovered:
            found = [d for d in found if d.code in INDEPENDENT and (d.span.file, d.span.line) not in flagged]
        more += found
    return resolved, _dedupe([*diags, *more])


def check_paths(paths: Iterable[str | Path], check_handlers: bool = True) -> tuple[list[Diagnostic], int]:
    """``check_file`` over files and folders; returns all diagnostics and the number of files."""
    diags: list[Diagnostic] = []
    count = 0
    for raw in paths:
        path = Path(raw)
        files = agent_files(path) if path.is_dir() else [path]
        for file in files:
            count += 1
            diags += check_file(file, check_handlers)[1]
    return diags, count
