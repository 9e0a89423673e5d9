"""``graphtorch.nn.modules.normalization`` (``torch.nn.modules.normalization``): import path
re-exporting the graphtorch.nn classes PyTorch defines there."""

from graphtorch.nn import (
    GroupNorm,
    LayerNorm,
)

__all__ = ["LayerNorm", "GroupNorm"]
