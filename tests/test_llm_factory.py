"""Choosing a backend: the --llm forms, the definition's llm: section, and construction."""

from __future__ import annotations

from pathlib import Path

import pytest

from counterpoint.dsl.model import LLMSettings
from counterpoint.engine.llm.base import BackendSpec, LLMError
from counterpoint.engine.llm.embedded import EmbeddedLLM
from counterpoint.engine.llm.factory import make_backend, parse_backend_option, spec_from_settings
from counterpoint.engine.llm.openai_compat import OpenAICompatibleLLM
from counterpoint.engine.llm.scripted import ScriptedLLM


@pytest.mark.parametrize(("text", "spec"), [
    ("embedded", BackendSpec()),
    ("embedded:/models/other.gguf", BackendSpec(model="/models/other.gguf")),
    ("openai:gpt-4o-mini", BackendSpec(provider="openai", model="gpt-4o-mini")),
    (" OpenAI:qwen2.5:7b ", BackendSpec(provider="openai", model="qwen2.5:7b")),
    ("scripted:turns.yaml", BackendSpec(provider="scripted", options={"script": "turns.yaml"})),
])
def test_the_command_line_forms(text: str, spec: BackendSpec) -> None:
    assert parse_backend_option(text) == spec


@pytest.mark.parametrize(("text", "message"), [
    ("gpt4", "unknown LLM backend 'gpt4': use embedded, embedded:PATH.gguf, openai:MODEL or scripted:FILE"),
    ("anthropic:claude", "unknown LLM backend 'anthropic:claude'"),
    ("openai", "openai needs a model name: --llm openai:MODEL"),
    ("scripted:", "scripted needs a script file: --llm scripted:FILE.yaml"),
])
def test_bad_command_line_forms_say_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(LLMError) as info:
        parse_backend_option(text)
    assert message in str(info.value) and info.value.kind == "config"


def test_the_definition_section_becomes_a_spec_and_flags_override_it() -> None:
    settings = LLMSettings(provider="openai", model="gpt-4o-mini", base_url="http://127.0.0.1:9/v1",
                           api_key_env="SHOP_KEY", temperature=0.3, max_tokens=200)
    spec = spec_from_settings(settings)
    assert spec == BackendSpec(provider="openai", model="gpt-4o-mini", base_url="http://127.0.0.1:9/v1",
                               api_key_env="SHOP_KEY", temperature=0.3, max_tokens=200)
    same = spec_from_settings(settings, BackendSpec(provider="openai", model="gpt-4o", temperature=0.0))
    assert (same.model, same.temperature, same.base_url, same.api_key_env, same.max_tokens) == \
        ("gpt-4o", 0.0, "http://127.0.0.1:9/v1", "SHOP_KEY", 200)
    other = spec_from_settings(settings, BackendSpec(provider="embedded"))
    assert other == BackendSpec(provider="embedded")  # nothing meant for openai leaks into it
    assert spec_from_settings(None) == BackendSpec()
    assert spec_from_settings(LLMSettings(temperature=0.5)) == BackendSpec(temperature=0.5)


def test_an_unknown_provider_in_the_definition_is_a_clear_error() -> None:
    with pytest.raises(LLMError, match="unknown llm provider 'gemini' in the definition: use one of "
                                       "embedded, openai, scripted"):
        spec_from_settings(LLMSettings(provider="gemini"))


def test_make_backend_builds_each_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "turns.yaml"
    script.write_text("- Hello\n- {calls: [{tool: ping}]}\n", encoding="utf-8")
    scripted = make_backend(parse_backend_option(f"scripted:{script}"))
    assert isinstance(scripted, ScriptedLLM) and scripted.remaining == 2
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    remote = make_backend(parse_backend_option("openai:gpt-4o-mini"))
    assert isinstance(remote, OpenAICompatibleLLM) and remote.name == "openai:gpt-4o-mini"
    local = make_backend(BackendSpec(temperature=0.2, options={"threads": 2}))
    assert isinstance(local, EmbeddedLLM) and (local.temperature, local.threads) == (0.2, 2)
    assert local.name == "embedded:SmolLM2-135M-Instruct"


def test_make_backend_reports_what_it_cannot_build(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {say: 1}\n", encoding="utf-8")
    with pytest.raises(LLMError, match="bad.yaml: reply 1: 'say' must be text"):
        make_backend(BackendSpec(provider="scripted", options={"script": str(bad)}))
    with pytest.raises(LLMError, match="needs a script file"):
        make_backend(BackendSpec(provider="scripted"))
    with pytest.raises(LLMError, match="unknown LLM provider 'mystery'"):
        make_backend(BackendSpec(provider="mystery"))
