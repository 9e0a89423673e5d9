"""``DistributedSampler``: each rank iterates over its own equal shard of a dataset (PyTorch's)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import graphtorch as gt
from graphtorch.distributed.process_group import get_rank, get_world_size
from graphtorch.ops.random import Generator
from graphtorch.utils.data import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """Indices of rank ``rank``'s shard of ``dataset`` among ``num_replicas`` ranks.

    With ``shuffle`` the order is a permutation seeded by ``seed + epoch`` (call ``set_epoch``
    every epoch, identically on every rank). Without ``drop_last`` the index list is padded by
    repeating its head so that every rank gets ``ceil(len / num_replicas)`` samples; with it the
    tail is dropped instead. The permutation comes from graphtorch's generator, so shuffled
    indices differ from PyTorch's for the same seed; padding and sharding are PyTorch's.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = get_world_size()
        if rank is None:
            rank = get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = _randperm(n, g)
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            elif indices:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        assert len(indices) == self.total_size
        shard = indices[self.rank:self.total_size:self.num_replicas]
        assert len(shard) == self.num_samples
        return iter(shard)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for ``epoch`` (same value on every rank, so the shards stay disjoint)."""
        self.epoch = epoch


def _randperm(n: int, generator: Generator) -> list[int]:
    # the registry op, bound on the package when graphtorch/__init__.py runs
    return gt.randperm(n, generator=generator).tolist()
