"""Sorting: sort (values and indices), argsort, topk.

NaN sorts as the largest value and equal values keep their input order, as in PyTorch's stable
sort.
"""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import ShapeError
from graphtorch.ops.creation import tensor
from graphtorch.ops.meta import TensorMeta, normalize_dim
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import REGISTRY, OpKind, SampleInput, Saves, register


def _argsort(xp, x, d: int, descending: bool):
    """Stable ascending or descending order along ``d`` (ties keep their input order)."""
    if not descending:
        return xp.argsort(x, axis=d, kind="stable")
    n = x.shape[d]
    # NOTE: a stable ascending sort of the reversed line, reversed back, is a stable descending
    # sort that works for every dtype (negating would break unsigned and bool inputs).
    rev = xp.argsort(xp.flip(x, d), axis=d, kind="stable")
    return xp.flip(n - 1 - rev, d)


def _sort(xp, x, dim, descending, stable):
    if x.ndim == 0:
        normalize_dim(dim, 0, "sort")
        return x.copy(), xp.zeros((), np.int64)
    d = normalize_dim(dim, x.ndim, "sort")
    idx = _argsort(xp, x, d, descending)
    return xp.take_along_axis(x, idx, axis=d), idx.astype(np.int64)


def _sort_meta(x, dim=-1, descending=False, stable=False):
    normalize_dim(dim, len(x.shape), "sort")
    return x, TensorMeta(dtypes.int64, tuple(x.shape), x.device)


def _selection_vjp(dim_arg: int):
    """Gradient of values picked at the output ``indices`` along the dim at ``dim_arg``."""

    def vjp(ctx, g, _g_indices=None):
        x, dim = ctx.args[0], ctx.args[dim_arg]
        if x.ndim == 0:
            return (g,)
        return (g.new_zeros(tuple(x.shape)).scatter(dim, ctx.output(1), g),)

    return vjp


def _sort_samples(dtype=dtypes.float64):
    m = SampleMaker(70)
    return [SampleInput((m.tensor((3, 5), dtype),), name="last"),
            SampleInput((m.tensor((4, 3), dtype), 0, True), name="dim0_descending"),
            SampleInput((m.tensor((6,), dtype),), {"stable": True}, name="stable")]


register("sort(Tensor self, int dim=-1, bool descending=False, *, bool stable=False) -> "
         "(Tensor values, Tensor indices)", OpKind.OPAQUE, kernel=_sort, meta=_sort_meta,
         vjp=_selection_vjp(1), saves=Saves.OUTPUTS,
         samples=_sort_samples,
         torch_ref=lambda torch, x, dim=-1, descending=False, stable=False: torch.sort(
             x, dim=dim, descending=descending, stable=True))


def _argsort_decomposition(x, dim=-1, descending=False, stable=False):
    return REGISTRY["sort"](x, dim, descending, stable=stable)[1]


register("argsort(Tensor self, int dim=-1, bool descending=False, *, bool stable=False) -> "
         "Tensor", OpKind.COMPOSITE, decomposition=_argsort_decomposition,
         meta=lambda x, dim=-1, descending=False, stable=False: _sort_meta(x, dim)[1],
         samples=_sort_samples,
         torch_ref=lambda torch, x, dim=-1, descending=False, stable=False: torch.argsort(
             x, dim=dim, descending=descending, stable=True))


def _check_k(k: int, n, d: int) -> None:
    if isinstance(n, int) and not 0 <= k <= n:
        raise ShapeError("selected index k out of range")


def _topk(xp, x, k, dim, largest, sorted):
    if x.ndim == 0:
        _check_k(k, 1, 0)
        return x.copy(), xp.zeros((), np.int64)
    d = normalize_dim(dim, x.ndim, "topk")
    _check_k(k, x.shape[d], d)
    idx = _argsort(xp, x, d, largest)
    idx = idx[(slice(None),) * d + (slice(0, k),)]
    return xp.take_along_axis(x, idx, axis=d), idx.astype(np.int64)


def _topk_meta(x, k, dim=-1, largest=True, sorted=True):
    if not x.shape:
        return x, TensorMeta(dtypes.int64, (), x.device)
    d = normalize_dim(dim, len(x.shape), "topk")
    _check_k(k, x.shape[d], d)
    shape = list(x.shape)
    shape[d] = k
    return x.with_(shape=shape), TensorMeta(dtypes.int64, tuple(shape), x.device)


def _distinct(shape, dtype, seed: int):
    """Sample values without ties, so every library picks the same indices."""
    n = int(np.prod(shape))
    values = np.random.default_rng(seed).permutation(n).reshape(shape) - n // 2
    return tensor(values * 0.5 if dtype.is_floating_point else values, dtype=dtype)


register("topk(Tensor self, int k, int dim=-1, bool largest=True, bool sorted=True) -> "
         "(Tensor values, Tensor indices)", OpKind.OPAQUE, kernel=_topk, meta=_topk_meta,
         vjp=_selection_vjp(2), saves=Saves.OUTPUTS,
         samples=lambda dtype=dtypes.float64: [
             SampleInput((_distinct((3, 5), dtype, 71), 2), name="largest"),
             SampleInput((_distinct((4, 3), dtype, 72), 3, 0, False), name="smallest")])
