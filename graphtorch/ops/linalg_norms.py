"""linalg_matrix_norm: a composite of the ``norm`` (Frobenius), abs/sum/amax (1, inf and their
negatives) and ``linalg_svdvals`` (2, -2, nuclear) ops, which carry its gradient.

Vector norms are the registry's ``norm`` op (graphtorch/ops/reductions.py), exposed as
``graphtorch.linalg.vector_norm``.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.ops.linalg_decomp import check_float, check_matrix
from graphtorch.ops.meta import TensorMeta, normalize_dim
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.reductions import reduced_shape
from graphtorch.ops.registry import REGISTRY, OpKind, SampleInput, register

_INF = float("inf")
_ORDS = ("fro", "nuc", 1, -1, 2, -2, _INF, -_INF)


def _check(a, ord, dim) -> tuple[int, int]:  # noqa: A002 - PyTorch's argument name
    check_float("linalg.matrix_norm", a)
    check_matrix("linalg.matrix_norm", tuple(a.shape), square=False)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {tuple(dim)}")
    d0, d1 = (normalize_dim(d, len(a.shape), "linalg.matrix_norm") for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, "
                           f"{dim[1]})")
    if isinstance(ord, bool) or ord not in _ORDS:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    return d0, d1


def _matrix_norm(a, ord="fro", dim=(-2, -1), keepdim=False, dtype=None):  # noqa: A002
    d0, d1 = _check(a, ord, dim)
    if dtype is not None:
        a = a.to(dtype)
    kept = list(reduced_shape(tuple(a.shape), (d0, d1), True))
    gone = list(reduced_shape(tuple(a.shape), (d0, d1), False))
    if ord == "fro":
        return REGISTRY["norm"](a, 2, [d0, d1], keepdim)
    if ord in ("nuc", 2, -2):
        s = REGISTRY["linalg_svdvals"](a.movedim([d0, d1], [-2, -1]))
        out = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
    else:
        summed, picked = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = a.abs().sum(summed, keepdim=True)
        out = sums.amax(picked, keepdim=True) if ord > 0 else sums.amin(picked, keepdim=True)
    return out.reshape(kept if keepdim else gone)


def _matrix_norm_meta(a, ord="fro", dim=(-2, -1), keepdim=False, dtype=None):  # noqa: A002
    d0, d1 = _check(a, ord, dim)
    return TensorMeta(dtype or a.dtype, reduced_shape(tuple(a.shape), (d0, d1), keepdim),
                      a.device)


def _matrix_norm_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(170)
    out = [SampleInput((m.tensor((3, 4), dtype),), name="fro")]
    for ord in _ORDS[1:]:
        out.append(SampleInput((m.tensor((3, 4), dtype), ord), name=f"ord_{ord}"))
    out += [SampleInput((m.tensor((2, 3, 3), dtype), 2, [0, 2], True), name="dims_keepdim"),
            SampleInput((m.tensor((2, 3, 4), dtype), 1, [-1, -2]), name="swapped_dims"),
            SampleInput((m.tensor((2, 3, 4), dtype), "nuc", [-1, 0]), name="nuc_dims")]
    return out


register("linalg_matrix_norm(Tensor A, Any ord='fro', int[] dim=[-2, -1], bool keepdim=False, "
         "*, ScalarType? dtype=None) -> Tensor", OpKind.COMPOSITE, decomposition=_matrix_norm,
         meta=_matrix_norm_meta, samples=_matrix_norm_samples,
         torch_ref=lambda torch, a, ord="fro", dim=(-2, -1), keepdim=False, dtype=None:
         torch.linalg.matrix_norm(a, ord, dim, keepdim, dtype=dtype),
         doc="Matrix norms over the two dims ``dim``: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf.")
