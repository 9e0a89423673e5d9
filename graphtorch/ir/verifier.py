"""``verify(graph)``: the invariants every pass must keep, checked with errors for people.

A failure raises :class:`graphtorch.errors.GraphError` whose message says what is wrong, shows
the offending node's line with a few lines of context, and its source location.
"""

from __future__ import annotations

from graphtorch.errors import GraphError
from graphtorch.ir.graph import Block, Graph, Node, TensorRef, Value
from graphtorch.ir.kinds import Prim
from graphtorch.ir.op_check import check_op_node
from graphtorch.ir.printer import node_context, value_names
from graphtorch.ir.types import (
    AnyType,
    BoolType,
    ListType,
    TupleType,
    Type,
    is_subtype,
    type_of_value,
)


class _Verifier:
    def __init__(self, graph: Graph, check_tensor_constants: bool):
        self.graph = graph
        self.check_tensor_constants = check_tensor_constants
        self.defined: set[Value] = set()   # every value defined so far (SSA: at most once)
        self.live: set[Node] = set()       # every node (and return node) reachable
        self._printed: dict[Value, str] | None = None

    def fail(self, node: Node, message: str) -> GraphError:
        where = f"\n  source: {node.source}" if node.source is not None else ""
        return GraphError(f"{message}\n{node_context(node)}{where}")

    def name(self, v: Value) -> str:
        """The value as the context lines print it."""
        if self._printed is None:
            self._printed = value_names(self.graph)
        if v in self._printed:
            return "%" + self._printed[v]
        return f"%{v.name}" if v.name is not None else "a value from outside the graph"

    # -- structure ---------------------------------------------------------------------------
    def run(self) -> None:
        self.collect(self.graph.block)
        self.block(self.graph.block, [set()])
        for v in self.defined:
            self.check_uses(v)

    def collect(self, block: Block) -> None:
        self.live.add(block.return_node)
        for n in block.nodes:
            self.live.add(n)
            for b in n.blocks:
                self.collect(b)

    def define(self, v: Value, scopes: list[set[Value]], where: Node) -> None:
        if v in self.defined:
            raise self.fail(where, f"SSA violation: {self.name(v)} is defined more than once")
        if v.graph is not self.graph:
            raise self.fail(where, f"{self.name(v)} belongs to another graph")
        self.defined.add(v)
        scopes[-1].add(v)

    def use(self, n: Node, v: Value, scopes: list[set[Value]], what: str) -> None:
        if not any(v in s for s in scopes):
            if v in self.defined:
                raise self.fail(n, f"{what} {self.name(v)} is used outside the block that "
                                   f"defines it")
            raise self.fail(n, f"{what} {self.name(v)} is used before it is defined (or its "
                               f"producer is not in the graph)")

    def block(self, block: Block, scopes: list[set[Value]]) -> None:
        owner = block.owner if block.owner is not None else block.return_node
        for i, p in enumerate(block.inputs):
            if p.node is not None or p.block is not block or p.index != i:
                raise self.fail(owner, f"block parameter {self.name(p)} has stale "
                                       f"producer/block/index fields")
            self.define(p, scopes, owner)
        prev = None
        for n in block.nodes:
            if n.block is not block or n.graph is not self.graph or n.prev is not prev:
                raise self.fail(n, "node has a stale block, graph or list link")
            prev = n
            self.node(n, scopes)
        for v in block.return_node.inputs:
            self.use(block.return_node, v, scopes, "returned value")
        self.check_input_uses(block.return_node)

    def node(self, n: Node, scopes: list[set[Value]]) -> None:
        for i, v in enumerate(n.inputs):
            self.use(n, v, scopes, f"input {i}")
        self.check_input_uses(n)
        for b in n.blocks:
            scopes.append(set())
            self.block(b, scopes)
            scopes.pop()
        for i, o in enumerate(n.outputs):
            if o.node is not n or o.index != i or o.block is not None:
                raise self.fail(n, f"output {i} ({self.name(o)}) has stale producer/index "
                                   f"fields")
            self.define(o, scopes, n)
        _KIND_CHECKS.get(n.kind, _no_check)(self, n)
        if n.is_op:
            problem = check_op_node(n)
            if problem is not None:
                raise self.fail(n, problem)

    def check_input_uses(self, n: Node) -> None:
        for i, v in enumerate(n.inputs):
            if sum(1 for u in v.uses if u.node is n and u.index == i) != 1:
                raise self.fail(n, f"use list of {self.name(v)} does not record input {i} of "
                                   f"this node exactly once")

    def check_uses(self, v: Value) -> None:
        for u in v.uses:
            if u.node not in self.live:
                where = v.node if v.node is not None else self.graph.block.return_node
                raise self.fail(where, f"{self.name(v)} has a use by a {u.node.kind} node that "
                                       f"is no longer in the graph")
            if u.index >= len(u.node.inputs) or u.node.inputs[u.index] is not v:
                raise self.fail(u.node, f"use list of {self.name(v)} names input {u.index} "
                                        f"of this node, which is another value")

    # -- per-kind rules ----------------------------------------------------------------------
    def arity(self, n: Node, n_in: int | None, n_out: int | None, n_blocks: int = 0) -> None:
        if n_in is not None and len(n.inputs) != n_in:
            raise self.fail(n, f"{n.kind} takes {n_in} input(s), got {len(n.inputs)}")
        if n_out is not None and len(n.outputs) != n_out:
            raise self.fail(n, f"{n.kind} has {n_out} output(s), got {len(n.outputs)}")
        if len(n.blocks) != n_blocks:
            raise self.fail(n, f"{n.kind} has {n_blocks} block(s), got {len(n.blocks)}")

    def attr(self, n: Node, key: str, kind: type) -> object:
        if key not in n.attrs:
            raise self.fail(n, f"{n.kind} needs the attribute {key!r}")
        value = n.attrs[key]
        if not isinstance(value, kind):
            raise self.fail(n, f"{n.kind} attribute {key!r} must be a {kind.__name__}, got "
                               f"{type(value).__name__}")
        return value

    def check_bool(self, n: Node, v: Value, what: str) -> None:
        if not isinstance(v.type, (BoolType, AnyType)):
            raise self.fail(n, f"{what} {self.name(v)} must be a bool, but its type is {v.type}")

    def check_flow(self, n: Node, v: Value, target: Type, what: str) -> None:
        if not is_subtype(v.type, target):
            raise self.fail(n, f"{what}: {self.name(v)} of type {v.type} does not fit the "
                               f"type {target}")


def _no_check(ver: _Verifier, n: Node) -> None:
    pass


def _check_constant(ver: _Verifier, n: Node) -> None:
    ver.arity(n, 0, 1)
    if "value" not in n.attrs:
        raise ver.fail(n, "prim::Constant needs the attribute 'value'")
    value, out = n.attrs["value"], n.outputs[0]
    if isinstance(value, TensorRef):
        tensor = ver.graph.tensor_constants.get(value.name)
        if tensor is None:
            if ver.check_tensor_constants:
                raise ver.fail(n, f"tensor constant {value.name!r} is missing from "
                                  f"graph.tensor_constants")
            return
        value = tensor
    if not _fits(value, out.type):
        raise ver.fail(n, f"constant value of type {type_of_value(value)} does not fit the "
                          f"output type {out.type}")


def _fits(value: object, t: Type) -> bool:
    """Whether a constant value is a value of type ``t`` (empty containers fit any element)."""
    if isinstance(value, list) and isinstance(t, ListType):
        return all(_fits(v, t.elem) for v in value)
    if isinstance(value, tuple) and isinstance(t, TupleType):
        return len(value) == len(t.elems) and all(_fits(v, e) for v, e in zip(value, t.elems))
    vt = type_of_value(value)
    if isinstance(vt, AnyType):
        return True   # opaque plain data (slices, Ellipsis ...): nothing to compare
    return is_subtype(vt, t)


def _check_if(ver: _Verifier, n: Node) -> None:
    ver.arity(n, 1, None, 2)
    ver.check_bool(n, n.inputs[0], "the condition")
    for i, b in enumerate(n.blocks):
        if b.inputs:
            raise ver.fail(n, f"prim::If block{i} must take no parameters, got {len(b.inputs)}")
        outs = b.return_node.inputs
        if len(outs) != len(n.outputs):
            raise ver.fail(n, f"prim::If block{i} returns {len(outs)} value(s) but the node has "
                              f"{len(n.outputs)} output(s)")
        for j, (v, o) in enumerate(zip(outs, n.outputs)):
            ver.check_flow(n, v, o.type, f"prim::If block{i} return {j}")


def _check_loop(ver: _Verifier, n: Node) -> None:
    if len(n.inputs) < 2:
        raise ver.fail(n, f"prim::Loop takes (max_trip_count, condition, carried...), got "
                          f"{len(n.inputs)} input(s)")
    ver.arity(n, None, len(n.inputs) - 2, 1)
    carried = len(n.outputs)
    ver.check_bool(n, n.inputs[1], "the initial loop condition")
    body = n.blocks[0]
    if len(body.inputs) != 1 + carried:
        raise ver.fail(n, f"prim::Loop body takes (iteration, carried...) = {1 + carried} "
                          f"parameter(s), got {len(body.inputs)}")
    outs = body.return_node.inputs
    if len(outs) != 1 + carried:
        raise ver.fail(n, f"prim::Loop body returns (condition, carried...) = {1 + carried} "
                          f"value(s), got {len(outs)}")
    ver.check_bool(n, outs[0], "the loop body's condition")
    for j in range(carried):
        ver.check_flow(n, n.inputs[2 + j], n.outputs[j].type, f"prim::Loop carried input {j}")
        ver.check_flow(n, outs[1 + j], n.outputs[j].type, f"prim::Loop body return {1 + j}")


def _check_named(ver: _Verifier, n: Node) -> None:
    ver.attr(n, "name", str)


def _check_fusion_group(ver: _Verifier, n: Node) -> None:
    sub = ver.attr(n, "subgraph", Graph)
    if len(sub.inputs) != len(n.inputs) or len(sub.outputs) != len(n.outputs):
        raise ver.fail(n, f"prim::FusionGroup has {len(n.inputs)} input(s) and "
                          f"{len(n.outputs)} output(s) but its subgraph has {len(sub.inputs)} "
                          f"and {len(sub.outputs)}")
    try:
        verify(sub, ver.check_tensor_constants)
    except GraphError as e:
        raise ver.fail(n, f"prim::FusionGroup subgraph is invalid: {e}") from None


def _check_tuple_construct(ver: _Verifier, n: Node) -> None:
    ver.arity(n, None, 1)
    t = n.outputs[0].type
    if isinstance(t, TupleType) and len(t.elems) != len(n.inputs):
        raise ver.fail(n, f"prim::TupleConstruct of {len(n.inputs)} value(s) cannot have type {t}")


def _check_tuple_unpack(ver: _Verifier, n: Node) -> None:
    ver.arity(n, 1, None)
    t = n.inputs[0].type
    if isinstance(t, TupleType) and len(t.elems) != len(n.outputs):
        raise ver.fail(n, f"prim::TupleUnpack of a {t} must have {len(t.elems)} output(s), got "
                          f"{len(n.outputs)}")


_KIND_CHECKS = {
    Prim.Constant.value: _check_constant,
    Prim.If.value: _check_if,
    Prim.Loop.value: _check_loop,
    Prim.GetAttr.value: _check_named,
    Prim.SetAttr.value: _check_named,
    Prim.CallMethod.value: _check_named,
    Prim.CallFunction.value: _check_named,
    Prim.PythonOp.value: _check_named,
    Prim.FusionGroup.value: _check_fusion_group,
    Prim.TupleConstruct.value: _check_tuple_construct,
    Prim.TupleUnpack.value: _check_tuple_unpack,
}


def verify(graph: Graph, check_tensor_constants: bool = True) -> None:
    """Raise GraphError unless ``graph`` is well formed (see docs/ir.md, "Invariants").

    ``check_tensor_constants=False`` accepts TensorRefs without data (a parsed graph before its
    tensors are loaded).
    """
    _Verifier(graph, check_tensor_constants).run()

