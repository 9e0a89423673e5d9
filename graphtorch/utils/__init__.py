"""Utilities (``graphtorch.utils.data``: datasets and data loading)."""

from graphtorch.utils import data

__all__ = ["data"]
