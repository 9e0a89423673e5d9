"""Numpy arrays as the "tensors" Triton's interpreter expects (TRITON_INTERPRET on the CPU).

The interpreter was written for torch: for each pointer argument it copies the argument's storage
to the host (``untyped_storage().cpu()``), rebuilds a view on it (``new_empty`` + ``set_``), runs
the kernel on raw addresses and copies the storages back (``copy_``). A numpy array already lives
on the host, so every one of those steps is the identity on the same memory: the adapter answers
with itself and the kernel reads and writes the array in place.
"""

from __future__ import annotations

import numpy as np


class _HostStorage:
    __slots__ = ("array",)

    def __init__(self, array: np.ndarray):
        self.array = array

    def data_ptr(self) -> int:
        return self.array.ctypes.data

    def cpu(self) -> _HostStorage:
        return self

    def copy_(self, other) -> None:
        pass   # the interpreter worked on this very memory


class NumpyArg:
    """A numpy array passed as a pointer argument to an interpreted Triton kernel."""

    __slots__ = ("array", "dtype")

    def __init__(self, array: np.ndarray):
        self.array = array
        self.dtype = array.dtype   # Triton maps numpy dtype names to pointer types (*fp32 ...)

    def data_ptr(self) -> int:
        return self.array.ctypes.data

    def untyped_storage(self) -> _HostStorage:
        return _HostStorage(self.array)

    def storage_offset(self) -> int:
        return 0

    def size(self) -> tuple[int, ...]:
        return self.array.shape

    def stride(self) -> tuple[int, ...]:
        return tuple(s // self.array.itemsize for s in self.array.strides)

    def new_empty(self, *args, **kwargs) -> NumpyArg:
        return NumpyArg(self.array)

    def set_(self, storage, offset, size, stride) -> NumpyArg:
        return self   # same memory: data_ptr() already points at the view's first element

    def copy_(self, other) -> None:
        pass
