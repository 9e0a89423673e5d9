"""``ReduceOp``: how a collective combines the ranks' values (PyTorch's names)."""

from __future__ import annotations

import enum


class ReduceOp(enum.Enum):
    """Reduction of ``all_reduce`` / ``reduce`` / ``reduce_scatter_tensor``.

    ``AVG`` is the sum divided by the group size (floating dtypes only). On ``bool`` tensors SUM and
    MAX are a logical or, PRODUCT and MIN a logical and, as in PyTorch.
    """

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"

    def __repr__(self) -> str:
        return f"ReduceOp.{self.name}"


_BOOL_EQUIVALENT = {ReduceOp.SUM: ReduceOp.BOR, ReduceOp.MAX: ReduceOp.BOR,
                    ReduceOp.PRODUCT: ReduceOp.BAND, ReduceOp.MIN: ReduceOp.BAND}


def effective_op(op: ReduceOp, kind: str) -> ReduceOp:
    """The op actually applied to elements of numpy kind ``kind`` ('b' bool, 'i'/'u', 'f')."""
    if kind == "b":
        if op is ReduceOp.AVG:
            raise ValueError("ReduceOp.AVG is not defined for bool tensors")
        if op is ReduceOp.BXOR:
            return op
        return _BOOL_EQUIVALENT.get(op, op)
    if op is ReduceOp.AVG and kind != "f":
        raise ValueError("ReduceOp.AVG needs a floating point tensor (it divides by the group "
                         "size); use ReduceOp.SUM and divide yourself")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and kind == "f":
        raise ValueError(f"{op!r} needs an integer or bool tensor")
    return op
