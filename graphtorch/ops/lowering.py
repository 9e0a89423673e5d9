"""The neutral expression notation of elementwise lowerings, parsed into a tiny expression tree.

Registry entries write their lowering as a template over argument positions::

    "({0} + {2} * {1})"      "where({0} * {1} > {2}, {0}, log1p(exp({0} * {1})) / {1})"

:func:`parse_lowering` turns a template into an :data:`Expr` built from five node types (``Arg``,
``Const``, ``UnaryOp``, ``BinOp``, ``Call``). Every fused code generator (CPU numpy chunks, Triton)
translates the same trees; the meaning of each operator and function is fixed here, once:

* ``Arg(i)``: the op's i-th schema argument (a tensor, a scalar, ``None`` for an absent optional
  tensor, or a dtype for ``cast``).
* ``Const(v)``: a Python ``int``/``float``/``bool`` literal. It is a *weak* scalar: it takes the
  dtype of the tensor operand it meets (PyTorch's wrapped-number promotion).
* ``UnaryOp``: :data:`UNARY_OPS`. ``BinOp``: :data:`BINARY_OPS` (C-like precedence).
* ``Call(fn, args)``: :data:`FUNCTIONS`, each with its arity and PyTorch meaning.

Arithmetic happens in the result dtype of the op (the registry's meta rule decides it); code
generators cast tensor arguments to it first, as the eager kernels see them after promotion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from graphtorch.errors import GraphError
from graphtorch.ops.registry import OpKind


@dataclass(frozen=True)
class Arg:
    """The op's schema argument at this position."""

    index: int


@dataclass(frozen=True)
class Const:
    """A literal number or bool of the template (a weak scalar)."""

    value: int | float | bool


@dataclass(frozen=True)
class UnaryOp:
    op: str
    a: Expr


@dataclass(frozen=True)
class BinOp:
    op: str
    a: Expr
    b: Expr


@dataclass(frozen=True)
class Call:
    fn: str
    args: tuple[Expr, ...]


Expr = Arg | Const | UnaryOp | BinOp | Call

# unary operator -> meaning
UNARY_OPS: dict[str, str] = {
    "-": "negation",
    "!": "logical not (result bool)",
    "~": "bitwise not (integers and bool)",
}

# binary operator -> (precedence, meaning); higher binds tighter, all left-associative
BINARY_OPS: dict[str, tuple[int, str]] = {
    "||": (1, "logical or (result bool)"),
    "^^": (2, "logical xor (result bool)"),
    "&&": (3, "logical and (result bool)"),
    "|": (4, "bitwise or"),
    "^": (5, "bitwise xor"),
    "&": (6, "bitwise and"),
    "==": (7, "equal (result bool)"),
    "!=": (7, "not equal (result bool)"),
    "<": (8, "less (result bool)"),
    "<=": (8, "less or equal (result bool)"),
    ">": (8, "greater (result bool)"),
    ">=": (8, "greater or equal (result bool)"),
    "+": (9, "addition"),
    "-": (9, "subtraction"),
    "*": (10, "multiplication"),
    "/": (10, "true division (float result)"),
}


@dataclass(frozen=True)
class FunctionInfo:
    arity: int
    meaning: str


_FUNCTION_TABLE = (
    ("exp", 1, "e ** x"),
    ("log", 1, "natural logarithm"),
    ("log2", 1, "base-2 logarithm"),
    ("log10", 1, "base-10 logarithm"),
    ("log1p", 1, "log(1 + x), accurate near 0"),
    ("expm1", 1, "exp(x) - 1, accurate near 0"),
    ("sqrt", 1, "square root"),
    ("rsqrt", 1, "1 / sqrt(x)"),
    ("sin", 1, "sine"), ("cos", 1, "cosine"), ("tan", 1, "tangent"),
    ("asin", 1, "arc sine"), ("acos", 1, "arc cosine"), ("atan", 1, "arc tangent"),
    ("sinh", 1, "hyperbolic sine"), ("cosh", 1, "hyperbolic cosine"),
    ("tanh", 1, "hyperbolic tangent"),
    ("sigmoid", 1, "1 / (1 + exp(-x)), computed without overflow"),
    ("relu", 1, "max(x, 0)"),
    ("abs", 1, "absolute value"),
    ("sign", 1, "-1, 0 or 1 (0 for nan, as PyTorch)"),
    ("floor", 1, "round down (identity on integers)"),
    ("ceil", 1, "round up (identity on integers)"),
    ("trunc", 1, "round toward zero (identity on integers)"),
    ("round", 1, "round half to even (identity on integers)"),
    ("erf", 1, "error function"),
    ("isnan", 1, "x != x (result bool)"),
    ("isinf", 1, "x is +inf or -inf (result bool)"),
    ("isfinite", 1, "neither inf nor nan (result bool)"),
    ("max", 2, "elementwise maximum, nan-propagating"),
    ("min", 2, "elementwise minimum, nan-propagating"),
    ("pow", 2, "a ** b"),
    ("atan2", 2, "arc tangent of a / b in the right quadrant"),
    ("floordiv", 2, "floor(a / b) (Python floor division)"),
    ("mod", 2, "a - floor(a / b) * b: sign of the divisor (Python %)"),
    ("fmod", 2, "a - trunc(a / b) * b: sign of the dividend (C fmod)"),
    ("where", 3, "c ? a : b"),
    ("clamp", 3, "min(max(x, lo), hi); a bound that is None is absent"),
    ("cast", 2, "x converted to the dtype argument (a graphtorch dtype)"),
)
FUNCTIONS: dict[str, FunctionInfo] = {n: FunctionInfo(a, m) for n, a, m in _FUNCTION_TABLE}

_TOKEN = re.compile(r"\s*(?:(?P<arg>\{\d+\})"
                    r"|(?P<num>\d+\.\d*(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op>\|\||&&|\^\^|==|!=|<=|>=|[-+*/<>!~&|^(),]))")


def _tokenize(template: str, where: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = template.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise GraphError(f"{where}: cannot read {text[pos:]!r} (column {pos + 1})")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class _Parser:
    """Precedence climbing over the token list."""

    def __init__(self, tokens: list[tuple[str, str]], where: str):
        self.tokens, self.pos, self.where = tokens, 0, where

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, text: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (text is not None and tok[1] != text):
            got = "the end" if tok is None else repr(tok[1])
            raise GraphError(f"{self.where}: expected {text or 'an expression'!r}, got {got}")
        self.pos += 1
        return tok

    def expr(self, min_prec: int = 1) -> Expr:
        left = self.unary()
        while True:
            tok = self.peek()
            if tok is None or tok[0] != "op" or tok[1] not in BINARY_OPS:
                return left
            prec = BINARY_OPS[tok[1]][0]
            if prec < min_prec:
                return left
            self.pos += 1
            left = BinOp(tok[1], left, self.expr(prec + 1))

    def unary(self) -> Expr:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in UNARY_OPS:
            self.pos += 1
            return UnaryOp(tok[1], self.unary())
        return self.atom()

    def atom(self) -> Expr:
        kind, text = self.take()
        if kind == "arg":
            return Arg(int(text[1:-1]))
        if kind == "num":
            return Const(float(text) if any(c in text for c in ".eE") else int(text))
        if kind == "name":
            if text in ("true", "false", "True", "False"):
                return Const(text in ("true", "True"))
            return self.call(text)
        if text == "(":
            inner = self.expr()
            self.take(")")
            return inner
        raise GraphError(f"{self.where}: unexpected {text!r}")

    def call(self, fn: str) -> Expr:
        info = FUNCTIONS.get(fn)
        if info is None:
            raise GraphError(f"{self.where}: unknown function {fn!r}; the notation knows "
                             f"{', '.join(sorted(FUNCTIONS))}")
        self.take("(")
        args = [self.expr()]
        while self.peek() == ("op", ","):
            self.pos += 1
            args.append(self.expr())
        self.take(")")
        if len(args) != info.arity:
            raise GraphError(f"{self.where}: {fn}() takes {info.arity} argument(s), got "
                             f"{len(args)}")
        return Call(fn, tuple(args))


def parse_lowering(op: object, template: str) -> Expr:
    """Parse a lowering template into an :data:`Expr`; ``op`` (an OpDef or a name) names errors.

    >>> parse_lowering("add", "({0} + {2} * {1})")
    BinOp(op='+', a=Arg(index=0), b=BinOp(op='*', a=Arg(index=2), b=Arg(index=1)))
    """
    name = getattr(op, "name", op)
    where = f"lowering of op {name!r} ({template!r})"
    parser = _Parser(_tokenize(template, where), where)
    tree = parser.expr()
    if parser.peek() is not None:
        raise GraphError(f"{where}: unexpected {parser.peek()[1]!r} after the expression")
    return tree


@cache
def _lowering_of(op) -> Expr | None:
    if op.kind is not OpKind.ELEMENTWISE or not isinstance(op.lowering, str):
        return None
    return parse_lowering(op, op.lowering)


def lowering_of(op) -> Expr | None:
    """The parsed lowering of an ELEMENTWISE registry op, or None when it has none (cached)."""
    return _lowering_of(op)


def unread_args(op) -> dict[int, object]:
    """Arguments the lowering does not read, mapped to their schema defaults.

    NOTE: a template is only the op's meaning when each of these holds its default (``div`` with
    a rounding_mode, ``round`` with decimals): fusers must check that, or leave the node alone.
    Arguments without a default map to ``NO_DEFAULT``.
    """
    expr = lowering_of(op)
    used = args_used(expr) if expr is not None else set()
    return {i: (a.default if a.has_default else NO_DEFAULT)
            for i, a in enumerate(op.schema.args) if i not in used}


NO_DEFAULT = object()


def args_used(expr: Expr) -> set[int]:
    """The argument positions an expression reads."""
    if isinstance(expr, Arg):
        return {expr.index}
    if isinstance(expr, Const):
        return set()
    if isinstance(expr, UnaryOp):
        return args_used(expr.a)
    if isinstance(expr, BinOp):
        return args_used(expr.a) | args_used(expr.b)
    return set().union(*(args_used(a) for a in expr.args))


def substitute(expr: Expr, args: dict[int, Expr]) -> Expr:
    """Replace ``Arg(i)`` by ``args[i]``: inlines one op's lowering into another's operands."""
    if isinstance(expr, Arg):
        return args[expr.index]
    if isinstance(expr, Const):
        return expr
    if isinstance(expr, UnaryOp):
        return UnaryOp(expr.op, substitute(expr.a, args))
    if isinstance(expr, BinOp):
        return BinOp(expr.op, substitute(expr.a, args), substitute(expr.b, args))
    return Call(expr.fn, tuple(substitute(a, args) for a in expr.args))


def format_expr(expr: Expr) -> str:
    """The expression in template form (fully parenthesized); parses back to the same tree."""
    if isinstance(expr, Arg):
        return f"{{{expr.index}}}"
    if isinstance(expr, Const):
        return repr(expr.value).lower() if isinstance(expr.value, bool) else repr(expr.value)
    if isinstance(expr, UnaryOp):
        return f"({expr.op}{format_expr(expr.a)})"
    if isinstance(expr, BinOp):
        return f"({format_expr(expr.a)} {expr.op} {format_expr(expr.b)})"
    return f"{expr.fn}({', '.join(format_expr(a) for a in expr.args)})"
