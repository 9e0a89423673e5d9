"""Canonicalize / peephole: local rewrites that replace a node's result by a value it equals.

- ``x + 0``, ``0 + x``, ``x - 0``, ``x * 1``, ``1 * x``, ``x / 1`` -> ``x`` for tensors, only when
  the types prove the result has ``x``'s dtype and shape (``int_tensor / 1`` is a float tensor;
  ``x + zeros(4)`` may broadcast ``x``); the 0/1 may be a number or a tensor constant. Not in a
  graph with a ``prim::Inplace`` (there ``x + 0`` is a copy that must not see later writes to x;
  likewise ``neg(neg(x))``).
- ``neg(neg(x))`` -> ``x``; ``transpose(transpose(x, a, b), a, b)`` -> ``x``.
- ``TupleIndex``/``TupleUnpack`` of a ``TupleConstruct`` -> its items; ``ListIndex``/
  ``ListUnpack``/``list_get`` of a ``ListConstruct`` likewise, unless the graph mutates lists.
- ``view``/``reshape`` of ``x`` to a size provably equal to ``x``'s (``x.size()``,
  ``[x.size(0), -1]`` ...) -> ``x``. Concrete sizes in a type count as proof only with
  ``ctx.options["static_shapes"]`` (a traced graph's sizes are the example's).
- ``to_dtype(x, d)`` with ``x`` already of dtype ``d`` (and ``copy=False``) -> ``x``.
- ``prim::unchecked_cast`` to a type the value already has -> the value.

The rewritten node is removed; constants it used are left to DCE.
"""

from __future__ import annotations

import math

from graphtorch.device import CPU
from graphtorch.errors import GraphError
from graphtorch.ir.graph import Graph, Node, Value
from graphtorch.ir.kinds import Prim
from graphtorch.ir.types import TensorType, is_subtype
from graphtorch.ops.meta import TensorMeta, meta_of
from graphtorch.ops.registry import REGISTRY
from graphtorch.passes.cse import mutates_containers, mutates_tensors
from graphtorch.passes.manager import PassContext, register_pass
from graphtorch.tensor import Tensor

_UNKNOWN = object()
_SMALL = 1024   # tensor constants larger than this are not scanned for all-zeros/all-ones


class _Rewriter:
    def __init__(self, graph: Graph, ctx: PassContext):
        self.graph = graph
        self.static_shapes = bool(ctx.options.get("static_shapes"))
        self.lists_mutated = mutates_containers(graph)
        # NOTE: x + 0 is a new tensor; x itself may be written in place later (prim::Inplace)
        self.tensors_mutated = mutates_tensors(graph)

    # -- facts -------------------------------------------------------------------------------
    def const(self, v: Value):
        """The constant's Python value (tensors resolved), or _UNKNOWN."""
        if not v.is_constant:
            return _UNKNOWN
        try:
            return self.graph.constant_value(v)
        except GraphError:
            return _UNKNOWN

    def int_const(self, v: Value) -> int | None:
        c = self.const(v)
        return c if type(c) is int else None

    def is_number(self, v: Value, target: int) -> bool:
        """A constant equal to ``target`` everywhere: a number, or a small tensor constant."""
        c = self.const(v)
        if isinstance(c, (bool, int, float)):
            return c == target
        if isinstance(c, Tensor) and c.numel() <= _SMALL and c.numel() > 0:
            return bool((c.detach().numpy() == target).all())
        return False

    def dims_equal(self, a, b) -> bool:
        """Whether two dims are provably the same size."""
        if isinstance(a, str) and a == b:
            return True
        return self.static_shapes and type(a) is int and a == b

    def keeps_shape(self, x: TensorType, other) -> bool:
        """Whether broadcasting ``x`` with constant ``other`` leaves ``x``'s shape unchanged."""
        if not isinstance(other, Tensor) or other.dim() == 0:
            return True
        if x.shape is None or other.dim() > len(x.shape):
            return False
        if x.device is None or str(x.device) != str(other.device):
            return False
        tail = x.shape[len(x.shape) - other.dim():]
        return all(o == 1 or self.dims_equal(d, o) for d, o in zip(tail, other.shape))

    def keeps_dtype(self, node: Node, x: Value) -> bool:
        """Whether the op's meta rule gives ``x``'s dtype for this node."""
        op = REGISTRY[node.op_name]
        t = x.type
        args = []
        for v in node.inputs:
            if v is x:
                shape = tuple(1 if d is None else d for d in t.shape)
                args.append(TensorMeta(t.dtype, shape, t.device or CPU))
            else:
                c = self.const(v)
                if c is _UNKNOWN:
                    return False
                args.append(meta_of(c) if isinstance(c, Tensor) else c)
        args.extend(a.default for a in op.schema.args[len(args):])
        try:
            result = op.meta(*args)
        except Exception:  # noqa: BLE001 - no proof, no rewrite
            return False
        return isinstance(result, TensorMeta) and result.dtype is t.dtype

    # -- rules -------------------------------------------------------------------------------
    def identity_arith(self, node: Node) -> Value | None:
        """x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1."""
        if self.tensors_mutated:
            return None
        name = node.op_name
        a, b = node.inputs[0], node.inputs[1]
        extra = node.inputs[2:]
        neutral = 1 if name in ("mul", "div") else 0
        candidates = [(a, b)]
        if name in ("add", "mul"):
            candidates.append((b, a))
        for x, other in candidates:
            t = x.type
            if not (isinstance(t, TensorType) and t.dtype is not None and t.shape is not None):
                continue
            if not self.is_number(other, neutral):
                continue
            if name in ("add", "sub") and extra:
                alpha = self.const(extra[0])
                if x is a and not (isinstance(alpha, (int, float)) and math.isfinite(alpha)):
                    continue
                if x is b and not (type(alpha) is int and alpha == 1):
                    continue
            if name == "div" and extra and self.const(extra[0]) is not None:
                continue   # a rounding mode rounds x itself
            if self.keeps_shape(t, self.const(other)) and self.keeps_dtype(node, x):
                return x
        return None

    def double_neg(self, node: Node) -> Value | None:
        if self.tensors_mutated:
            return None
        inner = node.inputs[0].node
        if inner is None or inner.kind != "op::neg":
            return None
        x = inner.inputs[0]
        t = x.type
        if isinstance(t, TensorType) and t.dtype is not None and t.dtype.name != "bool":
            return x
        return None

    def double_transpose(self, node: Node) -> Value | None:
        inner = node.inputs[0].node
        if inner is None or inner.kind != "op::transpose":
            return None
        outer_dims = [self.int_const(v) for v in node.inputs[1:3]]
        inner_dims = [self.int_const(v) for v in inner.inputs[1:3]]
        if None in outer_dims or None in inner_dims:
            return None
        x = inner.inputs[0]
        rank = x.type.ndim if isinstance(x.type, TensorType) else None
        if rank is not None and rank > 0:
            if not all(-rank <= d < rank for d in outer_dims + inner_dims):
                return None
            outer_dims = [d % rank for d in outer_dims]
            inner_dims = [d % rank for d in inner_dims]
        return x if set(outer_dims) == set(inner_dims) else None

    def same_size_view(self, node: Node) -> Value | None:
        x, size = node.inputs[0], node.inputs[1]
        t = x.type
        if not isinstance(t, TensorType) or t.shape is None:
            return None
        producer = size.node
        if producer is not None and producer.kind == "prim::size" and len(producer.inputs) == 1:
            return x if producer.inputs[0] is x else None
        if producer is not None and producer.kind == Prim.ListConstruct.value:
            items = list(producer.inputs)
        elif isinstance(self.const(size), list):
            items = [_Literal(c) for c in self.const(size)]
        else:
            return None
        if len(items) != len(t.shape):
            return None
        inferred = 0
        for i, item in enumerate(items):
            c = item.value if isinstance(item, _Literal) else self.int_const(item)
            if isinstance(item, _Literal) and c is None:
                return None
            if c == -1:
                inferred += 1
            elif c is not None:
                if not self.dims_equal(t.shape[i], c):
                    return None
            elif not self.is_size_of(item, x, i, len(t.shape)):
                return None
        return x if inferred <= 1 else None

    def is_size_of(self, v: Value, x: Value, i: int, rank: int) -> bool:
        """Whether ``v`` is ``x.size(i)``."""
        n = v.node
        if n is None or n.kind != "prim::size" or len(n.inputs) != 2 or n.inputs[0] is not x:
            return False
        d = self.int_const(n.inputs[1])
        return d is not None and -rank <= d < rank and d % rank == i

    def same_dtype(self, node: Node) -> Value | None:
        x = node.inputs[0]
        dt = self.const(node.inputs[1])
        if len(node.inputs) > 2 and self.const(node.inputs[2]) is not False:
            return None
        t = x.type
        if isinstance(t, TensorType) and t.dtype is not None and dt is t.dtype:
            return x
        return None

    def construct_then_take(self, node: Node) -> list[Value] | None:
        """Unpack or index of a freshly constructed tuple (or list) gives its items."""
        source = node.inputs[0].node
        construct = (Prim.TupleConstruct.value if node.kind in _TUPLE_TAKES
                     else Prim.ListConstruct.value)
        if source is None or source.kind != construct:
            return None
        if construct == Prim.ListConstruct.value and self.lists_mutated:
            return None
        items = list(source.inputs)
        if node.kind in (Prim.TupleUnpack.value, Prim.ListUnpack.value):
            return items if len(items) == len(node.outputs) else None
        i = self.int_const(node.inputs[1])
        if i is None or not -len(items) <= i < len(items):
            return None
        return [items[i]]

    def unchecked_cast(self, node: Node) -> Value | None:
        x = node.inputs[0]
        return x if is_subtype(x.type, node.outputs[0].type) else None

    # -- driver ------------------------------------------------------------------------------
    def rewrite(self, node: Node) -> list[Value] | None:
        kind = node.kind
        if node.is_op:
            rule = _OP_RULES.get(node.op_name)
            if rule is None or len(node.inputs) < _OP_ARITY.get(node.op_name, 1):
                return None
            result = rule(self, node)
        elif kind in _PRIM_RULES:
            result = _PRIM_RULES[kind](self, node)
        else:
            return None
        if result is None:
            return None
        return result if isinstance(result, list) else [result]

    def run(self) -> bool:
        changed = False
        for node in self.graph.walk():
            if node.block is None:   # removed earlier in this sweep
                continue
            new = self.rewrite(node)
            if new is None or len(new) != len(node.outputs):
                continue
            if not all(is_subtype(v.type, o.type) for v, o in zip(new, node.outputs)):
                continue
            for out, v in zip(node.outputs, new):
                out.replace_all_uses_with(v)
            node.destroy()
            changed = True
        return changed


class _Literal:
    """An element of a constant size list (where a ListConstruct would have a Value)."""

    def __init__(self, value):
        self.value = value if type(value) is int else None


_TUPLE_TAKES = (Prim.TupleUnpack.value, Prim.TupleIndex.value)

_OP_RULES = {
    "add": _Rewriter.identity_arith,
    "sub": _Rewriter.identity_arith,
    "mul": _Rewriter.identity_arith,
    "div": _Rewriter.identity_arith,
    "neg": _Rewriter.double_neg,
    "transpose": _Rewriter.double_transpose,
    "view": _Rewriter.same_size_view,
    "reshape": _Rewriter.same_size_view,
    "to_dtype": _Rewriter.same_dtype,
}

_OP_ARITY = {"add": 2, "sub": 2, "mul": 2, "div": 2, "transpose": 3, "view": 2, "reshape": 2,
             "to_dtype": 2}

_PRIM_RULES = {
    Prim.TupleUnpack.value: _Rewriter.construct_then_take,
    Prim.TupleIndex.value: _Rewriter.construct_then_take,
    Prim.ListUnpack.value: _Rewriter.construct_then_take,
    Prim.ListIndex.value: _Rewriter.construct_then_take,
    "prim::list_get": _Rewriter.construct_then_take,
    Prim.unchecked_cast.value: _Rewriter.unchecked_cast,
}


@register_pass("canonicalize")
def canonicalize(graph: Graph, ctx: PassContext | None = None) -> bool:
    """Peephole rewrites: identity arithmetic, double neg/transpose, no-op views and casts,
    construct-then-unpack."""
    return _Rewriter(graph, ctx or PassContext()).run()
