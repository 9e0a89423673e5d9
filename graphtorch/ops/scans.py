"""Scans beyond cumsum/cumprod: cummax, cummin (values and indices) and logcumsumexp.

``diff`` is a composite in graphtorch/composed_functions.py (narrow and sub carry its gradient).
"""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import UnsupportedError
from graphtorch.ops.creation import tensor
from graphtorch.ops.meta import TensorMeta, normalize_dim
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import OpKind, SampleInput, Saves, register
from graphtorch.ops.searching import torch_type_name


def _running_extreme(fn_name: str):
    ufunc = np.maximum if fn_name == "cummax" else np.minimum

    def kernel(xp, x, dim):
        d = normalize_dim(dim, x.ndim, fn_name)
        if x.ndim == 0:
            return x.copy(), xp.zeros((), np.int64)
        values = getattr(xp, ufunc.__name__).accumulate(x, axis=d)
        # NOTE: like PyTorch, a tie moves the index to the later element, and a NaN (which
        # propagates through the values) takes the index of each NaN as it is met.
        hit = x == values
        if x.dtype.kind == "f":
            hit |= xp.isnan(x)
        pos = xp.arange(x.shape[d]).reshape((-1,) + (1,) * (x.ndim - 1 - d))
        indices = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=d)
        return values, indices.astype(np.int64)

    return kernel


def _running_extreme_meta(x, dim):
    normalize_dim(dim, len(x.shape))
    return x, TensorMeta(dtypes.int64, tuple(x.shape), x.device)


def _running_extreme_vjp(ctx, g, _g_indices=None):
    x, dim = ctx.args
    if x.ndim == 0:
        return (g,)
    return (g.new_zeros(tuple(x.shape)).scatter_add(dim, ctx.output(1), g),)


def _distinct(shape, dtype, seed: int):
    """Values without ties, so every element's gradient is well defined."""
    n = int(np.prod(shape))
    values = np.random.default_rng(seed).permutation(n).reshape(shape) - n // 2
    return tensor(values * 0.5 if dtype.is_floating_point else values, dtype=dtype)


def _running_extreme_samples(dtype=dtypes.float64):
    return [SampleInput((_distinct((3, 5), dtype, 110), 1), name="dim1"),
            SampleInput((_distinct((4, 3), dtype, 111), 0), name="dim0"),
            SampleInput((_distinct((6,), dtype, 112), -1), name="vector"),
            SampleInput((_distinct((), dtype, 113), 0), name="scalar")]


for _name in ("cummax", "cummin"):
    register(f"{_name}(Tensor self, int dim) -> (Tensor values, Tensor indices)", OpKind.OPAQUE,
             kernel=_running_extreme(_name), meta=_running_extreme_meta,
             vjp=_running_extreme_vjp, saves=Saves.OUTPUTS, samples=_running_extreme_samples,
             doc=f"The running {_name[3:]}imum along ``dim`` and the index where it was found.")


def _logcumsumexp(xp, x, dim):
    if x.dtype.kind != "f":
        raise UnsupportedError(f'"logcumsumexp_out_cpu" not implemented for '
                               f"'{torch_type_name(x.dtype)}'")
    d = normalize_dim(dim, x.ndim, "logcumsumexp")
    if x.ndim == 0:
        return x.copy()
    return xp.logaddexp.accumulate(x, axis=d)


def _logcumsumexp_meta(x, dim):
    normalize_dim(dim, len(x.shape), "logcumsumexp")
    return TensorMeta(x.dtype, tuple(x.shape), x.device)


def _reverse_logcumsumexp(t, d: int):
    return t.flip([d]).logcumsumexp(d).flip([d])


def _logcumsumexp_vjp(ctx, g):
    # NOTE: dx_j = sum_{k >= j} g_k exp(x_j - out_k). Summing the positive and negative parts of
    # g separately in log space keeps every exp() bounded (log(0) = -inf contributes nothing).
    x, dim = ctx.args
    if x.ndim == 0:
        return (g,)
    d = dim % x.ndim
    out = ctx.out
    pos = _reverse_logcumsumexp(g.clamp(min=0).log() - out, d)
    neg = _reverse_logcumsumexp((-g).clamp(min=0).log() - out, d)
    return ((x + pos).exp() - (x + neg).exp(),)


register("logcumsumexp(Tensor self, int dim) -> Tensor", OpKind.OPAQUE, kernel=_logcumsumexp,
         meta=_logcumsumexp_meta,
         vjp=_logcumsumexp_vjp, saves=Saves.BOTH,
         samples=lambda dtype=dtypes.float64: [] if not dtype.is_floating_point else [
             SampleInput((SampleMaker(114).tensor((3, 4), dtype), 1), name="dim1"),
             SampleInput((SampleMaker(115).tensor((5, 2), dtype, -20, 20), 0), name="wide_range"),
             SampleInput((SampleMaker(116).tensor((), dtype), 0), name="scalar")],
         doc="``log(cumsum(exp(input), dim))`` computed without overflow.")
