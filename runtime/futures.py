"""Inter-op parallelism: ``graphtorch.jit.fork`` / ``wait`` and ``Future``.

``fork(fn, *args)`` runs ``fn(*args)`` on a shared thread pool and returns a :class:`Future`;
``wait(future)`` blocks for its value (re-raising what the task raised). numpy kernels release
the GIL, so independent branches run on several cores at once. The forked task inherits the
caller's grad mode (grad mode is per thread). Pool size: ``GT_INTEROP_THREADS`` in the
environment, else the number of CPUs (``graphtorch.set_num_interop_threads`` before the first
fork changes it).

In script, ``fork`` and ``wait`` compile to calls the executor runs through this module
(frontend/script/forks.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future as _CFuture
from concurrent.futures import ThreadPoolExecutor
from types import GenericAlias
from typing import Any

from graphtorch.autograd import grad_mode
from graphtorch.errors import UnsupportedError

_LOCK = threading.Lock()
_POOL: ThreadPoolExecutor | None = None
_THREADS: int | None = None
_PREFIX = "graphtorch-interop"


def _default_threads() -> int:
    env = os.environ.get("GT_INTEROP_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(os.cpu_count() or 1, 2)


def set_num_interop_threads(n: int) -> None:
    """The number of threads that run forked tasks (before the first fork, as PyTorch)."""
    global _THREADS
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"Expected a positive number of threads, got {n!r}")
    with _LOCK:
        if _POOL is not None:
            raise UnsupportedError("Error: cannot set number of interop threads after parallel "
                                   "work has started or set_num_interop_threads called")
        _THREADS = n


def get_num_interop_threads() -> int:
    return _THREADS or _default_threads()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=get_num_interop_threads(),
                                       thread_name_prefix=_PREFIX)
        return _POOL


class _Task:
    """A forked call, run once: by a pool worker, or inline by a pool worker whose ``wait`` finds
    it not started yet (so a forked task that forks and waits never deadlocks a small pool)."""

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn
        self.result = _CFuture()
        self._claimed = False
        self._lock = threading.Lock()

    def run(self) -> None:
        with self._lock:
            if self._claimed:
                return
            self._claimed = True
        try:
            value = self.fn()
        except BaseException as e:  # noqa: BLE001 - handed to the waiter, as PyTorch does
            self.result.set_exception(e)
        else:
            self.result.set_result(value)


class Future:
    """The result of an asynchronous task (``torch.jit.Future`` / ``torch.futures.Future``)."""

    __class_getitem__ = classmethod(GenericAlias)     # Future[Tensor] in annotations

    def __init__(self, _inner: _CFuture | None = None, _task: _Task | None = None):
        self._inner = _inner if _inner is not None else _CFuture()
        self._task = _task

    def wait(self) -> Any:
        """Block until the value is ready and return it (or raise the task's exception)."""
        if self._task is not None and threading.current_thread().name.startswith(_PREFIX):
            self._task.run()    # NOTE: a worker waiting on an unstarted task runs it (no deadlock)
        return self._inner.result()

    def value(self) -> Any:
        """The value of a completed future (raises its exception if it failed)."""
        if not self._inner.done():
            raise RuntimeError("Future.value() called before the future completed; call "
                               "wait() first")
        return self._inner.result()

    def done(self) -> bool:
        return self._inner.done()

    def set_result(self, result: Any) -> None:
        self._inner.set_result(result)

    def set_exception(self, exc: BaseException) -> None:
        self._inner.set_exception(exc)

    def then(self, callback: Callable[[Future], Any]) -> Future:
        """A future of ``callback(self)``, run when this one completes."""
        out = Future()

        def run(_):
            try:
                out.set_result(callback(self))
            except BaseException as e:  # noqa: BLE001 - handed to the waiter, as PyTorch does
                out.set_exception(e)

        self._inner.add_done_callback(run)
        return out

    def add_done_callback(self, callback: Callable[[Future], None]) -> None:
        self._inner.add_done_callback(lambda _: callback(self))

    def __repr__(self) -> str:
        state = "done" if self.done() else "pending"
        return f"<graphtorch.jit.Future {state}>"


def fork(fn: Callable, *args, **kwargs) -> Future:
    """Run ``fn(*args, **kwargs)`` asynchronously on the inter-op pool."""
    if not callable(fn):
        raise TypeError(f"fork expects a callable, not a {type(fn).__name__}")
    enabled = grad_mode.is_grad_enabled()

    def call():
        before = grad_mode.STATE.enabled
        grad_mode.STATE.enabled = enabled
        try:
            return fn(*args, **kwargs)
        finally:
            grad_mode.STATE.enabled = before    # NOTE: the task may run inline in a waiter

    task = _Task(call)
    _pool().submit(task.run)
    return Future(task.result, task)


def wait(future: Future) -> Any:
    """The value of ``future``, blocking until it is ready."""
    if not isinstance(future, Future):
        raise TypeError(f"wait expects a Future, not a {type(future).__name__}")
    return future.wait()


def collect_all(futures: list[Future]) -> Future:
    """A future of the list of ``futures`` (each completed) once all complete."""
    out = Future()
    futures = list(futures)
    if not futures:
        out.set_result([])
        return out
    remaining = [len(futures)]
    lock = threading.Lock()

    def one(_):
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            out.set_result(futures)

    for f in futures:
        f.add_done_callback(one)
    return out


def wait_all(futures: list[Future]) -> list:
    """The values of ``futures``, in order."""
    return [f.wait() for f in futures]
