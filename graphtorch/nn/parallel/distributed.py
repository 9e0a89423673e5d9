"""``DistributedDataParallel``: data-parallel training, gradients averaged over a process group.

At construction the parameters and buffers of rank 0 are broadcast to every rank. During backward a
post-accumulate-grad hook per parameter copies its gradient into its bucket; a bucket whose
gradients are all in is all-reduced asynchronously right away (buckets launch in index order, the
same on every rank) while backward goes on; the last gradient waits for every bucket and writes the
averages back into ``.grad``.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator

import numpy as np

from graphtorch.autograd import grad_mode
from graphtorch.device import _cupy
from graphtorch.distributed.process_group import ProcessGroup, resolve
from graphtorch.errors import DistributedError
from graphtorch.nn.module import Module
from graphtorch.nn.parallel.buckets import copy_into
from graphtorch.nn.parallel.reducer import Reducer

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training (PyTorch's signature).

    ``bucket_cap_mb`` (default 25) bounds a gradient bucket; ``find_unused_parameters`` walks the
    autograd graph of each forward's outputs so parameters that take no part are not waited for;
    ``no_sync()`` skips the reduction (gradient accumulation); ``broadcast_buffers`` re-sends rank
    0's buffers before every forward. ``device_ids``/``output_device``/``dim`` are accepted for
    compatibility (one device per process).
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group: ProcessGroup | None = None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, **kwargs) -> None:
        super().__init__()
        pg = resolve(process_group, "DistributedDataParallel")
        if pg is None:
            raise DistributedError("DistributedDataParallel: this rank is not a member of "
                                   "process_group")
        self.module = module
        self.process_group = pg
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 2 ** 20)
        self._params = _unique([p for p in module.parameters() if p.requires_grad])
        if not self._params:
            raise DistributedError("DistributedDataParallel is not needed when a module doesn't "
                                   "have any parameter that requires a gradient")
        self._engine = pg.engine
        _verify_same_model(pg, self._params)
        self._sync_from_rank0(list(self._params) + list(module.buffers()))
        names = {id(p): n for n, p in module.named_parameters()}
        self.reducer = Reducer(self._params, names, self._engine, pg.size(),
                               self.bucket_bytes_cap, find_unused_parameters,
                               gradient_as_bucket_view)

    @property
    def require_backward_grad_sync(self) -> bool:
        return self.reducer.sync

    @require_backward_grad_sync.setter
    def require_backward_grad_sync(self, value: bool) -> None:
        self.reducer.sync = bool(value)

    @property
    def _buckets(self) -> list:
        return self.reducer.buckets

    @property
    def _events(self) -> list:
        return self.reducer.events

    # -- forward -----------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        self.reducer.check_previous_reduction()
        if self.broadcast_buffers and self.require_backward_grad_sync:
            buffers = list(self.module.buffers())
            if buffers:
                self._sync_from_rank0(buffers)
        out = self.module(*inputs, **kwargs)
        if grad_mode.STATE.enabled and self.require_backward_grad_sync:
            self.reducer.prepare_backward(out)
        return out

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside only accumulate local gradients; the next one outside
        averages the accumulated sum."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # -- construction helpers ----------------------------------------------------------------
    def _sync_from_rank0(self, tensors: list) -> None:
        """Overwrite ``tensors`` with rank 0's values: one broadcast per dtype."""
        if self.process_group.size() == 1:
            return
        by_dtype: dict[str, list] = {}
        for t in tensors:
            by_dtype.setdefault(t.dtype.name, []).append(t)
        host = self._engine.stages_through_host
        for group in by_dtype.values():
            like = group[0]._data
            sizes = [t.numel() for t in group]
            flat = _flat_buffer(like, sum(sizes), host)
            offset = 0
            for t, n in zip(group, sizes):
                copy_into(flat[offset:offset + n], t._data.reshape(-1))
                offset += n
            self._engine.broadcast(flat, 0, "DistributedDataParallel (parameters and buffers "
                                            "from rank 0)").wait()
            offset = 0
            for t, n in zip(group, sizes):
                copy_into(t._data, flat[offset:offset + n].reshape(t._data.shape))
                t._vc[0] += 1
                offset += n

    def extra_repr(self) -> str:
        return (f"world_size={self.process_group.size()}, buckets={len(self._buckets)}, "
                f"bucket_cap_mb={self.bucket_bytes_cap / 2 ** 20:g}")


def _unique(params: list) -> list:
    seen: set[int] = set()
    out = []
    for p in params:
        if id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out


def _flat_buffer(like, n: int, host: bool):
    if host or isinstance(like, np.ndarray):
        return np.empty(n, like.dtype)
    return _cupy().empty(n, like.dtype)


def _verify_same_model(pg: ProcessGroup, params: list) -> None:
    """Every rank must wrap a model with the same parameter shapes and dtypes."""
    if pg.size() == 1:
        return
    signature = ";".join(f"{tuple(p.shape)}:{p.dtype.name}" for p in params).encode()
    header = np.array([len(params), zlib.crc32(signature)], np.int64)
    rows = pg.host_engine.exchange(header, "DistributedDataParallel (comparing the models)")
    if (rows != header).any():
        counts = ", ".join(f"rank {pg.ranks[i]}: {int(r[0])} parameters"
                           for i, r in enumerate(rows))
        raise DistributedError("DistributedDataParallel: the ranks wrap different models "
                               f"(parameter shapes or dtypes differ; {counts})")


