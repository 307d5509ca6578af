"""What happened, and whether it is what a test expected.

A run is flattened into *observations* (events processed, states exited and entered,
effects), and expectations (``say: still there``, ``tool: {name: find_table, args:
{party: 2}}``...) are *matchers* over them. Scenario files and the Python harness share
these, so both describe failures the same way.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from counterpoint.engine.core.timers import parse_timer_key


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
        timer = parse_timer_key(value.name)
        if timer is not None:
            return f"fired {timer.kind} timer of {timer.state} ({value.name})"
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
    """The state a timer key belongs to (anything else is returned whole)."""
    timer = parse_timer_key(key)
    return timer.state if timer is not None else key


def subset_match(expected: object, actual: object) -> bool:
    """Maps match when every expected key matches; anything else must be equal."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and subset_match(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(subset_match(e, a) for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual or (isinstance(expected, bool) and isinstance(actual, bool) and expected == actual)
    return expected == actual


def compile_regex(pattern: str) -> re.Pattern[str]:
    """``re.compile`` without its FutureWarnings ("possible nested set"): the pattern is the test
    writer's, and a warning naming this module's line would only confuse. Raises re.error,
    OverflowError (``a{99999999999}``) or RecursionError (``((((...))))``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return re.compile(pattern)


def _regex(value: Any, what: str) -> re.Pattern[str]:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise SpecError(f"{what} must be a text (a regular expression searched in the actual text)")
    try:
        return compile_regex(str(value))
    except (re.error, OverflowError, RecursionError) as exc:  # a{99999999999}, ((((...))))
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

    def matches(self, obs: Observation) -> bool:
        kind = _KINDS[self.kind]
        if kind.observes is not None and obs.kind != kind.observes:
            return False
        if kind.effect is not None and not isinstance(obs.value, kind.effect):
            return False
        return kind.test(dict(self.fields), obs)


# --------------------------------------------------------------------------- the kinds of expectations

#: What a kind's spec becomes: the matcher's fields, and how it reads in a failure message.
Parsed = tuple[dict[str, Any], str]


@dataclass(frozen=True)
class _Kind:
    """One kind of expectation: what it means, how its spec is read, what it matches.

    ``observes`` is the kind of observation it looks at (None: its test decides) and
    ``effect`` the effect type it looks for; ``test`` sees only observations that pass both.
    """

    about: str
    parse: Callable[[Any], Parsed]
    test: Callable[[dict[str, Any], Observation], bool]
    observes: str | None = "effect"
    effect: type | None = None


_KINDS: dict[str, _Kind] = {}


def _kind(name: str, about: str, parse: Callable[[Any], Parsed], test: Callable[[dict[str, Any], Observation], bool],
          *, observes: str | None = "effect", effect: type | None = None) -> None:
    _KINDS[name] = _Kind(about, parse, test, observes, effect)


def _near(expected: float | None, actual: float) -> bool:
    return expected is None or abs(actual - expected) < 1e-9


def _pattern(kind: str) -> Callable[[Any], Parsed]:
    def parse(value: Any) -> Parsed:
        pattern = _regex(value, f"'{kind}'")
        return {"pattern": pattern}, f"{kind} ~ /{pattern.pattern}/"

    return parse


def _state_or_true(kind: str, reads: str) -> Callable[[Any], Parsed]:
    """``true`` (any), or the id of the state that declared the timer."""

    def parse(value: Any) -> Parsed:
        if value is True:
            return {}, kind
        state = _text(value, f"'{kind}' (true, or a state id)")
        return {"state": state}, f"{kind}{reads}{state}"

    return parse


def _one_text(kind: str, field: str) -> Callable[[Any], Parsed]:
    def parse(value: Any) -> Parsed:
        return {field: _text(value, f"'{kind}'")}, f"{kind} {value}"

    return parse


def _event(kind: str, extra: Sequence[str] = ()) -> Callable[[Any], Parsed]:
    """A name, or ``{event, data}`` (plus ``extra`` keys the caller reads)."""

    def parse(value: Any) -> Parsed:
        fields = _event_spec(kind, value, extra)
        return fields, f"{kind} {fields['event']}{_data(fields.get('data', {}))}"

    return parse


def _event_spec(kind: str, value: Any, extra: Sequence[str] = ()) -> dict[str, Any]:
    if isinstance(value, str):
        return {"event": value}
    spec = _mapping(value, f"'{kind}'")
    _keys(spec, kind, ("event", "data", *extra))
    out: dict[str, Any] = {"event": _text(spec.get("event"), f"'{kind}.event'")}
    if "data" in spec:
        out["data"] = _mapping(spec["data"], f"'{kind}.data'")
    return out


def _event_test(f: dict[str, Any], event: Event) -> bool:
    return event_matches(f["event"], event.name) and subset_match(f.get("data", {}), event.data)


def _parse_respond(value: Any) -> Parsed:
    pattern = None if value is True or value is None else _regex(value, "'respond'")
    return {"pattern": pattern}, "respond" + (f" ~ /{pattern.pattern}/" if pattern else "")


def _parse_error(value: Any) -> Parsed:
    pattern = _regex(".*" if value is True else value, "'error'")
    return {"pattern": pattern}, f"error ~ /{pattern.pattern}/"


def _test_error(f: dict[str, Any], obs: Observation) -> bool:
    if not obs.is_error:
        return False
    event = obs.value if obs.kind == "event" else obs.value.event
    return bool(f["pattern"].search(f"{event.name}: {event.data.get('error', '')}"))


def _parse_tool(value: Any) -> Parsed:
    f: dict[str, Any] = {}
    if isinstance(value, str):
        f["name"] = value
    else:
        spec = _mapping(value, "'tool'")
        _keys(spec, "tool", ("name", "args", "id"))
        f["name"] = _text(spec.get("name"), "'tool.name'")
        if "args" in spec:
            f["args"] = _mapping(spec["args"], "'tool.args'")
        if "id" in spec:
            f["id"] = _text(spec["id"], "'tool.id'")
    return f, f"tool {f['name']}" + _data(f.get("args", {})) + (f" (call {f['id']})" if "id" in f else "")


def _test_tool(f: dict[str, Any], obs: Observation) -> bool:
    v = obs.value
    return v.tool == f["name"] and subset_match(f.get("args", {}), v.args) and f.get("id") in (None, v.call_id)


def _parse_timer(value: Any) -> Parsed:
    f: dict[str, Any] = {}
    if isinstance(value, Mapping):
        _keys(value, "timer", ("after", "every", "state"))
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
    return f, text


def _test_timer(f: dict[str, Any], obs: Observation) -> bool:
    v = obs.value
    return _near(f.get("delay"), v.delay) and f.get("repeat") in (None, v.repeat) and f.get("state") in (
        None, timer_state(v.key))


def _test_fired(f: dict[str, Any], obs: Observation) -> bool:
    timer = parse_timer_key(obs.value.name)
    return timer is not None and f.get("state") in (None, timer.state)


def _parse_sent(value: Any) -> Parsed:
    f = _event_spec("sent", value, ("delay", "id"))
    if isinstance(value, Mapping):
        if "delay" in value:
            f["delay"] = _duration(value["delay"], "'sent.delay'")
        if "id" in value:
            f["id"] = _text(value["id"], "'sent.id'")
    text = f"sent {f['event']}{_data(f.get('data', {}))}"
    text += f" after {fmt_time(f['delay'])}" if "delay" in f else ""
    text += f" (id {f['id']})" if "id" in f else ""
    return f, text


def _test_sent(f: dict[str, Any], obs: Observation) -> bool:
    v = obs.value
    return _event_test(f, v.event) and _near(f.get("delay"), v.delay) and f.get("id") in (None, v.send_id)


def _parse_spawn(value: Any) -> Parsed:
    f: dict[str, Any] = {}
    if isinstance(value, str):
        f["agent"] = value
    else:
        spec = _mapping(value, "'spawn'")
        _keys(spec, "spawn", ("agent", "id", "task", "fork"))
        for key in ("agent", "id"):
            if key in spec:
                f[key] = _text(spec[key], f"'spawn.{key}'")
        if "task" in spec:
            f["task"] = _regex(spec["task"], "'spawn.task'")
        if "fork" in spec:
            if not isinstance(spec["fork"], bool):
                raise SpecError("'spawn.fork' must be true or false")
            f["fork"] = spec["fork"]
    return f, "spawn" + "".join(f" {k}={v.pattern if isinstance(v, re.Pattern) else v}" for k, v in f.items())


def _test_spawn(f: dict[str, Any], obs: Observation) -> bool:
    v = obs.value
    return (f.get("agent") in (None, v.agent) and f.get("id") in (None, v.id) and f.get("fork") in (None, v.fork)
            and (f.get("task") is None or bool(f["task"].search(v.task or ""))))


# In the order docs and hints list them.
_kind("say", "the agent says a text matching a regular expression",
      _pattern("say"), lambda f, o: bool(f["pattern"].search(o.value.text)), effect=Speak)
_kind("respond", "an LLM turn starts (true, or a regex for its extra instruction)",
      _parse_respond, lambda f, o: f["pattern"] is None or bool(f["pattern"].search(o.value.prompt or "")),
      effect=StartLLMTurn)
_kind("tool", "a tool call starts: a tool name, or {name, args, id}", _parse_tool, _test_tool, effect=StartTool)
_kind("cancel_tool", "tool calls are cancelled (tool name or call id)",
      _one_text("cancel_tool", "target"), lambda f, o: o.value.target == f["target"], effect=CancelTool)
_kind("timer", "a timer starts: a duration, or {after | every, state}", _parse_timer, _test_timer,
      effect=StartTimer)
_kind("cancel_timer", "a timer is cancelled (true, or the id of the state that declared it)",
      _state_or_true("cancel_timer", " of "), lambda f, o: f.get("state") in (None, timer_state(o.value.key)),
      effect=CancelTimer)
_kind("fired", "a timer fires and its event is processed (true, or the id of the state that declared it)",
      _state_or_true("fired", " timer of "), _test_fired, observes="event")
_kind("sent", "an event is sent to the external queue: a name, or {event, data, delay, id}",
      _parse_sent, _test_sent, effect=SendEvent)
_kind("cancel_send", "a delayed send is cancelled (its id)",
      _one_text("cancel_send", "id"), lambda f, o: o.value.send_id == f["id"], effect=CancelSend)
_kind("spawn", "a sub-agent starts: an agent file, or {agent, id, task, fork}", _parse_spawn, _test_spawn,
      effect=SpawnAgent)
_kind("log", "a log line matching a regular expression",
      _pattern("log"), lambda f, o: bool(f["pattern"].search(o.value.text)), effect=LogMessage)
_kind("raised", "an internal event is raised: a name, or {event, data}",
      _event("raised"), lambda f, o: _event_test(f, o.value.event), effect=Raised)
_kind("event", "an event is processed: a name, or {event, data}",
      _event("event"), lambda f, o: _event_test(f, o.value), observes="event")
_kind("enter", "a state is entered", _one_text("enter", "state"), lambda f, o: o.value == f["state"],
      observes="enter")
_kind("exit", "a state is exited", _one_text("exit", "state"), lambda f, o: o.value == f["state"],
      observes="exit")
_kind("error", "an error.* event whose 'name: error' text matches a regex", _parse_error, _test_error,
      observes=None)

#: Expectation kinds, with a one-line description (docs and error hints use it).
KINDS: dict[str, str] = {name: kind.about for name, kind in _KINDS.items()}


def parse_matcher(kind: str, value: Any) -> Matcher:
    """The matcher for ``{kind: value}`` as written in a scenario; raises SpecError."""
    from counterpoint.dsl.diagnostics import did_you_mean

    if kind not in _KINDS:
        raise SpecError(f"unknown expectation '{kind}' (known: {', '.join(KINDS)})", did_you_mean(kind, KINDS))
    fields, text = _KINDS[kind].parse(value)
    return Matcher(kind, tuple(fields.items()), text)


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
