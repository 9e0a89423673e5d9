"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``."""

from __future__ import annotations

import functools
import threading


class _GradState(threading.local):
    def __init__(self):
        self.enabled = True


STATE = _GradState()


def is_grad_enabled() -> bool:
    return STATE.enabled


class _GradModeContext:
    """A context manager that is also a decorator, like PyTorch's."""

    _mode: bool

    def __enter__(self):
        self._prev = STATE.enabled
        STATE.enabled = self._mode
        return self

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):  # noqa: N801 - PyTorch name
    """Disable gradient recording inside the block or decorated function."""

    _mode = False


class enable_grad(_GradModeContext):  # noqa: N801
    """Enable gradient recording inside the block (e.g. inside ``no_grad``)."""

    _mode = True


class inference_mode(no_grad):  # noqa: N801
    """Same as ``no_grad`` in graphtorch (there is no separate inference tensor kind)."""

    def __init__(self, mode: bool = True):
        self._mode = not mode

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class set_grad_enabled(_GradModeContext):  # noqa: N801
    """Set grad mode now (function form) or for a block (context-manager form)."""

    def __init__(self, mode: bool):
        self._mode = bool(mode)
        self._prev = STATE.enabled
        STATE.enabled = self._mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        mode = self._mode
        STATE.enabled = self._prev

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper
