"""Row reductions over the last dim as Triton kernels: run one on a numpy or CuPy array.

``run_rows(op, x, weight=None, bias=None, eps=1e-5)`` computes ``op`` (sum, mean, amax,
softmax, log_softmax, layer_norm, rms_norm; see :mod:`.row_source`) over the last dim of ``x``
(float16, bfloat16, float32 or float64; fp32 accumulation for the 16-bit types). numpy inputs
run under Triton's interpreter, CuPy inputs on the GPU. A row that fits ``max_block`` columns
(the default: 8192, 4096 for float64) runs the persistent kernel, a longer one the looped kernel.
Anything else (an integer dtype, an empty row, a weight of another shape or dtype) raises
UnsupportedError before any launch, so a caller can run the eager kernel instead.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from graphtorch.errors import UnsupportedError

from . import source_cache
from .cupy_driver import CupyArg, install
from .numpy_adapter import NumpyArg
from .row_source import REDUCTIONS, RowSpec, check, generate
from .thin_launch import Launch

GPU_MAX_BLOCK = {"float64": 4096}   # elements of one persistent row (others: DEFAULT)
DEFAULT_MAX_BLOCK = 8192
LOOP_BLOCK = 2048                   # chunk of a looped row on the GPU
GPU_TILE = 2048                     # elements a persistent program aims to hold (short rows)
INTERPRETER_TILE = 1 << 16          # the interpreter: fewer, larger programs (numpy does the work)

_KERNELS: dict = {}


def _next_pow2(n: int) -> int:
    return 1 << max(n - 1, 0).bit_length()


def dtype_name(array, dtype: str | None = None) -> str:
    """The storage dtype of ``array`` (``dtype`` overrides it: a uint16 CuPy array holding
    bfloat16 bits, since CuPy has no bfloat16)."""
    return dtype or np.dtype(array.dtype).name


def kernel_for(spec: RowSpec, backend: str) -> Launch:
    """The launchable kernel of ``spec`` on ``backend`` ("interpreter" or "cuda"), cached per
    process; the source file is cached on disk under its content hash."""
    key = (spec, backend, str(source_cache.cache_dir()))
    hit = _KERNELS.get(key)
    if hit is not None:
        return hit
    text = generate(spec)
    stem = f"{spec.name()}_{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    path = source_cache.write_source(stem, text)
    # NOTE: triton takes ~0.35 s to import and is a Linux-only dependency: loaded on first use
    if backend == "interpreter":
        from triton.runtime.interpreter import InterpretedFunction as jit
    else:
        import triton

        jit = triton.jit
    mod = source_cache.load_module(path, jit, backend)
    hit = _KERNELS[key] = Launch(getattr(mod, spec.name()), backend, str(path))
    return hit


def plan_launch(op: str, shape: tuple, dtype: str, backend: str, *, weight: bool = False,
                bias: bool = False, eps: float = 1e-5, max_block: int | None = None):
    """(spec, grid, constexprs, num_warps) of one launch over rows of ``shape[-1]``."""
    if not shape or shape[-1] == 0:
        raise UnsupportedError(f"{op} over an empty last dim has no Triton row kernel")
    n = shape[-1]
    rows = math.prod(shape[:-1])
    limit = max_block or GPU_MAX_BLOCK.get(dtype, DEFAULT_MAX_BLOCK)
    block_n = _next_pow2(n)
    persistent = block_n <= limit
    spec = RowSpec(op, dtype, persistent, weight, bias, float(eps))
    check(spec)
    tile = INTERPRETER_TILE if backend == "interpreter" else GPU_TILE
    if persistent:
        block_r = max(1, min(_next_pow2(rows), tile // block_n))
        grid = (math.ceil(rows / block_r),)
        consts = {"BLOCK_R": block_r, "BLOCK_N": block_n}
        elems = block_r * block_n
    else:
        chunk = min(limit, LOOP_BLOCK if backend != "interpreter" else limit)
        consts = {"BLOCK_N": chunk, "N_CHUNKS": math.ceil(n / chunk)}
        grid, elems = (rows,), chunk
    warps = 4 if elems <= 1024 else 8 if elems <= 4096 else 16
    return spec, grid, consts, warps


def run_rows(op: str, x, weight=None, bias=None, eps: float = 1e-5, *,
             dtype: str | None = None, max_block: int | None = None, out=None):
    """``op`` over the last dim of ``x`` (a numpy or CuPy array): a new array of ``x``'s shape
    (without the last dim for sum/mean/amax), or ``out`` filled.

    >>> import numpy as np
    >>> y = run_rows("softmax", np.array([[0.0, 0.0], [1.0, 1.0]], dtype=np.float32))
    >>> y.tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    cuda = not isinstance(x, np.ndarray)
    backend = "cuda" if cuda else "interpreter"
    name = dtype_name(x, dtype)
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and (tuple(t.shape) != (x.shape[-1],) or dtype_name(t, dtype) != name
                              or isinstance(t, np.ndarray) == cuda):
            raise UnsupportedError(f"{op}: the {what} must be a {name} vector of "
                                   f"{x.shape[-1]} values on the input's device")
    spec, grid, consts, warps = plan_launch(op, tuple(x.shape), name, backend,
                                            weight=weight is not None, bias=bias is not None,
                                            eps=eps, max_block=max_block)
    xp = _cupy() if cuda else np
    n = x.shape[-1]
    rows = math.prod(x.shape[:-1])
    x2 = x.reshape(rows, n) if x.ndim != 2 else x
    if x2.strides[-1] != x2.itemsize or x2.strides[0] % x2.itemsize or rows == 0:
        x2 = xp.ascontiguousarray(x2)
    shape = x.shape[:-1] if op in REDUCTIONS else x.shape
    y = out if out is not None else xp.empty(shape, dtype=x.dtype)
    if rows == 0:
        return y
    sx = x2.strides[0] // x2.itemsize if rows > 1 else n
    wrap = (lambda a: CupyArg(a, name)) if cuda else NumpyArg
    ptrs = [wrap(x2), wrap(y)] + [wrap(t) for t in (weight, bias) if t is not None]
    if cuda:
        install()
    kernel_for(spec, backend)(grid, ptrs, [rows, n, sx], consts, warps)
    return y


def _cupy():
    import cupy  # NOTE: an optional dependency (the cuda12/cuda13 extras): CUDA inputs only

    return cupy
