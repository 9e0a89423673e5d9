"""The ``"mpi"`` (alias ``"gloo"``) engine: nonblocking MPI collectives through mpi4py.

Buffers are contiguous numpy arrays handed to MPI through the buffer protocol (no copies); MPI picks
the datatype from the array's format. Every collective is the nonblocking MPI call (``Iallreduce``
...) wrapped in a :class:`~graphtorch.distributed.work.Work` that polls ``Test`` against the
group's deadline.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from mpi4py import MPI

from graphtorch.distributed.reduce_op import ReduceOp, effective_op
from graphtorch.distributed.work import Work, poll_until
from graphtorch.errors import DistributedError

_MPI_OPS = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
            ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}
# the length of collectives.agree's header, exchanged through a persistent request
EXCHANGE_LEN = 9
_MPI_BOOL_OPS = {ReduceOp.BOR: MPI.LOR, ReduceOp.BAND: MPI.LAND, ReduceOp.BXOR: MPI.LXOR}


def mpi_op(op: ReduceOp, dtype: np.dtype):
    return _mpi_op(op, dtype.kind)


@functools.lru_cache(maxsize=64)
def _mpi_op(op: ReduceOp, kind: str):
    op = effective_op(op, kind)
    if kind == "b":
        return _MPI_BOOL_OPS[op]
    return _MPI_OPS[op]


class MpiWork(Work):
    """The work of one MPI request: ``wait()`` polls ``MPI_Test`` itself (MPI errors become
    DistributedError naming the collective)."""

    def __init__(self, req, engine: MpiEngine, what: str, finish: Callable[[], None] | None,
                 keep: tuple):
        # NOTE: fills Work's fields directly: one of these is made per collective
        self._test = req.Test
        self._timeout_s = engine.timeout_s
        self._what = what
        self._on_timeout = engine.on_timeout
        self._finish = [] if finish is None else [finish]
        self._done = False
        self._result = None
        self._keep = keep

    def is_completed(self) -> bool:
        try:
            return super().is_completed()
        except MPI.Exception as e:
            raise DistributedError(f"{self._what}: MPI error: {e.Get_error_string()}") from None

    def wait(self, timeout=None) -> bool:
        try:
            return super().wait(timeout)
        except MPI.Exception as e:
            raise DistributedError(f"{self._what}: MPI error: {e.Get_error_string()}") from None


class MpiEngine:
    """One MPI communicator; ``rank``/``size`` are positions within it."""

    name = "mpi"
    stages_through_host = True

    def __init__(self, comm, timeout_s: float, on_timeout: Callable[[str], None]):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.timeout_s = timeout_s
        self.on_timeout = on_timeout
        # the persistent request of exchange(): creating it is collective, like this constructor
        self._xsend = np.zeros(EXCHANGE_LEN, np.int64)
        self._xsend_bytes = memoryview(self._xsend).cast("B")  # written from a header's bytes
        self._xrows = np.empty((self.size, EXCHANGE_LEN), np.int64)
        self._xrows_bytes = memoryview(self._xrows).cast("B")
        self._xreq = None
        if self.size > 1:
            try:
                self._xreq = comm.Allgather_init(self._xsend, self._xrows)
            except NotImplementedError:  # an MPI before 4.0: exchange() uses Iallgather
                pass

    # -- plumbing --------------------------------------------------------------------------------
    def _start(self, what: str, start: Callable[[], object], finish=None, result=None,
               keep: tuple = ()) -> Work:
        try:
            req = start()
        except MPI.Exception as e:
            raise DistributedError(f"{what}: MPI error: {e.Get_error_string()}") from None
        return MpiWork(req, self, what, finish, keep)

    def _avg(self, op: ReduceOp, buf: np.ndarray):
        if op is not ReduceOp.AVG:
            return None
        size = self.size
        return lambda: np.true_divide(buf, size, out=buf, casting="unsafe")

    # -- collectives -----------------------------------------------------------------------------
    def all_reduce(self, buf: np.ndarray, op: ReduceOp, what: str = "all_reduce") -> Work:
        # NOTE: called directly (no closure) because it is the hot path of DDP and all_reduce
        try:
            req = self.comm.Iallreduce(MPI.IN_PLACE, buf, op=mpi_op(op, buf.dtype))
        except MPI.Exception as e:
            raise DistributedError(f"{what}: MPI error: {e.Get_error_string()}") from None
        return MpiWork(req, self, what, self._avg(op, buf), (buf,))

    def all_reduce_now(self, buf: np.ndarray, op: ReduceOp, what: str = "all_reduce") -> None:
        """``all_reduce(buf, op, what).wait()`` without a Work: the blocking collectives' path."""
        # NOTE: the same nonblocking call and deadline as all_reduce(); only the handle is skipped
        try:
            req = self.comm.Iallreduce(MPI.IN_PLACE, buf, op=_mpi_op(op, buf.dtype.kind))
            if not req.Test():
                poll_until(req.Test, self.timeout_s, lambda: what, self.on_timeout)
        except MPI.Exception as e:
            raise DistributedError(f"{what}: MPI error: {e.Get_error_string()}") from None
        if op is ReduceOp.AVG:
            np.true_divide(buf, self.size, out=buf, casting="unsafe")

    def broadcast(self, buf: np.ndarray, root: int, what: str = "broadcast") -> Work:
        return self._start(what, lambda: self.comm.Ibcast(buf, root=root), keep=(buf,))

    def reduce(self, buf: np.ndarray, op: ReduceOp, root: int, what: str = "reduce") -> Work:
        mop = mpi_op(op, buf.dtype)
        if self.rank == root:
            return self._start(what, lambda: self.comm.Ireduce(MPI.IN_PLACE, buf, op=mop,
                                                               root=root), self._avg(op, buf),
                               keep=(buf,))
        return self._start(what, lambda: self.comm.Ireduce(buf, None, op=mop, root=root),
                           keep=(buf,))

    def all_gather(self, send: np.ndarray, recv: np.ndarray, what: str = "all_gather") -> Work:
        return self._start(what, lambda: self.comm.Iallgather(send, recv), keep=(send, recv))

    def reduce_scatter(self, send: np.ndarray, recv: np.ndarray, op: ReduceOp,
                       what: str = "reduce_scatter_tensor") -> Work:
        mop = mpi_op(op, send.dtype)
        return self._start(what, lambda: self.comm.Ireduce_scatter_block(send, recv, op=mop),
                           self._avg(op, recv), keep=(send, recv))

    def gather(self, send: np.ndarray, recv: np.ndarray | None, root: int,
               what: str = "gather") -> Work:
        return self._start(what, lambda: self.comm.Igather(send, recv, root=root),
                           keep=(send, recv))

    def scatter(self, send: np.ndarray | None, recv: np.ndarray, root: int,
                what: str = "scatter") -> Work:
        return self._start(what, lambda: self.comm.Iscatter(send, recv, root=root),
                           keep=(send, recv))

    def send(self, buf: np.ndarray, peer: int, tag: int, what: str = "send") -> Work:
        return self._start(what, lambda: self.comm.Isend(buf, dest=peer, tag=tag), keep=(buf,))

    def recv(self, buf: np.ndarray, peer: int | None, tag: int, what: str = "recv") -> Work:
        status = MPI.Status()
        source = MPI.ANY_SOURCE if peer is None else peer
        sender: list[int] = []
        try:
            req = self.comm.Irecv(buf, source=source, tag=tag)
        except MPI.Exception as e:
            raise DistributedError(f"{what}: MPI error: {e.Get_error_string()}") from None

        def test() -> bool:
            try:
                done = req.Test(status)
            except MPI.Exception as e:
                raise DistributedError(f"{what}: MPI error: {e.Get_error_string()} (is the "
                                       "receiving tensor as large as the sent one?)") from None
            if done and not sender:
                sender.append(status.Get_source())
            return done

        return Work(test, self.timeout_s, what, self.on_timeout, result=sender).keep(buf)

    def barrier(self, what: str = "barrier") -> Work:
        return self._start(what, lambda: self.comm.Ibarrier())

    def exchange(self, header: np.ndarray, what) -> np.ndarray:
        """Every rank's ``header`` (int64 vector), one row per rank; blocking with the deadline.

        ``what`` (a string, or a callable making it) names the wait in a timeout. A header of
        ``EXCHANGE_LEN`` values (every collective's agreement) goes through a persistent
        ``MPI_Allgather_init`` request made at construction; the rows returned are then valid
        until the next exchange.
        """
        describe = what if callable(what) else (lambda: what)
        if header.size == EXCHANGE_LEN and self._xreq is not None:
            req, rows = self._xreq, self._xrows
            np.copyto(self._xsend, header)
            req.Start()
        else:
            rows = np.empty((self.size, header.size), np.int64)
            req = self.comm.Iallgather(header, rows)
        try:
            poll_until(req.Test, self.timeout_s, describe, self.on_timeout)
        except BaseException:
            if req is self._xreq:
                self._xreq = None  # still active: never started again (nor freed)
            raise
        return rows

    def exchange_bytes(self, header: bytes, what) -> memoryview:
        """``exchange()`` of a header of ``EXCHANGE_LEN`` int64 values given as their bytes: every
        rank's bytes, concatenated in rank order (valid until the next exchange)."""
        req = self._xreq
        if req is None:
            rows = self.exchange(np.frombuffer(header, np.int64), what)
            return memoryview(rows).cast("B")
        self._xsend_bytes[:] = header
        req.Start()
        if not req.Test():
            try:
                poll_until(req.Test, self.timeout_s, what if callable(what) else (lambda: what),
                           self.on_timeout)
            except BaseException:
                self._xreq = None  # still active: never started again (nor freed)
                raise
        return self._xrows_bytes

    def split(self, member: bool, key: int):
        """A communicator of the members (collective over this one); None for non-members."""
        comm = self.comm.Split(0 if member else MPI.UNDEFINED, key)
        return None if comm == MPI.COMM_NULL else comm

    def abort(self, code: int = 1) -> None:
        self.comm.Abort(code)

    def destroy(self) -> None:
        if self._xreq is not None:
            self._xreq.Free()
            self._xreq = None
        if self.comm != MPI.COMM_WORLD:
            self.comm.Free()
