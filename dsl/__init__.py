"""counterpoint.dsl: the agent definition language, from text to a validated model.

``check_file(path)`` reads a ``*.agent.yaml`` or ``*.agent`` file, resolves its includes and
validates it, returning the resolved :class:`Agent` and every :class:`Diagnostic`;
``load_yaml``/``load_text`` read text, ``print_yaml``/``print_text`` print a model back;
:mod:`counterpoint.dsl.render` draws it. ``counterpoint.engine.load_chart`` turns a file into a
runnable chart. Names that are also subpackages (``render``, ``validate``) are not
re-exported here, so that ``counterpoint.dsl.render`` stays the package.
"""

from counterpoint.dsl.diagnostics import CODES, Diagnostic, DiagnosticError, Severity
from counterpoint.dsl.durations import DurationError, format_duration, parse_duration
from counterpoint.dsl.files import load_agent, load_file
from counterpoint.dsl.includes import resolve_includes
from counterpoint.dsl.model import (
    Agent,
    Branch,
    Call,
    Cancel,
    CancelSend,
    EventDecl,
    Expr,
    If,
    Include,
    LLMSettings,
    Log,
    Param,
    Priority,
    Raise,
    Respond,
    Say,
    Send,
    Set,
    Spawn,
    State,
    StateKind,
    Timer,
    Tool,
    Transition,
    Variable,
    VoiceSettings,
    walk_states,
)
from counterpoint.dsl.source import Span
from counterpoint.dsl.text import load_text, print_text
from counterpoint.dsl.validate import check_file, check_paths
from counterpoint.dsl.yaml import json_schema, load_yaml, print_yaml

__all__ = [
    # the model
    "Agent", "Branch", "Call", "Cancel", "CancelSend", "EventDecl", "Expr", "If", "Include", "LLMSettings", "Log", "Param",
    "Priority", "Raise", "Respond", "Say", "Send", "Set", "Spawn", "State", "StateKind", "Timer", "Tool",
    "Transition", "Variable", "VoiceSettings", "walk_states",
    # where and what is wrong
    "CODES", "Diagnostic", "DiagnosticError", "Severity", "Span",
    # durations
    "DurationError", "format_duration", "parse_duration",
    # reading, checking, printing
    "check_file", "check_paths", "json_schema", "load_agent", "load_file", "load_text", "load_yaml", "print_text",
    "print_yaml", "resolve_includes",
]  # fmt: skip
