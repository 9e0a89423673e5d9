"""``graphtorch.autograd.Variable``: the legacy wrapper, kept as PyTorch keeps it.

Since PyTorch 0.4 every tensor is a "Variable": ``Variable(t, requires_grad=True)`` returns a
plain :class:`~graphtorch.Tensor` sharing ``t``'s data, detached from ``t``'s history, and
``isinstance(t, Variable)`` is true for every tensor.
"""

from __future__ import annotations

import warnings

from graphtorch.errors import ArgumentError
from graphtorch.tensor import Tensor


class _VariableMeta(type):
    def __instancecheck__(cls, other) -> bool:
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(data, requires_grad=False, volatile=False)`` -> a ``Tensor``.

    >>> import graphtorch
    >>> from graphtorch.autograd import Variable
    >>> v = Variable(graphtorch.ones(2), requires_grad=True)
    >>> type(v).__name__, v.requires_grad, isinstance(v, Variable)
    ('Tensor', True, True)
    """

    def __new__(cls, data: Tensor, requires_grad: bool = False,  # type: ignore[misc]
                volatile: bool = False) -> Tensor:
        if not isinstance(data, Tensor):
            raise ArgumentError(f"Variable data has to be a tensor, but got "
                                f"{type(data).__name__}")
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with "
                          "graphtorch.no_grad():` instead.", UserWarning, stacklevel=2)
        out = data.detach()
        if requires_grad:
            out.requires_grad_(True)
        return out
