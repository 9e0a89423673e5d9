"""Matrix functions and decompositions: inv, det, slogdet, solve, cholesky, eigh, eigvalsh, svd,
svdvals (batched over leading dims, float32/float64), with vjps written with graphtorch ops.

NOTE on one-triangle inputs: cholesky and eigh read only one triangle of ``A`` (lower by default),
as in PyTorch. Their vjps are the derivative of exactly that function, so the gradient lands in
the triangle that was read. PyTorch returns the symmetrized gradient instead; for any ``A`` built
symmetric from other tensors (``X @ X.mT``, ``B + B.mT`` ...) the gradients reaching those
tensors are the same, only ``A.grad`` of a leaf ``A`` differs.

NOTE on signs: singular and eigen vectors are unique only up to sign; graphtorch flips each so
its largest-magnitude entry is positive (PyTorch leaves the sign to LAPACK), which makes results
the same on every backend.
"""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import DTypeError, LinAlgError, ShapeError
from graphtorch.ops.creation import tensor
from graphtorch.ops.meta import TensorMeta, broadcast_shapes, normalize_dim
from graphtorch.ops.op_helpers import SampleMaker, reduce_grad
from graphtorch.ops.registry import REGISTRY, OpKind, SampleInput, Saves, register
from graphtorch.ops.searching import torch_type_name


# --- checks shared by kernels and metas (arrays or TensorMetas) ---------------------------------
def _np_dtype(x):
    return x.dtype.np if isinstance(x.dtype, dtypes.dtype) else np.dtype(x.dtype)


def check_float(name: str, x) -> None:
    if _np_dtype(x).kind != "f":
        raise DTypeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                         f"{torch_type_name(_np_dtype(x))}")


def check_matrix(name: str, shape, square: bool = True, arg: str = "A") -> None:
    if len(shape) < 2:
        raise ShapeError(f"{name}: The input tensor {arg} must have at least 2 dimensions.")
    r, c = shape[-2], shape[-1]
    if square and isinstance(r, int) and isinstance(c, int) and r != c:
        raise ShapeError(f"{name}: {arg} must be batches of square matrices, but they are {r} by "
                         f"{c} matrices")


def _check_square_float(name: str, a) -> None:
    check_float(name, a)
    check_matrix(name, tuple(a.shape))


def _host(a) -> np.ndarray:
    return np.asarray(a.get() if hasattr(a, "get") else a, dtype=np.float64)


def _batches(a):
    """(prefix for the message, matrix) for each matrix of a batch, as PyTorch numbers them."""
    flat = _host(a).reshape((-1,) + a.shape[-2:])
    for b, m in enumerate(flat):
        yield (f"(Batch element {b}): " if a.ndim > 2 else ""), m


def _zero_pivot(m: np.ndarray) -> int:
    """1-based index of the first zero pivot of an LU factorization with partial pivoting."""
    u = m.copy()
    for k in range(u.shape[0]):
        p = k + int(np.argmax(np.abs(u[k:, k])))
        if u[p, k] == 0:
            return k + 1
        u[[k, p]] = u[[p, k]]
        u[k + 1:, k:] -= np.outer(u[k + 1:, k] / u[k, k], u[k, k:])
    return 0


def _raise_singular(name: str, a):
    for prefix, m in _batches(a):
        k = _zero_pivot(m)
        if k:
            raise LinAlgError(f"{name}: {prefix}The diagonal element {k} is zero, the inversion "
                              "could not be completed because the input matrix is singular.")
    raise LinAlgError(f"{name}: The input matrix is singular.")


def eye_like(t):
    """The identity matrix of ``t``'s last two dims, dtype and device (broadcasts over batch)."""
    return REGISTRY["eye"](t.shape[-1], dtype=t.dtype, device=t.device)


def _square_meta(name: str):
    def meta(a, *rest):
        _check_square_float(name, a)
        return a

    return meta


# --- samples ----------------------------------------------------------------------------------
def _well_conditioned(shape, dtype, seed: int):
    """Random matrices plus ``n * I``: far from singular, so inverses are accurate."""
    a = np.random.default_rng(seed).uniform(-1, 1, size=shape) + shape[-1] * np.eye(shape[-1])
    return tensor(a, dtype=dtype)


def spd(shape, dtype, seed: int):
    """Symmetric positive-definite sample matrices with well separated eigenvalues."""
    x = np.random.default_rng(seed).uniform(-1, 1, size=shape)
    a = x @ np.swapaxes(x, -1, -2) + np.diag(np.arange(1.0, shape[-1] + 1))
    return tensor(a, dtype=dtype)


def _float_samples(make):
    def samples(dtype=dtypes.float64):
        return make(dtype) if dtype.is_floating_point else []

    return samples


def _square_samples(make=_well_conditioned):
    return _float_samples(lambda dt: [SampleInput((make((3, 3), dt, 150),), name="matrix"),
                                      SampleInput((make((2, 4, 4), dt, 151),), name="batch"),
                                      SampleInput((make((1, 1), dt, 152),), name="one_by_one")])


# --- inv ------------------------------------------------------------------------------------------
def _inv(xp, a):
    _check_square_float("linalg.inv", a)
    try:
        return xp.linalg.inv(a)
    except np.linalg.LinAlgError:
        _raise_singular("linalg.inv", a)


def _inv_vjp(ctx, g):
    inv_t = ctx.out.mT
    return (-(inv_t @ g @ inv_t),)


register("linalg_inv(Tensor A) -> Tensor", OpKind.OPAQUE, kernel=_inv,
         meta=_square_meta("linalg.inv"), vjp=_inv_vjp, saves=Saves.OUTPUTS,
         samples=_square_samples(), backward_name="LinalgInvExBackward0",
         torch_ref=lambda torch, a: torch.linalg.inv(a),
         doc="The inverse of each square matrix.")


# --- det / slogdet ------------------------------------------------------------------------------
def _det(xp, a):
    _check_square_float("linalg.det", a)
    return xp.linalg.det(a)


def _det_vjp(ctx, g):
    # NOTE: d det(A) = det(A) tr(A^-1 dA); exact for invertible A
    a = ctx.args[0]
    scale = (g * ctx.out).unsqueeze(-1).unsqueeze(-1)
    return (scale * REGISTRY["linalg_inv"](a).mT,)


def _det_meta(a):
    _check_square_float("linalg.det", a)
    return a.with_(shape=tuple(a.shape[:-2]))


register("linalg_det(Tensor A) -> Tensor", OpKind.OPAQUE, kernel=_det, meta=_det_meta,
         vjp=_det_vjp, saves=Saves.BOTH, samples=_square_samples(),
         torch_ref=lambda torch, a: torch.linalg.det(a), doc="The determinant of each matrix.")


def _slogdet(xp, a):
    _check_square_float("linalg.slogdet", a)
    sign, logabs = xp.linalg.slogdet(a)
    return xp.asarray(sign, a.dtype), xp.asarray(logabs, a.dtype)


def _slogdet_vjp(ctx, _g_sign, g_logabs):
    a = ctx.args[0]
    return (g_logabs.unsqueeze(-1).unsqueeze(-1) * REGISTRY["linalg_inv"](a).mT,)


def _slogdet_meta(a):
    _check_square_float("linalg.slogdet", a)
    out = a.with_(shape=tuple(a.shape[:-2]))
    return out, out


def _negative_det(dtype):
    return tensor([[0.5, 2.0, 0.0], [1.5, -1.0, 0.25], [0.0, 0.75, 3.0]], dtype=dtype)


register("linalg_slogdet(Tensor A) -> (Tensor sign, Tensor logabsdet)", OpKind.OPAQUE,
         kernel=_slogdet, meta=_slogdet_meta, vjp=_slogdet_vjp, saves=Saves.INPUTS,
         samples=lambda dtype=dtypes.float64: _square_samples()(dtype) + (
             [SampleInput((_negative_det(dtype),), name="negative")]
             if dtype.is_floating_point else []),
         torch_ref=lambda torch, a: tuple(torch.linalg.slogdet(a)),
         doc="(sign, log|det|) of each matrix: the determinant without overflow.")


# --- solve ----------------------------------------------------------------------------------------
def is_vector_rhs(a_shape, b_shape) -> bool:
    """PyTorch's rule: B is a (batch of) vector(s) when 1-D or shaped like A without its last
    dim."""
    return len(b_shape) == 1 or (len(b_shape) == len(a_shape) - 1
                                 and tuple(b_shape) == tuple(a_shape[:-1]))


def _check_solve(a, b, left: bool) -> bool:
    _check_square_float("linalg.solve", a)
    check_float("linalg.solve", b)
    if _np_dtype(a) != _np_dtype(b):
        raise DTypeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of "
                         f"type {torch_type_name(_np_dtype(a))} and B of type "
                         f"{torch_type_name(_np_dtype(b))} instead")
    vector = is_vector_rhs(tuple(a.shape), tuple(b.shape))
    if vector and not left:
        raise ShapeError("linalg.solve: Vector broadcasting of the left hand side is not "
                         "supported for left=False. In this case linalg.solve is equivalent to "
                         "B / A.squeeze(-1)")
    n = a.shape[-1]
    if vector:
        rows, cols = b.shape[-1], 1
    else:
        rows, cols = (b.shape[-2], b.shape[-1]) if left else (b.shape[-1], b.shape[-2])
    if isinstance(n, int) and isinstance(rows, int) and n != rows:
        eq = "AX = B" if left else "XA = B"
        shown = f"{rows}x{cols}" if left else f"{cols}x{rows}"
        raise ShapeError(f"linalg.solve: Incompatible shapes of A and B for the equation {eq} "
                         f"({a.shape[-2]}x{n} and {shown})")
    return vector


def _solve(xp, a, b, left=True):
    vector = _check_solve(a, b, left)
    if not left:
        a, b = xp.swapaxes(a, -1, -2), xp.swapaxes(b, -1, -2)
    try:
        x = xp.linalg.solve(a, b[..., None] if vector else b)
    except np.linalg.LinAlgError:
        raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is "
                          "singular.") from None
    x = x[..., 0] if vector else x
    return x if left else xp.swapaxes(x, -1, -2)


def _solve_meta(a, b, left=True):
    vector = _check_solve(a, b, left)
    if vector:
        shape = broadcast_shapes(tuple(a.shape[:-1]), tuple(b.shape))
    else:
        batch = broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
        shape = batch + tuple(b.shape[-2:])
    return TensorMeta(a.dtype, shape, a.device)


def _solve_vjp(ctx, g):
    a, b, left = ctx.args
    x = ctx.out
    solve = REGISTRY["linalg_solve"]
    if left:
        gb = solve(a.mT, g)
        if is_vector_rhs(tuple(a.shape), tuple(b.shape)):
            ga = -(gb.unsqueeze(-1) * x.unsqueeze(-2))
        else:
            ga = -(gb @ x.mT)
    else:
        gb = solve(a.mT, g, left=False)
        ga = -(x.mT @ gb)
    return reduce_grad(ga, a), reduce_grad(gb, b)


def _solve_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(153)
    return [SampleInput((_well_conditioned((3, 3), dtype, 154), m.tensor((3, 2), dtype)),
                        name="matrix_rhs"),
            SampleInput((_well_conditioned((3, 3), dtype, 155), m.tensor((3,), dtype)),
                        name="vector_rhs"),
            SampleInput((_well_conditioned((2, 3, 3), dtype, 156), m.tensor((2, 3), dtype)),
                        name="batched_vectors"),
            SampleInput((_well_conditioned((2, 3, 3), dtype, 157), m.tensor((3, 4), dtype)),
                        name="broadcast_rhs"),
            SampleInput((_well_conditioned((3, 3), dtype, 158), m.tensor((2, 3), dtype)),
                        {"left": False}, name="right_side")]


register("linalg_solve(Tensor A, Tensor B, *, bool left=True) -> Tensor", OpKind.OPAQUE,
         kernel=_solve, meta=_solve_meta, vjp=_solve_vjp, saves=Saves.BOTH,
         samples=_solve_samples, torch_ref=lambda torch, a, b, left=True: torch.linalg.solve(
             a, b, left=left), doc="X with ``A @ X = B`` (``X @ A = B`` when left=False).")


# --- cholesky -------------------------------------------------------------------------------------
def _raise_not_pd(a):
    for prefix, m in _batches(a):
        for k in range(1, m.shape[-1] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                raise LinAlgError(f"linalg.cholesky: {prefix}The factorization could not be "
                                  "completed because the input is not positive-definite (the "
                                  f"leading minor of order {k} is not positive-definite).") \
                    from None
    raise LinAlgError("linalg.cholesky: The input is not positive-definite.")


def _cholesky(xp, a, upper=False):
    _check_square_float("linalg.cholesky", a)
    # NOTE: upper=True reads the upper triangle, as PyTorch does: the lower one of A^T
    src = xp.swapaxes(a, -1, -2) if upper else a
    try:
        low = xp.linalg.cholesky(src)
    except np.linalg.LinAlgError:
        _raise_not_pd(src)
    return xp.swapaxes(low, -1, -2) if upper else low


def onto_triangle(gs, lower: bool):
    """The gradient w.r.t. a matrix whose one triangle defines a symmetric matrix ``S``, given
    the gradient ``gs`` w.r.t. ``S``: off-diagonal entries feed both ``S[i, j]`` and ``S[j, i]``."""
    both = gs + gs.mT
    off = both.tril(-1) if lower else both.triu(1)
    return off + gs * eye_like(gs)


def _cholesky_vjp(ctx, g):
    # NOTE: S = L L^T gives dL = L Phi(L^-1 dS L^-T), Phi = lower triangle with half diagonal,
    # so gS = L^-T Phi(L^T gL) L^-1.
    upper = ctx.args[1]
    low = ctx.out.mT if upper else ctx.out
    g = g.mT if upper else g
    inv = REGISTRY["linalg_inv"](low)
    phi = (low.mT @ g).tril()
    phi = phi - 0.5 * phi * eye_like(phi)
    ga = onto_triangle(inv.mT @ phi @ inv, lower=True)
    return (ga.mT if upper else ga,)


register("linalg_cholesky(Tensor A, *, bool upper=False) -> Tensor", OpKind.OPAQUE,
         kernel=_cholesky, meta=_square_meta("linalg.cholesky"), vjp=_cholesky_vjp,
         saves=Saves.OUTPUTS, backward_name="LinalgCholeskyExBackward0",
         samples=lambda dtype=dtypes.float64: _square_samples(spd)(dtype) + (
             [SampleInput((spd((3, 3), dtype, 159),), {"upper": True}, name="upper")]
             if dtype.is_floating_point else []),
         torch_ref=lambda torch, a, upper=False: torch.linalg.cholesky(a, upper=upper),
         doc="The Cholesky factor L (``A = L @ L.mT``) of symmetric positive-definite matrices.")


# --- cross -------------------------------------------------------------------------------------
def _check_cross(a, b, dim: int) -> int:
    if _np_dtype(a) != _np_dtype(b):
        raise DTypeError(f"expected scalar type {torch_type_name(_np_dtype(a))} but found "
                         f"{torch_type_name(_np_dtype(b))}")
    if len(a.shape) != len(b.shape):
        raise ShapeError("linalg.cross: inputs must have the same number of dimensions.")
    d = normalize_dim(dim, len(a.shape), "linalg.cross")
    sa, sb = a.shape[d], b.shape[d]
    if (isinstance(sa, int) and sa != 3) or (isinstance(sb, int) and sb != 3):
        raise ShapeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {sa} and "
                         f"{sb}")
    return d


def _cross(xp, a, b, dim=-1):
    d = _check_cross(a, b, dim)
    return xp.cross(a, b, axis=d)


def _cross_meta(a, b, dim=-1):
    _check_cross(a, b, dim)
    return TensorMeta(a.dtype, broadcast_shapes(tuple(a.shape), tuple(b.shape)), a.device)


def _cross_vjp(ctx, g):
    a, b, dim = ctx.args
    cross = REGISTRY["linalg_cross"]
    return reduce_grad(cross(b, g, dim=dim), a), reduce_grad(cross(g, a, dim=dim), b)


def _cross_samples(dtype=dtypes.float64):
    m = SampleMaker(164)
    return [SampleInput((m.tensor((4, 3), dtype), m.tensor((4, 3), dtype)), name="rows"),
            SampleInput((m.tensor((2, 1, 3), dtype), m.tensor((1, 5, 3), dtype)),
                        name="broadcast"),
            SampleInput((m.tensor((3, 4), dtype), m.tensor((3, 4), dtype)), {"dim": 0},
                        name="dim0")]


register("linalg_cross(Tensor input, Tensor other, *, int dim=-1) -> Tensor", OpKind.OPAQUE,
         kernel=_cross, meta=_cross_meta, vjp=_cross_vjp, saves=Saves.INPUTS,
         samples=_cross_samples,
         torch_ref=lambda torch, a, b, dim=-1: torch.linalg.cross(a, b, dim=dim),
         doc="The cross product of 3-vectors along ``dim`` (inputs broadcast).")


# --- matrix_power -----------------------------------------------------------------------------
def _matrix_power(a, n):
    check_matrix("linalg.matrix_power", tuple(a.shape))
    if n == 0:
        # NOTE: like PyTorch, the identity stays connected to A (with a zero gradient)
        eye = eye_like(a)
        return a.masked_fill(eye == eye, 0) + eye
    if n < 0:
        a, n = REGISTRY["linalg_inv"](a), -n
    result, base = None, a
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def _matrix_power_meta(a, n):
    check_matrix("linalg.matrix_power", tuple(a.shape))
    if n < 0:
        check_float("linalg.inv", a)
    return a


def _matrix_power_samples(dtype=dtypes.float64):
    m = SampleMaker(165)
    out = [SampleInput((m.tensor((3, 3), dtype, -2, 2), 3), name="cube"),
           SampleInput((m.tensor((2, 2, 2), dtype, -2, 2), 0), name="identity"),
           SampleInput((m.tensor((3, 3), dtype, -2, 2), 1), name="one")]
    if dtype.is_floating_point:
        out.append(SampleInput((_well_conditioned((3, 3), dtype, 166), -2), name="inverse_sq"))
    return out


register("matrix_power(Tensor self, int n) -> Tensor", OpKind.COMPOSITE,
         decomposition=_matrix_power, meta=_matrix_power_meta, samples=_matrix_power_samples,
         doc="The ``n``-th power of square matrices (by repeated squaring; negative ``n`` "
             "inverts first).")
