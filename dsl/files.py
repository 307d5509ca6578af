"""Agent files: their suffixes, finding them, reading one, and the one door to a valid model.

``read_source`` refuses what no front end should see (missing, binary, not UTF-8, huge);
``load_file`` picks the front end from the suffix and parses one file; ``load_agent`` is the
door the rest of counterpoint uses: read, parse, resolve includes (:mod:`.includes`) and
validate, once, giving a resolved, valid model or the diagnostics that say why not.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from counterpoint.dsl.diagnostics import Diagnostic
from counterpoint.dsl.model import Agent, State, walk_states
from counterpoint.dsl.source import Span, normalise_newlines

#: Folder of the definitions shipped with counterpoint, named ``std:NAME`` in includes.
STD_DIR = Path(__file__).resolve().parent / "std"

#: Largest definition file accepted.
MAX_BYTES = 2 * 1024 * 1024

#: The names agent files are given: what folders are searched for, ``std:NAME`` and a
#: scenario file's default agent resolve to.
AGENT_SUFFIXES = (".agent.yaml", ".agent")
#: Suffixes read by the YAML front end (``.yaml``/``.yml`` alone are accepted when named).
YAML_SUFFIXES = (".agent.yaml", ".agent.yml", ".yaml", ".yml")
#: Suffixes read by the textual front end.
TEXT_SUFFIXES = (".agent",)
#: Scenario files: YAML too, but not agent definitions.
SCENARIO_SUFFIXES = (".test.yaml", ".test.yml")
#: Longest first, so ``x.agent.yaml`` loses the whole suffix.
_STEM_SUFFIXES = sorted({*YAML_SUFFIXES, *TEXT_SUFFIXES}, key=len, reverse=True)


def agent_files(folder: Path) -> list[Path]:
    """Agent files under ``folder`` (recursively, sorted), skipping hidden folders and caches."""
    found = [
        p
        for suffix in AGENT_SUFFIXES
        for p in folder.rglob(f"*{suffix}")
        if p.is_file()
        and not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts)
    ]
    return sorted(set(found))


def agent_stem(path: str) -> str:
    """``helpers/flights.agent.yaml`` -> ``flights``: the default name of spawned agents."""
    name = PurePosixPath(path.replace("\\", "/")).name
    for suffix in _STEM_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def display_path(path: str | os.PathLike[str]) -> str:
    """How messages name a file: relative to the working directory when it lies below it,
    else as given (``<stdin>``-like names are not paths and stay as they are)."""
    text = os.fspath(path)
    if text.startswith("<") or not text:
        return text
    try:
        p = Path(text)
        if p.is_absolute():
            return str(p.relative_to(Path.cwd()))
    except (ValueError, OSError):
        pass
    return text


def is_file(path: Path) -> bool:
    """``path.is_file()``, but False where the system cannot even look (a name too long for it)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def exists(path: Path) -> bool:
    """``path.exists()``, but False where the system cannot even look (a name too long for it)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def resolve_include_path(ref: str, including_file: str | Path) -> Path | None:
    """The file an include (or a spawn) names: ``std:NAME`` or a path relative to the naming file."""
    if ref.startswith("std:"):
        name = ref[4:]
        for suffix in AGENT_SUFFIXES:
            candidate = STD_DIR / f"{name}{suffix}"
            if is_file(candidate):
                return candidate
        return None
    candidate = Path(including_file).parent / ref
    return candidate if exists(candidate) else None


def _at_start(path: str | Path) -> Span:
    return Span(str(path), 1, 1, 1, 1)


def read_source(path: str | Path) -> tuple[str | None, list[Diagnostic]]:
    """The text of a definition file (line breaks as ``\n``), or None and an E009 diagnostic at ``path:1:1``."""
    p = Path(path)

    def fail(why: str, hint: str | None = None) -> tuple[None, list[Diagnostic]]:
        return None, [Diagnostic("E009", f"cannot read the file: {why}", _at_start(path), hint)]

    try:
        problem = _not_a_file(p)
        if problem is not None:
            return fail(*problem)
        size = p.stat().st_size
        if size > MAX_BYTES:
            return fail(f"file is too large ({size} bytes, limit {MAX_BYTES})", "split it with include:")
        with p.open("rb") as handle:  # bounded: a file may grow between stat and read
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        return fail(exc.strerror or str(exc), "check that the file exists and is readable")
    if len(data) > MAX_BYTES:
        return fail(f"file is too large ({len(data)} bytes, limit {MAX_BYTES})", "split it with include:")
    if b"\x00" in data:
        return fail("it is a binary file (contains NUL bytes)", "definitions are UTF-8 text files")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return fail(f"not valid UTF-8 (byte {exc.start})", "save the file as UTF-8")
    return normalise_newlines(text), []


def _not_a_file(p: Path) -> tuple[str, str] | None:
    """Why ``p`` cannot be read as a definition (missing, a folder, a pipe...), or None.

    Checked before reading: opening a FIFO or a device would block or never end.
    """
    if not p.exists():
        if p.is_symlink():
            return "it is a broken symbolic link (or a loop of them)", "check where the link points"
        return "no such file", "check the path; includes are relative to the including file"
    if p.is_dir():
        return "it is a directory", "name a .agent.yaml or .agent file"
    if not p.is_file():
        return "it is not a regular file (a pipe, socket or device)", "name a .agent.yaml or .agent file"
    return None


def load_file(path: str | Path) -> tuple[Agent | None, list[Diagnostic]]:
    """Read and parse one file with the front end its suffix names (no include resolution)."""
    name = str(path)
    lower = Path(name).name.lower()
    try:
        problem = _not_a_file(Path(name))
    except OSError as exc:  # e.g. a path too long for the file system
        problem = (exc.strerror or str(exc), "check the path")
    if problem is not None:  # "no such file" says more than "unknown kind of file"
        return None, [Diagnostic("E009", f"cannot read the file: {problem[0]}", _at_start(name), problem[1])]
    if lower.endswith(SCENARIO_SUFFIXES):
        return None, [
            Diagnostic(
                "E009",
                "cannot read the file: it is a scenario file, not an agent definition",
                _at_start(name),
                f"run it with 'counterpoint test {name}'",
            )
        ]
    if lower.endswith(YAML_SUFFIXES):
        from counterpoint.dsl.yaml.front import load_yaml as front
    elif lower.endswith(TEXT_SUFFIXES):
        from counterpoint.dsl.text.front import load_text as front
    else:
        return None, [
            Diagnostic(
                "E009",
                "cannot read the file: unknown kind of file",
                _at_start(name),
                "definition files end in .agent.yaml (or .yaml/.yml) or .agent",
            )
        ]
    text, diags = read_source(name)
    if text is None:
        return None, diags
    try:
        return front(text, name)
    except RecursionError:
        return None, [Diagnostic("E010", "input too complex (nesting too deep)", _at_start(name))]


def load_agent(path: str | Path, check_handlers: bool = True) -> tuple[Agent | None, list[Diagnostic]]:
    """The one door from a file to a model: read, parse, resolve includes and validate, once.

    Returns the resolved agent, or None when any diagnostic is an error, and every diagnostic
    (warnings included) in reading order. ``check_handlers`` also imports each tool's handler
    and checks that spawned agents' files exist (see :func:`counterpoint.dsl.validate.validate`).
    A returned agent needs no further validation: pass ``validated=True`` to ``compile_chart``.
    """
    from counterpoint.dsl.validate import check_file  # validation itself resolves paths with this module

    agent, diags = check_file(path, check_handlers)
    return (None if any(d.is_error for d in diags) else agent), diags


def standard_region(state: State) -> str | None:
    """``std:NAME`` when every state below ``state`` comes from that shipped definition: the
    state includes it (after include resolution, only the states' positions tell)."""
    files = {Path(c.span.file) for c in walk_states(state.children)}
    if len(files) != 1:
        return None
    (file,) = files
    if not file.is_absolute() or file.parent != STD_DIR:
        return None
    return f"std:{file.name.split('.')[0]}"
