"""``nn.Parameter``: a leaf tensor that a Module registers as a learnable parameter."""

from __future__ import annotations

from graphtorch.autograd.grad_mode import no_grad
from graphtorch.ops.creation import tensor
from graphtorch.tensor import Tensor


class Parameter(Tensor):
    """A Tensor that, assigned as a Module attribute, joins ``module.parameters()``.

    ``Parameter(t)`` shares ``t``'s memory (like PyTorch) and requires grad by default. Results of
    operations on a Parameter are plain Tensors.

    >>> import graphtorch as gt
    >>> p = gt.nn.Parameter(gt.zeros(2))
    >>> isinstance(p, gt.Tensor), p.requires_grad
    (True, True)
    """

    __slots__ = ()

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            data = tensor([], dtype=None)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): expected a Tensor as data, got {type(data).__name__}")
        _init_leaf(self, data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        copy = Parameter(_copy_of(self), self.requires_grad)
        memo[id(self)] = copy
        return copy


class Buffer(Tensor):
    """Marks a tensor as a buffer when assigned to a Module attribute (``nn.Buffer``).

    ``Buffer(t, persistent=False)`` keeps the buffer out of the state_dict. The Module stores
    the plain tensor; ``Buffer`` itself is only a marker, like in PyTorch.
    """

    __slots__ = ("persistent",)

    def __init__(self, data: Tensor, *, persistent: bool = True):
        if not isinstance(data, Tensor):
            raise TypeError(f"Buffer(): expected a Tensor as data, got {type(data).__name__}")
        _init_leaf(self, data)
        self._rg = data.requires_grad
        self.persistent = persistent

    def as_tensor(self) -> Tensor:
        t = self.detach()
        t._base = None
        t._rg = self._rg
        return t


def _init_leaf(t: Tensor, data: Tensor) -> None:
    t._data = data._data
    t._device = data._device
    t._rg = False
    t.grad = None
    t.grad_fn = None
    t._output_nr = 0
    t._vc = data._vc  # NOTE: shares memory with ``data``, so it shares its version counter too
    t._base = None
    t._accum = None
    t._retains = False
    t._name = None
    t._leaf_hooks = None
    t._view_fn = None
    t._unsaved = None


def _copy_of(t: Tensor) -> Tensor:
    with no_grad():
        return t.detach().clone()
