"""The expression language of guards, templates and values: parse, inspect, evaluate."""

from counterpoint.dsl.expr.ast import ExprError, ExprRuntimeError
from counterpoint.dsl.expr.parse import evaluate, free_names, parse_expr, parse_template

__all__ = ["ExprError", "ExprRuntimeError", "evaluate", "free_names", "parse_expr", "parse_template"]
