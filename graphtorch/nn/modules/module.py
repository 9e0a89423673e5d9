"""``graphtorch.nn.modules.module`` (``torch.nn.modules.module``): import path
re-exporting the graphtorch.nn classes PyTorch defines there."""

from graphtorch.nn import (
    Module,
)

__all__ = ["Module"]
