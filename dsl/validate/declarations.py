"""Agent-level declarations: names declared twice (E114), computable initial values (E008)."""

from __future__ import annotations

from counterpoint.dsl.diagnostics import Diagnostic
from counterpoint.dsl.expr.parse import evaluate
from counterpoint.dsl.source import Span, where
from counterpoint.dsl.validate.context import Context, located


def check_declarations(ctx: Context) -> None:
    for kind, decls in (
        ("tool", ctx.agent.tools),
        ("variable", ctx.agent.variables),
        ("event", ctx.agent.events),
    ):
        seen: dict[str, Span] = {}
        for d in decls:
            if d.name in seen:
                ctx.diags.append(
                    Diagnostic(
                        "E114",
                        f"{kind} '{d.name}' is declared twice (first at {where(seen[d.name], d.span)})",
                        d.span,
                        "rename one of them or remove the duplicate",
                    )
                )
            else:
                seen[d.name] = d.span
    for var in ctx.agent.variables:
        if var.init is not None:
            _initial_value(ctx, var.name, var.init.source, located(var.init.span, var.span))


def _initial_value(ctx: Context, name: str, source: str, span: Span) -> None:
    """A variable's initial value must be computable before the chart starts."""
    before = len(ctx.diags)
    if ctx.exprs.expr(source, span, set(), f"initial value of '{name}'") is None:
        return
    if len(ctx.diags) > before:
        return
    try:
        evaluate(source, {})
    except Exception as err:  # any failure to compute it is a definition error
        ctx.diags.append(
            Diagnostic(
                "E008",
                f"initial value of '{name}' cannot be computed: {getattr(err, 'message', err)}",
                span,
                "write a literal: a number, string, boolean, null, list or map",
            )
        )
