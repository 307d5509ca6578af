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
    _voice_ranges(ctx)


#: voice setting -> (lowest, highest) accepted value
VOICE_RANGES = {"vad_threshold": (0.0, 1.0), "min_barge_in": (0.0, 10.0), "end_of_turn": (0.0, 10.0),
                "speed": (0.25, 4.0)}


def _voice_ranges(ctx: Context) -> None:
    voice = ctx.agent.voice
    if voice is None:
        return
    for key, (low, high) in VOICE_RANGES.items():
        value = getattr(voice, key)
        if value is not None and not low <= value <= high:
            ctx.diags.append(Diagnostic("E005", f"voice setting '{key}' is {value:g}, outside {low:g} to {high:g}",
                                        voice.span, f"give '{key}' a value from {low:g} to {high:g}"))


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
