"""Python functions composed of registry ops that PyTorch scripts reach for (isclose, lerp, median,
tensordot ...). Not to be confused with ``OpKind.COMPOSITE`` registry ops (ops/*.py).

Each is written with graphtorch ops, so gradients, tracing and devices come from those ops.
"""

from __future__ import annotations

import builtins

from graphtorch import dtypes
from graphtorch.functions import (
    _R,
    _torch_type_name,
    dispatch,
    finfo,
    return_types,
    sort,
    var,
    where,
)
from graphtorch.functions import nonzero as _nonzero
from graphtorch.ops.meta import normalize_dim
from graphtorch.tensor import Tensor

__all__: list[str] = []


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """``|input - other| <= atol + rtol * |other|`` elementwise; equal infinities are close."""
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{_torch_type_name(input.dtype)} did not match "
                           f"{_torch_type_name(other.dtype)}")
    close = input == other
    if not input.dtype.is_floating_point:
        input, other = input.double(), other.double()
    elif equal_nan:
        close = close | (input.isnan() & other.isnan())
    diff = (input - other).abs()
    return close | (diff.isfinite() & (diff <= atol + rtol * other.abs()))


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """``isclose(...).all()`` as a Python bool."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def equal(input, other) -> bool:
    """True when both tensors have the same shape and the same values."""
    return tuple(input.shape) == tuple(other.shape) and bool((input == other).all())


__all__ += ["isclose", "allclose", "equal"]


# --- small composites PyTorch scripts reach for ---------------------------------------------------
def clip(input, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    """Alias of ``clamp``."""
    return dispatch(_R["clamp"], (input, min, max), None)


def broadcast_to(input, size):
    """``input.expand(size)``: a view with the broadcast shape."""
    return input.expand(list(size))


def outer(input, vec2):
    """The outer product of two 1-D tensors."""
    return input.unsqueeze(1) * vec2.unsqueeze(0)


def trace(input):
    """The sum of the main diagonal of a 2-D tensor."""
    return input.diagonal().sum()


def lerp(input, end, weight):
    """``input + weight * (end - input)``."""
    return input + weight * (end - input)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)``."""
    product = mat1 @ mat2
    return (input if beta == 1 else beta * input) + (product if alpha == 1 else alpha * product)


def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``."""
    return input + value * tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``."""
    return input + value * tensor1 / tensor2


def take_along_dim(input, indices, dim=None):
    """``gather`` along ``dim`` with broadcast indices (flattened input when ``dim`` is None)."""
    if dim is None:
        return input.reshape([-1]).gather(0, indices.reshape([-1]))
    shape = [builtins.max(a, b) if i != dim % input.ndim else b
             for i, (a, b) in enumerate(zip(input.shape, indices.shape))]
    expanded = list(shape)
    expanded[dim % input.ndim] = input.shape[dim % input.ndim]
    return input.expand(expanded).gather(dim, indices.expand(shape))


def argwhere(input):
    """``nonzero(input)``: the indices of the non-zero elements, one row each."""
    return _nonzero(input)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim``."""
    v = var(input, dim, unbiased, keepdim, correction=correction)
    if dim is None or isinstance(dim, bool):
        return v, input.mean()
    return v, input.mean(dim, keepdim=keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim``."""
    v, m = var_mean(input, dim, unbiased, keepdim, correction=correction)
    return v.sqrt(), m


def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids from 1-D tensors (``indexing='ij'`` by default, or ``'xy'``)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError("torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        tensors = (tensors[1], tensors[0]) + tuple(tensors[2:])
    shape = [t.numel() for t in tensors]
    grids = []
    for i, t in enumerate(tensors):
        view = [1] * len(tensors)
        view[i] = -1
        grids.append(t.reshape(view).expand(shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


__all__ += ["clip", "broadcast_to", "outer", "trace", "lerp", "addmm", "addcmul", "addcdiv",
            "take_along_dim", "argwhere", "var_mean", "std_mean", "meshgrid"]


# --- more composites ------------------------------------------------------------------------------
def clamp_min(input, min):  # noqa: A002 - PyTorch's argument name
    return dispatch(_R["clamp"], (input, min, None), None)


def clamp_max(input, max):  # noqa: A002 - PyTorch's argument name
    return dispatch(_R["clamp"], (input, None, max), None)


def masked_select(input, mask):
    """The elements of ``input`` where the (broadcast) ``mask`` is True, as a 1-D tensor."""
    shape = _broadcast_shapes(input.shape, mask.shape)
    return input.expand(shape)[mask.expand(shape)]


def _broadcast_shapes(a, b) -> list:
    n = builtins.max(len(a), len(b))
    a, b = [1] * (n - len(a)) + list(a), [1] * (n - len(b)) + list(b)
    return [x if y == 1 else y for x, y in zip(a, b)]


def index_fill(input, dim: int, index, value):
    """``input`` with the slices at ``index`` along ``dim`` set to ``value``."""
    d = normalize_dim(dim, input.ndim, "index_fill")
    mask = dispatch(_R["zeros"], ([input.shape[d]],), {"dtype": _bool(), "device": input.device})
    mask[index.reshape([-1])] = True
    shape = [1] * input.ndim
    if input.ndim:
        shape[d] = -1
    return input.masked_fill(mask.reshape(shape), value)


def _bool():
    return dtypes.bool_


def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim`` (after concatenating prepend/append)."""
    parts = [t for t in (prepend, input, append) if t is not None]
    x = dispatch(_R["cat"], (parts, dim), None) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[dim]
        if length == 0:
            break
        hi, lo = x.narrow(dim, 1, length - 1), x.narrow(dim, 0, length - 1)
        x = hi ^ lo if x.dtype is _bool() else hi - lo
    return x


def _kth(input, k, dim, keepdim, name: str):
    """Sorted value number ``k`` (a tensor of per-row positions or an int) along ``dim``."""
    d = normalize_dim(dim, builtins.max(input.ndim, 1), name)
    x = input if input.ndim else input.reshape([1])
    values, indices = sort(x, d)
    if not isinstance(k, int):
        k = k.unsqueeze(d)
    else:
        shape = list(x.shape)
        shape[d] = 1
        k = dispatch(_R["full"], (shape, k), {"dtype": _int64(), "device": x.device})
    v, i = values.gather(d, k), indices.gather(d, k)
    if not keepdim or input.ndim == 0:
        v, i = v.squeeze(d), i.squeeze(d)
    return v, i


def _int64():
    return dtypes.int64


def median(input, dim=None, keepdim: bool = False):
    """The lower median (of everything, or ``return_types.median`` along ``dim``); NaN when the
    reduced values hold one, with the index of the first NaN."""
    if dim is None:
        return median(input.reshape([-1]), 0)[0]
    nan_count = input.isnan().sum(dim, keepdim=False)
    n = input.shape[dim] if input.ndim else 1
    k = where(nan_count > 0, n - nan_count, nan_count * 0 + (n - 1) // 2)
    return return_types.median(*_kth(input, k, dim, keepdim, "median"))


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest value (1-based) along ``dim`` and its index."""
    n = input.shape[dim] if input.ndim else 1
    if not 1 <= k <= n:
        raise IndexError(f"kthvalue(): selected number k out of range for dimension {dim}")
    return return_types.kthvalue(*_kth(input, k - 1, dim, keepdim, "kthvalue"))


def logaddexp(input, other):
    """``log(exp(input) + exp(other))`` without overflow."""
    big = dispatch(_R["maximum"], (input, other), None)
    out = big + (-(input - other).abs()).exp().log1p()
    return where(input == other, input + 0.6931471805599453, out)


def nan_to_num(input, nan: float = 0.0, posinf=None, neginf=None):  # noqa: A002
    """NaN -> ``nan``, +inf -> ``posinf`` (dtype max), -inf -> ``neginf`` (dtype min)."""
    if not input.dtype.is_floating_point:
        return input.clone()
    limits = finfo(input.dtype)
    posinf = float(limits.max) if posinf is None else posinf
    neginf = float(limits.min) if neginf is None else neginf
    out = input.masked_fill(input.isnan(), nan)
    out = out.masked_fill(input == float("inf"), posinf)
    return out.masked_fill(input == float("-inf"), neginf)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * (batch1 @ batch2)`` over a batch of matrices."""
    product = dispatch(_R["bmm"], (batch1, batch2), None)
    return (input if beta == 1 else beta * input) + (product if alpha == 1 else alpha * product)


def _last_dims(a, b, dims: int) -> list[int]:
    if dims < 0:
        raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
    if dims > a.ndim or dims > b.ndim:
        raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
    return [d for d in range(a.ndim - dims, a.ndim)]


def tensordot(a, b, dims=2):
    """Contract the last ``dims`` dims of ``a`` with the first of ``b`` (or the listed dims:
    ``[[dims of a], [dims of b]]``, also as a tensor). Written without generator expressions, so
    the script compiler can compile it."""
    if isinstance(dims, Tensor):
        if dims.numel() == 1:
            n = int(dims.reshape([-1])[0].item())
            da = _last_dims(a, b, n)
            db = [d for d in range(n)]
        else:
            da = [int(dims[0][i].item()) for i in range(dims.shape[1])]
            db = [int(dims[1][i].item()) for i in range(dims.shape[1])]
    elif isinstance(dims, int):
        da = _last_dims(a, b, dims)
        db = [d for d in range(dims)]
    else:
        da = list(dims[0])
        db = list(dims[1])
    da = [d % a.ndim for d in da]
    db = [d % b.ndim for d in db]
    free_a = [d for d in range(a.ndim) if d not in da]
    free_b = [d for d in range(b.ndim) if d not in db]
    out_shape = [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b]
    k = 1
    for d in da:
        k = k * a.shape[d]
    left = a.permute(free_a + da).reshape([-1, k])
    right = b.permute(db + free_b).reshape([k, -1])
    return (left @ right).reshape(out_shape)


def diag(input, diagonal: int = 0):
    """A 1-D tensor becomes a square matrix with it on ``diagonal``; a matrix gives its
    ``diagonal`` as 1-D."""
    if input.ndim == 2:
        return input.diagonal(diagonal)
    if input.ndim != 1:
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{input.ndim}D")
    n = input.shape[0] + builtins.abs(diagonal)
    out = dispatch(_R["zeros"], ([n, n],), {"dtype": input.dtype, "device": input.device})
    rows = dispatch(_R["arange"], (0, input.shape[0], 1), {"device": input.device})
    cols = rows + builtins.max(diagonal, 0)
    return out.index_put((rows - builtins.min(diagonal, 0), cols), input)


__all__ += ["clamp_min", "clamp_max", "masked_select", "index_fill", "diff", "median",
            "kthvalue", "logaddexp", "nan_to_num", "baddbmm", "tensordot", "diag"]
