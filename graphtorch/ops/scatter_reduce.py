"""scatter_reduce: reduce ``src`` into ``self`` at ``index`` along ``dim`` with sum, prod, mean,
amax or amin, counting the value already in ``self`` or not (``include_self``).

Gradients follow PyTorch: mean divides by the number of values reduced, amax/amin share the
gradient evenly between the tied maxima, prod is ``out / value`` (exact away from zeros).
"""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import DTypeError
from graphtorch.ops.creation import tensor
from graphtorch.ops.indexing import _bounds, _check_gather, _coords, _embed, _scatter_values
from graphtorch.ops.op_helpers import SampleMaker, as_input_dtype
from graphtorch.ops.registry import OpKind, SampleInput, Saves, register

_REDUCES = ("sum", "prod", "mean", "amax", "amin")
_UFUNCS = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


def _check_reduce(reduce: str) -> None:
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")


def _identity(reduce: str, np_dtype):
    """The value a reduction starts from when ``self`` is left out."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    big = np.inf if np_dtype.kind == "f" else np.iinfo(np_dtype).max
    return -big if reduce == "amax" else big


def _scatter_reduce(xp, x, dim, index, src, reduce, include_self=True):
    _check_reduce(reduce)
    if src.dtype != x.dtype:
        raise DTypeError("scatter(): Expected self.dtype to be equal to src.dtype")
    d = _check_gather("scatter_reduce", x.shape, dim, index)
    shape = x.shape
    if x.ndim == 0:
        x, index, src = x.reshape(1), index.reshape(-1), src.reshape(-1)
    _bounds(index, x.shape[d], d)
    coords = _coords(xp, index, d)
    values = _scatter_values(src, index)
    out = x.copy()
    if not include_self:
        out[coords] = _identity(reduce, x.dtype)
    getattr(xp, _UFUNCS[reduce]).at(out, coords, values)
    if reduce == "mean":
        count = xp.full(x.shape, 1 if include_self else 0, np.int64)
        xp.add.at(count, coords, 1)
        count = xp.maximum(count, 1)
        out = (out / count if x.dtype.kind == "f" else out // count).astype(x.dtype)
    return out.reshape(shape)


def _scatter_reduce_meta(x, dim, index, src, reduce, include_self=True):
    _check_reduce(reduce)
    if src.dtype is not x.dtype:
        raise DTypeError("scatter(): Expected self.dtype to be equal to src.dtype")
    _check_gather("scatter_reduce", tuple(x.shape), dim, index)
    return x


def _scatter_reduce_vjp(ctx, g):
    x, dim, index, src, reduce, include_self = ctx.args
    out = ctx.out
    part = src if tuple(src.shape) == tuple(index.shape) else src[
        tuple(slice(0, s) for s in index.shape)]
    ones = index.new_ones(tuple(index.shape)).to(g.dtype)
    hit = g.new_zeros(tuple(x.shape)).scatter(dim, index, ones) > 0
    keep = g.new_ones(tuple(x.shape)).masked_fill(hit, 0.0) if not include_self else None
    if reduce == "sum":
        gx, gsrc = g, g.gather(dim, index)
    elif reduce == "mean":
        base = g.new_ones(tuple(x.shape)) if include_self else g.new_zeros(tuple(x.shape))
        count = base.scatter_add(dim, index, ones).clamp(min=1.0)
        gx, gsrc = g / count, (g / count).gather(dim, index)
    elif reduce == "prod":
        gx, gsrc = g * out / x, (g * out).gather(dim, index) / part
    else:
        # NOTE: every value equal to the result shares its gradient, as in PyTorch
        self_hit = (x == out).to(g.dtype)
        if not include_self:
            self_hit = self_hit * keep
        src_hit = (part == out.gather(dim, index)).to(g.dtype)
        count = self_hit.scatter_add(dim, index, src_hit).clamp(min=1.0)
        gx, gsrc = g * self_hit / count, (g / count).gather(dim, index) * src_hit
    if keep is not None:
        gx = gx * keep
    gsrc = as_input_dtype(_embed(gsrc, tuple(src.shape)), src)
    return gx, None, None, gsrc


def _scatter_reduce_samples(dtype=dtypes.float64):
    m = SampleMaker(120)
    low, high = (0.5, 2.0) if dtype.is_floating_point else (-6, 7)
    idx = tensor([[0, 0, 2], [1, 3, 3], [2, 2, 2]])
    out = []
    for reduce in _REDUCES:
        for include_self in (True, False):
            out.append(SampleInput((m.tensor((3, 4), dtype, low, high), 1, idx,
                                    m.tensor((3, 3), dtype, low, high), reduce),
                                   {"include_self": include_self},
                                   name=f"{reduce}_{'self' if include_self else 'no_self'}"))
    out.append(SampleInput((m.tensor((3, 2), dtype, low, high), 0, tensor([[2, 0], [2, 2]]),
                            m.tensor((3, 3), dtype, low, high), "sum"), name="bigger_src"))
    return out


register("scatter_reduce(Tensor self, int dim, Tensor index, Tensor src, str reduce, *, "
         "bool include_self=True) -> Tensor", OpKind.OPAQUE, kernel=_scatter_reduce,
         meta=_scatter_reduce_meta, vjp=_scatter_reduce_vjp, saves=Saves.BOTH,
         samples=_scatter_reduce_samples, backward_name="ScatterReduceBackward0",
         doc="``self`` with ``src`` reduced in at ``index`` along ``dim``.")
