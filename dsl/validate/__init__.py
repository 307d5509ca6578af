"""Validation of agents: ``validate`` checks a resolved model; ``check_file``/``check_paths``
run the whole pipeline over files (read, parse, resolve includes, validate)."""

from counterpoint.dsl.validate.checks import validate
from counterpoint.dsl.validate.pipeline import check_file, check_paths

__all__ = ["check_file", "check_paths", "validate"]
