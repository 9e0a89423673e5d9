"""Shape propagation: tensor types (dtype, shape with symbolic dims, device) through the graph.

``op::`` nodes get the type their registry meta rule computes from the input types (sizes read
with ``prim::size`` feed the rule as the dim they read, a symbol included); ``prim::If`` outputs
are the join (``unify``) of both branches; ``prim::Loop`` carried values are joined with the
body's results until a fixed point (dims that change become ``?``); tuple and list nodes pass
element types through (lists only in graphs that never mutate a list).

Only tensor parts of types are rewritten; declared non-tensor types (``int``, ``float`` ...) are
kept. Where a meta rule cannot decide and an input type changed, the output keeps its dtype and
rank but its dims become unknown, so no stale size survives.

Options (``ctx.options``): ``generalize_batch=True`` first turns the first dim of every tensor
graph input into the symbol ``B`` (inputs with another first size get ``B1``, ``B2`` ...;
inputs lifted from parameters, ``ctx.options["lifted_paths"]``, keep their sizes), so a traced
graph reads ``Tensor(float32, [B, 4])``.
"""

from __future__ import annotations

from graphtorch.device import CPU
from graphtorch.errors import GraphError
from graphtorch.ir.graph import Block, Graph, Node, Value
from graphtorch.ir.kinds import Prim
from graphtorch.ir.types import (
    ListType,
    NoneType,
    OptionalType,
    TensorType,
    TupleType,
    Type,
    optional,
    type_of_value,
    unify,
)
from graphtorch.ops.meta import TensorMeta, meta_of
from graphtorch.ops.registry import REGISTRY
from graphtorch.passes.cse import mutates_containers
from graphtorch.passes.manager import PassContext, register_pass
from graphtorch.tensor import Tensor

MAX_LOOP_ROUNDS = 8

_UNKNOWN = object()


def refine(old: Type, new: Type | None) -> Type:
    """``old`` with its tensor parts replaced by ``new``'s; other parts stay as declared."""
    if new is None:
        return old
    if isinstance(old, TensorType) and isinstance(new, TensorType):
        return new
    if isinstance(old, OptionalType):
        inner = new.elem if isinstance(new, OptionalType) else new
        return old if isinstance(inner, NoneType) else optional(refine(old.elem, inner))
    if isinstance(old, TupleType) and isinstance(new, TupleType) and \
            len(old.elems) == len(new.elems):
        return TupleType(tuple(refine(a, b) for a, b in zip(old.elems, new.elems)))
    if isinstance(old, ListType) and isinstance(new, ListType):
        return ListType(refine(old.elem, new.elem))
    return old


def _unknown_dims(t: Type) -> Type:
    """``t`` with every tensor's dims unknown (dtype, rank and device kept)."""
    if isinstance(t, TensorType):
        return t if t.shape is None else TensorType(t.dtype, (None,) * len(t.shape), t.device)
    if isinstance(t, TupleType):
        return TupleType(tuple(_unknown_dims(e) for e in t.elems))
    if isinstance(t, (ListType, OptionalType)):
        return type(t)(_unknown_dims(t.elem))
    return t


def _top(t: Type) -> Type:
    """``t`` with every tensor part fully unknown: where a loop does not settle."""
    if isinstance(t, TensorType):
        return TensorType()
    if isinstance(t, TupleType):
        return TupleType(tuple(_top(e) for e in t.elems))
    if isinstance(t, (ListType, OptionalType)):
        return type(t)(_top(t.elem))
    return t


class _Propagator:
    def __init__(self, graph: Graph, ctx: PassContext):
        self.graph = graph
        self.lists_mutated = mutates_containers(graph)
        self.modified: set[Value] = set()

    def set_type(self, v: Value, t: Type) -> None:
        if t != v.type:
            v.type = t
            self.modified.add(v)

    # -- inputs ------------------------------------------------------------------------------
    def generalize_batch(self, n_params: int) -> None:
        inputs = self.graph.inputs
        symbols: dict[int, str] = {}
        for v in inputs[:len(inputs) - n_params]:
            t = v.type
            if not isinstance(t, TensorType) or not t.shape or type(t.shape[0]) is not int:
                continue
            size = t.shape[0]
            if size not in symbols:
                symbols[size] = "B" if not symbols else f"B{len(symbols)}"
            self.set_type(v, t.with_(shape=(symbols[size],) + t.shape[1:]))

    # -- traversal ---------------------------------------------------------------------------
    def block(self, block: Block) -> None:
        for node in block.nodes:
            handler = _HANDLERS.get(node.kind)
            if handler is not None:
                handler(self, node)
            elif node.is_op:
                self.op(node)

    # -- op nodes ----------------------------------------------------------------------------
    def meta_arg(self, v: Value):
        """What the meta rule gets for this input, or _UNKNOWN."""
        t = v.type
        if isinstance(t, TensorType):
            if t.dtype is None or t.shape is None:
                return _UNKNOWN
            return TensorMeta(t.dtype, t.shape, t.device or CPU)
        node = v.node
        if node is None:
            return _UNKNOWN
        if node.kind == Prim.Constant.value:
            try:
                value = self.graph.constant_value(v)
            except GraphError:
                return _UNKNOWN
            return meta_of(value) if isinstance(value, Tensor) else value
        if node.kind == Prim.ListConstruct.value:
            items = [self.meta_arg(x) for x in node.inputs]
            return _UNKNOWN if any(x is _UNKNOWN for x in items) else items
        if node.kind == "prim::size":
            return self.size_arg(node)
        return _UNKNOWN

    def size_arg(self, node: Node):
        """``x.size()`` or ``x.size(i)`` as the dims of x's type (symbols included)."""
        t = node.inputs[0].type
        if not isinstance(t, TensorType) or t.shape is None:
            return _UNKNOWN
        if len(node.inputs) == 1:
            return _UNKNOWN if None in t.shape else list(t.shape)
        dim = node.inputs[1]
        i = dim.node.attrs.get("value") if dim.is_constant else None
        if type(i) is not int or not -len(t.shape) <= i < len(t.shape):
            return _UNKNOWN
        d = t.shape[i]
        return _UNKNOWN if d is None else d

    def op(self, node: Node) -> None:
        op = REGISTRY.get(node.op_name)
        if op is None or op.meta is None:
            return
        args = [self.meta_arg(v) for v in node.inputs]
        tensor_types = [v.type.elem if isinstance(v.type, ListType) else v.type
                        for v in node.inputs]
        tensor_types = [t for t in tensor_types if isinstance(t, TensorType)]
        devices_known = all(t.device is not None for t in tensor_types)
        results = None
        if not any(a is _UNKNOWN for a in args):
            args.extend(a.default for a in op.schema.args[len(args):])
            try:
                result = op.meta(*args)
                results = result if isinstance(result, (tuple, list)) else (result,)
            except Exception:  # noqa: BLE001 - a rule that cannot decide leaves the type open
                results = None
        if results is None or len(results) != len(node.outputs):
            if any(v in self.modified for v in node.inputs):
                for o in node.outputs:
                    self.set_type(o, _unknown_dims(o.type))
            return
        for meta, o in zip(results, node.outputs):
            if not isinstance(meta, TensorMeta) or not isinstance(o.type, TensorType):
                continue
            device = meta.device if devices_known else o.type.device
            self.set_type(o, TensorType(meta.dtype, meta.shape, device))

    # -- control flow ------------------------------------------------------------------------
    def if_(self, node: Node) -> None:
        for b in node.blocks:
            self.block(b)
        then, other = node.blocks[0].outputs, node.blocks[1].outputs
        for o, a, b in zip(node.outputs, then, other):
            self.set_type(o, refine(o.type, unify(a.type, b.type)))

    def loop(self, node: Node) -> None:
        body = node.blocks[0]
        params = body.inputs[1:]
        for p, init in zip(params, node.inputs[2:]):
            self.set_type(p, refine(p.type, init.type))
        for _ in range(MAX_LOOP_ROUNDS):
            self.block(body)
            settled = True
            for p, ret in zip(params, body.outputs[1:]):
                joined = refine(p.type, unify(p.type, ret.type))
                if joined != p.type:
                    self.set_type(p, joined)
                    settled = False
            if settled:
                break
        else:
            for p in params:
                self.set_type(p, _top(p.type))
            self.block(body)
        for o, p in zip(node.outputs, params):
            self.set_type(o, p.type)

    # -- containers --------------------------------------------------------------------------
    def tuple_construct(self, node: Node) -> None:
        o = node.outputs[0]
        self.set_type(o, refine(o.type, TupleType(tuple(v.type for v in node.inputs))))

    def tuple_unpack(self, node: Node) -> None:
        t = node.inputs[0].type
        if isinstance(t, TupleType) and len(t.elems) == len(node.outputs):
            for o, e in zip(node.outputs, t.elems):
                self.set_type(o, refine(o.type, e))

    def tuple_index(self, node: Node) -> None:
        t, i = node.inputs[0].type, node.inputs[1]
        index = i.node.attrs.get("value") if i.is_constant else None
        if isinstance(t, TupleType) and type(index) is int and -len(t.elems) <= index < len(
                t.elems):
            o = node.outputs[0]
            self.set_type(o, refine(o.type, t.elems[index]))

    def list_construct(self, node: Node) -> None:
        if self.lists_mutated or not node.inputs:
            return
        elem = node.inputs[0].type
        for v in node.inputs[1:]:
            elem = unify(elem, v.type) if elem is not None else None
        if elem is not None:
            o = node.outputs[0]
            self.set_type(o, refine(o.type, ListType(elem)))

    def list_take(self, node: Node) -> None:
        t = node.inputs[0].type
        if self.lists_mutated or not isinstance(t, ListType):
            return
        for o in node.outputs:
            self.set_type(o, refine(o.type, t.elem))

    def constant(self, node: Node) -> None:
        o = node.outputs[0]
        if isinstance(o.type, TensorType):
            try:
                value = self.graph.constant_value(o)
            except GraphError:
                return
            if isinstance(value, Tensor):
                self.set_type(o, type_of_value(value))


_HANDLERS = {
    Prim.Constant.value: _Propagator.constant,
    Prim.If.value: _Propagator.if_,
    Prim.Loop.value: _Propagator.loop,
    Prim.TupleConstruct.value: _Propagator.tuple_construct,
    Prim.TupleUnpack.value: _Propagator.tuple_unpack,
    Prim.TupleIndex.value: _Propagator.tuple_index,
    Prim.ListConstruct.value: _Propagator.list_construct,
    Prim.ListUnpack.value: _Propagator.list_take,
    Prim.ListIndex.value: _Propagator.list_take,
    "prim::list_get": _Propagator.list_take,
}


@register_pass("shape_prop")
def propagate_shapes(graph: Graph, ctx: PassContext | None = None) -> bool:
    """Recompute tensor types from the inputs' through meta rules, branches and loops."""
    ctx = ctx or PassContext()
    # NOTE: a loop re-derives its carried types from the initial values on every run, so
    # "changed" compares the types before and after rather than counting assignments.
    before = {v: v.type for v in _values(graph)}
    prop = _Propagator(graph, ctx)
    if ctx.options.get("generalize_batch"):
        prop.generalize_batch(len(ctx.options.get("lifted_paths") or ()))
    prop.block(graph.block)
    return any(v.type != t for v, t in before.items())


def _values(graph: Graph) -> list[Value]:
    out = list(graph.inputs)
    for node in graph.walk():
        out.extend(node.outputs)
        for b in node.blocks:
            out.extend(b.inputs)
    return out
