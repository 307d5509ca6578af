"""YAML text to a small node tree with positions, safely.

PyYAML's own composer recurses once per nesting level and expands nothing but also checks
nothing, and its pure-Python scanner is quadratic on deep flow nesting. So we read the
event stream (libyaml when available: fast and iterative) and compose nodes ourselves,
iteratively, with limits on depth and on alias expansion (YAML bombs), rejecting
recursive aliases. Scalars are resolved with YAML 1.2 core-schema rules, so ``on``,
``yes``, ``no`` and dates stay strings.
"""

from __future__ import annotations

import math
import re
from typing import Any, NoReturn

import yaml
from yaml.resolver import BaseResolver

from counterpoint.dsl.diagnostics import Diagnostic
from counterpoint.dsl.source import LineIndex, Span, split_lines

#: Most nodes a document may expand to (aliases counted at every use).
MAX_NODES = 50_000
#: Deepest nesting of collections (aliases counted expanded).
MAX_DEPTH = 100

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
MAP = "tag:yaml.org,2002:map"
SEQ = "tag:yaml.org,2002:seq"

_NULL_RE = re.compile(r"~|null|Null|NULL|")
_BOOL_RE = re.compile(r"true|True|TRUE|false|False|FALSE")
_INT_RE = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT_RE = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)


def core_tag(text: str) -> str:
    """The YAML 1.2 core-schema tag of a plain scalar."""
    if _NULL_RE.fullmatch(text):
        return NULL
    if _BOOL_RE.fullmatch(text):
        return BOOL
    if _INT_RE.fullmatch(text):
        return INT
    if _FLOAT_RE.fullmatch(text):
        return FLOAT
    return STR


class CoreResolver(BaseResolver):
    """YAML 1.2 core schema for the emitter (decides which strings need quotes)."""

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            return core_tag(value) if implicit[0] else STR
        return SEQ if kind is yaml.SequenceNode else MAP


def _convert(tag: str, text: str) -> Any:
    """Python value of a scalar with a core tag; ValueError if the text does not fit the tag."""
    if tag == STR:
        return text
    if tag == NULL:
        if _NULL_RE.fullmatch(text):
            return None
    elif tag == BOOL:
        if _BOOL_RE.fullmatch(text):
            return text.lower() == "true"
    elif tag == INT:
        if _INT_RE.fullmatch(text):
            if text.startswith(("0o", "0x")):
                return int(text[2:], 8 if text[1] == "o" else 16)
            return int(text)
    elif tag == FLOAT and _FLOAT_RE.fullmatch(text):
        low = text.lower()
        if low.endswith(".inf"):
            return -math.inf if low.startswith("-") else math.inf
        if low == ".nan":
            return math.nan
        return float(text)
    raise ValueError(text)


class YNode:
    """A composed node: ``kind`` is "map" (value: list of (key, value) pairs), "seq" (list)
    or "scalar" (value: resolved Python value, ``text``: the scalar as written).

    ``line``/``col``/``end_line``/``end_col`` are 1-based. Aliased nodes are shared.
    """

    __slots__ = ("kind", "value", "text", "style", "line", "col", "end_line", "end_col", "size", "height")

    def __init__(self, kind: str, value: Any, at: tuple[int, int], text: str = "", style: str | None = None):
        self.kind = kind
        self.value = value
        self.text = text
        self.style = style  # scalars: None plain, "'" or '"' quoted, "|" or ">" block
        self.line, self.col = at
        self.end_line = self.line
        self.end_col = self.col
        self.size = 1
        self.height = 1

    def set_end(self, at: tuple[int, int]) -> None:
        self.end_line, self.end_col = at

    def span(self, file: str) -> Span:
        return Span(file, self.line, self.col, self.end_line, self.end_col)


class _Abort(Exception):
    pass


def _loader_class() -> type:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _too_deep_at(text: str) -> int:
    """Offset of the flow collection that first nests deeper than MAX_DEPTH.

    Quotes are skipped roughly (no escapes inside single quotes); enough to point the user
    at the right place, which is all this is for.
    """
    depth, quote = 1, ""  # the document's top-level mapping is the first level
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return i
        elif ch in "]}":
            depth = max(0, depth - 1)
    return 0


#: A value that starts with a quoted string and goes on after its closing quote.
#: Lines longer than this (generated or hostile input) are not searched for the mistake.
_LONGEST_EXPLAINED = 1_000
_QUOTED_START = re.compile(r"""(?:^|[\s{,:-])([A-Za-z_][\w.]*):\s+((['"]).*?\3[^,}\]#\n]*[^\s,}\]#])""")


def _explain(text: str, line: int, col: int, problem: str) -> tuple[str, int, int, str | None]:
    """(message, line, col, hint) for a YAML syntax error: the two classic mistakes named."""
    lines = split_lines(text)  # as the error's line was counted: not at NEL, U+2028, U+2029
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    for n in (line, line - 1) if "cannot start any token" in problem or "tab" in problem else ():
        row = lines[n - 1] if 0 < n <= len(lines) else ""
        indent = row[: len(row) - len(row.lstrip(" \t"))]
        if "\t" in indent:
            return (
                "a tab in the indentation: YAML indents with spaces only",
                n,
                indent.index("\t") + 1,
                "replace the tab with spaces",
            )
    m = _QUOTED_START.search(here) if len(here) <= _LONGEST_EXPLAINED else None
    if m:
        value = m[2]
        inner = value.replace('"', '\\"')
        return (
            f"the value of '{m[1]}' starts with a quoted string and goes on after it ({problem})",
            line,
            col,
            f'quote the whole value: {m[1]}: "{inner}"',
        )
    return problem, line, col, None


def compose(text: str, file: str) -> tuple[YNode | None, list[Diagnostic]]:
    """Compose the single document in ``text``; None (with diagnostics) if it cannot be read.

    A stream without a document gives ``(None, [])``.
    """
    diags: list[Diagnostic] = []
    lines = LineIndex(text)  # positions from character offsets: libyaml counts lines unlike editors

    def fail(code: str, message: str, line: int, col: int, hint: str | None = None) -> None:
        diags.append(Diagnostic(code, message, Span(file, line, col), hint))

    composer = _Composer(file, diags, lines)
    try:
        for event in yaml.parse(text, Loader=_loader_class()):
            composer.feed(event)
    except _Abort:
        return None, diags
    except yaml.reader.ReaderError as e:
        index = e.position
        if _loader_class() is not yaml.SafeLoader:  # libyaml reports a byte offset
            index = len(text.encode("utf-8", "surrogatepass")[:index].decode("utf-8", "ignore"))
        line, col = lines.position(index)
        fail("E001", f"invalid character {chr(e.character)!r} (#x{e.character:04x}): {e.reason}", line, col)
        return None, diags
    except yaml.MarkedYAMLError as e:
        if "maximum nesting depth" in (e.problem or ""):
            # newer libyaml stops deep flow nesting itself, before our own limit is reached
            line, col = lines.position(_too_deep_at(text))
            fail("E010", f"nesting too deep (over {MAX_DEPTH} levels)", line, col)
            return None, diags
        mark = e.problem_mark or e.context_mark
        problem = e.problem or "invalid YAML"
        if e.context:
            problem = f"{problem} ({e.context}"
            if e.context_mark is not None and e.problem_mark is not None:
                problem += f" started at line {e.context_mark.line + 1}"
            problem += ")"
        line, col = lines.position(mark.index) if mark is not None else (1, 1)
        fail("E001", *_explain(text, line, col, problem))
        return None, diags
    except UnicodeError as e:
        start = getattr(e, "start", 0)
        line, col = lines.position(start)
        fail("E001", "invalid character: the text is not valid Unicode", line, col)
        return None, diags
    except yaml.YAMLError as e:
        fail("E001", str(e), 1, 1)
        return None, diags
    except (RecursionError, MemoryError):
        fail("E010", "input too complex to read", 1, 1)
        return None, diags
    return composer.root, diags


class _Composer:
    """Builds YNodes from parser events, one at a time, without recursion."""

    def __init__(self, file: str, diags: list[Diagnostic], lines: LineIndex):
        self.file = file
        self.diags = diags
        self.lines = lines
        self.root: YNode | None = None
        self.stack: list[YNode] = []
        self.pending_key: list[YNode | None] = []
        self.anchors: dict[str, YNode] = {}
        self.open: set[int] = set()
        self.count = 0
        self.documents = 0

    def abort(self, code: str, message: str, mark: Any, hint: str | None = None) -> NoReturn:
        self.diags.append(Diagnostic(code, message, Span(self.file, *self.at(mark)), hint))
        raise _Abort

    def warn(self, code: str, message: str, mark: Any) -> None:
        self.diags.append(Diagnostic(code, message, Span(self.file, *self.at(mark))))

    def at(self, mark: Any) -> tuple[int, int]:
        return self.lines.position(mark.index)

    def feed(self, event: Any) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                self.abort(
                    "E001",
                    "expected a single document, found a second one",
                    event.start_mark,
                    "a definition file holds one agent; remove the '---' separator",
                )
        elif isinstance(event, yaml.ScalarEvent):
            self.attach(self.scalar(event), event, new=True)
        elif isinstance(event, yaml.AliasEvent):
            assert event.anchor is not None  # an alias always names its anchor
            target = self.anchors.get(event.anchor)
            if target is None:
                self.abort("E001", f"unknown alias '*{event.anchor}'", event.start_mark)
            if id(target) in self.open:
                self.abort("E010", f"alias '*{event.anchor}' refers to itself", event.start_mark)
            if len(self.stack) + target.height > MAX_DEPTH:
                self.abort(
                    "E010", f"alias '*{event.anchor}' nests too deep (over {MAX_DEPTH})", event.start_mark
                )
            self.attach(target, event, new=False)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            kind = "map" if isinstance(event, yaml.MappingStartEvent) else "seq"
            if len(self.stack) >= MAX_DEPTH:
                self.abort("E010", f"nesting too deep (over {MAX_DEPTH} levels)", event.start_mark)
            self.check_tag(event.tag, MAP if kind == "map" else SEQ, event.start_mark)
            node = YNode(kind, [], self.at(event.start_mark))
            self.attach(node, event, new=True)
            self.stack.append(node)
            self.pending_key.append(None)
            self.open.add(id(node))
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            node = self.stack.pop()
            self.pending_key.pop()
            self.open.discard(id(node))
            node.set_end(self.at(event.end_mark))
            children = [v for pair in node.value for v in pair] if node.kind == "map" else node.value
            node.size = 1 + sum(c.size for c in children)
            node.height = 1 + max((c.height for c in children), default=0)

    def check_tag(self, tag: str | None, expected: str, mark: Any) -> None:
        if tag not in (None, "!", expected):
            self.warn("E005", f"unsupported tag '{_short(tag)}' (ignored)", mark)

    def scalar(self, event: Any) -> YNode:
        style = event.style or None
        tag = event.tag
        text = event.value
        if tag in (None, "!"):
            resolved = core_tag(text) if event.implicit[0] and tag is None else STR
        elif tag in (STR, INT, FLOAT, BOOL, NULL):
            resolved = tag
        else:
            self.warn("E005", f"unsupported tag '{_short(tag)}' (ignored)", event.start_mark)
            resolved = STR
        try:
            value = _convert(resolved, text)
        except ValueError:
            if resolved == INT and _INT_RE.fullmatch(text):  # beyond the 4,300 digits Python converts
                self.warn("E008", f"integer too large ({len(text)} digits)", event.start_mark)
            else:
                self.warn("E005", f"'{text}' is not a valid {resolved.rsplit(':', 1)[1]}", event.start_mark)
            value = text
        node = YNode("scalar", value, self.at(event.start_mark), text, style)
        node.set_end(self.at(event.end_mark))
        return node

    def attach(self, node: YNode, event: Any, new: bool) -> None:
        self.count += 1 if new else node.size
        if self.count > MAX_NODES:
            what = "the document has" if new else "aliases expand the document to"
            self.abort("E010", f"input too large: {what} more than {MAX_NODES} nodes", event.start_mark)
        if event.anchor is not None and new:
            self.anchors[event.anchor] = node
        if not self.stack:
            self.root = node
            return
        parent = self.stack[-1]
        if parent.kind == "seq":
            parent.value.append(node)
        elif self.pending_key[-1] is None:
            self.pending_key[-1] = node
        else:
            parent.value.append((self.pending_key[-1], node))
            self.pending_key[-1] = None


def to_python(node: YNode) -> Any:
    """Plain Python data of a composed node (keys as written), e.g. to check against the JSON Schema."""
    if node.kind == "scalar":
        return node.value
    if node.kind == "seq":
        return [to_python(item) for item in node.value]
    return {k.text if k.kind == "scalar" else repr(to_python(k)): to_python(v) for k, v in node.value}


def _short(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")
