"""Typed access to composed YAML nodes, reporting what is wrong instead of raising.

The YAML front end is written against this small API: each accessor returns a value or
None and, when the node does not fit, records a diagnostic (E003/E004/E005/E007/E008/E115)
positioned at the offending node, so one pass reports as many problems as possible.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean
from counterpoint.dsl.durations import DurationError, parse_duration
from counterpoint.dsl.expr.parse import literal_source as _literal_source
from counterpoint.dsl.model import Expr
from counterpoint.dsl.names import EVENT_HINT, EVENT_RE, IDENT_HINT, IDENT_RE, PATTERN_HINT, PATTERN_RE
from counterpoint.dsl.source import Span
from counterpoint.dsl.yaml.nodes import YNode

S = TypeVar("S", bound=str)


def value_kind(value: Any) -> str:
    """How a value's type is named in messages: 'a list', 'an integer', 'null'..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "a mapping"


def kind_of(node: YNode) -> str:
    """How a node's type is named in messages (see :func:`value_kind`)."""
    if node.kind == "map":
        return "a mapping"
    if node.kind == "seq":
        return "a list"
    return value_kind(node.value)


def comma_cut(entries: Sequence[tuple[str, YNode, YNode]], allowed: Sequence[str]) -> list[tuple[str, YNode, YNode]]:
    """``{say: One moment, checking.}``: an unquoted text followed by the empty, unknown keys
    its commas made. The first entry and those keys, or [] when the entries do not start so."""
    if not entries:
        return []
    first = entries[0][2]
    if first.kind != "scalar" or first.style is not None or not isinstance(first.value, str):
        return []
    cut = [entries[0]]
    for key, k, v in entries[1:]:
        on_same_line = k.line == cut[-1][2].end_line  # a block mapping's keys have lines of their own
        if key in allowed or not on_same_line or k.style is not None or v.kind != "scalar" or v.value is not None:
            break
        cut.append((key, k, v))
    return cut if len(cut) > 1 else []


#: Python's spelling of "no value", which YAML reads as text.
_PYTHON_NONE = frozenset({"None", "NONE"})


class Reader:
    """Collects diagnostics for one file while nodes are turned into values."""

    def __init__(self, file: str):
        self.file = file
        self.diags: list[Diagnostic] = []

    # ------------------------------------------------------------------ reporting

    def span(self, start: YNode, end: YNode | None = None) -> Span:
        end = end or start
        return Span(self.file, start.line, start.col, end.end_line, end.end_col)

    def error(self, code: str, message: str, node: YNode | Span, hint: str | None = None) -> None:
        span = node if isinstance(node, Span) else self.span(node)
        self.diags.append(Diagnostic(code, message, span, hint))

    def wrong_type(self, node: YNode, what: str, expected: str) -> None:
        self.error("E005", f"{what} must be {expected}, got {kind_of(node)}", node)

    # ------------------------------------------------------------------ mappings

    def items(self, node: YNode, what: str) -> list[tuple[str, YNode, YNode]] | None:
        """The (key, key node, value node) entries of a mapping; duplicates reported (E003)."""
        if node.kind != "map":
            self.wrong_type(node, what, "a mapping")
            return None
        seen: dict[str, YNode] = {}
        out = []
        for k, v in node.value:
            if k.kind != "scalar":
                self.error("E005", f"keys in {what} must be strings, got {kind_of(k)}", k)
                continue
            key = k.text
            if key in seen:
                first = seen[key]
                self.error(
                    "E003",
                    f"duplicate key '{key}' in {what}",
                    k,
                    f"'{key}' is first given at line {first.line}, column {first.col}",
                )
                continue
            seen[key] = k
            out.append((key, k, v))
        return out

    def fields(self, node: YNode, what: str, allowed: Sequence[str]) -> dict[str, tuple[YNode, YNode]]:
        """Known keys of a mapping in written order; unknown keys reported (E004)."""
        out: dict[str, tuple[YNode, YNode]] = {}
        entries = self.items(node, what) or []
        absorbed: set[int] = set()  # empty keys a comma cut out of the text before them
        for i, (key, k, v) in enumerate(entries):
            if i in absorbed:
                continue
            if key not in allowed:
                self.unknown_key(key, k, what, allowed)
                continue
            out[key] = (k, v)
            cut = comma_cut(entries[i:], allowed)
            if cut:
                self.comma_error(cut)
                absorbed.update(range(i + 1, i + len(cut)))
        return out

    def comma_error(self, cut: list[tuple[str, YNode, YNode]]) -> None:
        """E005 for a text cut at its commas (see :func:`comma_cut`), at the first empty key."""
        key, _, value = cut[0]
        whole = ", ".join([value.text, *(k.text for _, k, _ in cut[1:])]).replace('"', '\\"')
        self.error(
            "E005",
            f"the text of '{key}' ends at a comma: in {{...}} a comma separates keys, so '{cut[1][0]}' "
            "was read as another key",
            cut[1][1],
            f'quote the text: {{{key}: "{whole}"}}',
        )

    def unknown_key(self, key: str, knode: YNode, what: str, allowed: Sequence[str]) -> None:
        hint = did_you_mean(key, allowed) or "valid keys: " + ", ".join(allowed)
        if key == "<<":
            hint = "merge keys ('<<') are not supported; write the keys out"
        self.error("E004", f"unknown key '{key}' in {what}", knode, hint)

    def missing(self, key: str, what: str, at: YNode, hint: str | None = None) -> None:
        self.error("E006", f"missing required key '{key}' in {what}", at, hint)

    # ------------------------------------------------------------------ scalars

    def text(self, node: YNode, what: str, required: bool = False) -> str | None:
        """A text; numbers and booleans are taken as written. Null means absent."""
        if node.kind != "scalar":
            self.wrong_type(node, what, "a text")
            return None
        if node.value is None:
            if required:
                self.wrong_type(node, what, "a text")
            return None
        return node.value if isinstance(node.value, str) else node.text

    def name(self, node: YNode, what: str) -> str | None:
        """An identifier (state, tool, variable, parameter, id)."""
        value = self.text(node, what, required=True)
        return self.check_name(value, node, what) if value is not None else None

    def check_name(
        self, value: str, node: YNode, what: str, rule: re.Pattern[str] = IDENT_RE, hint: str = IDENT_HINT
    ) -> str | None:
        if rule.fullmatch(value):
            return value
        self.error("E115", f"invalid {what} '{value}'", node, hint)
        return None

    def check_event(self, value: str, node: YNode, what: str, pattern: bool = False) -> str | None:
        if (PATTERN_RE if pattern else EVENT_RE).fullmatch(value):
            return value
        self.error("E115", f"invalid {what} '{value}'", node, PATTERN_HINT if pattern else EVENT_HINT)
        return None

    def event(self, node: YNode, what: str) -> str | None:
        value = self.text(node, what, required=True)
        return self.check_event(value, node, what) if value is not None else None

    def names(self, node: YNode, what: str) -> tuple[str, ...]:
        """One identifier or a list of them."""
        items = node.value if node.kind == "seq" else [node]
        if node.kind == "scalar" and node.value is None:
            return ()
        out = []
        for item in items:
            value = self.name(item, what)
            if value is not None:
                out.append(value)
        return tuple(out)

    def names_and_spans(self, node: YNode, what: str) -> tuple[tuple[str, ...], tuple[Span, ...]]:
        """Like :meth:`names`, with the span of each name."""
        if node.kind == "scalar" and node.value is None:
            return (), ()
        items = node.value if node.kind == "seq" else [node]
        pairs = [(value, self.span(item)) for item in items if (value := self.name(item, what)) is not None]
        return tuple(v for v, _ in pairs), tuple(s for _, s in pairs)

    def texts(self, node: YNode, what: str) -> list[tuple[str, YNode]]:
        """One text or a list of texts."""
        if node.kind == "scalar" and node.value is None:
            return []
        items = node.value if node.kind == "seq" else [node]
        out = []
        for item in items:
            value = self.text(item, what, required=True)
            if value is not None:
                out.append((value, item))
        return out

    def boolean(self, node: YNode, what: str) -> bool | None:
        if node.kind == "scalar" and isinstance(node.value, bool):
            return node.value
        self.wrong_type(node, what, "true or false")
        return None

    def integer(self, node: YNode, what: str) -> int | None:
        v = node.value
        if node.kind == "scalar" and isinstance(v, int) and not isinstance(v, bool):
            return v
        self.wrong_type(node, what, "an integer")
        return None

    def number(self, node: YNode, what: str) -> float | None:
        v = node.value
        if node.kind == "scalar" and isinstance(v, int | float) and not isinstance(v, bool):
            if math.isfinite(v):
                return float(v)
            self.error("E008", f"{what} must be a finite number, got {node.text}", node)
            return None
        self.wrong_type(node, what, "a number")
        return None

    def duration(self, node: YNode, what: str) -> float | None:
        if node.kind != "scalar":
            self.wrong_type(node, what, "a duration")
            return None
        return self.parse_duration(node.value, node, what)

    def parse_duration(self, value: Any, node: YNode, what: str) -> float | None:
        try:
            return parse_duration(value)
        except DurationError as e:
            self.error("E007", f"invalid duration for {what}: {e}", node)
            return None

    def choice(self, node: YNode, what: str, allowed: Sequence[S]) -> S | None:
        """One of ``allowed`` (E008 otherwise); typed as precisely as ``allowed`` is."""
        value = self.text(node, what, required=True)
        if value is None:
            return None
        for option in allowed:
            if option == value:
                return option
        hint = did_you_mean(value, allowed)
        self.error(
            "E008",
            f"invalid value '{value}' for {what}; allowed: {', '.join(allowed)}",
            node,
            hint,
        )
        return None

    def opt_choice(self, fields: dict[str, YNode], key: str, allowed: Sequence[S]) -> S | None:
        """``choice`` for an optional field: None when ``key`` is absent."""
        return self.choice(fields[key], f"'{key}'", allowed) if key in fields else None

    # ------------------------------------------------------------------ expressions and literals

    def expr_span(self, node: YNode, source_start: int = 0) -> Span:
        """Where the expression text starts: past the quote and any stripped leading blanks."""
        col = node.col
        if node.style in ("'", '"'):
            col += 1
        if node.line == node.end_line:
            col += source_start
        return Span(self.file, node.line, col, node.end_line, node.end_col)

    def guard(self, node: YNode, what: str = "'guard'") -> Expr | None:
        if node.kind == "scalar" and isinstance(node.value, str):
            return self._source(node, node.value)
        if node.kind == "scalar" and node.value is None:
            return None
        self.error(
            "E005",
            f"{what} must be an expression written as a string, got {kind_of(node)}",
            node,
            'quote it if needed, e.g. guard: "count > 1"',
        )
        return None

    def value(self, node: YNode, what: str) -> Expr | None:
        """An expression: a string is its source; a number, boolean or null is that literal."""
        if node.kind == "scalar":
            v = node.value
            if isinstance(v, str):
                return self._source(node, v)
            if isinstance(v, float) and not math.isfinite(v):
                self.error("E008", f"{what} must be a finite number, got {node.text}", node)
                return None
            return Expr(json.dumps(v), self.expr_span(node))
        self.error(
            "E005",
            f"{what} must be an expression (a string) or a number, boolean or null, got {kind_of(node)}",
            node,
            'write lists and maps inside a string, e.g. "[1, 2]"',
        )
        return None

    def _source(self, node: YNode, text: str) -> Expr:
        stripped = text.strip()
        lead = len(text) - len(text.lstrip())
        return Expr(stripped, self.expr_span(node, lead))

    def literal(self, node: YNode, what: str) -> Expr | None:
        """A literal value (variables' initial values), kept as canonical expression source."""
        ok, value = self._literal_value(node, what)
        if not ok:
            return None
        return Expr(_literal_source(value), self.expr_span(node))

    def _literal_value(self, node: YNode, what: str) -> tuple[bool, Any]:
        if node.kind == "scalar":
            v = node.value
            if isinstance(v, float) and not math.isfinite(v):
                self.error("E008", f"{what} must be a finite number, got {node.text}", node)
                return False, None
            if node.style is None and v in _PYTHON_NONE:
                self.error(
                    "W205",
                    f"{what} is the text '{v}' (YAML writes no value as null)",
                    node,
                    f"write null for no value, or quote it (\"{v}\") if you mean the text",
                )
            return True, v
        if node.kind == "seq":
            out_list = []
            ok = True
            for item in node.value:
                item_ok, item_value = self._literal_value(item, what)
                ok = ok and item_ok
                out_list.append(item_value)
            return ok, out_list
        items = self.items(node, what)
        if items is None:
            return False, None
        out_map = {}
        ok = len(items) == len(node.value)
        for key, _, v in items:
            item_ok, item_value = self._literal_value(v, what)
            ok = ok and item_ok
            out_map[key] = item_value
        return ok, out_map
