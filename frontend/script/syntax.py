"""The typed AST of the Python subset the script compiler accepts.

Built from lark's parse tree by ``build_ast``; everything outside the subset is rejected there, so
the compiler only ever sees these nodes. Operators keep Python's own spelling (``"+"``, ``"//"``,
``"is not"``), which is what error messages show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphtorch.frontend.script.source import Pos


@dataclass
class Node:
    pos: Pos


# --- expressions ----------------------------------------------------------------------------------
@dataclass
class Expr(Node):
    pass


@dataclass
class Name(Expr):
    id: str


@dataclass
class Constant(Expr):
    value: object           # None, bool, int, float, str


@dataclass
class FormattedValue(Expr):
    value: Expr
    spec: str               # the format spec after ':' ('' when none)
    conversion: str         # '', 'r', 's'


@dataclass
class FString(Expr):
    parts: list[Expr]       # Constant(str) and FormattedValue


@dataclass
class Tuple(Expr):
    elts: list[Expr]


@dataclass
class List(Expr):
    elts: list[Expr]


@dataclass
class Dict(Expr):
    keys: list[Expr]
    values: list[Expr]


@dataclass
class Attribute(Expr):
    value: Expr
    attr: str


@dataclass
class Slice(Expr):
    lower: Expr | None
    upper: Expr | None
    step: Expr | None


@dataclass
class Subscript(Expr):
    value: Expr
    index: Expr             # an Expr, a Slice, or a Tuple of them


@dataclass
class Keyword(Node):
    name: str
    value: Expr


@dataclass
class Starred(Expr):
    value: Expr             # only as the single argument of a call: C(*values)


@dataclass
class Call(Expr):
    func: Expr
    args: list[Expr]
    keywords: list[Keyword] = field(default_factory=list)


@dataclass
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass
class UnaryOp(Expr):
    op: str                 # '-', '+', '~', 'not'
    operand: Expr


@dataclass
class BoolOp(Expr):
    op: str                 # 'and', 'or'
    values: list[Expr]


@dataclass
class Compare(Expr):
    left: Expr
    ops: list[str]
    comparators: list[Expr]


@dataclass
class IfExp(Expr):
    test: Expr
    body: Expr
    orelse: Expr


@dataclass
class Comprehension(Node):
    target: Expr
    iter: Expr
    ifs: list[Expr]


@dataclass
class ListComp(Expr):
    elt: Expr
    generators: list[Comprehension]


@dataclass
class DictComp(Expr):
    key: Expr
    value: Expr
    generators: list[Comprehension]


# --- statements -----------------------------------------------------------------------------------
@dataclass
class Stmt(Node):
    pass


@dataclass
class Param(Node):
    name: str
    annotation: Expr | None
    default: Expr | None
    kw_only: bool = False


@dataclass
class FunctionDef(Stmt):
    name: str
    params: list[Param]
    returns: Expr | None
    body: list[Stmt]
    decorators: list[Expr] = field(default_factory=list)


@dataclass
class Assign(Stmt):
    targets: list[Expr]     # a = b = value has two targets
    value: Expr


@dataclass
class AnnAssign(Stmt):
    target: Expr
    annotation: Expr
    value: Expr | None


@dataclass
class AugAssign(Stmt):
    target: Expr
    op: str                 # the binary operator: '+' for '+='
    value: Expr


@dataclass
class If(Stmt):
    test: Expr
    body: list[Stmt]
    orelse: list[Stmt]


@dataclass
class For(Stmt):
    target: Expr
    iter: Expr
    body: list[Stmt]
    orelse: list[Stmt] = field(default_factory=list)   # runs when the loop ends without break


@dataclass
class While(Stmt):
    test: Expr
    body: list[Stmt]
    orelse: list[Stmt] = field(default_factory=list)   # runs when the loop ends without break


@dataclass
class With(Stmt):
    items: list[Expr]       # the context expressions
    body: list[Stmt]
    targets: list[Expr | None] = field(default_factory=list)   # ``as`` targets (refused)


@dataclass
class Return(Stmt):
    value: Expr | None


@dataclass
class Import(Stmt):
    """``import a.b as c`` / ``from a.b import c as d`` of a graphtorch module, resolved while
    compiling: ``bindings`` maps each local name to (module path, attribute or None)."""

    bindings: list[tuple[str, str, str | None]]


@dataclass
class Break(Stmt):
    pass


@dataclass
class Continue(Stmt):
    pass


@dataclass
class Pass(Stmt):
    pass


@dataclass
class Raise(Stmt):
    exc: Expr | None


@dataclass
class Assert(Stmt):
    test: Expr
    msg: Expr | None


@dataclass
class ExprStmt(Stmt):
    value: Expr


@dataclass
class Delete(Stmt):
    """``del a, b[i]``: names become unbound; list and dict elements are removed."""

    targets: list[Expr]


@dataclass
class ClassDef(Stmt):
    """Only as the top of a scripted class's source (methods are found through it)."""

    name: str
    body: list[Stmt]
