"""AST and errors of the expression language (see :mod:`counterpoint.dsl.expr.parse` for the API).

Nodes are frozen dataclasses compared by structure. ``pos`` is the 0-based character offset
of the node in the parsed source (-1 for nodes built in code); it is excluded from equality
so a parsed tree equals the same tree built by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from counterpoint.dsl.source import NO_SPAN, Span


class ExprError(Exception):
    """A static error in an expression (syntax, unknown function, wrong argument count).

    ``col_offset`` is the 0-based character offset in the source text; ``span`` is the file
    position of the error when the caller passed the expression's span, else ``NO_SPAN``.
    """

    def __init__(self, message: str, col_offset: int = 0, span: Span = NO_SPAN) -> None:
        super().__init__(message)
        self.message = message
        self.col_offset = col_offset
        self.span = span

    def __str__(self) -> str:
        return self.message


class ExprRuntimeError(Exception):
    """An expression failed while being evaluated (unknown name, bad types, too large...)."""


def _pos() -> Any:
    return field(default=-1, compare=False, repr=False)


@dataclass(frozen=True)
class Literal:
    """A scalar literal: str, int, float, bool or None. Negative numbers parse as ``Unary('-', ...)``."""

    value: str | int | float | bool | None
    pos: int = _pos()


@dataclass(frozen=True)
class Name:
    name: str
    pos: int = _pos()


@dataclass(frozen=True)
class Member:
    """``obj.name``: the same as ``obj['name']``; only works on mappings."""

    obj: Node
    name: str
    pos: int = _pos()


@dataclass(frozen=True)
class Index:
    obj: Node
    index: Node
    pos: int = _pos()


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node
    pos: int = _pos()


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / %
    left: Node
    right: Node
    pos: int = _pos()


@dataclass(frozen=True)
class Compare:
    """``left ops[0] comparators[0] ops[1] comparators[1] ...`` (chains as in Python)."""

    left: Node
    ops: tuple[str, ...]  # == != < <= > >= in "not in"
    comparators: tuple[Node, ...]
    pos: int = _pos()


@dataclass(frozen=True)
class BoolOp:
    """``values[0] op values[1] op ...``; a parenthesised operand stays a nested node."""

    op: str  # "and" or "or"
    values: tuple[Node, ...]
    pos: int = _pos()


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...] = ()
    pos: int = _pos()


@dataclass(frozen=True)
class ListLit:
    items: tuple[Node, ...] = ()
    pos: int = _pos()


@dataclass(frozen=True)
class MapLit:
    items: tuple[tuple[str, Node], ...] = ()
    pos: int = _pos()


Node: TypeAlias = (
    Literal | Name | Member | Index | Unary | Binary | Compare | BoolOp | Call | ListLit | MapLit
)


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``, left to right."""
    if isinstance(node, Member):
        return (node.obj,)
    if isinstance(node, Index):
        return (node.obj, node.index)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Compare):
        return (node.left, *node.comparators)
    if isinstance(node, BoolOp):
        return node.values
    if isinstance(node, Call | ListLit):
        return node.args if isinstance(node, Call) else node.items
    if isinstance(node, MapLit):
        return tuple(v for _, v in node.items)
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Yield every node of the tree (pre-order), iteratively so deep trees cannot overflow."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))
