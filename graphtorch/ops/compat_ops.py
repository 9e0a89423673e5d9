"""Small ops TorchScript programs use: ``tril_indices``/``triu_indices``, ``rsub``, ``narrow_copy``.

Each is one registry entry (docs/ops.md), so eager, script, the interpreter and the registry test
matrix all see it.
"""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.device import as_device
from graphtorch.ops.elementwise import _check_alpha, binary
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.op_helpers import reduce_grad
from graphtorch.ops.registry import REGISTRY, OpKind, Promotion, SampleInput, Saves, register
from graphtorch.ops.shape_ops import _narrow, _narrow_meta, _narrow_vjp, _samples


# --- tril_indices / triu_indices ------------------------------------------------------------------
def _tri_mask_coords(row: int, col: int, offset: int, lower: bool):
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0
                           else f"col must be non-negative, got{col}")
    r = np.arange(row)[:, None]
    c = np.arange(col)[None, :]
    mask = (c - r <= offset) if lower else (c - r >= offset)
    return np.nonzero(mask)  # row-major order, as PyTorch lists them


def _tri_indices(lower: bool):
    def kernel(xp, row, col, offset, dtype, device):
        rows, cols = _tri_mask_coords(row, col, offset, lower)
        dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
        return xp.asarray(np.stack([rows, cols]).astype(dt.np))

    def meta(row, col, offset=0, dtype=None, device=None):
        n = len(_tri_mask_coords(row, col, offset, lower)[0]) if all(
            isinstance(v, int) for v in (row, col, offset)) else None
        dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
        return TensorMeta(dt, (2, n), as_device(device))

    return kernel, meta


def _tri_samples(dtype=dtypes.float32):
    return [SampleInput((3, 3), name="square"), SampleInput((4, 3, 1), name="offset"),
            SampleInput((3, 5, -1), name="negative"), SampleInput((0, 3), name="empty")]


for _name, _lower in (("tril_indices", True), ("triu_indices", False)):
    _kernel, _meta = _tri_indices(_lower)
    register(f"{_name}(int row, int col, int offset=0, *, ScalarType? dtype=None, "
             "Device? device=None) -> Tensor", OpKind.FACTORY, kernel=_kernel, meta=_meta,
             samples=_tri_samples, differentiable=False, saves=Saves.NOTHING,
             promotion=Promotion.NONE)


# --- rsub -----------------------------------------------------------------------------------------
def _rsub(xp, a, b, alpha):
    if getattr(a, "dtype", None) == np.bool_ and getattr(b, "dtype", None) == np.bool_:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if type(alpha) is int and alpha == 1:
        return b - a
    _check_alpha(a, b, alpha)
    return b - alpha * a


def _rsub_vjp(ctx, g):
    a, b, alpha = ctx.args
    return reduce_grad(-g if alpha == 1 else -g * alpha, a), reduce_grad(g, b)


# NOTE: rsub(self, other, alpha) = other - alpha * self (PyTorch's reversed subtraction)
binary("rsub(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", _rsub, _rsub_vjp,
       lower="({1} - {2} * {0})", saves=Saves.NOTHING, promote_args=(0, 1))


# --- narrow_copy ----------------------------------------------------------------------------------
register("narrow_copy(Tensor self, int dim, int start, int length) -> Tensor", OpKind.OPAQUE,
         kernel=lambda xp, x, dim, start, length: _narrow(xp, x, dim, start, length).copy(),
         meta=_narrow_meta, vjp=_narrow_vjp, saves=Saves.NOTHING,
         samples=_samples(("middle", (5, 2), 0, 1, 3), ("negative", (2, 5), -1, -2, 2)))

__all__ = ["REGISTRY"]
