"""The safe expression language: parsing, analysis, literals, templates (evaluation: expr_eval).

Expressions are parsed with ``expr.lark`` (LALR) into frozen AST nodes and interpreted by a
tree of closures (:func:`compile_expr`); nothing is ever passed to Python's ``eval``.

Embedding in another Lark grammar (this is what ``agent.lark`` does)::

    %import expr (expr)          // with import_paths=[the folder of expr.lark]

    parser = Lark.open("agent.lark", import_paths=[GRAMMAR_PATH.parent], parser="lalr", propagate_positions=True)
    for sub in tree.find_data("expr"):            # `expr` is never inlined
        source = text[sub.meta.start_pos:sub.meta.end_pos]
        node = parse_expr(source, span)           # re-parse the slice into an AST

The importer must ``%ignore`` whitespace itself; expr.lark has no ``%ignore``. A parenthesised
expression's slice includes its parentheses; a surrounding ``[...]`` of the importer is not included.

Language choices (see also docs/language.md, "Expressions"):

- precedence as in Python: ``or`` < ``and`` < ``not`` < comparisons and ``in``/``not in``
  < ``+ -`` < ``* / %`` < unary ``-`` < ``.name``, ``[index]``, calls;
- comparisons chain as in Python (``0 < x <= 10``);
- ``and``/``or`` short-circuit and return an operand, as in Python (``name or 'friend'``);
  ``not`` returns a boolean;
- keywords ``and or not in true false null`` cannot be names; names starting with ``__`` are rejected;
- only whitelisted functions (:data:`FUNCTIONS`) can be called; ``In('id')`` asks the environment
  whether a state is active;
- limits: sources of at most 10,000 characters, nesting at most 100 levels, integers of at most
  4096 bits, strings/lists of at most 1,000,000 elements (exceeding them is an ExprError or
  ExprRuntimeError, never a RecursionError or a hang).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from counterpoint.dsl.expr.ast import (
    Binary,
    BoolOp,
    Call,
    Compare,
    ExprError,
    ExprRuntimeError,
    Index,
    ListLit,
    Literal,
    MapLit,
    Member,
    Name,
    Node,
    Unary,
    children,
    walk,
)
from counterpoint.dsl.expr.eval import (
    FUNCTIONS,
    MAX_INT,
    MAX_SIZE,
    Env,
    MappingEnv,
    compile_expr,
    to_text,
)
from counterpoint.dsl.source import NO_SPAN, Span

__all__ = [
    "BoolOp", "Binary", "Call", "Compare", "Env", "ExprError", "ExprRuntimeError", "FUNCTIONS", "GRAMMAR_PATH",
    "Index", "ListLit", "Literal", "MapLit", "MappingEnv", "Member", "Name", "Node", "Unary", "called_functions",
    "compile_expr", "compile_template", "evaluate", "free_names", "literal_source", "literal_value",
    "parse_expr", "parse_template", "render_template", "to_source", "to_text", "walk", "children",
]  # fmt: skip

#: The grammar file, for grammars that import it.
GRAMMAR_PATH = Path(__file__).with_name("expr.lark")

MAX_SOURCE = 10_000
MAX_TEMPLATE = 100_000
MAX_DEPTH = 100

# --------------------------------------------------------------------------- parser


@functools.cache
def _parser() -> Lark:
    """The standalone parser, built once: expr.lark plus its own whitespace rule."""
    text = GRAMMAR_PATH.read_text(encoding="utf-8") + "\n%import common.WS\n%ignore WS\n"
    return Lark(text, start="expr", parser="lalr", propagate_positions=True, maybe_placeholders=False)


def parse_expr(source: str, span: Span = NO_SPAN) -> Node:
    """Parse ``source`` into an AST; raise :class:`ExprError` (offset into ``source``) if invalid.

    ``span`` is where ``source`` starts in its file; it only serves to fill ``ExprError.span``.
    Results are cached (nodes are immutable).
    """
    if not isinstance(source, str):
        raise ExprError(f"expression must be text, not {type(source).__name__}", 0)
    try:
        return _parse_cached(source)
    except ExprError as e:
        raise ExprError(e.message, e.col_offset, _shift(span, source, e.col_offset)) from None


def _shift(span: Span, source: str, offset: int) -> Span:
    """The file position of ``source[offset]`` given that ``source`` starts at ``span``."""
    if span == NO_SPAN:
        return NO_SPAN
    before = source[:offset]
    newlines = before.count("\n")
    if newlines:
        return Span(span.file, span.line + newlines, offset - before.rfind("\n"))
    return Span(span.file, span.line, span.col + offset)


@functools.lru_cache(maxsize=2048)
def _parse_cached(source: str) -> Node:
    if len(source) > MAX_SOURCE:
        raise ExprError(f"expression too long ({len(source)} characters; at most {MAX_SOURCE})", MAX_SOURCE)
    if not source.strip():
        raise ExprError("empty expression; expected a value", 0)
    try:
        tree = _parser().parse(source)
    except UnexpectedInput as e:
        raise _syntax_error(e, source) from None
    return _build(tree)


# what to say for an expected terminal
_VALUE_TERMS = {"NAME", "INT", "FLOAT", "STRING", "TRUE", "FALSE", "NULL", "_LBRACE", "MINUS", "NOT"}
_OPERATOR_TERMS = {
    "PLUS", "MINUS", "STAR", "SLASH", "PERCENT", "EQ", "NE", "LT", "LE", "GT", "GE", "IN", "NOT", "_AND", "_OR",
}  # fmt: skip
_POSTFIX_TERMS = {"_DOT", "_LSQB", "_LPAR"}
_PUNCT = {"_RPAR": "')'", "_RSQB": "']'", "_RBRACE": "'}'", "_COMMA": "','", "_COLON": "':'", "_LPAR": "'('"}
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
#: ``obj.name`` right before a ``(``: a method call, written as in Python.
_METHOD = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\.([A-Za-z_][A-Za-z0-9_]*)\s*$")
_HINTS = {
    "=": "use '==' to compare",
    "&": "use 'and'",
    "|": "use 'or'",
    "!": "use 'not' (or '!=')",
}


# --------------------------------------------------------------------------- lark positions, typed
# lark's annotations allow None where its lexers always set a value; these say so once.


def token_start(tok: Token) -> int:
    """0-based offset of ``tok`` in its text (lark types ``start_pos`` optional)."""
    return tok.start_pos if tok.start_pos is not None else 0


def error_offset(e: UnexpectedInput) -> int:
    """0-based offset of a lexer error (lark declares ``pos_in_stream = None`` on the base class)."""
    pos: object = e.pos_in_stream
    return pos if isinstance(pos, int) else 0


def leaf(tree: Tree[Token], index: int = 0) -> Token:
    """The child of ``tree`` at ``index``, which the grammar makes a token."""
    child = tree.children[index]
    if not isinstance(child, Token):  # pragma: no cover - the grammars rule this out
        raise TypeError(f"rule '{tree.data}' has a subtree where a token was expected")
    return child


def subtree(tree: Tree[Token], index: int = 0) -> Tree[Token]:
    """The child of ``tree`` at ``index``, which the grammar makes a subtree."""
    child = tree.children[index]
    if not isinstance(child, Tree):  # pragma: no cover - the grammars rule this out
        raise TypeError(f"rule '{tree.data}' has a token where a subtree was expected")
    return child


def _describe_expected(expected: set[str]) -> str:
    names = {t.rsplit("__", 1)[-1] for t in expected}  # tolerate namespaced names
    if names == {"IN"}:
        return "'in'"
    wants: list[str] = []
    if {"NAME", "INT"} <= names:
        wants.append("a value")
        names -= _VALUE_TERMS | {"_LPAR", "_LSQB"}
    if names & _OPERATOR_TERMS:
        wants.append("an operator")
        names -= _OPERATOR_TERMS | _POSTFIX_TERMS
    if "NAME" in names:
        wants.append("a name")
    if "STRING" in names:
        wants.append("a string")
    wants.extend(_PUNCT[t] for t in sorted(names) if t in _PUNCT)
    if "$END" in names:
        wants.append("end of input")
    if not wants:
        return ""
    return wants[0] if len(wants) == 1 else ", ".join(wants[:-1]) + " or " + wants[-1]


def _describe_token(tok: Token) -> str:
    kind = tok.type.rsplit("__", 1)[-1]
    if kind == "$END":
        return "end of input"
    text = str(tok)
    if len(text) > 20:
        text = text[:17] + "..."
    if kind == "NAME":
        return f"name '{text}'"
    if kind in ("INT", "FLOAT"):
        return f"number {text}"
    if kind == "STRING":
        return f"string {text}"
    if str(tok) in _KEYWORDS:
        return f"keyword '{text}'"
    return f"'{text}'"


def _accepted(e: UnexpectedToken) -> set[str]:
    """Terminals really acceptable at the error (LALR's merged states over-report ``e.expected``)."""
    try:
        return set(e.interactive_parser.accepts()) if e.interactive_parser is not None else set(e.expected)
    except Exception:  # pragma: no cover - fall back to the table's view
        return set(e.expected)


def _syntax_error(e: UnexpectedInput, source: str) -> ExprError:
    if isinstance(e, UnexpectedCharacters):
        pos = error_offset(e)
        char = source[pos]
        if char in "'\"":
            return ExprError("unterminated string (strings end on the same line with the same quote)", pos)
        msg = f"unexpected character {char!r}"
        if char == "=" and not source[:pos].strip():
            msg += " at the start; to assign, write a single '=' (set n = n + 1); '==' compares"
        elif char in _HINTS:
            msg += f"; {_HINTS[char]}"
        return ExprError(msg, pos)
    if isinstance(e, UnexpectedToken):
        tok = e.token
        pos = tok.start_pos if tok.type != "$END" and tok.start_pos is not None else len(source.rstrip())
        msg = f"unexpected {_describe_token(tok)}"
        method = _METHOD.search(source[:pos]) if tok.type == "_LPAR" else None
        if method:
            obj, name = method[1], method[2]
            msg += f"; there are no methods: write {name}({obj}), not {obj}.{name}()" if name in FUNCTIONS else (
                f"; there are no methods, only functions: {', '.join(sorted(FUNCTIONS))}"
            )
        else:
            want = _describe_expected(_accepted(e))
            if want:
                msg += f"; expected {want}"
        return ExprError(msg, pos)
    if isinstance(e, UnexpectedEOF):  # pragma: no cover - LALR reports UnexpectedToken($END)
        return ExprError("unexpected end of input", len(source))
    return ExprError(str(e), 0)  # pragma: no cover


# --------------------------------------------------------------------------- tree -> AST

_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "0": "\0",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "/": "/",
}


def _decode_string(tok: Token) -> str:
    """Decode a quoted string token (escapes: \\n \\t \\r \\b \\f \\0 \\\\ \\' \\" \\/ \\uXXXX)."""
    text = str(tok)[1:-1]
    if "\\" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = text[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e == "u":
            digits = text[i + 2 : i + 6]
            if len(digits) != 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise ExprError("invalid escape: \\u needs 4 hex digits", token_start(tok) + 1 + i)
            code = int(digits, 16)
            i += 6
            # a JSON-style surrogate pair \ud83d\ude00 is one character
            if 0xD800 <= code < 0xDC00 and text[i : i + 2] == "\\u":
                low = text[i + 2 : i + 6]
                if len(low) == 4 and all(d in "0123456789abcdefABCDEF" for d in low):
                    lo = int(low, 16)
                    if 0xDC00 <= lo < 0xE000:
                        code = 0x10000 + ((code - 0xD800) << 10) + (lo - 0xDC00)
                        i += 6
            if 0xD800 <= code < 0xE000:  # half a pair is no character: it cannot be printed or sent
                raise ExprError(f"invalid escape: \\u{code:04x} is half of a surrogate pair", token_start(tok) + 1 + i - 6)
            out.append(chr(code))
        else:
            raise ExprError(f"invalid escape '\\{e}' in string", token_start(tok) + 1 + i)
    return "".join(out)


def _value_children(t: Tree[Token]) -> list[Tree[Token]]:
    if t.data == "map":
        return [subtree(p, 1) for p in t.children if isinstance(p, Tree)]
    return [c for c in t.children if isinstance(c, Tree) and c.data != "comp_op"]


def _pos_of(t: Tree[Token]) -> int:
    return getattr(t.meta, "start_pos", -1) if not t.meta.empty else -1


def _check_name(tok: Token) -> str:
    name = str(tok)
    if name.startswith("__"):
        raise ExprError(f"names starting with '__' are not allowed: '{name}'", token_start(tok))
    return name


def _build(root: Tree[Token]) -> Node:
    """Convert the parse tree into AST nodes, iteratively (deep input must not overflow the stack)."""
    out: list[tuple[Node, int]] = []
    stack: list[tuple[Tree[Token], bool]] = [(root, False)]
    while stack:
        t, ready = stack.pop()
        if not ready:
            stack.append((t, True))
            stack.extend((c, False) for c in reversed(_value_children(t)))
            continue
        k = len(_value_children(t))
        args = out[len(out) - k :]
        del out[len(out) - k :]
        if t.data == "binary":  # the left operand of a chain (a + b + c ...) is no deeper
            depth = max(args[0][1], 1 + args[1][1])
        else:
            depth = 1 + max((d for _, d in args), default=0)
        pos = _pos_of(t)
        if depth > MAX_DEPTH:
            raise ExprError(f"expression nested too deeply (more than {MAX_DEPTH} levels)", max(pos, 0))
        out.append((_make(t, [n for n, _ in args], pos), depth))
    return out[0][0]


def _make(t: Tree[Token], args: list[Node], pos: int) -> Node:
    kind = t.data
    toks = [c for c in t.children if isinstance(c, Token)]
    if kind == "expr":
        return args[0]
    if kind == "name":
        return Name(_check_name(toks[0]), pos)
    if kind == "int":
        try:
            value = int(toks[0])
        except ValueError:
            value = MAX_INT
        if value >= MAX_INT:
            raise ExprError("integer literal too large", token_start(toks[0]))
        return Literal(value, pos)
    if kind == "float":
        fvalue = float(toks[0])
        if math.isinf(fvalue):
            raise ExprError("number literal too large", token_start(toks[0]))
        return Literal(fvalue, pos)
    if kind == "string":
        return Literal(_decode_string(toks[0]), pos)
    if kind == "true":
        return Literal(True, pos)
    if kind == "false":
        return Literal(False, pos)
    if kind == "null":
        return Literal(None, pos)
    if kind == "list":
        return ListLit(tuple(args), pos)
    if kind == "map":
        keys: list[str] = []
        for pair in t.children:
            assert isinstance(pair, Tree)
            key_tok = leaf(pair)
            key = _decode_string(key_tok)
            if key in keys:
                raise ExprError(
                    f"duplicate key {json.dumps(key, ensure_ascii=False)} in map", token_start(key_tok)
                )
            keys.append(key)
        return MapLit(tuple(zip(keys, args, strict=True)), pos)
    if kind == "call":
        return Call(_check_name(toks[0]), tuple(args), pos)
    if kind == "member":
        return Member(args[0], _check_name(toks[0]), pos)
    if kind == "index":
        return Index(args[0], args[1], pos)
    if kind == "neg":
        return Unary("-", args[0], pos)
    if kind == "not_":
        return Unary("not", args[0], pos)
    if kind == "binary":
        return Binary(str(toks[0]), args[0], args[1], pos)
    if kind == "and_test":
        return BoolOp("and", tuple(args), pos)
    if kind == "or_test":
        return BoolOp("or", tuple(args), pos)
    if kind == "comparison":
        ops = tuple(
            " ".join(str(x) for x in c.children)
            for c in t.children
            if isinstance(c, Tree) and c.data == "comp_op"
        )
        return Compare(args[0], ops, tuple(args[1:]), pos)
    raise AssertionError(f"unhandled rule {kind}")  # pragma: no cover - grammar and builder disagree


# --------------------------------------------------------------------------- analysis


def free_names(node: Node) -> set[str]:
    """Names the expression reads (not function names, not member names after a dot)."""
    return {n.name for n in walk(node) if isinstance(n, Name)}


def called_functions(node: Node) -> set[str]:
    """Names of the functions the expression calls (validation reports those not in FUNCTIONS)."""
    return {n.func for n in walk(node) if isinstance(n, Call)}


def evaluate(
    source_or_node: str | Node,
    names: Mapping[str, Any],
    in_state: Callable[[str], bool] = lambda s: False,
) -> Any:
    """Parse (if needed), compile and evaluate once, with ``names`` as the variables."""
    fn = _compile_source(source_or_node) if isinstance(source_or_node, str) else compile_expr(source_or_node)
    return fn(MappingEnv(names, in_state))


@functools.lru_cache(maxsize=1024)
def _compile_source(source: str) -> Callable[[Env], Any]:
    return compile_expr(parse_expr(source))


# --------------------------------------------------------------------------- literals


def literal_source(value: Any) -> str:
    """Canonical source text of a literal value (JSON, which is valid expression syntax).

    Raises ValueError for values that are not literals (NaN, infinity, non-string map keys, objects).
    """
    _check_literal(value)
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _check_literal(value: Any) -> None:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            for k, item in v.items():
                if not isinstance(k, str):
                    raise ValueError(f"map keys must be strings, not {type(k).__name__}")
                stack.append(item)
        elif isinstance(v, list | tuple):
            stack.extend(v)
        elif v is not None and not isinstance(v, str | int | float | bool):
            raise ValueError(f"not a literal value: {type(v).__name__}")


def literal_value(node: Node) -> Any:
    """The value of a literal-only expression (scalars, lists, maps, ``-number``); else ExprError."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, ListLit):
        return [literal_value(item) for item in node.items]
    if isinstance(node, MapLit):
        return {k: literal_value(v) for k, v in node.items}
    if isinstance(node, Unary) and node.op == "-" and isinstance(node.operand, Literal):
        v = node.operand.value
        if isinstance(v, int | float) and not isinstance(v, bool):
            return -v
    raise ExprError(f"not a literal: {to_source(node)}", max(getattr(node, "pos", 0), 0))


# --------------------------------------------------------------------------- printing

# binding strength, as in the grammar: or 1, and 2, not 3, comparison 4, sum 5, term 6, unary 7, postfix 8
_BIN_PREC = {"+": 5, "-": 5, "*": 6, "/": 6, "%": 6}


def _prec(node: Node) -> int:
    if isinstance(node, BoolOp):
        return 1 if node.op == "or" else 2
    if isinstance(node, Unary):
        return 3 if node.op == "not" else 7
    if isinstance(node, Compare):
        return 4
    if isinstance(node, Binary):
        return _BIN_PREC[node.op]
    if isinstance(node, Literal) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return 7 if node.value < 0 or str(node.value).startswith("-") else 9
    return 9


def to_source(node: Node) -> str:
    """Print an AST as source text with the fewest parentheses; ``parse_expr`` gives it back."""
    return _src(node, 0)


def _src(node: Node, need: int) -> str:
    text = _src_inner(node)
    return f"({text})" if _prec(node) < need else text


def _src_inner(node: Node) -> str:
    if isinstance(node, Literal):
        v = node.value
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"cannot print {v} as a literal")
        return repr(v) if isinstance(v, float) else literal_source(v)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Member):
        return f"{_src(node.obj, 8)}.{node.name}"
    if isinstance(node, Index):
        return f"{_src(node.obj, 8)}[{_src(node.index, 0)}]"
    if isinstance(node, Call):
        return f"{node.func}({', '.join(_src(a, 0) for a in node.args)})"
    if isinstance(node, ListLit):
        return "[" + ", ".join(_src(a, 0) for a in node.items) + "]"
    if isinstance(node, MapLit):
        return "{" + ", ".join(f"{literal_source(k)}: {_src(v, 0)}" for k, v in node.items) + "}"
    if isinstance(node, Unary):
        if node.op == "not":
            return f"not {_src(node.operand, 3)}"
        return f"-{_src(node.operand, 7)}"
    if isinstance(node, Binary):
        p = _BIN_PREC[node.op]
        return f"{_src(node.left, p)} {node.op} {_src(node.right, p + 1)}"
    if isinstance(node, Compare):
        parts = [_src(node.left, 5)]
        for op, c in zip(node.ops, node.comparators, strict=True):
            parts.append(f"{op} {_src(c, 5)}")
        return " ".join(parts)
    if isinstance(node, BoolOp):
        p = 1 if node.op == "or" else 2
        return f" {node.op} ".join(_src(v, p + 1) for v in node.values)
    raise TypeError(f"not an expression node: {node!r}")


# --------------------------------------------------------------------------- templates


def parse_template(text: str) -> list[str | Node]:
    """Split ``"Hello {name}!"`` into text and expression parts; ``{{``/``}}`` are literal braces.

    Adjacent text is merged, empty text is dropped. An expression starting with ``{`` (a map)
    needs a space: ``{ {"a": 1}["a"] }``. Errors are ExprError with the offset into ``text``.
    """
    if not isinstance(text, str):
        raise ExprError(f"text must be a string, not {type(text).__name__}", 0)
    if len(text) > MAX_TEMPLATE:
        raise ExprError(f"text too long ({len(text)} characters; at most {MAX_TEMPLATE})", MAX_TEMPLATE)
    parts: list[str | Node] = []
    buf: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "{":
            if text.startswith("{{", i):
                buf.append("{")
                i += 2
                continue
            end = _closing_brace(text, i + 1)
            if end < 0:
                raise ExprError("unclosed '{' in text; write '{{' for a literal brace", i)
            source = text[i + 1 : end]
            if not source.strip():
                raise ExprError("empty '{}' in text; write '{{' and '}}' for literal braces", i)
            try:
                node = _parse_cached(source)
            except ExprError as e:
                raise ExprError(e.message, i + 1 + e.col_offset) from None
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(node)
            i = end + 1
        elif c == "}":
            if not text.startswith("}}", i):
                raise ExprError("single '}' in text; write '}}' for a literal brace", i)
            buf.append("}")
            i += 2
        else:
            j = i + 1
            while j < n and text[j] not in "{}":
                j += 1
            buf.append(text[i:j])
            i = j
    if buf:
        parts.append("".join(buf))
    return parts


def _closing_brace(text: str, i: int) -> int:
    """Index of the ``}`` closing an interpolation that starts at ``i``, skipping strings and brackets."""
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            if j >= n or text[j] != c:
                return -1
            i = j
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return i if c == "}" else -1
            depth -= 1
        i += 1
    return -1


def compile_template(parts: list[str | Node]) -> Callable[[Env], str]:
    """Compile template parts once; the result renders them for an environment."""
    pieces: list[str | Callable[[Env], Any]] = [p if isinstance(p, str) else compile_expr(p) for p in parts]
    strings = [p for p in pieces if isinstance(p, str)]
    if len(strings) == len(pieces):
        constant = "".join(strings)
        return lambda env: constant

    def render(env: Env) -> str:
        out = "".join([p if isinstance(p, str) else to_text(p(env)) for p in pieces])
        if len(out) > MAX_SIZE:
            raise ExprRuntimeError(f"text too long ({len(out)} characters; at most {MAX_SIZE})")
        return out

    return render


def render_template(parts: list[str | Node], env: Env) -> str:
    """Render parsed template parts: values as by ``str()`` (null, true/false, JSON for lists/maps)."""
    return compile_template(parts)(env)
