"""A tool declaration as JSON Schema: what arguments are checked against and what the model sees.

One home for both uses, so the schema the runtime validates with is exactly the one the
prompt shows the model.
"""

from __future__ import annotations

from typing import Any

from counterpoint.dsl.model import Param, Tool


def param_schema(param: Param) -> dict[str, Any]:
    """The JSON Schema of one parameter: its type, description and allowed values."""
    out: dict[str, Any] = {"type": param.type}
    if param.type == "array":
        # Schemas for models (and grammar-constrained decoding) expect arrays to say what they hold.
        out["items"] = {}
    if param.description:
        out["description"] = param.description
    if param.enum is not None:
        out["enum"] = list(param.enum)
    return out


def parameters_schema(tool: Tool) -> dict[str, Any]:
    """The JSON Schema object of ``tool``'s arguments; arguments it does not declare are refused."""
    return {
        "type": "object",
        "properties": {p.name: param_schema(p) for p in tool.params},
        "required": [p.name for p in tool.params if p.required],
        "additionalProperties": False,
    }


def openai_tool(tool: Tool) -> dict[str, Any]:
    """``tool`` in the OpenAI tools format: ``{"type": "function", "function": {...}}``."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description or "",
            "parameters": parameters_schema(tool),
        },
    }
