"""Which nodes are observable beyond their results: the one effects query of the IR.

Every pass and printer that removes, merges, folds or inlines a node asks it: dead-code
elimination (``has_effects``), common-subexpression elimination and constant folding (through
``passes/cse.py`` ``is_pure``, which adds what depends on the rest of the graph), and the code
printer (``has_side_effects``, before printing a node's expression at its single use).

A node is *effectful* when running it can do something besides producing its outputs: a side
effect (calls, prints, raises, attribute writes, mutation of a list or dict, Python ops, random
draws), or **raising**. A node "may raise" unless its kind is known to be total for the types of
its inputs: constants, tuple/list construction, number arithmetic other than division, elementwise
tensor ops whose shapes are checked to broadcast, and the like. Removing an unused ``1 // 0`` or
``x.sum(dim=99)`` would make a graph succeed where Python raises, so those stay.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.device import CPU
from graphtorch.ir import types as T
from graphtorch.ir.kinds import SIDE_EFFECT_KINDS, Prim
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.registry import REGISTRY, OpKind, Promotion
from graphtorch.ops.scalar_ops import MUTATING

_INT_MAX = 2**63 - 1

# prim kinds that never raise, whatever their (well-typed) inputs
_TOTAL_PRIMS = frozenset({
    Prim.Constant.value, Prim.ListConstruct.value, Prim.TupleConstruct.value,
    Prim.TupleUnpack.value, Prim.Uninitialized.value, Prim.unchecked_cast.value, Prim.GetAttr.value,
    "prim::DictConstruct", "prim::not", "prim::is", "prim::is_not", "prim::str",
    "prim::dim", "prim::numel", "prim::dtype", "prim::device", "prim::is_floating_point",
    "prim::requires_grad", "prim::list_copy", "prim::dict_copy", "prim::dict_keys",
    "prim::dict_values", "prim::dict_items", "prim::dict_get_default", "prim::isinstance_of",
})
# number -> number prims that never raise on int / float / bool inputs
_TOTAL_ON_NUMBERS = frozenset({
    "prim::add", "prim::sub", "prim::mul", "prim::neg", "prim::abs", "prim::min", "prim::max",
    "prim::eq", "prim::ne", "prim::lt", "prim::le", "prim::gt", "prim::ge", "prim::bool",
    "prim::float",
})
# ... and those that raise only when their last input (the divisor) is zero
_DIVISIONS = frozenset({"prim::div", "prim::floordiv", "prim::mod", "prim::divmod"})
# reductions that never raise when reducing every dim (no dim argument)
_TOTAL_FULL_REDUCTIONS = frozenset({"sum", "prod", "all", "any", "count_nonzero"})
_NUMBER_TYPES = (T.IntType, T.FloatType, T.BoolType, T.NumberType)


def has_effects(node) -> bool:
    """Whether running ``node`` is observable besides its outputs: a side effect, or it may
    raise. Nodes with blocks have the effects of the nodes inside them."""
    return has_side_effects(node) or may_raise(node)


def has_side_effects(node) -> bool:
    """Calls, prints, raises, attribute writes, mutation, Python ops and random draws."""
    kind = node.kind
    if kind in SIDE_EFFECT_KINDS or kind in MUTATING:
        return True
    if kind.startswith("op::"):
        op = REGISTRY.get(kind[4:])
        return op is None or op.kind is OpKind.RANDOM
    return any(has_side_effects(n) for b in node.blocks for n in b.nodes)


def may_raise(node) -> bool:
    """False only where ``node`` is known total for its input types (see the module doc)."""
    kind = node.kind
    if node.blocks:
        if kind == Prim.Loop.value and _may_not_terminate(node):
            return True
        return any(has_effects(n) for b in node.blocks for n in b.nodes)
    if kind in _TOTAL_PRIMS:
        return False
    types = [v.type for v in node.inputs]
    if kind in _TOTAL_ON_NUMBERS:
        return not all(isinstance(t, _NUMBER_TYPES) for t in types) and \
            not (kind in ("prim::add", "prim::eq", "prim::ne") and all(t == T.STR for t in types))
    if kind in _DIVISIONS:
        divisor = node.inputs[-1]
        return not (all(isinstance(t, _NUMBER_TYPES) for t in types) and divisor.is_constant
                    and divisor.node.attrs.get("value") not in (0, 0.0, False, None))
    if kind == "prim::len":     # len() of a 0-d tensor raises
        return any(isinstance(t, T.TensorType) for t in types)
    if kind == "prim::size":    # x.size(dim) raises for a dim out of range
        return len(node.inputs) != 1 and not _dim_in_range(node.inputs[0].type, node.inputs[1])
    if kind.startswith("op::"):
        op = REGISTRY.get(kind[4:])
        return op is None or not _op_is_total(op, node)
    return True


def _may_not_terminate(node) -> bool:
    """A ``while`` (trip count INT_MAX) may run forever: removing it would end a hang."""
    trip = node.inputs[0]
    return trip.is_constant and trip.node.attrs.get("value") == _INT_MAX


def _tensor_types(node) -> list[T.TensorType]:
    return [v.type for v in node.inputs if isinstance(v.type, T.TensorType)]


def _op_is_total(op, node) -> bool:
    tensors = _tensor_types(node)
    if not tensors or any(not isinstance(v.type, (T.TensorType, *_NUMBER_TYPES, T.NoneType,
                                                  T.DTypeType))
                          for v in node.inputs):
        return False
    if op.kind is OpKind.ELEMENTWISE:
        if len(tensors) > 1 and not _broadcasts([t.shape for t in tensors]):
            return False
        if op.name == "to_dtype" or op.promotion in (Promotion.INT_TO_FLOAT,
                                                     Promotion.ALWAYS_BOOL):
            return not op.name.startswith("bitwise")
        # NOTE: other elementwise ops raise for some dtypes (bool - bool, int // 0, int ** -1)
        floating = all(t.dtype is not None and t.dtype.is_floating_point for t in tensors)
        return floating and not op.name.startswith("bitwise")
    if op.kind is OpKind.REDUCTION and op.name in _TOTAL_FULL_REDUCTIONS:
        # NOTE: only the full reduction: a dim argument may be out of range
        return len(tensors) == 1 and all(
            isinstance(v.type, T.TensorType) or v.is_constant and
            isinstance(v.node.attrs.get("value"), (type(None), dtypes.dtype, bool))
            for v in node.inputs)
    if op.name in ("contiguous", "clone", "detach"):
        return True
    if op.kind in (OpKind.VIEW, OpKind.REDUCTION) and op.meta is not None and \
            op.name not in ("index", "split", "split_with_sizes"):
        return _meta_accepts(op, node)
    return False


def _dim_in_range(t: T.Type, dim) -> bool:
    if not isinstance(t, T.TensorType) or t.shape is None or not dim.is_constant:
        return False
    d = dim.node.attrs.get("value")
    return type(d) is int and -len(t.shape) <= d < len(t.shape)


def _meta_accepts(op, node) -> bool:
    """Whether the op's shape rule accepts these inputs (tensor shapes known, the other
    arguments constants). Ops whose validity depends only on ranks accept symbolic dims."""
    args = []
    for v in node.inputs:
        arg = _meta_arg(v, rank_only=op.name in _RANK_ONLY)
        if arg is _UNKNOWN:
            return False
        args.append(arg)
    args.extend(a.default for a in op.schema.args[len(args):])
    try:
        op.meta(*args)
    except Exception:  # noqa: BLE001 - any failure of the rule: the op may raise
        return False
    return True


_RANK_ONLY = frozenset({"transpose", "permute", "unsqueeze", "squeeze", "diagonal"})
_UNKNOWN = object()


def _meta_arg(v, rank_only: bool):
    t = v.type
    if isinstance(t, T.TensorType):
        if t.dtype is None or t.shape is None:
            return _UNKNOWN
        shape = tuple(d if isinstance(d, int) else 2 if rank_only and d is not None else None
                      for d in t.shape)
        if None in shape:
            return _UNKNOWN
        return TensorMeta(t.dtype, shape, t.device or CPU)
    if v.is_constant:
        value = v.node.attrs.get("value")
        return value if isinstance(value, (int, float, bool, type(None), dtypes.dtype)) \
            else _UNKNOWN
    if v.node is not None and v.node.kind == Prim.ListConstruct.value:
        items = [_meta_arg(x, rank_only) for x in v.node.inputs]
        return _UNKNOWN if any(x is _UNKNOWN for x in items) else items
    return _UNKNOWN


def _broadcasts(shapes: list) -> bool:
    """Whether fully known shapes broadcast together (unknown dims or ranks: not checked)."""
    if any(s is None or any(not isinstance(d, int) for d in s) for s in shapes):
        return False
    for dims in zip(*(reversed(s) for s in shapes)):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            return False
    return True
