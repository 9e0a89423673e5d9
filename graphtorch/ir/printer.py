"""The IR text form (docs/ir.md): ``str(graph)``; :mod:`graphtorch.ir.parser` reads it back.

Unnamed values print as ``%0``, ``%1`` ... numbered in print order, so the text of a graph does
not depend on how it was built and ``print(parse(print(g))) == print(g)``.
"""

from __future__ import annotations

import json
import math

from graphtorch import dtypes
from graphtorch.device import device as Device
from graphtorch.ir.graph import Block, Graph, Node, TensorRef, Value
from graphtorch.ir.kinds import Prim
from graphtorch.ir.types import Type

# Attributes that hold runtime-only objects; the text keeps the node but not the attribute.
_UNPRINTED_ATTRS = {Prim.PythonOp.value: ("fn",)}


def value_names(graph: Graph) -> dict[Value, str]:
    """The printed name (without ``%``) of every value of ``graph``, in print order."""
    names: dict[Value, str] = {}
    counter = 0

    def name(v: Value) -> None:
        nonlocal counter
        if v.name is not None:
            names[v] = v.name
        else:
            names[v] = str(counter)
            counter += 1

    def visit(block: Block) -> None:
        for n in block.nodes:
            for o in n.outputs:
                name(o)
            for b in n.blocks:
                for p in b.inputs:
                    name(p)
                visit(b)

    for p in graph.block.inputs:
        name(p)
    visit(graph.block)
    return names


def format_float(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def format_attr(value: object, indent: int = 0) -> str:
    """The text of an attribute value (a nested graph spans several lines)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(format_attr(v, indent) for v in value) + "]"
    if isinstance(value, tuple):
        if len(value) == 1:
            return f"({format_attr(value[0], indent)},)"
        return "(" + ", ".join(format_attr(v, indent) for v in value) + ")"
    if isinstance(value, dtypes.dtype):
        return value.name
    if isinstance(value, Device):
        return str(value)
    if isinstance(value, TensorRef):
        return f"<tensor:{value.name}>"
    if isinstance(value, Type):
        return f"type({value})"
    if isinstance(value, slice):
        return (f"slice({format_attr(value.start)}, {format_attr(value.stop)}, "
                f"{format_attr(value.step)})")
    if value is Ellipsis:
        return "..."
    if isinstance(value, Graph):
        return _Printer(value).graph_text(indent + 4).rstrip("\n") + "\n" + " " * (indent + 2)
    return f"<opaque:{type(value).__name__}>"


class _Printer:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.names = value_names(graph)
        self.lines: list[str] = []
        self.line_of: dict[Node, int] = {}   # index in self.lines of each node's first line

    def ref(self, v: Value) -> str:
        return "%" + self.names.get(v, f"<undefined:{v.name}>")

    def decl(self, v: Value) -> str:
        return f"{self.ref(v)} : {v.type}"

    def node_head(self, n: Node, indent: int) -> str:
        outs = ", ".join(self.decl(o) for o in n.outputs)
        skip = _UNPRINTED_ATTRS.get(n.kind, ())
        attrs = [f"{k}={format_attr(v, indent)}" for k, v in n.attrs.items() if k not in skip]
        text = (f"{outs} = " if outs else "= ") + n.kind
        if attrs:
            text += "[" + ", ".join(attrs) + "]"
        text += "(" + ", ".join(self.ref(v) for v in n.inputs) + ")"
        if n.source is not None:
            text += f"  # {n.source}"
        return text

    def node(self, n: Node, indent: int) -> None:
        self.line_of[n] = len(self.lines)
        self.lines.append(" " * indent + self.node_head(n, indent))
        for i, b in enumerate(n.blocks):
            params = ", ".join(self.decl(p) for p in b.inputs)
            self.lines.append(" " * (indent + 2) + f"block{i}({params}):")
            self.block_body(b, indent + 4)
            outs = ", ".join(self.ref(v) for v in b.outputs)
            self.line_of[b.return_node] = len(self.lines)
            self.lines.append(" " * (indent + 4) + f"-> ({outs})")

    def block_body(self, b: Block, indent: int) -> None:
        for n in b.nodes:
            self.node(n, indent)

    def graph_text(self, indent: int = 2) -> str:
        params = ", ".join(self.decl(p) for p in self.graph.block.inputs)
        self.lines.append(f"graph({params}):")
        self.block_body(self.graph.block, indent)
        outs = ", ".join(self.ref(v) for v in self.graph.outputs)
        self.line_of[self.graph.block.return_node] = len(self.lines)
        self.lines.append(" " * indent + f"return ({outs})")
        return "\n".join(self.lines) + "\n"


def print_graph(graph: Graph) -> str:
    """The IR text of ``graph`` (ends with a newline)."""
    return _Printer(graph).graph_text()


def node_context(node: Node, radius: int = 2) -> str:
    """The lines of ``str(node.graph)`` around ``node``, the node's line marked with ``>``."""
    p = _Printer(node.graph)
    p.graph_text()
    at = p.line_of.get(node)
    if at is None:
        return "  > " + node_line(node) + "    (not inserted in the graph)"
    lo, hi = max(at - radius, 0), min(at + radius + 1, len(p.lines))
    return "\n".join(("  > " if i == at else "    ") + p.lines[i] for i in range(lo, hi))


def node_line(node: Node) -> str:
    """One node's text (without its blocks), as it appears in ``str(node.graph)``."""
    if node.kind == Prim.Return.value:
        return "-> (" + ", ".join(_Printer(node.graph).ref(v) for v in node.inputs) + ")"
    return _Printer(node.graph).node_head(node, 0)
