"""``graphtorch.nn.modules.dropout`` (``torch.nn.modules.dropout``): import path
re-exporting the graphtorch.nn classes PyTorch defines there."""

from graphtorch.nn import (
    Dropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
)

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d"]
