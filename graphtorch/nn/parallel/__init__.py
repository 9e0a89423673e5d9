"""``graphtorch.nn.parallel``: ``DistributedDataParallel``."""

from graphtorch.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
