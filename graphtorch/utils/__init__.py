"""Utilities (``graphtorch.utils.data``: datasets and data loading)."""

# NOTE: importing graphtorch.nn.utils here makes ``graphtorch.nn.utils`` reachable as an attribute
# after ``import graphtorch`` (``torch.nn.utils.clip_grad_norm_`` needs no extra import in PyTorch)
from graphtorch.nn import utils as _nn_utils  # noqa: F401
from graphtorch.utils import data

__all__ = ["data"]
