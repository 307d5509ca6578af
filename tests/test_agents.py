"""Every example agent in agents/ validates cleanly, renders, converts, and its tools work."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

import pytest
import trio

from counterpoint.dsl.files import load_file
from counterpoint.dsl.render.graphviz import render
from counterpoint.dsl.validate import check_file

ROOT = Path(__file__).resolve().parent.parent
AGENTS = sorted(
    p for p in (ROOT / "agents").rglob("*") if p.name.endswith((".agent.yaml", ".agent")) and p.is_file()
)
STD = sorted((ROOT / "dsl" / "std").glob("*.agent*"))


def test_at_least_three_agents_in_both_syntaxes() -> None:
    assert len(AGENTS) >= 3
    assert any(p.name.endswith(".agent") for p in AGENTS)
    assert any(p.name.endswith(".agent.yaml") for p in AGENTS)


@pytest.mark.parametrize("path", AGENTS + STD, ids=lambda p: p.name)
def test_validates_without_errors_or_warnings(path: Path) -> None:
    agent, diags = check_file(path)
    assert agent is not None
    assert not diags, "\n".join(d.format() for d in diags)


@pytest.mark.parametrize("path", AGENTS + STD, ids=lambda p: p.name)
def test_renders_to_svg(path: Path) -> None:
    agent, _ = check_file(path)
    svg = render(agent, "svg")
    assert b"<svg" in svg[:1000]


@pytest.mark.parametrize("path", AGENTS, ids=lambda p: p.name)
def test_uses_the_standard_dialog_or_says_why(path: Path) -> None:
    text = path.read_text()
    assert "std:dialog" in text or "no LLM" in text


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_example_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _call(fn, *args):  # noqa: ANN001, ANN202 - sync or async handler
    if inspect.iscoroutinefunction(fn):
        return trio.run(fn, *args)
    return fn(*args)


def test_every_declared_handler_exists_and_kinds_are_mixed() -> None:
    kinds = set()
    for path in AGENTS:
        agent, _ = load_file(path)
        assert agent is not None
        for tool in agent.tools:
            module_name, func = tool.handler.split(":")
            module = _module(path.parent / f"{module_name}.py")
            fn = getattr(module, func)
            kinds.add(inspect.iscoroutinefunction(fn))
            assert set(inspect.signature(fn).parameters) == {p.name for p in tool.params}, tool.name
    assert kinds == {True, False}, "examples should show both sync and async handlers"


def test_concierge_tools() -> None:
    tools = _module(ROOT / "agents" / "concierge" / "concierge_tools.py")
    found = _call(tools.find_table, "thai", "19:30", 4)
    assert [r["restaurant"] for r in found] == ["Baan Suan", "Sukhothai"]
    assert _call(tools.find_table, "thai", "8pm", 20) == []
    booking = _call(tools.book_table, "Baan Suan", "19:30", 4)
    assert booking["reference"] == "R0001"
    assert [r["restaurant"] for r in _call(tools.find_table, "thai", "19:30", 4)] == ["Sukhothai"]
    with pytest.raises(ValueError):
        _call(tools.book_table, "Nowhere", "19:30", 2)


def test_reminder_tools() -> None:
    tools = _module(ROOT / "agents" / "reminders" / "reminder_tools.py")
    tools.reset()
    assert _call(tools.add_reminder, "water the plants", 5) == {
        "text": "water the plants",
        "minutes": 5,
        "due": 5,
    }
    assert _call(tools.due_reminders, 4) == []
    assert _call(tools.due_reminders, 5) == ["water the plants"]
    assert _call(tools.complete_reminder, "water the plants") is True
    assert _call(tools.due_reminders, 6) == []
    with pytest.raises(ValueError):
        _call(tools.add_reminder, "  ", 1)


def test_form_tools() -> None:
    tools = _module(ROOT / "agents" / "form" / "form_tools.py")
    assert _call(tools.check_postcode, "75 011", "Paris")
    assert not _call(tools.check_postcode, "75011", "Lyon")
    assert _call(tools.check_phone, "06 12 34 56 78")
    assert not _call(tools.check_phone, "12 34")
    assert _call(tools.submit_form, "Ada", "1 rue de la Paix", "75001", "Paris", "0612345678") == "D0001"
    with pytest.raises(ValueError):
        _call(tools.submit_form, "", "x", "y", "z", "w")


@pytest.mark.parametrize("path", AGENTS + STD, ids=lambda p: p.name)
def test_round_trips_through_both_syntaxes(path: Path) -> None:
    from counterpoint.dsl.text.front import load_text
    from counterpoint.dsl.text.printer import print_text
    from counterpoint.dsl.yaml.front import load_yaml
    from counterpoint.dsl.yaml.printer import print_yaml

    agent, diags = load_file(path)
    assert agent is not None and not diags
    as_text, diags = load_text(print_text(agent), "x.agent")
    assert not diags and as_text == agent
    as_yaml, diags = load_yaml(print_yaml(agent), "x.agent.yaml")
    assert not diags and as_yaml == agent
