"""Property: printing a model and reading it back gives the same model, in both syntaxes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from counterpoint.dsl import load_yaml, print_yaml
from helpers.models import agents

pytestmark = pytest.mark.slow  # random models through both printers

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(agents())
def test_yaml_round_trip(agent):
    text = print_yaml(agent)
    loaded, diags = load_yaml(text, "printed.agent.yaml")
    assert diags == [], text
    assert loaded == agent, text
    assert print_yaml(loaded) == text  # printing is stable


@SETTINGS
@given(agents())
def test_text_round_trip(agent):
    from counterpoint.dsl.text import front as text_front
    from counterpoint.dsl.text import printer as text_printer
    text = text_printer.print_text(agent)
    loaded, diags = text_front.load_text(text, "printed.agent")
    assert [d for d in diags if d.is_error] == [], text
    assert loaded == agent, text


@SETTINGS
@given(agents())
def test_yaml_to_text_to_yaml(agent):
    from counterpoint.dsl.text import front as text_front
    from counterpoint.dsl.text import printer as text_printer
    yaml_text = print_yaml(agent)
    from_yaml, _ = load_yaml(yaml_text, "a.agent.yaml")
    from_text, _ = text_front.load_text(text_printer.print_text(from_yaml), "a.agent")
    assert print_yaml(from_text) == yaml_text
