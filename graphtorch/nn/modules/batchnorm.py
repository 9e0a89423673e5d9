"""``graphtorch.nn.modules.batchnorm`` (``torch.nn.modules.batchnorm``): import path
re-exporting the graphtorch.nn classes PyTorch defines there."""

from graphtorch.nn import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
)

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]
