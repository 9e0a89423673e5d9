"""Public functions whose Python signature differs from one registry op (overloads, varargs).

Each forwards to registry ops; nothing here computes on arrays.
"""

from __future__ import annotations

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
