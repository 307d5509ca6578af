"""The wheel installs exactly the ``counterpoint`` namespace: no top-level ``engine`` or ``dsl``."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds a wheel

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (built,) = out.glob("counterpoint-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def test_only_the_counterpoint_namespace_is_installed(wheel_names: list[str]) -> None:
    tops = {name.split("/")[0] for name in wheel_names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"counterpoint"}


def test_grammars_and_standard_definitions_ship(wheel_names: list[str]) -> None:
    for needed in ("counterpoint/dsl/text/agent.lark", "counterpoint/dsl/expr/expr.lark",
                   "counterpoint/dsl/std/dialog.agent.yaml", "counterpoint/engine/cli/app.py"):
        assert needed in wheel_names


def test_every_source_module_ships(wheel_names: list[str]) -> None:
    """pyproject lists the subpackages one by one: a new folder that is not listed fails here."""
    for top in ("engine", "dsl"):
        for path in sorted((ROOT / top).rglob("*.py")):
            name = f"counterpoint/{top}/{path.relative_to(ROOT / top).as_posix()}"
            assert name in wheel_names, f"{name} is missing from the wheel: list its package in pyproject.toml"


def test_console_script_and_pytest_plugin_are_declared(wheel: Path, wheel_names: list[str]) -> None:
    (entry,) = [n for n in wheel_names if n.endswith("entry_points.txt")]
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read(entry).decode()
    assert "counterpoint = counterpoint.engine.cli:main" in text
    assert "counterpoint = counterpoint.engine.testing.pytest_plugin" in text
