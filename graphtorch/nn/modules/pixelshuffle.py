"""``graphtorch.nn.modules.pixelshuffle`` (``torch.nn.modules.pixelshuffle``): import path
re-exporting the graphtorch.nn classes PyTorch defines there."""

from graphtorch.nn import (
    PixelShuffle,
    PixelUnshuffle,
)

__all__ = ["PixelShuffle", "PixelUnshuffle"]
