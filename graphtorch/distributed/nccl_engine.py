"""The ``"nccl"`` engine: collectives on CUDA tensors through CuPy's NCCL bindings.

The communicator is bootstrapped over the MPI world (rank 0's unique id is broadcast with MPI).
Collectives run on a dedicated CUDA stream that first waits for the current stream's work; a
collective's completion is a CUDA event polled against the group's deadline, and on timeout the
communicator is aborted (``ncclCommAbort``) before the error is raised.

NOTE: written against ``cupy.cuda.nccl`` (NcclCommunicator, groupStart/groupEnd); exercised on one
GPU only (world size 1) until a multi-GPU machine is available.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from graphtorch.device import _cupy
from graphtorch.distributed.reduce_op import ReduceOp, effective_op
from graphtorch.distributed.work import Work
from graphtorch.errors import DistributedError

try:
    from cupy.cuda import nccl
except Exception:  # noqa: BLE001 - CuPy without NCCL: the engine reports it at bootstrap
    nccl = None

_UNIQUE_ID_BYTES = 128


def _nccl_dtype(dtype: np.dtype) -> int:
    table = {"int8": nccl.NCCL_INT8, "uint8": nccl.NCCL_UINT8, "bool": nccl.NCCL_UINT8,
             "int32": nccl.NCCL_INT32, "int64": nccl.NCCL_INT64,
             "float16": nccl.NCCL_FLOAT16, "float32": nccl.NCCL_FLOAT32,
             "float64": nccl.NCCL_FLOAT64}
    if dtype.name not in table:
        raise DistributedError(f"the nccl backend has no {dtype.name} type; cast the tensor or "
                               "use backend='gloo'")
    return table[dtype.name]


def _nccl_op(op: ReduceOp, dtype: np.dtype) -> tuple[int, bool]:
    """NCCL's op and whether the result must still be divided by the group size (AVG)."""
    op = effective_op(op, dtype.kind)
    if dtype.kind == "b":  # bools travel as uint8 0/1: or = max, and = min
        table = {ReduceOp.BOR: nccl.NCCL_MAX, ReduceOp.BAND: nccl.NCCL_MIN}
        if op not in table:
            raise DistributedError(f"the nccl backend has no {op!r} on bool tensors")
        return table[op], False
    if op is ReduceOp.AVG:
        avg = getattr(nccl, "NCCL_AVG", None)
        return (avg, False) if avg is not None else (nccl.NCCL_SUM, True)
    table = {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.PRODUCT: nccl.NCCL_PROD,
             ReduceOp.MAX: nccl.NCCL_MAX, ReduceOp.MIN: nccl.NCCL_MIN}
    if op not in table:
        raise DistributedError(f"the nccl backend has no {op!r}")
    return table[op], False


class NcclEngine:
    name = "nccl"
    stages_through_host = False

    def __init__(self, comm, rank: int, size: int, host, timeout_s: float,
                 on_timeout: Callable[[str], None]):
        cp = _cupy()
        self.cp = cp
        self.comm = comm
        self.rank = rank
        self.size = size
        self.host = host
        self.timeout_s = timeout_s
        self.on_timeout = on_timeout
        self.stream = cp.cuda.Stream(non_blocking=True)

    @classmethod
    def bootstrap(cls, host, timeout_s: float, on_timeout: Callable[[str], None],
                  device_id=None) -> NcclEngine:
        cp = _cupy()
        if cp is None or nccl is None:
            raise DistributedError("backend 'nccl' needs CuPy with NCCL and a CUDA GPU "
                                   "(pip install 'graphtorch[cuda12]'); use 'gloo' on CPUs")
        count = cp.cuda.runtime.getDeviceCount()
        if device_id is not None:
            index = getattr(device_id, "index", device_id)
        else:
            local = os.environ.get("LOCAL_RANK", os.environ.get("MPI_LOCALRANKID"))
            index = (int(local) if local is not None else host.rank) % count
        cp.cuda.Device(int(index)).use()
        uid = np.zeros(_UNIQUE_ID_BYTES, np.int64)
        if host.rank == 0:
            uid[:] = nccl.get_unique_id()
        host.broadcast(uid, 0, "init_process_group (sharing the NCCL unique id)").wait()
        comm = nccl.NcclCommunicator(host.size, tuple(int(v) for v in uid), host.rank)
        return cls(comm, host.rank, host.size, host, timeout_s, on_timeout)

    # -- plumbing --------------------------------------------------------------------------------
    def _run(self, what: str, launch: Callable[[int], None], finish=None) -> Work:
        cp = self.cp
        ready = cp.cuda.Event()
        ready.record(cp.cuda.get_current_stream())
        self.stream.wait_event(ready)
        try:
            launch(self.stream.ptr)
        except nccl.NcclError as e:
            raise DistributedError(f"{what}: NCCL error: {e}") from None
        done = cp.cuda.Event(disable_timing=True)
        done.record(self.stream)

        def on_timeout(message: str) -> None:
            self.comm.abort()  # a stuck NCCL kernel never returns otherwise
            self.on_timeout(message)

        work = Work(lambda: done.done, self.timeout_s, what, on_timeout)
        if finish is not None:
            work.then(finish)
        return work

    def _avg(self, divide: bool, buf):
        if not divide:
            return None
        size = self.size
        return lambda: buf.__itruediv__(size)

    @staticmethod
    def _flat(buf):
        return buf.view(np.uint8) if buf.dtype == np.bool_ else buf

    # -- collectives -----------------------------------------------------------------------------
    def all_reduce(self, buf, op: ReduceOp, what: str = "all_reduce") -> Work:
        op_, divide = _nccl_op(op, buf.dtype)
        b = self._flat(buf)
        dt = _nccl_dtype(buf.dtype)
        work = self._run(what, lambda s: self.comm.allReduce(b.data.ptr, b.data.ptr, b.size, dt,
                                                           op_, s), self._avg(divide, buf))
        return work.keep(buf)

    def broadcast(self, buf, root: int, what: str = "broadcast") -> Work:
        b = self._flat(buf)
        dt = _nccl_dtype(buf.dtype)
        return self._run(what, lambda s: self.comm.broadcast(b.data.ptr, b.data.ptr, b.size, dt,
                                                             root, s)).keep(buf)

    def reduce(self, buf, op: ReduceOp, root: int, what: str = "reduce") -> Work:
        op_, divide = _nccl_op(op, buf.dtype)
        b = self._flat(buf)
        dt = _nccl_dtype(buf.dtype)
        finish = self._avg(divide and self.rank == root, buf)
        return self._run(what, lambda s: self.comm.reduce(b.data.ptr, b.data.ptr, b.size, dt,
                                                          op_, root, s), finish).keep(buf)

    def all_gather(self, send, recv, what: str = "all_gather") -> Work:
        a, b = self._flat(send), self._flat(recv)
        dt = _nccl_dtype(send.dtype)
        return self._run(what, lambda s: self.comm.allGather(a.data.ptr, b.data.ptr, a.size, dt,
                                                             s)).keep(send, recv)

    def reduce_scatter(self, send, recv, op: ReduceOp,
                       what: str = "reduce_scatter_tensor") -> Work:
        op_, divide = _nccl_op(op, send.dtype)
        a, b = self._flat(send), self._flat(recv)
        dt = _nccl_dtype(send.dtype)
        return self._run(what, lambda s: self.comm.reduceScatter(a.data.ptr, b.data.ptr, b.size,
                                                                 dt, op_, s),
                         self._avg(divide, recv)).keep(send, recv)

    def gather(self, send, recv, root: int, what: str = "gather") -> Work:
        a = self._flat(send)
        dt = _nccl_dtype(send.dtype)

        def launch(s: int) -> None:
            nccl.groupStart()
            try:
                if self.rank == root:
                    r = self._flat(recv).reshape(self.size, -1)
                    for peer in range(self.size):
                        if peer == root:
                            r[peer].data.copy_from_device_async(a.data, a.nbytes, self.stream)
                        else:
                            self.comm.recv(r[peer].data.ptr, a.size, dt, peer, s)
                else:
                    self.comm.send(a.data.ptr, a.size, dt, root, s)
            finally:
                nccl.groupEnd()

        return self._run(what, launch).keep(send, recv)

    def scatter(self, send, recv, root: int, what: str = "scatter") -> Work:
        b = self._flat(recv)
        dt = _nccl_dtype(recv.dtype)

        def launch(s: int) -> None:
            nccl.groupStart()
            try:
                if self.rank == root:
                    rows = self._flat(send).reshape(self.size, -1)
                    for peer in range(self.size):
                        if peer == root:
                            b.data.copy_from_device_async(rows[peer].data, b.nbytes, self.stream)
                        else:
                            self.comm.send(rows[peer].data.ptr, b.size, dt, peer, s)
                else:
                    self.comm.recv(b.data.ptr, b.size, dt, root, s)
            finally:
                nccl.groupEnd()

        return self._run(what, launch).keep(send, recv)

    def send(self, buf, peer: int, tag: int, what: str = "send") -> Work:
        b = self._flat(buf)
        dt = _nccl_dtype(buf.dtype)
        return self._run(what, lambda s: self.comm.send(b.data.ptr, b.size, dt, peer, s)).keep(buf)

    def recv(self, buf, peer: int | None, tag: int, what: str = "recv") -> Work:
        if peer is None:
            raise DistributedError(f"{what}: the nccl backend cannot receive from any rank; "
                                   "pass src=")
        b = self._flat(buf)
        dt = _nccl_dtype(buf.dtype)
        work = self._run(what, lambda s: self.comm.recv(b.data.ptr, b.size, dt, peer, s)).keep(buf)
        work._result = [peer]
        return work

    def destroy(self) -> None:
        self.stream.synchronize()
        self.comm.destroy()
