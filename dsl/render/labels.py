"""Texts for statechart diagrams: short action/transition labels and safe HTML-like labels.

Graphviz HTML-like labels are parsed as XML, so every piece of user text goes through
:func:`esc`, which drops characters XML cannot carry and escapes markup. Labels are kept
short (``say "…"`` is truncated) because diagrams are for reading structure, not copy.
"""

from __future__ import annotations

import html
import re

from counterpoint.dsl.durations import format_duration
from counterpoint.dsl.model import (
    Action,
    Call,
    Cancel,
    CancelSend,
    If,
    Log,
    Raise,
    Respond,
    Say,
    Send,
    Set,
    Spawn,
    Timer,
    Transition,
)

#: Longest quoted text (say/respond) shown in a label, in characters.
SAY_MAX = 24
#: Longest value shown in a ``set`` label.
VALUE_MAX = 16
#: Longest guard shown in a label.
GUARD_MAX = 32
#: Longest prompt line shown on a state.
PROMPT_MAX = 36
#: Longest state id / event / name before it is shortened.
NAME_MAX = 48

# Characters XML 1.0 cannot carry (control characters, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    """One line of displayable text: whitespace runs collapse, non-XML characters go."""
    return _SPACES.sub(" ", _NOT_XML.sub("", text)).strip()


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in an ellipsis when cut."""
    text = clean(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def esc(text: str) -> str:
    """Text made safe inside a Graphviz HTML-like label.

    Besides XML markup, ``]`` is written as a character reference: Graphviz 2.43 rejects
    some texts made of ``]`` (``<B>]</B>``). Empty text becomes a no-break space, since
    empty ``<B></B>`` or ``<FONT></FONT>`` elements are syntax errors there too.
    """
    return html.escape(clean(text), quote=True).replace("]", "&#93;") or "&#160;"


def _quoted(text: str, limit: int = SAY_MAX) -> str:
    return '"' + shorten(text, limit) + '"'


def action_text(action: Action) -> str:
    """A few words naming what an action does (plain text, not escaped)."""
    match action:
        case Say(text=text):
            return f"say {_quoted(text)}"
        case Respond(prompt=prompt):
            return f"respond {_quoted(prompt, 16)}" if prompt else "respond"
        case Call(tool=tool, args=args):
            return f"call {shorten(tool, NAME_MAX)}({'…' if args else ''})"
        case Cancel(target=target):
            return f"cancel {shorten(target, NAME_MAX)}"
        case Raise(event=event):
            return f"raise {shorten(event, NAME_MAX)}"
        case Send(event=event, delay=delay):
            after = f" after {format_duration(delay)}" if delay else ""
            return f"send {shorten(event, NAME_MAX)}{after}"
        case CancelSend(id=ident):
            return f"cancel_send {shorten(ident, NAME_MAX)}"
        case Set(var=var, expr=expr):
            return f"set {shorten(var, NAME_MAX)} = {shorten(expr.source, VALUE_MAX)}"
        case Log():
            return "log"
        case Spawn(agent=agent, id=ident, fork=fork):
            name = ident or re.sub(r"\.agent(\.ya?ml)?$|\.ya?ml$", "", agent.rsplit("/", 1)[-1])
            return f"{'fork' if fork else 'spawn'} {shorten(name, NAME_MAX)}"
        case If(branches=branches, orelse=orelse):
            arms = [
                f"{'if' if i == 0 else 'elif'} [{shorten(b.cond.source, GUARD_MAX)}] {{{actions_text(b.actions)}}}"
                for i, b in enumerate(branches)
            ]
            return " ".join(arms + ([f"else {{{actions_text(orelse)}}}"] if orelse else []))
    return type(action).__name__.lower()  # pragma: no cover - every Action is matched above


def actions_text(actions: tuple[Action, ...]) -> str:
    return "; ".join(action_text(a) for a in actions)


def trigger_text(item: Transition | Timer) -> str:
    """``event [guard]`` / ``after 30s [guard]`` / ``[guard]`` / ``""`` (plain text)."""
    if isinstance(item, Timer):
        head = f"{item.kind} {format_duration(item.delay)}"
    else:
        head = ", ".join(shorten(e, NAME_MAX) for e in item.events)
    if item.guard is not None:
        guard = f"[{shorten(item.guard.source, GUARD_MAX)}]"
        head = f"{head} {guard}" if head else guard
    return head


def edge_lines(item: Transition | Timer) -> list[str]:
    """The lines of a transition label: trigger, then ``/ actions`` (plain text)."""
    lines = []
    head = trigger_text(item)
    if head:
        lines.append(head)
    if item.actions:
        lines.append(f"/ {actions_text(item.actions)}")
    return lines


def activity_text(item: Transition | Timer, keyword: str = "always") -> str:
    """One internal-activity line: ``event [guard] / actions`` for a targetless transition."""
    head = trigger_text(item) or keyword
    if head.startswith("["):
        head = f"{keyword} {head}"
    return f"{head} / {actions_text(item.actions)}" if item.actions else head
