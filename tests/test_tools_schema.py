"""Tool declarations as JSON Schema: one schema for validating arguments and for the model."""

from __future__ import annotations

import jsonschema

from counterpoint.dsl.model import Param, Tool
from counterpoint.engine.tools import openai_tool, parameters_schema

FIND = Tool(
    "find_table",
    "shop:find_table",
    params=(
        Param("cuisine"),
        Param("party", "integer", "number of guests"),
        Param("time", required=False),
        Param("size", enum=("small", "large")),
        Param("tags", "array", required=False),
        Param("vip", "boolean", required=False),
    ),
    description="Search for free tables.",
)


def test_parameters_schema() -> None:
    assert parameters_schema(FIND) == {
        "type": "object",
        "properties": {
            "cuisine": {"type": "string"},
            "party": {"type": "integer", "description": "number of guests"},
            "time": {"type": "string"},
            "size": {"type": "string", "enum": ["small", "large"]},
            "tags": {"type": "array", "items": {}},
            "vip": {"type": "boolean"},
        },
        "required": ["cuisine", "party", "size"],
        "additionalProperties": False,
    }


def test_schema_is_valid_and_validates() -> None:
    schema = parameters_schema(FIND)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"cuisine": "thai", "party": 2, "size": "small", "tags": ["quiet"]})
    assert not validator.is_valid({"cuisine": "thai", "party": 2, "size": "medium"})
    assert not validator.is_valid({"cuisine": "thai", "party": 2, "size": "small", "extra": 1})
    assert not validator.is_valid({"cuisine": "thai", "party": True, "size": "small"})


def test_openai_tool() -> None:
    assert openai_tool(FIND) == {
        "type": "function",
        "function": {"name": "find_table", "description": "Search for free tables.",
                     "parameters": parameters_schema(FIND)},
    }


def test_tool_without_params_or_description() -> None:
    tool = Tool("ping", "shop:ping")
    assert openai_tool(tool)["function"] == {
        "name": "ping",
        "description": "",
        "parameters": {"type": "object", "properties": {}, "required": [], "additionalProperties": False},
    }
