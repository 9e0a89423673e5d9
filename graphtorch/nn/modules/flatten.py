"""``graphtorch.nn.modules.flatten`` (``torch.nn.modules.flatten``): import path
re-exporting the graphtorch.nn classes PyTorch defines there."""

from graphtorch.nn import (
    Flatten,
    Unflatten,
)

__all__ = ["Flatten", "Unflatten"]
