"""Fine-tuning examples from recordings: each model turn as the model saw it, and its answer.

The chat format used by common fine-tuning services and libraries: one JSON object per
line, ``{"messages": [...], "tools": [...]}``, where the messages are the request exactly as it
was sent (the system prompt with the current time, the ledger with time stamps, running
calls and late results) followed by the assistant's answer: its text and its tool calls.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from counterpoint.engine.runtime.recording import Recording


def chat_examples(recording: Recording, *, include_cut: bool = False) -> Iterator[str]:
    """One JSON line per model turn; cancelled and failed turns only with ``include_cut``."""
    for turn in recording.turns():
        complete = turn.ended is not None and turn.error is None and not turn.cancelled
        if not complete and not include_cut:
            continue
        answer: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
        calls = [{"id": c["id"] or f"call_{turn.number}_{k}", "type": "function",
                  "function": {"name": c["name"], "arguments": c["arguments"]}}
                 for k, c in enumerate(turn.calls, 1)]
        if calls:
            answer["tool_calls"] = calls
        if answer["content"] is None and not calls:
            continue  # an empty answer teaches nothing
        example: dict[str, Any] = {"messages": [*turn.messages, answer]}
        if turn.tools:
            example["tools"] = turn.tools
        yield json.dumps(example, ensure_ascii=False)
