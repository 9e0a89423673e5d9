"""Work handles of asynchronous collectives: completion is polled against a deadline.

MPI and NCCL block forever on a peer that died or never joins the collective. Every wait here polls
the engine's ``test`` with a deadline (the process group's ``timeout``), so a missing peer becomes a
:class:`~graphtorch.errors.DistributedTimeoutError` naming the collective instead of a hang.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from graphtorch.errors import DistributedTimeoutError

# NOTE: MPI only progresses inside test calls, and yielding the CPU on a busy machine can cost a
# whole scheduler slice: spin like a blocking MPI call does; only a wait past _PATIENT_S (a
# straggler or a dead peer, not a transfer) naps for _NAP_S between tests.
_PATIENT_S = 1.0
_NAP_S = 0.001


def poll_until(test: Callable[[], bool], timeout_s: float, describe: Callable[[], str],
               on_timeout: Callable[[str], None] | None = None) -> None:
    """Call ``test()`` until it returns True; past ``timeout_s`` raise a timeout error."""
    if test():
        return
    start = time.monotonic()
    deadline = start + timeout_s
    n = 0
    while not test():
        n += 1
        if n & 31:
            continue
        now = time.monotonic()
        if now > deadline:
            message = (f"{describe()} did not complete within the timeout of {timeout_s:g} s: "
                       "a peer rank did not take part (it may have died, hung, or called a "
                       "different collective)")
            if on_timeout is not None:
                on_timeout(message)
            raise DistributedTimeoutError(message)
        if now - start > _PATIENT_S:
            time.sleep(_NAP_S)


class Work:
    """PyTorch's work handle: ``wait()``, ``is_completed()``, ``is_success()``.

    ``test`` reports completion without blocking; ``finish`` callbacks run once, in order, after
    completion (they write staged results back into the caller's tensors).
    """

    def __init__(self, test: Callable[[], bool], timeout_s: float, what: str,
                 on_timeout: Callable[[str], None] | None = None, result=None):
        self._test = test
        self._timeout_s = timeout_s
        self._what = what
        self._on_timeout = on_timeout
        self._finish: list[Callable[[], None]] = []
        self._done = False
        self._result = result
        self._keep: tuple = ()  # buffers the engine reads or writes until completion

    def keep(self, *buffers) -> Work:
        """Hold ``buffers`` alive until the work completes (the engine uses them meanwhile)."""
        self._keep = self._keep + buffers
        return self

    def then(self, fn: Callable[[], None]) -> Work:
        """Run ``fn`` after completion (immediately if already finished)."""
        if self._done:
            fn()
        else:
            self._finish.append(fn)
        return self

    def _complete(self) -> None:
        self._done = True
        self._keep = ()
        finish, self._finish = self._finish, []
        for fn in finish:
            fn()

    def is_completed(self) -> bool:
        if not self._done and self._test():
            self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def wait(self, timeout=None) -> bool:
        """Block until the collective finished; raise DistributedTimeoutError past the timeout."""
        if self._done:
            return True
        limit = self._timeout_s if timeout is None else _seconds(timeout)
        poll_until(self._test, limit, lambda: self._what, self._on_timeout)
        self._complete()
        return True

    def result(self) -> list:
        self.wait()
        return [] if self._result is None else list(self._result)

    def __repr__(self) -> str:
        state = "completed" if self._done else "pending"
        return f"<Work {self._what} ({state})>"


class CompletedWork(Work):
    """A work handle for something that already finished (world of one, no-op collectives)."""

    def __init__(self, what: str = "collective", result=None):
        super().__init__(lambda: True, 0.0, what, result=result)
        self._done = True


def _seconds(timeout) -> float:
    return timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
