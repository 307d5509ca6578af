"""The engine's one door to the expression language: compile guards, values and texts.

Everything the chart evaluates goes through here, so :mod:`.chart` and :mod:`.actions` do not
depend on the shape of :mod:`counterpoint.dsl.expr.parse` beyond these few functions, and a bad
expression becomes a :class:`Diagnostic` at compile time rather than a traceback at run time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from counterpoint.dsl.diagnostics import Diagnostic
from counterpoint.dsl.expr import parse as _expr
from counterpoint.dsl.model import Expr
from counterpoint.dsl.source import NO_SPAN, Span

#: A compiled expression: ``fn(env) -> value``; ``env`` follows ``counterpoint.dsl.expr.parse.Env``.
Compiled = Callable[[Any], Any]

ExprRuntimeError = _expr.ExprRuntimeError


class CompileError(Exception):
    """An expression that cannot be compiled; carries the diagnostic to report."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.format())
        self.diagnostic = diagnostic


def _error(err: Exception, span: Span, what: str) -> CompileError:
    where = getattr(err, "span", NO_SPAN)
    if where == NO_SPAN:
        where = span
    message = getattr(err, "message", str(err))
    code = "E116" if message.startswith("unknown function") else "E011"
    return CompileError(Diagnostic(code, f"{what}: {message}", where))


def _constant(source: str) -> tuple[bool, Any]:
    """Numbers, booleans and null need no parsing: their value is known now."""
    text = source.strip()
    if text in ("true", "false", "null") or (text[:1].isdigit() and text.replace(".", "", 1).isdigit()):
        try:
            return True, json.loads(text)
        except ValueError:
            pass
    return False, None


def compile_value(expr: Expr, what: str = "expression") -> Compiled:
    """``fn(env)`` computing the value of ``expr``; raises CompileError when it is invalid."""
    known, value = _constant(expr.source)
    if known:
        return lambda env: value
    try:
        return _expr.compile_expr(_expr.parse_expr(expr.source, expr.span))
    except _expr.ExprError as err:
        raise _error(err, expr.span, what) from None


def compile_guard(expr: Expr) -> Compiled:
    return compile_value(expr, "guard")


def compile_text(text: str, span: Span = NO_SPAN) -> Compiled:
    """``fn(env) -> str`` rendering a ``say``/``log`` text with ``{expr}`` interpolation."""
    if "{" not in text and "}" not in text:
        return lambda env: text
    try:
        return _expr.compile_template(_expr.parse_template(text))
    except _expr.ExprError as err:
        raise _error(err, span, "text") from None


def constant_value(expr: Expr) -> Any:
    """The value of an expression that needs no names (variable initial values)."""
    fn = compile_value(expr, "initial value")
    try:
        return fn(_expr.MappingEnv({}))
    except Exception as err:  # noqa: BLE001 - any evaluation failure is a definition error
        raise CompileError(Diagnostic("E008", f"initial value: {err}", expr.span)) from None
