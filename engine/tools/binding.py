"""Binding a definition's tools to their Python callables, once, before a session runs.

Everything that can be decided without running a call is decided here: the handler is
resolved (through :mod:`counterpoint.dsl.handlers`, the one home of handler resolution),
its signature is checked against the declared parameters, whether it is a coroutine and
whether it asks for a :class:`ToolContext` are noted, and the argument validator is built.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from counterpoint.dsl.diagnostics import Diagnostic
from counterpoint.dsl.handlers import HandlerError, handler_span, resolve_tool
from counterpoint.dsl.model import Agent, Tool
from counterpoint.engine.tools.context import ToolContext
from counterpoint.engine.tools.schema import parameters_schema

#: The parameter name that asks for the context when no parameter is annotated ``ToolContext``.
CONTEXT_NAME = "ctx"


class ToolBindError(Exception):
    """A tool whose handler cannot be bound; ``diagnostic`` says what, where and how to fix it."""

    def __init__(self, tool: str, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.format())
        self.tool = tool
        self.diagnostic = diagnostic


@dataclass(frozen=True, slots=True, eq=False)
class BoundTool:
    """A declared tool with its callable, ready to run."""

    tool: Tool
    handler: Callable[..., Any]
    is_async: bool
    #: the keyword under which the handler receives its ToolContext, None when it does not ask
    context_param: str | None
    validator: Any  # a jsonschema validator of the arguments object

    @property
    def name(self) -> str:
        return self.tool.name

    def check_args(self, args: Mapping[str, Any]) -> str | None:
        """None when ``args`` fit the declared parameters, else a message naming each bad field."""
        problems: list[str] = []
        for err in sorted(self.validator.iter_errors(args), key=lambda e: (list(e.path), e.message)):
            if err.validator == "required":
                missing = sorted(set(self.validator.schema["required"]) - set(args))
                problems.extend(f"missing required argument '{name}'" for name in missing)
            elif err.validator == "additionalProperties":
                known = set(self.validator.schema["properties"])
                problems.extend(f"unexpected argument '{name}'" for name in sorted(set(args) - known))
            else:
                where = ".".join(str(p) for p in err.path)
                problems.append(f"argument '{where}': {err.message}" if where else err.message)
        if not problems:
            return None
        unique = list(dict.fromkeys(problems))
        return f"invalid arguments for {self.name}: {'; '.join(unique)} (parameters: {_declared(self.tool)})"


def _declared(tool: Tool) -> str:
    """``cuisine, party, time?``: the declared parameters, optional ones marked."""
    return ", ".join(p.name + ("" if p.required else "?") for p in tool.params) or "none"


def _asks_for_context(param: inspect.Parameter) -> bool:
    ann = param.annotation
    if ann is ToolContext:
        return True
    # ``from __future__ import annotations`` leaves the annotation as text
    return isinstance(ann, str) and ann.strip().split(".")[-1] == "ToolContext"


def context_param(handler: Callable[..., Any], tool: Tool) -> str | None:
    """The parameter of ``handler`` that receives the context (see :mod:`.context` for the rule)."""
    try:
        params = inspect.signature(handler).parameters
    except (TypeError, ValueError):  # some builtins have no signature; they cannot ask anyway
        return None
    declared = {p.name for p in tool.params}
    for p in params.values():
        if _asks_for_context(p) and p.name not in declared:
            return p.name
    named = params.get(CONTEXT_NAME)
    if named is not None and CONTEXT_NAME not in declared:
        return CONTEXT_NAME
    return None


def _check_signature(handler: Callable[..., Any], tool: Tool, ctx: str | None) -> str | None:
    """Why ``handler`` cannot be called with the declared parameters, or None when it can."""
    try:
        sig = inspect.signature(handler)
    except (TypeError, ValueError):
        return None
    extra = {ctx: None} if ctx else {}
    every = {p.name: None for p in tool.params} | extra
    required = {p.name: None for p in tool.params if p.required} | extra
    for args in (every, required):
        try:
            sig.bind(**args)
        except TypeError as exc:
            return str(exc)
    return None


def bind_tool(tool: Tool, base_dir: Path, allow: tuple[str, ...] = ()) -> BoundTool:
    """Bind one tool; raises :class:`ToolBindError`."""
    try:
        handler = resolve_tool(tool, base_dir, allow)
    except HandlerError as err:
        raise ToolBindError(tool.name, err.diagnostic(handler_span(tool))) from None
    ctx = context_param(handler, tool)
    mismatch = _check_signature(handler, tool, ctx)
    if mismatch:
        raise ToolBindError(tool.name, Diagnostic(
            "E109",
            f"handler '{tool.handler}' of tool '{tool.name}' does not fit its declared parameters: {mismatch}",
            handler_span(tool),
            f"give the function one parameter per declared parameter ({_declared(tool)}; optional ones need a "
            f"default), plus '{CONTEXT_NAME}' or a ToolContext-annotated one for the context",
        ))
    is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an object with an async __call__
    )
    validator = jsonschema.Draft202012Validator(parameters_schema(tool))
    return BoundTool(tool, handler, is_async, ctx, validator)


def bind_tools(agent: Agent, base_dir: Path) -> dict[str, BoundTool]:
    """Every tool of ``agent``, bound; ``base_dir`` is the folder of the agent's file.

    Raises :class:`ToolBindError` for the first tool that cannot be bound.
    """
    return {t.name: bind_tool(t, Path(base_dir), agent.allow) for t in agent.tools}
