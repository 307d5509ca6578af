"""The public API: the names the packages export, and the door from a file to a chart."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import counterpoint.engine as engine
from counterpoint.dsl import DiagnosticError, check_file
from counterpoint.engine import Chart, compile, load_chart, start

ROOT = Path(__file__).resolve().parent.parent
CONCIERGE = ROOT / "agents" / "concierge" / "concierge.agent.yaml"

PUBLIC = [
    "counterpoint.dsl", "counterpoint.dsl.expr", "counterpoint.dsl.render", "counterpoint.dsl.text",
    "counterpoint.dsl.validate", "counterpoint.dsl.yaml", "counterpoint.engine", "counterpoint.engine.runtime",
    "counterpoint.engine.agent", "counterpoint.engine.llm", "counterpoint.engine.tools",
    "counterpoint.engine.testing", "counterpoint.engine.cli", "counterpoint.engine.speech", "counterpoint.engine.viz",
]  # fmt: skip


@pytest.mark.parametrize("name", PUBLIC)
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported, f"{name} exports nothing"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize("name", PUBLIC)
def test_no_exported_name_hides_a_submodule(name: str) -> None:
    package = importlib.import_module(name)
    hidden = [
        info.name
        for info in pkgutil.iter_modules(package.__path__)
        if info.name != "__main__"  # importing it would run the command
        and importlib.import_module(f"{name}.{info.name}") is not getattr(package, info.name)
    ]
    assert not hidden, f"{name} binds {hidden} to something else than its submodule of that name"


def test_load_chart_compiles_a_valid_file() -> None:
    chart = load_chart(CONCIERGE)
    assert isinstance(chart, Chart) and chart.name == "concierge"
    snapshot, _ = start(chart)
    assert snapshot.active("greeting")


def test_load_chart_raises_the_diagnostics_of_an_invalid_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.agent.yaml"
    bad.write_text("agent: bad\ninitial: a\nstates:\n  a:\n    on: {go: nowhere}\n")
    with pytest.raises(DiagnosticError) as caught:
        load_chart(str(bad))
    assert [d.code for d in caught.value.diagnostics] == ["E101"]
    assert f"{bad}:5:" in str(caught.value) and "nowhere" in str(caught.value)


def test_load_chart_reports_a_missing_file() -> None:
    with pytest.raises(DiagnosticError) as caught:
        load_chart("no/such.agent.yaml")
    assert [d.code for d in caught.value.diagnostics] == ["E009"]


def test_load_chart_ignores_warnings(tmp_path: Path) -> None:
    warned = tmp_path / "w.agent.yaml"
    warned.write_text("agent: w\ninitial: a\nstates:\n  a: {}\n  lonely: {}\n")
    assert any(d.code == "W201" for d in check_file(warned)[1])
    assert load_chart(warned).name == "w"


@pytest.mark.parametrize("wrong", ["x.agent.yaml", Path("x.agent.yaml")])
def test_compile_given_a_path_names_load_chart(wrong: object) -> None:
    with pytest.raises(TypeError, match=r"not the path 'x\.agent\.yaml'.*load_chart\(path\)"):
        compile(wrong)  # type: ignore[arg-type]


def test_compile_given_something_else_names_the_type() -> None:
    with pytest.raises(TypeError, match="not a dict"):
        engine.compile({"agent": "x"})  # type: ignore[arg-type]


def test_the_core_does_not_load_trio() -> None:
    import subprocess
    import sys

    code = "import sys, counterpoint.engine; print('trio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False", "importing counterpoint.engine must not import trio"


def test_the_llm_package_imports_the_openai_client_only_when_asked() -> None:
    import subprocess
    import sys

    # test_every_exported_name_exists checks that asking for OpenAICompatibleLLM loads it
    code = "import sys, counterpoint.engine.llm; print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False", "importing counterpoint.engine.llm must not import the OpenAI client"
