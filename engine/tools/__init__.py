"""Tool execution: handlers bound from a definition, run in the background, outcomes as events.

Agent authors import :class:`ToolContext` from here to ask for progress reports and
cancellation in a handler.
"""

from counterpoint.engine.tools.binding import BoundTool, ToolBindError, bind_tool, bind_tools
from counterpoint.engine.tools.context import ToolContext
from counterpoint.engine.tools.runner import RunningCall, ToolRunner
from counterpoint.engine.tools.schema import openai_tool, parameters_schema

__all__ = [
    "BoundTool", "RunningCall", "ToolBindError", "ToolContext", "ToolRunner", "bind_tool", "bind_tools",
    "openai_tool", "parameters_schema",
]  # fmt: skip
