"""Tools every agent has: the model can see its running calls and cancel one.

They are answered by the session itself, at once, and recorded in the ledger like any call.
"""

from __future__ import annotations

from typing import Any

from counterpoint.engine.llm.base import ToolSchema

LIST_CALLS = "list_running_calls"
CANCEL_CALL = "cancel_call"

BUILTIN_TOOLS: dict[str, ToolSchema] = {
    LIST_CALLS: {
        "type": "function",
        "function": {
            "name": LIST_CALLS,
            "description": "List the tool calls still running, with their arguments and age in seconds.",
            "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
        },
    },
    CANCEL_CALL: {
        "type": "function",
        "function": {
            "name": CANCEL_CALL,
            "description": "Cancel a running tool call by its call id (see list_running_calls).",
            "parameters": {
                "type": "object",
                "properties": {"call_id": {"type": "string", "description": "the id of the call to cancel"}},
                "required": ["call_id"],
                "additionalProperties": False,
            },
        },
    },
}


def is_builtin(name: str) -> bool:
    return name in BUILTIN_TOOLS


def check_builtin_args(name: str, args: Any) -> str | None:
    """A message when ``args`` do not fit the built-in tool ``name``, else None."""
    if not isinstance(args, dict):
        return "arguments must be a JSON object"
    if name == CANCEL_CALL and not isinstance(args.get("call_id"), str):
        return "cancel_call needs call_id, a string (one of the ids list_running_calls shows)"
    return None
