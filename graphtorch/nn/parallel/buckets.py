"""Gradient buckets of ``DistributedDataParallel``: parameters packed into flat buffers.

Parameters are assigned in reverse registration order (roughly the order backward produces their
gradients), split by dtype and device, each bucket up to a byte cap; the first bucket is capped at
1 MiB so communication starts early (as PyTorch). A parameter of at least 1 MiB (or at least the
cap) gets a bucket of its own: packing it would only add copies, the per-call cost is amortized
anyway, and a one-parameter bucket can be reduced in place in the gradient itself. A bucket's
buffer lives where its engine reads: host memory for MPI, the GPU for NCCL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from graphtorch.device import _cupy

FIRST_BUCKET_BYTES = 1 << 20
OWN_BUCKET_BYTES = 1 << 20


@dataclass(eq=False)
class Bucket:
    index: int
    params: list
    offsets: list[int]
    buffer: object  # a flat numpy (or CuPy) array
    pending: int = 0
    work: object = None
    sent: object = None  # what the all-reduce works on: ``buffer``, or a gradient in place
    used: list[bool] = field(default_factory=list)
    ready: list[bool] = field(default_factory=list)

    views: list = field(default_factory=list)

    def __post_init__(self) -> None:
        # NOTE: made once, so ``p.grad._data is bucket.view(i)`` identifies a grad living in it
        self.views = [self.buffer[start:start + p.numel()].reshape(tuple(p.shape))
                      for p, start in zip(self.params, self.offsets)]

    def view(self, i: int):
        return self.views[i]


def assign_buckets(params: list, cap_bytes: int, host: bool) -> list[Bucket]:
    """Split ``params`` (already in reverse order) into buckets of at most ``cap_bytes``."""
    groups: dict[tuple, list] = {}
    for p in params:
        groups.setdefault((p.dtype.name, str(p.device)), []).append(p)
    buckets: list[Bucket] = []
    for members in groups.values():
        current: list = []
        size = 0
        limit = min(FIRST_BUCKET_BYTES, cap_bytes)
        for p in members:
            nbytes = p.numel() * p._data.itemsize
            if nbytes >= min(OWN_BUCKET_BYTES, cap_bytes):
                if current:
                    buckets.append(_make(len(buckets), current, host))
                buckets.append(_make(len(buckets), [p], host))
                current, size, limit = [], 0, cap_bytes
                continue
            if current and size + nbytes > limit:
                buckets.append(_make(len(buckets), current, host))
                current, size, limit = [], 0, cap_bytes
            current.append(p)
            size += nbytes
        if current:
            buckets.append(_make(len(buckets), current, host))
    return buckets


def _make(index: int, params: list, host: bool) -> Bucket:
    offsets = []
    total = 0
    for p in params:
        offsets.append(total)
        total += p.numel()
    dtype = params[0]._data.dtype
    on_gpu = not isinstance(params[0]._data, np.ndarray)
    buffer = _cupy().zeros(total, dtype) if on_gpu and not host else np.zeros(total, dtype)
    return Bucket(index, list(params), offsets, buffer)


def copy_into(dst, src) -> None:
    """``dst[...] = src`` across host and device arrays."""
    if isinstance(dst, np.ndarray):
        np.copyto(dst, src if isinstance(src, np.ndarray) else src.get())
    else:
        dst[...] = _cupy().asarray(src)
