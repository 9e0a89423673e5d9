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
from graphtorch.autograd.node import AccumulateGrad
from graphtorch.device import _cupy
from graphtorch.distributed.process_group import ProcessGroup, resolve
from graphtorch.distributed.reduce_op import ReduceOp
from graphtorch.errors import DistributedError
from graphtorch.nn.module import Module
from graphtorch.nn.parallel.buckets import Bucket, assign_buckets, copy_into
from graphtorch.tensor import Tensor

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
        self.require_backward_grad_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 2 ** 20)
        self._params = _unique([p for p in module.parameters() if p.requires_grad])
        if not self._params:
            raise DistributedError("DistributedDataParallel is not needed when a module doesn't "
                                   "have any parameter that requires a gradient")
        self._engine = pg.engine
        _verify_same_model(pg, self._params)
        self._sync_from_rank0(list(self._params) + list(module.buffers()))
        host = self._engine.stages_through_host
        self._buckets = assign_buckets(list(reversed(self._params)), self.bucket_bytes_cap, host)
        self._where: dict[int, tuple[Bucket, int]] = {}
        for b in self._buckets:
            for i, p in enumerate(b.params):
                self._where[id(p)] = (b, i)
        self._next_launch = 0
        self._expecting = False
        self._ready_count = 0
        self._global_used: np.ndarray | None = None
        self._used_work = None
        self._events: list[tuple] = []  # ("grad", name) / ("launch", bucket): tests read the order
        self._names = {id(p): n for n, p in module.named_parameters()}
        self._hooks = [p.register_post_accumulate_grad_hook(self._grad_ready)
                       for p in self._params]

    # -- forward -----------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        self._check_previous_reduction()
        if self.broadcast_buffers and self.require_backward_grad_sync:
            buffers = list(self.module.buffers())
            if buffers:
                self._sync_from_rank0(buffers)
        out = self.module(*inputs, **kwargs)
        if grad_mode.STATE.enabled and self.require_backward_grad_sync:
            self._prepare_backward(out)
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

    # -- backward ----------------------------------------------------------------------------
    def _prepare_backward(self, out) -> None:
        self._events.clear()
        self._next_launch = 0
        self._ready_count = 0
        for b in self._buckets:
            b.pending = len(b.params)
            b.used = [True] * len(b.params)
            b.ready = [False] * len(b.params)
            b.work = None
        self._expecting = True
        if not self.find_unused_parameters:
            return
        reached = _reachable_leaves(out)
        used_flags = np.zeros(len(self._params), np.uint8)
        for k, p in enumerate(self._params):
            if id(p._edge()[0]) in reached:
                used_flags[k] = 1
            else:
                b, i = self._where[id(p)]
                b.used[i] = False
                b.view(i)[...] = 0
                b.pending -= 1
                self._ready_count += 1
        # which parameters some rank used: the others keep grad None, as in PyTorch
        self._global_used = used_flags
        self._used_work = self._engine.all_reduce(used_flags, ReduceOp.MAX,
                                                  "DistributedDataParallel (unused parameters)")
        if self._ready_count == len(self._params):
            self._launch_ready()
            self._finalize()

    def _grad_ready(self, p: Tensor) -> None:
        if not (self._expecting and self.require_backward_grad_sync):
            return
        b, i = self._where[id(p)]
        if not b.used[i]:
            raise DistributedError(
                f"DistributedDataParallel: parameter {self._names.get(id(p), '?')!r} received a "
                "gradient although the forward's outputs do not reach it")
        if b.ready[i]:
            return  # a second backward through the same forward: PyTorch errors, we reduce once
        b.ready[i] = True
        self._events.append(("grad", self._names.get(id(p), "?")))
        view = b.view(i)
        if p.grad._data is not view:
            copy_into(view, p.grad._data)
        b.pending -= 1
        self._ready_count += 1
        if b.pending == 0:
            self._launch_ready()
        for other in self._buckets[:self._next_launch]:
            other.work.is_completed()  # let MPI progress the transfers in flight
        if self._ready_count == len(self._params):
            self._finalize()

    def _launch_ready(self) -> None:
        while self._next_launch < len(self._buckets):
            b = self._buckets[self._next_launch]
            if b.pending:
                return
            # SUM here, the division by the world size is fused into the copy out (_finalize)
            b.work = self._engine.all_reduce(b.buffer, ReduceOp.SUM,
                                             f"DistributedDataParallel gradient bucket {b.index}")
            self._events.append(("launch", b.index))
            self._next_launch += 1

    def _finalize(self) -> None:
        self._expecting = False
        if self._used_work is not None:
            self._used_work.wait()
            self._used_work = None
        for b in self._buckets:
            b.work.wait()
        globally_used = self._global_used
        index = {id(p): k for k, p in enumerate(self._params)} if globally_used is not None else {}
        world = self.process_group.size()
        for b in self._buckets:
            if self.gradient_as_bucket_view:
                _divide(b.buffer, world, b.buffer)
            for i, p in enumerate(b.params):
                if globally_used is not None and not globally_used[index[id(p)]]:
                    continue
                view = b.view(i)
                if self.gradient_as_bucket_view:
                    if p.grad is None or p.grad._data is not view:
                        p.grad = Tensor._wrap(view, p.device)
                    else:
                        p.grad._vc[0] += 1
                elif p.grad is not None and _same_place(p.grad._data, view):
                    _divide(view, world, p.grad._data)
                    p.grad._vc[0] += 1
                elif p.grad is not None:  # e.g. a CUDA grad reduced through host memory
                    copy_into(p.grad._data, _divide(view, world, None))
                    p.grad._vc[0] += 1
                else:
                    avg = _divide(view, world, None)
                    if type(avg) is not type(p._data):
                        avg = _cupy().asarray(avg)
                    p.grad = Tensor._wrap(avg, p.device)

    def _check_previous_reduction(self) -> None:
        if not self._expecting or self._ready_count == 0:
            return
        missing = [self._names.get(id(p), "?") for b in self._buckets
                   for i, p in enumerate(b.params) if b.used[i] and not b.ready[i]]
        self._expecting = False
        for b in self._buckets[:self._next_launch]:
            b.work.wait()  # the launched buckets complete on every rank: leave MPI clean
        raise DistributedError(
            "DistributedDataParallel: expected to have finished reduction in the prior iteration "
            "before starting a new one: parameters that did not receive a gradient: "
            f"{', '.join(missing) or '?'}. Pass find_unused_parameters=True if some parameters "
            "take no part in computing the loss, and make sure every rank runs the same "
            "forward and backward.")

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


def _divide(src, world: int, out):
    """``src / world`` into ``out`` (a new array when None) in one pass, any array module."""
    if isinstance(src, np.ndarray) and (out is None or isinstance(out, np.ndarray)):
        return np.true_divide(src, world, out=out, casting="unsafe")
    if out is None:
        return src / world
    copy_into(out, src / world)
    return out


def _same_place(grad, view) -> bool:
    """Whether ``grad`` can take the bucket's values in place (same module, shape, dtype)."""
    return (type(grad) is type(view) and grad.shape == view.shape and grad.dtype == view.dtype
            and grad.flags.writeable)


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


def _reachable_leaves(out) -> set[int]:
    """ids of the AccumulateGrad nodes the autograd graph of ``out`` reaches."""
    stack = [t.grad_fn for t in _tensors(out) if t.grad_fn is not None]
    stack += [t._accum for t in _tensors(out) if t.grad_fn is None and t._accum is not None]
    seen: set[int] = set()
    leaves: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            leaves.add(id(node))
            continue
        for edge in node.next_edges:
            if edge is not None:
                stack.append(edge[0])
    return leaves


def _tensors(obj) -> Iterator[Tensor]:
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)
