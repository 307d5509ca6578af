"""Choosing a backend: the command-line form, the definition's ``llm:`` section, and construction.

Command-line forms (``parse_backend_option``): ``embedded`` (or ``embedded:PATH.gguf``),
``openai:MODEL``, ``scripted:FILE``. Backends are imported when chosen, so picking the scripted
double never loads the model runtime.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from counterpoint.engine.llm.base import BackendSpec, LLMBackend, LLMError

if TYPE_CHECKING:
    from counterpoint.dsl.model import LLMSettings

PROVIDERS = ("embedded", "openai", "scripted")
_FORMS = "embedded, embedded:PATH.gguf, openai:MODEL or scripted:FILE"


def parse_backend_option(text: str) -> BackendSpec:
    """A spec from ``--llm`` text; raises LLMError(kind="config") with the accepted forms."""
    provider, _, rest = text.strip().partition(":")
    provider = provider.strip().lower()
    rest = rest.strip()
    if provider not in PROVIDERS:
        raise LLMError(f"unknown LLM backend {text!r}: use {_FORMS}", kind="config")
    if provider == "openai" and not rest:
        raise LLMError("openai needs a model name: --llm openai:MODEL (e.g. openai:gpt-4o-mini)", kind="config")
    if provider == "scripted":
        if not rest:
            raise LLMError("scripted needs a script file: --llm scripted:FILE.yaml", kind="config")
        return BackendSpec(provider="scripted", options={"script": rest})
    return BackendSpec(provider=provider, model=rest or None)


def spec_from_settings(settings: LLMSettings | None, overrides: BackendSpec | None = None) -> BackendSpec:
    """The definition's ``llm:`` section, with command-line ``overrides`` winning field by field.

    An override that names another provider replaces the section entirely (a model name meant for
    one provider means nothing to another)."""
    base = BackendSpec()
    if settings is not None:
        provider = (settings.provider or "embedded").lower()
        if provider not in PROVIDERS:
            raise LLMError(f"unknown llm provider {settings.provider!r} in the definition: "
                           f"use one of {', '.join(PROVIDERS)}", kind="config")
        base = BackendSpec(provider=provider, model=settings.model, base_url=settings.base_url,
                           api_key_env=settings.api_key_env, temperature=settings.temperature,
                           max_tokens=settings.max_tokens)
    if overrides is None:
        return base
    if overrides.provider != base.provider:
        return overrides
    return replace(
        base,
        model=overrides.model if overrides.model is not None else base.model,
        base_url=overrides.base_url if overrides.base_url is not None else base.base_url,
        api_key_env=overrides.api_key_env if overrides.api_key_env is not None else base.api_key_env,
        temperature=overrides.temperature if overrides.temperature is not None else base.temperature,
        max_tokens=overrides.max_tokens if overrides.max_tokens is not None else base.max_tokens,
        options={**base.options, **overrides.options},
    )


def make_backend(spec: BackendSpec) -> LLMBackend:
    """Build the backend a spec names; raises LLMError(kind="config") when it cannot."""
    if spec.provider == "embedded":
        from counterpoint.engine.llm.embedded import EmbeddedLLM

        return EmbeddedLLM.from_spec(spec)
    if spec.provider == "openai":
        from counterpoint.engine.llm.openai_compat import OpenAICompatibleLLM

        return OpenAICompatibleLLM.from_spec(spec)
    if spec.provider == "scripted":
        from counterpoint.engine.llm.scripted import ScriptedLLM, ScriptError

        script = spec.options.get("script") or spec.model
        if not script:
            raise LLMError("the scripted backend needs a script file (--llm scripted:FILE.yaml)", kind="config")
        try:
            return ScriptedLLM.from_file(str(script))
        except ScriptError as exc:
            raise LLMError(str(exc), kind="config") from None
    raise LLMError(f"unknown LLM provider {spec.provider!r}: use one of {', '.join(PROVIDERS)}", kind="config")
