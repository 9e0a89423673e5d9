"""Searching and counting: searchsorted, bucketize, unique, unique_consecutive, bincount, histc.

None of these is differentiable. ``_unique`` and ``_unique_consecutive`` always return all three
of (values, inverse, counts); ``graphtorch.unique`` (graphtorch/op_wrappers.py) picks the ones asked
for. Output sizes that depend on the data are unknown (None) in the metas.
"""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import ShapeError, UnsupportedError
from graphtorch.ops.creation import tensor
from graphtorch.ops.meta import TensorMeta, normalize_dim
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import OpKind, SampleInput, Saves, register

_TORCH_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short",
                "int32": "Int", "int64": "Long", "float16": "Half", "float32": "Float",
                "float64": "Double"}


def torch_type_name(np_dtype) -> str:
    """PyTorch's ScalarType name of an array dtype ('Float', 'Long' ...), for error messages."""
    return _TORCH_NAMES.get(np.dtype(np_dtype).name, str(np_dtype))


def _is_tensorish(v) -> bool:
    return hasattr(v, "shape") and hasattr(v, "dtype")


# --- searchsorted / bucketize ---------------------------------------------------------------
def _side(right: bool, side: str | None) -> str:
    if side is None:
        return "right" if right else "left"
    if side not in ("left", "right"):
        raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got "
                           f"{side}")
    if right and side == "left":
        raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got "
                           "side of left while right was True")
    return side


def _check_boundaries(seq_shape, val_shape, scalar: bool) -> None:
    if len(seq_shape) == 1:
        return
    if scalar:
        raise ShapeError(f"torch.searchsorted(): input value can be a scalar only when boundaries "
                         f"tensor dimension is 1, but we got boundaries tensor dim("
                         f"{len(seq_shape)}) and input value's dim(0) numel(1)")
    if len(seq_shape) == 0 or tuple(seq_shape[:-1]) != tuple(val_shape[:-1]) and all(
            isinstance(d, int) for d in tuple(seq_shape[:-1]) + tuple(val_shape[:-1])):
        raise ShapeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the "
                         f"first N-1 dimensions of boundaries tensor and input value tensor must "
                         f"match, but we got boundaries tensor {list(seq_shape)} and input value "
                         f"tensor {list(val_shape)}")


def _searchsorted(xp, seq, values, out_int32=False, right=False, side=None, sorter=None):
    side = _side(right, side)
    scalar = not _is_tensorish(values)
    values = xp.asarray(values)
    _check_boundaries(seq.shape, values.shape, scalar)
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter, axis=-1)
    if seq.ndim == 1:
        out = xp.searchsorted(seq, values, side=side)
    else:
        rows = seq.reshape(-1, seq.shape[-1])
        vals = values.reshape(rows.shape[0], -1)
        out = xp.stack([xp.searchsorted(r, v, side=side) for r, v in zip(rows, vals)])
        out = out.reshape(values.shape)
    return xp.asarray(out, np.int32 if out_int32 else np.int64)


def _searchsorted_meta(seq, values, out_int32=False, right=False, side=None, sorter=None):
    _side(right, side)
    shape = tuple(values.shape) if _is_tensorish(values) else ()
    _check_boundaries(tuple(seq.shape), shape, not _is_tensorish(values))
    return TensorMeta(dtypes.int32 if out_int32 else dtypes.int64, shape, seq.device)


def _sorted(shape, dtype, seed: int):
    """Sorted sample boundaries (ints keep repeats, so left and right differ)."""
    t = SampleMaker(seed).tensor(shape, dtype, -4, 4)
    return tensor(np.sort(t.numpy(), axis=-1), dtype=dtype)


def _searchsorted_samples(dtype=dtypes.float64):
    m = SampleMaker(80)
    unsorted = m.tensor((6,), dtype, -4, 4)
    return [SampleInput((_sorted((7,), dtype, 81), m.tensor((2, 3), dtype, -5, 5)), name="1d"),
            SampleInput((_sorted((2, 5), dtype, 82), m.tensor((2, 4), dtype, -5, 5)),
                        {"right": True}, name="batched_right"),
            SampleInput((_sorted((6,), dtype, 83), m.tensor((5,), dtype, -5, 5)),
                        {"side": "right", "out_int32": True}, name="side_int32"),
            SampleInput((unsorted, m.tensor((4,), dtype, -5, 5)),
                        {"sorter": tensor(np.argsort(unsorted.numpy(), kind="stable"))},
                        name="sorter"),
            SampleInput((_sorted((5,), dtype, 84), 1.5 if dtype.is_floating_point else 1),
                        name="scalar_value")]


register("searchsorted(Tensor sorted_sequence, Tensor input, *, bool out_int32=False, "
         "bool right=False, str? side=None, Tensor? sorter=None) -> Tensor", OpKind.OPAQUE,
         kernel=_searchsorted, meta=_searchsorted_meta, samples=_searchsorted_samples,
         differentiable=False, saves=Saves.NOTHING,
         doc="Indices where ``input`` would be inserted into the innermost dim of "
             "``sorted_sequence`` to keep it sorted.")


def _bucketize(xp, x, boundaries, out_int32=False, right=False):
    if boundaries.ndim != 1:
        raise ShapeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return _searchsorted(xp, boundaries, x, out_int32, right)


def _bucketize_meta(x, boundaries, out_int32=False, right=False):
    if len(boundaries.shape) != 1:
        raise ShapeError(f"boundaries tensor must be 1 dimension, but got "
                         f"dim({len(boundaries.shape)})")
    shape = tuple(x.shape) if _is_tensorish(x) else ()
    return TensorMeta(dtypes.int32 if out_int32 else dtypes.int64, shape, boundaries.device)


register("bucketize(Tensor input, Tensor boundaries, *, bool out_int32=False, bool right=False) "
         "-> Tensor", OpKind.OPAQUE, kernel=_bucketize, meta=_bucketize_meta,
         differentiable=False, saves=Saves.NOTHING,
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(85).tensor((3, 4), dtype, -5, 5), _sorted((6,), dtype, 86)),
                         name="left"),
             SampleInput((SampleMaker(87).tensor((5,), dtype, -5, 5), _sorted((4,), dtype, 88)),
                         {"right": True}, name="right")],
         doc="The index of the bucket (given by 1-D ``boundaries``) each element falls in.")


# --- unique ---------------------------------------------------------------------------------------
def _unique(xp, x, sorted=True, return_inverse=False, return_counts=False, dim=None):
    # NOTE: the values always come back sorted; PyTorch leaves the order unspecified when
    # sorted=False (and sorts on the CPU too).
    if dim is None:
        vals, inv, counts = xp.unique(x.reshape(-1), return_inverse=True, return_counts=True)
        return vals, inv.reshape(x.shape).astype(np.int64), counts.astype(np.int64)
    d = normalize_dim(dim, x.ndim, "unique")
    vals, inv, counts = xp.unique(x, axis=d, return_inverse=True, return_counts=True)
    return vals, inv.reshape(-1).astype(np.int64), counts.astype(np.int64)


def _unique_meta(x, sorted=True, return_inverse=False, return_counts=False, dim=None):
    i64 = dtypes.int64
    if dim is None:
        return (x.with_(shape=(None,)), TensorMeta(i64, tuple(x.shape), x.device),
                TensorMeta(i64, (None,), x.device))
    d = normalize_dim(dim, len(x.shape), "unique")
    shape = list(x.shape)
    shape[d] = None
    return (x.with_(shape=shape), TensorMeta(i64, (x.shape[d],), x.device),
            TensorMeta(i64, (None,), x.device))


def _repeats(shape, dtype, seed: int):
    """Sample values drawn from a few levels, so there are repeats to collapse."""
    levels = np.random.default_rng(seed).integers(-2, 3, size=shape)
    return tensor(levels * 1.5 if dtype.is_floating_point else levels, dtype=dtype)


def _unique_samples(dtype=dtypes.float64):
    return [SampleInput((_repeats((10,), dtype, 90),), name="flat"),
            SampleInput((_repeats((3, 4), dtype, 91), True, True, True), name="matrix_all"),
            SampleInput((_repeats((5, 2), dtype, 92) * 0 + _repeats((5, 1), dtype, 93),),
                        {"dim": 0, "return_counts": True}, name="dim0"),
            SampleInput((_repeats((2, 6), dtype, 94).clamp(-1, 0),), {"dim": -1},
                        name="dim_last")]


def _torch_unique(torch, x, sorted=True, return_inverse=False, return_counts=False, dim=None):
    return tuple(torch.unique(x, sorted=True, return_inverse=True, return_counts=True, dim=dim))


register("_unique(Tensor self, bool sorted=True, bool return_inverse=False, "
         "bool return_counts=False, int? dim=None) -> (Tensor, Tensor, Tensor)", OpKind.OPAQUE,
         kernel=_unique, meta=_unique_meta, samples=_unique_samples, differentiable=False,
         saves=Saves.NOTHING, torch_ref=_torch_unique,
         doc="(sorted unique values, inverse indices, counts); see graphtorch.unique.")


def _first_of_runs(xp, rows):
    """Bool mask of the rows (along axis 0) that differ from the row before."""
    starts = xp.ones(rows.shape[0], bool)
    if rows.shape[0] > 1:
        starts[1:] = (rows[1:] != rows[:-1]).reshape(rows.shape[0] - 1, -1).any(axis=1)
    return starts


def _unique_consecutive(xp, x, return_inverse=False, return_counts=False, dim=None):
    if dim is None:
        flat = x.reshape(-1)
        starts = _first_of_runs(xp, flat.reshape(-1, 1))
        vals, inv_shape = flat[starts], x.shape
    else:
        d = normalize_dim(dim, x.ndim, "unique_consecutive")
        moved = xp.moveaxis(x, d, 0)
        starts = _first_of_runs(xp, moved)
        vals, inv_shape = xp.moveaxis(moved[starts], 0, d), (x.shape[d],)
    inverse = (xp.cumsum(starts) - 1).reshape(inv_shape).astype(np.int64)
    edges = xp.concatenate([xp.nonzero(starts)[0], xp.asarray([starts.shape[0]])])
    return vals, inverse, xp.diff(edges).astype(np.int64)


def _unique_consecutive_meta(x, return_inverse=False, return_counts=False, dim=None):
    return _unique_meta(x, True, return_inverse, return_counts, dim)


def _torch_unique_consecutive(torch, x, return_inverse=False, return_counts=False, dim=None):
    return tuple(torch.unique_consecutive(x, return_inverse=True, return_counts=True, dim=dim))


register("_unique_consecutive(Tensor self, bool return_inverse=False, bool return_counts=False, "
         "int? dim=None) -> (Tensor, Tensor, Tensor)", OpKind.OPAQUE, kernel=_unique_consecutive,
         meta=_unique_consecutive_meta, differentiable=False, saves=Saves.NOTHING,
         torch_ref=_torch_unique_consecutive,
         samples=lambda dtype=dtypes.float64: [
             SampleInput((_repeats((12,), dtype, 95).clamp(-1, 0),), name="flat"),
             SampleInput((_repeats((2, 3), dtype, 96).clamp(0, 1), True, True), name="matrix"),
             SampleInput((_repeats((6, 1), dtype, 97).clamp(0, 1).expand([6, 3]),),
                         {"dim": 0}, name="dim0")],
         doc="(values of each run, run index of every element, run lengths); see "
             "graphtorch.unique_consecutive.")


# --- bincount / histc ---------------------------------------------------------------------------
def _bincount(xp, x, weights=None, minlength=0):
    if x.dtype.kind not in "iub":
        raise UnsupportedError(f'"bincount_cpu" not implemented for '
                               f"'{torch_type_name(x.dtype)}'")
    if x.ndim != 1 or (x.size and int(x.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is not None and (weights.ndim != 1 or weights.shape[0] != x.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    out = xp.bincount(x.astype(np.int64), weights=weights, minlength=minlength)
    return out.astype(np.dtype(_bincount_dtype(weights).np))


def _bincount_dtype(weights):
    if weights is None:
        return dtypes.int64
    dt = weights.dtype if isinstance(weights.dtype, dtypes.dtype) else dtypes.from_numpy(
        weights.dtype)
    return dtypes.float32 if dt is dtypes.float32 else dtypes.float64


def _bincount_meta(x, weights=None, minlength=0):
    return TensorMeta(_bincount_dtype(weights), (None,), x.device)


def _bincount_samples(dtype=dtypes.float64):
    m = SampleMaker(98)
    idx = m.tensor((8,), dtypes.int64, 0, 5)
    if not dtype.is_floating_point:
        return [SampleInput((idx,), name="counts"),
                SampleInput((idx, None, 9), name="minlength")]
    return [SampleInput((idx, m.tensor((8,), dtype)), name="weights"),
            SampleInput((idx,), {"weights": m.tensor((8,), dtype), "minlength": 2},
                        name="weights_minlength")]


register("bincount(Tensor self, Tensor? weights=None, int minlength=0) -> Tensor",
         OpKind.OPAQUE, kernel=_bincount, meta=_bincount_meta, samples=_bincount_samples,
         differentiable=False, saves=Saves.NOTHING,
         doc="How often each value in ``range(max(input) + 1)`` occurs (or the sum of its "
             "weights).")


def _histc(xp, x, bins=100, min=0, max=0):  # noqa: A002 - PyTorch's argument names
    if x.dtype.kind != "f":
        raise UnsupportedError(f'"histogram_cpu" not implemented for '
                               f"'{torch_type_name(x.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    flat = x.reshape(-1)
    keep = flat[(flat >= lo) & (flat <= hi)]
    pos = ((keep - x.dtype.type(lo)) * bins / x.dtype.type(hi - lo)).astype(np.int64)
    # NOTE: the right edge belongs to the last bin
    pos = xp.minimum(pos, bins - 1)
    return xp.bincount(pos, minlength=bins).astype(x.dtype)


register("histc(Tensor self, int bins=100, Scalar min=0, Scalar max=0) -> Tensor",
         OpKind.OPAQUE, kernel=_histc,
         meta=lambda x, bins=100, min=0, max=0: x.with_(shape=(bins,)),
         differentiable=False, saves=Saves.NOTHING,
         samples=lambda dtype=dtypes.float64: [] if not dtype.is_floating_point else [
             SampleInput((SampleMaker(99).tensor((20,), dtype),), name="data_range"),
             SampleInput((SampleMaker(99).tensor((4, 5), dtype), 6, -2, 2), name="fixed_range")],
         doc="A histogram of ``bins`` equal-width bins over [min, max] (the data's range when "
             "min == max); values outside are ignored.")
