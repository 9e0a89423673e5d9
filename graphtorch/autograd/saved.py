"""What a backward node keeps of an input its vjp does not read: shape, dtype, device.

A recorded op keeps alive (and version-checks) only the tensors its registry entry declares in
``saves`` for the gradients actually required; every other tensor argument is replaced by an
:class:`UnsavedInput`. A vjp may read its metadata, but reading its values is a bug in the
declaration, and fails loudly instead of silently keeping memory alive.
"""

from __future__ import annotations

from graphtorch.errors import AutogradError


class UnsavedInput:
    """Stand-in for a tensor argument that the backward node did not keep."""

    __slots__ = ("_shape", "_np_dtype", "device", "requires_grad", "_where")

    def __init__(self, t, where: str = ""):
        self._shape = t._data.shape
        self._np_dtype = t._data.dtype
        self.device = t._device
        self.requires_grad = t._rg
        self._where = where

    @property
    def shape(self):
        from graphtorch.tensor import Size

        return Size(self._shape)

    @property
    def dtype(self):
        from graphtorch.dtypes import _BY_NP

        return _BY_NP[self._np_dtype]

    @property
    def ndim(self) -> int:
        return len(self._shape)

    def dim(self) -> int:
        return len(self._shape)

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self._shape[dim]

    def numel(self) -> int:
        n = 1
        for d in self._shape:
            n *= d
        return n

    def is_floating_point(self) -> bool:
        return self._np_dtype.kind == "f"

    def __getattr__(self, name: str):
        raise AutogradError(
            f"{self._where or 'a vjp'} reads {name!r} of an input its backward node did not "
            "save: declare the input in the op's saves= (registry) for the gradients that "
            "read it")

    def __repr__(self) -> str:
        return f"UnsavedInput(shape={list(self._shape)}, dtype={self.dtype})"


def unsaved(t, where: str = ""):
    """``t`` replaced by its metadata (lists of tensors element by element)."""
    if type(t) is UnsavedInput:
        return t
    if isinstance(t, (list, tuple)):
        return [unsaved(x, where) for x in t]
    if hasattr(t, "_vc"):
        return UnsavedInput(t, where)
    return t
