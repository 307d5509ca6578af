"""Print a model as canonical ``*.agent`` text that :func:`text_front.load_text` reads back equal.

Statements come in the order of docs/language.md, indented by four spaces. Strings are
printed as ``\"\"\"...\"\"\"`` when the text spans lines and can be written verbatim, otherwise
as JSON strings. Settings equal to their defaults are left out.
"""

from __future__ import annotations

import json
import re

from counterpoint.dsl.durations import format_duration
from counterpoint.dsl.expr.parse import literal_source
from counterpoint.dsl.model import (
    Action,
    Agent,
    Bindings,
    Call,
    Cancel,
    CancelSend,
    Expr,
    If,
    Log,
    Param,
    Raise,
    Respond,
    Say,
    Send,
    Set,
    Spawn,
    State,
    StateKind,
    Timer,
    Tool,
    Transition,
)

__all__ = ["print_text", "quote"]

INDENT = "    "
#: Lines longer than this are split where the syntax allows (tool parameters, entry/exit actions).
WIDTH = 100

# the same patterns as agent.lark's STRING and HANDLER
_STRING = re.compile(r'"""[\s\S]*?"""(?!")|"(?:[^"\\\n]|\\.)*"')
_HANDLER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*")
_KIND = {StateKind.STATE: "state", StateKind.PARALLEL: "parallel", StateKind.FINAL: "final"}


def print_text(agent: Agent) -> str:
    """The agent in the textual syntax, ending with a newline."""
    head = [f"agent {agent.name}"]
    if agent.description is not None:
        head.append(f"description {quote(agent.description)}")
    if agent.instructions is not None:
        head.append(f"instructions {quote(agent.instructions)}")
    if agent.llm is not None:
        llm = agent.llm
        head.append(
            "llm " + _settings(
                provider=llm.provider, model=llm.model, base_url=llm.base_url, api_key_env=llm.api_key_env,
                temperature=llm.temperature, max_tokens=llm.max_tokens,
            )
        )  # fmt: skip
    if agent.voice is not None:
        v = agent.voice
        head.append("voice " + _settings(asr=v.asr, tts=v.tts, language=v.language, speed=v.speed,
                                         vad_threshold=v.vad_threshold, min_barge_in=v.min_barge_in,
                                         end_of_turn=v.end_of_turn))
    if agent.allow:
        head.append("allow " + ", ".join(agent.allow))
    head += [f"include {quote(i.path)}" for i in agent.includes]
    for var in agent.variables:
        head.append(f"var {var.name}" + (f" = {var.init.source}" if var.init is not None else ""))
    for ev in agent.events:
        head.append(f"event {ev.name}" + (f"({', '.join(ev.fields)})" if ev.fields else ""))
    head += [f"priority {p.event} = {p.level}" for p in agent.priorities]
    blocks = ["\n".join(head)]
    blocks += ["\n".join(_tool(t)) for t in agent.tools]
    if agent.initial is not None:
        blocks.append(f"initial {agent.initial}")
    blocks += ["\n".join(_state(s, "")) for s in agent.states]
    return "\n\n".join(blocks) + "\n"


def quote(text: str) -> str:
    """A string literal for ``text``: verbatim ``\"\"\"`` for multi-line text when exact, else JSON."""
    if "\n" in text and '"""' not in text and all(c in "\n\t" or c.isprintable() for c in text):
        literal = f'"""{text}"""'
        m = _STRING.match(literal)
        if m is not None and m.end() == len(literal):
            return literal
    return json.dumps(text, ensure_ascii=False)


# --------------------------------------------------------------------------- declarations


def _number(value: float | int) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return repr(float(value))


def _settings(**values: str | float | int | None) -> str:
    parts = []
    for key, value in values.items():
        if value is None:
            continue
        parts.append(f"{key} {quote(value) if isinstance(value, str) else _number(value)}")
    return "{ " + " ".join(parts) + " }" if parts else "{}"


def _param(p: Param) -> str:
    text = f"{p.name}{'' if p.required else '?'}: {p.type}"
    if p.description is not None:
        text += f" {quote(p.description)}"
    if p.enum is not None:
        text += f" in {literal_source(list(p.enum))}"
    return text


def _tool(tool: Tool) -> list[str]:
    handler = tool.handler if _HANDLER.fullmatch(tool.handler) else quote(tool.handler)
    params = [_param(p) for p in tool.params]
    body = []
    if tool.description is not None:
        body.append(f"description {quote(tool.description)}")
    if tool.timeout is not None:
        body.append(f"timeout {format_duration(tool.timeout)}")
    if tool.on_interrupt != "keep":
        body.append(f"{tool.on_interrupt} on interrupt")
    if tool.on_exit != "cancel":
        body.append(f"{tool.on_exit} on exit")
    if tool.deliver != "when_idle":
        body.append(f"deliver {tool.deliver.replace('_', ' ')}")
    # settings without a description fit the short form on one continuation line
    inline = bool(body) and tool.description is None and len(INDENT + ", ".join(body)) <= WIDTH
    tail = f") = {handler}" + (" {" if body and not inline else "")
    one_line = f"tool {tool.name}({', '.join(params)}{tail}"
    if len(one_line) <= WIDTH and "\n" not in one_line:
        lines = [one_line]
    else:
        lines = [f"tool {tool.name}("] + [f"{INDENT}{p}," for p in params] + [tail]
    if inline:
        lines.append(INDENT + ", ".join(body))
    elif body:
        lines += [INDENT + b for b in body] + ["}"]
    return lines


# --------------------------------------------------------------------------- states


def _state(state: State, indent: str) -> list[str]:
    if state.kind is StateKind.HISTORY:
        header = f"history {state.id}"
        if state.history == "deep":  # shallow is the default
            header += " deep"
        if state.default:
            header += " -> " + ", ".join(state.default)
    else:
        header = f"{_KIND[state.kind]} {state.id}{_bindings(state.data)}"
    inner = indent + INDENT
    body: list[str] = []
    if state.description is not None:
        body.append(f"description {quote(state.description)}")
    if state.prompt is not None:
        body.append(f"prompt {quote(state.prompt)}")
    if state.tools:
        body.append("tools " + ", ".join(state.tools))
    if state.include is not None:
        body.append(f"include {quote(state.include)}")
    body += _actions_lines("entry", state.entry, len(inner))
    body += _actions_lines("exit", state.exit, len(inner))
    body += [_wrap(_transition(t), len(inner)) for t in state.transitions]
    body += [_wrap(_timer(t), len(inner)) for t in state.timers]
    if state.initial is not None:
        actions = "; ".join(_action(a) for a in state.initial_actions)
        body.append(f"initial {state.initial}" + (f" / {actions}" if actions else ""))
    lines = [inner + b.replace(_CONTINUE, "\n" + inner + INDENT) for b in body]
    previous_multi = False
    for child in state.children:
        child_lines = _state(child, inner)
        multi = len(child_lines) > 1
        if lines and (multi or previous_multi):
            lines.append("")
        lines += child_lines
        previous_multi = multi
    if not lines:
        return [indent + header]
    return [f"{indent}{header} {{", *lines, indent + "}"]


def _actions_lines(keyword: str, actions: tuple[Action, ...], indent: int) -> list[str]:
    if not actions:
        return []
    texts = [_action(a) for a in actions]
    line = f"{keyword} {'; '.join(texts)}"
    if indent + len(line) <= WIDTH or len(texts) == 1:
        return [line]
    return [f"{keyword} {t}" for t in texts]  # repeated entry/exit lines append


# Control characters never appear in printed text (quote() escapes them), so they can mark
# where the actions of a transition start and where a long line continues.
_ACTIONS = "\x01"
_CONTINUE = "\x00"


def _wrap(line: str, indent: int) -> str:
    """Put the actions of a long transition or timer on a continuation line."""
    if indent + len(line) <= WIDTH or "\n" in line:
        return line.replace(_ACTIONS, " ")
    return line.replace(_ACTIONS, _CONTINUE)


def _tail(guard: Expr | None, targets: tuple[str, ...], actions: tuple[Action, ...]) -> list[str]:
    parts = []
    if guard is not None:
        parts.append(f"[{guard.source}]")
    if targets:
        parts.append("-> " + ", ".join(targets))
    if actions:
        parts.append(_ACTIONS + "/ " + "; ".join(_action(a) for a in actions))
    return parts


def _transition(t: Transition) -> str:
    parts = ["on " + ", ".join(t.events)] if t.events else ["always"]
    if t.internal:
        parts.append("internal")
    return " ".join(parts + _tail(t.guard, t.targets, t.actions)).replace(" " + _ACTIONS, _ACTIONS)


def _timer(t: Timer) -> str:
    tail = _tail(t.guard, t.targets, t.actions)
    if not tail and t.kind == "after":
        tail = ["/"]  # `after 5s` alone would read as the delay of a preceding `send`
    return " ".join([t.kind, format_duration(t.delay), *tail]).replace(" " + _ACTIONS, _ACTIONS)


def statement_text(item: Transition | Timer) -> str:
    """A transition or timer in the textual syntax, on one line (the diagrams' tooltips)."""
    text = _transition(item) if isinstance(item, Transition) else _timer(item)
    return text.replace(_ACTIONS, " ")


def actions_line(actions: tuple[Action, ...]) -> str:
    """Actions in the textual syntax, on one line: ``say "Hi"; respond``."""
    return "; ".join(_action(a) for a in actions)


# --------------------------------------------------------------------------- actions


def _bindings(data: Bindings) -> str:
    return "(" + ", ".join(f"{k} = {v.source}" for k, v in data) + ")" if data else ""


def _action(a: Action) -> str:
    match a:
        case Say(text=text):
            return f"say {quote(text)}"
        case Log(text=text):
            return f"log {quote(text)}"
        case Respond(prompt=prompt):
            return "respond" if prompt is None else f"respond {quote(prompt)}"
        case Call(tool=tool, args=args, id=ident):
            return f"call {tool}{_bindings(args)}" + (f" as {ident}" if ident is not None else "")
        case Cancel(target=target):
            return f"cancel {target}"
        case Raise(event=event, data=data):
            return f"raise {event}{_bindings(data)}"
        case Send(event=event, data=data, delay=delay, id=ident, priority=priority):
            text = f"send {event}{_bindings(data)}"
            if delay is not None:
                text += f" after {format_duration(delay)}"
            if ident is not None:
                text += f" as {ident}"
            if priority is not None:
                text += f" priority {priority}"
            return text
        case CancelSend(id=ident):
            return f"cancel_send {ident}"
        case Set(var=var, expr=expr):
            return f"set {var} = {expr.source}"
        case Spawn(agent=path, id=ident, task=task, fork=fork):
            text = f"{'fork' if fork else 'spawn'} {quote(path)}"
            if ident is not None:
                text += f" as {ident}"
            if task is not None:
                text += f" task {quote(task)}"
            return text
        case If(branches=branches, orelse=orelse):
            arms = [f"{'if' if i == 0 else 'elif'} [{b.cond.source}] {_block(b.actions)}" for i, b in enumerate(branches)]
            if orelse:
                arms.append(f"else {_block(orelse)}")
            return " ".join(arms)
    raise TypeError(f"not an action: {a!r}")


def _block(actions: tuple[Action, ...]) -> str:
    return "{ " + "; ".join(_action(a) for a in actions) + " }" if actions else "{ }"
