"""Tensor <-> engine buffers: contiguous tensors are handed over as they are (no copy);
non-contiguous views and tensors on the wrong device for the engine go through a contiguous
staging buffer whose result is written back into the view."""

from __future__ import annotations

import numpy as np

from graphtorch.device import _cupy
from graphtorch.errors import DistributedError
from graphtorch.tensor import Tensor


class Staged:
    """``buf``: what the engine reads/writes; ``finish()`` copies results back when staged."""

    __slots__ = ("tensor", "buf", "staged", "writes")

    def __init__(self, tensor: Tensor, buf, staged: bool, writes: bool):
        self.tensor = tensor
        self.buf = buf
        self.staged = staged
        self.writes = writes

    def finish(self) -> None:
        if not self.writes:
            return
        t = self.tensor
        if self.staged:
            data = t._data
            if isinstance(data, np.ndarray):
                np.copyto(data, np.asarray(self.buf), casting="no")
            else:  # a CUDA tensor staged through host memory (or a strided CUDA view)
                data[...] = _cupy().asarray(self.buf)
        t._vc[0] += 1  # collectives write in place: saved-tensor checks must see it


def check_tensor(t, what: str, arg: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: {arg} must be a Tensor, got {type(t).__name__}")


def stage(t: Tensor, engine, what: str, arg: str, writes: bool) -> Staged:
    """The engine's view of ``t``: zero-copy when contiguous and on the engine's device."""
    check_tensor(t, what, arg)
    data = t._data
    on_host = isinstance(data, np.ndarray)
    if engine.stages_through_host:
        if on_host:
            if data.flags.c_contiguous:
                return Staged(t, data, False, writes)
            return Staged(t, np.ascontiguousarray(data), True, writes)
        return Staged(t, data.get(), True, writes)  # CuPy -> host copy for MPI
    if on_host:
        raise DistributedError(f"{what}: {arg} is a CPU tensor but the process group's backend "
                               f"is {engine.name!r}, which needs CUDA tensors; use "
                               "backend='gloo' for CPU tensors or move the tensor with .cuda()")
    if data.flags.c_contiguous:
        return Staged(t, data, False, writes)
    return Staged(t, data.copy(order="C"), True, writes)


def empty_like_buf(buf, shape: tuple):
    """An uninitialized contiguous array of ``buf``'s module and dtype."""
    if isinstance(buf, np.ndarray):
        return np.empty(shape, buf.dtype)
    return _cupy().empty(shape, buf.dtype)
