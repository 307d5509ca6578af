"""pytest plugin: collect ``*.test.yaml`` scenario files, one test item per scenario.

Registered through the ``pytest11`` entry point, so ``pytest agents/`` runs scenario
files next to the Python tests. A failing scenario shows the same readable diff as
``counterpoint test``; a broken scenario file (or agent) is one failing item that lists
its diagnostics.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from counterpoint.dsl.diagnostics import sort_key
from counterpoint.engine.testing.format import SUFFIX, Scenario
from counterpoint.engine.testing.runner import (
    ERROR,
    FAILED,
    SKIPPED,
    Outcome,
    Suite,
    load_suite,
    run_scenario,
)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(SUFFIX):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def _shown(path: Path, base: Path) -> str:
    """``path`` relative to where pytest was started, when it lies below it."""
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


class ScenarioFailure(Exception):
    """Carries the failure text of a scenario (or of a broken file) to ``repr_failure``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        suite = load_suite(self.path, _shown(self.path, self.config.invocation_params.dir))
        if suite.errors:
            yield BrokenScenarioFile.from_parent(self, name="<file>", suite=suite)
            return
        for scenario in suite.file.scenarios:
            item = ScenarioItem.from_parent(self, name=scenario.name, suite=suite, scenario=scenario)
            if scenario.skip:  # a marker, so the skip is reported at the scenario, not in this plugin
                item.add_marker(pytest.mark.skip(reason=scenario.skip))
            yield item


class ScenarioItem(pytest.Item):
    def __init__(self, *, suite: Suite, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.scenario = scenario
        self.outcome: Outcome | None = None

    def runtest(self) -> None:
        self.outcome = run_scenario(self.suite.chart, self.scenario, self.suite.file.path, self.suite.tools)
        if self.outcome.status == SKIPPED:
            pytest.skip(self.outcome.message)
        if self.outcome.status in (FAILED, ERROR):
            raise ScenarioFailure(self.outcome.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailure):
            return excinfo.value.text
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.span.line - 1, f"scenario: {self.scenario.name}"


class BrokenScenarioFile(pytest.Item):
    """A scenario file (or its agent) with errors: fails with the diagnostics."""

    def __init__(self, *, suite: Suite, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite

    def runtest(self) -> None:
        text = "\n".join(d.format() for d in sorted(self.suite.diagnostics, key=sort_key))
        raise ScenarioFailure(f"{self.suite.file.path} cannot run:\n{text}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailure):
            return excinfo.value.text
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, "scenario file"
