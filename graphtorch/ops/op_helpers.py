"""Building blocks shared by op definitions: meta rules, gradient reduction, sample tensors."""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.ops.dispatch import compute_dtype
from graphtorch.ops.errstate import quiet  # noqa: F401 - re-exported for op definitions
from graphtorch.ops.meta import TensorMeta, broadcast_shapes
from graphtorch.ops.registry import OpDef, Promotion, SampleInput


def _is_tensorish(v) -> bool:
    return hasattr(v, "shape") and hasattr(v, "dtype")


def elementwise_meta(op: OpDef):
    """Meta rule of an elementwise op: broadcast shapes and the op's promoted dtype."""

    def meta(*vals):
        tens = [v for v in vals if _is_tensorish(v)]
        shape = broadcast_shapes(*(tuple(t.shape) for t in tens))
        if op.promotion is Promotion.ALWAYS_BOOL:
            dt = dtypes.bool_
        elif op.promotion is Promotion.NONE:
            dt = tens[0].dtype
        else:
            dt = compute_dtype(op, list(vals))
        return TensorMeta(dt, shape, tens[0].device if hasattr(tens[0], "device") else None)

    return meta


def reduce_grad(g, like):
    """Sum a broadcast gradient back to the shape of the input ``like`` (None for non-tensors)."""
    if not _is_tensorish(like):
        return None
    if tuple(g.shape) == tuple(like.shape):
        return g
    return g.sum_to_size(tuple(like.shape))


def as_input_dtype(g, like):
    """Cast a gradient to the dtype of the floating input it flows into."""
    if _is_tensorish(like) and g.dtype is not like.dtype and like.dtype.is_floating_point:
        return g.to(like.dtype)
    return g


class SampleMaker:
    """Deterministic sample tensors for OpInfo-style tests."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def tensor(self, shape, dtype=dtypes.float32, low=-3.0, high=3.0, requires_grad=False):
        # NOTE: graphtorch.tensor imports the ops package: a module-level import cycles
        from graphtorch.tensor import Tensor

        dt = dtypes.as_dtype(dtype)
        if dt is dtypes.bool_:
            arr = self.rng.random(shape) > 0.5
        elif dt.is_floating_point:
            arr = self.rng.uniform(low, high, size=shape).astype(dt.np)
        else:
            lo = max(int(low), np.iinfo(dt.np).min)
            arr = self.rng.integers(lo, max(int(high), lo + 1), size=shape).astype(dt.np)
        t = Tensor._wrap(np.asarray(arr))
        if requires_grad:
            t.requires_grad_(True)
        return t


def unary_samples(low=-3.0, high=3.0, int_ok=True, float_ok=True):
    def samples(dtype=dtypes.float64):
        m = SampleMaker(1)
        if not dtype.is_floating_point and not int_ok:
            return []
        if dtype.is_floating_point and not float_ok:
            return []
        return [SampleInput((m.tensor((5,), dtype, low, high),), name="vector"),
                SampleInput((m.tensor((2, 3), dtype, low, high),), name="matrix"),
                SampleInput((m.tensor((), dtype, low, high),), name="scalar")]

    return samples


def binary_samples(low=-3.0, high=3.0, rhs_low=None, rhs_high=None, scalar=2.5, int_ok=True,
                   float_ok=True, tensor_other_only=False):
    """Same-shape, broadcast and scalar-operand samples of a binary op.

    ``tensor_other_only``: PyTorch's overload takes no Python number as ``other`` (maximum,
    atan2, logical_and ...), so the scalar operand is a 0-dim tensor instead.
    """
    rl = low if rhs_low is None else rhs_low
    rh = high if rhs_high is None else rhs_high

    def samples(dtype=dtypes.float64):
        m = SampleMaker(2)
        if not dtype.is_floating_point and not int_ok:
            return []
        if dtype.is_floating_point and not float_ok:
            return []
        sc = scalar if dtype.is_floating_point else int(scalar) or 2
        return [
            SampleInput((m.tensor((4,), dtype, low, high), m.tensor((4,), dtype, rl, rh)),
                        name="same_shape"),
            SampleInput((m.tensor((2, 3), dtype, low, high), m.tensor((3,), dtype, rl, rh)),
                        name="broadcast_rhs"),
            SampleInput((m.tensor((3, 1), dtype, low, high), m.tensor((1, 4), dtype, rl, rh)),
                        name="broadcast_both"),
        ] + [
            SampleInput((m.tensor((2, 2), dtype, low, high), m.tensor((), dtype, rl, rh)),
                        name="zero_dim_other") if tensor_other_only else
            SampleInput((m.tensor((2, 2), dtype, low, high), sc), name="python_scalar"),
        ]

    return samples


def division_samples():
    """Samples of floor_divide/remainder/fmod whose quotients stay away from integers.

    NOTE: these ops jump where ``a / b`` is an integer; finite differences there are meaningless,
    so float dividends are ``k + 0.5 ± 0.1`` over divisors ``±1, ±2, ±4``: every quotient is at
    least 0.1 from an integer.
    """

    def samples(dtype=dtypes.float64):
        m = SampleMaker(8)
        # NOTE: graphtorch.tensor imports the ops package: a module-level import cycles
        from graphtorch.tensor import Tensor

        def lhs(shape):
            if not dtype.is_floating_point:
                return m.tensor(shape, dtype, -8, 9)
            k = m.rng.integers(-6, 6, size=shape) + 0.5 + m.rng.uniform(-0.1, 0.1, size=shape)
            return Tensor._wrap(np.asarray(k, dtype=dtype.np))

        def rhs(shape):
            pool = [1, 2, 4] if dtype.is_floating_point else [1, 2, 3, 4]
            mag = m.rng.choice(pool, size=shape)
            sign = np.where(m.rng.random(shape) < 0.5, -1, 1)
            return Tensor._wrap(np.asarray(mag * sign, dtype=dtype.np))

        sc = 2.0 if dtype.is_floating_point else 3
        return [SampleInput((lhs((4,)), rhs((4,))), name="same_shape"),
                SampleInput((lhs((2, 3)), rhs((3,))), name="broadcast_rhs"),
                SampleInput((lhs((3, 1)), rhs((1, 4))), name="broadcast_both"),
                SampleInput((lhs((2, 2)), sc), name="python_scalar")]

    return samples


def pow_samples(dtype=dtypes.float64):
    """pow: positive float bases (real results), integer bases with negative exponents."""
    m = SampleMaker(9)
    if dtype.is_floating_point:
        return binary_samples(0.5, 3.0, rhs_low=-2.0, rhs_high=2.0)(dtype)
    return [SampleInput((m.tensor((4,), dtype, 1, 5), m.tensor((4,), dtype, 0, 4)),
                        name="same_shape"),
            SampleInput((m.tensor((2, 3), dtype, -3, 4), m.tensor((3,), dtype, 0, 4)),
                        name="broadcast_rhs"),
            SampleInput((m.tensor((3, 1), dtype, -2, 3), m.tensor((1, 4), dtype, -3, 0)),
                        name="negative_exponents"),
            SampleInput((m.tensor((2, 2), dtype, -3, 4), 3), name="python_scalar")]


def floating_only(samples):
    """Keep ``samples`` for floating dtypes only: the op raises for others, as in PyTorch."""

    def only(dtype=dtypes.float64):
        return samples(dtype) if dtype.is_floating_point else []

    return only

