"""The reducer of ``DistributedDataParallel``: gradient buckets, their asynchronous all-reduce
from post-accumulate-grad hooks, and the write-back of the averages.

It is one object shared by a DDP module and its shallow copies (``jit.compile`` wraps a copy whose
``forward`` runs eagerly), so the hooks registered on the parameters see every forward's state.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from graphtorch.autograd.node import AccumulateGrad
from graphtorch.device import _cupy
from graphtorch.distributed.reduce_op import ReduceOp
from graphtorch.errors import DistributedError
from graphtorch.nn.parallel.buckets import Bucket, assign_buckets, copy_into
from graphtorch.tensor import Tensor


class Reducer:
    """Buckets of ``params`` and the state of the current backward pass."""

    def __init__(self, params: list, names: dict[int, str], engine, world: int, cap_bytes: int,
                 find_unused_parameters: bool, gradient_as_bucket_view: bool):
        self._params = params
        self._names = names
        self._engine = engine
        self.world = world
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.sync = True  # False inside no_sync()
        self._buckets = assign_buckets(list(reversed(params)), cap_bytes,
                                       engine.stages_through_host)
        self._where: dict[int, tuple[Bucket, int]] = {}
        for b in self._buckets:
            for i, p in enumerate(b.params):
                self._where[id(p)] = (b, i)
        self._next_launch = 0
        self._first_open = 0  # the first launched bucket not yet seen complete
        self._expecting = False
        self._ready_count = 0
        self._global_used: np.ndarray | None = None
        self._used_work = None
        self._in_place: dict[int, object] = {}  # gradients reduced in place this backward
        self.events: list[tuple] = []  # ("grad", name) / ("launch", bucket): tests read the order
        self._hooks = [p.register_post_accumulate_grad_hook(self.grad_ready) for p in params]

    @property
    def buckets(self) -> list[Bucket]:
        return self._buckets

    def prepare_backward(self, out) -> None:
        self.events.clear()
        self._next_launch = 0
        self._first_open = 0
        self._ready_count = 0
        self._in_place.clear()
        for b in self._buckets:
            b.pending = len(b.params)
            b.used = [True] * len(b.params)
            b.ready = [False] * len(b.params)
            b.work = None
            b.sent = b.buffer
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

    def grad_ready(self, p: Tensor) -> None:
        if not (self._expecting and self.sync):
            return
        b, i = self._where[id(p)]
        if not b.used[i]:
            raise DistributedError(
                f"DistributedDataParallel: parameter {self._names.get(id(p), '?')!r} received a "
                "gradient although the forward's outputs do not reach it")
        if b.ready[i]:
            return  # a second backward through the same forward: PyTorch errors, we reduce once
        b.ready[i] = True
        self.events.append(("grad", self._names.get(id(p), "?")))
        view = b.view(i)
        grad = p.grad._data
        if self.gradient_as_bucket_view:
            # the average is formed on the way in (as PyTorch): the bucket then holds the result
            _divide(view if grad is view else grad, self.world, view)
        elif len(b.params) == 1 and self._reducible_in_place(grad, view):
            b.sent = grad  # reduced where it is: no copy in, no copy out
        elif grad is not view:
            copy_into(view, grad)
        b.pending -= 1
        self._ready_count += 1
        if b.pending == 0:
            self._launch_ready()
        if self._ready_count == len(self._params):
            self._finalize()
            return
        # let the engine progress the transfers in flight (MPI only moves data inside its calls;
        # testing the oldest open request progresses all of them)
        k = self._first_open
        while k < self._next_launch and self._buckets[k].work.is_completed():
            k += 1
        self._first_open = k

    def _reducible_in_place(self, grad, view) -> bool:
        """Whether the gradient array itself can be all-reduced: a contiguous, writable host
        array of the bucket's shape and dtype that no other parameter's reduction uses."""
        if not (type(grad) is np.ndarray and type(view) is np.ndarray and grad.flags.c_contiguous
                and grad.flags.writeable and grad.shape == view.shape and grad.dtype == view.dtype
                and id(grad) not in self._in_place):
            return False
        self._in_place[id(grad)] = grad
        return True

    def _launch_ready(self) -> None:
        while self._next_launch < len(self._buckets):
            b = self._buckets[self._next_launch]
            if b.pending:
                return
            # SUM here; the division by the world size is fused into the copy out (_finalize),
            # or the copy in with gradient_as_bucket_view
            b.work = self._engine.all_reduce(b.sent, ReduceOp.SUM,
                                             f"DistributedDataParallel gradient bucket {b.index}")
            self.events.append(("launch", b.index))
            self._next_launch += 1

    def _finalize(self) -> None:
        self._expecting = False
        if self._used_work is not None:
            self._used_work.wait()
            self._used_work = None
        for b in self._buckets:
            b.work.wait()
        self._in_place.clear()
        globally_used = self._global_used
        index = {id(p): k for k, p in enumerate(self._params)} if globally_used is not None else {}
        world = self.world
        for b in self._buckets:
            for i, p in enumerate(b.params):
                if globally_used is not None and not globally_used[index[id(p)]]:
                    continue
                view = b.view(i)
                if b.sent is not b.buffer:  # reduced in place in p.grad
                    _divide(b.sent, world, b.sent)
                    p.grad._vc[0] += 1
                elif self.gradient_as_bucket_view:
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

    def check_previous_reduction(self) -> None:
        """Called at the start of each forward: raise if the previous backward left buckets
        unreduced; otherwise drop the references to last step's in-place reduced gradients (an
        optimizer's ``zero_grad()`` may have released them: their memory is free for the forward).
        """
        if not self._expecting or self._ready_count == 0:
            for b in self._buckets:
                b.sent = b.buffer
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
