"""What lies outside the chart: tool handlers (E109/E110), the tools, call ids and agent
files that states and actions name (E108/E113)."""

from __future__ import annotations

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean
from counterpoint.dsl.files import resolve_include_path
from counterpoint.dsl.handlers import check_handler
from counterpoint.dsl.model import Call, Cancel, Spawn, State
from counterpoint.dsl.source import Span
from counterpoint.dsl.validate.context import Context, located
from counterpoint.dsl.validate.walk import state_actions


def check_tool_handlers(ctx: Context) -> None:
    """Each tool's handler imports and fits its parameters (only when handlers are checked)."""
    if ctx.check_handlers:
        for tool in ctx.agent.tools:
            diag = check_handler(tool, ctx.base_dir, ctx.agent.allow)
            if diag is not None:
                ctx.diags.append(diag)


def check_tool_references(ctx: Context, state: State) -> None:
    """Tools a state lists or an action calls are declared; cancel names a tool or call id;
    a spawned agent's file exists (when handlers are checked)."""
    spans = getattr(state, "tools_spans", ())
    for i, name in enumerate(state.tools):
        if name not in ctx.tool_names:
            _undeclared_tool(ctx, name, located(spans[i] if i < len(spans) else None, state.span))
    for action, owner in state_actions(state):
        span = located(action.span, owner.span if owner else state.span)
        if isinstance(action, Call) and action.tool not in ctx.tool_names:
            _undeclared_tool(ctx, action.tool, span)
        elif isinstance(action, Spawn) and ctx.check_handlers:
            _sub_agent(ctx, action, span)
        elif isinstance(action, Cancel) and action.target not in ctx.tool_names | ctx.call_ids:
            ctx.diags.append(
                Diagnostic(
                    "E108",
                    f"cancel names '{action.target}', which is neither a tool nor a call id",
                    span,
                    did_you_mean(action.target, ctx.tool_names | ctx.call_ids),
                )
            )


def _sub_agent(ctx: Context, action: Spawn, span: Span) -> None:
    """A spawned or forked agent's definition file must exist (it is read when it starts)."""
    here = span.file if span.line > 0 else ctx.base_dir / "agent"
    if resolve_include_path(action.agent, here) is None:
        verb = "fork" if action.fork else "spawn"
        ctx.diags.append(
            Diagnostic(
                "E113",
                f"{verb}: agent file '{action.agent}' not found",
                span,
                "the path is relative to the file that names it; std:NAME names a shipped definition",
            )
        )


def _undeclared_tool(ctx: Context, name: str, span: Span) -> None:
    ctx.diags.append(
        Diagnostic(
            "E108",
            f"tool '{name}' is not declared",
            span,
            did_you_mean(name, ctx.tool_names) or "declare it under tools:",
        )
    )
