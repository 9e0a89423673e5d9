"""``graphtorch.nn.modules.upsampling`` (``torch.nn.modules.upsampling``): import path
re-exporting the graphtorch.nn classes PyTorch defines there."""

from graphtorch.nn import (
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]
