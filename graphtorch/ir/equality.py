"""Structural equality of graphs (``graphs_equal``), for pass tests and round-trip checks."""

from __future__ import annotations

import math

from graphtorch.ir.graph import Block, Graph, Node, Value


def attrs_equal(a: object, b: object) -> bool:
    """Attribute equality: nested graphs structurally, NaN equal to NaN, bool distinct from int."""
    if isinstance(a, Graph) and isinstance(b, Graph):
        return graphs_equal(a, b)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(attrs_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(attrs_equal(a[k], b[k]) for k in a)
    return a == b


class _Matcher:
    def __init__(self, check_names: bool, check_source: bool):
        self.check_names = check_names
        self.check_source = check_source
        self.env: dict[Value, Value] = {}

    def bind(self, a: Value, b: Value) -> bool:
        if a.type != b.type or (self.check_names and a.name != b.name):
            return False
        self.env[a] = b
        return True

    def same_refs(self, xs: list[Value], ys: list[Value]) -> bool:
        return len(xs) == len(ys) and all(self.env.get(x) is y for x, y in zip(xs, ys))

    def block(self, a: Block, b: Block) -> bool:
        if len(a.inputs) != len(b.inputs):
            return False
        if not all(self.bind(x, y) for x, y in zip(a.inputs, b.inputs)):
            return False
        na, nb = a.nodes, b.nodes
        if len(na) != len(nb) or not all(self.node(x, y) for x, y in zip(na, nb)):
            return False
        return self.same_refs(a.outputs, b.outputs)

    def node(self, a: Node, b: Node) -> bool:
        if a.kind != b.kind or len(a.outputs) != len(b.outputs) or len(a.blocks) != len(b.blocks):
            return False
        if self.check_source and a.source != b.source:
            return False
        if not self.same_refs(a.inputs, b.inputs):
            return False
        if a.attrs.keys() != b.attrs.keys():
            return False
        if not all(attrs_equal(a.attrs[k], b.attrs[k]) for k in a.attrs):
            return False
        if not all(self.bind(x, y) for x, y in zip(a.outputs, b.outputs)):
            return False
        return all(self.block(x, y) for x, y in zip(a.blocks, b.blocks))


def graphs_equal(a: Graph, b: Graph, check_names: bool = False,
                 check_source: bool = False) -> bool:
    """Whether ``a`` and ``b`` compute the same thing in the same way.

    Compared: node kinds in order, the dataflow between them, value types, attributes (nested
    graphs recursively) and block structure. Debug names and source locations are ignored unless
    asked for; tensor constants are compared by their TensorRef names, not their data.
    """
    return _Matcher(check_names, check_source).block(a.block, b.block)
