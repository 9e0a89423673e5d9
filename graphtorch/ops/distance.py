"""Pairwise distances: cdist (between two sets of row vectors, batched) and pdist (within one set).

Both are composites: a broadcast difference reduced by the ``norm`` op, which gives them their
gradients (zero at zero distance, as in PyTorch) and their lowering. NOTE: PyTorch may compute
p=2 distances of large inputs through a matrix product; graphtorch always takes the difference,
which is the more accurate of the two.
"""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import DTypeError, ShapeError
from graphtorch.ops.creation import tensor
from graphtorch.ops.meta import TensorMeta, broadcast_shapes
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import REGISTRY, OpKind, SampleInput, register
from graphtorch.ops.searching import torch_type_name

_COMPUTE_MODES = (None, "use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                  "donot_use_mm_for_euclid_dist")


def _check_cdist(x1, x2, p: float, compute_mode) -> None:
    for name, x in (("X1", x1), ("X2", x2)):
        if len(x.shape) < 2:
            raise ShapeError(f"cdist only supports at least 2D tensors, {name} got: "
                             f"{len(x.shape)}D")
        if not x.dtype.is_floating_point:
            raise DTypeError(f"cdist only supports floating-point dtypes, {name} got: "
                             f"{torch_type_name(x.dtype.np)}")
    c1, c2 = x1.shape[-1], x2.shape[-1]
    if isinstance(c1, int) and isinstance(c2, int) and c1 != c2:
        raise ShapeError(f"X1 and X2 must have the same number of columns. X1: {c1} X2: {c2}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _COMPUTE_MODES:
        raise RuntimeError(f"{compute_mode} is not a valid value for compute_mode")


def _cdist(x1, x2, p=2.0, compute_mode=None):
    _check_cdist(x1, x2, p, compute_mode)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return REGISTRY["norm"](diff, p, [-1])


def _cdist_meta(x1, x2, p=2.0, compute_mode=None):
    _check_cdist(x1, x2, p, compute_mode)
    batch = broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    return TensorMeta(x1.dtype, batch + (x1.shape[-2], x2.shape[-2]), x1.device)


def _cdist_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(130)
    return [SampleInput((m.tensor((4, 3), dtype), m.tensor((5, 3), dtype)), name="euclid"),
            SampleInput((m.tensor((2, 3, 2), dtype), m.tensor((4, 2), dtype), 1.0),
                        name="manhattan_batched"),
            SampleInput((m.tensor((3, 4), dtype), m.tensor((2, 4), dtype), float("inf")),
                        name="chebyshev"),
            SampleInput((m.tensor((2, 1, 3, 2), dtype), m.tensor((3, 2, 2), dtype), 3.0),
                        name="p3_batch_broadcast")]


register("cdist(Tensor x1, Tensor x2, float p=2.0, str? compute_mode=None) -> Tensor",
         OpKind.COMPOSITE, decomposition=_cdist, meta=_cdist_meta, samples=_cdist_samples,
         doc="p-norm distances between each row of ``x1`` and each row of ``x2``: "
             "``(..., P, M), (..., R, M) -> (..., P, R)``.")


def _check_pdist(x, p: float) -> None:
    if len(x.shape) != 2:
        raise ShapeError(f"pdist only supports 2D tensors, got: {len(x.shape)}D")
    if not x.dtype.is_floating_point:
        raise DTypeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")


def _pdist(x, p=2.0):
    _check_pdist(x, p)
    rows, cols = np.triu_indices(x.shape[0], 1)
    rows, cols = tensor(rows, device=x.device), tensor(cols, device=x.device)
    diff = x.index_select(0, rows) - x.index_select(0, cols)
    return REGISTRY["norm"](diff, p, [-1])


def _pdist_meta(x, p=2.0):
    _check_pdist(x, p)
    n = x.shape[0]
    return TensorMeta(x.dtype, (n * (n - 1) // 2 if isinstance(n, int) else None,), x.device)


register("pdist(Tensor input, float p=2.0) -> Tensor", OpKind.COMPOSITE, decomposition=_pdist,
         meta=_pdist_meta,
         samples=lambda dtype=dtypes.float64: [] if not dtype.is_floating_point else [
             SampleInput((SampleMaker(131).tensor((5, 3), dtype),), name="euclid"),
             SampleInput((SampleMaker(132).tensor((4, 2), dtype), 1.0), name="manhattan")],
         doc="p-norm distances between every pair of rows ``i < j`` of a 2-D input, as a "
             "1-D tensor in row-major order of the pairs.")
