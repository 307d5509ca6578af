"""The Lark parser for ``*.agent`` files and readable syntax-error messages.

The parser is built once from ``agent.lark`` (which imports ``expr.lark``). Lark reports
errors with terminal names (``_expr__LSQB``, ``__ANON_0``); :func:`syntax_error` turns them
into what a person would write: ``unexpected '}', expected '->', '/' or a statement``.
"""

from __future__ import annotations

import functools
import re
from copy import copy
from dataclasses import dataclass
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternRE, PatternStr
from lark.parsers.lalr_interactive_parser import InteractiveParser

from .diagnostics import Diagnostic, did_you_mean
from .expr import ExprError, error_offset, parse_expr
from .source import Span

GRAMMAR_PATH = Path(__file__).with_name("agent.lark")

#: What to call the named terminals of agent.lark and expr.lark in messages.
_WORDS = {
    "NAME": "a name",
    "expr__NAME": "a name",
    "STRING": "a string",
    "expr__STRING": "a string",
    "DURATION": "a duration (e.g. 30s)",
    "INT": "an integer",
    "expr__INT": "an integer",
    "NUMBER": "a number",
    "expr__FLOAT": "a number",
    "HANDLER": "a handler (module:function)",
    "TIMER_AFTER": "'after'",
    "WHEN_IDLE": "'when idle'",
    "$END": "end of file",
}

#: Terminals that end a block or the file come last in "expected ..." lists.
_LAST = ("'}'", "end of file")


@functools.cache
def parser() -> Lark:
    return Lark.open(
        str(GRAMMAR_PATH),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
    )


@dataclass(frozen=True)
class _Groups:
    """Sets of terminals summarised as one word in messages (computed from the grammar)."""

    expression: frozenset[str]
    operator: frozenset[str]
    statement: frozenset[str]
    action: frozenset[str]


def _accepts(prefix: str) -> frozenset[str]:
    ip = parser().parse_interactive(prefix)
    ip.exhaust_lexer()
    return accepts(ip)


@functools.cache
def _terminal_names() -> frozenset[str]:
    return frozenset(t.name for t in parser().terminals) | {"$END"}


def accepts(ip: InteractiveParser) -> frozenset[str]:
    """The terminals the parser can take next, exactly (LALR lookahead sets are merged).

    Lark's own ``accepts`` skips namespaced terminals (``expr__NAME`` is not ``isupper``).
    """
    conf = copy(ip.parser_state.parse_conf)
    conf.callbacks = {}
    names = _terminal_names()
    out = set()
    for t in ip.choices():
        if t not in names:
            continue
        cursor = ip.copy(deepcopy_values=False)
        cursor.parser_state.parse_conf = conf
        try:
            cursor.feed_token(Token(t, ""))
        except UnexpectedToken:
            continue
        out.add(t)
    return frozenset(out)


@functools.cache
def _groups() -> _Groups:
    expression = _accepts("agent a state s { entry set x =")
    operator = _accepts("agent a state s { on e [a") - {_terminal_for("]")}
    statement = (_accepts("") | _accepts("agent a state s {") | _accepts("agent a tool t() = m:f {")) - {
        "$END",
        _terminal_for("}"),
    }
    action = _accepts("agent a state s { entry")
    return _Groups(expression, operator, statement, action)


def _terminal_for(literal: str) -> str:
    for t in parser().terminals:
        if isinstance(t.pattern, PatternStr) and t.pattern.value == literal:
            return t.name
    return literal  # pragma: no cover - every literal used above is in the grammar


@functools.cache
def _readable(name: str) -> str:
    """``'state'`` for keywords and punctuation, ``a name`` for NAME and so on."""
    if name in _WORDS:
        return _WORDS[name]
    for t in parser().terminals:
        if t.name == name:
            if isinstance(t.pattern, PatternStr):
                return f"'{t.pattern.value}'"
            if isinstance(t.pattern, PatternRE) and t.pattern.value.endswith("\\b"):
                return f"'{t.pattern.value[:-2]}'"
    return name.rsplit("__", 1)[-1].lower()


def _join(words: list[str]) -> str:
    if len(words) <= 2:
        return " or ".join(words)
    return ", ".join(words[:-1]) + ", or " + words[-1]


def describe_expected(expected: set[str]) -> tuple[str, str | None]:
    """A readable list of what the parser would accept, and a hint listing statements/actions."""
    g = _groups()
    names = set(expected)
    first: list[str] = []
    hint = None
    if len(names & g.expression) >= 3:
        first.append("an expression")
        names -= g.expression
    if len(names & g.operator) >= 3:
        first.append("an operator")
        names -= g.operator
    if len(names & g.action) >= 4:
        kws = sorted(_readable(n).strip("'") for n in names & g.action)
        first.append("an action")
        hint = "actions: " + ", ".join(kws)
        names -= g.action
    if len(names & g.statement) >= 4:
        kws = sorted({_readable(n).strip("'") for n in names & g.statement})
        first.append("a statement")
        hint = "statements here: " + ", ".join(kws)
        names -= g.statement
    # keywords and punctuation first, then the summaries, then the end of a block or file
    words = {_readable(n) for n in names}
    head = sorted(w for w in words if w not in _LAST)
    tail = [w for w in _LAST if w in words]
    return _join(head + first + tail), hint


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    text = str(tok)
    short = text if len(text) <= 30 else text[:27] + "..."
    if tok.type in ("NAME", "expr__NAME"):
        return f"name '{short}'"
    if tok.type in ("STRING", "expr__STRING"):
        return f"string {short}"
    return f"'{short}'"


def _keywords(expected: set[str]) -> list[str]:
    out = []
    for n in expected:
        word = _readable(n)
        if word.startswith("'") and word[1:-1].isidentifier():
            out.append(word[1:-1])
    return out


def _end_position(text: str) -> tuple[int, int]:
    """Line and column just after the last non-blank character (where 'end of file' is felt)."""
    body = text.rstrip()
    line = body.count("\n") + 1
    col = len(body) - (body.rfind("\n") + 1) + 1
    return line, col


def syntax_error(e: UnexpectedInput, text: str, file: str) -> Diagnostic:
    """An E002 diagnostic for a Lark error, at the exact position, in words."""
    if isinstance(e, UnexpectedCharacters):
        pos = error_offset(e)
        char = text[pos] if pos < len(text) else ""
        span = Span(file, e.line, e.column, e.line, e.column + 1)
        if text.startswith('"""', pos) or (char == '"' and text.startswith('"""', pos - 2)):
            if not text.startswith('"""', pos):  # the lexer took the first two quotes as ""
                span = Span(file, e.line, e.column - 2, e.line, e.column + 1)
            return Diagnostic("E002", 'unterminated """ string', span, 'close it with """')
        if char == '"':
            return Diagnostic(
                "E002",
                "unterminated string",
                span,
                'a "..." string ends on the same line; use """...""" for text over several lines',
            )
        allowed = set(e.allowed or ())
        ip = getattr(e, "interactive_parser", None)
        if ip is not None:
            allowed = set(accepts(ip)) or allowed
        want, hint = describe_expected(allowed)
        msg = f"unexpected character {char!r}" + (f", expected {want}" if want else "")
        if char == "'" and "a string" in want:
            hint = 'strings are written in double quotes: "..."'
        elif not char.isprintable() and not char.isspace():
            hint = "this does not look like text; is it a binary file?"
        return Diagnostic("E002", msg, span, hint)
    if isinstance(e, UnexpectedToken):
        tok = e.token
        expected = set(e.expected or ())
        ip = getattr(e, "interactive_parser", None)
        if ip is not None:
            expected = set(accepts(ip)) or expected
        if tok.type == "$END":
            line, col = _end_position(text)
            span = Span(file, line, col, line, col)
        else:
            span = Span(file, tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column)
        if str(tok) == "after" and "TIMER_AFTER" in expected:
            return Diagnostic(
                "E002",
                "a timer needs a guard, a target or actions",
                span,
                'write e.g. `after 30s -> state` or `after 30s / say "..."`',
            )
        want, hint = describe_expected(expected)
        msg = f"unexpected {_describe_token(tok)}" + (f", expected {want}" if want else "")
        if tok.type in ("NAME", "expr__NAME"):
            hint = did_you_mean(str(tok), [k for k in _keywords(expected) if k != str(tok)]) or hint
        return Diagnostic("E002", msg, span, hint)
    if isinstance(e, UnexpectedEOF):  # pragma: no cover - LALR reports UnexpectedToken($END)
        line, col = _end_position(text)
        return Diagnostic("E002", "unexpected end of file", Span(file, line, col, line, col))
    return Diagnostic("E002", str(e), Span(file, 1, 1))  # pragma: no cover


# --------------------------------------------------------------------------- errors inside expressions

#: Tokens that can end an expression in agent.lark (when no bracket of the expression is open).
_CLOSERS = frozenset({"_expr__RSQB", "_expr__RPAR", "_expr__RBRACE", "_expr__COMMA", "SEMICOLON", "__ANON_0"})
#: What may stand just before the ``[`` that opens a guard.
#: DSL terminals that are not words (names, keywords, literals).
_NOT_WORDS = frozenset({"EQUAL", "SEMICOLON", "__ANON_0", "OPTIONAL"})
_GUARD_AFTER = frozenset({"events", "INTERNAL", "_ALWAYS", "DURATION"})
_OPEN, _CLOSE = "([{", ")]}"


def _kind(item: object) -> str:
    return str(item.data) if isinstance(item, Tree) else getattr(item, "type", "")


def _in_expr(item: object) -> bool:
    kind = _kind(item)
    return kind.startswith(("expr__", "_expr__", "__expr__"))


def _depth(source: str) -> int:
    """Brackets of ``source`` still open (quoted strings skipped)."""
    depth = 0
    quote = ""
    escaped = False
    for c in source:
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
    return depth


def _expression_context(e: UnexpectedInput) -> tuple[int, str, bool] | None:
    """(start offset, message prefix, is a guard) of the expression being parsed at the error."""
    ip = getattr(e, "interactive_parser", None)
    if ip is None:
        return None
    stack = ip.parser_state.value_stack
    i = len(stack) - 1
    while i >= 0 and _in_expr(stack[i]):
        i -= 1
    if i < 0:
        return None
    stop = stack[i]
    kind = _kind(stop)
    above = stack[i + 1] if i + 1 < len(stack) else None
    if kind in _GUARD_AFTER and above is not None and _kind(above) == "_expr__LSQB":
        return above.end_pos, "invalid guard: ", True
    if kind not in ("EQUAL", "_IN") or not isinstance(stop, Token) or stop.end_pos is None:
        return None
    end = stop.end_pos
    if i + 1 == len(stack) and not ({"expr__NAME", "expr__INT"} & set(ip.choices())):
        return None  # `priority x = ...` takes an integer, not an expression
    if kind == "_IN":
        return end, "invalid enum: ", False
    name = stack[i - 1] if i >= 1 else None
    owner = _kind(stack[i - 2]) if i >= 2 else ""
    label = str(name) if isinstance(name, Token) else "?"
    if owner == "_VAR":
        return end, f"invalid initial value of '{label}': ", False
    return end, f"invalid value for '{label}': ", False


_COMMENT_OR_STRING = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|#[^\n]*")


def blank_comments(source: str) -> str:
    """``source`` with its ``#`` comments (outside strings) turned into spaces, so offsets keep."""
    if "#" not in source:
        return source
    return _COMMENT_OR_STRING.sub(lambda m: " " * len(m[0]) if m[0].startswith("#") else m[0], source)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _expr_failure(source: str) -> ExprError | None:
    try:
        parse_expr(blank_comments(source))
    except ExprError as err:
        return err
    except RecursionError:
        return ExprError("expression nested too deeply", 0)
    return None


def expression_error(e: UnexpectedInput, text: str, file: str) -> Diagnostic | None:
    """E011 for a Lark error inside an expression, worded as :func:`parse_expr` words it.

    The expression runs from its opener (``[`` of a guard, ``=`` of ``set``/``var``/an argument,
    ``in`` of an enum) to the offending token. If the text before the token is already an invalid
    expression (``1 +`` before ``}``), that is the error; else the token is, unless it could
    follow a complete expression (``]``, ``;``, a statement keyword...): then the DSL structure
    is wrong and this returns None (E002).
    """
    found = _expression_context(e)
    if found is None:
        return None
    start, prefix, guard = found
    if isinstance(e, UnexpectedToken):
        tok = e.token
        at_end = tok.type == "$END"
        tok_start = len(text) if at_end else tok.start_pos
        tok_end = len(text) if at_end else tok.end_pos
        kind = tok.type
    else:
        at_end = False
        tok_start = error_offset(e)
        tok_end = tok_start + 1
        kind = ""
    if tok_start is None or tok_end is None or tok_start < start:
        return None
    while start < tok_start and text[start].isspace():  # as a YAML string is stripped
        start += 1
    before = blank_comments(text[start:tok_start])
    depth = _depth(before)
    expr_word = kind in ("NAME", "expr__NAME", "expr__INT", "expr__FLOAT", "expr__STRING")
    dsl_word = (
        bool(kind) and not expr_word and not kind.startswith(("expr__", "_expr__")) and kind not in _NOT_WORDS
    )
    ends = at_end or dsl_word or (depth <= 0 and kind in _CLOSERS)
    err_before = _expr_failure(before)
    err: ExprError | None
    if err_before is not None:
        unfinished = err_before.col_offset >= len(before.rstrip())
        err = err_before if ends or not unfinished else _expr_failure(text[start:tok_end]) or err_before
    elif ends or (expr_word and not guard and depth <= 0):
        return None  # a complete expression, then something wrong for the DSL
    else:
        err = _expr_failure(text[start:tok_end])
    if err is None:
        return None
    line, col = _line_col(text, start + min(err.col_offset, tok_end - start))
    return Diagnostic("E011", prefix + err.message, Span(file, line, col, line, col + 1))
