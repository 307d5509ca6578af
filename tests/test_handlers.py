"""Tool handler resolution: only the agent's folder or allowed packages, clear errors otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from counterpoint.dsl import Agent, Span, Tool
from counterpoint.dsl.handlers import (
    NOT_ALLOWED_HINT,
    HandlerError,
    check_handler,
    resolve_handler,
    tool_base_dir,
    tool_base_dirs,
)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _code(spec: str, base: Path, allow: tuple[str, ...] = ()) -> HandlerError:
    with pytest.raises(HandlerError) as info:
        resolve_handler(spec, base, allow)
    return info.value


def test_module_in_agent_folder(tmp_path: Path) -> None:
    _write(tmp_path, "shop_tools.py", "def find(x):\n    return x * 2\n")
    fn = resolve_handler("shop_tools:find", tmp_path, ())
    assert fn(21) == 42


def test_what_a_module_prints_on_import_is_dropped(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """``validate --format json`` prints JSON only, whatever a tool module prints."""
    _write(tmp_path, "noisy.py", "import sys\nprint('hi')\nprint('oops', file=sys.stderr)\ndef f():\n    return 1\n")
    assert resolve_handler("noisy:f", tmp_path, ())() == 1
    assert capfd.readouterr() == ("", "")


def test_async_handler_and_package_with_relative_import(tmp_path: Path) -> None:
    _write(tmp_path, "pkg/__init__.py", "")
    _write(tmp_path, "pkg/util.py", "FACTOR = 3\n")
    _write(tmp_path, "pkg/tools.py", "from .util import FACTOR\nasync def run(x):\n    return x * FACTOR\n")
    fn = resolve_handler("pkg.tools:run", tmp_path)
    import inspect

    assert inspect.iscoroutinefunction(fn)


def test_same_module_name_in_two_folders_does_not_collide(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a, "tools.py", "def who():\n    return 'a'\n")
    _write(b, "tools.py", "def who():\n    return 'b'\n")
    assert resolve_handler("tools:who", a)() == "a"
    assert resolve_handler("tools:who", b)() == "b"
    assert "tools" not in sys.modules or not hasattr(sys.modules["tools"], "who")
    assert str(a) not in sys.path and str(b) not in sys.path


@pytest.mark.parametrize("spec", ["os:system", "subprocess:run", "builtins:eval", "importlib:import_module"])
def test_dangerous_modules_refused(tmp_path: Path, spec: str) -> None:
    err = _code(spec, tmp_path)
    assert err.code == "E110"
    assert err.hint == NOT_ALLOWED_HINT


def test_allow_lists_packages(tmp_path: Path) -> None:
    assert resolve_handler("json:dumps", tmp_path, ("json",))([1]) == "[1]"
    assert resolve_handler("os.path:join", tmp_path, ("os",))("a", "b") == str(Path("a", "b"))


@pytest.mark.parametrize("spec", ["nocolon", "a:b:c", "1mod:f", "mod:", ":f", "mod:f-g", "mod.:f", ""])
def test_malformed_spec(tmp_path: Path, spec: str) -> None:
    assert _code(spec, tmp_path).code == "E115"


def test_missing_function_suggests(tmp_path: Path) -> None:
    _write(tmp_path, "shop.py", "def find_table():\n    pass\nVALUE = 1\n")
    err = _code("shop:find_tabel", tmp_path)
    assert err.code == "E109"
    assert err.hint == "did you mean 'find_table'?"


def test_not_callable(tmp_path: Path) -> None:
    _write(tmp_path, "shop2.py", "VALUE = 1\n")
    err = _code("shop2:VALUE", tmp_path)
    assert err.code == "E109" and "not callable" in err.message


def test_missing_submodule_in_folder_package(tmp_path: Path) -> None:
    _write(tmp_path, "pk/__init__.py", "")
    err = _code("pk.nothere:f", tmp_path)
    assert err.code == "E109" and "no such module" in err.message


def test_module_raising_on_import(tmp_path: Path) -> None:
    _write(tmp_path, "broken.py", "raise RuntimeError('boom at import')\n")
    err = _code("broken:f", tmp_path)
    assert err.code == "E109" and "boom at import" in err.message
    _write(tmp_path, "exits.py", "raise SystemExit(3)\n")
    assert _code("exits:f", tmp_path).code == "E109"
    _write(tmp_path, "syntax.py", "def (:\n")
    assert _code("syntax:f", tmp_path).code == "E109"


def test_module_with_missing_dependency(tmp_path: Path) -> None:
    _write(tmp_path, "needs.py", "import counterpoint_no_such_dependency\ndef f():\n    pass\n")
    err = _code("needs:f", tmp_path)
    assert err.code == "E109" and "counterpoint_no_such_dependency" in err.message


def test_tool_base_dir_follows_span(tmp_path: Path) -> None:
    inc = tmp_path / "lib"
    tool = Tool("t", "x:y", span=Span(str(inc / "common.agent.yaml"), 3, 3))
    assert tool_base_dir(tool, tmp_path) == inc
    assert tool_base_dir(Tool("u", "x:y"), tmp_path) == tmp_path
    agent = Agent("a", tools=(tool, Tool("u", "x:y")))
    assert tool_base_dirs(agent, tmp_path) == {"t": inc, "u": tmp_path}


def test_check_handler_reports_at_tool(tmp_path: Path) -> None:
    span = Span(str(tmp_path / "a.agent.yaml"), 4, 5)
    diag = check_handler(Tool("t", "os:system", span=span), tmp_path)
    assert diag is not None and diag.code == "E110" and diag.span == span
    _write(tmp_path, "ok_tools.py", "def t():\n    pass\n")
    assert check_handler(Tool("t", "ok_tools:t", span=span), tmp_path) is None
