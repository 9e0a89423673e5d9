"""Spectral decompositions: eigh, eigvalsh (symmetric matrices), svd (reduced or full), svdvals.

See graphtorch/ops/linalg_decomp.py for the conventions on one-triangle inputs (eigh reads the
``UPLO`` triangle; its gradient lands there) and on vector signs (largest-magnitude entry made
positive). Vector gradients need distinct eigen/singular values, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.ops.linalg_decomp import (
    _check_square_float,
    check_float,
    check_matrix,
    eye_like,
    onto_triangle,
    spd,
)
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import REGISTRY, OpKind, SampleInput, Saves, register


def fix_signs(xp, vectors, rows=None):
    """Flip each column of ``vectors`` (and the matching row of ``rows``) so that the column's
    largest-magnitude entry is positive."""
    k = vectors.shape[-1] if rows is None else min(vectors.shape[-1], rows.shape[-2])
    where = xp.argmax(xp.abs(vectors), axis=-2)[..., None, :]
    sign = xp.sign(xp.take_along_axis(vectors, where, axis=-2))
    sign = xp.where(sign == 0, 1, sign).astype(vectors.dtype)
    vectors = vectors * sign
    if rows is not None:
        rows = rows.copy()
        rows[..., :k, :] *= xp.swapaxes(sign[..., :k], -1, -2)
    return vectors, rows


def _check_uplo(uplo: str) -> None:
    if uplo not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {uplo}")


# --- eigh / eigvalsh ----------------------------------------------------------------------------
def _eigh(xp, a, UPLO="L"):  # noqa: N803 - PyTorch's argument name
    _check_square_float("linalg.eigh", a)
    _check_uplo(UPLO)
    w, v = xp.linalg.eigh(a, UPLO=UPLO)
    return w, fix_signs(xp, v)[0]


def _eigh_meta(a, UPLO="L"):  # noqa: N803
    _check_square_float("linalg.eigh", a)
    _check_uplo(UPLO)
    return a.with_(shape=tuple(a.shape[:-1])), a


def _eigh_vjp(ctx, gw, gv):
    w, v = ctx.output(0), ctx.output(1)
    eye = eye_like(v)
    gap = w.unsqueeze(-2) - w.unsqueeze(-1)
    f = (gap + eye).reciprocal() * (1 - eye)
    inner = gw.unsqueeze(-1) * eye + f * (v.mT @ gv)
    return (onto_triangle(v @ inner @ v.mT, lower=ctx.args[1] == "L"),)


def _eigh_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    return [SampleInput((spd((3, 3), dtype, 160),), name="lower"),
            SampleInput((spd((2, 4, 4), dtype, 161), "U"), name="batch_upper"),
            SampleInput((spd((1, 1), dtype, 162),), name="one_by_one")]


def _torch_eigh(torch, a, UPLO="L"):  # noqa: N803
    w, v = torch.linalg.eigh(a, UPLO=UPLO)
    return w, torch.from_numpy(fix_signs(np, v.numpy())[0])


register("linalg_eigh(Tensor A, str UPLO='L') -> (Tensor eigenvalues, Tensor eigenvectors)",
         OpKind.OPAQUE, kernel=_eigh, meta=_eigh_meta, vjp=_eigh_vjp, saves=Saves.OUTPUTS,
         samples=_eigh_samples, torch_ref=_torch_eigh,
         doc="Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices, read "
             "from the ``UPLO`` triangle.")


def _eigvalsh(xp, a, UPLO="L"):  # noqa: N803
    _check_square_float("linalg.eigvalsh", a)
    _check_uplo(UPLO)
    return xp.linalg.eigvalsh(a, UPLO=UPLO)


def _eigvalsh_vjp(ctx, g):
    a, uplo = ctx.args
    v = REGISTRY["linalg_eigh"](a, uplo)[1]
    return (onto_triangle(v @ (g.unsqueeze(-1) * v.mT), lower=uplo == "L"),)


register("linalg_eigvalsh(Tensor A, str UPLO='L') -> Tensor", OpKind.OPAQUE, kernel=_eigvalsh,
         meta=lambda a, UPLO="L": _eigh_meta(a, UPLO)[0], vjp=_eigvalsh_vjp, saves=Saves.INPUTS,
         samples=_eigh_samples,
         torch_ref=lambda torch, a, UPLO="L": torch.linalg.eigvalsh(a, UPLO=UPLO),
         doc="The eigenvalues (ascending) of symmetric matrices.")


# --- svd / svdvals ------------------------------------------------------------------------------
def _svd(xp, a, full_matrices=True):
    check_float("linalg.svd", a)
    check_matrix("linalg.svd", a.shape, square=False)
    u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
    u, vh = fix_signs(xp, u, vh)
    return u, s, vh


def _svd_meta(a, full_matrices=True):
    check_float("linalg.svd", a)
    check_matrix("linalg.svd", tuple(a.shape), square=False)
    *batch, m, n = a.shape
    k = min(m, n) if isinstance(m, int) and isinstance(n, int) else None
    cols, rows = (m, n) if full_matrices else (k, k)
    return (a.with_(shape=(*batch, m, cols)), a.with_(shape=(*batch, k)),
            a.with_(shape=(*batch, rows, n)))


def _svd_vjp(ctx, gu, gs, gvh):
    # NOTE: Townsend's "Differentiating the SVD"; with full_matrices the extra columns of U and
    # rows of Vh are arbitrary bases, so their gradients are ignored, as in PyTorch.
    u, s, vh = ctx.output(0), ctx.output(1), ctx.output(2)
    m, n = u.shape[-2], vh.shape[-1]
    k = s.shape[-1]
    u, gu = u.narrow(-1, 0, k), gu.narrow(-1, 0, k)
    vh, gvh = vh.narrow(-2, 0, k), gvh.narrow(-2, 0, k)
    v, gv = vh.mT, gvh.mT
    eye = eye_like(s.unsqueeze(-1).expand([*s.shape, k]))
    s2 = s * s
    f = (s2.unsqueeze(-2) - s2.unsqueeze(-1) + eye).reciprocal() * (1 - eye)
    ut_gu, vt_gv = u.mT @ gu, v.mT @ gv
    j = f * (ut_gu - ut_gu.mT)
    kk = f * (vt_gv - vt_gv.mT)
    inner = j * s.unsqueeze(-2) + gs.unsqueeze(-1) * eye + s.unsqueeze(-1) * kk
    ga = u @ inner @ vh
    if m > k:
        ga = ga + ((gu - u @ ut_gu) / s.unsqueeze(-2)) @ vh
    if n > k:
        ga = ga + u @ ((gv - v @ vt_gv) / s.unsqueeze(-2)).mT
    return (ga,)


def _svd_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(163)
    return [SampleInput((m.tensor((3, 3), dtype),), name="square_full"),
            SampleInput((m.tensor((4, 3), dtype), False), name="tall"),
            SampleInput((m.tensor((2, 3, 5), dtype), False), name="batch_wide")]


def _torch_svd(torch, a, full_matrices=True):
    u, s, vh = torch.linalg.svd(a, full_matrices=full_matrices)
    u, vh = fix_signs(np, u.numpy(), vh.numpy())
    return torch.from_numpy(u), s, torch.from_numpy(vh)


register("linalg_svd(Tensor A, bool full_matrices=True) -> (Tensor U, Tensor S, Tensor Vh)",
         OpKind.OPAQUE, kernel=_svd, meta=_svd_meta, vjp=_svd_vjp, saves=Saves.OUTPUTS,
         samples=_svd_samples, torch_ref=_torch_svd,
         doc="``A = U @ diag(S) @ Vh`` with descending singular values S.")


def _svdvals(xp, a):
    check_float("linalg.svdvals", a)
    check_matrix("linalg.svdvals", a.shape, square=False)
    return xp.linalg.svd(a, compute_uv=False)


def _svdvals_vjp(ctx, g):
    u, _, vh = REGISTRY["linalg_svd"](ctx.args[0], False)
    return (u @ (g.unsqueeze(-1) * vh),)


register("linalg_svdvals(Tensor A) -> Tensor", OpKind.OPAQUE, kernel=_svdvals,
         meta=lambda a: _svd_meta(a, False)[1], vjp=_svdvals_vjp, saves=Saves.INPUTS,
         samples=lambda dtype=dtypes.float64: [SampleInput(s.args[:1], name=s.name)
                                               for s in _svd_samples(dtype)],
         torch_ref=lambda torch, a: torch.linalg.svdvals(a),
         doc="The singular values of each matrix, descending.")
