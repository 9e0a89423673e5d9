"""What a backward node keeps of an input its vjp does not read: shape, dtype, device.

A recorded op keeps alive (and version-checks) only the tensors its registry entry declares in
``saves`` for the gradients actually required; every other tensor argument is replaced by an
:class:`UnsavedInput`. A vjp may read its metadata, but reading its values is a bug in the
declaration, and fails loudly instead of silently keeping memory alive.
"""

from __future__ import annotations

from graphtorch.dtypes import _BY_NP
from graphtorch.errors import AutogradError


class UnsavedInput:
    """Stand-in for a tensor argument that the backward node did not keep."""

    __slots__ = ("_meta",)

    def __init__(self, t):
        d = t._data
        self._meta = (d.shape, d.dtype, t._device)

    @property
    def shape(self):
        # NOTE: graphtorch.tensor imports graphtorch.autograd: a module-level import cycles
        from graphtorch.tensor import Size

        return Size(self._meta[0])

    @property
    def dtype(self):
        return _BY_NP[self._meta[1]]

    @property
    def device(self):
        return self._meta[2]

    @property
    def ndim(self) -> int:
        return len(self._meta[0])

    def dim(self) -> int:
        return len(self._meta[0])

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self._meta[0][dim]

    def numel(self) -> int:
        n = 1
        for d in self._meta[0]:
            n *= d
        return n

    def is_floating_point(self) -> bool:
        return self._meta[1].kind == "f"

    def __getattr__(self, name: str):
        raise AutogradError(
            f"a vjp reads {name!r} of an input its backward node did not save: declare the "
            "input in the op's saves= (registry) for the gradients that read it")

    def __repr__(self) -> str:
        return f"UnsavedInput(shape={list(self._meta[0])}, dtype={self.dtype})"


def unsaved(t):
    """``t`` replaced by its metadata (lists of tensors element by element).

    NOTE: a tensor makes its stand-in once and every node it feeds shares it (a weight feeds
    one node per step); shape, dtype and device of a tensor never change (``.data =`` resets it).
    """
    if type(t) is UnsavedInput:
        return t
    if isinstance(t, (list, tuple)):
        return [unsaved(x) for x in t]
    if hasattr(t, "_vc"):
        u = t._unsaved
        if u is None:
            u = t._unsaved = UnsavedInput(t)
        return u
    return t
