"""What happened, and whether it is what a test expected.

A run is flattened into *observations* (events processed, states exited and entered,
effects), and expectations (``say: still there``, ``tool: {name: find_table, args:
{party: 2}}``...) are *matchers* over them. Scenario files and the Python harness share
these, so both describe failures the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from counterpoint.dsl.durations import DurationError, format_duration, parse_duration
from counterpoint.dsl.names import matches as event_matches
from counterpoint.engine.core.effects import (
    CancelSend,
    CancelTimer,
    CancelTool,
    LogMessage,
    Raised,
    SendEvent,
    SpawnAgent,
    Speak,
    StartLLMTurn,
    StartTimer,
    StartTool,
)
from counterpoint.engine.core.events import Event


class SpecError(ValueError):
    """An expectation written wrongly (the test is at fault, not the agent)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# --------------------------------------------------------------------------- observations


@dataclass(frozen=True)
class Observation:
    """One thing that happened: ``kind`` is ``event``, ``exit``, ``enter`` or ``effect``."""

    kind: str
    value: Any  # Event, state id, or effect
    time: float  # seconds since the run started
    step: int  # index of the macrostep

    @property
    def is_error(self) -> bool:
        """An ``error.*`` event processed, or raised inside a macrostep."""
        if self.kind == "event":
            return _is_error_name(self.value.name)
        return isinstance(self.value, Raised) and _is_error_name(self.value.event.name)

    def describe(self) -> str:
        return f"t={fmt_time(self.time):<7} {describe_value(self.kind, self.value)}"


def _is_error_name(name: str) -> bool:
    return name == "error" or name.startswith("error.")


def observations_of(record: Any, time: float) -> list[Observation]:
    """A macrostep record as observations: its event, exits, entries, then its effects."""
    out: list[Observation] = []
    if record.event is not None:
        out.append(Observation("event", record.event, time, record.index))
    out += [Observation("exit", s, time, record.index) for s in record.exited]
    out += [Observation("enter", s, time, record.index) for s in record.entered]
    out += [Observation("effect", e, time, record.index) for e in record.effects]
    return out


def fmt_time(seconds: float) -> str:
    return format_duration(round(max(seconds, 0.0), 6))


def fmt_value(value: Any) -> str:
    """Compact, YAML-flow-like text of a value (strings quoted)."""
    try:
        return json.dumps(value, ensure_ascii=False, default=repr, separators=(", ", ": "))
    except (TypeError, ValueError):
        return repr(value)


def _data(data: Mapping[str, Any]) -> str:
    return f" {fmt_value(dict(data))}" if data else ""


def describe_value(kind: str, value: Any) -> str:
    """One line describing an observation, in the vocabulary of the scenario format."""
    if kind == "event":
        if is_timer_event(value.name):
            return f"fired {value.name.split(':')[0]} timer of {timer_state(value.name)} ({value.name})"
        return f"event {value.name}{_data(value.data)}"
    if kind in ("exit", "enter"):
        return f"{kind} {value}"
    e = value
    if isinstance(e, Speak):
        return f"say {fmt_value(e.text)}"
    if isinstance(e, StartLLMTurn):
        return "respond" + (f" {fmt_value(e.prompt)}" if e.prompt else "")
    if isinstance(e, StartTool):
        return f"tool {e.tool}{_data(e.args) or ' {}'} (call {e.call_id})"
    if isinstance(e, CancelTool):
        return f"cancel_tool {e.target}"
    if isinstance(e, StartTimer):
        return f"timer {'every' if e.repeat else 'after'} {fmt_time(e.delay)} of {timer_state(e.key)} ({e.key})"
    if isinstance(e, CancelTimer):
        return f"cancel_timer of {timer_state(e.key)} ({e.key})"
    if isinstance(e, SendEvent):
        text = f"sent {e.event.name}{_data(e.event.data)}"
        if e.delay:
            text += f" after {fmt_time(e.delay)}"
        return text + (f" (id {e.send_id})" if e.send_id else "")
    if isinstance(e, CancelSend):
        return f"cancel_send {e.send_id}"
    if isinstance(e, SpawnAgent):
        return f"{'fork' if e.fork else 'spawn'} {e.agent} as {e.id}" + (f" task {fmt_value(e.task)}" if e.task else "")
    if isinstance(e, LogMessage):
        return f"log {fmt_value(e.text)}"
    if isinstance(e, Raised):
        return f"raised {e.event.name}{_data(e.event.data)}"
    return repr(e)


# --------------------------------------------------------------------------- helpers for specs


def timer_state(key: str) -> str:
    """The state a timer key belongs to (keys read ``after:STATE:N``; other keys are returned whole)."""
    parts = key.split(":")
    return parts[1] if len(parts) == 3 else key


def is_timer_event(name: str) -> bool:
    """Timer events are named like their keys, ``after:STATE:N`` / ``every:STATE:N``."""
    parts = name.split(":")
    return len(parts) == 3 and parts[0] in ("after", "every") and parts[2].isdigit()


def subset_match(expected: Any, actual: Any) -> bool:
    """Maps match when every expected key matches; anything else must be equal."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and subset_match(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(subset_match(e, a) for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual or (isinstance(expected, bool) and isinstance(actual, bool) and expected == actual)
    return expected == actual


def _regex(value: Any, what: str) -> re.Pattern[str]:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise SpecError(f"{what} must be a text (a regular expression searched in the actual text)")
    try:
        return re.compile(str(value))
    except re.error as exc:
        raise SpecError(f"{what} is not a valid regular expression: {exc}",
                        "escape special characters such as ? ( ) [ ] with a backslash, or use re.escape") from None


def _duration(value: Any, what: str) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise SpecError(f"{what}: {exc}") from None


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(f"{what} must be a non-empty text")
    return value


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(f"{what} must be a mapping")
    return value


def _keys(spec: Mapping[str, Any], kind: str, allowed: Sequence[str]) -> None:
    from counterpoint.dsl.diagnostics import did_you_mean

    for key in spec:
        if key not in allowed:
            raise SpecError(f"unknown key '{key}' in '{kind}' (allowed: {', '.join(allowed)})",
                            did_you_mean(str(key), allowed))


# --------------------------------------------------------------------------- matchers


@dataclass(frozen=True)
class Matcher:
    """One expectation about an observation; build with :func:`parse_matcher`."""

    kind: str
    fields: tuple[tuple[str, Any], ...]
    text: str  # how the expectation reads in a failure message

    def get(self, name: str, default: Any = None) -> Any:
        return dict(self.fields).get(name, default)

    def matches(self, obs: Observation) -> bool:  # noqa: C901 - a flat dispatch on the kind
        f = dict(self.fields)
        v = obs.value
        k = self.kind
        if k in ("enter", "exit"):
            return obs.kind == k and v == f["state"]
        if k == "fired":
            return (obs.kind == "event" and is_timer_event(v.name) and f.get("state") in (None, timer_state(v.name))
                    and f.get("every") in (None, v.name.startswith("every:")))
        if k == "event":
            return obs.kind == "event" and event_matches(f["event"], v.name) and subset_match(f.get("data", {}), v.data)
        if k == "error":
            if not obs.is_error:
                return False
            event = v if obs.kind == "event" else v.event
            return bool(f["pattern"].search(f"{event.name}: {event.data.get('error', '')}"))
        if obs.kind != "effect":
            return False
        if k == "say":
            return isinstance(v, Speak) and bool(f["pattern"].search(v.text))
        if k == "respond":
            return isinstance(v, StartLLMTurn) and (f["pattern"] is None or bool(f["pattern"].search(v.prompt or "")))
        if k == "log":
            return isinstance(v, LogMessage) and bool(f["pattern"].search(v.text))
        if k == "tool":
            return (isinstance(v, StartTool) and v.tool == f["name"] and subset_match(f.get("args", {}), v.args)
                    and f.get("id") in (None, v.call_id))
        if k == "cancel_tool":
            return isinstance(v, CancelTool) and v.target == f["target"]
        if k == "timer":
            return (isinstance(v, StartTimer) and (f.get("delay") is None or abs(v.delay - f["delay"]) < 1e-9)
                    and f.get("repeat") in (None, v.repeat)
                    and f.get("state") in (None, timer_state(v.key)))
        if k == "cancel_timer":
            return isinstance(v, CancelTimer) and f.get("state") in (None, timer_state(v.key))
        if k == "sent":
            return (isinstance(v, SendEvent) and event_matches(f["event"], v.event.name)
                    and subset_match(f.get("data", {}), v.event.data)
                    and (f.get("delay") is None or abs(v.delay - f["delay"]) < 1e-9)
                    and f.get("id") in (None, v.send_id))
        if k == "cancel_send":
            return isinstance(v, CancelSend) and v.send_id == f["id"]
        if k == "spawn":
            return (isinstance(v, SpawnAgent) and (f.get("agent") is None or v.agent == f["agent"])
                    and f.get("id") in (None, v.id) and f.get("fork") in (None, v.fork)
                    and (f.get("task") is None or bool(f["task"].search(v.task or ""))))
        if k == "raised":
            return (isinstance(v, Raised) and event_matches(f["event"], v.event.name)
                    and subset_match(f.get("data", {}), v.event.data))
        return False


#: Expectation kinds, with a one-line description (docs and error hints use it).
KINDS: dict[str, str] = {
    "say": "the agent says a text matching a regular expression",
    "respond": "an LLM turn starts (true, or a regex for its extra instruction)",
    "tool": "a tool call starts: a tool name, or {name, args, id}",
    "cancel_tool": "tool calls are cancelled (tool name or call id)",
    "timer": "a timer starts: a duration, or {after | every, state}",
    "cancel_timer": "a timer is cancelled (true, or the id of the state that declared it)",
    "fired": "a timer fires and its event is processed (true, or the id of the state that declared it)",
    "sent": "an event is sent to the external queue: a name, or {event, data, delay, id}",
    "cancel_send": "a delayed send is cancelled (its id)",
    "spawn": "a sub-agent starts: an agent file, or {agent, id, task, fork}",
    "log": "a log line matching a regular expression",
    "raised": "an internal event is raised: a name, or {event, data}",
    "event": "an event is processed: a name, or {event, data}",
    "enter": "a state is entered",
    "exit": "a state is exited",
    "error": "an error.* event whose 'name: error' text matches a regex",
}


def _event_spec(kind: str, value: Any, extra: Sequence[str] = ()) -> dict[str, Any]:
    if isinstance(value, str):
        return {"event": value}
    spec = _mapping(value, f"'{kind}'")
    _keys(spec, kind, ("event", "data", *extra))
    out: dict[str, Any] = {"event": _text(spec.get("event"), f"'{kind}.event'")}
    if "data" in spec:
        out["data"] = _mapping(spec["data"], f"'{kind}.data'")
    return out


def parse_matcher(kind: str, value: Any) -> Matcher:  # noqa: C901 - one branch per kind
    """The matcher for ``{kind: value}`` as written in a scenario; raises SpecError."""
    from counterpoint.dsl.diagnostics import did_you_mean

    f: dict[str, Any] = {}
    if kind not in KINDS:
        raise SpecError(f"unknown expectation '{kind}' (known: {', '.join(KINDS)})", did_you_mean(kind, KINDS))
    if kind in ("say", "log"):
        f["pattern"] = _regex(value, f"'{kind}'")
        text = f"{kind} ~ /{f['pattern'].pattern}/"
    elif kind == "respond":
        f["pattern"] = None if value is True or value is None else _regex(value, "'respond'")
        text = "respond" + (f" ~ /{f['pattern'].pattern}/" if f["pattern"] else "")
    elif kind == "error":
        f["pattern"] = _regex(".*" if value is True else value, "'error'")
        text = f"error ~ /{f['pattern'].pattern}/"
    elif kind == "cancel_timer":
        if value is not True:
            f["state"] = _text(value, "'cancel_timer' (true, or a state id)")
        text = "cancel_timer" + (f" of {f['state']}" if "state" in f else "")
    elif kind == "fired":
        if value is not True:
            f["state"] = _text(value, "'fired' (true, or a state id)")
        text = "fired" + (f" timer of {f['state']}" if "state" in f else "")
    elif kind in ("enter", "exit"):
        f["state"] = _text(value, f"'{kind}'")
        text = f"{kind} {value}"
    elif kind == "cancel_tool":
        f["target"] = _text(value, "'cancel_tool'")
        text = f"cancel_tool {value}"
    elif kind == "cancel_send":
        f["id"] = _text(value, "'cancel_send'")
        text = f"cancel_send {value}"
    elif kind == "tool":
        if isinstance(value, str):
            f["name"] = value
        else:
            spec = _mapping(value, "'tool'")
            _keys(spec, kind, ("name", "args", "id"))
            f["name"] = _text(spec.get("name"), "'tool.name'")
            if "args" in spec:
                f["args"] = _mapping(spec["args"], "'tool.args'")
            if "id" in spec:
                f["id"] = _text(spec["id"], "'tool.id'")
        text = f"tool {f['name']}" + _data(f.get("args", {})) + (f" (call {f['id']})" if "id" in f else "")
    elif kind == "timer":
        if isinstance(value, Mapping):
            _keys(value, kind, ("after", "every", "state"))
            if "after" in value and "every" in value:
                raise SpecError("'timer' takes 'after' or 'every', not both")
            for key in ("after", "every"):
                if key in value:
                    f["delay"] = _duration(value[key], f"'timer.{key}'")
                    f["repeat"] = key == "every"
            if "state" in value:
                f["state"] = _text(value["state"], "'timer.state'")
        else:
            f["delay"] = _duration(value, "'timer'")
        text = "timer" + (f" {'every' if f.get('repeat') else 'after'}" if "repeat" in f else "")
        text += f" {fmt_time(f['delay'])}" if "delay" in f else ""
        text += f" of {f['state']}" if "state" in f else ""
    elif kind == "sent":
        f.update(_event_spec(kind, value, ("delay", "id")))
        if isinstance(value, Mapping):
            if "delay" in value:
                f["delay"] = _duration(value["delay"], "'sent.delay'")
            if "id" in value:
                f["id"] = _text(value["id"], "'sent.id'")
        text = f"sent {f['event']}{_data(f.get('data', {}))}"
        text += f" after {fmt_time(f['delay'])}" if "delay" in f else ""
        text += f" (id {f['id']})" if "id" in f else ""
    elif kind == "spawn":
        if isinstance(value, str):
            f["agent"] = value
        else:
            spec = _mapping(value, "'spawn'")
            _keys(spec, kind, ("agent", "id", "task", "fork"))
            for key in ("agent", "id"):
                if key in spec:
                    f[key] = _text(spec[key], f"'spawn.{key}'")
            if "task" in spec:
                f["task"] = _regex(spec["task"], "'spawn.task'")
            if "fork" in spec:
                if not isinstance(spec["fork"], bool):
                    raise SpecError("'spawn.fork' must be true or false")
                f["fork"] = spec["fork"]
        text = "spawn" + "".join(f" {k}={v.pattern if isinstance(v, re.Pattern) else v}" for k, v in f.items())
    else:  # raised, event
        f.update(_event_spec(kind, value))
        text = f"{kind} {f['event']}{_data(f.get('data', {}))}"
    return Matcher(kind, tuple(f.items()), text)


def parse_matchers(value: Any) -> list[Matcher]:
    """``{kind: spec}`` or a list of them (each item one mapping with exactly one key)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if not isinstance(item, Mapping) or len(item) != 1:
            hint = f"known expectations: {', '.join(KINDS)}"
            if isinstance(item, Mapping) and any(v is None for v in item.values()):
                hint = "inside {...} a comma ends the value: quote texts that contain commas"
            raise SpecError("each expectation is a mapping with exactly one key, e.g. {say: hello}", hint)
        ((kind, spec),) = item.items()
        out.append(parse_matcher(str(kind), spec))
    return out


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class Mismatch:
    """Why an expectation failed, as lines of text (no location; the caller adds it)."""

    summary: str
    details: tuple[str, ...] = ()

    def format(self) -> str:
        return "\n".join([self.summary, *("  " + d for d in self.details)])


def check_in_order(matchers: Sequence[Matcher], window: Sequence[Observation]) -> tuple[Mismatch | None, set[int]]:
    """Each matcher must match a later observation than the previous one (a subsequence).

    Returns the mismatch (or None) and the indexes of the matched observations.
    """
    matched: set[int] = set()
    cursor = 0
    for n, m in enumerate(matchers):
        hit = next((i for i in range(cursor, len(window)) if m.matches(window[i])), None)
        if hit is None:
            earlier = next((i for i in range(cursor) if m.matches(window[i])), None)
            expected = [("  " if i != n else "> ") + x.text for i, x in enumerate(matchers)]
            if earlier is not None:
                why = f"'{m.text}' happened, but before '{matchers[n - 1].text}'"
            elif len(matchers) > 1:
                why = f"no '{m.text}'" + (f" after '{matchers[n - 1].text}'" if n else "")
            else:
                why = f"no '{m.text}'"
            details = ["expected" + (" (in this order):" if len(matchers) > 1 else ":"), *("  " + e for e in expected)]
            details += actual_lines(window, marks={**{i: "+" for i in matched}, **({earlier: "!"} if earlier is not None else {})})
            return Mismatch(why, tuple(details)), matched
        matched.add(hit)
        cursor = hit + 1
    return None, matched


def check_absent(matchers: Sequence[Matcher], window: Sequence[Observation]) -> Mismatch | None:
    for m in matchers:
        hits = [i for i, obs in enumerate(window) if m.matches(obs)]
        if hits:
            details = ["expected none of:", *(f"  {x.text}" for x in matchers)]
            details += actual_lines(window, marks=dict.fromkeys(hits, "!"))
            return Mismatch(f"unexpected '{window[hits[0]].describe().split(' ', 1)[1].strip()}'", tuple(details))
    return None


def actual_lines(window: Sequence[Observation], marks: Mapping[int, str] | None = None) -> list[str]:
    """The window as a listing; ``marks`` prefixes lines (``+`` matched, ``!`` offending)."""
    marks = marks or {}
    if not window:
        return ["actual: nothing happened"]
    return ["actual:", *(f"  {marks.get(i, ' ')} {obs.describe()}" for i, obs in enumerate(window))]


def diff_states(expected: Iterable[str], configuration: Sequence[str], active: bool) -> Mismatch | None:
    """``in`` (active=True) or ``not_in`` (active=False) against the configuration."""
    config = set(configuration)
    wrong = [s for s in expected if (s in config) != active]
    if not wrong:
        return None
    what = "not active" if active else "active"
    return Mismatch(f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} {what}",
                    (f"expected {'active' if active else 'inactive'}: {', '.join(expected)}",
                     f"configuration:   {', '.join(configuration) or '(none)'}"))


def diff_vars(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> Mismatch | None:
    from counterpoint.dsl.diagnostics import did_you_mean

    lines: list[str] = []
    bad: list[str] = []
    for name, want in expected.items():
        if name not in actual:
            bad.append(name)
            hint = did_you_mean(name, actual)
            lines.append(f"{name}: no such variable" + (f" ({hint})" if hint else "")
                         + f"; variables: {', '.join(actual) or '(none)'}")
        elif not subset_match(want, actual[name]) or not subset_match(actual[name], want):
            bad.append(name)
            lines += [f"- {name}: {fmt_value(want)}   (expected)", f"+ {name}: {fmt_value(actual[name])}   (actual)"]
    if not bad:
        return None
    return Mismatch(f"variable{'s' if len(bad) > 1 else ''} {', '.join(bad)} differ{'' if len(bad) > 1 else 's'}",
                    tuple(lines))


def unexpected_errors(window: Sequence[Observation], matched: set[int]) -> list[Observation]:
    return [obs for i, obs in enumerate(window) if obs.is_error and i not in matched]


def describe_event(event: Event) -> str:
    return describe_value("event", event)
