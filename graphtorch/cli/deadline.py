"""``--timeout SECONDS`` for the CLI: stop a command that runs too long, with one line.

Two layers, because numpy work cannot be interrupted from Python:

- a ``SIGALRM`` timer (main thread only) raises :class:`Timeout` at the next Python bytecode,
  which unwinds normally (files closed, temporary files removed);
- a watchdog thread gives that ``GRACE_S`` seconds more; if the main thread is still stuck in
  one long native call (a huge matmul), it prints the same line and ends the process with
  ``os._exit``. Nothing is being written at that point: commands stop the deadline
  (:func:`stop`) before they write their output files.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

EXIT_TIMEOUT = 124            # the exit status of coreutils' timeout(1)
GRACE_S = 2.0                 # after the alarm, how long a native call may take to return


class Timeout(BaseException):
    """The command ran past ``--timeout``. A BaseException, like KeyboardInterrupt, so that
    ``except Exception`` inside model code does not swallow it."""


class Deadline:
    """Arms the alarm and the watchdog for ``seconds``; ``cancel()`` disarms both."""

    def __init__(self, seconds: float, message: str):
        self.seconds, self.message = seconds, message
        self._done = threading.Event()
        self._previous = None
        self._alarm = False
        self._watchdog: threading.Thread | None = None

    def start(self) -> None:
        if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGALRM, self._on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self._alarm = True
        self._watchdog = threading.Thread(target=self._watch, name="graphtorch-timeout",
                                          daemon=True)
        self._watchdog.start()

    def cancel(self) -> None:
        if self._done.is_set():
            return
        self._done.set()
        if self._alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)
            self._alarm = False

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if not self._done.is_set():
            raise Timeout(self.message)

    def _watch(self) -> None:
        if self._done.wait(self.seconds + GRACE_S):
            return
        # NOTE: the main thread is stuck in native code and cannot take the exception
        try:
            sys.stderr.write(self.message + "\n")
            sys.stderr.flush()
        finally:
            os._exit(EXIT_TIMEOUT)


_active: list[Deadline] = []


def start(seconds: float, message: str) -> Deadline:
    """Arm a deadline for the current command (one at a time)."""
    stop()
    deadline = Deadline(seconds, message)
    _active.append(deadline)
    deadline.start()
    return deadline


def stop() -> None:
    """Disarm the current deadline, if any (before writing output files, and at exit)."""
    while _active:
        _active.pop().cancel()
