"""More PyTorch functions composed of registry ops: aliases (true_divide, absolute, fix ...),
elementwise math (hypot, xlogy, logit, heaviside ...), NaN-aware reductions, stacking helpers
(hstack, atleast_2d ...), small products (inner, mv, addmv, addr, kron) and rot90.

Each is written with graphtorch ops and tensor methods, so gradients, tracing and devices come from
those ops. ``functions.py`` re-exports them and ``tensor_api.py`` installs the method forms.
"""

from __future__ import annotations

import math
import sys
from builtins import max as builtins_max
from builtins import min as builtins_min

from graphtorch import dtypes
from graphtorch.errors import ShapeError
from graphtorch.ops import return_types
from graphtorch.ops.complex_support import refuse_complex
from graphtorch.ops.creation import tensor as _tensor
from graphtorch.ops.dispatch import dispatch
from graphtorch.ops.meta import broadcast_shapes as _broadcast_two
from graphtorch.ops.meta import normalize_dim
from graphtorch.ops.registry import REGISTRY
from graphtorch.tensor import Size, Tensor

__all__ = ["true_divide", "absolute", "negative", "positive", "fix", "sgn", "signbit",
           "deg2rad", "rad2deg", "exp2", "hypot", "xlogy", "logit", "float_power", "heaviside",
           "isposinf", "isneginf", "isreal", "fliplr", "flipud", "ravel", "swapaxes", "swapdims",
           "inner", "mv", "addmv", "addr", "kron", "dist", "nansum", "nanmean", "aminmax",
           "msort", "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack", "row_stack",
           "dstack", "column_stack", "broadcast_shapes", "broadcast_tensors", "rot90",
           "repeat_interleave", "unfold", "ldexp", "sinc", "gcd", "lcm", "take", "tensor_split",
           "diag_embed", "diagflat", "cartesian_prod", "block_diag", "vander", "trapezoid",
           "trapz", "cumulative_trapezoid", "is_nonzero", "is_same_size", "index_copy",
           "select_scatter", "slice_scatter", "copysign", "fmax", "fmin", "isin", "logspace",
           "cov", "corrcoef"]


# --- aliases --------------------------------------------------------------------------------------
def true_divide(input, other):  # noqa: A002 - PyTorch's argument name
    """Alias of ``div`` (true division)."""
    return input / other


def absolute(input):  # noqa: A002
    """Alias of ``abs``."""
    return input.abs()


def negative(input):  # noqa: A002
    """Alias of ``neg``."""
    return -input


def positive(input):  # noqa: A002
    """``input`` itself; a bool tensor is refused, as in PyTorch."""
    if input.dtype is dtypes.bool_:
        raise TypeError("the + operator on a bool tensor is not supported")
    return input


def fix(input):  # noqa: A002
    """Alias of ``trunc``."""
    return input.trunc()


def sgn(input):  # noqa: A002
    """``sign`` (real tensors only: graphtorch has no complex dtype)."""
    return input.sign()


def swapaxes(input, axis0: int, axis1: int):  # noqa: A002
    """Alias of ``transpose``."""
    return input.transpose(axis0, axis1)


swapdims = swapaxes


def ravel(input):  # noqa: A002
    """The elements as a contiguous 1-D tensor."""
    return input.reshape(-1)


# --- elementwise ----------------------------------------------------------------------------------
def _as_float(input):
    """Integer and bool tensors as the default float dtype (the result type of PyTorch's
    float-only unary functions); complex ones are refused (these compositions are real-only)."""
    if input.dtype.is_floating_point:
        return input
    if input.dtype.is_complex:
        refuse_complex(sys._getframe(1).f_code.co_name, input.dtype)
    return input.to(dtypes.get_default_dtype())


def signbit(input):  # noqa: A002
    """True where the sign bit is set (``-0.0`` included)."""
    if not input.dtype.is_floating_point:
        return input < 0
    return (input < 0) | ((input == 0) & ((1.0 / input) < 0))


def deg2rad(input):  # noqa: A002
    """Degrees to radians."""
    return _as_float(input) * (math.pi / 180.0)


def rad2deg(input):  # noqa: A002
    """Radians to degrees."""
    return _as_float(input) * (180.0 / math.pi)


def exp2(input):  # noqa: A002
    """``2 ** input``."""
    return 2.0 ** _as_float(input)


def hypot(input, other):  # noqa: A002
    """``sqrt(input ** 2 + other ** 2)`` elementwise."""
    return (input * input + other * other).sqrt()


def xlogy(input, other):  # noqa: A002
    """``input * log(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN)."""
    if not isinstance(input, Tensor):
        input = _tensor(input, dtype=other.dtype)  # noqa: A001
    if not isinstance(other, Tensor):
        other = _tensor(other, dtype=input.dtype)
    x, y = _as_float(input), _as_float(other)
    out = x * y.log()
    return out.masked_fill((x == 0) & ~y.isnan(), 0.0)


def logit(input, eps=None):  # noqa: A002
    """``log(p / (1 - p))``; with ``eps``, ``p`` is first clamped to ``[eps, 1 - eps]``."""
    p = _as_float(input)
    if eps is not None:
        p = p.clamp(eps, 1.0 - eps)
    return (p / (1.0 - p)).log()


def float_power(input, exponent):  # noqa: A002
    """``input ** exponent`` in float64 (complex128 when either is complex)."""
    wide = dtypes.complex128 if any(isinstance(x, complex) or isinstance(x, Tensor) and
                                    x.is_complex() for x in (input, exponent)) else dtypes.float64
    base = input.to(wide) if isinstance(input, Tensor) else wide.np.type(input)
    exp = exponent.to(wide) if isinstance(exponent, Tensor) else wide.np.type(exponent).item()
    if not isinstance(base, Tensor):
        return _tensor(base, dtype=wide) ** exp
    return base ** exp


def heaviside(input, values):  # noqa: A002
    """0 where ``input < 0``, ``values`` where ``input == 0``, 1 where ``input > 0``."""
    if input.dtype is not values.dtype:
        raise TypeError(f"heaviside is not implemented for tensors with different dtypes "
                        f"({input.dtype} and {values.dtype})")
    step = (input > 0).to(input.dtype)
    return step.where(input != 0, values)


def isposinf(input):  # noqa: A002
    """True where the value is ``+inf``."""
    return input.isinf() & (input > 0)


def isneginf(input):  # noqa: A002
    """True where the value is ``-inf``."""
    return input.isinf() & (input < 0)


def isreal(input):  # noqa: A002
    """True where the imaginary part is 0 (everywhere for a real tensor)."""
    if input.is_complex():
        return input.imag == 0
    return input.new_ones(list(input.shape), dtype=dtypes.bool_)


# --- shapes ---------------------------------------------------------------------------------------
def fliplr(input):  # noqa: A002
    """Reverse dimension 1 (left/right)."""
    if input.ndim < 2:
        raise ShapeError("fliplr: input must be >= 2-d")
    return input.flip(1)


def flipud(input):  # noqa: A002
    """Reverse dimension 0 (up/down)."""
    if input.ndim < 1:
        raise ShapeError("flipud: input must be >= 1-d")
    return input.flip(0)


def rot90(input, k: int = 1, dims=(0, 1)):  # noqa: A002
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards the
    second)."""
    dims = list(dims)
    if len(dims) != 2:
        raise ShapeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise ShapeError(f"rot90: expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = dims[0] % input.ndim, dims[1] % input.ndim
    if d0 == d1:
        raise ShapeError(f"rot90: expected rotation dims to be different, but got dim0 = {d0} "
                         f"and dim1 = {d1}")
    k = k % 4
    if k == 1:
        return input.flip(d1).transpose(d0, d1)
    if k == 2:
        return input.flip(d0, d1)
    if k == 3:
        return input.flip(d0).transpose(d0, d1)
    return input.clone()


def _tensors(args) -> list:
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return list(args[0])
    return list(args)


def _atleast(args, n: int):
    out = []
    for t in _tensors(args):
        if t.ndim == 0:
            t = t.reshape([1] * n)
        elif n >= 2 and t.ndim == 1:
            t = t.unsqueeze(0) if n == 2 else t.reshape(1, -1, 1)
        elif n == 3 and t.ndim == 2:
            t = t.unsqueeze(-1)
        out.append(t)
    if len(args) == 1 and isinstance(args[0], Tensor):
        return out[0]
    return tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dimension (a 0-d one becomes shape ``(1,)``)."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dimensions (1-d ``(n,)`` becomes ``(1, n)``)."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dimensions (``(n,)`` -> ``(1, n, 1)``, ``(m, n)`` ->
    ``(m, n, 1)``)."""
    return _atleast(tensors, 3)


def _cat(tensors, dim: int):
    return dispatch(REGISTRY["cat"], (list(tensors), dim), None)


def hstack(tensors):
    """Concatenate along dimension 1 (dimension 0 for 1-d tensors)."""
    ts = _atleast((list(tensors),), 1)
    return _cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    """Concatenate the tensors, made at least 2-d, along dimension 0."""
    return _cat(_atleast((list(tensors),), 2), 0)


row_stack = vstack


def dstack(tensors):
    """Concatenate the tensors, made at least 3-d, along dimension 2."""
    return _cat(_atleast((list(tensors),), 3), 2)


def column_stack(tensors):
    """Stack 0-d and 1-d tensors as columns, concatenate the others along dimension 1."""
    cols = [t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors]
    return _cat(cols, 1)


def broadcast_shapes(*shapes) -> Size:
    """The shape the given shapes broadcast to."""
    out: list = []
    for s in shapes:
        s = [s] if isinstance(s, int) else list(s)
        out = list(_broadcast_two(tuple(out), tuple(s)))
    return Size(out)


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape."""
    ts = _tensors(tensors)
    shape = broadcast_shapes(*(tuple(t.shape) for t in ts))
    return tuple(t.expand(list(shape)) for t in ts)


# --- products -------------------------------------------------------------------------------------
def inner(input, other):  # noqa: A002
    """Sum of products over the last dimension; a 0-d operand multiplies elementwise."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise ShapeError(f"inner() the last dimension must match on both input tensors but got "
                         f"shapes {list(input.shape)} and {list(other.shape)}")
    k = input.shape[-1]
    out = input.reshape(-1, k) @ other.reshape(-1, k).transpose(0, 1)
    return out.reshape(list(input.shape[:-1]) + list(other.shape[:-1]))


def mv(input, vec):  # noqa: A002
    """Matrix (2-d) times vector (1-d)."""
    if input.ndim != 2 or vec.ndim != 1:
        raise ShapeError(f"mv: expected a 2-D matrix and a 1-D vector, got {input.ndim}-D and "
                         f"{vec.ndim}-D")
    return input @ vec


def addmv(input, mat, vec, *, beta=1, alpha=1):  # noqa: A002
    """``beta * input + alpha * (mat @ vec)``."""
    return _scaled(input, beta) + alpha * mv(mat, vec)


def addr(input, vec1, vec2, *, beta=1, alpha=1):  # noqa: A002
    """``beta * input + alpha * outer(vec1, vec2)``."""
    if vec1.ndim != 1 or vec2.ndim != 1:
        raise ShapeError(f"addr: expected 1-D vectors, got {vec1.ndim}-D and {vec2.ndim}-D")
    return _scaled(input, beta) + alpha * (vec1.unsqueeze(1) * vec2.unsqueeze(0))


def _scaled(input, beta):
    # PyTorch ignores ``input`` (NaN included) when beta is 0
    return input.new_zeros(list(input.shape)) if beta == 0 else beta * input


def kron(input, other):  # noqa: A002
    """The Kronecker product: every element of ``input`` times all of ``other``."""
    nd = max(input.ndim, other.ndim)
    a = input.reshape([1] * (nd - input.ndim) + list(input.shape))
    b = other.reshape([1] * (nd - other.ndim) + list(other.shape))
    a_shape, b_shape = [], []
    for i in range(nd):
        a_shape += [a.shape[i], 1]
        b_shape += [1, b.shape[i]]
    out = a.reshape(a_shape) * b.reshape(b_shape)
    return out.reshape([a.shape[i] * b.shape[i] for i in range(nd)])


def dist(input, other, p=2):  # noqa: A002
    """The ``p``-norm of ``input - other``."""
    return (input - other).norm(p)


# --- reductions -----------------------------------------------------------------------------------
def _dims(dim):
    return None if dim is None else ([dim] if isinstance(dim, int) else list(dim))


def nansum(input, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A002
    """The sum with NaNs counted as 0."""
    x = input.masked_fill(input.isnan(), 0) if input.dtype.is_floating_point else input
    d = _dims(dim)
    out = x.sum(dtype=dtype) if d is None else x.sum(d, keepdim, dtype=dtype)
    return out


def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A002
    """The mean over the non-NaN elements (NaN where there are none)."""
    if not input.dtype.is_floating_point:
        raise TypeError(f"nanmean(): expected input to have floating point dtype but got "
                        f"{input.dtype}")
    keep = ~input.isnan()
    d = _dims(dim)
    count = keep.sum() if d is None else keep.sum(d, keepdim)
    return nansum(input, dim, keepdim, dtype=dtype) / count


def aminmax(input, *, dim=None, keepdim: bool = False):  # noqa: A002
    """``(amin, amax)`` as a named tuple ``(min, max)``."""
    if dim is None:
        lo, hi = input.amin(), input.amax()
        if keepdim:
            lo, hi = lo.reshape([1] * input.ndim), hi.reshape([1] * input.ndim)
        return return_types.aminmax(lo, hi)
    return return_types.aminmax(input.amin(dim, keepdim), input.amax(dim, keepdim))


def msort(input):  # noqa: A002
    """Sorted along dimension 0."""
    return input.sort(0).values


# --- repetition and windows -----------------------------------------------------------------------
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):  # noqa: A002
    """Repeat each element (or slice along ``dim``) ``repeats`` times: an int, or a tensor of
    one count per element. ``repeat_interleave(counts)`` alone repeats ``arange(len(counts))``.
    Without ``dim`` the input is flattened first."""
    if repeats is None:
        first = dispatch(REGISTRY["arange"], (0, input.shape[0]), {"dtype": input.dtype})
        return _repeat_counts(first, input, 0, output_size)
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else normalize_dim(dim, x.ndim, "repeat_interleave")
    if isinstance(repeats, int):
        return _repeat_int(x, repeats, d)
    if repeats.ndim == 0 or (repeats.ndim == 1 and repeats.shape[0] == 1):
        return _repeat_int(x, int(repeats.reshape(-1)[0].item()), d)
    return _repeat_counts(x, repeats, d, output_size)


def _repeat_int(x, repeats: int, d: int):
    if repeats < 0:
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    shape = list(x.shape)
    wide = x.unsqueeze(d + 1).expand(shape[:d + 1] + [repeats] + shape[d + 1:])
    return wide.reshape(shape[:d] + [shape[d] * repeats] + shape[d + 1:])


def _repeat_counts(x, repeats, d: int, output_size):
    if repeats.ndim != 1 or repeats.shape[0] != x.shape[d]:
        raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along "
                           f"dim {d} ({x.shape[d]}), got {list(repeats.shape)}")
    ends = repeats.cumsum(0)
    total = int(ends[-1].item()) if x.shape[d] > 0 else 0
    if output_size is not None and output_size != total:
        raise RuntimeError(f"repeat_interleave: output_size {output_size} does not match the "
                           f"sum of repeats {total}")
    positions = dispatch(REGISTRY["arange"], (0, total), {"dtype": ends.dtype})
    index = dispatch(REGISTRY["searchsorted"], (ends, positions), {"right": True})
    return x.index_select(d, index)


def unfold(input, dimension: int, size: int, step: int):  # noqa: A002
    """``Tensor.unfold``: every window of ``size`` elements along ``dimension``, ``step`` apart,
    as a new last dimension. The result is a copy (PyTorch's is a view)."""
    d = normalize_dim(dimension, builtins_max(input.ndim, 1), "unfold")
    shape = list(input.shape) if input.ndim else [1]
    x = input.reshape(shape)
    if size > shape[d]:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {shape[d]} but size is "
                           f"{size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    count = (shape[d] - size) // step + 1
    starts = dispatch(REGISTRY["arange"], (0, count * step, step), {"dtype": dtypes.int64})
    offsets = dispatch(REGISTRY["arange"], (0, size), {"dtype": dtypes.int64})
    index = (starts.unsqueeze(1) + offsets.unsqueeze(0)).reshape(-1)
    windows = x.index_select(d, index).reshape(shape[:d] + [count, size] + shape[d + 1:])
    out = windows.movedim(d + 1, -1)
    return out.reshape([size]) if input.ndim == 0 else out


# --- more elementwise, indexing and construction helpers ---------------------------------------
def _arange(start: int, end: int, step: int = 1):
    return dispatch(REGISTRY["arange"], (start, end, step), {"dtype": dtypes.int64})


def ldexp(input, other):  # noqa: A002
    """``input * 2 ** other`` (a float result)."""
    return _as_float(input) * (2.0 ** _as_float(other))


def sinc(input):  # noqa: A002
    """The normalized sinc: ``sin(pi x) / (pi x)``, 1 at 0."""
    x = _as_float(input) * math.pi
    safe = x.masked_fill(x == 0, 1.0)
    return (safe.sin() / safe).masked_fill(x == 0, 1.0)


def gcd(input, other):  # noqa: A002
    """Elementwise greatest common divisor of integer tensors (non-negative)."""
    if input.dtype.is_floating_point or other.dtype.is_floating_point:
        raise TypeError("gcd is only implemented for integer tensors")
    a, b = broadcast_tensors(input.abs(), other.abs())
    a, b = a.clone(), b.clone()
    while bool((b != 0).any()):
        nonzero = b != 0
        rest = (a % b.masked_fill(~nonzero, 1)).where(nonzero, b)
        a, b = b.where(nonzero, a), rest
    return a


def lcm(input, other):  # noqa: A002
    """Elementwise least common multiple of integer tensors (non-negative; 0 if either is 0)."""
    g = gcd(input, other)
    return (input // g.masked_fill(g == 0, 1) * other).abs().masked_fill(g == 0, 0)


def take(input, index):  # noqa: A002
    """Elements of the flattened input at ``index`` (the result has the index's shape)."""
    return input.reshape(-1).index_select(0, index.reshape(-1)).reshape(list(index.shape))


def tensor_split(input, indices_or_sections, dim: int = 0):  # noqa: A002
    """Split into ``n`` nearly equal parts (the first ``size % n`` one longer), or at the listed
    indices; every part is a view (``narrow``)."""
    d = normalize_dim(dim, input.ndim, "tensor_split")
    size = input.shape[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = (int(indices_or_sections.item()) if indices_or_sections.ndim == 0
                               else indices_or_sections.tolist())
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        bounds, start = [], 0
        for i in range(n):
            start += size // n + (1 if i < size % n else 0)
            bounds.append(start)
        bounds = bounds[:-1]
    else:
        bounds = list(indices_or_sections)
    parts, start = [], 0
    for b in bounds + [size]:
        lo = builtins_max(0, builtins_min(start, size))
        hi = builtins_max(lo, builtins_min(b, size))
        parts.append(input.narrow(d, lo, hi - lo))
        start = b
    return tuple(parts)


def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):  # noqa: A002
    """Tensors whose diagonals (in the plane of ``dim1``, ``dim2``) are the last dimension of
    ``input``; ``offset`` picks the diagonal."""
    length = input.shape[-1]
    n = length + abs(offset)
    batch = list(input.shape[:-1])
    rows = _arange(0, length) + builtins_max(-offset, 0)
    cols = _arange(0, length) + builtins_max(offset, 0)
    flat = (rows * n + cols).expand(batch + [length])
    out = input.new_zeros(batch + [n * n]).scatter(-1, flat, input).reshape(batch + [n, n])
    nd = input.ndim + 1
    d1, d2 = normalize_dim(dim1, nd, "diag_embed"), normalize_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return out.movedim([nd - 2, nd - 1], [d1, d2])


def diagflat(input, offset: int = 0):  # noqa: A002
    """A 2-D tensor with the flattened input on diagonal ``offset``."""
    return diag_embed(input.reshape(-1), offset)


def cartesian_prod(*tensors):
    """Every combination of one element from each 1-D tensor, as rows (1-D for one tensor)."""
    ts = _tensors(tensors)
    if len(ts) == 1:
        return ts[0]
    sizes = [t.shape[0] for t in ts]
    columns = []
    for i, t in enumerate(ts):
        shape = [1] * len(ts)
        shape[i] = -1
        columns.append(t.reshape(shape).expand(sizes).reshape(-1))
    return dispatch(REGISTRY["stack"], (columns, 1), None)


def block_diag(*tensors):
    """The tensors (0-, 1- or 2-D) as blocks on the diagonal of one 2-D tensor."""
    blocks = []
    for t in tensors:
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {len(blocks)} has {t.ndim} dimensions")
        blocks.append(t.reshape(1, -1) if t.ndim < 2 else t)
    dtype = blocks[0].dtype if blocks else dtypes.get_default_dtype()
    for b in blocks[1:]:
        dtype = dtypes.promote_types(dtype, b.dtype)
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b.shape
        rows.append(_cat([b.new_zeros([r, left], dtype=dtype), b.to(dtype),
                          b.new_zeros([r, width - left - c], dtype=dtype)], 1))
        left += c
    if not rows:
        return _tensor([], dtype=dtype).reshape(1, 0)
    return _cat(rows, 0)


def vander(x, N=None, increasing: bool = False):  # noqa: N803 - PyTorch's argument name
    """Columns are powers of the 1-D ``x``: ``x ** (N-1) ... x ** 0`` (or increasing)."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    powers = _arange(0, n) if increasing else _arange(n - 1, -1, -1)
    base = x if x.dtype.category >= dtypes.Category.FLOAT else x.to(dtypes.int64)
    return base.unsqueeze(-1) ** powers.to(base.dtype)


def trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """The trapezoid rule along ``dim``: with sample points ``x``, or spacing ``dx`` (1)."""
    d = normalize_dim(dim, y.ndim, "trapezoid")
    n = y.shape[d]
    if n == 0:
        return y.sum(d)
    mids = (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)) / 2
    if x is None:
        return mids.sum(d) * (1.0 if dx is None else dx)
    gaps = x.narrow(-1 if x.ndim == 1 else d, 1, n - 1) - x.narrow(-1 if x.ndim == 1 else d, 0,
                                                                    n - 1)
    if x.ndim == 1 and y.ndim > 1:
        gaps = gaps.reshape([n - 1] + [1] * (y.ndim - 1 - d))
    return (mids * gaps).sum(d)


trapz = trapezoid


def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """The running trapezoid rule along ``dim`` (one element shorter than ``y``)."""
    d = normalize_dim(dim, y.ndim, "cumulative_trapezoid")
    n = y.shape[d]
    mids = (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)) / 2
    if x is None:
        return (mids * (1.0 if dx is None else dx)).cumsum(d)
    gaps = x.narrow(-1 if x.ndim == 1 else d, 1, n - 1) - x.narrow(-1 if x.ndim == 1 else d, 0,
                                                                    n - 1)
    if x.ndim == 1 and y.ndim > 1:
        gaps = gaps.reshape([n - 1] + [1] * (y.ndim - 1 - d))
    return (mids * gaps).cumsum(d)


def is_nonzero(input) -> bool:  # noqa: A002
    """The truth of a one-element tensor."""
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous"
                           if input.numel() else "Boolean value of Tensor with no values is "
                           "ambiguous")
    return bool(input.reshape(-1)[0].item() != 0)


def is_same_size(input, other) -> bool:  # noqa: A002
    """True when both tensors have the same shape."""
    return tuple(input.shape) == tuple(other.shape)


def index_copy(input, dim: int, index, source):  # noqa: A002
    """A copy of ``input`` with the slices at ``index`` along ``dim`` replaced by ``source``'s."""
    d = normalize_dim(dim, builtins_max(input.ndim, 1), "index_copy")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, "
                           f"but got (self) {input.dtype} and (source) {source.dtype}")
    if input.ndim == 0:
        return source.reshape([]).clone()
    shape = [1] * input.ndim
    shape[d] = index.numel()
    wide = index.reshape(shape).expand(list(source.shape))
    return input.scatter(d, wide, source)


def select_scatter(input, src, dim: int, index: int):  # noqa: A002
    """A copy of ``input`` with ``input.select(dim, index)`` replaced by ``src``."""
    d = normalize_dim(dim, input.ndim, "select_scatter")
    i = index + input.shape[d] if index < 0 else index
    return index_copy(input, d, _arange(i, i + 1), src.unsqueeze(d))


def slice_scatter(input, src, dim: int = 0, start=None, end=None, step: int = 1):  # noqa: A002
    """A copy of ``input`` with ``input[start:end:step]`` along ``dim`` replaced by ``src``."""
    d = normalize_dim(dim, input.ndim, "slice_scatter")
    lo, hi, st = slice(start, end, step).indices(input.shape[d])
    return index_copy(input, d, _arange(lo, hi, st), src)


# --- NaN-aware extrema, membership, logspace, covariance ------------------------------------------
def copysign(input, other):  # noqa: A002
    """``|input|`` with the sign of ``other`` (``-0.0`` counts as negative); a float result."""
    if not isinstance(other, Tensor):
        other = _tensor(float(other))
    magnitude = _as_float(input).abs()
    return magnitude.where(~signbit(_as_float(other)), -magnitude)


def fmax(input, other):  # noqa: A002
    """Elementwise maximum that ignores a NaN (NaN only where both are NaN)."""
    both = dispatch(REGISTRY["maximum"], (input, other), None)
    return both.where(~input.isnan(), other).where(~other.isnan(), input)


def fmin(input, other):  # noqa: A002
    """Elementwise minimum that ignores a NaN (NaN only where both are NaN)."""
    both = dispatch(REGISTRY["minimum"], (input, other), None)
    return both.where(~input.isnan(), other).where(~other.isnan(), input)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False):
    """True where an element of ``elements`` is in ``test_elements`` (a tensor or a number)."""
    if not isinstance(test_elements, Tensor):
        test_elements = _tensor(test_elements)
    if not isinstance(elements, Tensor):
        elements = _tensor(elements)
    hit = (elements.unsqueeze(-1) == test_elements.reshape(-1)).any(-1)
    return ~hit if invert else hit


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False):
    """``steps`` values ``base ** x`` for ``x`` evenly spaced from ``start`` to ``end``."""
    exps = dispatch(REGISTRY["linspace"], (start, end, steps), {"dtype": dtypes.float64})
    out = (base ** exps).to(dtype or dtypes.get_default_dtype())
    if device is not None:
        out = out.to(device)
    return out.requires_grad_(True) if requires_grad else out


def cov(input, *, correction: int = 1, fweights=None, aweights=None):  # noqa: A002
    """The covariance of the variables in the rows of ``input`` (observations in columns), with
    optional integer frequency weights and float observation weights (as PyTorch and numpy)."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    x = _as_float(input).reshape(1, -1) if input.ndim < 2 else _as_float(input)
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = fweights.to(x.dtype)
    if aweights is not None:
        w = aweights.to(x.dtype) if w is None else w * aweights.to(x.dtype)
    if w is None:
        w_sum = float(n)
        mean = x.mean(1, True)
        fact = w_sum - correction
        xm = x - mean
        out = (xm @ xm.transpose(0, 1)) / builtins_max(fact, 0)
    else:
        w_sum_t = w.sum()
        mean = (x * w).sum(1, True) / w_sum_t
        if aweights is None:
            fact = w_sum_t - correction
        else:
            fact = w_sum_t - correction * (w * aweights.to(x.dtype)).sum() / w_sum_t
        xm = x - mean
        out = ((xm * w) @ xm.transpose(0, 1)) / fact.clamp(0.0, None)
    return out.reshape([]) if input.ndim < 2 else out


def corrcoef(input):  # noqa: A002
    """Pearson correlation coefficients of the variables in the rows of ``input``."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal().sqrt()
    return (c / d.unsqueeze(1) / d.unsqueeze(0)).clamp(-1.0, 1.0)
