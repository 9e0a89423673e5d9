"""Public functions whose Python signature differs from one registry op (overloads, varargs).

Each forwards to registry ops; nothing here computes on arrays.
"""

from __future__ import annotations

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
