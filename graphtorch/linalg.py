"""``graphtorch.linalg``: PyTorch's ``torch.linalg`` namespace over the registry's linalg ops.

>>> import graphtorch as torch
>>> A = torch.tensor([[4.0, 1.0], [1.0, 3.0]])
>>> torch.linalg.solve(A, torch.tensor([1.0, 2.0]))
tensor([0.0909, 0.6364])

Singular and eigen vectors are sign-normalized (largest-magnitude entry positive); cholesky and
eigh gradients land in the triangle they read (see graphtorch/ops/linalg_decomp.py).
"""

from __future__ import annotations

from graphtorch.errors import LinAlgError
from graphtorch.functions import finfo, where
from graphtorch.ops import return_types
from graphtorch.ops.dispatch import dispatch
from graphtorch.ops.registry import REGISTRY as _R

__all__ = ["LinAlgError", "vector_norm", "matrix_norm", "norm", "inv", "det", "slogdet",
           "solve", "cholesky", "qr", "svd", "svdvals", "eigh", "eigvalsh", "cross",
           "matrix_power", "matmul", "vecdot", "multi_dot", "pinv", "lu_factor", "lu", "lu_solve"]


def _named(name: str, fields: tuple[str, ...]) -> type:
    """A ``graphtorch.return_types`` named tuple, made once and shared."""
    cls = getattr(return_types, name, None)
    if cls is None:
        cls = return_types._make(name, fields)
        setattr(return_types, name, cls)
    return cls


_SLOGDET = _named("linalg_slogdet", ("sign", "logabsdet"))
_EIGH = _named("linalg_eigh", ("eigenvalues", "eigenvectors"))
_SVD = _named("linalg_svd", ("U", "S", "Vh"))
_QR = _named("linalg_qr", ("Q", "R"))
_LU_FACTOR = _named("linalg_lu_factor", ("LU", "pivots"))
_LU = _named("linalg_lu", ("P", "L", "U"))


def _op_function(op_name: str, public: str, doc: str):
    """A function that is exactly one registry op (so script maps it to that op)."""
    op = _R[op_name]

    def fn(*args, **kwargs):
        return dispatch(op, args, kwargs)

    fn.__name__ = fn.__qualname__ = public
    fn.__doc__ = f"{doc}\n\nschema: ``{op.schema}``"
    fn.op = op
    return fn


inv = _op_function("linalg_inv", "inv", "``inv(A)``: the inverse of square matrices.")
det = _op_function("linalg_det", "det", "``det(A)``: determinants.")
solve = _op_function("linalg_solve", "solve", "``solve(A, B, *, left=True)``: X with AX = B.")
cholesky = _op_function("linalg_cholesky", "cholesky",
                        "``cholesky(A, *, upper=False)``: the Cholesky factor.")
eigvalsh = _op_function("linalg_eigvalsh", "eigvalsh", "``eigvalsh(A, UPLO='L')``.")
svdvals = _op_function("linalg_svdvals", "svdvals", "``svdvals(A)``: singular values.")
cross = _op_function("linalg_cross", "cross", "``cross(input, other, *, dim=-1)``.")
matrix_power = _op_function("matrix_power", "matrix_power", "``matrix_power(A, n)``.")
matrix_norm = _op_function("linalg_matrix_norm", "matrix_norm",
                           "``matrix_norm(A, ord='fro', dim=(-2, -1), keepdim=False, *, "
                           "dtype=None)``.")
matmul = _op_function("matmul", "matmul", "``matmul(input, other)``: alias of "
                                          "graphtorch.matmul.")


def slogdet(A):  # noqa: N803 - PyTorch's argument name
    """``return_types.linalg_slogdet(sign, logabsdet)`` of square matrices."""
    return _SLOGDET(*dispatch(_R["linalg_slogdet"], (A,), None))


def eigh(A, UPLO: str = "L"):  # noqa: N803
    """``return_types.linalg_eigh(eigenvalues, eigenvectors)`` of symmetric matrices."""
    return _EIGH(*dispatch(_R["linalg_eigh"], (A, UPLO), None))


def svd(A, full_matrices: bool = True, *, driver=None):  # noqa: N803
    """``return_types.linalg_svd(U, S, Vh)``; ``driver`` (a CUDA option) is ignored."""
    return _SVD(*dispatch(_R["linalg_svd"], (A, full_matrices), None))


def qr(A, mode: str = "reduced"):  # noqa: N803
    """``return_types.linalg_qr(Q, R)``."""
    return _QR(*dispatch(_R["linalg_qr"], (A, mode), None))


def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A002
    """The ``ord``-norm of ``x`` over ``dim`` (all elements when None), as a vector."""
    if isinstance(dim, int):
        dim = [dim]
    return dispatch(_R["norm"], (x, ord, None if dim is None else list(dim), keepdim),
                    {"dtype": dtype})


def norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A002,N803
    """A matrix norm when ``dim`` is a 2-tuple (or ``A`` is 2-D with ``ord`` given, or ``ord``
    is a string), otherwise a vector norm (of the flattened input when ``dim`` is None)."""
    if isinstance(dim, int):
        dim = (dim,)
    matrix = isinstance(ord, str) or (dim is not None and len(dim) == 2) or (
        dim is None and ord is not None and A.ndim == 2)
    if dim is None and ord is not None and A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {A.ndim}D.")
    if matrix:
        return matrix_norm(A, "fro" if ord is None else ord, list(dim or (-2, -1)), keepdim,
                           dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def vecdot(x, y, *, dim: int = -1):
    """The dot product of vectors along ``dim`` (inputs broadcast)."""
    return (x * y).sum(dim)


def multi_dot(tensors):
    """The product of a chain of matrices (the first and last may be vectors), left to right."""
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = out @ t
    return out


def pinv(A, *, atol=None, rtol=None, hermitian: bool = False):  # noqa: N803
    """The Moore-Penrose pseudo-inverse from the reduced SVD; singular values at or below
    ``max(atol, rtol * largest)`` count as zero (``rtol`` defaults to eps * max(m, n))."""
    U, S, Vh = svd(A, full_matrices=False)
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else finfo(A.dtype).eps * max(A.shape[-2:])
    largest = S.amax(-1, keepdim=True) if S.shape[-1] else S
    cutoff = (largest * rtol).clamp(min=0.0 if atol is None else float(atol))
    keep = S > cutoff
    inv_s = where(keep, 1.0 / where(keep, S, S * 0 + 1), S * 0)
    return Vh.mT @ (inv_s.unsqueeze(-1) * U.mT)



def lu_factor(A, *, pivot: bool = True):  # noqa: N803
    """``return_types.linalg_lu_factor(LU, pivots)``: packed LU factors with partial pivoting
    (``A = P @ L @ U``; ``pivots`` are 1-based int32 row swaps, see graphtorch/ops/linalg_lu.py)."""
    return _LU_FACTOR(*dispatch(_R["linalg_lu_factor"], (A,), {"pivot": pivot}))


def lu(A, *, pivot: bool = True):  # noqa: N803
    """``return_types.linalg_lu(P, L, U)`` with ``A = P @ L @ U``."""
    return _LU(*dispatch(_R["linalg_lu"], (A,), {"pivot": pivot}))


lu_factor.op = _R["linalg_lu_factor"]  # script calls the op (a tuple there)
lu.op = _R["linalg_lu"]
lu_solve = _op_function("linalg_lu_solve", "lu_solve",
                        "``lu_solve(LU, pivots, B, *, left=True, adjoint=False)``: X with "
                        "``A X = B`` from ``lu_factor(A)``.")
