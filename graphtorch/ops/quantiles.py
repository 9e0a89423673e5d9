"""quantile and nanquantile: composites of sort, gather and a lerp, so they differentiate like
PyTorch's (the gradient goes to the one or two order statistics each quantile reads).

``q`` is a number or a 1-D tensor; a 1-D ``q`` puts its dim first in the result. The rank of
quantile ``q`` among ``n`` sorted values is ``q * (n - 1)``; ``interpolation`` says how a
fractional rank is read: linear, lower, higher, midpoint or nearest (round half to even, as
PyTorch). quantile is NaN where a reduced slice holds a NaN; nanquantile skips NaNs (NaN only for
an all-NaN slice).
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.errors import DTypeError, ShapeError
from graphtorch.ops.creation import tensor
from graphtorch.ops.meta import TensorMeta, normalize_dim
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import REGISTRY, OpKind, SampleInput, register

_MODES = ("linear", "lower", "higher", "midpoint", "nearest")


def _is_tensorish(v) -> bool:
    return hasattr(v, "shape") and hasattr(v, "dtype")


def _check(name: str, x, q, interpolation: str) -> None:
    if x.dtype not in (dtypes.float32, dtypes.float64):
        raise DTypeError(f"{name}() input tensor must be either float or double dtype")
    if _is_tensorish(q):
        if len(q.shape) > 1:
            raise ShapeError(f"{name}() q must be a scalar or 1D tensor")
        if q.dtype is not x.dtype:
            raise DTypeError(f"{name}() q tensor must be same dtype as the input tensor")
    elif not 0 <= q <= 1:
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
    if interpolation not in _MODES:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")


def _rank_index(rank, interpolation: str):
    """(lower index, upper index, weight of the upper value) of fractional ranks."""
    if interpolation == "lower":
        return rank.floor(), None, None
    if interpolation == "higher":
        return rank.ceil(), None, None
    if interpolation == "nearest":
        return rank.round(), None, None
    lo = rank.floor()
    return lo, rank.ceil(), (rank - lo if interpolation == "linear" else 0.5)


def _quantile(name: str, x, q, dim, keepdim: bool, interpolation: str, ignore_nan: bool):
    _check(name, x, q, interpolation)
    if x.numel() == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if _is_tensorish(q) and q.numel() and bool(((q < 0) | (q > 1)).any()):
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    qs = q.reshape([-1]) if _is_tensorish(q) else tensor([q], dtype=x.dtype, device=x.device)
    d = None if dim is None else normalize_dim(dim, x.ndim, name)
    y = x.reshape([-1]) if d is None or x.ndim == 0 else x.movedim(d, -1)
    values = REGISTRY["sort"](y, -1)[0]
    n = y.shape[-1]
    if ignore_nan:
        valid = y.isnan().logical_not().sum(-1, keepdim=True).to(x.dtype)
        rank = (qs * (valid - 1)).clamp(min=0.0)
    else:
        rank = (qs * (n - 1)).expand(list(y.shape[:-1]) + [qs.shape[0]])
    lo, hi, weight = _rank_index(rank, interpolation)
    out = values.gather(-1, lo.to(dtypes.int64))
    if hi is not None:
        upper = values.gather(-1, hi.to(dtypes.int64))
        out = out + weight * (upper - out)
    if not ignore_nan:
        out = out.masked_fill(y.isnan().any(-1, keepdim=True), float("nan"))
    out = out.movedim(-1, 0)
    if keepdim:
        shape = [1] * x.ndim if d is None else [1 if i == d else s for i, s in enumerate(x.shape)]
        out = out.reshape([qs.shape[0]] + shape)
    if not _is_tensorish(q) or len(q.shape) == 0:
        out = out.squeeze(0)
    return out


def _quantile_meta(name: str):
    def meta(x, q, dim=None, keepdim=False, interpolation="linear"):
        _check(name, x, q, interpolation)
        shape = list(x.shape)
        if dim is None:
            rest = [1] * len(shape) if keepdim else []
        else:
            d = normalize_dim(dim, len(shape), name)
            rest = [1 if i == d else s for i, s in enumerate(shape)] if keepdim else \
                shape[:d] + shape[d + 1:]
        first = [q.shape[0]] if _is_tensorish(q) and len(q.shape) == 1 else []
        return TensorMeta(x.dtype, tuple(first + rest), x.device)

    return meta


def _samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(140)
    with_nan = m.tensor((3, 5), dtype)
    with_nan[0, 1] = float("nan")
    with_nan[2] = float("nan")
    out = [SampleInput((m.tensor((3, 5), dtype), 0.3, 1), name="scalar_q_dim1"),
           SampleInput((m.tensor((4, 6), dtype), tensor([0.1, 0.5, 0.9], dtype=dtype), 0,
                        True), name="vector_q_keepdim"),
           SampleInput((m.tensor((2, 3), dtype), 0.75), name="all"),
           SampleInput((m.tensor((2, 3), dtype), tensor(0.4, dtype=dtype), None, True),
                       name="zero_dim_q_keepdim"),
           SampleInput((with_nan, tensor([0.2, 0.6], dtype=dtype), -1), name="nan")]
    for mode in _MODES[1:]:
        out.append(SampleInput((tensor([0.0, 1.0, 2.0, 3.0, 4.0], dtype=dtype),
                                tensor([0.125, 0.375, 0.6, 1.0], dtype=dtype)),
                               {"interpolation": mode}, name=mode))
    return out


for _name, _nan in (("quantile", False), ("nanquantile", True)):
    register(f"{_name}(Tensor self, Tensor q, int? dim=None, bool keepdim=False, *, "
             "str interpolation='linear') -> Tensor", OpKind.COMPOSITE,
             decomposition=(lambda n, nan: lambda x, q, dim=None, keepdim=False,
                            interpolation="linear": _quantile(n, x, q, dim, keepdim,
                                                              interpolation, nan))(_name, _nan),
             meta=_quantile_meta(_name), samples=_samples,
             doc=f"The ``q``-th quantiles of ``input`` along ``dim`` (of all values when dim is "
                 f"None){', ignoring NaNs' if _nan else ''}.")
