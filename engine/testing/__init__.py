"""Testing charts (public, like ``trio.testing``): the :class:`Harness` for Python tests and the
scenario runner behind ``*.test.yaml`` files, ``counterpoint test`` and the pytest plugin."""

from counterpoint.engine.testing.harness import Harness, HarnessError, run
from counterpoint.engine.testing.runner import Outcome, Suite, load_suite, run_paths, run_suite

__all__ = ["Harness", "HarnessError", "Outcome", "Suite", "load_suite", "run", "run_paths", "run_suite"]
