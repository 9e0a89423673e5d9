"""Public functions whose Python signature differs from one registry op (overloads, varargs).

Each forwards to registry ops; nothing here computes on arrays.
"""

from __future__ import annotations

import builtins

from graphtorch.ops import return_types
from graphtorch.ops.dispatch import dispatch
from graphtorch.ops.registry import REGISTRY as _R

__all__ = ["zeros", "ones", "empty", "rand", "randn", "full", "arange"]


def _size_args(size):
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        return list(size[0])
    return list(size)


def _factory(name):
    op = _R[name]

    def fn(*size, **kwargs):
        if "size" in kwargs:
            return dispatch(op, (), kwargs)
        return dispatch(op, (_size_args(size),), kwargs)

    fn.__name__ = name
    fn.__doc__ = f"schema: ``{op.schema}``"
    return fn


zeros = _factory("zeros")
ones = _factory("ones")
empty = _factory("empty")
rand = _factory("rand")
randn = _factory("randn")


def full(size, fill_value, **kwargs):
    return dispatch(_R["full"], (list(size), fill_value), kwargs)


def arange(start, end=None, step=1, **kwargs):
    return dispatch(_R["arange"], (start, end, step), kwargs)


# --- reductions with overloads --------------------------------------------------------------------
def _extreme(name: str):
    op_full, op_dim, op_pair = _R[name], _R[name + "_dim"], _R[name + "imum"]

    def fn(input, dim=None, keepdim=False):
        from graphtorch.tensor import Tensor

        if isinstance(dim, Tensor):
            return dispatch(op_pair, (input, dim), None)
        if dim is None:
            if keepdim:
                raise TypeError(f"{name}() received an invalid combination of arguments: "
                                "keepdim=True needs a dim")
            return dispatch(op_full, (input,), None)
        return getattr(return_types, name)(*dispatch(op_dim, (input, dim, keepdim), None))

    fn.__name__ = name
    fn.__doc__ = (f"``{name}(input)`` reduces everything; ``{name}(input, dim, keepdim=False)`` "
                  f"returns ``graphtorch.return_types.{name}(values, indices)``; "
                  f"``{name}(input, other)`` is ``{name}imum``.")
    return fn


max = _extreme("max")  # noqa: A001 - PyTorch's name
min = _extreme("min")  # noqa: A001 - PyTorch's name


def _variance(name: str):
    op = _R[name]

    def fn(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        if unbiased is not None:
            if correction is not None:
                raise TypeError(f"{name}(): pass either unbiased or correction, not both")
            correction = 1 if unbiased else 0
        if isinstance(dim, int):
            dim = [dim]
        return dispatch(op, (input, dim), {"correction": correction, "keepdim": keepdim})

    fn.__name__ = name
    fn.__doc__ = f"``{name}(input, dim=None, unbiased=True, keepdim=False, *, correction=1)``"
    return fn


var = _variance("var")
std = _variance("std")


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector norms (``p`` a number, ``inf``/``-inf``, or ``'fro'``) over ``dim`` (all if None)."""
    if p is None or p == "fro":
        p = 2
    elif isinstance(p, str):
        from graphtorch.errors import UnsupportedError

        raise UnsupportedError(f"norm(): p={p!r} is not supported by graphtorch; use a number, "
                               "inf, -inf or 'fro'")
    if isinstance(dim, int):
        dim = [dim]
    return dispatch(_R["norm"], (input, p, dim, keepdim), {"dtype": dtype})


# --- shape functions ------------------------------------------------------------------------------
def split(tensor, split_size_or_sections, dim=0):
    """Split into pieces of ``split_size`` (an int) or of the listed sizes, along ``dim``."""
    if isinstance(split_size_or_sections, (list, tuple)):
        return tuple(dispatch(_R["split_with_sizes"], (tensor, list(split_size_or_sections),
                                                      dim), None))
    return tuple(dispatch(_R["split"], (tensor, split_size_or_sections, dim), None))


def chunk(input, chunks, dim=0):
    return tuple(dispatch(_R["chunk"], (input, chunks, dim), None))


def unbind(input, dim=0):
    return tuple(dispatch(_R["unbind"], (input, dim), None))


def concat(tensors, dim=0):
    return dispatch(_R["cat"], (tensors, dim), None)


concatenate = concat


def movedim(input, source, destination):
    if isinstance(source, int):
        source = [source]
    if isinstance(destination, int):
        destination = [destination]
    return dispatch(_R["movedim"], (input, list(source), list(destination)), None)


moveaxis = movedim


def nonzero(input, *, as_tuple=False):
    """Indices of the non-zero elements: an ``(n, ndim)`` tensor, or one tensor per dim."""
    out = dispatch(_R["nonzero"], (input,), None)
    if not as_tuple:
        return out
    if input.ndim == 0:
        return (out.reshape([-1]),)
    return tuple(dispatch(_R["unbind"], (out, 1), None))


def where(condition, input=None, other=None):
    """``where(condition, input, other)`` selects elementwise; ``where(condition)`` is
    ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    return dispatch(_R["where"], (condition, input, other), None)


def sort(input, dim=-1, descending=False, *, stable=False):
    """``graphtorch.return_types.sort(values, indices)``; ties keep their order (always stable)."""
    return return_types.sort(*dispatch(_R["sort"], (input, dim, descending),
                                       {"stable": stable}))


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's argument name
    """The ``k`` largest (or smallest) values along ``dim`` with their indices."""
    return return_types.topk(*dispatch(_R["topk"], (input, k, dim, largest, sorted), None))


__all__ += ["sort", "topk"]
__all__ += ["return_types", "max", "min", "var", "std", "norm", "split", "chunk", "unbind",
            "concat", "concatenate", "movedim", "moveaxis", "nonzero", "where"]


# --- random *_like --------------------------------------------------------------------------------
def _random_like(name: str):
    op = _R[name]

    def fn(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
        opts = {"dtype": dtype if dtype is not None else input.dtype,
                "device": device if device is not None else input.device,
                "requires_grad": requires_grad}
        return dispatch(op, (list(input.shape),), opts)

    fn.__name__ = name + "_like"
    fn.__doc__ = (f"``{name}`` with the shape, dtype and device of ``input`` (each dtype/device "
                  "may be overridden).")
    return fn


rand_like = _random_like("rand")
randn_like = _random_like("randn")


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False,
                 memory_format=None):
    """Integers in ``[low, high)`` (``randint_like(input, high)`` means ``low=0``), shaped and
    typed like ``input``."""
    if high is None:
        low, high = 0, low
    opts = {"dtype": dtype if dtype is not None else input.dtype,
            "device": device if device is not None else input.device,
            "requires_grad": requires_grad}
    return dispatch(_R["randint"], (low, high, list(input.shape)), opts)


__all__ += ["rand_like", "randn_like", "randint_like"]


# --- out= -----------------------------------------------------------------------------------------
def write_out(name: str, result, out, inputs):
    """Write ``result`` into ``out`` as PyTorch's ``out=`` does: resize when the shape differs,
    cast to ``out``'s dtype when allowed, never record gradients. Returns ``out``."""
    import builtins
    import warnings

    from graphtorch import dtypes
    from graphtorch.autograd.grad_mode import STATE, no_grad
    from graphtorch.errors import AutogradError, DTypeError
    from graphtorch.tensor import Tensor

    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if STATE.enabled and (out.requires_grad or builtins.any(
            isinstance(t, Tensor) and t.requires_grad for t in inputs)):
        raise AutogradError(f"{name}(): functions with out=... arguments don't support automatic "
                            "differentiation, but one of the arguments requires grad.")
    if not dtypes.can_cast(result.dtype, out.dtype):
        raise DTypeError(f"result type {_torch_type_name(result.dtype)} can't be cast to the "
                         f"desired output type {_torch_type_name(out.dtype)}")
    if out.device != result.device:
        raise RuntimeError(f"Expected out tensor to have device {result.device}, but got "
                           f"{out.device} instead")
    with no_grad():
        if tuple(out.shape) != tuple(result.shape):
            if out.numel() != 0:
                warnings.warn(
                    f"An output with one or more elements was resized since it had shape "
                    f"{list(out.shape)}, which does not match the required output shape "
                    f"{list(result.shape)}. This behavior is deprecated, and in a future PyTorch "
                    "release outputs will not be resized unless they have zero elements. You can "
                    "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                    "with t.resize_(0).", UserWarning, stacklevel=3)
            out.data = result.to(out.dtype).clone()
        else:
            out.copy_(result)
    return out


_TORCH_TYPE_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int8": "Char",
                     "int16": "Short", "int32": "Int", "int64": "Long", "uint8": "Byte",
                     "bool": "Bool"}


def _torch_type_name(dt) -> str:
    return _TORCH_TYPE_NAMES.get(dt.name, dt.name)


def _with_out(op):
    def fn(*args, out=None, **kwargs):
        result = dispatch(op, args, kwargs)
        if out is None:
            return result
        return write_out(op.name, result, out, args + tuple(kwargs.values()))

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = f"{op.doc}\n\nschema: ``{op.schema}`` (also takes ``out=``)".strip()
    fn.op = op
    return fn


def _out_functions() -> dict:
    # NOTE: ops computing from tensors and returning one tensor; factories and views keep their
    # own bindings (a view written through out= would lose its aliasing)
    from graphtorch.ops.registry import OpKind

    made = {}
    for name, op in _R.items():
        args = op.schema.args
        if (name.startswith("_") or name in globals() or op.schema.returns != ("Tensor",)
                or op.kind in (OpKind.VIEW, OpKind.FACTORY, OpKind.RANDOM) or not args
                or not args[0].type.startswith("Tensor")):
            continue
        made[name] = _with_out(op)
    return made


# NOTE: several of these shadow builtins (any, all, sum, abs, round, pow) in this module, as
# max/min above do: code below this line must use builtins.<name>
_OUT = _out_functions()
globals().update(_OUT)
__all__ += sorted(_OUT)


# --- comparisons of whole tensors -----------------------------------------------------------------
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


# --- einsum ---------------------------------------------------------------------------------------
def einsum(equation: str, *operands):
    """Einstein summation, decomposed into permute / diagonal / sum / batched matmul (so it
    differentiates and traces through those ops). Operands contract left to right."""
    import math

    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    terms, output = _einsum_parse(equation.replace(" ", ""), operands)
    terms, operands = list(terms), list(operands)
    for i, (t, x) in enumerate(zip(terms, operands)):
        terms[i], operands[i] = _einsum_diagonals(t, x)
    sizes: dict = {}
    for i, (t, x) in enumerate(zip(terms, operands)):
        for c, n in zip(t, x.shape):
            if sizes.get(c, 1) != 1 and n != 1 and sizes[c] != n:
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {i} which "
                                   f"does not broadcast with previously seen size {sizes[c]}")
            sizes[c] = n if sizes.get(c, 1) == 1 else sizes[c]
    cur, ct = operands[0], terms[0]
    for i in range(1, len(operands)):
        keep = set(output).union(*terms[i + 1:])
        cur, ct = _einsum_sum_out(cur, ct, keep | set(terms[i]))
        x, xt = _einsum_sum_out(operands[i], terms[i], keep | set(ct))
        cur, ct = _einsum_pair(cur, ct, x, xt, keep, sizes, math.prod)
    cur, ct = _einsum_sum_out(cur, ct, set(output))
    if not ct:
        return cur
    return cur.permute([ct.index(c) for c in output])


def _einsum_parse(eq: str, operands) -> tuple[list, str]:
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    used = set(eq) - {".", ",", "-", ">"}
    spare = [chr(0x3B1 + i) for i in range(64) if chr(0x3B1 + i) not in used]
    n_ell = 0
    for i, (t, x) in enumerate(zip(terms, operands)):
        named = len(t.replace("...", ""))
        if "..." in t:
            n_ell = builtins.max(n_ell, x.ndim - named)
        elif named != x.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) does "
                               f"not match the number of dimensions ({x.ndim}) for operand {i} "
                               "and no ellipsis was given")
    ell = "".join(spare[:n_ell])
    terms = [t.replace("...", ell[n_ell - (x.ndim - len(t.replace("...", ""))):])
             for t, x in zip(terms, operands)]
    if arrow:
        output = rhs.replace("...", ell)
        for c in output:
            if not builtins.any(c in t for t in terms):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   "equation for any input operand")
    else:
        counts = "".join(terms)
        output = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1
                                      and c not in ell))
    return terms, output


def _einsum_diagonals(term: str, x):
    # NOTE: a repeated subscript in one operand ('ii->i') reads the diagonal, appended last
    while len(set(term)) != len(term):
        c = next(c for c in term if term.count(c) > 1)
        i = term.index(c)
        j = term.index(c, i + 1)
        x = x.diagonal(0, i, j)
        term = term[:i] + term[i + 1:j] + term[j + 1:] + c
    return term, x


def _einsum_sum_out(x, term: str, keep: set):
    dims = [i for i, c in enumerate(term) if c not in keep]
    if not dims:
        return x, term
    return x.sum(dims), "".join(c for c in term if c in keep)


def _einsum_pair(a, ta: str, b, tb: str, keep: set, sizes: dict, prod):
    batch = [c for c in ta if c in tb and c in keep]
    summed = [c for c in ta if c in tb and c not in keep]
    a_only = [c for c in ta if c not in tb]
    b_only = [c for c in tb if c not in ta]
    a = a.permute([ta.index(c) for c in batch + a_only + summed])
    a = a.expand([sizes[c] for c in batch + a_only + summed])
    b = b.permute([tb.index(c) for c in batch + summed + b_only])
    b = b.expand([sizes[c] for c in batch + summed + b_only])
    nb, m, k, n = (prod(sizes[c] for c in cs) for cs in (batch, a_only, summed, b_only))
    out = a.reshape([nb, m, k]) @ b.reshape([nb, k, n])
    return out.reshape([sizes[c] for c in batch + a_only + b_only]), "".join(
        batch + a_only + b_only)


__all__ += ["einsum"]


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
    return nonzero(input)


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


# --- constants and process settings ---------------------------------------------------------------
inf, nan, pi, e = float("inf"), float("nan"), 3.141592653589793, 2.718281828459045
_NUM_THREADS: list = []


def set_num_threads(n: int) -> None:
    """Record the intra-op thread count. NOTE: numpy's BLAS reads its thread count at start-up
    (OMP_NUM_THREADS); graphtorch does not change it at run time (docs/differences.md)."""
    if not isinstance(n, int) or n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _NUM_THREADS[:] = [n]


def get_num_threads() -> int:
    """The value given to :func:`set_num_threads`, else the number of CPUs."""
    import os

    return _NUM_THREADS[0] if _NUM_THREADS else (os.cpu_count() or 1)


class finfo:  # noqa: N801 - PyTorch's name
    """Machine limits of a floating dtype, as Python numbers (``eps``, ``max``, ``min``,
    ``tiny`` = ``smallest_normal``, ``resolution``, ``bits``, ``dtype``)."""

    def __init__(self, type=None):  # noqa: A002 - PyTorch's argument name
        import numpy as np

        from graphtorch import dtypes

        dt = dtypes.get_default_dtype() if type is None else type
        if not dt.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo "
                            "to handle 'torch.finfo'")
        info = np.finfo(dt.np)
        self.bits, self.dtype = int(info.bits), dt.name
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = float(info.resolution)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:  # noqa: N801 - PyTorch's name
    """Machine limits of an integer dtype (``min``, ``max``, ``bits``, ``dtype``)."""

    def __init__(self, type):  # noqa: A002 - PyTorch's argument name
        import numpy as np

        if type.is_floating_point:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        info = np.iinfo(type.np) if type.name != "bool" else np.iinfo(np.uint8)
        self.bits, self.min, self.max, self.dtype = int(info.bits), int(info.min), int(
            info.max), type.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


__all__ += ["inf", "nan", "pi", "e", "set_num_threads", "get_num_threads", "finfo", "iinfo"]


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
    from graphtorch.ops.meta import normalize_dim

    d = normalize_dim(dim, input.ndim, "index_fill")
    mask = dispatch(_R["zeros"], ([input.shape[d]],), {"dtype": _bool(), "device": input.device})
    mask[index.reshape([-1])] = True
    shape = [1] * input.ndim
    if input.ndim:
        shape[d] = -1
    return input.masked_fill(mask.reshape(shape), value)


def _bool():
    from graphtorch import dtypes

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
    from graphtorch.ops.meta import normalize_dim

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
    from graphtorch import dtypes

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


def tensordot(a, b, dims=2):
    """Contract the last ``dims`` dims of ``a`` with the first of ``b`` (or listed dims)."""
    import math

    if isinstance(dims, int):
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    da, db = [d % a.ndim for d in da], [d % b.ndim for d in db]
    free_a = [d for d in range(a.ndim) if d not in da]
    free_b = [d for d in range(b.ndim) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    left = a.permute(free_a + da).reshape([math.prod(a.shape[d] for d in free_a), k])
    right = b.permute(db + free_b).reshape([k, math.prod(b.shape[d] for d in free_b)])
    return (left @ right).reshape([a.shape[d] for d in free_a] + [b.shape[d] for d in free_b])


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
