"""LU factorization with partial pivoting: ``linalg_lu_factor`` and ``lu_unpack`` (batched over
leading dims, float32/float64, square or rectangular), with vjps written with graphtorch ops.

The factorization follows LAPACK's ``getrf`` as PyTorch exposes it: ``A = P @ L @ U`` with
``L`` unit lower triangular (``m x k``), ``U`` upper triangular (``k x n``), ``k = min(m, n)``,
packed into one ``m x n`` matrix ``LU``, and ``pivots`` (int32, 1-based) saying that row ``i``
was swapped with row ``pivots[i] - 1`` at step ``i``. The pivot of each column is its first entry
of largest magnitude, as LAPACK picks it. A singular matrix still factors (a zero pivot stays in
``U``). The composites ``linalg_lu`` (P, L, U) and ``linalg_lu_solve`` are built on these two ops;
``graphtorch.linalg.lu_factor`` / ``lu`` / ``lu_solve`` call them.
"""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import UnsupportedError
from graphtorch.ops.linalg_decomp import check_float, check_matrix
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import REGISTRY, OpKind, SampleInput, Saves, register


def _factor_one(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(packed LU, 1-based pivots) of one matrix, in place on a float64 copy."""
    m, n = a.shape
    k = min(m, n)
    piv = np.empty(k, np.int32)
    for j in range(k):
        p = j + int(np.argmax(np.abs(a[j:, j])))
        piv[j] = p + 1
        if p != j:
            a[[j, p]] = a[[p, j]]
        if a[j, j] != 0:
            a[j + 1:, j] /= a[j, j]
        a[j + 1:, j + 1:] -= np.outer(a[j + 1:, j], a[j, j + 1:])
    return a, piv


def _check(name: str, a, pivot: bool) -> None:
    check_float(name, a)
    check_matrix(name, tuple(a.shape), square=False)
    if not pivot:
        raise UnsupportedError(f"{name}: LU without pivoting is not implemented on the CPU")


def _lu_factor(xp, a, pivot):
    _check("linalg.lu_factor", a, pivot)
    host = np.asarray(a.get() if hasattr(a, "get") else a, dtype=np.float64)
    m, n = host.shape[-2:]
    flat = host.reshape((-1, m, n)).copy()
    pivots = np.empty((flat.shape[0], min(m, n)), np.int32)
    for b in range(flat.shape[0]):
        flat[b], pivots[b] = _factor_one(flat[b])
    lu = flat.reshape(host.shape).astype(a.dtype)
    return xp.asarray(lu), xp.asarray(pivots.reshape(host.shape[:-2] + (min(m, n),)))


def _lu_factor_meta(a, pivot):
    _check("linalg.lu_factor", a, pivot)
    m, n = a.shape[-2:]
    return a, a.with_(dtype=dtypes.int32, shape=tuple(a.shape[:-2]) + (min(m, n),))


def _solve_right(x, u):
    """``x @ inv(u)`` for square ``u``."""
    return REGISTRY["linalg_solve"](u.mT, x.mT).mT


def _lu_factor_vjp(ctx, g_lu, _g_pivots):
    # NOTE: A = P L U; with phi = tril(L^T gL, -1) + triu(gU U^T), gA = P L^-T phi U^-T, where
    # gL / gU are the strictly lower / upper parts of the packed gradient (square A only).
    lu, piv = ctx.output(0), ctx.output(1)
    m, n = lu.shape[-2], lu.shape[-1]
    if m != n:
        raise UnsupportedError(f"linalg.lu_factor: the gradient of a non-square ({m} x {n}) "
                               "factorization is not implemented")
    p, lo, up = REGISTRY["lu_unpack"](lu, piv)
    phi = (lo.mT @ g_lu.tril(-1)).tril(-1) + (g_lu.triu() @ up.mT).triu()
    return (p @ REGISTRY["linalg_solve"](lo.mT, _solve_right(phi, up.mT)),)


def _samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(171)
    return [SampleInput((m.tensor((3, 3), dtype),), name="square"),
            SampleInput((m.tensor((2, 4, 4), dtype),), name="batch"),
            SampleInput((m.tensor((1, 1), dtype),), name="one_by_one")]


register("linalg_lu_factor(Tensor A, *, bool pivot=True) -> (Tensor LU, Tensor pivots)",
         OpKind.OPAQUE, kernel=_lu_factor, meta=_lu_factor_meta, vjp=_lu_factor_vjp,
         saves=Saves.OUTPUTS, samples=_samples,
         backward_name="LinalgLuFactorExBackward0",
         torch_ref=lambda torch, a, pivot=True: tuple(torch.linalg.lu_factor(a, pivot=pivot)),
         doc="Packed LU factors and 1-based int32 row pivots of each matrix (partial pivoting).")


# --- lu_unpack ------------------------------------------------------------------------------------
def _permutations(pivots: np.ndarray, m: int) -> np.ndarray:
    """Permutation matrices (batch, m, m) with ``A = P @ L @ U`` from 1-based row swaps."""
    flat = pivots.reshape((-1, pivots.shape[-1]))
    out = np.zeros((flat.shape[0], m, m))
    for b, piv in enumerate(flat):
        perm = np.arange(m)
        for i, p in enumerate(piv):
            perm[[i, p - 1]] = perm[[p - 1, i]]
        out[b, perm, np.arange(m)] = 1.0
    return out


def _check_unpack(lu, pivots) -> None:
    check_matrix("lu_unpack", tuple(lu.shape), square=False, arg="LU_data")
    m, n = lu.shape[-2:]
    if tuple(pivots.shape) != tuple(lu.shape[:-2]) + (min(m, n),):
        raise UnsupportedError(
            f"lu_unpack: LU_pivots of shape {list(pivots.shape)} do not match LU_data of shape "
            f"{list(lu.shape)}: expected {list(lu.shape[:-2]) + [min(m, n)]}")
    pd = pivots.dtype.np if isinstance(pivots.dtype, dtypes.dtype) else np.dtype(pivots.dtype)
    if pd.kind not in "iu":
        raise UnsupportedError("lu_unpack: LU_pivots is expected to be a contiguous tensor of "
                               "torch.int32 dtype")


def _lu_unpack(xp, lu, pivots, unpack_data, unpack_pivots):
    _check_unpack(lu, pivots)
    m, n = lu.shape[-2:]
    k = min(m, n)
    empty = xp.zeros((0,), lu.dtype)
    if unpack_data:
        low = xp.tril(lu, -1)[..., :, :k] + xp.eye(m, k, dtype=lu.dtype)
        up = xp.triu(lu)[..., :k, :]
    else:
        low = up = empty
    if unpack_pivots:
        piv = np.asarray(pivots.get() if hasattr(pivots, "get") else pivots)
        p = _permutations(piv, m).reshape(tuple(lu.shape[:-2]) + (m, m)).astype(lu.dtype)
        p = xp.asarray(p)
    else:
        p = empty
    return p, low, up


def _lu_unpack_meta(lu, pivots, unpack_data, unpack_pivots):
    _check_unpack(lu, pivots)
    m, n = lu.shape[-2:]
    k, batch = min(m, n), tuple(lu.shape[:-2])
    empty = lu.with_(shape=(0,))
    return (lu.with_(shape=batch + (m, m)) if unpack_pivots else empty,
            lu.with_(shape=batch + (m, k)) if unpack_data else empty,
            lu.with_(shape=batch + (k, n)) if unpack_data else empty)


def _pad_to(x, rows: int, cols: int):
    """``x`` padded with zeros at the bottom/right to ``rows x cols``."""
    r, c = x.shape[-2], x.shape[-1]
    if c < cols:
        x = REGISTRY["cat"]([x, x.new_zeros(tuple(x.shape[:-1]) + (cols - c,))], -1)
    if r < rows:
        x = REGISTRY["cat"]([x, x.new_zeros(tuple(x.shape[:-2]) + (rows - r, cols))], -2)
    return x


def _lu_unpack_vjp(ctx, _g_p, g_l, g_u):
    lu = ctx.args[0]
    m, n = lu.shape[-2], lu.shape[-1]
    if not ctx.args[2]:
        return (lu.new_zeros(tuple(lu.shape)), None)
    return (_pad_to(g_l.tril(-1), m, n) + _pad_to(g_u.triu(), m, n), None)


def _unpack_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    out = []
    for s in _samples(dtype)[:2]:
        lu, piv = REGISTRY["linalg_lu_factor"](*s.args)
        out.append(SampleInput((lu, piv), name=s.name))
    m = SampleMaker(172)
    for shape, name in (((4, 3), "tall"), ((2, 3, 5), "batch_wide")):
        lu, piv = REGISTRY["linalg_lu_factor"](m.tensor(shape, dtype))
        out.append(SampleInput((lu, piv), name=name))
    return out


register("lu_unpack(Tensor LU_data, Tensor LU_pivots, bool unpack_data=True, "
         "bool unpack_pivots=True) -> (Tensor P, Tensor L, Tensor U)",
         OpKind.OPAQUE, kernel=_lu_unpack, meta=_lu_unpack_meta, vjp=_lu_unpack_vjp,
         saves=Saves.INPUTS, samples=_unpack_samples,
         torch_ref=lambda torch, lu, piv, unpack_data=True, unpack_pivots=True: tuple(
             torch.lu_unpack(lu, piv, unpack_data, unpack_pivots)),
         doc="(P, L, U) of packed LU factors: ``A = P @ L @ U``.")


# --- composites: linalg_lu, linalg_lu_solve -------------------------------------------------------
def _lu(a, pivot):
    packed, pivots = REGISTRY["linalg_lu_factor"](a, pivot=pivot)
    return tuple(REGISTRY["lu_unpack"](packed, pivots))


def _lu_meta(a, pivot):
    packed, pivots = _lu_factor_meta(a, pivot)
    return _lu_unpack_meta(packed, pivots, True, True)


register("linalg_lu(Tensor A, *, bool pivot=True) -> (Tensor P, Tensor L, Tensor U)",
         OpKind.COMPOSITE, decomposition=_lu, meta=_lu_meta, samples=_samples,
         torch_ref=lambda torch, a, pivot=True: tuple(torch.linalg.lu(a, pivot=pivot)),
         doc="(P, L, U) with ``A = P @ L @ U``: linalg_lu_factor, then lu_unpack.")


def _check_lu_solve(lu, pivots, b) -> None:
    if len(lu.shape) < 2 or lu.shape[-1] != lu.shape[-2]:
        raise UnsupportedError(f"linalg.lu_solve: Expected LU to be batches of square matrices, "
                               f"but got shape {list(lu.shape)}")
    if len(b.shape) < 2:
        raise UnsupportedError("linalg.lu_solve: Expected B to have at least 2 dimensions, but "
                               f"it has {len(b.shape)} dimensions instead")
    check_float("linalg.lu_solve", b)


def _lu_solve(lu, pivots, b, left, adjoint):
    _check_lu_solve(lu, pivots, b)
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return _lu_solve(lu, pivots, b.mT, True, not adjoint).mT
    p, low, up = REGISTRY["lu_unpack"](lu, pivots)
    solve = REGISTRY["linalg_solve"]
    if adjoint:  # A^T = U^T L^T P^T
        return p @ solve(low.mT, solve(up.mT, b))
    return solve(up, solve(low, p.mT @ b))


def _lu_solve_meta(lu, pivots, b, left, adjoint):
    _check_lu_solve(lu, pivots, b)
    n = lu.shape[-1]
    bb = tuple(b.shape) if left else tuple(b.shape[:-2]) + (b.shape[-1], b.shape[-2])
    if bb[-2] != n:
        raise UnsupportedError(f"linalg.lu_solve: Incompatible shapes of A and B for the "
                               f"equation {'AX = B' if left else 'XA = B'} "
                               f"({list(lu.shape)} and {list(b.shape)})")
    batch = tuple(np.broadcast_shapes(tuple(lu.shape[:-2]), bb[:-2]))
    out = batch + (bb[-2], bb[-1])
    return b.with_(shape=out if left else batch + (bb[-1], bb[-2]))


def _lu_solve_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(173)
    a = m.tensor((2, 3, 3), dtype) + 4 * REGISTRY["eye"](3, dtype=dtype)
    lu, piv = REGISTRY["linalg_lu_factor"](a)
    return [SampleInput((lu, piv, m.tensor((2, 3, 2), dtype)), name="left"),
            SampleInput((lu, piv, m.tensor((2, 2, 3), dtype)), {"left": False}, name="right"),
            SampleInput((lu, piv, m.tensor((3, 1), dtype)), {"adjoint": True}, name="adjoint")]


register("linalg_lu_solve(Tensor LU, Tensor pivots, Tensor B, *, bool left=True, "
         "bool adjoint=False) -> Tensor",
         OpKind.COMPOSITE, decomposition=_lu_solve, meta=_lu_solve_meta,
         samples=_lu_solve_samples,
         torch_ref=lambda torch, lu, piv, b, left=True, adjoint=False: torch.linalg.lu_solve(
             lu, piv, b, left=left, adjoint=adjoint),
         doc="X with ``A X = B`` (``X A = B`` when not ``left``; ``A^T`` when ``adjoint``) from "
             "``linalg_lu_factor(A)``.")
