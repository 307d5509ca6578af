"""JSON Schema (draft 2020-12) of ``*.agent.yaml``, for editors' completion and checking.

It mirrors what :mod:`counterpoint.dsl.yaml.front` accepts: the same keys (unknown keys
are rejected with ``additionalProperties: false``), types, enumerations and name rules.
The loader stays the authority: it also reports duplicate keys and positions.
"""

from __future__ import annotations

from typing import Any

from counterpoint.dsl.names import EVENT_RE, IDENT_RE, PATTERN_RE
from counterpoint.dsl.yaml.front import (
    DELIVER,
    HISTORY_KINDS,
    KEEP_CANCEL,
    LLM_PROVIDERS,
    PARAM_TYPES,
    STATE_TYPES,
)

_IDENT = f"^{IDENT_RE.pattern}$"
_EVENT = f"^{EVENT_RE.pattern}$"
_PATTERN = f"^(?:{PATTERN_RE.pattern})$"
_DURATION = r"^\s*(?:\d+(?:\.\d+)?|(?:\d+(?:\.\d+)?(?:ms|s|m|h))+)\s*$"
_EVENT_KEY = rf"^\s*(?:{PATTERN_RE.pattern})(?:\s+(?:{PATTERN_RE.pattern}))*\s*$"


def _ref(name: str, description: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"$ref": f"#/$defs/{name}"}
    if description:
        out["description"] = description
    return out


def _obj(properties: dict[str, Any], description: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        out["required"] = list(required)
    return out


def _text(description: str) -> dict[str, Any]:
    return {"type": ["string", "number", "boolean"], "description": description}


def _one_or_many(item: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "anyOf": [item, {"type": "array", "items": item}]}


def _actions() -> dict[str, dict[str, Any]]:
    """Action keys with their value schemas (shared by actions and transition shorthands)."""
    ident = _ref("identifier")
    return {
        "say": _text("Speak this text; {expr} is interpolated, {{ and }} are literal braces."),
        "respond": {
            "type": ["string", "null"],
            "description": "Start an LLM turn, optionally with an extra instruction for this turn.",
        },
        "call": {
            "description": "Start a tool call in the background: a tool name or {tool, args, id}.",
            "anyOf": [
                ident,
                _obj(
                    {
                        "tool": _ref("identifier", "The tool to call."),
                        "args": _ref("bindings", "Arguments: name -> expression."),
                        "id": _ref("identifier", "Names the call so it can be cancelled."),
                    },
                    "A tool call.",
                    ("tool",),
                ),
            ],
        },
        "cancel": _ref("identifier", "Cancel running calls of a tool (by name) or one call (by id)."),
        "raise": {
            "description": "Put an event on the internal queue: a name or {event, data}.",
            "anyOf": [
                _ref("event"),
                _obj(
                    {"event": _ref("event", "The event name."), "data": _ref("bindings", "Event data.")},
                    "An internal event.",
                    ("event",),
                ),
            ],
        },
        "send": {
            "description": "Put an event on the external queue, optionally delayed.",
            "anyOf": [
                _ref("event"),
                _obj(
                    {
                        "event": _ref("event", "The event name."),
                        "data": _ref("bindings", "Event data."),
                        "delay": _ref("duration", "Send after this delay."),
                        "id": _ref("identifier", "Names the send so cancel_send can cancel it."),
                        "priority": {
                            "type": "integer",
                            "description": "Queue priority; lower is more urgent.",
                        },
                    },
                    "An external event.",
                    ("event",),
                ),
            ],
        },
        "cancel_send": _ref("identifier", "Cancel a delayed send by its id."),
        "set": {
            "type": "object",
            "description": "Assign variables: name -> expression, in order.",
            "propertyNames": {"pattern": _IDENT},
            "additionalProperties": _ref("value"),
        },
        "log": _text("Write this text to the trace; {expr} is interpolated."),
        "spawn": _ref("subagent", "Start a sub-agent with a fresh context."),
        "fork": _ref("subagent", "Start a sub-agent with a copy of the conversation ledger."),
    }


def _transition(timer: bool) -> dict[str, Any]:
    props: dict[str, Any] = {
        "target": _one_or_many(_ref("identifier"), "Target state id, or a list of them."),
        "guard": {"type": "string", "description": "Expression; the transition is taken only when it holds."},
    }
    if not timer:
        props["internal"] = {"type": "boolean", "description": "Do not exit and re-enter the source state."}
    props["do"] = _ref("actions", "One action or a list, run when the transition is taken.")
    props |= _actions()
    item = {
        "anyOf": [
            _ref("identifier", "The target state."),
            {"type": "null"},
            _obj(props, "A transition: target, guard, actions."),
        ]
    }
    return {
        "description": "A transition or a list of them.",
        "anyOf": [item, {"type": "array", "items": item}],
    }


def json_schema() -> dict[str, Any]:
    """The schema as a JSON-compatible dict."""
    actions = _actions()
    branch = {
        "if": {"type": "string", "description": "The condition: an expression."},
        "then": _ref("actions", "Actions run when the condition holds."),
    }
    conditional = _obj(
        {
            **branch,
            "elif": _one_or_many(_obj(branch, "Another condition and its actions.", ("if", "then")), "Tried in order."),
            "else": _ref("actions", "Actions run when no condition holds."),
        },
        "Conditional actions: the first branch whose condition holds runs, else 'else'.",
        ("if", "then"),
    )
    action = {
        "description": "An action: 'respond', a mapping with one action key, or an 'if'.",
        "anyOf": [
            {"const": "respond"},
            {
                "type": "object",
                "properties": actions,
                "additionalProperties": False,
                "minProperties": 1,
                "maxProperties": 1,
            },
            conditional,
        ],
    }
    timers = {
        "type": ["object", "null"],
        "description": "Duration (e.g. 30s, 1m30s) -> transition.",
        "propertyNames": {"pattern": _DURATION},
        "additionalProperties": _ref("timerTransition"),
    }
    param = {
        "description": "A JSON Schema type name (short form) or a mapping.",
        "anyOf": [
            {"type": "null"},
            {"enum": list(PARAM_TYPES)},
            _obj(
                {
                    "type": {"enum": list(PARAM_TYPES), "description": "JSON Schema type; default string."},
                    "description": _text("What the parameter means (shown to the LLM)."),
                    "required": {"type": "boolean", "description": "false makes the parameter optional."},
                    "enum": {
                        "type": "array",
                        "items": {"type": ["string", "number", "boolean"]},
                        "description": "Allowed values.",
                    },
                },
                "A parameter.",
            ),
        ],
    }
    tool = _obj(
        {
            "handler": {"type": "string", "description": "module:function (sync or async)."},
            "description": _text("What the tool does (shown to the LLM)."),
            "params": {
                "type": ["object", "null"],
                "description": "Parameters: name -> type or {type, description, required, enum}.",
                "propertyNames": {"pattern": _IDENT},
                "additionalProperties": param,
            },
            "timeout": _ref("duration", "Cancel the call after this long."),
            "on_interrupt": {
                "enum": list(KEEP_CANCEL),
                "description": "When the user barges in; default keep.",
            },
            "on_exit": {
                "enum": list(KEEP_CANCEL),
                "description": "When the calling state exits; default cancel.",
            },
            "deliver": {
                "enum": list(DELIVER),
                "description": "How the result reaches the conversation; default when_idle.",
            },
        },
        "A tool binding.",
        ("handler",),
    )
    state = _obj(
        {
            "type": {
                "enum": list(STATE_TYPES),
                "description": "state (default), parallel, final or history.",
            },
            "description": _text("What the state is for."),
            "prompt": _text("Added to the LLM's instructions while the state is active."),
            "tools": _one_or_many(_ref("identifier"), "Tools the LLM may call while the state is active."),
            "entry": _ref("actions", "Actions run on entry."),
            "exit": _ref("actions", "Actions run on exit."),
            "on": {
                "type": ["object", "null"],
                "description": "Event (or space-separated events) -> transition.",
                "propertyNames": {"pattern": _EVENT_KEY},
                "additionalProperties": _ref("transition"),
            },
            "always": _ref("transition", "Eventless transitions."),
            "after": timers | {"description": "Fire once after the duration while the state is active."},
            "every": timers | {"description": "Fire repeatedly while the state is active."},
            "initial": {
                "description": "The initial child (required when the state has children), or {target, do}.",
                "anyOf": [
                    _ref("identifier"),
                    _obj(
                        {
                            "target": _ref("identifier", "The initial child (may be a history state)."),
                            "do": _ref("actions", "Actions run when the state is entered by default."),
                        },
                        "An initial transition with actions.",
                        ("target",),
                    ),
                ],
            },
            "data": _ref("bindings", "Final states: the data of done.state.<parent> (name -> expression)."),
            "states": _ref("states", "Child states."),
            "history": {
                "enum": list(HISTORY_KINDS),
                "description": "History states: shallow (default) or deep.",
            },
            "default": _one_or_many(_ref("identifier"), "History states: where to go without history."),
            "include": {"type": "string", "description": "Take children and initial from this file."},
        },
        "A state.",
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://counterpoint.dev/schema/agent.json",
        "title": "counterpoint agent definition (*.agent.yaml)",
        "type": "object",
        "additionalProperties": False,
        "required": ["agent"],
        "properties": {
            "agent": {"type": ["string", "number"], "description": "The agent's name."},
            "description": _text("What the agent does."),
            "instructions": _text("The LLM's system instructions."),
            "llm": {
                "anyOf": [
                    {"type": "null"},
                    _obj(
                        {
                            "provider": {
                                "enum": list(LLM_PROVIDERS),
                                "description": "openai (any compatible endpoint) or embedded.",
                            },
                            "model": _text("Model name."),
                            "base_url": {"type": "string", "description": "Endpoint URL."},
                            "api_key_env": {
                                "type": "string",
                                "description": "Environment variable holding the key.",
                            },
                            "temperature": {
                                "type": ["number", "null"],
                                "description": "Sampling temperature.",
                            },
                            "max_tokens": {"type": ["integer", "null"], "description": "Longest reply."},
                        },
                        "LLM settings.",
                    ),
                ],
                "description": "LLM settings.",
            },
            "voice": {
                "anyOf": [
                    {"type": "null"},
                    _obj(
                        {
                            "asr": _text("Speech recognition model."),
                            "tts": _text("Voice."),
                            "language": _text("Language code."),
                            "speed": {"type": ["number", "null"], "description": "Speech rate."},
                            "vad_threshold": {"type": ["number", "null"], "minimum": 0, "maximum": 1,
                                              "description": "Speech probability that counts as speech (0.5)."},
                            "min_barge_in": {"type": ["number", "null"], "minimum": 0,
                                             "description": "Seconds of speech before the user stops the agent (0.6)."},
                            "end_of_turn": {"type": ["number", "null"], "minimum": 0,
                                            "description": "Seconds of silence that end the user's turn (0.6)."},
                        },
                        "Voice settings.",
                    ),
                ],
                "description": "Voice settings.",
            },
            "allow": _one_or_many({"type": "string"}, "Packages tool handlers may come from."),
            "include": _one_or_many({"type": "string"}, "Files merged into this agent (std:NAME or a path)."),
            "vars": {
                "type": ["object", "null"],
                "description": "Variables and their initial literal values.",
                "propertyNames": {"pattern": _IDENT},
            },
            "events": {
                "description": "Events the host may send: name -> data fields, or a list of names.",
                "anyOf": [
                    {"type": "null"},
                    {"type": "array", "items": _ref("event")},
                    {
                        "type": "object",
                        "propertyNames": {"pattern": _EVENT},
                        "additionalProperties": {
                            "type": ["array", "null"],
                            "items": _ref("identifier"),
                            "description": "Data field names.",
                        },
                    },
                ],
            },
            "priorities": {
                "type": ["object", "null"],
                "description": "Event pattern -> level; lower is more urgent, default 10.",
                "propertyNames": {"pattern": _PATTERN},
                "additionalProperties": {"type": "integer"},
            },
            "tools": {
                "type": ["object", "null"],
                "description": "Tool bindings: name -> {handler, params, ...}.",
                "propertyNames": {"pattern": _IDENT},
                "additionalProperties": tool,
            },
            "initial": _ref("identifier", "The initial top-level state."),
            "states": _ref("states", "Top-level states."),
        },
        "$defs": {
            "identifier": {"type": "string", "pattern": _IDENT},
            "event": {"type": "string", "pattern": _EVENT},
            "duration": {
                "anyOf": [
                    {"type": "string", "pattern": _DURATION},
                    {"type": "number", "minimum": 0},
                    {"type": "null"},
                ],
                "description": "e.g. 500ms, 30s, 1.5s, 2m, 1m30s; a bare number is seconds.",
            },
            "value": {
                "type": ["string", "number", "boolean", "null"],
                "description": "An expression (string) or a literal number, boolean or null.",
            },
            "bindings": {
                "type": ["object", "null"],
                "propertyNames": {"pattern": _IDENT},
                "additionalProperties": _ref("value"),
            },
            "subagent": {
                "anyOf": [
                    {"type": "string", "description": "The sub-agent's definition file."},
                    _obj(
                        {
                            "agent": {"type": "string", "description": "The sub-agent's definition file."},
                            "id": _ref("identifier", "Its result arrives as agent.<id>.done."),
                            "task": _text("The task given to the sub-agent."),
                        },
                        "A sub-agent.",
                        ("agent",),
                    ),
                ]
            },
            "action": action,
            "actions": {
                "description": "One action or a list of them.",
                "anyOf": [{"type": "null"}, _ref("action"), {"type": "array", "items": _ref("action")}],
            },
            "transition": _transition(timer=False),
            "timerTransition": _transition(timer=True),
            "state": {"anyOf": [{"type": "null"}, state]},
            "states": {
                "type": ["object", "null"],
                "description": "State id -> state.",
                "propertyNames": {"pattern": _IDENT},
                "additionalProperties": _ref("state"),
            },
        },
    }
