"""The collectives with PyTorch's signatures: ``all_reduce``, ``broadcast``, ``reduce``,
``all_gather``, ``all_gather_into_tensor``, ``reduce_scatter_tensor``, ``gather``, ``scatter``,
``send``/``recv``, ``isend``/``irecv`` and ``barrier``.

Before a collective the ranks exchange a small header (collective, dtype, shape, root), so a rank
calling a different collective or passing a mismatched tensor gets an error naming both ranks'
arguments instead of corrupt data or a hang. ``async_op=True`` returns a
:class:`~graphtorch.distributed.work.Work`; otherwise the call returns when the data is in place.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np

from graphtorch.device import _cupy
from graphtorch.distributed.process_group import WORLD, ProcessGroup, resolve
from graphtorch.distributed.reduce_op import ReduceOp, effective_op
from graphtorch.distributed.staging import Staged, check_tensor, empty_like_buf, stage
from graphtorch.distributed.work import CompletedWork, Work
from graphtorch.errors import DistributedError

_OPS = ("barrier", "all_reduce", "broadcast", "reduce", "all_gather", "all_gather_into_tensor",
        "reduce_scatter_tensor", "gather", "scatter", "reduce_scatter")
_DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")
_DIMS = 4


@functools.lru_cache(maxsize=256)
def _header_of(what: str, shape: tuple | None, dtype: str, root: int) -> tuple[np.ndarray, bytes]:
    # NOTE: cached: a training loop repeats the same few collectives; the array is never written
    h = np.zeros(5 + _DIMS, np.int64)
    h[0] = _OPS.index(what)
    h[4] = root
    if shape is not None:
        h[1] = _DTYPES.index(dtype) + 1
        h[2] = len(shape)
        h[3] = zlib.crc32(np.asarray(shape, np.int64).tobytes())
        h[5:5 + min(len(shape), _DIMS)] = shape[:_DIMS]
    h.flags.writeable = False
    return h, h.tobytes()


@functools.lru_cache(maxsize=256)
def _header_key(what: str, shape: tuple | None, dtype: str, root: int, n: int) -> tuple[bytes,
                                                                                     bytes]:
    """The header's bytes and what ``n`` agreeing ranks exchange (the bytes n times)."""
    key = _header_of(what, shape, dtype, root)[1]
    return key, key * n


def _describe(row: np.ndarray) -> str:
    text = _OPS[row[0]]
    if row[1]:
        ndim = int(row[2])
        dims = [int(d) for d in row[5:5 + min(ndim, _DIMS)]]
        shape = str(dims) if ndim <= _DIMS else f"[{', '.join(map(str, dims))}, ...] ({ndim}-d)"
        text += f" with a {_DTYPES[row[1] - 1]} tensor of shape {shape}"
    if row[4] >= 0:
        text += f" (root rank {row[4]})"
    return text


def agree(pg: ProcessGroup, what: str, t=None, root: int = -1) -> None:
    """Check that every rank of ``pg`` calls ``what`` with the same dtype, shape and root."""
    n = pg.engine.size
    if n == 1:
        return
    key, expected = _header_key(what, None if t is None else t._data.shape,
                                "" if t is None else t.dtype.name, root, n)
    got = pg.host_engine.exchange_bytes(key, lambda: f"rank {WORLD.global_rank}: {what} "
                                        f"(waiting for every rank of {pg.group_name!r} to reach "
                                        "it)")
    if got == expected:
        return
    rows = np.frombuffer(bytes(got), np.int64).reshape(n, -1)
    lines = [f"rank {pg.ranks[i]} calls {_describe(r)}" for i, r in enumerate(rows)]
    raise DistributedError(f"{what}: the ranks of process group {pg.group_name!r} do not agree "
                           "on the collective: " + "; ".join(lines))


def _bump(t) -> None:
    t._vc[0] += 1


def _op(op, t, what: str) -> ReduceOp:
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{what}: op must be a ReduceOp, got {op!r}")
    problem = _op_problem(op, t._data.dtype.kind)
    if problem:
        raise DistributedError(f"{what}: {problem} (tensor dtype {t.dtype.name})")
    return op


@functools.lru_cache(maxsize=64)
def _op_problem(op: ReduceOp, kind: str) -> str:
    """Why ``op`` cannot reduce elements of numpy kind ``kind`` ('' when it can)."""
    try:
        effective_op(op, kind)
    except ValueError as e:
        return str(e)
    return ""


def _done(work: Work, async_op: bool):
    if async_op:
        return work
    work.wait()
    return None


def _finishing(work: Work, *staged: Staged) -> Work:
    for s in staged:
        work.then(s.finish)
    return work


def _root(pg: ProcessGroup, rank, group_rank, what: str, role: str) -> int:
    if group_rank is not None:
        if rank is not None:
            raise ValueError(f"{what}: pass {role} or group_{role}, not both")
        if not 0 <= group_rank < pg.size():
            raise DistributedError(f"{what}: group_{role}={group_rank} is outside the group of "
                                   f"size {pg.size()}")
        return int(group_rank)
    if rank is None:
        rank = 0
    return pg.group_rank(int(rank), f"{what}: {role}")


def _same(t, ref, what: str, arg: str) -> None:
    check_tensor(t, what, arg)
    if tuple(t.shape) != tuple(ref.shape) or t.dtype is not ref.dtype:
        raise DistributedError(f"{what}: {arg} has {t.dtype.name} shape {list(t.shape)}, "
                               f"expected {ref.dtype.name} shape {list(ref.shape)} like the "
                               "input tensor")


# --- collectives ------------------------------------------------------------------------------
def all_reduce(tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` over the group; every rank gets the result in place."""
    pg = resolve(group, "all_reduce")
    if pg is None:
        return None
    check_tensor(tensor, "all_reduce", "tensor")
    _op(op, tensor, "all_reduce")
    agree(pg, "all_reduce", tensor)
    data = tensor._data
    if type(data) is np.ndarray and data.flags.c_contiguous and pg.engine.stages_through_host:
        # the common case without a Staged: MPI reduces the tensor's own buffer in place
        if async_op:
            return pg.engine.all_reduce(data, op).then(functools.partial(_bump, tensor))
        pg.engine.all_reduce_now(data, op)
        tensor._vc[0] += 1  # written in place: saved-tensor checks must see it
        return None
    s = stage(tensor, pg.engine, "all_reduce", "tensor", writes=True)
    return _done(_finishing(pg.engine.all_reduce(s.buf, op), s), async_op)


def broadcast(tensor, src: int | None = None, group=None, async_op: bool = False,
              group_src: int | None = None):
    """Copy ``tensor`` of rank ``src`` into ``tensor`` on every rank."""
    pg = resolve(group, "broadcast")
    if pg is None:
        return None
    check_tensor(tensor, "broadcast", "tensor")
    root = _root(pg, src, group_src, "broadcast", "src")
    agree(pg, "broadcast", tensor, root)
    s = stage(tensor, pg.engine, "broadcast", "tensor", writes=pg.rank() != root)
    return _done(_finishing(pg.engine.broadcast(s.buf, root), s), async_op)


def reduce(tensor, dst: int | None = None, op: ReduceOp = ReduceOp.SUM, group=None,
           async_op: bool = False, group_dst: int | None = None):
    """Reduce ``tensor`` over the group into ``tensor`` on rank ``dst``."""
    pg = resolve(group, "reduce")
    if pg is None:
        return None
    check_tensor(tensor, "reduce", "tensor")
    _op(op, tensor, "reduce")
    root = _root(pg, dst, group_dst, "reduce", "dst")
    agree(pg, "reduce", tensor, root)
    s = stage(tensor, pg.engine, "reduce", "tensor", writes=pg.rank() == root)
    return _done(_finishing(pg.engine.reduce(s.buf, op, root), s), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """Concatenate every rank's ``input_tensor`` (rank order) into ``output_tensor``.

    ``output_tensor`` has ``world_size`` times the input's elements: shaped ``[world * d0, ...]``
    or ``[world, d0, ...]``.
    """
    what = "all_gather_into_tensor"
    pg = resolve(group, what)
    if pg is None:
        return None
    check_tensor(input_tensor, what, "input_tensor")
    check_tensor(output_tensor, what, "output_tensor")
    _check_scaled(output_tensor, input_tensor, pg.size(), what, "output_tensor")
    agree(pg, what, input_tensor)
    src = stage(input_tensor, pg.engine, what, "input_tensor", writes=False)
    out = stage(output_tensor, pg.engine, what, "output_tensor", writes=True)
    return _done(_finishing(pg.engine.all_gather(src.buf, out.buf), out), async_op)


def all_gather(tensor_list: list, tensor, group=None, async_op: bool = False):
    """Fill ``tensor_list[i]`` with rank i's ``tensor``."""
    pg = resolve(group, "all_gather")
    if pg is None:
        return None
    check_tensor(tensor, "all_gather", "tensor")
    _check_list(tensor_list, tensor, pg.size(), "all_gather", "tensor_list")
    agree(pg, "all_gather", tensor)
    src = stage(tensor, pg.engine, "all_gather", "tensor", writes=False)
    recv = empty_like_buf(src.buf, (pg.size(),) + tuple(src.buf.shape))
    work = pg.engine.all_gather(src.buf, recv)
    return _done(work.then(lambda: _unpack(recv, tensor_list)), async_op)


def reduce_scatter_tensor(output, input, op: ReduceOp = ReduceOp.SUM, group=None,  # noqa: A002
                          async_op: bool = False):
    """Reduce ``input`` over the group and give rank i the i-th of ``world_size`` equal chunks."""
    what = "reduce_scatter_tensor"
    pg = resolve(group, what)
    if pg is None:
        return None
    check_tensor(input, what, "input")
    check_tensor(output, what, "output")
    _op(op, input, what)
    _check_scaled(input, output, pg.size(), what, "input")
    agree(pg, what, input)
    src = stage(input, pg.engine, what, "input", writes=False)
    out = stage(output, pg.engine, what, "output", writes=True)
    return _done(_finishing(pg.engine.reduce_scatter(src.buf, out.buf, op), out), async_op)


def reduce_scatter(output, input_list: list, op: ReduceOp = ReduceOp.SUM, group=None,
                   async_op: bool = False):
    """Reduce the lists over the group; rank i gets the reduction of every rank's
    ``input_list[i]`` in ``output``."""
    pg = resolve(group, "reduce_scatter")
    if pg is None:
        return None
    check_tensor(output, "reduce_scatter", "output")
    _check_list(input_list, output, pg.size(), "reduce_scatter", "input_list")
    _op(op, output, "reduce_scatter")
    agree(pg, "reduce_scatter", output)
    out = stage(output, pg.engine, "reduce_scatter", "output", writes=True)
    send = _pack(input_list, out.buf)
    return _done(_finishing(pg.engine.reduce_scatter(send, out.buf, op), out), async_op)


def gather(tensor, gather_list: list | None = None, dst: int | None = None, group=None,
           async_op: bool = False, group_dst: int | None = None):
    """Collect every rank's ``tensor`` into ``gather_list`` on rank ``dst``."""
    pg = resolve(group, "gather")
    if pg is None:
        return None
    check_tensor(tensor, "gather", "tensor")
    root = _root(pg, dst, group_dst, "gather", "dst")
    is_root = pg.rank() == root
    if is_root:
        _check_list(gather_list, tensor, pg.size(), "gather", "gather_list")
    elif gather_list:
        raise DistributedError("gather: gather_list must be None (or empty) on non-destination "
                               f"ranks (this is rank {WORLD.global_rank})")
    agree(pg, "gather", tensor, root)
    src = stage(tensor, pg.engine, "gather", "tensor", writes=False)
    recv = empty_like_buf(src.buf, (pg.size(),) + tuple(src.buf.shape)) if is_root else None
    work = pg.engine.gather(src.buf, recv, root)
    if is_root:
        work.then(lambda: _unpack(recv, gather_list))
    return _done(work, async_op)


def scatter(tensor, scatter_list: list | None = None, src: int | None = None, group=None,
            async_op: bool = False, group_src: int | None = None):
    """Give rank i ``scatter_list[i]`` of rank ``src``, written into ``tensor``."""
    pg = resolve(group, "scatter")
    if pg is None:
        return None
    check_tensor(tensor, "scatter", "tensor")
    root = _root(pg, src, group_src, "scatter", "src")
    is_root = pg.rank() == root
    if is_root:
        _check_list(scatter_list, tensor, pg.size(), "scatter", "scatter_list")
    elif scatter_list:
        raise DistributedError("scatter: scatter_list must be None (or empty) on non-source "
                               f"ranks (this is rank {WORLD.global_rank})")
    agree(pg, "scatter", tensor, root)
    out = stage(tensor, pg.engine, "scatter", "tensor", writes=True)
    send = _pack(scatter_list, out.buf) if is_root else None
    return _done(_finishing(pg.engine.scatter(send, out.buf, root), out), async_op)


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank of the group reaches the barrier."""
    pg = resolve(group, "barrier")
    if pg is None:
        return None
    agree(pg, "barrier")
    return CompletedWork("barrier") if async_op else None


# --- point to point ---------------------------------------------------------------------------
def isend(tensor, dst: int | None = None, group=None, tag: int = 0,
          group_dst: int | None = None) -> Work | None:
    """Start sending ``tensor`` to rank ``dst``; ``wait()`` the returned work."""
    pg = resolve(group, "isend")
    if pg is None:
        return None
    peer = _peer(pg, dst, group_dst, "isend", "dst")
    s = stage(tensor, pg.engine, "isend", "tensor", writes=False)
    return pg.engine.send(s.buf, peer, tag, f"isend to rank {pg.ranks[peer]}")


def irecv(tensor, src: int | None = None, group=None, tag: int = 0,
          group_src: int | None = None) -> Work | None:
    """Start receiving into ``tensor`` from rank ``src`` (any rank when None)."""
    pg = resolve(group, "irecv")
    if pg is None:
        return None
    peer = None if src is None and group_src is None else _peer(pg, src, group_src, "irecv",
                                                                   "src")
    s = stage(tensor, pg.engine, "irecv", "tensor", writes=True)
    who = "any rank" if peer is None else f"rank {pg.ranks[peer]}"
    return _finishing(pg.engine.recv(s.buf, peer, tag, f"irecv from {who}"), s)


def send(tensor, dst: int | None = None, group=None, tag: int = 0,
         group_dst: int | None = None) -> None:
    """Send ``tensor`` to rank ``dst`` and wait until it is delivered to MPI."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src: int | None = None, group=None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Receive into ``tensor``; returns the sender's rank (-1 outside the group)."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    pg = resolve(group, "recv")
    sender = work.result()
    return pg.ranks[sender[0]] if sender else int(src)


def _peer(pg: ProcessGroup, rank, group_rank, what: str, role: str) -> int:
    if rank is None and group_rank is None:
        raise ValueError(f"{what}: {role} is required")
    peer = _root(pg, rank, group_rank, what, role)
    if peer == pg.rank():
        raise DistributedError(f"{what}: {role} is this rank ({WORLD.global_rank}); a rank "
                               "cannot send to itself")
    return peer


# --- helpers ----------------------------------------------------------------------------------
def _check_scaled(big, small, n: int, what: str, arg: str) -> None:
    if big.dtype is not small.dtype:
        raise DistributedError(f"{what}: dtypes differ: {big.dtype.name} and "
                               f"{small.dtype.name}")
    if big.numel() != n * small.numel():
        raise DistributedError(f"{what}: {arg} must have world_size ({n}) times the elements of "
                               f"the other tensor: shapes {list(big.shape)} and "
                               f"{list(small.shape)}")


def _check_list(tensors, ref, n: int, what: str, arg: str) -> None:
    if not isinstance(tensors, (list, tuple)) or len(tensors) != n:
        got = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise DistributedError(f"{what}: {arg} must be a list of world_size ({n}) tensors, "
                               f"got {got}")
    for i, t in enumerate(tensors):
        _same(t, ref, what, f"{arg}[{i}]")


def _unpack(rows, tensors: list) -> None:
    for i, t in enumerate(tensors):
        row = rows[i, ...]  # an array even for 0-d tensors
        data = t._data
        if isinstance(data, np.ndarray):
            np.copyto(data, row if isinstance(row, np.ndarray) else row.get())
        else:
            data[...] = _cupy().asarray(row)
        t._vc[0] += 1


def _pack(tensors: list, like):
    """The tensors stacked into one contiguous buffer of ``like``'s array module."""
    out = empty_like_buf(like, (len(tensors),) + tuple(like.shape))
    for i, t in enumerate(tensors):
        data = t._data
        if isinstance(out, np.ndarray) and not isinstance(data, np.ndarray):
            data = data.get()
        out[i] = data
    return out
