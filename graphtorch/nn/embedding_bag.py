"""``EmbeddingBag`` and ``F.embedding_bag``: sums, means or maxima of bags of embeddings.

Bags (rows of a 2-d input, or ``offsets`` into a 1-d input) are laid out as a padded
(bags, longest bag) index matrix with a mask; the reduction is then plain tensor ops over
``F.embedding``, so gradients reach the weight through the embedding's own backward.
"""

from __future__ import annotations

import numpy as np

import graphtorch as gt
from graphtorch.autograd.grad_mode import no_grad
from graphtorch.nn import functional as F
from graphtorch.nn import init
from graphtorch.nn.module import Module
from graphtorch.nn.parameter import Parameter
from graphtorch.tensor import Tensor

_MODES = ("sum", "mean", "max")


def _bag_layout(input: Tensor, offsets: Tensor | None, include_last_offset: bool):
    """(indices (B, L), mask (B, L) numpy, positions or None) for the bags of ``input``."""
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {type(offsets)}")
        return input, np.ones(tuple(input.shape), dtype=bool), None
    if input.dim() != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.dim()}")
    if offsets is None or offsets.dim() != 1:
        raise ValueError(f"offsets has to be a 1D Tensor but got {offsets}")
    bounds = [int(v) for v in offsets.tolist()]
    n = input.shape[0]
    if bounds and bounds[0] != 0:
        raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {bounds[0]}")
    starts = np.array(bounds[:-1] if include_last_offset else bounds, dtype=np.int64)
    ends = np.array(bounds[1:] if include_last_offset else bounds[1:] + [n], dtype=np.int64)
    lengths = np.maximum(ends - starts, 0)
    width = int(lengths.max()) if lengths.size else 0
    cols = np.arange(width)
    mask = cols[None, :] < lengths[:, None]
    positions = np.where(mask, starts[:, None] + cols[None, :], 0)
    flat = gt.tensor(positions.reshape(-1), device=input.device)
    bags = input.index_select(0, flat).reshape([len(starts), width])
    return bags, mask, flat


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Reduce bags of embeddings (``torch.nn.functional.embedding_bag``)."""
    if mode not in _MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    if max_norm is not None:
        F._renorm_rows(weight, input, max_norm, norm_type)
    bags, mask, positions = _bag_layout(input, offsets, include_last_offset)
    keep = gt.tensor(mask, device=weight.device)
    if padding_idx is not None:
        keep = keep.logical_and(bags != padding_idx)
    vectors = F.embedding(bags, weight, scale_grad_by_freq=scale_grad_by_freq and mask.all())
    count = keep.sum([1], keepdim=True)
    if mode == "max":
        best = vectors.where(keep.unsqueeze(-1), float("-inf")).amax(1)
        return best.where(count > 0, 0.0)
    scale = keep.unsqueeze(-1).to(weight.dtype)
    if per_sample_weights is not None:
        psw = per_sample_weights
        if positions is not None:
            psw = psw.index_select(0, positions).reshape(list(bags.shape))
        scale = scale * psw.unsqueeze(-1)
    total = (vectors * scale).sum([1])
    if mode == "sum":
        return total
    return total / count.clamp(1, None).to(weight.dtype)


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings without building the (B, L, D) tensor in
    PyTorch's sense; weight initialised N(0, 1), the padding row zero."""

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight: Tensor | None = None,
                 include_last_offset: bool = False, padding_idx: int | None = None,
                 device=None, dtype=None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError("padding_idx must be within num_embeddings")
            padding_idx = padding_idx % num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(gt.empty((num_embeddings, embedding_dim), device=device,
                                             dtype=dtype))
            self.reset_parameters()
        else:
            if list(_weight.shape) != [num_embeddings, embedding_dim]:
                raise AssertionError("Shape of weight does not match num_embeddings and "
                                     "embedding_dim")
            self.weight = Parameter(_weight)
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input: Tensor, offsets: Tensor | None = None,
                per_sample_weights: Tensor | None = None) -> Tensor:
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                             self.scale_grad_by_freq, self.mode, self.sparse, per_sample_weights,
                             self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        max_norm: float | None = None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: int | None = None) -> EmbeddingBag:
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        bag = cls(rows, cols, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                  _weight=embeddings, include_last_offset=include_last_offset,
                  padding_idx=padding_idx)
        bag.weight.requires_grad_(not freeze)
        return bag
