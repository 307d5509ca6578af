"""Statechart diagrams: an agent drawn the way Harel/UML statecharts are drawn, via Graphviz.

Compound states become rounded clusters, parallel states clusters of dashed regions,
atomic states rounded boxes with their internal activities (``entry / say "Hi"``) in a
second compartment. Edges to and from a cluster point at an invisible anchor node inside
it and are clipped at the border (``compound=true`` + ``lhead``/``ltail``).

An included standard region (``std:dialog``) is drawn compactly, as one box naming its
states, unless ``expand`` asks for it in full. Labels cut short carry their full text as a
tooltip (shown when hovering over an SVG).

Node names are generated (``s3``, ``cluster_3``…) from document order and every text is
an escaped HTML-like label, so hostile ids cannot break the dot syntax and the output is
deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import graphviz

from counterpoint.dsl.diagnostics import did_you_mean
from counterpoint.dsl.files import standard_region
from counterpoint.dsl.model import Action, Agent, State, StateKind, Timer, Transition, walk_states
from counterpoint.dsl.render.labels import (
    NAME_MAX,
    PROMPT_MAX,
    actions_text,
    activity_text,
    clean,
    edge_lines,
    esc,
    shorten,
)
from counterpoint.dsl.text.printer import actions_line, statement_text

FORMATS = ("svg", "png", "pdf", "dot")
INSTALL_HINT = "install Graphviz: apt-get install graphviz"

FONT = "DejaVu Sans"
INK = "#3c4650"  # text and borders
EDGE = "#5f6b78"
MUTED = "#7b8794"  # prompts, tools, region labels
STATE_FILL = "#f3f6f9"
CLUSTER_FILL = "#fbfcfd"
REGION_FILL = "#ffffff"
ACTIVE_FILL = "#ffdd80"  # active leaf states stand out against their active ancestors
ACTIVE_CLUSTER_FILL = "#fff7e0"
ACTIVE_LINE = "#b86e00"
TOOL_MARK = "⚙"  # glyphs checked to exist in DejaVu Sans (PNG/PDF rendering)
PROMPT_MARK = "✎"
PARALLEL_MARK = "‖"


class RenderError(Exception):
    """A diagram could not be produced; ``hint`` says what to do about it."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(f"{message}\n  hint: {hint}" if hint else message)


@dataclass(frozen=True)
class _Info:
    """Where a state lives in the drawing."""

    index: int
    state: State
    parent: State | None
    compact: bool = False  # an included standard region, drawn as one box

    @property
    def is_cluster(self) -> bool:
        return (
            not self.compact
            and bool(self.state.children)
            and self.state.kind in (StateKind.STATE, StateKind.PARALLEL)
        )

    @property
    def top(self) -> str:
        """Where edges enter: the state's node, or the invisible anchor atop its cluster."""
        return f"a{self.index}" if self.is_cluster else f"s{self.index}"

    @property
    def bottom(self) -> str:
        """Where edges leave: the state's node, or the invisible anchor below its cluster."""
        return f"z{self.index}" if self.is_cluster else f"s{self.index}"

    @property
    def cluster(self) -> str:
        return f"cluster_{self.index}"


def to_dot(agent: Agent, highlight: Iterable[str] = (), expand: bool = False) -> str:
    """The diagram as Graphviz dot text; ``highlight`` names states to mark as active,
    ``expand`` draws included standard regions in full."""
    return cast(str, _Builder(agent, highlight, expand).build().source)


def render(agent: Agent, fmt: str, highlight: Iterable[str] = (), expand: bool = False) -> bytes:
    """The diagram as ``svg``, ``png``, ``pdf`` or ``dot`` bytes; raises :class:`RenderError`."""
    if fmt not in FORMATS:
        raise RenderError(
            f"unknown diagram format '{fmt}'",
            did_you_mean(fmt, FORMATS) or f"use one of: {', '.join(FORMATS)}",
        )
    source = to_dot(agent, highlight, expand)
    if fmt == "dot":
        return source.encode("utf-8")
    try:
        return cast(bytes, graphviz.pipe("dot", fmt, source.encode("utf-8"), quiet=True))
    except graphviz.ExecutableNotFound as exc:
        raise RenderError("the Graphviz 'dot' program was not found", INSTALL_HINT) from exc
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        reason = f": {detail[-1]}" if detail else ""
        raise RenderError(f"Graphviz 'dot' failed{reason}", INSTALL_HINT) from exc
    except OSError as exc:
        raise RenderError(f"could not run Graphviz 'dot': {exc}", INSTALL_HINT) from exc


# --------------------------------------------------------------------------- building the graph


class _Builder:
    def __init__(self, agent: Agent, highlight: Iterable[str], expand: bool = False):
        self.agent = agent
        self.expand = expand
        self.infos: dict[str, _Info] = {}
        self._index(agent.states, None)
        self.active = self._check_highlight(highlight)
        self.unknown: dict[str, str] = {}  # unknown target id -> node name (invalid models)

    def _index(self, states: tuple[State, ...], parent: State | None) -> None:
        for state in states:
            if state.id in self.infos:
                continue  # a duplicate id (invalid model): only the first one is drawn
            compact = not self.expand and standard_region(state) is not None
            info = self.infos[state.id] = _Info(len(self.infos), state, parent, compact)
            if info.is_cluster:  # children of finals/history (invalid) are not drawn
                self._index(state.children, state)
            elif compact:  # its states stand for the box: edges to them end there
                for inner in walk_states(state.children):
                    self.infos.setdefault(inner.id, info)

    def _check_highlight(self, highlight: Iterable[str]) -> frozenset[str]:
        if isinstance(highlight, str):
            highlight = (highlight,)
        active = frozenset(highlight)
        for name in sorted(active):
            if name not in self.infos:
                hint = did_you_mean(name, self.infos) or "highlight takes state ids of this agent"
                raise RenderError(f"cannot highlight unknown state '{name}'", hint)
        return active

    # ------------------------------------------------------------------ structure

    def build(self) -> graphviz.Digraph:
        g = graphviz.Digraph(name="statechart")
        g.attr(
            "graph",
            compound="true",
            rankdir="TB",
            newrank="true",
            fontname=FONT,
            fontsize="11",
            fontcolor=INK,
            nodesep="0.35",
            ranksep="0.4",
            labelloc="t",
            labeljust="l",
            label=f'<<B><FONT POINT-SIZE="13">{esc(self.agent.name)}</FONT></B>>',
            bgcolor="white",
            pad="0.2",
            forcelabels="true",
        )
        g.attr("node", fontname=FONT, fontsize="10", fontcolor=INK, color=INK)
        g.attr("edge", fontname=FONT, fontsize="9", fontcolor=INK, color=EDGE, arrowsize="0.7")
        self._initial_dot(g, "i_root", self.agent.initial, self.agent.states)
        for state in self.agent.states:
            self._state(g, state, in_parallel=False)
        for state in walk_states(self.agent.states):
            if self._owns(state):
                self._edges(g, state)
        for target, name in self.unknown.items():
            g.node(name, label=f"<? {esc(shorten(target, 48))}>", shape="box", style="dashed", color=MUTED)
        return g

    def _owns(self, state: State) -> bool:
        return self.infos.get(state.id, None) is not None and self.infos[state.id].state is state

    def _state(self, g: graphviz.Digraph, state: State, in_parallel: bool) -> None:
        if not self._owns(state):
            return
        info = self.infos[state.id]
        if info.is_cluster:
            self._cluster(g, state, info, region=in_parallel)
        elif info.compact:
            g.node(info.top, label=self._compact_label(state), shape="plain", tooltip=self._tooltip(state))
        elif state.kind is StateKind.HISTORY:
            g.node(
                info.top,
                label="H*" if state.history == "deep" else "H",
                shape="circle",
                width="0.3",
                fixedsize="true",
                fontsize="9",
                **self._active_node(state),
            )
            for target in state.default:
                tail, head, attrs = self._edge_ends(state, target)
                g.edge(tail, head, style="dashed", **attrs)
        elif state.kind is StateKind.FINAL:
            self._final(g, state, info)
        else:
            g.node(info.top, label=self._box_label(state), shape="plain", tooltip=self._tooltip(state))

    def _cluster(self, g: graphviz.Digraph, state: State, info: _Info, region: bool) -> None:
        parallel = state.kind is StateKind.PARALLEL
        active = state.id in self.active
        with g.subgraph(name=info.cluster) as c:
            style = ["rounded", "filled"]
            if region:
                style.append("dashed")
            if active:
                style.append("bold")
            c.attr(
                label=self._cluster_label(state, parallel),
                style=",".join(style),
                color=ACTIVE_LINE if active else (MUTED if region else INK),
                fillcolor=ACTIVE_CLUSTER_FILL if active else (REGION_FILL if region else CLUSTER_FILL),
                penwidth="2" if active else "1",
                labeljust="l",
                margin="10",
                tooltip=self._tooltip(state),
            )
            # Anchors: edges from outside attach to the top one or leave from the bottom one
            # and are clipped at the border (lhead/ltail); invisible edges keep the children
            # between them so the cluster reads top to bottom.
            for anchor in (info.top, info.bottom):
                c.node(anchor, label="", shape="point", style="invis", width="0.01", height="0.01")
            if self._leads_inside(state):
                # the state's own transitions to its descendants start at a small hollow circle at
                # its top (UML's entry point), not at an invisible point that leaves them dangling
                c.node(info.top, shape="circle", style="filled", fillcolor="white", color=MUTED,
                       width="0.1", height="0.1", fixedsize="true", tooltip=f"transitions of {clean(state.id)}")
            if not parallel:
                self._initial_dot(c, f"i{info.index}", state.initial, state.children, state.initial_actions)
                c.edge(info.top, f"i{info.index}", style="invis", minlen="0")
            for child in state.children:
                self._state(c, child, in_parallel=parallel)
            for child in state.children:
                if self._owns(child):
                    c.edge(self.infos[child.id].bottom, info.bottom, style="invis", weight="0", minlen="0")
            if parallel:
                self._order_regions(c, info.top, state.children)
            # history pseudo-states sit next to the initial dot, at the top of the state
            memories = [
                self.infos[h.id].top for h in state.children if h.kind is StateKind.HISTORY and self._owns(h)
            ]
            if memories:
                with c.subgraph() as row:
                    row.attr(rank="same")
                    for name in (info.top if parallel else f"i{info.index}", *memories):
                        row.node(name)

    def _leads_inside(self, state: State) -> bool:
        """Whether one of the state's own transitions targets one of its descendants."""
        return any(
            target in self.infos and self._encloses(state, self.infos[target].state)
            for item in _outgoing(state)
            for target in item.targets
        )

    def _order_regions(self, g: graphviz.Digraph, top: str, regions: tuple[State, ...]) -> None:
        """Regions side by side in document order: edges from the parallel state's top anchor
        one rank down to each region keep dot's initial order (same-rank ones get reversed)."""
        for region in regions:
            if self._owns(region):
                g.edge(top, self.infos[region.id].top, style="invis", weight="0")

    def _final(self, g: graphviz.Digraph, state: State, info: _Info) -> None:
        active = state.id in self.active
        if not self._activities(state):
            # UML final state: a bullseye, named beside it
            g.node(
                info.top,
                # fixedsize=shape: edges touch the circle, layout reserves room for the name,
                # which an empty first row pushes below the circle
                label=(
                    '<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR><TD HEIGHT="28"> </TD></TR>'
                    f'<TR><TD HEIGHT="12">{esc(shorten(state.id, 48))}</TD></TR></TABLE>>'
                ),
                shape="doublecircle",
                style="filled",
                fillcolor=ACTIVE_LINE if active else INK,
                color=ACTIVE_LINE if active else INK,
                width="0.13",
                fixedsize="shape",
                fontsize="9",
                **({"penwidth": "2"} if active else {}),
            )
            return
        # A final state with entry/exit actions: a double-bordered box, so the actions fit.
        g.node(info.top, label=self._box_label(state, double=True), shape="plain", tooltip=self._tooltip(state))

    def _initial_dot(
        self,
        g: graphviz.Digraph,
        name: str,
        initial: str | None,
        states: tuple[State, ...],
        actions: tuple[Action, ...] = (),
    ) -> None:
        target = initial if initial is not None else (states[0].id if states else None)
        if target is None:
            return
        g.node(name, label="", shape="circle", style="filled", fillcolor=INK, width="0.14", fixedsize="true")
        info = self.infos.get(target)
        label = {"label": f"<{esc('/ ' + actions_text(actions))}>"} if actions else {}
        if info is None:
            g.edge(name, self._unknown(target), **label)
        else:
            g.edge(name, info.top, **label, **({"lhead": info.cluster} if info.is_cluster else {}))

    # ------------------------------------------------------------------ edges

    def _edges(self, g: graphviz.Digraph, state: State) -> None:
        for item in _outgoing(state):
            if not item.targets:
                continue  # drawn inside the state as an internal activity
            label = self._edge_label(item)
            tip = _tip([statement_text(item)])
            for target in item.targets:
                tail, head, attrs = self._edge_ends(state, target)
                if label:
                    # a self-loop's label would sit on its own small loop: an external label
                    # is placed where nothing else is drawn
                    attrs["xlabel" if tail == head else "label"] = label
                g.edge(tail, head, tooltip=tip, labeltooltip=tip, **attrs)

    def _edge_ends(self, source: State, target: str) -> tuple[str, str, dict[str, str]]:
        """Layout tail, head and attributes of one transition edge.

        Edges leave a cluster from its bottom anchor and enter at its top one, clipped at
        the border, unless one end encloses the other (dot rejects lhead/ltail then). Back
        edges (to a state earlier in document order) are laid out reversed with
        ``dir=back``, so the chart reads top to bottom in the order it was written.
        """
        src = self.infos[source.id]
        dst = self.infos.get(target)
        if dst is None:
            return src.bottom, self._unknown(target), {}
        if dst.state.kind is StateKind.HISTORY:
            # "go back" edges should not shape the layout
            return src.bottom, dst.top, {**self._clip(src, dst), "constraint": "false"}
        if dst.index >= src.index:
            return (
                (src.top if self._encloses(src.state, dst.state) else src.bottom),
                dst.top,
                self._clip(src, dst),
            )
        tail = dst.top if self._encloses(dst.state, src.state) else dst.bottom
        return tail, src.top, {**self._clip_back(src, dst), "dir": "back"}

    def _clip(self, src: _Info, dst: _Info) -> dict[str, str]:
        """``ltail``/``lhead`` for a forward edge src -> dst."""
        attrs: dict[str, str] = {}
        if src.is_cluster and not self._encloses(src.state, dst.state):
            attrs["ltail"] = src.cluster
        if dst.is_cluster and not self._encloses(dst.state, src.state):
            attrs["lhead"] = dst.cluster
        return attrs

    def _clip_back(self, src: _Info, dst: _Info) -> dict[str, str]:
        """Clipping for a back edge src -> dst laid out as dst -> src."""
        return {{"ltail": "lhead", "lhead": "ltail"}[k]: v for k, v in self._clip(src, dst).items()}

    def _encloses(self, outer: State, inner: State) -> bool:
        node: State | None = inner
        while node is not None:
            if node is outer:
                return True
            node = self.infos[node.id].parent if node.id in self.infos else None
        return False

    def _unknown(self, target: str) -> str:
        if target not in self.unknown:
            self.unknown[target] = f"u{len(self.unknown)}"
        return self.unknown[target]

    def _edge_label(self, item: Transition | Timer) -> str:
        lines = edge_lines(item)
        if not lines:
            return ""
        return "<" + "<BR/>".join(esc(line) for line in lines) + ">"

    # ------------------------------------------------------------------ labels

    def _activities(self, state: State) -> list[str]:
        """UML internal activities: entry/exit, targetless transitions and timers."""
        lines = []
        if state.entry:
            lines.append(f"entry / {actions_text(state.entry)}")
        if state.exit:
            lines.append(f"exit / {actions_text(state.exit)}")
        if state.data:  # a final state's output
            lines.append("data / " + ", ".join(shorten(k, NAME_MAX) for k, _ in state.data))
        for item in _outgoing(state):
            if not item.targets:
                lines.append(activity_text(item))
        return lines

    def _notes(self, state: State) -> list[str]:
        """Prompt and tools of a state, shown small and muted."""
        notes = []
        if state.prompt:
            notes.append(f"{PROMPT_MARK} {shorten(state.prompt, PROMPT_MAX)}")
        if state.tools:
            notes.append(f"{TOOL_MARK} {shorten(', '.join(state.tools), PROMPT_MAX)}")
        if state.include and not state.children:
            notes.append(f"include {shorten(state.include, PROMPT_MAX)}")
        return notes

    def _compartment(self, state: State) -> str:
        """Rows under a state's name: activities, then muted notes (HTML, may be empty)."""
        rows = []
        lines = self._activities(state)
        if lines:
            text = '<BR ALIGN="LEFT"/>'.join(esc(line) for line in lines)
            rows.append(f'<TR><TD ALIGN="LEFT" BALIGN="LEFT">{text}<BR ALIGN="LEFT"/></TD></TR>')
        notes = self._notes(state)
        if notes:
            text = '<BR ALIGN="LEFT"/>'.join(esc(line) for line in notes)
            rows.append(
                f'<TR><TD ALIGN="LEFT" BALIGN="LEFT"><FONT COLOR="{MUTED}" POINT-SIZE="9">'
                f'{text}<BR ALIGN="LEFT"/></FONT></TD></TR>'
            )
        return "".join(rows)

    def _box_label(self, state: State, double: bool = False) -> str:
        active = state.id in self.active
        fill = ACTIVE_FILL if active else STATE_FILL
        line = ACTIVE_LINE if active else INK
        border = "2" if active else "1"
        body = self._compartment(state)
        name = f"<B>{esc(state.id)}</B>"
        rows = f'<TR><TD CELLPADDING="5">{name}</TD></TR>'
        if body:
            rows += f'<HR/><TR><TD><TABLE BORDER="0" CELLPADDING="1" CELLSPACING="0">{body}</TABLE></TD></TR>'
        table = (
            f'<TABLE BORDER="{border}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" STYLE="rounded" '
            f'BGCOLOR="{fill}" COLOR="{line}">{rows}</TABLE>'
        )
        if double:
            table = (
                f'<TABLE BORDER="{border}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2" STYLE="rounded" '
                f'COLOR="{line}" BGCOLOR="{fill}"><TR><TD>{table}</TD></TR></TABLE>'
            )
        return f"<{table}>"

    def _cluster_label(self, state: State, parallel: bool) -> str:
        name = f"<B>{esc(state.id)}</B>"
        if parallel:
            name = f'{PARALLEL_MARK} {name} <FONT COLOR="{MUTED}" POINT-SIZE="9">(parallel)</FONT>'
        body = self._compartment(state)
        rows = f'<TR><TD ALIGN="LEFT">{name}</TD></TR>{body}'
        return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{rows}</TABLE>>'

    def _compact_label(self, state: State) -> str:
        """An included standard region as one box: its name, what it includes, its states."""
        inner = [c for c in state.children if c.kind is not StateKind.HISTORY]
        active = state.id in self.active or any(s.id in self.active for s in walk_states(state.children))
        names = ", ".join(
            f'<FONT COLOR="{ACTIVE_LINE}"><B>{esc(c.id)}</B></FONT>' if c.id in self.active else esc(c.id)
            for c in inner
        )
        fill, line, border = (ACTIVE_FILL, ACTIVE_LINE, "2") if active else (REGION_FILL, MUTED, "1")
        return (
            f'<<TABLE BORDER="{border}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" STYLE="rounded,dashed" '
            f'BGCOLOR="{fill}" COLOR="{line}"><TR><TD ALIGN="LEFT"><B>{esc(state.id)}</B> '
            f'<FONT COLOR="{MUTED}" POINT-SIZE="9">{esc(standard_region(state) or "")}</FONT></TD></TR>'
            f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9">{names}</FONT></TD></TR></TABLE>>'
        )

    def _tooltip(self, state: State) -> str:
        """Everything a state's box shows, uncut: its activities, prompt and tools."""
        lines = [state.id]
        if state.entry:
            lines.append(f"entry {actions_line(state.entry)}")
        if state.exit:
            lines.append(f"exit {actions_line(state.exit)}")
        lines += [statement_text(item) for item in _outgoing(state) if not item.targets]
        if state.prompt:
            lines.append(f"prompt: {state.prompt}")
        if state.tools:
            lines.append(f"tools: {', '.join(state.tools)}")
        if self.infos[state.id].compact:
            lines.append(f"states: {', '.join(c.id for c in state.children)}")
        return _tip(lines)

    def _active_node(self, state: State) -> dict[str, str]:
        if state.id not in self.active:
            return {}
        return {"style": "filled,bold", "fillcolor": ACTIVE_FILL, "color": ACTIVE_LINE, "penwidth": "2"}


def _outgoing(state: State) -> tuple[Transition | Timer, ...]:
    return (*state.transitions, *state.timers)


def _tip(lines: list[str]) -> str:
    """Tooltip text for dot: an escString (backslashes and quotes escaped, lines joined by
    dot's newline escape), never taken for an HTML-like label."""
    escaped = (clean(line).replace("\\", "\\\\").replace('"', '\\"') for line in lines)
    return cast(str, graphviz.nohtml("\\n".join(escaped)))
