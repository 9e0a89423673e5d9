"""Launching a Triton kernel: the interpreter, Triton's own launch, or a thin precompiled one.

``kernel[grid](*args)`` costs ~20-25 us of Python per call on a GPU (binding the arguments,
computing the specialization key, looking the compiled kernel up, reading the stream). A
:class:`Launch` pays that once per *specialization* and then calls the compiled kernel's
launcher directly (``CompiledKernel.run(grid, stream, function, packed_metadata, hooks,
*args)``, the call Triton's own ``JITFunction.run`` ends with in 3.6 and 3.9): a few us.

The specialization key is what Triton specializes on and our caller does not fix: each
pointer's 16-byte alignment and each integer's class (1, a multiple of 16, 32- or 64-bit).
Dtypes are fixed per :class:`Launch` by the caller's own cache; the constexprs, ``num_warps``
and the current device are part of the key too. The thin path is
used only when the compiled kernel has the attributes it calls and no launch hook is set (a
profiler's); otherwise, or with ``GT_TRITON_THIN=0``, every call takes Triton's launch.
"""

from __future__ import annotations

import os

import numpy as np

_THIN_ATTRS = ("run", "function", "packed_metadata")


def int_class(v: int) -> tuple:
    """What Triton specializes an integer argument on."""
    return (v == 1, v % 16 == 0, -(2**31) <= v < 2**31)


def arg_key(ptrs: list, ints: list) -> tuple:
    return tuple(p.data_ptr() % 16 == 0 for p in ptrs) + tuple(int_class(v) for v in ints)


def _hooks_set() -> bool:
    """Whether a launch hook (a profiler's) is set: Triton 3.6 keeps a function or None, 3.9 a
    chain of hooks (``HookChain.calls``), empty by default."""
    try:
        from triton import knobs  # NOTE: triton is imported by the caller already (kernel made)
    except ImportError:   # pragma: no cover - a Triton without knobs: no thin launches
        return True
    hooks = (knobs.runtime.launch_enter_hook, knobs.runtime.launch_exit_hook)
    return any(h is not None and getattr(h, "calls", True) for h in hooks)


def _cupy_stream() -> int:
    import cupy  # NOTE: an optional dependency (the cuda12/cuda13 extras): CUDA launches only

    return cupy.cuda.get_current_stream().ptr


def _cupy_device() -> int:
    import cupy  # NOTE: as in _cupy_stream

    return cupy.cuda.runtime.getDevice()


class Launch:
    """One kernel (a jitted function) and its compiled variants, launched by grid and args.

    ``backend``: "interpreter" (numpy arrays, Triton's CPU interpreter) or "cuda".
    ``stream`` and ``device``: callables giving the current CUDA stream and device (CuPy's by
    default); a compiled kernel is loaded on one device, so the device is part of the key.
    """

    def __init__(self, fn, backend: str, path: str = "", stream=None, device=None):
        self.fn = fn
        self.backend = backend
        self.path = path
        self.stream = stream or _cupy_stream
        self.device = device or _cupy_device
        self.compiled: dict = {}     # specialization key -> compiled kernel (False: no thin path)
        self.thin_calls = 0
        self.triton_calls = 0

    def __call__(self, grid: tuple, ptrs: list, ints: list, consts: dict, num_warps: int) -> None:
        if self.backend == "interpreter":
            with np.errstate(all="ignore"):
                self.fn[grid](*ptrs, *ints, **consts)
            return
        key = (arg_key(ptrs, ints), tuple(consts.values()), num_warps, self.device())
        kernel = self.compiled.get(key)
        if kernel:
            g = (*grid, 1, 1)
            self.thin_calls += 1
            kernel.run(g[0], g[1], g[2], self.stream(), kernel.function, kernel.packed_metadata,
                       None, None, None, *ptrs, *ints, *consts.values())
            return
        self.triton_calls += 1
        compiled = self.fn[grid](*ptrs, *ints, **consts, num_warps=num_warps)
        if kernel is None:
            in_order = self._in_order(len(ptrs) + len(ints), consts)
            self.compiled[key] = thin_capable(compiled) if in_order else False

    def _in_order(self, n_positional: int, consts: dict) -> bool:
        """Whether the kernel's parameters are the positional arguments then ``consts``, in
        that order: the thin path passes every argument positionally (as ``JITFunction.run``
        passes its bound arguments)."""
        names = getattr(self.fn, "arg_names", None)
        if names is None:
            return True
        return len(names) == n_positional + len(consts) and \
            list(names[n_positional:]) == list(consts)

    def describe(self) -> str:
        return f"{self.thin_calls} thin / {self.triton_calls} Triton launches"


def thin_capable(compiled):
    """``compiled`` when later launches may call it directly, else False."""
    if os.environ.get("GT_TRITON_THIN", "1") == "0" or compiled is None:
        return False
    if not all(hasattr(compiled, a) for a in _THIN_ATTRS) or _hooks_set():
        return False
    return compiled
