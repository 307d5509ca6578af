"""Binding tools to their handlers: resolution, signature checks, context detection, argument checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from counterpoint.dsl.files import load_file
from counterpoint.dsl.includes import resolve_includes
from counterpoint.dsl.model import Agent, Param, Tool
from counterpoint.dsl.source import Span
from counterpoint.engine.tools import ToolBindError, bind_tool, bind_tools

ROOT = Path(__file__).resolve().parent.parent


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def _bind_error(tool: Tool, folder: Path) -> ToolBindError:
    with pytest.raises(ToolBindError) as info:
        bind_tool(tool, folder)
    return info.value


def test_bind_the_concierge_tools() -> None:
    path = ROOT / "agents" / "concierge" / "concierge.agent.yaml"
    agent, diags = load_file(path)
    assert agent is not None and not diags
    agent, _ = resolve_includes(agent, path)
    bound = bind_tools(agent, path.parent)
    assert set(bound) == {"find_table", "book_table"}
    assert bound["find_table"].is_async and not bound["book_table"].is_async
    assert bound["find_table"].context_param is None
    assert bound["book_table"].name == "book_table"


def test_context_parameter_rules(tmp_path: Path) -> None:
    _write(tmp_path, "ctx_tools.py", (
        "from counterpoint.engine.tools import ToolContext\n"
        "def named(x, ctx):\n    return x\n"
        "def annotated(x, context: ToolContext):\n    return x\n"
        "def declared(ctx):\n    return ctx\n"
        "def plain(x):\n    return x\n"
    ))
    _write(tmp_path, "lazy_tools.py", (
        "from __future__ import annotations\n"
        "from counterpoint.engine import tools\n"
        "async def annotated(x, c: tools.ToolContext):\n    return x\n"
    ))
    x = (Param("x"),)
    assert bind_tool(Tool("a", "ctx_tools:named", x), tmp_path).context_param == "ctx"
    assert bind_tool(Tool("b", "ctx_tools:annotated", x), tmp_path).context_param == "context"
    assert bind_tool(Tool("c", "ctx_tools:declared", (Param("ctx"),)), tmp_path).context_param is None
    assert bind_tool(Tool("d", "ctx_tools:plain", x), tmp_path).context_param is None
    lazy = bind_tool(Tool("e", "lazy_tools:annotated", x), tmp_path)
    assert lazy.context_param == "c" and lazy.is_async


def test_unresolvable_handler_carries_the_diagnostic(tmp_path: Path) -> None:
    span = Span(str(tmp_path / "a.agent.yaml"), 7, 14)
    err = _bind_error(Tool("run", "os:system", handler_span=span), tmp_path)
    assert err.tool == "run"
    assert err.diagnostic.code == "E110" and err.diagnostic.span == span
    assert "not allowed" in str(err)
    err = _bind_error(Tool("run", "missing_tools:run"), tmp_path)
    assert err.diagnostic.code == "E109" and "missing_tools" in err.diagnostic.message
    agent = Agent("a", tools=(Tool("run", "nothere:f"),))
    with pytest.raises(ToolBindError):
        bind_tools(agent, tmp_path)


@pytest.mark.parametrize(("params", "needle"), [
    ((Param("x"), Param("y")), "unexpected keyword argument 'y'"),  # declared, not accepted
    ((), "missing a required argument: 'x'"),  # required by the function, not declared
    ((Param("x", required=False),), "missing a required argument: 'x'"),  # optional without default
])
def test_signature_must_fit_the_declaration(tmp_path: Path, params: tuple[Param, ...], needle: str) -> None:
    _write(tmp_path, "sig_tools.py", "def f(x):\n    return x\n")
    err = _bind_error(Tool("f", "sig_tools:f", params), tmp_path)
    assert err.diagnostic.code == "E109"
    assert needle in err.diagnostic.message and "declared parameters" in err.diagnostic.message
    assert err.diagnostic.hint is not None and "default" in err.diagnostic.hint


def test_signatures_that_fit(tmp_path: Path) -> None:
    _write(tmp_path, "fit_tools.py", (
        "def defaults(x, y=1):\n    return x\n"
        "def kwargs(**kw):\n    return kw\n"
    ))
    bind_tool(Tool("a", "fit_tools:defaults", (Param("x"), Param("y", "integer", required=False))), tmp_path)
    bind_tool(Tool("b", "fit_tools:kwargs", (Param("x"), Param("y", required=False))), tmp_path)


def test_check_args_names_every_bad_field(tmp_path: Path) -> None:
    _write(tmp_path, "args_tools.py", "def f(cuisine, party, size='small'):\n    return 1\n")
    tool = Tool("f", "args_tools:f", (Param("cuisine"), Param("party", "integer"),
                                      Param("size", required=False, enum=("small", "large"))))
    bound = bind_tool(tool, tmp_path)
    assert bound.check_args({"cuisine": "thai", "party": 2}) is None
    message = bound.check_args({"party": "two", "size": "huge", "colour": "red"})
    assert message == (
        "invalid arguments for f: missing required argument 'cuisine'; unexpected argument 'colour'; "
        "argument 'party': 'two' is not of type 'integer'; "
        "argument 'size': 'huge' is not one of ['small', 'large'] (parameters: cuisine, party, size?)"
    )
