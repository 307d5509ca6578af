"""The agent session: performs a chart's effects with a real model, real tools and a ledger.

An :class:`AgentSession` is the effect handler that makes an agent run. The chart decides;
the session performs and reports back as events:

- ``say`` and the text of LLM turns go to a :class:`~.speaker.Speaker`
  (``agent.speech.started``, then ``agent.said`` with only the words delivered);
- ``respond`` starts an LLM turn: the prompt is rendered from the ledger and the active
  states (:mod:`.prompt`), the backend streams (``llm.started``, ``llm.done`` or
  ``llm.error``), and each tool call the model makes is checked against the tools the active
  states allow before it runs;
- ``call``/``cancel`` run and stop tools in the background (:mod:`counterpoint.engine.tools`);
- ``spawn``/``fork`` start sub-agents (:mod:`.subagents`).

Priorities (docs/runtime.md): while the agent has the floor (a turn runs or it speaks), an
event more urgent than the turn's level (``llm.turn``) cancels the turn and its speech at
once and is handled next; a less urgent one is held and handled when the floor is free.
Results are delivered by their tool's ``deliver``: ``interrupt`` starts a new turn at once,
``when_idle`` as soon as the session is idle (nobody speaks and no turn runs), ``silent``
only goes into the ledger.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

import trio

from counterpoint.dsl.model import TOOL_CALL_ENDINGS
from counterpoint.engine.agent import builtins
from counterpoint.engine.agent.ledger import (
    AgentTurn,
    Ledger,
    Note,
    Origin,
    Status,
    SubAgentOutcome,
    TimerFired,
    ToolCall,
    ToolOutcome,
    ToolProgress,
    UserTurn,
)
from counterpoint.engine.agent.prompt import PromptBudget, PromptContext, render_prompt
from counterpoint.engine.agent.speaker import Speaker, TextSpeaker, Utterance
from counterpoint.engine.core.chart import Chart
from counterpoint.engine.core.effects import (
    CancelTool,
    Effect,
    LogMessage,
    SpawnAgent,
    Speak,
    StartLLMTurn,
    StartTool,
)
from counterpoint.engine.core.events import TURN_PRIORITY_NAME, Event
from counterpoint.engine.llm.base import (
    LLMBackend,
    LLMError,
    LLMRequest,
    TextDelta,
    ToolCallRequest,
    ToolSchema,
)
from counterpoint.engine.runtime.interpreter import EffectHandler
from counterpoint.engine.tools.binding import BoundTool
from counterpoint.engine.tools.runner import ToolRunner
from counterpoint.engine.tools.schema import openai_tool

#: A time stamp as the prompt writes them ("[14:02:03] "), which models sometimes copy.
_STAMP = re.compile(r"\[\d{1,2}:\d{2}(?::\d{2})?\]\s*")
_STAMP_LOOKAHEAD = 11


class Spawner(Protocol):
    """Starts sub-agents for ``spawn``/``fork`` effects (:class:`.subagents.SubAgents`)."""

    def __call__(self, parent: AgentSession, effect: SpawnAgent) -> None: ...
    def cancel(self, target: str) -> bool: ...
    def cancel_all(self) -> None: ...
    def count(self) -> int: ...


@dataclass(frozen=True)
class SessionLimits:
    """Documented limits of one session (docs/runtime.md)."""

    max_concurrent_calls: int = 32
    max_subagents: int = 8  # running at once, per session
    max_depth: int = 3  # spawn/fork nesting


@dataclass
class _Turn:
    """An LLM turn in progress."""

    extra: str | None
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    text: str = ""
    utterance: Utterance | None = None
    refused: list[str] = field(default_factory=list)
    done: bool = False
    head: str = ""  # the first characters, held back until a copied time stamp can be seen


@dataclass
class _Speech:
    """A ``say`` being spoken."""

    text: str
    utterance: Utterance
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)


class AgentSession(EffectHandler):
    """Performs a chart's effects; give it to an :class:`~counterpoint.engine.runtime.Interpreter`.

    ``tools`` are the definition's bound tool handlers; ``speaker`` receives the agent's words
    (default: nowhere, delivered instantly); ``started_at`` is the wall-clock time of session
    second 0 (default: now), which prompts show as the current time.
    """

    def __init__(
        self,
        chart: Chart,
        backend: LLMBackend,
        *,
        tools: Mapping[str, BoundTool] | None = None,
        speaker: Speaker | None = None,
        ledger: Ledger | None = None,
        started_at: datetime | None = None,
        budget: PromptBudget | None = None,
        limits: SessionLimits | None = None,
        spawner: Spawner | None = None,
        depth: int = 0,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> None:
        self.chart = chart
        self.backend = backend
        self.ledger = ledger if ledger is not None else Ledger()
        self.speaker: Speaker = speaker or TextSpeaker()
        self.started_at = started_at or datetime.now(UTC)
        self.budget = budget or PromptBudget()
        self.limits = limits or SessionLimits()
        self.depth = depth
        self.temperature = temperature if temperature is not None else _llm(chart, "temperature")
        self.max_tokens = max_tokens if max_tokens is not None else _llm(chart, "max_tokens")
        self.tools: dict[str, BoundTool] = dict(tools or {})
        self.runner = ToolRunner(self.tools, self._tool_event, max_concurrent=self.limits.max_concurrent_calls,
                                 now=self._now)
        self.turn_priority = chart.priority_of(TURN_PRIORITY_NAME)
        self._spawner = spawner
        self._t0: float | None = None
        self._turn: _Turn | None = None
        self._speech: _Speech | None = None
        self._user_speaking = False
        self._own = False  # True while the session queues the events of its own turn or speech
        self._own_seqs: set[int] = set()
        self._due: list[str] = []  # when_idle deliveries waiting for the floor
        self._allowed: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._call_count = 0
        self._resumed_at: float | None = None
        self.turns = 0

    # ------------------------------------------------------------------ time and state

    def _now(self) -> float:
        """Session seconds (trio's clock, from the first instant the session ran)."""
        now = trio.current_time()
        if self._t0 is None:
            self._t0 = now - (self._resumed_at or 0.0)  # a resumed session's clock goes on
        return now - self._t0

    def session_time(self) -> float:
        """Seconds since the session's first macrostep (a resumed session's clock goes on)."""
        return self._now()

    def subagents_running(self) -> int:
        return self._spawner.count() if self._spawner is not None else 0

    @property
    def busy(self) -> bool:
        """The agent has the floor: a turn runs or it speaks."""
        return self._turn is not None or self._speech is not None

    @property
    def idle(self) -> bool:
        """Nobody speaks and no turn runs: the one definition of idle (docs/runtime.md)."""
        return not self.busy and not self._user_speaking

    def _send(self, name: str, data: Mapping[str, Any], *, own: bool = False) -> None:
        """Queue an event; ``own`` events report the agent's own turn or speech, so they are
        neither held nor allowed to preempt that turn."""
        assert self.interpreter is not None
        outer, self._own = self._own, own or self._own
        try:
            event = self.interpreter.send(name, dict(data))
        finally:
            self._own = outer
        if own or outer:
            self._own_seqs.add(event.seq)

    def allowed_tools(self) -> tuple[str, ...]:
        """Tools the active states allow (each state's ``tools`` plus its ancestors'), in declaration order."""
        assert self.interpreter is not None
        config = self.interpreter.configuration
        cached = self._allowed.get(config)
        if cached is None:
            names = {t for sid in config for t in self.chart.state(sid).tools}
            cached = tuple(t for t in self.chart.tools if t in names)
            if len(self._allowed) < 4096:
                self._allowed[config] = cached
        return cached

    def _owner_of(self, tool: str) -> str:
        """The innermost active state that allows ``tool``: it owns the model's call (on_exit)."""
        assert self.interpreter is not None
        owner = self.chart.ids[0]
        for sid in self.interpreter.configuration:
            if tool in self.chart.state(sid).tools:
                owner = sid
        return owner

    # ------------------------------------------------------------------ queue hooks: priorities

    def event_queued(self, event: Event) -> None:
        if self._own or not self.busy:
            return
        if event.priority < self.turn_priority:
            self._interrupt(f"preempted by {event.name}")
            if event.name.startswith("user."):
                self._barge_in()
        elif self._delivery_of(event.name) == "interrupt":
            self._interrupt(f"a result arrived: {event.name}")

    def hold(self, event: Event) -> bool:
        if event.seq in self._own_seqs:
            self._own_seqs.discard(event.seq)
            return False
        return (self.busy and event.priority > self.turn_priority
                and self._delivery_of(event.name) != "interrupt")

    async def macrostep_done(self, event: Event | None, effects: Sequence[Effect]) -> None:
        self._now()  # session second 0 is the first macrostep
        if event is not None:
            self._observe(event, effects)
        self._cancel_left_behind()
        self._maybe_deliver()

    def _observe(self, event: Event, effects: Sequence[Effect]) -> None:
        name, data, t = event.name, event.data, self._now()  # the ledger is in processing order
        if name == "user.said":
            text = data.get("text")
            if isinstance(text, str) and text:
                self.ledger.append(UserTurn(t, text))
        elif name == "user.speech.started":
            self._user_speaking = True
            self._barge_in()
        elif name == "user.speech.stopped":
            self._user_speaking = False
        elif name in self.chart.timer_of_event:
            owner = self.chart.ids[self.chart.timer_of_event[name]]
            self.ledger.append(TimerFired(t, owner, name))
        delivery = self._delivery_of(name)
        if delivery is None or delivery == "silent":
            return
        if any(isinstance(e, (StartLLMTurn, Speak)) for e in effects):
            return  # the chart answered the result itself
        if delivery == "interrupt":
            self._start_turn(None)  # replaces (cancels) any turn in progress
        else:
            self._due.append(name)

    def _delivery_of(self, name: str) -> str | None:
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "tool" and parts[2] in TOOL_CALL_ENDINGS:
            if parts[2] == "cancelled":
                return None
            tool = self.chart.tools.get(parts[1])
            return tool.deliver if tool is not None else None
        if len(parts) == 3 and parts[0] == "agent" and parts[2] in ("done", "error"):
            return "when_idle"
        return None

    def _barge_in(self) -> None:
        """The user started talking: calls declared ``on_interrupt: cancel`` stop."""
        self.runner.cancel_if(lambda c: self._decl(c.tool, "on_interrupt") == "cancel", "the user interrupted")

    def _decl(self, tool: str, attr: str) -> str | None:
        decl = self.chart.tools.get(tool)
        return getattr(decl, attr) if decl is not None else None

    def _cancel_left_behind(self) -> None:
        """Model calls whose owning state was exited stop when their tool says ``on_exit: cancel``.

        (Calls started by chart actions are cancelled by the core itself, as CancelTool effects.)
        """
        assert self.interpreter is not None
        interp = self.interpreter
        self.runner.cancel_if(
            lambda c: (c.origin == "model" and c.state is not None and self._decl(c.tool, "on_exit") == "cancel"
                       and not interp.active(c.state)),
            "its state was exited",
        )

    def _maybe_deliver(self) -> None:
        if self.idle and self.interpreter is not None and not self.interpreter.finished:
            self.interpreter.release_held()
            if self._due:
                self._due.clear()
                self._start_turn(None)

    # ------------------------------------------------------------------ effects

    def start_llm_turn(self, effect: StartLLMTurn) -> None:
        self._due.clear()  # this turn sees every result that is in the ledger
        self._start_turn(effect.prompt)

    def speak(self, effect: Speak) -> None:
        assert self.interpreter is not None
        if self._speech is not None:
            self._stop_speech("replaced by another say")
        utterance = self.speaker.begin()
        speech = _Speech(effect.text, utterance)
        self._speech = speech
        self._send("agent.speech.started", {"text": effect.text}, own=True)
        utterance.feed(effect.text)
        self.interpreter.nursery.start_soon(self._play, speech)

    async def _play(self, speech: _Speech) -> None:
        with speech.scope:
            text = await speech.utterance.finish()
            if self._speech is speech:
                self._speech = None
                self.ledger.append(AgentTurn(self._now(), text, False))
                self._send("agent.said", {"text": text, "interrupted": False}, own=True)

    def start_tool(self, effect: StartTool) -> None:
        assert self.interpreter is not None
        self._own = True  # tool.<name>.started reports the chart's own action: never held
        try:
            self.runner.start(self.interpreter.nursery, call_id=effect.call_id, tool=effect.tool,
                              args=dict(effect.args), state=effect.state, origin="chart")
        finally:
            self._own = False

    def cancel_tool(self, effect: CancelTool) -> None:
        """``cancel`` names a call id, a tool (all its calls) or a sub-agent id."""
        if self._spawner is None or not self._spawner.cancel(effect.target):
            self.runner.cancel(effect.target, "cancelled by the chart")

    def log_message(self, effect: LogMessage) -> None:
        self.ledger.append(Note(self._now(), effect.text))

    def spawn_agent(self, effect: SpawnAgent) -> None:
        if self._spawner is None:
            self.subagent_outcome(effect.id, "error", None, "this session cannot start sub-agents", self._now())
        else:
            self._spawner(self, effect)

    # ------------------------------------------------------------------ interruption

    def _interrupt(self, reason: str) -> None:
        """Cancel the turn in progress and stop speaking; the ledger keeps only what was delivered."""
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.scope.cancel()
            self._send("llm.cancelled", {"reason": reason}, own=True)
            if turn.utterance is not None:
                self._end_interrupted(turn.utterance.interrupt(), turn.text, cut=not turn.done)
        if self._speech is not None:
            self._stop_speech(reason)

    def _stop_speech(self, reason: str) -> None:
        speech, self._speech = self._speech, None
        if speech is not None:
            speech.scope.cancel()
            self._end_interrupted(speech.utterance.interrupt(), speech.text)

    def _end_interrupted(self, delivered: str, planned: str, *, cut: bool = False) -> None:
        """``cut``: the turn was stopped before the model finished, so more was coming."""
        interrupted = cut or delivered != planned
        self.ledger.append(AgentTurn(self._now(), delivered, interrupted))
        # "stopped": the speech was ended by a preemption, even when every word had been played
        self._send("agent.said", {"text": delivered, "interrupted": interrupted, "stopped": True}, own=True)

    # ------------------------------------------------------------------ LLM turns

    def _start_turn(self, extra: str | None) -> None:
        assert self.interpreter is not None
        self._interrupt("replaced by a new turn")
        turn = _Turn(extra)
        self._turn = turn
        self.turns += 1
        self.interpreter.nursery.start_soon(self._run_turn, turn)

    def request(self, extra: str | None = None) -> LLMRequest:
        """The request a turn started now would send: the rendered prompt and the allowed tools."""
        assert self.interpreter is not None
        config = self.interpreter.configuration
        prompts = [p for sid in config if (p := self.chart.state(sid).prompt)]
        schemas: list[ToolSchema] = [openai_tool(self.chart.tools[t]) for t in self.allowed_tools()]
        # offered only when the model has calls of its own running: the chart manages its own calls
        if any(call.origin == "model" for call in self.runner.running()):
            schemas.extend(builtins.BUILTIN_TOOLS.values())
        ctx = PromptContext(
            instructions=self.chart.agent.instructions,
            state_prompts=prompts,
            extra=extra,
            now=self._now(),
            started_at=self.started_at,
            tools=schemas,
            budget=self.budget,
        )
        rendered = render_prompt(self.ledger, ctx)
        return LLMRequest(rendered.messages, rendered.tools, self.temperature, self.max_tokens)

    async def _run_turn(self, turn: _Turn) -> None:
        with turn.scope:
            self._send("llm.started", {}, own=True)
            try:
                async for item in self.backend.stream(self.request(turn.extra)):
                    if isinstance(item, TextDelta):
                        self._turn_text(turn, item.text)
                    elif isinstance(item, ToolCallRequest):
                        self._model_call(turn, item)
            except LLMError as err:
                self._turn_failed(turn, str(err))
                return
            except Exception as exc:  # a backend bug is a failed turn, not a crashed session
                self._turn_failed(turn, f"{type(exc).__name__}: {exc}")
                return
            self._turn_text(turn, "", final=True)
            turn.done = True
            if turn.refused:
                self._send("llm.error", {"error": "; ".join(turn.refused), "text": turn.text}, own=True)
            else:
                self._send("llm.done", {"text": turn.text}, own=True)
            if turn.utterance is not None:
                await turn.utterance.finish()
            if self._turn is turn:
                self._turn = None
                if turn.utterance is not None:
                    self.ledger.append(AgentTurn(self._now(), turn.text, False))
                    self._send("agent.said", {"text": turn.text, "interrupted": False}, own=True)
                self._maybe_deliver()

    def _turn_text(self, turn: _Turn, text: str, *, final: bool = False) -> None:
        if turn.utterance is None:
            # Hold the first characters back until a "[14:02:03]" stamp copied from the prompt's
            # format can be recognised and dropped: it is not speech.
            turn.head += text
            head = turn.head.lstrip()
            if not final and len(head) < _STAMP_LOOKAHEAD:
                return
            text = _STAMP.sub("", head, count=1)
            turn.head = ""
            if not text.strip():
                return  # whitespace is not speech
            turn.utterance = self.speaker.begin()
            self._send("agent.speech.started", {"text": text}, own=True)
        if text:
            turn.text += text
            turn.utterance.feed(text)

    def _turn_failed(self, turn: _Turn, message: str) -> None:
        self.ledger.append(Note(self._now(), f"The model failed: {message}"))
        if self._turn is turn:
            self._turn = None
            if turn.utterance is not None:
                self._end_interrupted(turn.utterance.interrupt(), turn.text, cut=True)
            self._send("llm.error", {"error": message, "text": turn.text}, own=True)
            self._maybe_deliver()

    def _model_call(self, turn: _Turn, req: ToolCallRequest) -> None:
        """Check a tool call the model asked for; run it, or refuse it with a message the model will read."""
        assert self.interpreter is not None
        self._call_count += 1
        call_id = f"call{self._call_count}"
        problem: str | None = None
        try:
            args = json.loads(req.arguments) if req.arguments.strip() else {}
        except json.JSONDecodeError as err:
            args, problem = req.arguments, f"the arguments are not valid JSON ({err.msg} at column {err.colno})"
        if problem is None:
            problem = self._refusal(req.name, args)
        if problem is not None:
            message = f"call to {req.name} refused: {problem}"
            now = self._now()
            self.ledger.append(ToolCall(now, call_id, req.name, args if isinstance(args, dict) else {"raw": args},
                                        self._owner_of(req.name), "model"))
            self.ledger.append(ToolOutcome(now, call_id, req.name, "error", None, message, now))
            turn.refused.append(message)
            return
        if builtins.is_builtin(req.name):
            self._builtin_call(call_id, req.name, args)
            return
        self._own = True  # tool.<name>.started belongs to the turn: never held, never preempting
        try:
            self.runner.start(self.interpreter.nursery, call_id=call_id, tool=req.name, args=args,
                              state=self._owner_of(req.name), origin="model")
        finally:
            self._own = False

    def _refusal(self, name: str, args: Any) -> str | None:
        if builtins.is_builtin(name):
            return builtins.check_builtin_args(name, args)
        allowed = self.allowed_tools()
        if name not in self.chart.tools:
            return f"there is no tool named {name!r}; the tools you may call now are: {_names(allowed)}"
        if name not in allowed:
            return f"{name} is not available in the current state; the tools you may call now are: {_names(allowed)}"
        if not isinstance(args, dict):
            return "the arguments must be a JSON object"
        return None

    def _builtin_call(self, call_id: str, name: str, args: dict[str, Any]) -> None:
        now = self._now()
        self.ledger.append(ToolCall(now, call_id, name, args, self.chart.ids[0], "model"))
        if name == builtins.LIST_CALLS:
            result: Any = [
                {"call_id": c.call_id, "tool": c.tool, "args": c.args, "age_s": round(now - c.started, 1)}
                for c in self.runner.running()
            ]
            status, error = "done", None
        else:
            target = args["call_id"]
            running = self.runner.get(target)
            if running is None:
                status, result, error = "error", None, f"no running call with id {target!r}"
            else:
                self.runner.cancel(target, "cancelled by the model")
                status, result, error = "done", {"cancelled": target}, None
        self.ledger.append(ToolOutcome(now, call_id, name, cast(Status, status), result, error, now))

    # ------------------------------------------------------------------ tool events

    def _tool_event(self, name: str, data: dict[str, Any]) -> None:
        """Everything the tool runner reports: onto the queue (which may preempt the turn, whose
        delivered words then go into the ledger first), then into the ledger."""
        parts = name.split(".")
        tool, kind = parts[1], parts[-1]
        if self.interpreter is not None:
            self._send(name, data)
        now = self._now()
        call_id = str(data.get("call_id", ""))
        if kind == "started":
            origin: Origin = "model" if data.get("origin") == "model" else "chart"
            self.ledger.append(ToolCall(now, call_id, tool, dict(data.get("args") or {}),
                                        str(data.get("state") or ""), origin))
        elif kind == "progress":
            self.ledger.append(ToolProgress(now, call_id, str(data.get("message") or ""), data.get("fraction")))
        elif kind in TOOL_CALL_ENDINGS:
            started = data.get("started")
            error = data.get("error") or _outcome_error(kind, data)
            self.ledger.append(ToolOutcome(now, call_id, tool, cast(Status, kind), data.get("result"), error,
                                           float(started) if isinstance(started, int | float) else now))

    def subagent_outcome(self, agent_id: str, status: Status, result: Any, error: str | None, started: float) -> None:
        """A sub-agent ended: ledger, then ``agent.<id>.done`` or ``agent.<id>.error``."""
        self.ledger.append(SubAgentOutcome(self._now(), agent_id, status, result, error, started))
        data = {"result": result} if status == "done" else {"error": error}
        self._send(f"agent.{agent_id}.{status}", data)

    # ------------------------------------------------------------------ saved sessions

    state_key = "agent_session"

    def save_state(self) -> dict[str, Any]:
        """The ledger, the session clock and the wall-clock start: what a resumed session needs."""
        return {"ledger": self.ledger.to_json(), "session_time": self._now(),
                "started_at": self.started_at.isoformat(), "calls": self._call_count}

    def resume_state(self, data: Any) -> None:
        """Continue a saved session: its conversation, its clock, and honest records of the calls
        that were running (they did not survive the process: each ends as cancelled)."""
        self.ledger = Ledger.from_json(data["ledger"])
        self.started_at = datetime.fromisoformat(data["started_at"])
        self._call_count = int(data.get("calls", 0))
        self._resumed_at = at = float(data["session_time"])
        self._t0 = None
        for call in self.ledger.running_calls():
            reason = "the session was saved and resumed; the call did not survive and was not restarted"
            self.ledger.append(ToolOutcome(at, call.call_id, call.tool, "cancelled", None, reason, call.time))
            self._send(f"tool.{call.tool}.cancelled", {"call_id": call.call_id, "reason": reason})

    async def aclose(self) -> None:
        """End the session: cancel the turn, speech and every running call."""
        self.shutdown()

    def shutdown(self, reason: str = "the session ended") -> None:
        """:meth:`aclose` from synchronous code: each running call gets its ``cancelled`` record."""
        self._interrupt(reason)
        self.runner.cancel_all(reason)
        if self._spawner is not None:
            self._spawner.cancel_all()


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


def _outcome_error(kind: str, data: Mapping[str, Any]) -> str | None:
    if kind == "timeout":
        return f"timed out after {data.get('timeout')} s"
    if kind == "cancelled":
        return f"cancelled: {data.get('reason', 'no reason given')}"
    return None


def _llm(chart: Chart, attr: str) -> Any:
    settings = chart.agent.llm
    return getattr(settings, attr) if settings is not None else None


def session_dir(path: str | Path) -> Path:
    """The folder a definition's relative paths (tools, spawned agents) are resolved from."""
    return Path(path).resolve().parent
