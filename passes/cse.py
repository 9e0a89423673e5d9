"""Common-subexpression elimination: a pure node equal to an earlier visible one is dropped.

Two nodes are equal when they have the same kind, the same input values, equal attributes and
the same output types. Values are visible in their block and its nested blocks only, so a node
is replaced by an equal node of the same block or of an enclosing one, never of a sibling.

Pure (and so merged): ``op::`` nodes whose op is not RANDOM (nor a factory asked for a fresh
leaf with ``requires_grad=True``), scalar prim ops not in ``MUTATING``, constants with equal
value *and* type (``1``, ``1.0`` and ``True`` stay apart; tensor constants merge only when they
name the very same tensor), tuple nodes, ``GetAttr`` of the same object and name (unless the
graph has a ``SetAttr``). Lists and dicts are mutable: nodes producing or reading them are
merged only in graphs without any list/dict mutation. Tensors are mutable too: in a graph with a
``prim::Inplace`` (which may write through any alias or view), no node producing or reading a
tensor is merged -- two equal reads around a write differ, and two equal factories are two
tensors. A call the compiler cannot see into (``prim::PythonOp`` such as an ``@ignore``'d
function, ``CallMethod``, ``CallFunction``) counts as such a write for every tensor, list or dict
(or object) it is handed: Python code may change them in place.
"""

from __future__ import annotations

import math

from graphtorch.device import device as Device
from graphtorch.dtypes import dtype as DType
from graphtorch.ir.effects import has_side_effects
from graphtorch.ir.graph import Block, Graph, Node, TensorRef
from graphtorch.ir.kinds import INPLACE, Prim
from graphtorch.ir.types import (
    AnyType,
    ClassType,
    DictType,
    ListType,
    OptionalType,
    TensorType,
    TupleType,
    Type,
)
from graphtorch.ops.registry import REGISTRY
from graphtorch.ops.scalar_ops import MUTATING, SCALAR_OPS
from graphtorch.passes.manager import register_pass

# Structural kinds that compute their outputs from their inputs only.
_PURE_PRIMS = frozenset({
    Prim.Constant.value, Prim.TupleConstruct.value, Prim.TupleUnpack.value,
    Prim.TupleIndex.value, Prim.ListConstruct.value, Prim.ListUnpack.value,
    Prim.ListIndex.value, Prim.DictConstruct.value, Prim.NumToTensor.value,
    Prim.unchecked_cast.value, Prim.isinstance.value, Prim.GetAttr.value,
})

# Calls the compiler cannot see into: what they are handed they may change in place.
OPAQUE_CALLS = frozenset({Prim.PythonOp.value, Prim.CallMethod.value, Prim.CallFunction.value})

_UNKEYABLE = object()


def is_mutable_type(t: Type) -> bool:
    """Lists, dicts and anything that may hold one (``Any``, tuples of lists ...)."""
    if isinstance(t, (ListType, DictType, AnyType)):
        return True
    if isinstance(t, TupleType):
        return any(is_mutable_type(e) for e in t.elems)
    if isinstance(t, OptionalType):
        return is_mutable_type(t.elem)
    return False


def holds_tensor(t: Type) -> bool:
    """Tensors and anything that may hold one (``Any``, lists, tuples, optionals ...)."""
    if isinstance(t, (TensorType, AnyType)):
        return True
    if isinstance(t, ListType):
        return holds_tensor(t.elem)
    if isinstance(t, DictType):
        return holds_tensor(t.value)
    if isinstance(t, TupleType):
        return any(holds_tensor(e) for e in t.elems)
    if isinstance(t, OptionalType):
        return holds_tensor(t.elem)
    return False


def mutates_tensors(graph: Graph) -> bool:
    """Whether any node writes into a tensor in place (``prim::Inplace``), or may: a call the
    compiler cannot see into (a Python op such as an ``@ignore``'d function, a method or function
    call) handed something holding a tensor."""
    return any(n.kind == INPLACE or _opaque_call_with(n, holds_tensor) for n in graph.walk())


def mutates_containers(graph: Graph) -> bool:
    """Whether any node changes a list or dict in place (so containers may not be shared), or
    may: a call the compiler cannot see into handed a list, a dict or something holding one."""
    return any(n.kind in MUTATING or _opaque_call_with(n, is_mutable_type)
               for n in graph.walk())


def _opaque_call_with(node: Node, holds) -> bool:
    """``node`` is an opaque call and an input may hold such a value (an object may hold any)."""
    return node.kind in OPAQUE_CALLS and any(holds(v.type) or isinstance(v.type, ClassType)
                                             for v in node.inputs)


def asks_fresh_leaf(node: Node) -> bool:
    """A factory call with ``requires_grad=True`` (or unknown) makes a new leaf every time."""
    op = REGISTRY.get(node.op_name)
    if op is None or op.rg_arg is None or op.rg_arg >= len(node.inputs):
        return False
    v = node.inputs[op.rg_arg]
    return not (v.is_constant and v.node.attrs.get("value") is False)


def is_pure(node: Node, containers_mutated: bool, attrs_written: bool,
            tensors_mutated: bool = False) -> bool:
    """Whether ``node`` always gives the same outputs for the same inputs and has no effect
    (``tensors_mutated``: the graph writes into tensors, so tensor values are not values)."""
    kind = node.kind
    if node.blocks or has_side_effects(node):   # the IR's effects query (ir/effects.py)
        return False
    if node.is_op:
        if asks_fresh_leaf(node):
            return False
    elif kind == Prim.GetAttr.value:
        if attrs_written:
            return False
    elif kind not in _PURE_PRIMS and kind not in SCALAR_OPS:
        return False
    values = list(node.inputs) + list(node.outputs)
    if containers_mutated and any(is_mutable_type(v.type) for v in values):
        return False
    if tensors_mutated and any(holds_tensor(v.type) for v in values):
        return False
    return True


def attr_key(value: object) -> object:
    """A hashable key equal for attribute values that mean the same constant.

    The Python type is part of the key (``1``, ``1.0`` and ``True`` differ); floats compare by
    ``repr`` so ``nan`` matches ``nan`` and ``0.0`` differs from ``-0.0``.
    """
    if value is None or value is Ellipsis:
        return (type(value).__name__,)
    if isinstance(value, float):
        return ("float", repr(value)) if not math.isnan(value) else ("float", "nan")
    if isinstance(value, (bool, int, str)):
        return (type(value).__name__, value)
    if isinstance(value, TensorRef):
        return ("tensor", value.name)
    if isinstance(value, (DType, Device)):
        return (type(value).__name__, str(value))
    if isinstance(value, Type):
        return ("type", str(value))
    if isinstance(value, slice):
        return ("slice", attr_key(value.start), attr_key(value.stop), attr_key(value.step))
    if isinstance(value, (list, tuple)):
        items = tuple(attr_key(v) for v in value)
        if any(i is _UNKEYABLE for i in items):
            return _UNKEYABLE
        return (type(value).__name__, items)
    return _UNKEYABLE


def node_key(node: Node) -> tuple | None:
    """What makes two pure nodes interchangeable, or None when it cannot be told."""
    attrs = []
    for name, value in node.attrs.items():
        k = attr_key(value)
        if k is _UNKEYABLE:
            return None
        attrs.append((name, k))
    return (node.kind, tuple(node.inputs), tuple(sorted(attrs)),
            tuple(o.type for o in node.outputs))


class _Scope:
    """Nodes seen in a block and its enclosing blocks, by key."""

    def __init__(self, parent: _Scope | None = None):
        self.parent = parent
        self.seen: dict[tuple, Node] = {}

    def find(self, key: tuple) -> Node | None:
        scope: _Scope | None = self
        while scope is not None:
            hit = scope.seen.get(key)
            if hit is not None:
                return hit
            scope = scope.parent
        return None


def _cse_block(block: Block, scope: _Scope, containers_mutated: bool,
               attrs_written: bool, tensors_mutated: bool) -> bool:
    changed = False
    for node in block.nodes:
        for b in node.blocks:
            changed |= _cse_block(b, _Scope(scope), containers_mutated, attrs_written,
                                  tensors_mutated)
        if not is_pure(node, containers_mutated, attrs_written, tensors_mutated):
            continue
        key = node_key(node)
        if key is None:
            continue
        earlier = scope.find(key)
        if earlier is None:
            scope.seen[key] = node
            continue
        for old, new in zip(node.outputs, earlier.outputs):
            old.replace_all_uses_with(new)
        node.destroy()
        changed = True
    return changed


@register_pass("cse")
def eliminate_common_subexpressions(graph: Graph, ctx=None) -> bool:
    """Replace pure nodes by an equal earlier node visible from them."""
    containers_mutated = mutates_containers(graph)
    attrs_written = any(n.kind == Prim.SetAttr.value for n in graph.walk())
    return _cse_block(graph.block, _Scope(), containers_mutated, attrs_written,
                      mutates_tensors(graph))
