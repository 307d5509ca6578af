"""Seeded fuzzing: mutated agent files (both syntaxes), scenario files and expressions.

The normal run tries a few thousand inputs in seconds; ``make fuzz`` runs many more (it sets
``FUZZ_SCALE``, and ``FUZZ_SEED`` for a new sample). A failure names the kind, index and seed of
each bad input and shows it, so ``FUZZ_SEED=<seed>`` makes it again. What is checked is in
:mod:`helpers.fuzz`; reaching the CLI's "internal error" is a failure like any escaping exception.
"""

from __future__ import annotations

import os
import resource
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import fuzz

SEED = int(os.environ.get("FUZZ_SEED", "12"))
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
#: Growth of the process's peak memory allowed over one kind of inputs.
MEMORY_LIMIT_MB = 400


def count(n: int) -> int:
    return max(1, int(n * SCALE))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


@pytest.fixture(scope="module", autouse=True)
def warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    fuzz.warm_up(tmp_path_factory.mktemp("warm"))


def run_all(kind: str, seeds: list[str], n: int, check: Callable[[int, str], list[str]]) -> None:
    before = peak_mb()
    failures = [
        fuzz.Failure(kind, index, text, problem)
        for index, text in fuzz.inputs(kind, seeds, count(n), SEED)
        for problem in check(index, text)
    ]
    grown = peak_mb() - before
    kinds = {f.problem[:50]: f for f in failures}  # one example of each kind of problem
    report = "\n".join(str(f) for f in list(kinds.values())[:15])
    assert not failures, f"{len(failures)} problems (FUZZ_SEED={SEED}):\n{report}"
    assert grown < MEMORY_LIMIT_MB, f"peak memory grew by {grown:.0f} MB over the {kind} inputs"


@pytest.mark.parametrize("syntax", ["yaml", "text"])
def test_fuzz_agent_files(syntax: str, tmp_path: Path) -> None:
    suffix = ".agent.yaml" if syntax == "yaml" else ".agent"
    shutil.copytree(fuzz.CORPUS / "lib", tmp_path / "lib")  # what the broken corpus includes

    def check(index: int, text: str) -> list[str]:
        path = tmp_path / f"fuzz{suffix}"
        return fuzz.check_agent(path, fuzz.write(path, text), through_cli=index % 5 == 0)

    run_all(f"agent-{syntax}", fuzz.agent_seeds(syntax), 400 if syntax == "yaml" else 300, check)


def test_fuzz_scenario_files(tmp_path: Path) -> None:
    seeds = []
    for test_file in sorted(fuzz.ROOT.glob("agents/*/*.test.yaml")):  # each next to a copy of its agent
        folder = tmp_path / test_file.parent.name
        if not folder.exists():
            shutil.copytree(test_file.parent, folder, ignore=shutil.ignore_patterns("__pycache__"))
        seeds.append(test_file.read_text(encoding="utf-8"))
    folders = sorted(p for p in tmp_path.iterdir() if p.is_dir())

    def check(index: int, text: str) -> list[str]:
        path = folders[index % len(folders)] / "fuzz.test.yaml"
        return fuzz.check_scenario(path, fuzz.write(path, text), through_cli=index % 8 == 0)

    run_all("scenario", seeds, 250, check)


def test_fuzz_expressions() -> None:
    values = fuzz.hostile_values()
    run_all("expression", fuzz.EXPRESSIONS, 2000, lambda index, text: fuzz.check_expression(text, values))
