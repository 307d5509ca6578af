"""The Lark parser for ``*.agent`` files and readable syntax-error messages.

The parser is built once from ``agent.lark`` (which imports ``expr.lark``). Lark reports
errors with terminal names (``_expr__LSQB``, ``__ANON_0``); :func:`syntax_error` turns them
into what a person would write: ``unexpected '}', expected '->', '/' or a statement``.
:func:`parse_text` goes on after an error at the next statement, to report several at once.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable
from copy import copy
from dataclasses import dataclass
from pathlib import Path

from lark import Lark, TextSlice, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import LexerState, LineCounter, PatternRE, PatternStr
from lark.parsers.lalr_interactive_parser import InteractiveParser
from lark.parsers.lalr_parser_state import ParserState

from counterpoint.dsl.diagnostics import Diagnostic, did_you_mean
from counterpoint.dsl.expr import parse as expr_parse
from counterpoint.dsl.expr.parse import ExprError, error_offset, parse_expr
from counterpoint.dsl.source import Span

GRAMMAR_PATH = Path(__file__).with_name("agent.lark")
EXPR_GRAMMAR_PATH = expr_parse.GRAMMAR_PATH

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
        import_paths=[EXPR_GRAMMAR_PATH.parent],
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


_LBRACE, _RBRACE = "_expr__LBRACE", "_expr__RBRACE"
#: Statements that open a block, and how the block is named in messages (as YAML names it).
_OWNERS = {"_STATE": "state", "_PARALLEL": "state", "_FINAL": "state", "_HISTORY": "state", "_TOOL": "tool"}
#: What may follow a tool's handler without braces (`timeout 5s, keep on interrupt`).
_TOOL_WORDS = frozenset({"description", "timeout", "keep", "cancel", "deliver"})


def _owner(stack: list[object], top: int) -> tuple[str, int] | None:
    """('tool', i) / ('state', i): the statement keyword at ``stack[i]`` owning the item at ``top``."""
    for i in range(top, -1, -1):
        item = stack[i]
        if isinstance(item, Token):
            if item.type == _LBRACE or item.type == _RBRACE:
                return None
            if item.type in _OWNERS:
                return _OWNERS[item.type], i
    return None  # pragma: no cover - an open block always has its statement below it


def _enclosing(stack: list[object], close: str | None) -> str:
    """Where a statement stands, worded as YAML words it: "state 's'", "tool 't'", "the agent"."""
    closed = 0  # blocks closed by a `}` not yet reduced (`state s { } promt`)
    braces = False
    for i in range(len(stack) - 1, -1, -1):
        item = stack[i]
        if not isinstance(item, Token):
            continue
        if item.type == _RBRACE or (item.type == _LBRACE and closed):
            closed += 1 if item.type == _RBRACE else -1
            braces = True
            continue
        found = None
        if item.type == _LBRACE:
            found = _owner(stack, i - 1)
            if found is None:  # pragma: no cover - `{` opens a state, a tool or settings
                return "the agent"
        elif item.type == "_TOOL" and not braces and (close is None or close in _TOOL_WORDS):
            found = ("tool", i)  # the short form: `tool t() = m:f timout 5s`
        if found is not None:
            kind, at = found
            name = stack[at + 1] if at + 1 < len(stack) else None
            return f"{kind} '{name}'" if isinstance(name, Token) else kind
    return "the agent"


def _unknown_statement(word: str, expected: set[str], ip: InteractiveParser, span: Span) -> Diagnostic | None:
    """E004, as YAML reports an unknown key, for a name where a statement is expected.

    Where the statement before could go on (`on x -> y z`: `,` or `/` could come), a name is
    taken for an unknown statement only when it looks like one (`promt`); else it stays E002.
    """
    g = _groups()
    statements = expected & g.statement
    if len(statements) < 4:
        return None
    words = sorted({_readable(n).strip("'") for n in statements})
    close = did_you_mean(word, [w for w in words if w != word])
    if close is None and expected - g.statement - {_RBRACE, "$END"}:
        return None
    where = _enclosing(ip.parser_state.value_stack, close.split("'")[1] if close else None)
    hint = close or "statements here: " + ", ".join(words)
    return Diagnostic("E004", f"unknown key '{word}' in {where}", span, hint)


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
            return _timer_error(text, tok, span)
        if tok.type in ("NAME", "expr__NAME"):
            mistake = _missing_arrow(text, tok, span) or _spaced_duration(text, tok, file)
            if mistake is not None:
                return mistake
        if tok.type in ("NAME", "expr__NAME") and ip is not None:
            unknown = _unknown_statement(str(tok), expected, ip, span)
            if unknown is not None:
                return unknown
        want, hint = describe_expected(expected)
        if str(tok).startswith("'") and "a string" in want:
            return Diagnostic(
                "E002",
                f"unexpected {_describe_token(tok)}: texts are written in double quotes",
                span,
                f"write \"{str(tok)[1:-1]}\"",
            )
        msg = f"unexpected {_describe_token(tok)}" + (f", expected {want}" if want else "")
        if tok.type in ("NAME", "expr__NAME"):
            hint = did_you_mean(str(tok), [k for k in _keywords(expected) if k != str(tok)]) or hint
        return Diagnostic("E002", msg, span, hint)
    if isinstance(e, UnexpectedEOF):  # pragma: no cover - LALR reports UnexpectedToken($END)
        line, col = _end_position(text)
        return Diagnostic("E002", "unexpected end of file", Span(file, line, col, line, col))
    return Diagnostic("E002", str(e), Span(file, 1, 1))  # pragma: no cover


#: Units written as a word after a space (``30 seconds``).
_UNIT_WORDS = frozenset({
    "ms", "millisecond", "milliseconds", "s", "sec", "secs", "second", "seconds",
    "m", "min", "mins", "minute", "minutes", "h", "hr", "hrs", "hour", "hours",
})  # fmt: skip
#: What follows ``after`` when it is no timer: a duration, maybe with its unit as a word.
_AFTER_WORDS = re.compile(r"[ \t]+([0-9][A-Za-z0-9_.]*)(?:[ \t]+([A-Za-z]+))?")


#: The start of a line up to an event transition's target: ``on user.said`` (then a name).
_ON_EVENTS = re.compile(r"[ \t]*on[ \t]+[A-Za-z0-9_.*]+(?:[ \t]*,[ \t]*[A-Za-z0-9_.*]+)*[ \t]+(?:internal[ \t]+)?")
#: Text before a unit word: ``after 30`` or ``every 30`` (then ``seconds``).
_NUMBER_BEFORE = re.compile(r"\b(?:after|every)[ \t]+([0-9][A-Za-z0-9_.]*)[ \t]+$")


def _missing_arrow(text: str, tok: Token, span: Span) -> Diagnostic | None:
    """``on user.said done``: a target without the ``->`` before it."""
    start = tok.start_pos or 0
    line = text[text.rfind("\n", 0, start) + 1 : start]
    if not _ON_EVENTS.fullmatch(line):
        return None
    return Diagnostic(
        "E002",
        f"missing '->' before the target '{tok}'",
        span,
        f"write `{line.strip()} -> {tok}`",
    )


def _spaced_duration(text: str, tok: Token, file: str) -> Diagnostic | None:
    """``every 30 seconds``: the unit written as a word after a space."""
    if str(tok).lower() not in _UNIT_WORDS:
        return None
    m = _NUMBER_BEFORE.search(text, 0, tok.start_pos or 0)
    return _duration_error(text, m.start(1), m[1], str(tok), file) if m else None


def _duration_error(text: str, offset: int, number: str, unit: str, file: str) -> Diagnostic:
    line, col = _line_col(text, offset)
    return Diagnostic(
        "E007",
        f"invalid duration '{number} {unit}': the unit is written right after the number",
        Span(file, line, col, line, col + len(number)),
        "write e.g. 500ms, 30s, 1.5s, 2m, 1h or 1m30s",
    )


def _timer_error(text: str, tok: Token, span: Span) -> Diagnostic:
    """``after`` that does not start a timer: a duration written with a space, or nothing to do."""
    m = _AFTER_WORDS.match(text, tok.end_pos or 0)
    if m and m[2] and m[2].lower() in _UNIT_WORDS:
        return _duration_error(text, m.start(1), m[1], m[2], span.file)
    duration = m[1] if m else "30s"
    return Diagnostic(
        "E002",
        f"the timer `after {duration}` needs a guard, a target or actions",
        span,
        f'write e.g. `after {duration} -> state` or `after {duration} / say "..."`',
    )


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
    offset = start + min(err.col_offset, tok_end - start)
    line, col = _line_col(text, offset)
    width = 1 if offset < len(text) and text[offset] != "\n" else 0  # at the end of a line: a point
    return Diagnostic("E011", prefix + err.message, Span(file, line, col, line, col + width))


# --------------------------------------------------------------------------- several errors in one run

#: Syntax errors reported at most per file; recoveries tried at most (reported or not).
MAX_SYNTAX_ERRORS = 20
MAX_RECOVERIES = 100
#: After a recovery, an error before this many tokens were taken is a consequence of the first
#: one (a cascade) and is not reported, as yacc does.
_QUIET_TOKENS = 3
#: Parser stacks deeper than this are not searched for a place to go on (hostile nesting).
_MAX_STACK = 5_000
#: How many stack cuts one parse may try in all (each costs a copy of the stack).
_MAX_TRIALS = 1_000

#: Skipped text, token by token: strings and comments whole (a `}` in them is no block end).
_SKIP = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*'
    r"|(?:[A-Za-z0-9_*]|-(?!>))+(?:\.(?:[A-Za-z0-9_*]|-(?!>))+)*|\S"
)


@functools.cache
def _statement_words() -> frozenset[str]:
    return frozenset(_readable(n).strip("'") for n in _groups().statement)


class _Recovery:
    """Finds where parsing can go on after a syntax error (panic mode, at statement level).

    Text after the error is skipped, counting braces, up to a statement keyword at the same or an
    outer block level, or a ``}`` closing the block the error is in; the parser stack is cut back
    to the innermost place, at that block level, where the keyword (or ``}``) can be taken.
    Statements cut short are dropped. Each recovery moves strictly forward in the text.
    """

    def __init__(self, text: str, ip: InteractiveParser):
        self.text = text
        self.ip = ip
        self.trials = 0
        self._newlines: list[int] | None = None

    @property
    def newlines(self) -> list[int]:
        if self._newlines is None:  # only when there is an error to recover from
            self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        return self._newlines

    def _line_counter(self, pos: int) -> LineCounter:
        lc = LineCounter("\n")
        k = bisect.bisect_left(self.newlines, pos)
        lc.char_pos = pos
        lc.line = k + 1
        lc.line_start_pos = self.newlines[k - 1] + 1 if k else 0
        lc.column = pos - lc.line_start_pos + 1
        return lc

    def _lexer_at(self, pos: int) -> LexerState:
        return LexerState(TextSlice(self.text, 0, len(self.text)), self._line_counter(pos))

    def resync(self, start: int) -> bool:
        """Go on at the first place after ``start`` where the parser can; False if there is none."""
        ps = self.ip.parser_state
        if len(ps.state_stack) > _MAX_STACK:
            return False
        nesting = [0]
        for v in ps.value_stack:
            kind = v.type if isinstance(v, Token) else ""
            nesting.append(nesting[-1] + (kind == _LBRACE) - (kind == _RBRACE))
        states = ps.parse_conf.states
        statement = _groups().statement
        cuts: dict[int, list[int]] = {}  # block level -> stack heights where a statement may stand
        for k in range(len(ps.state_stack), 0, -1):
            if any(t in states[ps.state_stack[k - 1]] for t in statement):
                cuts.setdefault(nesting[k - 1], []).append(k)
        level = nesting[-1]
        text, pos, depth = self.text, start, 0
        words = _statement_words()
        while self.trials < _MAX_TRIALS:
            m = _SKIP.search(text, pos)
            if m is None:
                return False
            word, at, pos = m[0], m.start(), m.end()
            if text.startswith('"""', at):
                end = text.find('"""', at + 3)
                if end < 0:
                    return False  # the rest of the file is inside an unterminated text
                pos = end + 3
                while pos < len(text) and text[pos] == '"':  # `"""ends with a quote""""`
                    pos += 1
            elif word in ('"', "'"):  # an unterminated string: only the braces of its line count
                end = text.find("\n", at)
                end = len(text) if end < 0 else end
                for i in range(at + 1, end):
                    if text[i] in "{}":
                        done, depth = self._brace(text[i], i, depth, level, cuts)
                        if done:
                            return True
                pos = end
            elif word in "{}":
                done, depth = self._brace(word, at, depth, level, cuts)
                if done:
                    return True
            elif word in words and depth <= 0 and self._try(at, cuts.get(level + depth, ()), None):
                return True
        return False

    def _brace(
        self, brace: str, at: int, depth: int, level: int, cuts: dict[int, list[int]]
    ) -> tuple[bool, int]:
        """Count a skipped brace; (True, _) when a `}` closing the error's block (or an outer one) was taken.

        A `}` with no block left to close is stray and not counted.
        """
        if brace == "{":
            return False, depth + 1
        if depth > 0:
            return False, depth - 1
        if level + depth <= 0:
            return False, depth
        return self._try(at, cuts.get(level + depth, ()), _RBRACE), depth - 1

    def _try(self, pos: int, heights: Iterable[int], want: str | None) -> bool:
        """Cut the stack to the first of ``heights`` that takes the keyword (or ``}``) at ``pos``."""
        ps = self.ip.parser_state
        lexer = self.ip.lexer_thread.lexer
        for k in list(heights)[:3]:
            self.trials += 1
            trial = ParserState(ps.parse_conf, ps.lexer, ps.state_stack[:k], ps.value_stack[: k - 1])
            try:
                tok = next(iter(lexer.lex(self._lexer_at(pos), trial)), None)
                if tok is None or tok.start_pos != pos:
                    continue
                if (tok.type != want) if want else (tok.type not in _groups().statement):
                    continue
                trial.feed_token(tok)
            except UnexpectedInput:
                continue
            del ps.state_stack[k:]
            del ps.value_stack[k - 1 :]
            self.ip.lexer_thread.state = self._lexer_at(pos)
            return True
        return False


def _error_end(e: UnexpectedInput, text: str) -> int | None:
    """Where skipping starts after an error: after the offending token or character."""
    if isinstance(e, UnexpectedToken):
        tok = e.token
        return None if tok.type == "$END" or tok.end_pos is None else tok.end_pos
    pos = error_offset(e)
    if pos >= len(text):
        return None
    if text[pos] not in "\"'":
        return pos + 1
    if '"""' in text[max(0, pos - 2) : pos + 3]:
        return None  # an unterminated """ string runs to the end of the file
    return pos  # an unterminated string: the skipper drops the rest of its line


def _unbalanced(e: UnexpectedInput, ps: ParserState[int]) -> bool:
    """A block left open at the end, or a `}` with no block to close.

    After an earlier error these are taken for its consequences (a brace skipped, or one too
    many, where the first error is): braces are counted over the whole file, so either may
    show far from the cause.
    """
    if not isinstance(e, UnexpectedToken) or e.token.type not in ("$END", _RBRACE):
        return False
    kinds = [v.type for v in ps.value_stack if isinstance(v, Token)]
    open_blocks = kinds.count(_LBRACE) - kinds.count(_RBRACE)
    return open_blocks > 0 if e.token.type == "$END" else open_blocks <= 0


def parse_text(text: str, file: str) -> tuple[Tree[Token] | None, list[Diagnostic]]:
    """Parse an ``*.agent`` text: the tree, or None and the syntax errors (E002/E004/E011).

    After an error, parsing goes on at the next statement (:class:`_Recovery`), so independent
    mistakes are reported together; an error close after a recovery point (fewer than
    ``_QUIET_TOKENS`` tokens taken) and an unclosed block at the end of the file after a recovery
    are consequences of earlier errors and not reported. The first error is always reported.
    """
    ip = parser().parse_interactive(text)
    ps, thread = ip.parser_state, ip.lexer_thread
    recovery = _Recovery(text, ip)
    diags: list[Diagnostic] = []
    recoveries = taken = 0
    last: Token | None = None
    while True:
        try:
            for tok in thread.lex(ps):
                ps.feed_token(tok)
                last, taken = tok, taken + 1
            end = Token.new_borrow_pos("$END", "", last) if last is not None else Token("$END", "", 0, 1, 1)
            tree = ps.feed_token(end, True)
            return (tree, []) if not diags else (None, diags)
        except UnexpectedInput as e:
            e.interactive_parser = InteractiveParser(ip.parser, ps, thread)
            start = _error_end(e, text)
            cascade = taken < _QUIET_TOKENS or _unbalanced(e, ps)
            if not diags or not cascade:
                diags.append(expression_error(e, text, file) or syntax_error(e, text, file))
            recoveries += 1
            if (
                start is None
                or len(diags) >= MAX_SYNTAX_ERRORS
                or recoveries > MAX_RECOVERIES
                or not recovery.resync(start)
            ):
                return None, diags
            taken = 0
