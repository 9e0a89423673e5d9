"""The fast path of the IR text parser: a hand-written recursive-descent reader (docs/ir.md).

:func:`parse_graph_fast` reads the same language as the lark grammar (``ir.lark``) and builds the
same graph, about ten times faster. It never explains a failure: on anything it does not take it
raises :class:`FastPathMiss` (or lets the graph API's own error through), and
:func:`graphtorch.ir.parser.parse_graph` then parses the text again with lark, which gives the
precise IRParseError. So this module only has to be right about the text it accepts.

How it stays identical to lark:

- Tokens are matched at the current position with regexes copied from the grammar's terminals
  (a test compares them), after lark's ignored whitespace ``[ \\t\\f\\r\\n]*``.
- lark's contextual lexer tries, in each parser state, only the terminals that state accepts, in
  the order (priority, then width) that decides overlaps: DEVICE before FLOAT before NAME/INT.
  Each reader below uses the terminals of the state it stands for, in that order.
- A keyword ("Tensor", "graph", "type" ...) is a NAME token whose whole text equals the keyword,
  and only where the state also accepts that keyword; elsewhere the word is a NAME
  (``%x : type`` is the class ``type``, ``[type=1]`` an attribute named ``type``).
- The graph is built with the same calls in the same order as the lark builder (names are
  deduplicated in that order; use lists keep it).
"""

from __future__ import annotations

import gc
import json
import re

from graphtorch import dtypes
from graphtorch.device import device as Device
from graphtorch.errors import GraphError
from graphtorch.ir.graph import Block, Graph, TensorRef, Value
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

# The grammar's terminals as lark compiles them (tests/ir/test_fast_parser.py compares).
TERMINALS = {
    "VALUE": r"%[A-Za-z0-9_][A-Za-z0-9_.]*",
    "KIND": r"(op|prim|py)::[A-Za-z_][A-Za-z0-9_.]*",
    "BLOCK": r"block[0-9]+",
    "DEVICE": r"(cpu|cuda)(:[0-9]+)?(?![A-Za-z0-9_.])",
    "NAME": r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*",
    "FLOAT": r"-?([0-9]+\.[0-9]*([eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+|inf(?![A-Za-z0-9_]))",
    "INT": r"-?[0-9]+",
    "STRING": '"[^"\\\\\n]*(?:\\\\.[^"\\\\\n]*)*"',
    "TENSOR_REF": r"<tensor:[^>\s]+>",
    "LOC": "#[^\n]*",
    "WS": "(?:[ \t\f\r\n])+",
}

_WS = "[ \t\f\r\n]*"


def _token(*names: str) -> re.Pattern:
    """Whitespace, then the first of ``names`` that matches (lark's order within a state)."""
    alts = "|".join(f"(?P<{n}>{TERMINALS[n]})" for n in names)
    return re.compile(f"{_WS}(?:{alts})")


_VALUE = _token("VALUE")
_KIND = _token("KIND")
_BLOCK = _token("BLOCK")
_NAME = _token("NAME")
_LOC = _token("LOC")
_SKIP = re.compile(_WS)
# The states that start a type, a Tensor part, a dim and an attribute value.
_TYPE_START = _token("NAME")
_TENSOR_PART = _token("DEVICE", "NAME")
_DIM = _token("INT", "NAME")
_ATTR_VALUE = _token("DEVICE", "FLOAT", "NAME", "INT", "STRING", "TENSOR_REF")
_GRAPH_KW = re.compile(_WS + "graph")

# A type whose text is flat enough to find without parsing, followed by what ends a type. Its
# parse depends only on that text, so it is parsed once per distinct text and then looked up.
_TYPE_SPAN = re.compile(
    r"(?:Tensor(?:\([^()\n]*\))?|[A-Za-z_][A-Za-z0-9_.]*)(?:\?|\[\])*(?=[ \t\f\r\n]*[,)=])")


def _group(name: str, terminal: str) -> str:
    return f"(?P<{name}>{TERMINALS[terminal]})"


# NOTE: one regex for the common node line: at most one output of a cached type, at most one
# scalar attribute, no blocks on the same line. Every token in it is followed by a character
# that cannot continue it (whitespace or punctuation), so backtracking cannot split the text
# into tokens other than lark's; the scalar alternatives keep lark's order.
_SIMPLE_NODE = re.compile(
    f"{_WS}(?:{_group('out', 'VALUE')}{_WS}:{_WS}(?P<type>{_TYPE_SPAN.pattern}){_WS})?="
    f"{_WS}{_group('kind', 'KIND')}{_WS}"
    rf"(?:\[{_WS}{_group('key', 'NAME')}{_WS}={_WS}(?:{_group('DEVICE', 'DEVICE')}"
    f"|{_group('FLOAT', 'FLOAT')}|{_group('NAME', 'NAME')}|{_group('INT', 'INT')}"
    rf"|{_group('STRING', 'STRING')}|{_group('TENSOR_REF', 'TENSOR_REF')}){_WS}\]{_WS})?"
    rf"\({_WS}(?P<refs>(?:{TERMINALS['VALUE']}{_WS},{_WS})*{TERMINALS['VALUE']})?{_WS}\)"
    f"(?:{_WS}{_group('loc', 'LOC')})?{_WS}")
_VALUES = re.compile(TERMINALS["VALUE"])

NAMED_VALUES = {"True": True, "False": False, "None": None, "inf": float("inf"),
                "nan": float("nan")}


def _named_value(name: str) -> object:
    if name in NAMED_VALUES:
        return NAMED_VALUES[name]
    if name in ("graph", "type", "slice"):   # keywords here: their construct did not follow
        raise FastPathMiss
    return dtypes.from_name(name)


class FastPathMiss(Exception):
    """The fast path does not take this text (lark decides: a graph or the precise error)."""


def parse_graph_fast(text: str) -> Graph:
    """Parse IR text into a new Graph, or raise (FastPathMiss, or a graph API error)."""
    # NOTE: a parse makes hundreds of thousands of objects that all stay alive; the cyclic
    # collector would scan them again and again while they are made (3-4x the time of a
    # 20k-node graph) and could free nothing, so it waits until the graph is built.
    collecting = gc.isenabled()
    gc.disable()
    try:
        reader = _Reader(text)
        g = reader.graph_after_keyword(reader.keyword_graph())
    finally:
        if collecting:
            gc.enable()
    if _SKIP.match(text, reader.pos).end() != len(text):
        raise FastPathMiss
    return g


class _Reader:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.types: dict[str, Type] = {}
        self.locs: dict[str, SourceLoc] = {}

    # -- tokens ------------------------------------------------------------------------------
    def match(self, pattern: re.Pattern) -> re.Match:
        m = pattern.match(self.text, self.pos)
        if m is None:
            raise FastPathMiss
        self.pos = m.end()
        return m

    def peek(self) -> str:
        """The next character after whitespace ("" at the end)."""
        self.pos = _SKIP.match(self.text, self.pos).end()
        return self.text[self.pos:self.pos + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise FastPathMiss
        self.pos += 1

    def item_closes(self, close: str) -> bool:
        """After an item of a comma-separated list: True past ``close``, False past ","."""
        c = self.peek()
        self.pos += 1
        if c == close:
            return True
        if c != ",":
            raise FastPathMiss
        return False

    def keyword_graph(self) -> Graph:
        self.match(_GRAPH_KW)
        return Graph()

    # -- graphs, blocks, nodes ---------------------------------------------------------------
    def graph_after_keyword(self, g: Graph) -> Graph:
        """``"(" [decls] ")" ":" node* "return" "(" [refs] ")"`` after the ``graph`` keyword."""
        scope: dict[str, Value] = {}
        for name, t in self.decls_in_parens():
            self.define(scope, name, g.add_input(None, t))
        self.expect(":")
        self.body(g, g.block, scope, "return")
        g.set_outputs(self.refs_in_parens(scope))
        return g

    def block(self, g: Graph, block: Block, scope: dict[str, Value]) -> None:
        for name, t in self.decls_in_parens():
            self.define(scope, name, block.add_input(None, t))
        self.expect(":")
        self.body(g, block, scope, "->")
        block.set_outputs(self.refs_in_parens(scope))

    def body(self, g: Graph, block: Block, scope: dict[str, Value], end: str) -> None:
        """Nodes up to and including ``end`` ("return" or "->")."""
        text, types = self.text, self.types
        while True:
            m = _SIMPLE_NODE.match(text, self.pos)
            if m is not None:
                out, type_text, kind, key, refs, loc = m.group("out", "type", "kind", "key",
                                                                "refs", "loc")
                if type_text is None or type_text in types:
                    self.pos = m.end()
                    decls = [(out[1:], types[type_text])] if out is not None else []
                    attrs = [(key, self.scalar(m))] if key is not None else []
                    # NOTE: a KeyError (a value used before its definition) goes to lark too.
                    inputs = ([scope[r[1:]] for r in _VALUES.findall(refs)]
                              if refs is not None else [])
                    self.finish_node(g, block, scope, decls, kind, attrs, inputs, loc)
                    continue
            c = self.peek()
            if c == "%" or c == "=":
                self.node(g, block, scope)
            elif text.startswith(end, self.pos):
                self.pos += len(end)
                return
            else:
                raise FastPathMiss

    def node(self, g: Graph, block: Block, scope: dict[str, Value]) -> None:
        """A node that is not a simple one-line node: token by token."""
        decls = self.decls() if self.peek() == "%" else []
        self.expect("=")
        kind = self.match(_KIND).group("KIND")
        attrs = self.attrs() if self.peek() == "[" else []
        inputs = self.refs_in_parens(scope)
        loc = self.match(_LOC).group("LOC") if self.peek() == "#" else None
        self.finish_node(g, block, scope, decls, kind, attrs, inputs, loc)

    def finish_node(self, g: Graph, block: Block, scope: dict[str, Value],
                    decls: list[tuple[str, Type]], kind: str, attrs: list[tuple[str, object]],
                    inputs: list[Value], loc: str | None) -> None:
        """Build the node read so far (as the lark builder does, in its order), then its blocks."""
        source = None
        if loc is not None:
            source = self.locs.get(loc)
            if source is None:
                source = self.locs[loc] = SourceLoc.parse(loc[1:])
        n = g.create(kind, inputs, [], source=source)
        for key, value in attrs:
            if key in n.attrs:
                raise FastPathMiss
            n.attrs[key] = value
        for name, t in decls:
            self.define(scope, name, n.add_output(t))
        while self.peek() == "b":
            self.match(_BLOCK)
            self.block(g, n.add_block(), scope)
        block.append(n)

    @staticmethod
    def scalar(m: re.Match) -> object:
        """The value of the simple node's one attribute (the groups of _SIMPLE_NODE)."""
        if m["FLOAT"] is not None:
            return float(m["FLOAT"])
        if m["INT"] is not None:
            return int(m["INT"])
        if m["NAME"] is not None:
            return _named_value(m["NAME"])
        if m["STRING"] is not None:
            return json.loads(m["STRING"])
        if m["DEVICE"] is not None:
            return Device(m["DEVICE"])
        return TensorRef(m["TENSOR_REF"][len("<tensor:"):-1])

    def decls(self) -> list[tuple[str, Type]]:
        """``VALUE ":" type ("," VALUE ":" type)*``."""
        out = []
        while True:
            name = self.match(_VALUE).group("VALUE")[1:]
            self.expect(":")
            out.append((name, self.type()))
            if self.peek() != ",":
                return out
            self.pos += 1

    def decls_in_parens(self) -> list[tuple[str, Type]]:
        self.expect("(")
        if self.peek() == ")":
            self.pos += 1
            return []
        out = self.decls()
        self.expect(")")
        return out

    def refs_in_parens(self, scope: dict[str, Value]) -> list[Value]:
        self.expect("(")
        out: list[Value] = []
        if self.peek() == ")":
            self.pos += 1
            return out
        while True:
            v = scope.get(self.match(_VALUE).group("VALUE")[1:])
            if v is None:
                raise FastPathMiss
            out.append(v)
            if self.item_closes(")"):
                return out

    @staticmethod
    def define(scope: dict[str, Value], name: str, v: Value) -> None:
        if name in scope:
            raise FastPathMiss
        scope[name] = v
        if not name.isdigit():   # pure digits leave the value unnamed: nothing to set
            v.name = name

    # -- attribute values --------------------------------------------------------------------
    def attrs(self) -> list[tuple[str, object]]:
        """``"[" [NAME "=" value ("," NAME "=" value)*] "]"`` (keys are plain NAMEs)."""
        self.pos += 1
        out: list[tuple[str, object]] = []
        if self.peek() == "]":
            self.pos += 1
            return out
        while True:
            key = self.match(_NAME).group("NAME")
            self.expect("=")
            out.append((key, self.attr()))
            if self.item_closes("]"):
                return out

    def attr(self) -> object:
        c = self.peek()
        if c == "[":
            self.pos += 1
            return self.attr_list()
        if c == "(":
            self.pos += 1
            return self.attr_tuple()
        if self.text.startswith("...", self.pos):
            self.pos += 3
            return Ellipsis
        m = self.match(_ATTR_VALUE)
        kind = m.lastgroup
        tok = m.group(kind)
        if kind == "INT":
            return int(tok)
        if kind == "FLOAT":
            return float(tok)
        if kind == "STRING":
            return json.loads(tok)
        if kind == "DEVICE":
            return Device(tok)
        if kind == "TENSOR_REF":
            return TensorRef(tok[len("<tensor:"):-1])
        if tok == "graph":
            return self.graph_after_keyword(Graph())
        if tok == "type":
            self.expect("(")
            t = self.type()
            self.expect(")")
            return t
        if tok == "slice":
            self.expect("(")
            start = self.attr()
            self.expect(",")
            stop = self.attr()
            self.expect(",")
            step = self.attr()
            self.expect(")")
            return slice(start, stop, step)
        return _named_value(tok)

    def attr_list(self) -> list:
        out: list = []
        if self.peek() == "]":
            self.pos += 1
            return out
        while True:
            out.append(self.attr())
            if self.item_closes("]"):
                return out

    def attr_tuple(self) -> tuple:
        return self.tuple_items(self.attr)

    def tuple_items(self, item) -> tuple:
        """After "(": ``")"``, ``item "," ")"`` or ``item ("," item)+ ")"``."""
        if self.peek() == ")":
            self.pos += 1
            return ()
        out = [item()]
        self.expect(",")
        if self.peek() == ")":
            self.pos += 1
            return (out[0],)
        while True:
            out.append(item())
            if self.item_closes(")"):
                return tuple(out)

    # -- types -------------------------------------------------------------------------------
    def type(self) -> Type:
        self.peek()
        span = _TYPE_SPAN.match(self.text, self.pos)
        if span is not None:
            t = self.types.get(span.group())
            if t is not None:
                self.pos = span.end()
                return t
        t = self.type_uncached()
        if span is not None and self.pos == span.end():
            self.types[span.group()] = t
        return t

    def type_uncached(self) -> Type:
        if self.peek() == "(":
            self.pos += 1
            t: Type = self.tuple_type()
        else:
            word = self.match(_TYPE_START).group("NAME")
            if word == "Tensor":
                t = self.tensor_type() if self.peek() == "(" else TensorType(None, None, None)
            elif word == "Dict":
                self.expect("(")
                key = self.type()
                self.expect(",")
                value = self.type()
                self.expect(")")
                t = DictType(key, value)
            elif word == "Union":
                self.expect("(")
                members = [self.type()]
                while not self.item_closes(")"):
                    members.append(self.type())
                try:
                    t = UnionType(tuple(members))
                except GraphError:
                    raise FastPathMiss from None
            elif word == "Function":
                self.expect("(")
                t = FunctionType(self.match(_NAME).group("NAME"))
                self.expect(")")
            else:
                t = SIMPLE_TYPES.get(word) or ClassType(word)
        text = self.text
        while True:   # suffixes bind left to right: int?[] is a list of optional ints
            # NOTE: pos stays at the type's last character, so the cache in type() can tell
            # where the type ended.
            at = _SKIP.match(text, self.pos).end()
            c = text[at:at + 1]
            if c == "?":
                if isinstance(t, OptionalType):
                    raise FastPathMiss
                self.pos = at + 1
                t = OptionalType(t)
            elif c == "[":
                self.pos = at + 1
                self.expect("]")
                t = ListType(t)
            else:
                return t

    def tuple_type(self) -> TupleType:
        return TupleType(self.tuple_items(self.type))

    def tensor_type(self) -> TensorType:
        """After "Tensor": ``"(" part ("," part)* ")"``, parts in the order dtype, shape, device."""
        self.pos += 1
        dtype = shape = dev = None
        rank = -1
        while True:
            if self.peek() == "[":
                self.pos += 1
                order = 1
                shape = self.dims()
            else:
                m = self.match(_TENSOR_PART)
                if m.lastgroup == "DEVICE":
                    order = 2
                    dev = Device(m.group("DEVICE"))
                else:
                    order = 0
                    dtype = dtypes.from_name(m.group("NAME"))
            if order <= rank:
                raise FastPathMiss
            rank = order
            if self.item_closes(")"):
                return TensorType(dtype, shape, dev)

    def dims(self) -> tuple[int | str | None, ...]:
        """After "[": ``[dim ("," dim)*] "]"``."""
        out: list[int | str | None] = []
        if self.peek() == "]":
            self.pos += 1
            return ()
        while True:
            if self.peek() == "?":
                self.pos += 1
                out.append(None)
            else:
                m = self.match(_DIM)
                if m.lastgroup == "INT":
                    value = int(m.group("INT"))
                    if value < 0:
                        raise FastPathMiss
                    out.append(value)
                else:
                    out.append(m.group("NAME"))
            if self.item_closes("]"):
                return tuple(out)
