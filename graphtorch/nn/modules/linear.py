"""``graphtorch.nn.modules.linear`` (``torch.nn.modules.linear``): import path
re-exporting the graphtorch.nn classes PyTorch defines there."""

from graphtorch.nn import (
    Bilinear,
    Identity,
    Linear,
)

__all__ = ["Bilinear", "Identity", "Linear"]
