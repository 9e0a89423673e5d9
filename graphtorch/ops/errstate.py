"""numpy's floating-point error state, switched off cheaply around kernels.

PyTorch returns inf and nan without warnings; numpy warns unless told otherwise.
"""

from __future__ import annotations

import numpy as np


def _ignore_state():
    # NOTE: np.errstate costs ~1.5 us per use, as much as a whole small-tensor op. numpy 2 keeps
    # the error state in a context variable; setting it to a prebuilt "ignore all" value is what
    # errstate does, at ~0.1 us. None (use errstate) if numpy ever moves it.
    try:
        from numpy._core._ufunc_config import _extobj_contextvar
    except ImportError:  # pragma: no cover - depends on the numpy version
        return None
    with np.errstate(all="ignore"):
        return _extobj_contextvar, _extobj_contextvar.get()


IGNORE_STATE = _ignore_state()


def quiet(fn):
    """Wrap kernel ``fn(xp, *args)`` so numpy stays silent on nan/inf/overflow, as PyTorch does."""
    if IGNORE_STATE is None:  # pragma: no cover
        def slow_kernel(xp, *args):
            with np.errstate(all="ignore"):
                return fn(xp, *args)
        return slow_kernel
    var, ignore = IGNORE_STATE

    def kernel(xp, *args):
        token = var.set(ignore)
        try:
            return fn(xp, *args)
        finally:
            var.reset(token)

    return kernel
