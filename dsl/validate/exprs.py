"""Checking expressions: syntax (E011), names (E107), functions (E116), ``In('id')`` (E101)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean
from counterpoint.dsl.expr.ast import Call, Literal, Name, Node, walk
from counterpoint.dsl.expr.eval import compile_expr
from counterpoint.dsl.expr.parse import (
    FUNCTIONS,
    ExprError,
    called_functions,
    free_names,
    parse_expr,
    parse_template,
)
from counterpoint.dsl.source import Span


def error_span(span: Span, source: str, offset: int) -> Span:
    """Where ``offset`` (0-based, into ``source``) is in the file, when that can be known.

    Exact for expressions written on one line as they read (the usual case); for multi-line
    text the line is advanced by the newlines before the offset. A place outside ``span`` means
    the source is not the text as written (a YAML list given as an initial value, an escaped
    string): then the whole span is the answer. A span that is a point (built in code) bounds nothing.
    """
    if span.line <= 0:
        return span
    offset = max(0, min(offset, len(source)))
    before = source[:offset]
    newlines = before.count("\n")
    if newlines == 0:
        if span.end_line != span.line:  # one line of source over several in the file: not as written
            return span
        at = (span.line, span.col + offset)
    else:
        at = (span.line + newlines, offset - before.rfind("\n"))
    end = (span.end_line, span.end_col)
    if at < (span.line, span.col) or (end > (span.line, span.col) and at > end):  # a point span: no extent known
        return span
    return Span(span.file, *at)


def _first_pos(node: Node, kind: type[Name | Call], name: str) -> int:
    """Offset of the first ``kind`` node (a Name or a Call) named ``name``; -1 if none."""
    for n in walk(node):
        if isinstance(n, kind) and (n.name if isinstance(n, Name) else n.func) == name:
            return n.pos
    return -1


def in_state_ids(node: Node) -> Iterator[tuple[str, int]]:
    """The literal state ids of ``In('id')`` calls in ``node``, with their offsets."""
    for n in walk(node):
        if isinstance(n, Call) and n.func == "In" and n.args and isinstance(n.args[0], Literal):
            value = n.args[0].value
            if isinstance(value, str):
                yield value, n.args[0].pos


#: Python's spellings of the literals, and the expression language's.
_LITERALS = {"None": "null", "True": "true", "False": "false", "NULL": "null", "TRUE": "true", "FALSE": "false"}


def _unknown_name_hint(name: str, names: set[str], bare_value: bool) -> str:
    if name in _LITERALS:
        return f"write {_LITERALS[name]} (the literals are null, true and false)"
    if bare_value:
        return (
            f"a text value needs quotes inside the expression: '{name}' (in YAML, quote it twice: "
            f"\"'{name}'\"), or declare {name} under vars:"
        )
    return did_you_mean(name, names) or "declare it under vars: or use a field of the event"


class ExprChecker:
    """Parses and checks expressions against the names and state ids in scope."""

    def __init__(self, diags: list[Diagnostic], state_ids: set[str]):
        self.diags = diags
        self.state_ids = state_ids

    def expr(self, source: str, span: Span, names: set[str] | None, what: str = "expression") -> Node | None:
        """Parse and check one expression; ``names`` None accepts any name."""
        try:
            node = parse_expr(source, span)
        except ExprError as err:
            self.diags.append(
                Diagnostic("E011", f"invalid {what}: {err.message}", error_span(span, source, err.col_offset))
            )
            return None
        except RecursionError:
            self.diags.append(Diagnostic("E010", f"{what} too complex (nesting too deep)", span))
            return None
        bare = isinstance(node, Name) and what.startswith("value for")
        where = lambda pos: error_span(span, source, pos) if pos >= 0 else span  # noqa: E731
        self.check_node(node, names, where, bare)
        if not self.compiles(node, where, what):
            return None
        return node

    def template(self, text: str, span: Span, names: set[str] | None, what: str) -> None:
        """Check every ``{expr}`` in a say/log text (reported at the action)."""
        try:
            parts = parse_template(text)
        except ExprError as err:
            self.diags.append(
                Diagnostic(
                    "E011",
                    f"invalid expression in {what} text: {err.message}",
                    span,
                    "write {{ and }} for literal braces",
                )
            )
            return
        except RecursionError:
            self.diags.append(Diagnostic("E010", f"{what} text too complex (nesting too deep)", span))
            return
        for part in parts:
            if not isinstance(part, str):
                self.check_node(part, names, lambda pos: span)
                self.compiles(part, lambda pos: span, f"{what} text")

    def compiles(self, node: Node, where: Callable[[int], Span], what: str) -> bool:
        """Whether the chart compiler accepts ``node`` (argument counts, depth): the same check, so
        validation and compilation never disagree. Unknown functions are E116, reported already."""
        try:
            compile_expr(node)
        except ExprError as err:
            if not any(isinstance(n, Call) and n.func not in FUNCTIONS for n in walk(node)):
                self.diags.append(Diagnostic("E011", f"invalid {what}: {err.message}", where(err.col_offset)))
            return False
        except RecursionError:
            self.diags.append(Diagnostic("E010", f"{what} too complex (nesting too deep)", where(-1)))
            return False
        return True

    def check_node(
        self, node: Node, names: set[str] | None, where: Callable[[int], Span], bare_value: bool = False
    ) -> None:
        """E107 for names not in ``names`` (None: any), E116 for unknown functions, E101 for In().

        ``bare_value``: the whole expression is one name given as a value, likely meant as text.
        """
        if names is not None:
            for name in sorted(free_names(node) - names):
                self.diags.append(
                    Diagnostic(
                        "E107",
                        f"unknown name '{name}' in expression",
                        where(_first_pos(node, Name, name)),
                        _unknown_name_hint(name, names, bare_value),
                    )
                )
        for fn in sorted(called_functions(node) - set(FUNCTIONS)):
            self.diags.append(
                Diagnostic(
                    "E116",
                    f"unknown function '{fn}' in expression",
                    where(_first_pos(node, Call, fn)),
                    did_you_mean(fn, FUNCTIONS) or f"available: {', '.join(sorted(FUNCTIONS))}",
                )
            )
        for sid, pos in in_state_ids(node):
            if sid not in self.state_ids:
                self.diags.append(
                    Diagnostic(
                        "E101",
                        f"In('{sid}') names an unknown state",
                        where(pos),
                        did_you_mean(sid, self.state_ids),
                    )
                )
