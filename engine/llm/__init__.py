"""LLM backends behind one streaming, cancellable interface (:mod:`.base`).

``make_backend(spec)`` builds the backend a :class:`BackendSpec` names: :class:`EmbeddedLLM`
(the local model), :class:`OpenAICompatibleLLM` (any OpenAI-compatible endpoint) or
:class:`ScriptedLLM` (the test double). Every backend takes an :class:`LLMRequest` and fails
with :class:`LLMError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from counterpoint.engine.llm.base import BackendSpec, LLMBackend, LLMError, LLMRequest
from counterpoint.engine.llm.embedded import EmbeddedLLM
from counterpoint.engine.llm.factory import make_backend
from counterpoint.engine.llm.scripted import ScriptedLLM

if TYPE_CHECKING:
    from counterpoint.engine.llm.openai_compat import OpenAICompatibleLLM

__all__ = [
    "BackendSpec", "EmbeddedLLM", "LLMBackend", "LLMError", "LLMRequest", "OpenAICompatibleLLM", "ScriptedLLM",
    "make_backend",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    # Loaded on first use: its client library takes over a second to import, and the agent
    # runtime, the scenario runner and the command line import this package without needing it.
    if name == "OpenAICompatibleLLM":
        from counterpoint.engine.llm.openai_compat import OpenAICompatibleLLM

        return OpenAICompatibleLLM
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
