"""``graphtorch.nn.modules.sparse`` (``torch.nn.modules.sparse``): import path
re-exporting the graphtorch.nn classes PyTorch defines there."""

from graphtorch.nn import (
    Embedding,
    EmbeddingBag,
)

__all__ = ["Embedding", "EmbeddingBag"]
