"""Validation of a resolved agent: structure, references, expressions, handlers, warnings.

Front ends report what is wrong with the text; these checks report what is wrong with the
chart (codes E101-E117, W201-W204 and a few of E006-E008 in docs/language.md), one module
per concern, run here in a fixed order. This is the only home of these checks:
``counterpoint.engine.compile`` runs them too.
"""

from __future__ import annotations

from pathlib import Path

from counterpoint.dsl.diagnostics import Diagnostic
from counterpoint.dsl.model import Agent, walk_with_parent
from counterpoint.dsl.validate.actions import check_actions
from counterpoint.dsl.validate.context import Context
from counterpoint.dsl.validate.declarations import check_declarations
from counterpoint.dsl.validate.regions import check_region_conflicts
from counterpoint.dsl.validate.structure import check_root, check_structure, check_timers
from counterpoint.dsl.validate.tools import check_tool_handlers, check_tool_references
from counterpoint.dsl.validate.transitions import check_conflicts, check_targets
from counterpoint.dsl.validate.warnings import check_reachability, check_unused_tools


def validate(agent: Agent, base_dir: Path, check_handlers: bool = True) -> list[Diagnostic]:
    """Every problem of a resolved ``agent`` whose file lives in ``base_dir``.

    ``check_handlers`` checks what lies outside the definition: it imports each tool's handler
    module (E109/E110) and checks that spawned agents' files exist (E113).
    This is the one home of the chart checks: ``counterpoint.engine.compile`` runs it (without
    handlers) and rejects the chart when it reports an error.
    """
    ctx = Context(agent, Path(base_dir), check_handlers)
    check_declarations(ctx)
    check_tool_handlers(ctx)
    check_root(ctx)
    for state, parent in walk_with_parent(agent.states):
        check_structure(ctx, state, parent)
        check_timers(ctx, state)
        check_targets(ctx, state)
        check_tool_references(ctx, state)
        check_conflicts(ctx, state)
        check_actions(ctx, state)
    check_region_conflicts(ctx)
    check_unused_tools(ctx)
    check_reachability(ctx)
    return ctx.diags
