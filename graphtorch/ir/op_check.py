"""Checking an ``op::`` node against its registry entry: schema arity and the op's meta rule."""

from __future__ import annotations

from graphtorch.device import CPU
from graphtorch.errors import ArgumentError, DTypeError, GraphError, ShapeError
from graphtorch.ir.graph import Node, TensorRef, Value
from graphtorch.ir.kinds import Prim
from graphtorch.ir.types import TensorType, Type
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.registry import REGISTRY

_UNKNOWN = object()


def _meta_arg(v: Value):
    """What a meta rule gets for this input, or _UNKNOWN when the graph does not say."""
    t = v.type
    if isinstance(t, TensorType):
        if t.dtype is None or t.shape is None:
            return _UNKNOWN
        return TensorMeta(t.dtype, t.shape, t.device or CPU)
    node = v.node
    if node is None:
        return _UNKNOWN
    if node.kind == Prim.Constant.value:
        value = node.attrs.get("value", _UNKNOWN)
        if isinstance(value, TensorRef):
            tensor = v.graph.tensor_constants.get(value.name)
            return _UNKNOWN if tensor is None else tensor
        return value
    if node.kind == Prim.ListConstruct.value:
        items = [_meta_arg(x) for x in node.inputs]
        return _UNKNOWN if any(x is _UNKNOWN for x in items) else items
    return _UNKNOWN


def _dims_agree(a, b) -> bool:
    return not (isinstance(a, int) and isinstance(b, int) and a != b)


def _type_agrees(meta, t: Type) -> str | None:
    """Why the output type ``t`` contradicts the meta rule's result, or None."""
    if not isinstance(meta, TensorMeta) or not isinstance(t, TensorType):
        return None
    if t.dtype is not None and meta.dtype is not t.dtype:
        return f"dtype {t.dtype.name}, but the op's meta rule gives {meta.dtype.name}"
    if t.shape is not None and meta.shape is not None:
        shown = "[" + ", ".join("?" if d is None else str(d) for d in meta.shape) + "]"
        if len(t.shape) != len(meta.shape):
            return f"rank {len(t.shape)}, but the op's meta rule gives shape {shown}"
        for i, (a, b) in enumerate(zip(t.shape, meta.shape)):
            if not _dims_agree(a, b):
                return f"size {a} at dim {i}, but the op's meta rule gives shape {shown}"
    return None


def check_op_node(n: Node) -> str | None:
    """The problem with op node ``n`` (unknown op, wrong arity, types contradicting the meta
    rule), or None when it is fine or cannot be judged from the types at hand."""
    op = REGISTRY.get(n.op_name)
    if op is None:
        return f"unknown op {n.op_name!r}: no registry entry has that name"
    args = op.schema.args
    required = next((i for i in range(len(args), 0, -1) if not args[i - 1].has_default), 0)
    if not required <= len(n.inputs) <= len(args):
        want = f"{required}" if required == len(args) else f"{required} to {len(args)}"
        return (f"op::{op.name} takes {want} input(s) (schema: {op.schema}), got "
                f"{len(n.inputs)}")
    if len(n.outputs) != op.n_outputs:
        return (f"op::{op.name} has {op.n_outputs} output(s) (schema: {op.schema}), got "
                f"{len(n.outputs)}")
    if op.meta is None:
        return None
    vals = [_meta_arg(v) for v in n.inputs]
    if any(v is _UNKNOWN for v in vals):
        return None
    vals.extend(a.default for a in args[len(vals):])
    try:
        result = op.meta(*vals)
    except (ShapeError, DTypeError, ArgumentError, GraphError) as e:
        return f"op::{op.name} rejects its input types: {e}"
    except Exception:  # noqa: BLE001 - a meta rule that cannot handle symbols is not an error
        return None
    results = result if isinstance(result, (tuple, list)) else (result,)
    for i, (meta, o) in enumerate(zip(results, n.outputs)):
        problem = _type_agrees(meta, o.type)
        if problem is not None:
            return f"output {i} of op::{op.name} has type {o.type}: {problem}"
    return None
