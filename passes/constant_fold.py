"""Constant folding: nodes whose inputs are all constants are evaluated at compile time.

Folded: ``op::`` nodes through the registry kernel (via ``dispatch``, under ``no_grad``, with no
tracer recording); scalar prim ops (``SCALAR_OPS``); tuple/list construct, index and unpack of
constants; ``prim::If`` on a constant condition (the taken block is inlined); ``prim::Loop``
that never runs (constant-false condition or a trip count <= 0).

Not folded: RANDOM ops, ops with a ``generator`` argument, factories asked for a fresh leaf
(``requires_grad=True``), tensor results of more than ``MAX_FOLD_NUMEL`` elements (folding must
never bloat the graph), tensors that escape the graph as its outputs (a caller could modify the
returned tensor in place and change the constant), nodes whose outputs are unused (DCE's job),
list/dict values when the graph mutates containers, and any node reading or producing a tensor
when the graph writes into tensors (``prim::Inplace``: a folded tensor constant would be shared by
every run and updated by each). Evaluation errors leave the node alone:
the error then happens at run time, where it belongs.

Sizes: a traced graph's tensor types carry the example's sizes, and the trace must generalize
over other batch sizes, so ``prim::size`` (and ``dim``/``numel``/``dtype``) of a graph value are
folded from its type only with ``ctx.options["static_shapes"] = True``.
"""

from __future__ import annotations

from graphtorch.autograd.grad_mode import no_grad
from graphtorch.device import device as Device
from graphtorch.dtypes import dtype as DType
from graphtorch.errors import GraphError
from graphtorch.ir.graph import Block, Graph, Node, Value
from graphtorch.ir.kinds import Prim
from graphtorch.ir.op_call import split_op_inputs
from graphtorch.ir.types import ListType, TensorType, TupleType, Type, is_subtype, type_of_value
from graphtorch.ops.dispatch import dispatch, set_tracer
from graphtorch.ops.meta import TensorMeta, meta_of, numel
from graphtorch.ops.registry import REGISTRY
from graphtorch.ops.scalar_ops import SCALAR_OPS
from graphtorch.passes.cse import is_pure, mutates_containers, mutates_tensors
from graphtorch.passes.manager import PassContext, register_pass
from graphtorch.tensor import Tensor

MAX_FOLD_NUMEL = 1024

_NOT_FOLDED = object()


def _plain(value: object) -> bool:
    """Whether a Python value can be a ``prim::Constant`` attribute (tensors aside)."""
    if value is None or isinstance(value, (bool, int, float, str, DType, Device)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return False


def _fits(value: object, t: Type) -> bool:
    if isinstance(value, list) and isinstance(t, ListType):
        return all(_fits(v, t.elem) for v in value)
    if isinstance(value, tuple) and isinstance(t, TupleType):
        return len(value) == len(t.elems) and all(_fits(v, e) for v, e in zip(value, t.elems))
    return is_subtype(type_of_value(value), t)


def _escapes(value: Value) -> bool:
    """Whether the value is returned by the graph, directly or inside a tuple/list."""
    for use in value.uses:
        user = use.node
        if user.kind == Prim.Return.value and user.block.owner is None:
            return True
        if user.kind in (Prim.TupleConstruct.value, Prim.ListConstruct.value):
            if _escapes(user.outputs[0]):
                return True
    return False


class _Folder:
    def __init__(self, graph: Graph, ctx: PassContext):
        self.graph = graph
        self.static_shapes = bool(ctx.options.get("static_shapes"))
        self.containers_mutated = mutates_containers(graph)
        self.tensors_mutated = mutates_tensors(graph)
        self.changed = False

    # -- traversal ---------------------------------------------------------------------------
    def block(self, block: Block) -> None:
        for node in block.nodes:
            for b in node.blocks:
                self.block(b)
            if node.kind == Prim.If.value:
                self.fold_if(node)
            elif node.kind == Prim.Loop.value:
                self.fold_loop(node)
            elif any(o.uses for o in node.outputs):
                results = self.evaluate(node)
                if results is not _NOT_FOLDED:
                    self.replace(node, results)

    def replace(self, node: Node, results: list) -> None:
        """Replace the node's outputs by constants, or leave it when one does not qualify."""
        for value, out in zip(results, node.outputs):
            if isinstance(value, Tensor):
                if (value.numel() > MAX_FOLD_NUMEL or value.requires_grad or _escapes(out)
                        or not is_subtype(type_of_value(value), out.type)):
                    return
            elif not (_plain(value) and _fits(value, out.type)):
                return
        with self.graph.insert_point(node), self.graph.source(node.source):
            consts = []
            for value, out in zip(results, node.outputs):
                # NOTE: a tensor constant gets its exact type, which refines the node's.
                t = type_of_value(value) if isinstance(value, Tensor) else out.type
                consts.append(self.graph.constant(value, t))
        for out, const in zip(node.outputs, consts):
            out.replace_all_uses_with(const)
        node.destroy()
        self.changed = True

    # -- control flow ------------------------------------------------------------------------
    def fold_if(self, node: Node) -> None:
        cond = node.inputs[0]
        if not cond.is_constant or not isinstance(cond.node.attrs.get("value"), bool):
            return
        taken = node.blocks[0] if cond.node.attrs["value"] else node.blocks[1]
        for inner in taken.nodes:
            inner.move_before(node)
        for out, value in zip(node.outputs, taken.outputs):
            out.replace_all_uses_with(value)
        node.destroy()
        self.changed = True

    def fold_loop(self, node: Node) -> None:
        trip, cond = node.inputs[0], node.inputs[1]
        never = (cond.is_constant and cond.node.attrs.get("value") is False) or (
            trip.is_constant and type(trip.node.attrs.get("value")) is int
            and trip.node.attrs["value"] <= 0)
        if not never:
            return
        for out, init in zip(node.outputs, node.inputs[2:]):
            out.replace_all_uses_with(init)
        node.destroy()
        self.changed = True

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, node: Node):
        """The node's output values (a list), or _NOT_FOLDED."""
        if self.static_shapes and node.kind in _TYPE_FACTS:
            value = _TYPE_FACTS[node.kind](node)
            if value is not _NOT_FOLDED:
                return [value]
        if not all(v.is_constant for v in node.inputs):
            return _NOT_FOLDED
        if not is_pure(node, self.containers_mutated, attrs_written=True,
                       tensors_mutated=self.tensors_mutated):
            return _NOT_FOLDED
        try:
            args = [self.graph.constant_value(v) for v in node.inputs]
        except GraphError:   # a parsed graph without its tensor data
            return _NOT_FOLDED
        try:
            if node.is_op:
                return self.run_op(node, args)
            if node.kind in _STRUCTURAL:
                return _STRUCTURAL[node.kind](node, args)
            if node.kind in SCALAR_OPS:
                return [SCALAR_OPS[node.kind](*args)]
        except Exception:  # noqa: BLE001 - a failing evaluation stays in the graph, to fail later
            return _NOT_FOLDED
        return _NOT_FOLDED

    def run_op(self, node: Node, args: list):
        op = REGISTRY[node.op_name]
        # NOTE: RANDOM ops and fresh leaves never get here (is_pure); a generator argument is
        # state the graph does not show
        if any(a.name == "generator" for a in op.schema.args):
            return _NOT_FOLDED
        if op.meta is not None and not _small_enough(op, args):
            return _NOT_FOLDED
        pos, kwargs = split_op_inputs(op, args)
        previous = set_tracer(None)
        try:
            with no_grad():
                out = dispatch(op, pos, kwargs or None)
                outs = list(out) if len(node.outputs) > 1 else [out]
                return [o.detach().clone() if isinstance(o, Tensor) else o for o in outs]
        finally:
            set_tracer(previous)


def _small_enough(op, args: list) -> bool:
    """Ask the meta rule first so a huge factory result is never even computed."""
    metas = [meta_of(a) if isinstance(a, Tensor) else a for a in args]
    metas.extend(a.default for a in op.schema.args[len(metas):])
    try:
        result = op.meta(*metas)
    except Exception:  # noqa: BLE001 - the kernel will raise the real error, or we skip
        return False
    results = result if isinstance(result, (tuple, list)) else (result,)
    for r in results:
        if isinstance(r, TensorMeta):
            n = numel(r.shape)
            if n is None or n > MAX_FOLD_NUMEL:
                return False
    return True


def _unpack(node: Node, args: list) -> list:
    items = list(args[0])
    if len(items) != len(node.outputs):
        return _NOT_FOLDED
    return items


def _index(node: Node, args: list) -> list:
    seq, i = args
    if type(i) is not int or not -len(seq) <= i < len(seq):
        return _NOT_FOLDED
    return [seq[i]]


_STRUCTURAL = {
    Prim.TupleConstruct.value: lambda node, args: [tuple(args)],
    Prim.ListConstruct.value: lambda node, args: [list(args)],
    Prim.TupleUnpack.value: _unpack,
    Prim.ListUnpack.value: _unpack,
    Prim.TupleIndex.value: _index,
    Prim.ListIndex.value: _index,
}


# -- facts read from a tensor's type (static_shapes only) ------------------------------------

def _known_type(v: Value) -> TensorType | None:
    t = v.type
    return t if isinstance(t, TensorType) and t.shape is not None else None


def _size_fact(node: Node):
    t = _known_type(node.inputs[0])
    if t is None:
        return _NOT_FOLDED
    if len(node.inputs) == 1:
        dims = list(t.shape)
        return dims if all(type(d) is int for d in dims) else _NOT_FOLDED
    dim = node.inputs[1]
    if not dim.is_constant or type(dim.node.attrs.get("value")) is not int:
        return _NOT_FOLDED
    i = dim.node.attrs["value"]
    if not -len(t.shape) <= i < len(t.shape):
        return _NOT_FOLDED
    d = t.shape[i]
    return d if type(d) is int else _NOT_FOLDED


def _dim_fact(node: Node):
    t = _known_type(node.inputs[0])
    return _NOT_FOLDED if t is None else len(t.shape)


def _numel_fact(node: Node):
    t = _known_type(node.inputs[0])
    if t is None or not all(type(d) is int for d in t.shape):
        return _NOT_FOLDED
    n = 1
    for d in t.shape:
        n *= d
    return n


def _dtype_fact(node: Node):
    t = node.inputs[0].type
    if isinstance(t, TensorType) and t.dtype is not None:
        return t.dtype
    return _NOT_FOLDED


_TYPE_FACTS = {
    "prim::size": _size_fact,
    "prim::dim": _dim_fact,
    "prim::numel": _numel_fact,
    "prim::dtype": _dtype_fact,
}


@register_pass("constant_fold")
def fold_constants(graph: Graph, ctx: PassContext | None = None) -> bool:
    """Evaluate nodes whose inputs are all constants; inline ifs on constant conditions."""
    folder = _Folder(graph, ctx or PassContext())
    folder.block(graph.block)
    return folder.changed
