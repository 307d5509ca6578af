"""Tool handlers: turning ``module:function`` into a callable, safely.

A definition file must not be able to run arbitrary code by naming it (``os:system``), so a
handler module is only accepted when it lives in the agent file's folder (or the folder of
the included file that declared the tool) or when its top-level package is listed in the
agent's ``allow``. Folder modules are imported under a synthetic package name unique to the
folder, so two agents with a ``tools.py`` each never collide and ``sys.path`` is untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import io
import re
import sys
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean
from counterpoint.dsl.files import is_file
from counterpoint.dsl.model import Agent, Tool
from counterpoint.dsl.source import NO_SPAN, Span

_SPEC = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*):([A-Za-z_][A-Za-z0-9_]*)")
_PACKAGE_PREFIX = "_counterpoint_agent_"

NOT_ALLOWED_HINT = "put the handler in a module next to the agent file or add its package to allow:"


class HandlerError(Exception):
    """A handler spec that cannot be turned into a callable; carries a diagnostic code."""

    def __init__(self, code: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint

    def diagnostic(self, span: Span = NO_SPAN) -> Diagnostic:
        return Diagnostic(self.code, self.message, span, self.hint)


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``module:function``; raises HandlerError E115 when it is not of that shape."""
    m = _SPEC.fullmatch(spec.strip()) if isinstance(spec, str) else None
    if not m:
        raise HandlerError(
            "E115",
            f"invalid handler '{spec}': expected module:function",
            "write the handler as module:function, e.g. my_tools:find_table",
        )
    return m.group(1), m.group(2)


def folder_package(base_dir: Path) -> str:
    """The synthetic package under which modules of ``base_dir`` are imported (created on demand)."""
    folder = Path(base_dir).resolve()
    name = _PACKAGE_PREFIX + hashlib.sha1(str(folder).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    if name not in sys.modules:
        pkg = types.ModuleType(name, f"agent modules from {folder}")
        pkg.__path__ = [str(folder)]
        pkg.__package__ = name
        pkg.__spec__ = importlib.util.spec_from_loader(name, loader=None, is_package=True)
        if pkg.__spec__ is not None:
            pkg.__spec__.submodule_search_locations = [str(folder)]
        sys.modules[name] = pkg
    return name


def in_folder(top: str, base_dir: Path) -> bool:
    """Whether the top-level module ``top`` is a file or package in ``base_dir``."""
    base = Path(base_dir)
    return is_file(base / f"{top}.py") or is_file(base / top / "__init__.py")


def _import(module: str, base_dir: Path, allow: Iterable[str]) -> types.ModuleType:
    top = module.split(".")[0]
    if in_folder(top, base_dir):
        qualified = f"{folder_package(base_dir)}.{module}"
    elif top in set(allow):
        qualified = module
    elif not _exists(top):
        local = sorted(p.stem for p in Path(base_dir).glob("*.py"))
        raise HandlerError(
            "E109",
            f"cannot import handler module '{module}': there is no {top}.py in the agent's folder",
            did_you_mean(top, local) or "put the handler module next to the agent file",
        )
    else:
        raise HandlerError(
            "E110",
            f"handler module '{module}' is not allowed: it is neither in the agent's folder nor in allow:",
            NOT_ALLOWED_HINT,
        )
    try:
        # What a module prints while it is imported must not reach the command's own output
        # (`validate --format json`, `convert -o -`): it is dropped.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return importlib.import_module(qualified)
    except BaseException as exc:  # a tool module may raise anything while importing
        if isinstance(exc, KeyboardInterrupt):
            raise
        sys.modules.pop(qualified, None)
        detail = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ModuleNotFoundError) and exc.name in (qualified, module):
            detail = "no such module"
        raise HandlerError("E109", f"cannot import handler module '{module}': {detail}") from None


def _exists(top: str) -> bool:
    """Whether a top-level module is installed (found without importing it)."""
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def public_callables(mod: types.ModuleType) -> list[str]:
    names = []
    for name in dir(mod):
        if name.startswith("_"):
            continue
        try:
            value = getattr(mod, name)
        except Exception:
            continue
        if callable(value) and not isinstance(value, type | types.ModuleType):
            names.append(name)
    return names


def resolve_handler(spec: str, base_dir: Path, allow: tuple[str, ...] = ()) -> Callable[..., Any]:
    """The callable named by ``spec``; raises HandlerError (E115, E110, E109)."""
    module, function = parse_spec(spec)
    mod = _import(module, Path(base_dir), allow)
    try:
        value: object = getattr(mod, function)
    except Exception:
        raise HandlerError(
            "E109",
            f"module '{module}' has no function '{function}'",
            did_you_mean(function, public_callables(mod)),
        ) from None
    if not callable(value):
        raise HandlerError("E109", f"'{module}:{function}' is not callable (it is a {type(value).__name__})")
    return value


def tool_base_dir(tool: Tool, agent_dir: Path) -> Path:
    """The folder a tool's handler resolves against: that of the file that declared the tool.

    Include resolution keeps each tool's span pointing at its own file, so the span tells
    where an included tool came from; tools built in code (no span) use ``agent_dir``.
    """
    file = tool.span.file
    if tool.span is NO_SPAN or not file or file.startswith("<"):
        return Path(agent_dir)
    return Path(file).parent


def tool_base_dirs(agent: Agent, agent_dir: Path) -> dict[str, Path]:
    """Tool name -> folder its handler resolves against (see :func:`tool_base_dir`)."""
    return {t.name: tool_base_dir(t, agent_dir) for t in agent.tools}


def resolve_tool(tool: Tool, agent_dir: Path, allow: tuple[str, ...] = ()) -> Callable[..., Any]:
    """The callable of ``tool``'s handler, resolved against the folder that declared the tool.

    Raises HandlerError; :func:`handler_span` says where to report it.
    """
    return resolve_handler(tool.handler, tool_base_dir(tool, agent_dir), allow)


def handler_span(tool: Tool) -> Span:
    """Where a problem with ``tool``'s handler is reported: the handler text, else the tool."""
    return tool.handler_span if tool.handler_span.line > 0 else tool.span


def check_handler(tool: Tool, agent_dir: Path, allow: tuple[str, ...] = ()) -> Diagnostic | None:
    """Resolve ``tool``'s handler for validation; a diagnostic at the handler instead of an exception.

    The only side effect is importing the handler's module.
    """
    try:
        resolve_tool(tool, agent_dir, allow)
    except HandlerError as err:
        return err.diagnostic(handler_span(tool))
    return None
