"""Reduction primitives (sum, mean, amax ...) and the broadcast-undo ``sum_to_size``."""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.ops.meta import TensorMeta, normalize_dims
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import OpKind, Promotion, SampleInput, Saves, register


def _axes(x, dim):
    if dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 0):
        return None
    return normalize_dims(dim, x.ndim)


def reduced_shape(shape, dims, keepdim: bool) -> tuple:
    dims = range(len(shape)) if dims is None else dims
    if keepdim:
        return tuple(1 if i in dims else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in dims)


def reduction_meta(out_dtype=None):
    def meta(x, dim=None, keepdim=False, dtype=None, *rest):
        dims = None if dim is None or dim == [] else normalize_dims(dim, len(x.shape))
        dt = dtype or (out_dtype(x.dtype) if out_dtype else x.dtype)
        return TensorMeta(dt, reduced_shape(tuple(x.shape), dims, keepdim), x.device)

    return meta


def expand_grad(g, x, dim, keepdim):
    """Broadcast a reduction's gradient back over the reduced dims of ``x``."""
    if not keepdim and dim is not None and dim != []:
        for d in sorted(normalize_dims(dim, x.ndim)):
            g = g.unsqueeze(d)
    elif not keepdim:
        g = g.reshape([1] * x.ndim)
    return g.expand(tuple(x.shape))


def reduction_samples(dtype=dtypes.float64):
    m = SampleMaker(5)
    return [SampleInput((m.tensor((3, 4), dtype),), name="all"),
            SampleInput((m.tensor((3, 4), dtype), 1), name="dim1"),
            SampleInput((m.tensor((2, 3, 4), dtype), [0, 2], True), name="dims_keepdim"),
            SampleInput((m.tensor((2, 3), dtype), -1), name="negative_dim")]


def _sum_dtype(d):
    return dtypes.int64 if d.category != dtypes.Category.FLOAT else d


def _sum(xp, x, dim, keepdim, dtype):
    dt = dtype.np if dtype is not None else _sum_dtype(dtypes.from_numpy(x.dtype)).np
    return xp.sum(x, axis=_axes(x, dim), keepdims=keepdim, dtype=dt)


register("sum(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) "
         "-> Tensor", OpKind.REDUCTION, kernel=_sum, meta=reduction_meta(_sum_dtype),
         vjp=lambda ctx, g: (expand_grad(g, ctx.args[0], ctx.args[1], ctx.args[2]),),
         lowering="sum", samples=reduction_samples, saves=Saves.NOTHING)


def _mean(xp, x, dim, keepdim, dtype):
    if dtype is None and x.dtype.kind not in "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {dtypes.from_numpy(x.dtype)}")
    return xp.mean(x, axis=_axes(x, dim), keepdims=keepdim,
                   dtype=None if dtype is None else dtype.np)


def _mean_vjp(ctx, g):
    x, dim, keepdim, _ = ctx.args
    axes = _axes(x, dim)
    n = x.numel() if axes is None else int(np.prod([x.shape[a] for a in axes]))
    return (expand_grad(g, x, dim, keepdim) / n,)


register("mean(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) "
         "-> Tensor", OpKind.REDUCTION, kernel=_mean, meta=reduction_meta(), vjp=_mean_vjp,
         lowering="mean", samples=reduction_samples, saves=Saves.NOTHING)


def _sum_to_size(xp, x, size):
    size = tuple(size)
    lead = x.ndim - len(size)
    if lead < 0:
        raise RuntimeError(f"size {list(size)} is not expandable to size {list(x.shape)}")
    axes = list(range(lead))
    for i, s in enumerate(size):
        if s == 1 and x.shape[lead + i] != 1:
            axes.append(lead + i)
        elif s != x.shape[lead + i]:
            raise RuntimeError(f"size {list(size)} is not expandable to size {list(x.shape)}")
    out = xp.sum(x, axis=tuple(axes), keepdims=True, dtype=x.dtype) if axes else x
    return out.reshape(size)


def _sum_to_size_meta(x, size):
    return TensorMeta(x.dtype, tuple(size), x.device)


def _sum_to_size_samples(dtype=dtypes.float64):
    m = SampleMaker(6)
    return [SampleInput((m.tensor((2, 3, 4), dtype), [3, 1]), name="lead_and_inner"),
            SampleInput((m.tensor((3, 4), dtype), [3, 4]), name="identity")]


register("sum_to_size(Tensor self, int[] size) -> Tensor", OpKind.REDUCTION,
         kernel=_sum_to_size, meta=_sum_to_size_meta,
         vjp=lambda ctx, g: (g.expand(tuple(ctx.args[0].shape)),), lowering="sum",
         samples=_sum_to_size_samples, saves=Saves.NOTHING, promotion=Promotion.NONE)
