"""Read the IR text form back: ``parse_graph(str(g))`` rebuilds ``g`` (docs/ir.md).

Errors are :class:`graphtorch.errors.IRParseError` with line, column, the offending line and a
caret; lark exceptions never escape.

Two readers, one language: the hand-written fast path (:mod:`graphtorch.ir.fast_parser`) reads
the text; whatever it does not take is parsed again here with lark (grammar ``ir.lark``), which
builds the graph or raises the precise error. The lark reader is the definition; property tests
(tests/ir/test_fast_parser.py) hold the fast path to it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from graphtorch import dtypes
from graphtorch.device import device as Device
from graphtorch.errors import DeviceError, DTypeError, GraphError, IRParseError
from graphtorch.ir.fast_parser import NAMED_VALUES, parse_graph_fast
from graphtorch.ir.graph import Block, Graph, TensorRef, Value
from graphtorch.ir.nesting import nesting_problem
from graphtorch.ir.source import SourceLoc
from graphtorch.ir.types import (
    SIMPLE_TYPES,
    ClassType,
    DictType,
    FunctionType,
    ListType,
    OptionalType,
    TensorType,
    TupleType,
    Type,
    UnionType,
)


@functools.cache
def lark_parser() -> Lark:
    """The LALR parser of ``ir.lark`` (built on first use: most loads never need it)."""
    grammar = Path(__file__).with_name("ir.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=True)


# What each terminal looks like, for "expected ..." messages.
_TERMINAL_TEXT = {
    "VALUE": "a value like %x", "KIND": "a node kind like op::add or prim::If",
    "BLOCK": "a block header like block0(", "DEVICE": "a device like cpu or cuda:0",
    "NAME": "a name", "FLOAT": "a float", "INT": "an int", "STRING": 'a "string"',
    "TENSOR_REF": "<tensor:NAME>", "LOC": "a '# file:line:col' comment",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','",
    "COLON": "':'", "EQUAL": "'='", "QMARK": "'?'", "__ANON_0": "'->'",
    "GRAPH": "'graph'", "RETURN": "'return'", "TENSOR": "'Tensor'",
}



def _expected(tokens: set[str]) -> str:
    names = sorted({_TERMINAL_TEXT.get(t, repr(t.lower()) if t.isupper() else t)
                    for t in tokens})
    if len(names) > 8:
        names = names[:8] + ["..."]
    return ", ".join(names)


def _error(text: str, message: str, line: int | None, column: int | None) -> IRParseError:
    """The error, with the offending line and a caret after the "(line, column)" part."""
    err = IRParseError(message, line, column)
    lines = text.splitlines()
    if line is not None and 1 <= line <= len(lines):
        caret = " " * max((column or 1) - 1, 0) + "^"
        err.args = (f"{err.args[0]}\n    {lines[line - 1]}\n    {caret}",)
    return err


def _lark_error(text: str, e: UnexpectedInput) -> IRParseError:
    if isinstance(e, UnexpectedCharacters):
        ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else "end of input"
        msg = f"unexpected character {ch!r}"
        if e.allowed:
            msg += f"; expected {_expected(set(e.allowed))}"
        return _error(text, msg, e.line, e.column)
    if isinstance(e, UnexpectedToken):
        if e.token.type == "$END":
            msg = "unexpected end of input"
            line = len(text.splitlines()) or 1
            col = len(text.splitlines()[-1]) + 1 if text.splitlines() else 1
        else:
            msg = f"unexpected {e.token.value!r}"
            line, col = e.line, e.column
        return _error(text, f"{msg}; expected {_expected(set(e.expected))}", line, col)
    if isinstance(e, UnexpectedEOF):
        return _error(text, f"unexpected end of input; expected {_expected(set(e.expected))}",
                      None, None)
    return _error(text, str(e), getattr(e, "line", None), getattr(e, "column", None))


# Deeper nesting is refused before parsing (ir/nesting.py): the readers recurse per level.
MAX_PARSE_NESTING = 64


def parse_graph(text: str) -> Graph:
    """Parse IR text into a new :class:`Graph` (tensor constants are left to the caller)."""
    deep = nesting_problem(text, MAX_PARSE_NESTING)
    if deep is not None:
        raise _error(text, deep[1], deep[0], 1)
    try:
        return parse_graph_fast(text)
    except Exception:   # noqa: BLE001
        # NOTE: any failure of the fast path (including RecursionError on deep nesting) is
        # settled by lark, so errors are the lark reader's, message for message.
        pass
    return parse_graph_lark(text)


def parse_graph_lark(text: str) -> Graph:
    """:func:`parse_graph` with lark only: the reference reader, and where errors come from."""
    try:
        tree = lark_parser().parse(text)
    except UnexpectedInput as e:
        raise _lark_error(text, e) from None
    return _Builder(text).graph(tree.children[0])


def parse_type(text: str) -> Type:
    """Parse a type's text (``"Tensor(float32, [B, 4])?"``)."""
    g = parse_graph(f"graph(%x : {text}):\n  return (%x)\n")
    return g.inputs[0].type


class _Builder:
    def __init__(self, text: str):
        self.text = text

    def fail(self, message: str, token: Token | Tree | None) -> IRParseError:
        if isinstance(token, Tree):
            token = next(token.scan_values(lambda t: isinstance(t, Token)), None)
        line = getattr(token, "line", None)
        col = getattr(token, "column", None)
        return _error(self.text, message, line, col)

    # -- graphs, blocks, nodes ---------------------------------------------------------------
    def graph(self, tree: Tree) -> Graph:
        decls, *nodes, refs = tree.children
        g = Graph()
        scope: dict[str, Value] = {}
        for tok, t in self.decls(decls):
            self.define(scope, tok, g.add_input(None, t))
        for n in nodes:
            self.node(g, g.block, scope, n)
        g.set_outputs(self.refs(scope, refs))
        return g

    def block(self, g: Graph, block: Block, scope: dict[str, Value], tree: Tree) -> None:
        _, decls, *nodes, refs = tree.children
        for tok, t in self.decls(decls):
            self.define(scope, tok, block.add_input(None, t))
        for n in nodes:
            self.node(g, block, scope, n)
        block.set_outputs(self.refs(scope, refs))

    def node(self, g: Graph, block: Block, scope: dict[str, Value], tree: Tree) -> None:
        decls, kind, attrs, refs, loc, *blocks = tree.children
        source = None
        if loc is not None:
            try:
                source = SourceLoc.parse(loc.value[1:])
            except GraphError:
                raise self.fail(f"invalid source location comment {loc.value!r}: expected "
                                f"'# file:line:col'", loc) from None
        n = g.create(kind.value, self.refs(scope, refs), [], source=source)
        if attrs is not None:
            for a in attrs.children:
                if a is None:
                    continue
                key, val = a.children
                if key.value in n.attrs:
                    raise self.fail(f"attribute {key.value!r} is given twice", key)
                n.attrs[key.value] = self.attr(val)
        for tok, t in self.decls(decls):
            self.define(scope, tok, n.add_output(t))
        for b in blocks:
            self.block(g, n.add_block(), scope, b)
        block.append(n)

    def decls(self, tree: Tree | None) -> list[tuple[Token, Type]]:
        if tree is None:
            return []
        return [(d.children[0], self.type(d.children[1])) for d in tree.children]

    def define(self, scope: dict[str, Value], tok: Token, v: Value) -> None:
        name = tok.value[1:]
        if name in scope:
            raise self.fail(f"value %{name} is defined twice", tok)
        scope[name] = v
        v.name = name   # pure digits leave the value unnamed

    def refs(self, scope: dict[str, Value], tree: Tree | None) -> list[Value]:
        if tree is None:
            return []
        out = []
        for tok in tree.children:
            v = scope.get(tok.value[1:])
            if v is None:
                raise self.fail(f"value {tok.value} is used but not defined before", tok)
            out.append(v)
        return out

    # -- attribute values --------------------------------------------------------------------
    def attr(self, tree: Tree) -> object:
        kind, ch = tree.data, tree.children
        if kind == "int_value":
            return int(ch[0])
        if kind == "float_value":
            return float(ch[0])
        if kind == "str_value":
            return json.loads(ch[0])
        if kind == "name_value":
            name = ch[0].value
            if name in NAMED_VALUES:
                return NAMED_VALUES[name]
            try:
                return dtypes.from_name(name)
            except DTypeError:
                raise self.fail(f"unknown attribute value {name!r}: expected True, False, None, "
                                f"inf, nan or a dtype name", ch[0]) from None
        if kind == "device_value":
            return self.device(ch[0])
        if kind == "tensor_value":
            return TensorRef(ch[0].value[len("<tensor:"):-1])
        if kind == "list_value":
            return [self.attr(c) for c in ch if c is not None]
        if kind == "tuple_value":
            return tuple(self.attr(c) for c in ch)
        if kind == "type_value":
            return self.type(ch[0])
        if kind == "slice_value":
            return slice(*(self.attr(c) for c in ch))
        if kind == "ellipsis_value":
            return Ellipsis
        if kind == "graph_value":
            return self.graph(ch[0])
        raise AssertionError(f"unhandled attribute value {kind}")

    def device(self, tok: Token) -> Device:
        try:
            return Device(tok.value)
        except DeviceError as e:
            raise self.fail(str(e), tok) from None

    # -- types -------------------------------------------------------------------------------
    def type(self, tree: Tree) -> Type:
        kind, ch = tree.data, tree.children
        if kind == "tensor_type":
            return self.tensor_type(tree)
        if kind == "tuple_type":
            return TupleType(tuple(self.type(c) for c in ch))
        if kind == "dict_type":
            return DictType(self.type(ch[0]), self.type(ch[1]))
        if kind == "function_type":
            return FunctionType(ch[0].value)
        if kind == "union_type":
            try:
                return UnionType(tuple(self.type(c) for c in ch))
            except GraphError as e:
                raise self.fail(str(e), tree) from None
        if kind == "named_type":
            return SIMPLE_TYPES.get(ch[0].value) or ClassType(ch[0].value)
        if kind == "optional_type":
            inner = self.type(ch[0])
            if isinstance(inner, OptionalType):
                raise self.fail("a type cannot be optional twice ('??')", tree)
            return OptionalType(inner)
        if kind == "list_type":
            return ListType(self.type(ch[0]))
        raise AssertionError(f"unhandled type {kind}")

    def tensor_type(self, tree: Tree) -> TensorType:
        dtype = shape = dev = None
        rank = -1   # the parts come in the order dtype, shape, device, each at most once
        for part in tree.children:
            order = {"dtype_part": 0, "shape_part": 1, "device_part": 2}[part.data]
            if order <= rank:
                raise self.fail("Tensor type parts must be (dtype, [shape], device) in this "
                                "order, each at most once", part)
            rank = order
            if part.data == "dtype_part":
                try:
                    dtype = dtypes.from_name(part.children[0].value)
                except DTypeError:
                    raise self.fail(f"unknown dtype {part.children[0].value!r} in Tensor type",
                                    part) from None
            elif part.data == "device_part":
                dev = self.device(part.children[0])
            else:
                shape = tuple(self.dim(d) for d in part.children if d is not None)
        return TensorType(dtype, shape, dev)

    def dim(self, tree: Tree) -> int | str | None:
        if tree.data == "int_dim":
            value = int(tree.children[0])
            if value < 0:
                raise self.fail(f"tensor dim {value} is negative", tree)
            return value
        if tree.data == "symbol_dim":
            return tree.children[0].value
        return None
