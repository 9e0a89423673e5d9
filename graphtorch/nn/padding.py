"""Padding layers (``ZeroPad``, ``ConstantPad``, ``ReflectionPad``, ``ReplicationPad``,
``CircularPad``; 1d, 2d, 3d): each is ``F.pad`` with a fixed mode and padding."""

from __future__ import annotations

from graphtorch.nn import functional as F
from graphtorch.nn.module import Module
from graphtorch.tensor import Tensor


def _pairs(padding, nd: int) -> tuple[int, ...]:
    if isinstance(padding, int):
        return (padding,) * (2 * nd)
    padding = tuple(padding)
    if len(padding) != 2 * nd:
        raise ValueError(f"expected padding to be an int or a sequence of {2 * nd} ints, got "
                         f"{len(padding)} values")
    return padding


class _PadNd(Module):
    nd = 1
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _pairs(padding, self.nd)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    nd = 1


class ConstantPad2d(_ConstantPadNd):
    nd = 2


class ConstantPad3d(_ConstantPadNd):
    nd = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    nd = 1


class ZeroPad2d(_ZeroPadNd):
    nd = 2


class ZeroPad3d(_ZeroPadNd):
    nd = 3


class ReflectionPad1d(_PadNd):
    nd, mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    nd, mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    nd, mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    nd, mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    nd, mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    nd, mode = 3, "replicate"


class CircularPad1d(_PadNd):
    nd, mode = 1, "circular"


class CircularPad2d(_PadNd):
    nd, mode = 2, "circular"


class CircularPad3d(_PadNd):
    nd, mode = 3, "circular"
