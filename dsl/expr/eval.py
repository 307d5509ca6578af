"""Evaluation of expressions: a tree of Python closures built once per expression.

Compiling turns each AST node into a small closure that calls its children's closures, so a
guard costs a handful of function calls at run time (``x > 3 and In('a')`` ~1 µs) and no
``eval``. Values are the JSON-like ones (None, bool, int, float, str, list, map); member access
and indexing only look into lists, strings and mappings, never at Python attributes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeGuard

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
)

#: Largest string/list an expression may build, and integers must stay below 2**4096.
MAX_SIZE = 1_000_000
MAX_INT = 2**4096
MAX_COMPILE_DEPTH = 200

Compiled = Callable[["Env"], Any]


class Env(Protocol):
    """What an expression can see: variables and event data by name, and the active states."""

    def lookup(self, name: str) -> Any:
        """The value of ``name``; raise ExprRuntimeError when there is no such name."""
        ...

    def in_state(self, state_id: str) -> bool: ...


class MappingEnv:
    """An Env over a mapping of names, e.g. for :func:`counterpoint.dsl.expr.evaluate` and tests."""

    __slots__ = ("names", "_in_state")

    def __init__(self, names: Mapping[str, Any], in_state: Callable[[str], bool] = lambda s: False) -> None:
        self.names = names
        self._in_state = in_state

    def lookup(self, name: str) -> Any:
        try:
            return self.names[name]
        except KeyError:
            raise ExprRuntimeError(f"unknown name '{name}'") from None

    def in_state(self, state_id: str) -> bool:
        return self._in_state(state_id)


# --------------------------------------------------------------------------- values


def type_name(value: Any) -> str:
    """The language's name for the type of a value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "map"
    return type(value).__name__


def _is_num(v: Any) -> bool:
    t = type(v)
    return t is int or t is float or (isinstance(v, int | float) and t is not bool)


def _is_int(v: Any) -> TypeGuard[int]:
    return type(v) is int or (isinstance(v, int) and type(v) is not bool)


def _is_seq(v: Any) -> bool:
    return isinstance(v, list | tuple)


def to_text(value: Any) -> str:
    """A value as text, as ``str(x)`` and ``{x}`` in texts show it.

    Strings as they are, ``null``, ``true``/``false``, numbers as Python prints them, lists and
    maps as JSON (non-ASCII kept).
    """
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        try:
            return str(value)
        except ValueError:  # an int beyond Python's digit limit
            raise ExprRuntimeError("number too large to convert to text") from None
    try:
        if isinstance(value, list | tuple | Mapping):
            try:
                text = json.dumps(value, ensure_ascii=False, default=str)
            except (TypeError, ValueError):
                text = str(value)
        else:
            text = str(value)
    except RecursionError:
        raise ExprRuntimeError("value nested too deeply to convert to text") from None
    except ValueError:  # an int beyond Python's digit limit, inside a list or map
        raise ExprRuntimeError("number too large to convert to text") from None
    if len(text) > MAX_SIZE:
        raise ExprRuntimeError(f"text too long ({len(text)} characters; at most {MAX_SIZE})")
    return text


def _check_int(v: Any) -> Any:
    if type(v) is int and not -MAX_INT < v < MAX_INT:
        raise ExprRuntimeError("integer result too large (at most 4096 bits)")
    return v


def _check_len(n: int, what: str) -> None:
    if n > MAX_SIZE:
        raise ExprRuntimeError(f"{what} too long ({n} elements; at most {MAX_SIZE})")


def _op_error(op: str, a: Any, b: Any) -> ExprRuntimeError:
    return ExprRuntimeError(f"cannot apply '{op}' to {type_name(a)} and {type_name(b)}")


def add(a: Any, b: Any) -> Any:
    if _is_num(a) and _is_num(b):
        return _check_int(a + b)
    if isinstance(a, str) and isinstance(b, str):
        _check_len(len(a) + len(b), "string")
        return a + b
    if _is_seq(a) and _is_seq(b):
        _check_len(len(a) + len(b), "list")
        return [*a, *b]
    raise _op_error("+", a, b)


def sub(a: Any, b: Any) -> Any:
    if _is_num(a) and _is_num(b):
        return _check_int(a - b)
    raise _op_error("-", a, b)


def mul(a: Any, b: Any) -> Any:
    if _is_num(a) and _is_num(b):
        return _check_int(a * b)
    if _is_int(a) and (isinstance(b, str) or _is_seq(b)):
        a, b = b, a
    if (isinstance(a, str) or _is_seq(a)) and _is_int(b):
        if b <= 0 or not a:
            return "" if isinstance(a, str) else []
        _check_len(len(a) * b, "string" if isinstance(a, str) else "list")
        return a * b if isinstance(a, str) else list(a) * b
    raise _op_error("*", a, b)


def div(a: Any, b: Any) -> Any:
    if _is_num(a) and _is_num(b):
        if b == 0:
            raise ExprRuntimeError("division by zero")
        try:
            return a / b
        except OverflowError:
            raise ExprRuntimeError("division result too large") from None
    raise _op_error("/", a, b)


def mod(a: Any, b: Any) -> Any:
    if _is_num(a) and _is_num(b):
        if b == 0:
            raise ExprRuntimeError("modulo by zero")
        return a % b
    raise _op_error("%", a, b)


def neg(a: Any) -> Any:
    if _is_num(a):
        return -a
    raise ExprRuntimeError(f"cannot apply unary '-' to {type_name(a)}")


_BINARY: dict[str, Callable[[Any, Any], Any]] = {"+": add, "-": sub, "*": mul, "/": div, "%": mod}


def _orderable(a: Any, b: Any) -> bool:
    if _is_num(a):
        return _is_num(b)
    if isinstance(a, str):
        return isinstance(b, str)
    return _is_seq(a) and _is_seq(b)


def _order(op: str, fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if not _orderable(a, b):
            raise _op_error(op, a, b)
        try:
            return fn(a, b)
        except TypeError:
            raise _op_error(op, a, b) from None

    return compare


def contains(a: Any, b: Any) -> bool:
    """``a in b`` on strings (substring), lists (element) and maps (key)."""
    if isinstance(b, str):
        if not isinstance(a, str):
            raise ExprRuntimeError(f"'in <string>' needs a string on the left, not {type_name(a)}")
        return a in b
    if _is_seq(b) or isinstance(b, Mapping):
        try:
            return a in b
        except TypeError:
            raise ExprRuntimeError(f"a {type_name(a)} cannot be a map key") from None
    raise ExprRuntimeError(f"'in' needs a string, list or map on the right, not {type_name(b)}")


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": _order("<", lambda a, b: a < b),
    "<=": _order("<=", lambda a, b: a <= b),
    ">": _order(">", lambda a, b: a > b),
    ">=": _order(">=", lambda a, b: a >= b),
    "in": contains,
    "not in": lambda a, b: not contains(a, b),
}


def member(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        try:
            return obj[name]
        except KeyError:
            raise ExprRuntimeError(f"no key '{name}' in map") from None
    raise ExprRuntimeError(f"cannot read '.{name}' of {type_name(obj)} (only maps have members)")


def index(obj: Any, key: Any) -> Any:
    if isinstance(obj, str) or _is_seq(obj):
        if not _is_int(key):
            raise ExprRuntimeError(f"{type_name(obj)} index must be an int, not {type_name(key)}")
        try:
            return obj[key]
        except IndexError:
            raise ExprRuntimeError(f"index {key} out of range (length {len(obj)})") from None
    if isinstance(obj, Mapping):
        try:
            return obj[key]
        except KeyError:
            raise ExprRuntimeError(f"no key {to_text(key)!r} in map") from None
        except TypeError:
            raise ExprRuntimeError(f"a {type_name(key)} cannot be a map key") from None
    raise ExprRuntimeError(f"cannot index {type_name(obj)}")


# --------------------------------------------------------------------------- functions


def _fn_len(x: Any) -> int:
    if isinstance(x, str) or _is_seq(x) or isinstance(x, Mapping):
        return len(x)
    raise ExprRuntimeError(f"len() needs a string, list or map, not {type_name(x)}")


def _fn_lower(x: Any) -> str:
    if isinstance(x, str):
        return x.lower()
    raise ExprRuntimeError(f"lower() needs a string, not {type_name(x)}")


def _fn_upper(x: Any) -> str:
    if isinstance(x, str):
        return x.upper()
    raise ExprRuntimeError(f"upper() needs a string, not {type_name(x)}")


def _fn_split(x: Any, sep: Any = None) -> list[str]:
    if not isinstance(x, str):
        raise ExprRuntimeError(f"split() needs a string, not {type_name(x)}")
    if sep is not None and not (isinstance(sep, str) and sep):
        raise ExprRuntimeError("split() separator must be a non-empty string")
    return x.split(sep)


def _fn_int(x: Any) -> int:
    if isinstance(x, bool):
        return int(x)
    if _is_int(x):
        return x
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ExprRuntimeError(f"int() cannot convert {x}")
        return int(x)
    if isinstance(x, str):
        if len(x) > 1300:
            raise ExprRuntimeError("int() argument too long")
        try:
            checked: int = _check_int(int(x.strip()))
            return checked
        except ValueError:
            raise ExprRuntimeError(f"int() cannot convert {x!r}") from None
    raise ExprRuntimeError(f"int() needs a number or string, not {type_name(x)}")


def _fn_float(x: Any) -> float:
    if isinstance(x, int | float):
        try:
            return float(x)
        except OverflowError:
            raise ExprRuntimeError("float() argument too large") from None
    if isinstance(x, str):
        if len(x) > 1300:
            raise ExprRuntimeError("float() argument too long")
        try:
            return float(x.strip())
        except ValueError:
            raise ExprRuntimeError(f"float() cannot convert {x!r}") from None
    raise ExprRuntimeError(f"float() needs a number or string, not {type_name(x)}")


def _fn_abs(x: Any) -> Any:
    if _is_num(x):
        return abs(x)
    raise ExprRuntimeError(f"abs() needs a number, not {type_name(x)}")


def _extreme(name: str, pick: Callable[..., Any]) -> Callable[..., Any]:
    def fn(*args: Any) -> Any:
        items = args
        if len(args) == 1:
            if not (_is_seq(args[0])):
                raise ExprRuntimeError(f"{name}() of one argument needs a list, not {type_name(args[0])}")
            items = tuple(args[0])
        if not items:
            raise ExprRuntimeError(f"{name}() of an empty list")
        if not (all(_is_num(v) for v in items) or all(isinstance(v, str) for v in items)):
            raise ExprRuntimeError(f"{name}() needs all numbers or all strings")
        return pick(items)

    return fn


def _fn_round(x: Any, ndigits: Any = None) -> Any:
    if not _is_num(x):
        raise ExprRuntimeError(f"round() needs a number, not {type_name(x)}")
    if ndigits is None:
        try:
            return round(x)
        except (OverflowError, ValueError):
            raise ExprRuntimeError(f"round() cannot round {x}") from None
    if not _is_int(ndigits) or not -100 <= ndigits <= 100:
        raise ExprRuntimeError("round() digits must be an int between -100 and 100")
    return round(x, ndigits)


#: The functions expressions may call, with their signatures (validation checks calls against it).
FUNCTIONS: dict[str, str] = {
    "len": "len(x)",
    "lower": "lower(text)",
    "upper": "upper(text)",
    "split": "split(text) or split(text, separator)",
    "str": "str(x)",
    "int": "int(x)",
    "float": "float(x)",
    "abs": "abs(x)",
    "min": "min(list) or min(a, b, ...)",
    "max": "max(list) or max(a, b, ...)",
    "round": "round(x) or round(x, digits)",
    "In": "In('state_id')",
}

#: name -> (implementation, min args, max args or None); In is compiled specially.
_IMPLS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "len": (_fn_len, 1, 1),
    "lower": (_fn_lower, 1, 1),
    "upper": (_fn_upper, 1, 1),
    "split": (_fn_split, 1, 2),
    "str": (to_text, 1, 1),
    "int": (_fn_int, 1, 1),
    "float": (_fn_float, 1, 1),
    "abs": (_fn_abs, 1, 1),
    "min": (_extreme("min", min), 1, None),
    "max": (_extreme("max", max), 1, None),
    "round": (_fn_round, 1, 2),
}


def check_call(node: Call) -> None:
    """Raise ExprError for a call of an unknown function or with the wrong number of arguments."""
    pos = max(node.pos, 0)
    lo: int
    hi: int | None
    if node.func == "In":
        lo, hi = 1, 1
    elif node.func in _IMPLS:
        _, lo, hi = _IMPLS[node.func]
    else:
        raise ExprError(f"unknown function '{node.func}'; known: {', '.join(sorted(FUNCTIONS))}", pos)
    n = len(node.args)
    if n < lo or (hi is not None and n > hi):
        if hi == lo:
            want = f"{lo} argument{'s' if lo != 1 else ''}"
        elif hi is None:
            want = f"at least {lo} argument{'s' if lo != 1 else ''}"
        else:
            want = f"{lo} to {hi} arguments"
        raise ExprError(f"{node.func}() takes {want} ({n} given)", pos)


# --------------------------------------------------------------------------- compiling


def compile_expr(node: Node) -> Compiled:
    """Compile an AST into ``fn(env) -> value``; raises ExprError for unknown functions,
    wrong argument counts or trees too deep. Evaluation errors raise ExprRuntimeError, and
    only that: Python's own errors on extreme values become ExprRuntimeError too."""
    stack = [(node, 1)]
    while stack:  # check depth iteratively before the recursive compile
        n, d = stack.pop()
        if d > MAX_COMPILE_DEPTH:
            raise ExprError(
                f"expression nested too deeply (more than {MAX_COMPILE_DEPTH} levels)", max(n.pos, 0)
            )
        if isinstance(n, Call):
            check_call(n)
        if isinstance(n, Binary):  # a flat chain (a + b + c ...) is compiled as a loop: no deeper
            stack += [(n.left, d), (n.right, d + 1)]
        else:
            stack.extend((c, d + 1) for c in children(n))
    return _contained(_compile(node))


def _contained(fn: Compiled) -> Compiled:
    """``fn`` raising nothing but ExprRuntimeError.

    Values come from files and from the host: a 310-digit int meeting a float overflows, a list
    nested 50,000 deep exhausts the stack, an int of 5,000 digits cannot be put in a message.
    Such errors are the expression's failure, reported like any other.
    """

    def evaluate(env: Env) -> Any:
        try:
            return fn(env)
        except ExprRuntimeError:
            raise
        except OverflowError:
            raise ExprRuntimeError("number too large") from None
        except RecursionError:
            raise ExprRuntimeError("value nested too deeply") from None
        except (ArithmeticError, ValueError, TypeError) as err:
            raise ExprRuntimeError(f"cannot evaluate: {_message(err)}") from None

    return evaluate


def _message(err: Exception) -> str:
    try:
        return str(err)
    except ValueError:  # its arguments include an int too long to show
        return type(err).__name__


def _compile(node: Node) -> Compiled:
    if isinstance(node, Literal):
        value = node.value
        return lambda env: value
    if isinstance(node, Name):
        name = node.name
        return lambda env: env.lookup(name)
    if isinstance(node, ListLit):
        items = [_compile(i) for i in node.items]
        return lambda env: [f(env) for f in items]
    if isinstance(node, MapLit):
        pairs = [(k, _compile(v)) for k, v in node.items]
        return lambda env: {k: f(env) for k, f in pairs}
    if isinstance(node, Member):
        obj, key = _compile(node.obj), node.name

        def get_member(env: Env) -> Any:
            o = obj(env)
            if type(o) is dict:
                try:
                    return o[key]
                except KeyError:
                    pass
            return member(o, key)

        return get_member
    if isinstance(node, Index):
        obj, idx = _compile(node.obj), _compile(node.index)
        return lambda env: index(obj(env), idx(env))
    if isinstance(node, Unary):
        operand = _compile(node.operand)
        if node.op == "not":
            return lambda env: not operand(env)
        return lambda env: neg(operand(env))
    if isinstance(node, Binary):
        return _compile_binary(node)
    if isinstance(node, Compare):
        return _compile_compare(node)
    if isinstance(node, BoolOp):
        return _compile_boolop(node)
    if isinstance(node, Call):
        return _compile_call(node)
    raise TypeError(f"not an expression node: {node!r}")


def _compile_binary(node: Binary) -> Compiled:
    """A chain ``a + b - c ...`` (a left-leaning tree) becomes one loop, not nested calls."""
    steps: list[tuple[str, Compiled]] = []
    left: Node = node
    while isinstance(left, Binary):
        steps.append((left.op, _compile(left.right)))
        left = left.left
    first = _compile(left)
    steps.reverse()
    if len(steps) == 1:
        return _pair(node.op, first, steps[0][1])
    ops = [(_plus if op == "+" else _BINARY[op], f) for op, f in steps]

    def chain(env: Env) -> Any:
        value = first(env)
        for op, f in ops:
            value = op(value, f(env))
        return value

    return chain


def _plus(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int and -MAX_INT < a < MAX_INT and -MAX_INT < b < MAX_INT:
        return _check_int(a + b)
    return add(a, b)


def _pair(name: str, left: Compiled, right: Compiled) -> Compiled:
    if name == "+":

        def plus(env: Env) -> Any:
            a, b = left(env), right(env)
            if type(a) is int and type(b) is int and -MAX_INT < a < MAX_INT and -MAX_INT < b < MAX_INT:
                return _check_int(a + b)
            return add(a, b)

        return plus
    op = _BINARY[name]
    return lambda env: op(left(env), right(env))


def _compile_compare(node: Compare) -> Compiled:
    left = _compile(node.left)
    fns = [_COMPARE[op] for op in node.ops]
    rights = [_compile(c) for c in node.comparators]
    if len(fns) == 1:
        fn, right = fns[0], rights[0]
        if node.ops[0] in ("<", "<=", ">", ">="):
            raw = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}[node.ops[0]]
            py = {"<": int.__lt__, "<=": int.__le__, ">": int.__gt__, ">=": int.__ge__}[node.ops[0]]

            def fast_order(env: Env) -> bool:
                a, b = left(env), right(env)
                ta, tb = type(a), type(b)
                if ta is int and tb is int:
                    return py(a, b)
                if ta is float and tb is float:
                    return raw(a, b)
                return fn(a, b)

            return fast_order
        return lambda env: fn(left(env), right(env))
    pairs = list(zip(fns, rights, strict=True))

    def chain(env: Env) -> bool:
        a = left(env)
        for fn, right in pairs:
            b = right(env)
            if not fn(a, b):
                return False
            a = b
        return True

    return chain


def _compile_boolop(node: BoolOp) -> Compiled:
    fns = [_compile(v) for v in node.values]
    if len(fns) == 2:
        a, b = fns
        if node.op == "and":
            return lambda env: v if not (v := a(env)) else b(env)
        return lambda env: v if (v := a(env)) else b(env)
    is_and = node.op == "and"

    def boolop(env: Env) -> Any:
        v = None
        for f in fns:
            v = f(env)
            if (not v) if is_and else v:
                return v
        return v

    return boolop


def _compile_call(node: Call) -> Compiled:
    args = [_compile(a) for a in node.args]
    if node.func == "In":
        arg = node.args[0]
        if isinstance(arg, Literal) and isinstance(arg.value, str):
            state = arg.value
            return lambda env: bool(env.in_state(state))
        f = args[0]

        def in_state(env: Env) -> bool:
            s = f(env)
            if not isinstance(s, str):
                raise ExprRuntimeError(f"In() needs a state id (string), not {type_name(s)}")
            return bool(env.in_state(s))

        return in_state
    impl = _IMPLS[node.func][0]
    if len(args) == 1:
        only = args[0]
        return lambda env: impl(only(env))
    return lambda env: impl(*[f(env) for f in args])
