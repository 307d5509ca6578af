"""The door from a definition file to a :class:`Chart`: read, resolve includes, validate, compile.

It sits beside ``core`` rather than in it because it reads files (through the dsl); ``core``
itself only ever sees a resolved model.
"""

from __future__ import annotations

import os
from pathlib import Path

from counterpoint.dsl.diagnostics import DiagnosticError
from counterpoint.dsl.files import load_agent
from counterpoint.dsl.model import Agent
from counterpoint.engine.core.chart import Chart, compile_chart


def load_chart(path: str | os.PathLike[str]) -> Chart:
    """The compiled chart of the definition file ``path`` (``*.agent.yaml`` or ``*.agent``).

    Raises :class:`~counterpoint.dsl.diagnostics.DiagnosticError` carrying the errors (each with
    ``file:line:col`` and a hint) when the file cannot be read or is not valid; warnings alone
    do not stop it. Tool handlers are checked to resolve, as ``counterpoint validate`` does.
    """
    return compile_chart(load_valid_agent(path), validated=True)


def load_valid_agent(path: str | os.PathLike[str]) -> Agent:
    """The resolved, validated model of the definition file ``path``; raises
    :class:`~counterpoint.dsl.diagnostics.DiagnosticError` as :func:`load_chart` does."""
    agent, diags = load_agent(Path(path))
    if agent is None:
        raise DiagnosticError([d for d in diags if d.is_error] or diags)
    return agent
