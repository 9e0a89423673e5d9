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
