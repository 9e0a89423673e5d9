"""Fused optimizer steps as C kernels, registered with ``graphtorch.optim._fused`` on import.

SGD's numpy step makes four passes over a parameter with a momentum buffer (``buf *= m``,
``buf += g``, ``t = lr * buf``, ``p -= t``): about 40 bytes of memory traffic per element. The C
step is one loop reading the parameter, its gradient and its buffer once and writing the
parameter and the buffer once (20 bytes per element): the MLP 784-512-512-10's step (670k
floats, out of cache after the backward) takes 0.35 ms against 0.59 ms
(``benchmarks/train_phases.py``).

Each kernel is generated for one dtype (float32 or float64) and one set of options (maximize,
weight decay, momentum, dampening, Nesterov), so the loop has no branches and vectorizes. It
does exactly the numpy step's operations in the same order and precision: it is compiled
without ``-ffast-math`` and with ``-ffp-contract=off`` (no fused multiply-add), so the results
are bit for bit those of the numpy step (tests/optim/test_fused_sgd.py). Scalars are taken only
as Python floats or ints (numpy rounds those to the array's dtype, as ``(float)`` does in C);
other dtypes, non-contiguous or overlapping arrays, or no C compiler (checked when a kernel is
first needed): the numpy step runs.
"""

from __future__ import annotations

import ctypes

import numpy as np

from graphtorch.optim import _fused
from graphtorch.runtime import c_backend
from graphtorch.runtime.c_launch import address, launcher

FLAGS = ("-O2", "-fvect-cost-model=dynamic", "-march=native", "-ffp-contract=off", "-fPIC",
         "-shared", "-std=gnu11")
_CTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_KERNELS: dict[tuple, int | None] = {}
_LIBS: list[ctypes.CDLL] = []  # NOTE: loaded libraries stay referenced while their code runs
_LAUNCH: list = []  # the launcher, taken when the first kernel is built


def sgd_source(ctype: str, maximize: bool, decay: bool, momentum: bool, damp: bool,
               nesterov: bool) -> str:
    """The C source of one SGD step variant (``P``: param, grad, momentum buffer; ``I``: the
    element count; ``D``: lr, momentum, 1 - dampening, weight decay), the numpy step's
    operations in its order: ``g = -g``; ``g = g + wd * p``; ``b = b * m``; ``b = b + d * g``;
    ``g = g + m * b`` (Nesterov) or ``g = b``; ``p = p - lr * g``."""
    body = [f"{ctype} gi = g[i];"]
    if maximize:
        body.append("gi = -gi;")
    if decay:
        body.append("gi = gi + wd * p[i];")
    if momentum:
        body.append(f"{ctype} bi = b[i] * m;")
        body.append("bi = bi + d * gi;" if damp else "bi = bi + gi;")
        body.append("b[i] = bi;")
        body.append("gi = gi + m * bi;" if nesterov else "gi = bi;")
    body.append("p[i] = p[i] - lr * gi;")
    loop = "\n    ".join(body)
    return f"""#include <stdint.h>
void kernel(void *const *P, const int64_t *I, const double *D) {{
  {ctype} *restrict p = ({ctype} *)P[0];
  const {ctype} *restrict g = (const {ctype} *)P[1];
  {ctype} *restrict b = ({ctype} *)P[2];
  const {ctype} lr = ({ctype})D[0], m = ({ctype})D[1], d = ({ctype})D[2], wd = ({ctype})D[3];
  (void)b; (void)m; (void)d; (void)wd;
  const int64_t n = I[0];
  for (int64_t i = 0; i < n; i++) {{
    {loop}
  }}
}}
"""


def _kernel(key: tuple) -> int | None:
    """The address of the kernel for ``key`` (built on first use); None: it cannot be built
    (no C compiler, or ``GT_CPU_BACKEND=numpy`` when it is first needed)."""
    fn = None
    if c_backend.available():
        try:
            src = sgd_source(*key)
            try:
                lib = ctypes.CDLL(str(c_backend.build(src, FLAGS)))
            except OSError:  # NOTE: removed by a cache prune between build and load: again
                lib = ctypes.CDLL(str(c_backend.build(src, FLAGS)))
            _LIBS.append(lib)
            fn = address(lib)
            if not _LAUNCH:
                _LAUNCH.append(launcher())
        except (c_backend.CompileError, OSError):
            fn = None
    _KERNELS[key] = fn
    return fn


def _exact(x) -> bool:
    """A Python float, or an int numpy and C both convert exactly (|x| < 2**53)."""
    t = type(x)
    return t is float or t is int and -2 ** 53 < x < 2 ** 53


def sgd_step(p, g, buf, lr, momentum, dampening, weight_decay, nesterov: bool,
             maximize: bool) -> bool:
    """One SGD update of the array ``p`` in place from its gradient ``g`` (and its momentum
    buffer ``buf``, updated in place; None without momentum), as the numpy step computes it.
    False (nothing written): these arrays or scalars are not covered."""
    # NOTE: checks in order of cost: this runs per parameter per step (~2 us)
    ctype = _CTYPES.get(p.dtype) if type(p) is np.ndarray else None
    if ctype is None or type(g) is not np.ndarray or g.dtype != p.dtype or g.shape != p.shape \
            or not (_exact(lr) and _exact(momentum) and _exact(dampening)
                    and _exact(weight_decay)):
        return False
    pf, gf = p.flags, g.flags
    if not (pf.c_contiguous and pf.writeable and gf.c_contiguous):
        return False
    with_buf = momentum != 0
    if with_buf:
        if type(buf) is not np.ndarray or buf.dtype != p.dtype or buf.shape != p.shape:
            return False
        bf = buf.flags
        if not (bf.c_contiguous and bf.writeable) or np.may_share_memory(buf, p) \
                or np.may_share_memory(buf, g):
            return False
    if np.may_share_memory(p, g):
        return False
    damp = 1 - dampening
    key = (ctype, bool(maximize), weight_decay != 0, with_buf, with_buf and damp != 1,
           with_buf and bool(nesterov))
    fn = _KERNELS[key] if key in _KERNELS else _kernel(key)
    if fn is None:
        return False
    _LAUNCH[0](fn, (p, g, buf if with_buf else p), (p.size,),
               (float(lr), float(momentum), float(damp), float(weight_decay)))
    return True


_fused.provide("sgd", sgd_step)
