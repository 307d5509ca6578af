"""The layering rules of docs/architecture.md, checked from the source (``ast``, never importing).

Every module under ``engine/`` and ``dsl/`` belongs to a *unit* (``dsl``, or the subpackage
of ``engine/`` it lives in); :data:`ALLOWED` says which units each unit may import. A new
subpackage of ``engine/`` fails here until it is given a row (and a place in the page).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"engine": "counterpoint.engine", "dsl": "counterpoint.dsl"}

RUNTIME_LEVEL = "runtime-level packages import only core, runtime and dsl (llm and tools never agent)"
ON_TOP = "testing, bench and cli sit on top: nothing below imports them"

#: unit -> (the units it may import, the rule it follows). ``facade`` is ``counterpoint.engine``
#: itself (its ``__init__``); ``loading`` is ``engine/loading.py``, the file-to-chart door.
ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    "dsl": (frozenset({"dsl"}), "dsl never imports engine"),
    "core": (frozenset({"dsl", "core"}), "core imports nothing else from engine"),
    "loading": (frozenset({"dsl", "core"}), "engine/loading.py joins dsl and core only"),
    "runtime": (frozenset({"dsl", "core", "loading", "runtime"}), RUNTIME_LEVEL),
    "llm": (frozenset({"dsl", "core", "loading", "runtime", "llm"}), RUNTIME_LEVEL),
    "tools": (frozenset({"dsl", "core", "loading", "runtime", "tools"}), RUNTIME_LEVEL),
    "agent": (
        frozenset({"dsl", "core", "loading", "runtime", "llm", "tools", "agent"}),
        RUNTIME_LEVEL + "; agent composes llm and tools",
    ),
    "speech": (
        frozenset({"dsl", "core", "loading", "runtime", "llm", "tools", "agent", "speech"}),
        "speech runs an agent session by voice: it sits on agent",
    ),
    "viz": (frozenset({"viz"}), "viz draws plain timed records and imports nothing else from engine"),
    "testing": (
        frozenset({"dsl", "core", "loading", "runtime", "llm", "tools", "agent", "testing"}),
        ON_TOP + "; testing does not import bench or cli",
    ),
    "bench": (
        frozenset({"dsl", "core", "loading", "runtime", "llm", "tools", "agent", "speech", "viz", "testing", "bench"}),
        ON_TOP + "; bench does not import cli",
    ),
    "cli": (
        frozenset({"dsl", "core", "loading", "runtime", "llm", "tools", "agent", "speech", "viz", "testing", "bench",
                   "cli"}),
        ON_TOP,
    ),
    "facade": (frozenset({"dsl", "core", "loading", "facade"}), "counterpoint.engine exports the core only"),
    "main": (frozenset({"cli"}), "python -m counterpoint.engine is the command line"),
}

#: Modules a unit must never import, whatever it is allowed otherwise.
FORBIDDEN: dict[str, tuple[frozenset[str], str]] = {
    "core": (
        frozenset({"trio", "asyncio", "socket", "subprocess", "threading"}),
        "core is pure: it never imports trio or anything that does I/O",
    ),
}


def unit_of_file(path: Path) -> str:
    """The unit a source file belongs to."""
    parts = path.relative_to(ROOT).parts
    if parts[0] == "dsl":
        return "dsl"
    if len(parts) == 2:  # engine/<module>.py
        return {"__init__.py": "facade", "__main__.py": "main", "loading.py": "loading"}.get(parts[1], parts[1])
    return parts[1]


def unit_of_module(name: str) -> str | None:
    """The unit an imported module belongs to, or None when it is not ours."""
    if name == "counterpoint.dsl" or name.startswith("counterpoint.dsl."):
        return "dsl"
    if name == "counterpoint.engine":
        return "facade"
    if name.startswith("counterpoint.engine."):
        return name.split(".")[2]
    return None


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [FOLDERS[rel.parts[0]], *rel.parts[1:]]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """``(line, module)`` for every import, relative ones resolved; ``from pkg import sub`` names sub."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if _is_module(sub) else base))
    return found


def _is_module(name: str) -> bool:
    parts = name.split(".")
    if parts[:2] not in (["counterpoint", "engine"], ["counterpoint", "dsl"]):
        return False
    path = ROOT.joinpath(parts[1], *parts[2:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def violations(path: Path, source: str) -> list[str]:
    """One message per import of ``path`` that breaks a rule: file, line, import and rule."""
    unit = unit_of_file(path)
    shown = path.relative_to(ROOT)
    if unit not in ALLOWED:
        return [f"{shown}: engine/{unit}/ has no layering rule; add it to ALLOWED in {Path(__file__).name} "
                "and to docs/architecture.md"]  # fmt: skip
    allowed, rule = ALLOWED[unit]
    forbidden, forbidden_rule = FORBIDDEN.get(unit, (frozenset(), ""))
    tree = ast.parse(source, filename=str(path))
    out: list[str] = []
    for line, name in sorted(set(imported_modules(tree, module_name(path), path.name == "__init__.py"))):
        if name.split(".")[0] in forbidden:
            out.append(f"{shown}:{line}: imports {name}: {forbidden_rule}")
            continue
        target = unit_of_module(name)
        if target is not None and target not in allowed:
            may = ", ".join(sorted(allowed - {unit})) or "nothing else"
            out.append(f"{shown}:{line}: imports {name} ({target}), but {unit} may import only {may}: {rule}")
    return out


SOURCES = sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))


def test_every_package_is_checked() -> None:
    assert len(SOURCES) > 50
    units = {unit_of_file(p) for p in SOURCES}
    assert set(ALLOWED) == units, "a rule for a unit that does not exist, or a unit without a rule"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layers(path: Path) -> None:
    found = violations(path, path.read_text(encoding="utf-8"))
    assert not found, "layering broken (docs/architecture.md):\n" + "\n".join(found)


# --------------------------------------------------------------------------- the checker itself


@pytest.mark.parametrize(
    ("file", "source", "expected"),
    [
        ("dsl/model.py", "from counterpoint.engine.core.chart import Chart\n",
         "dsl/model.py:1: imports counterpoint.engine.core.chart (core), but dsl may import only nothing else"),
        ("engine/core/step.py", "def f():\n    import trio\n",
         "engine/core/step.py:2: imports trio: core is pure"),
        ("engine/core/step.py", "from counterpoint.engine import runtime\n",
         "imports counterpoint.engine.runtime (runtime), but core may import only dsl"),
        ("engine/tools/runner.py", "from ..agent import session\n",
         "imports counterpoint.engine.agent.session (agent), but tools may import only"),
        ("engine/runtime/queue.py", "from counterpoint.engine.testing.harness import Harness\n",
         "(testing), but runtime may import only core, dsl, loading"),
        ("engine/core/chart.py", "from counterpoint.engine import Chart\n",
         "imports counterpoint.engine (facade), but core may import only dsl"),
        ("engine/llm/base.py", "from counterpoint.engine.agent.ledger import Ledger\n",
         "imports counterpoint.engine.agent.ledger (agent), but llm may import only"),
        ("engine/bench/sessions.py", "from counterpoint.engine.cli.app import main\n",
         "(cli), but bench may import only agent, core, dsl, llm, loading, runtime, speech, testing, tools, viz"),
        ("engine/speechless/x.py", "import os\n", "engine/speechless/ has no layering rule"),
    ],
)  # fmt: skip
def test_the_checker_names_file_line_and_rule(file: str, source: str, expected: str) -> None:
    found = violations(ROOT / file, source)
    assert len(found) == 1 and expected in found[0], found


def test_the_checker_accepts_what_the_rules_allow() -> None:
    ok = "from counterpoint.dsl.model import Agent\nfrom counterpoint.engine.core import effects\nimport trio\n"
    assert violations(ROOT / "engine/runtime/x.py", ok) == []
    assert violations(ROOT / "engine/agent/x.py", "from counterpoint.engine.llm.base import Message\n") == []
    assert violations(ROOT / "engine/testing/x.py", "from counterpoint.engine.agent.session import AgentSession\n") == []
    assert violations(ROOT / "engine/bench/x.py", "from counterpoint.engine.testing import run\n") == []
