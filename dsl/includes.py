"""Include resolution: flattening ``include`` into one agent.

Top-level includes contribute declarations and states; a state's ``include`` gives it the
file's states as children. Merged nodes keep their own spans, so diagnostics (and the folder
a tool handler resolves against, see :func:`counterpoint.dsl.handlers.tool_base_dir`) still
point at the file each node came from.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol, TypeVar

from counterpoint.dsl.diagnostics import Diagnostic
from counterpoint.dsl.files import AGENT_SUFFIXES, STD_DIR, load_file, resolve_include_path
from counterpoint.dsl.model import Agent, State
from counterpoint.dsl.source import Span, where

#: Include chains deeper than this are refused (E010); cycles are caught long before.
MAX_INCLUDE_DEPTH = 32
#: At most this many distinct files per resolved agent (E010).
MAX_INCLUDED_FILES = 200


@dataclasses.dataclass
class _Resolver:
    diags: list[Diagnostic] = dataclasses.field(default_factory=list)
    done: dict[Path, Agent | None] = dataclasses.field(default_factory=dict)

    def resolve(self, agent: Agent, path: str | Path, chain: tuple[Path, ...]) -> Agent:
        """``agent`` (read from ``path``) with its includes merged, recursively."""
        chain = (*chain, _key(path))
        merged = _Parts(agent)
        for inc in agent.includes:
            sub, first = self.load(inc.path, inc.span, path, chain)
            if sub is not None and inc.path.startswith("std:") and sub.states:
                self.diags.append(_region_at_top(inc.path, inc.span))
            elif sub is not None and first:  # a file reached twice (a diamond) is merged once
                merged.merge(sub, self.diags, with_states=True)
        states = tuple(self.resolve_state(s, path, chain, merged) for s in agent.states)
        initial = agent.initial
        if initial is None and not agent.states and merged.states:
            initial = merged.first_initial
        return dataclasses.replace(
            agent,
            includes=(),
            allow=tuple(merged.allow),
            variables=tuple(merged.variables),
            events=tuple(merged.events),
            priorities=tuple(merged.priorities),
            tools=tuple(merged.tools),
            initial=initial,
            states=states + tuple(merged.states),
        )

    def resolve_state(self, state: State, path: str | Path, chain: tuple[Path, ...], merged: _Parts) -> State:
        children = tuple(self.resolve_state(c, path, chain, merged) for c in state.children)
        if state.include is None:
            return dataclasses.replace(state, children=children) if children != state.children else state
        initial = state.initial
        sub, first = self.load(state.include, state.span, path, chain)
        if sub is not None:
            if first:
                merged.merge(sub, self.diags, with_states=False)
            if initial is None:
                initial = sub.initial or (sub.states[0].id if sub.states else None)
            children = children + sub.states
        return dataclasses.replace(state, include=None, children=children, initial=initial)

    def load(
        self, ref: str, span: Span, including: str | Path, chain: tuple[Path, ...]
    ) -> tuple[Agent | None, bool]:
        """The resolved agent an include names and whether this is its first use in the agent."""
        target = resolve_include_path(ref, including)
        if target is None:
            hint = (
                f"the standard definitions are: {', '.join(_std_names()) or 'none'}"
                if ref.startswith("std:")
                else f"paths are relative to the including file's folder ({Path(including).parent})"
            )
            self.diags.append(Diagnostic("E113", f"included file '{ref}' not found", span, hint))
            return None, False
        key = _key(target)
        if key in chain:
            names = [p.name for p in chain[chain.index(key) :]] + [key.name]
            self.diags.append(
                Diagnostic("E112", f"include cycle: {' -> '.join(names)}", span, "remove one of the includes")
            )
            return None, False
        if key in self.done:
            return self.done[key], False
        if len(chain) >= MAX_INCLUDE_DEPTH or len(self.done) >= MAX_INCLUDED_FILES:
            self.diags.append(Diagnostic("E010", "input too complex (too many nested includes)", span))
            return None, False
        self.done[key] = None
        loaded, diags = load_file(_display(target, including, ref))
        self.diags.extend(diags)
        if loaded is None:
            return None, False
        resolved = self.resolve(loaded, _display(target, including, ref), chain)
        self.done[key] = resolved
        return resolved, True


def _region_at_top(ref: str, span: Span) -> Diagnostic:
    """A standard chart is a region to run next to the agent's own, never merged at the top."""
    name = ref.removeprefix("std:")
    return Diagnostic(
        "E008",
        f"'{ref}' is a region, not a set of declarations: it cannot be included at the top level",
        span,
        f"make it a region of a parallel state, next to your own chart: {name}: {{include: \"{ref}\"}} "
        f"under a state with type: parallel (textual syntax: state {name} {{ include \"{ref}\" }})",
    )


def _display(target: Path, including: str | Path, ref: str) -> str:
    """The name diagnostics use for an included file: relative like its includer when possible."""
    if ref.startswith("std:"):
        return str(target)
    return str(Path(including).parent / ref)


def _key(path: str | Path) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(path).absolute()


def _std_names() -> list[str]:
    if not STD_DIR.is_dir():
        return []
    names = {p.name.removesuffix(s) for p in STD_DIR.iterdir() for s in AGENT_SUFFIXES if p.name.endswith(s)}
    return sorted(f"std:{n}" for n in names if not n.startswith((".", "_")))


class _Parts:
    """The agent-level declarations being merged, with E114 for names declared twice."""

    def __init__(self, agent: Agent):
        self.allow = list(agent.allow)
        self.variables = list(agent.variables)
        self.events = list(agent.events)
        self.priorities = list(agent.priorities)
        self.tools = list(agent.tools)
        self.states: list[State] = []
        self.first_initial: str | None = None

    def merge(self, other: Agent, diags: list[Diagnostic], with_states: bool) -> None:
        self.allow += [a for a in other.allow if a not in self.allow]
        _merge_decls("tool", self.tools, other.tools, diags)
        _merge_decls("variable", self.variables, other.variables, diags)
        _merge_decls("event", self.events, other.events, diags)
        # the including agent's own priorities win over included ones for the same event
        have = {p.event for p in self.priorities}
        self.priorities += [p for p in other.priorities if p.event not in have]
        if with_states:
            if self.first_initial is None:
                self.first_initial = other.initial or (other.states[0].id if other.states else None)
            self.states += other.states


class _Decl(Protocol):
    """A named agent-level declaration (tool, variable, event)."""

    @property
    def name(self) -> str: ...

    @property
    def span(self) -> Span: ...


D = TypeVar("D", bound=_Decl)


def _merge_decls(kind: str, mine: list[D], theirs: tuple[D, ...], diags: list[Diagnostic]) -> None:
    """Append ``theirs`` to ``mine``; E114 for a name declared twice (identical events are fine)."""
    seen = {d.name: d for d in mine}
    for decl in theirs:
        first = seen.get(decl.name)
        if first is None:
            mine.append(decl)
            seen[decl.name] = decl
        elif first != decl or kind != "event":
            diags.append(
                Diagnostic(
                    "E114",
                    f"{kind} '{decl.name}' is declared twice (first at {where(first.span, decl.span)})",
                    decl.span,
                    "rename one of them or remove the duplicate",
                )
            )


def resolve_includes(agent: Agent, path: str | Path) -> tuple[Agent, list[Diagnostic]]:
    """``agent`` read from ``path`` with every include merged in (see the module docstring).

    Top-level includes contribute tools, variables, events, priorities, ``allow`` and
    top-level states (after the agent's own); a state's ``include`` gives it the file's
    states as children and the file's initial. The result has no includes left.
    """
    resolver = _Resolver()
    resolver.done[_key(path)] = agent
    try:
        resolved = resolver.resolve(agent, path, ())
    except RecursionError:
        return agent, [Diagnostic("E010", "input too complex (nesting too deep)", Span(str(path), 1, 1, 1, 1))]
    return resolved, resolver.diags
