"""The YAML syntax (``*.agent.yaml``): read it into the model, print the model back, describe it
as a JSON Schema for editors."""

from counterpoint.dsl.yaml.front import load_yaml
from counterpoint.dsl.yaml.printer import print_yaml
from counterpoint.dsl.yaml.schema import json_schema

__all__ = ["json_schema", "load_yaml", "print_yaml"]
