"""``graphtorch.layout`` and ``graphtorch.memory_format``: PyTorch's layout and memory-format tags.

graphtorch tensors are always dense and strided, so ``Tensor.layout`` is ``graphtorch.strided``;
the memory formats are accepted wherever PyTorch takes one (``.contiguous()``, ``.to()``) and
leave the row-major data as it is.
"""

from __future__ import annotations

from graphtorch.tensor import Tensor


class layout:  # noqa: N801 - PyTorch's name
    """A tensor layout tag (only ``strided`` exists here)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"graphtorch.{self._name}"

    def __reduce__(self) -> str:
        return self._name


class memory_format:  # noqa: N801 - PyTorch's name
    """A memory-format tag accepted by ``.contiguous(memory_format=...)`` and ``.to(...)``."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"graphtorch.{self._name}"

    def __reduce__(self) -> str:
        return self._name


strided = layout("strided")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")

# The int each tag is in a scripted graph (TorchScript's codes): layouts and formats by name.
TAG_CODES = {"strided": 0, "contiguous_format": 0, "preserve_format": 1, "channels_last": 2,
             "channels_last_3d": 3}

Tensor.layout = property(lambda self: strided, doc="Always ``graphtorch.strided``.")

__all__ = ["channels_last", "channels_last_3d", "contiguous_format", "layout", "memory_format",
           "preserve_format", "strided"]
