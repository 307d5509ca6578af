"""Both syntaxes report the same mistake the same way, and convert into each other losslessly.

Each case is one mistake written once in YAML and once in the textual syntax. Checking either
file gives the same set of diagnostic codes, and the case's code is reported where ``¦`` marks
it in that file (each position in its own file: YAML reports a transition at its event key,
the DSL at its ``on``). Every definition shipped in ``agents/`` and ``dsl/std/`` converts to the
other syntax and back to an equal model.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from counterpoint.dsl import Diagnostic, check_file, load_file, load_text, load_yaml, print_text, print_yaml
from counterpoint.dsl.files import STD_DIR

ROOT = Path(__file__).resolve().parent.parent
MARK = "¦"


class Case(NamedTuple):
    id: str
    code: str
    yaml: str
    dsl: str


#: ``tools_mod:ok`` is a handler module written next to the inputs.
CASES = [
    Case(
        "if_condition_unknown_name",
        "E107",
        'agent: a\nvars: {count: 0}\nstates:\n  s: {entry: [{if: "¦cnt > 1", then: {say: hi}}]}\n',
        'agent a\nvar count = 0\nstate s { entry if [¦cnt > 1] { say "hi" } }\n',
    ),
    Case(
        "elif_action_unknown_variable",
        "E107",
        'agent: a\nvars: {n: 0}\nstates:\n  s: {entry: [{if: "n", then: [], elif: [{if: "n", then: {set: {¦m: 1}}}]}]}\n',
        'agent a\nvar n = 0\nstate s { entry if [n] { } elif [n] { ¦set m = 1 } }\n',
    ),
    Case(
        "final_data_unknown_name",
        "E107",
        "agent: a\nstates:\n  s: {on: {go: f}}\n  f: {type: final, data: {x: ¦cnt}}\n",
        "agent a\nstate s { on go -> f }\nfinal f(x = ¦cnt)\n",
    ),
    Case(
        "agent_initial_actions",
        "E004",
        "agent: a\ninitial: ¦{target: s, do: {log: x}}\nstates: {s: {}}\n",
        'agent a\ninitial s ¦/ log "x"\nstate s\n',
    ),
    Case(
        "initial_actions_on_parallel",
        "E104",
        "agent: a\nstates:\n  p:\n    type: parallel\n    initial: {target: x, do: {¦log: hi}}\n    states: {x: {}}\n",
        'agent a\nparallel p {\n    initial x / ¦log "hi"\n    state x\n}\n',
    ),
    Case(
        "compound_with_only_history",
        "E106",
        "agent: a\nstates:\n  ¦p:\n    initial: h\n    states: {h: {type: history}}\n",
        "agent a\n¦state p {\n    initial h\n    history h\n}\n",
    ),
    Case(
        "dup_description",
        "E003",
        "agent: a\ndescription: x\n¦description: y\nstates: {s: {}}\n",
        'agent a\ndescription "x"\n¦description "y"\nstate s\n',
    ),
    Case(
        "dup_llm_setting",
        "E003",
        "agent: a\nllm: {model: a, ¦model: b}\nstates: {s: {}}\n",
        'agent a\nllm { model "a" ¦model "b" }\nstate s\n',
    ),
    Case(
        "dup_param",
        "E003",
        "agent: a\ntools:\n  t:\n    handler: tools_mod:ok\n    params: {x: string, ¦x: string}\nstates: {s: {tools: [t]}}\n",
        "agent a\ntool t(x: string, ¦x: string) = tools_mod:ok\nstate s { tools t }\n",
    ),
    Case(
        "dup_prompt",
        "E003",
        "agent: a\nstates:\n  s: {prompt: a, ¦prompt: b}\n",
        'agent a\nstate s { prompt "a" ¦prompt "b" }\n',
    ),
    Case(
        "dup_call_arg",
        "E003",
        "agent: a\ntools: {t: {handler: tools_mod:ok, params: {a: integer}}}\nstates:\n  s: {tools: [t], entry: {call: {tool: t, args: {a: 1, ¦a: 2}}}}\n",
        "agent a\ntool t(a: integer) = tools_mod:ok\nstate s { tools t entry call t(a = 1, ¦a = 2) }\n",
    ),
    Case(
        "dup_timeout",
        "E003",
        "agent: a\ntools: {t: {handler: tools_mod:ok, timeout: 1s, ¦timeout: 2s}}\nstates: {s: {tools: [t]}}\n",
        "agent a\ntool t() = tools_mod:ok { timeout 1s ¦timeout 2s }\nstate s { tools t }\n",
    ),
    Case(
        "unknown_llm_key",
        "E004",
        "agent: a\nllm: {¦temprature: 1}\nstates: {s: {}}\n",
        "agent a\nllm { ¦temprature 1 }\nstate s\n",
    ),
    Case(
        "unknown_voice_key",
        "E004",
        "agent: a\nvoice: {¦pitch: 1}\nstates: {s: {}}\n",
        "agent a\nvoice { ¦pitch 1 }\nstate s\n",
    ),
    Case(
        "unknown_state_key",
        "E004",
        "agent: a\nstates:\n  s: {¦promt: Hello}\n",
        'agent a\nstate s { ¦promt "Hello" }\n',
    ),
    Case(
        "unknown_nested_state_key",
        "E004",
        "agent: a\nstates:\n  p:\n    type: parallel\n    states: {r: {¦entyr: {say: hi}}}\n",
        'agent a\nparallel p { state r { ¦entyr say "hi" } }\n',
    ),
    Case(
        "unknown_state_key_after_transition",
        "E004",
        "agent: a\nevents: [e]\nstates:\n  s: {on: {e: s}, ¦promt: Hello}\n",
        'agent a\nevent e\nstate s { on e -> s\n ¦promt "Hello" }\n',
    ),
    Case(
        "unknown_tool_key",
        "E004",
        "agent: a\ntools: {t: {handler: tools_mod:ok, ¦timout: 5s}}\nstates: {s: {tools: [t]}}\n",
        "agent a\ntool t() = tools_mod:ok { ¦timout 5s }\nstate s { tools t }\n",
    ),
    Case(
        "unknown_tool_key_inline",
        "E004",
        "agent: a\ntools: {t: {handler: tools_mod:ok, timeout: 1s, ¦delivr: silent}}\nstates: {s: {tools: [t]}}\n",
        "agent a\ntool t() = tools_mod:ok timeout 1s, ¦delivr silent\nstate s { tools t }\n",
    ),
    Case(
        "unknown_agent_key",
        "E004",
        "agent: a\n¦instruction: Be brief.\nstates: {s: {}}\n",
        'agent a\n¦instruction "Be brief."\nstate s\n',
    ),
    Case(
        "temperature_string",
        "E005",
        "agent: a\nllm: {temperature: ¦hot}\nstates: {s: {}}\n",
        'agent a\nllm { temperature ¦"hot" }\nstate s\n',
    ),
    Case(
        "max_tokens_float",
        "E005",
        "agent: a\nllm: {max_tokens: ¦1.5}\nstates: {s: {}}\n",
        "agent a\nllm { max_tokens ¦1.5 }\nstate s\n",
    ),
    Case(
        "speed_string",
        "E005",
        "agent: a\nvoice: {speed: ¦fast}\nstates: {s: {}}\n",
        'agent a\nvoice { speed ¦"fast" }\nstate s\n',
    ),
    Case(
        "enum_null",
        "E005",
        "agent: a\ntools: {t: {handler: tools_mod:ok, params: {a: {type: string, enum: [x, ¦null]}}}}\nstates: {s: {tools: [t]}}\n",
        'agent a\ntool t(a: string in ["x", ¦null]) = tools_mod:ok\nstate s { tools t }\n',
    ),
    Case(
        "enum_not_list",
        "E005",
        "agent: a\ntools: {t: {handler: tools_mod:ok, params: {a: {type: string, enum: ¦1}}}}\nstates: {s: {tools: [t]}}\n",
        "agent a\ntool t(a: string in ¦1) = tools_mod:ok\nstate s { tools t }\n",
    ),
    Case(
        "after_bad_duration",
        "E007",
        "agent: a\nstates:\n  s: {after: {¦5x: s}}\n",
        "agent a\nstate s { after ¦5x -> s }\n",
    ),
    Case(
        "timeout_bad_duration",
        "E007",
        "agent: a\ntools: {t: {handler: tools_mod:ok, timeout: ¦5parsecs}}\nstates: {s: {tools: [t]}}\n",
        "agent a\ntool t() = tools_mod:ok { timeout ¦5parsecs }\nstate s { tools t }\n",
    ),
    Case(
        "send_bad_delay",
        "E007",
        "agent: a\nstates:\n  s: {entry: {send: {event: e, delay: ¦5x}}}\n",
        "agent a\nstate s { entry send e after ¦5x }\n",
    ),
    Case(
        "bad_provider",
        "E008",
        "agent: a\nllm: {provider: ¦foo}\nstates: {s: {}}\n",
        'agent a\nllm { provider ¦"foo" }\nstate s\n',
    ),
    Case(
        "bad_param_type",
        "E008",
        "agent: a\ntools: {t: {handler: tools_mod:ok, params: {a: ¦strng}}}\nstates: {s: {tools: [t]}}\n",
        "agent a\ntool t(a: ¦strng) = tools_mod:ok\nstate s { tools t }\n",
    ),
    Case(
        "null_param_type",
        "E008",
        "agent: a\ntools: {t: {handler: tools_mod:ok, params: {a: ¦'null'}}}\nstates: {s: {tools: [t]}}\n",
        "agent a\ntool t(a: ¦null) = tools_mod:ok\nstate s { tools t }\n",
    ),
    Case(
        "temperature_inf",
        "E008",
        "agent: a\nllm: {temperature: ¦.inf}\nstates: {s: {}}\n",
        "agent a\nllm { temperature ¦1e999 }\nstate s\n",
    ),
    Case(
        "guard_syntax",
        "E011",
        'agent: a\nevents: [e]\nstates:\n  s: {on: {e: {guard: "x > ¦> 1", target: s}}}\n',
        "agent a\nevent e\nstate s { on e [x > ¦> 1] -> s }\n",
    ),
    Case(
        "guard_single_equals",
        "E011",
        'agent: a\nevents: [e]\nvars: {x: 0}\nstates:\n  s: {on: {e: {guard: "x ¦= 1", target: s}}}\n',
        "agent a\nevent e\nvar x = 0\nstate s { on e [x ¦= 1] -> s }\n",
    ),
    Case(
        "guard_empty",
        "E011",
        'agent: a\nevents: [e]\nstates:\n  s: {on: {e: {guard: "¦", target: s}}}\n',
        "agent a\nevent e\nstate s { on e [¦] -> s }\n",
    ),
    Case(
        "set_unfinished",
        "E011",
        'agent: a\nvars: {x: 0}\nstates:\n  s: {entry: {set: {x: "1 +¦"}}}\n',
        "agent a\nvar x = 0\nstate s { entry set x = 1 +¦ }\n",
    ),
    Case(
        "call_arg_syntax",
        "E011",
        'agent: a\ntools: {t: {handler: tools_mod:ok, params: {a: integer}}}\nstates:\n  s: {tools: [t], entry: {call: {tool: t, args: {a: "(1 ¦]"}}}}\n',
        "agent a\ntool t(a: integer) = tools_mod:ok\nstate s { tools t entry call t(a = (1 ¦]) }\n",
    ),
    Case(
        "send_data_syntax",
        "E011",
        'agent: a\nstates:\n  s: {entry: {send: {event: e, data: {n: "¦* 2"}}}}\n',
        "agent a\nstate s { entry send e(n = ¦* 2) }\n",
    ),
    Case(
        "raise_data_string",
        "E011",
        'agent: a\nstates:\n  s: {entry: {raise: {event: e, data: {n: "x == ¦\'a"}}}}\n',
        "agent a\nstate s { entry raise e(n = x == ¦'a) }\n",
    ),
    Case(
        "template",
        "E011",
        'agent: a\nstates:\n  s: {entry: {¦say: "Hi {name"}}\n',
        'agent a\nstate s { entry ¦say "Hi {name" }\n',
    ),
    Case(
        "state_name_dash",
        "E115",
        "agent: a\nstates:\n  ¦ask-name: {}\n",
        "agent a\nstate ¦ask-name\n",
    ),
    Case(
        "tool_name_dash",
        "E115",
        "agent: a\ntools: {¦find-table: {handler: tools_mod:ok}}\nstates: {s: {}}\n",
        "agent a\ntool ¦find-table() = tools_mod:ok\nstate s\n",
    ),
    Case(
        "var_name_dash",
        "E115",
        "agent: a\nvars: {¦my-var: 1}\nstates: {s: {}}\n",
        "agent a\nvar ¦my-var = 1\nstate s\n",
    ),
    Case(
        "param_name_digit",
        "E115",
        "agent: a\ntools: {t: {handler: tools_mod:ok, params: {¦1a: string}}}\nstates: {s: {tools: [t]}}\n",
        "agent a\ntool t(¦1a: string) = tools_mod:ok\nstate s { tools t }\n",
    ),
    Case(
        "call_id_dash",
        "E115",
        "agent: a\ntools: {t: {handler: tools_mod:ok}}\nstates:\n  s: {tools: [t], entry: {call: {tool: t, id: ¦c-1}}}\n",
        "agent a\ntool t() = tools_mod:ok\nstate s { tools t entry call t() as ¦c-1 }\n",
    ),
    Case(
        "send_id_dash",
        "E115",
        "agent: a\nstates:\n  s: {entry: {send: {event: e, id: ¦r-1}}}\n",
        "agent a\nstate s { entry send e as ¦r-1 }\n",
    ),
    Case(
        "raise_star",
        "E115",
        "agent: a\nstates:\n  s: {entry: {raise: ¦user.*}}\n",
        "agent a\nstate s { entry raise ¦user.* }\n",
    ),
    Case(
        "pattern_star_inside_a_part",
        "E115",
        "agent: a\nstates:\n  s: {on: {¦user.x*.said: s}}\n",
        "agent a\nstate s { on ¦user.x*.said -> s }\n",
    ),
    Case(
        "pattern_star_suffix",
        "E115",
        "agent: a\npriorities: {¦user*: 1}\nstates: {s: {}}\n",
        "agent a\npriority ¦user* = 1\nstate s\n",
    ),
    Case(
        "agent_name_digit",
        "E115",
        "agent: ¦1abc\nstates: {s: {}}\n",
        "agent ¦1abc\nstate s\n",
    ),
    Case(
        "allow_dash",
        "E115",
        "agent: a\nallow: [¦my-pkg]\nstates: {s: {}}\n",
        "agent a\nallow ¦my-pkg\nstate s\n",
    ),
    Case(
        "handler_no_colon",
        "E115",
        "agent: a\ntools: {t: {handler: ¦os.system}}\nstates: {s: {tools: [t]}}\n",
        'agent a\ntool t() = ¦"os.system"\nstate s { tools t }\n',
    ),
    Case(
        "target_dash",
        "E115",
        "agent: a\nstates:\n  s: {on: {e: ¦x-y}}\n",
        "agent a\nstate s { on e -> ¦x-y }\n",
    ),
    Case(
        "missing_agent",
        "E006",
        "¦states: {s: {}}\n",
        "¦state s\n",
    ),
    Case(
        "unknown_target",
        "E101",
        "agent: a\nevents: [e]\nstates:\n  s: {on: {¦e: nowhere}}\n",
        "agent a\nevent e\nstate s { ¦on e -> nowhere }\n",
    ),
    Case(
        "dup_state",
        "E102",
        "agent: a\ninitial: s\nstates:\n  s:\n    initial: a\n    states: {a: {}, b: {states: {¦a: {}}, initial: a}}\n",
        "agent a\ninitial s\nstate s { initial a state a state b { initial a ¦state a } }\n",
    ),
    Case(
        "no_initial",
        "E103",
        "agent: a\nstates:\n  ¦s: {states: {a: {}}}\n",
        "agent a\n¦state s { state a }\n",
    ),
    Case(
        "final_transitions",
        "E105",
        "agent: a\nevents: [e]\ninitial: s\nstates:\n  s: {on: {e: f}}\n  f: {type: final, on: {¦e: s}}\n",
        "agent a\nevent e\ninitial s\nstate s { on e -> f }\nfinal f { ¦on e -> s }\n",
    ),
    Case(
        "unknown_var",
        "E107",
        'agent: a\nevents: [e]\nstates:\n  s: {on: {e: {guard: "¦cnt > 1", target: s}}}\n',
        "agent a\nevent e\nstate s { on e [¦cnt > 1] -> s }\n",
    ),
    Case(
        "undeclared_tool",
        "E108",
        "agent: a\nstates:\n  s: {tools: [¦nope]}\n",
        "agent a\nstate s { tools ¦nope }\n",
    ),
    Case(
        "conflict",
        "E111",
        "agent: a\nevents: [e]\ninitial: s\nstates:\n  s: {on: {e: [s, ¦t]}}\n  t: {}\n",
        "agent a\nevent e\ninitial s\nstate s { on e -> s ¦on e -> t }\nstate t\n",
    ),
    Case(
        "unknown_function",
        "E116",
        'agent: a\nevents: [e]\nstates:\n  s: {on: {e: {guard: "¦foo(1)", target: s}}}\n',
        "agent a\nevent e\nstate s { on e [¦foo(1)] -> s }\n",
    ),
    Case(
        "unreachable",
        "W201",
        "agent: a\ninitial: s\nstates:\n  s: {}\n  ¦t: {}\n",
        "agent a\ninitial s\nstate s\n¦state t\n",
    ),
    Case(
        "never_produced",
        "W202",
        "agent: a\nstates:\n  s: {on: {¦e: s}}\n",
        "agent a\nstate s { ¦on e -> s }\n",
    ),
]


def _marked(text: str) -> tuple[str, tuple[int, int]]:
    """The text without its marker, and the marker's line and column (1-based)."""
    assert text.count(MARK) == 1, text
    i = text.index(MARK)
    before = text[:i]
    return text.replace(MARK, ""), (before.count("\n") + 1, i - (before.rfind("\n") + 1) + 1)


def _check(tmp_path: Path, name: str, marked: str) -> tuple[list[Diagnostic], tuple[int, int]]:
    (tmp_path / "tools_mod.py").write_text("def ok():\n    return 1\n", encoding="utf-8")
    text, where = _marked(marked)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    _, diags = check_file(path)
    return diags, where


def test_enough_cases() -> None:
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_mistake_same_diagnostics(case: Case, tmp_path: Path) -> None:
    yaml_diags, yaml_at = _check(tmp_path, "m.agent.yaml", case.yaml)
    dsl_diags, dsl_at = _check(tmp_path, "m.agent", case.dsl)
    shown = [d.format() for d in (*yaml_diags, *dsl_diags)]
    assert {d.code for d in yaml_diags} == {d.code for d in dsl_diags}, shown
    for diags, at in ((yaml_diags, yaml_at), (dsl_diags, dsl_at)):
        assert [case.code, at] in [[d.code, (d.span.line, d.span.col)] for d in diags], shown


@pytest.mark.parametrize("case", [c for c in CASES if c.code == "E011"], ids=lambda c: c.id)
def test_expression_errors_are_worded_alike(case: Case, tmp_path: Path) -> None:
    """The DSL re-reads a broken expression with the expression parser: same words as YAML."""
    yaml_diags, _ = _check(tmp_path, "m.agent.yaml", case.yaml)
    dsl_diags, _ = _check(tmp_path, "m.agent", case.dsl)
    assert [d.message for d in yaml_diags if d.code == "E011"] == [
        d.message for d in dsl_diags if d.code == "E011"
    ]


def test_unknown_keys_are_worded_alike(tmp_path: Path) -> None:
    """An unknown statement in the DSL is reported as YAML reports an unknown key."""
    for case in (c for c in CASES if c.id in ("unknown_state_key", "unknown_tool_key", "unknown_agent_key")):
        yaml_diags, _ = _check(tmp_path, "m.agent.yaml", case.yaml)
        dsl_diags, _ = _check(tmp_path, "m.agent", case.dsl)
        assert [(d.message, d.hint) for d in yaml_diags if d.code == "E004"] == [
            (d.message, d.hint) for d in dsl_diags if d.code == "E004"
        ]


def test_keywords_are_names_in_the_textual_syntax() -> None:
    """Keywords are contextual, so every YAML model can be printed in the textual syntax."""
    text = "agent a\ninitial state\nstate state { on cancel -> log / cancel log }\nstate log\n"
    agent, diags = load_text(text, "k.agent")
    assert diags == [] and agent is not None
    assert [s.id for s in agent.states] == ["state", "log"]
    again, _ = load_yaml(print_yaml(agent), "k.agent.yaml")
    assert again == agent


def test_numbers_as_text_settings() -> None:
    """As in YAML (``model: 4``), a number where a text setting is expected is taken as written."""
    agent, diags = load_text("agent a\nllm { model 4 }\n", "n.agent")
    assert diags == [] and agent is not None and agent.llm is not None and agent.llm.model == "4"
    assert load_yaml("agent: a\nllm: {model: 4}\n", "n.agent.yaml")[0] == agent


# --------------------------------------------------------------------------- conversion


def _definitions() -> list[Path]:
    found = [
        *(ROOT / "agents").rglob("*.agent.yaml"),
        *(ROOT / "agents").rglob("*.agent"),
        *STD_DIR.glob("*.agent*"),
    ]
    return sorted(p for p in found if not p.name.endswith(".test.yaml"))


def test_definitions_found() -> None:
    names = [p.name for p in _definitions()]
    assert "dialog.agent.yaml" in names and any(n.endswith(".agent") for n in names)


@pytest.mark.parametrize("path", _definitions(), ids=lambda p: p.name)
def test_definition_converts_both_ways(path: Path) -> None:
    agent, diags = load_file(path)  # unresolved: includes stay includes
    assert agent is not None and not [d for d in diags if d.is_error], [d.format() for d in diags]
    as_text, text_diags = load_text(print_text(agent), "converted.agent")
    as_yaml, yaml_diags = load_yaml(print_yaml(agent), "converted.agent.yaml")
    assert text_diags == [] and yaml_diags == []
    assert as_text == agent and as_yaml == agent
    # and across: YAML -> model -> DSL -> model, DSL -> model -> YAML -> model
    assert load_text(print_text(as_yaml), "again.agent")[0] == agent
    assert load_yaml(print_yaml(as_text), "again.agent.yaml")[0] == agent
