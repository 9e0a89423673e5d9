"""Plan-local kernels: where the compiled plan calls something faster than an op's eager kernel.

``linear`` on an input with more than two dimensions runs as one 2-D GEMM over the flattened
rows (``x.reshape(-1, in) @ W.T``) and reshapes the product back. numpy's ``matmul`` of an
N-d array by a matrix loops over the leading dimensions with one small GEMM each; when the
input is a transposed view (``MultiheadAttention``'s ``query.transpose(0, 1)``: 128 GEMMs of
8 rows) that is ~4x slower than copying the rows once and calling BLAS once. Same checks, same
result up to BLAS summation order (one GEMM instead of per-batch ones).
"""

from __future__ import annotations

import numpy as np

from graphtorch.ops.nn_ops import _linear_kernel


def linear_flat(xp, x, w, b=None):
    """``linear(x, w, b)``: one 2-D GEMM for an N-d ``x`` (N > 2), else the eager kernel."""
    if (type(x) is np.ndarray and x.ndim > 2 and x.size and type(w) is np.ndarray
            and w.ndim == 2 and x.shape[-1] == w.shape[1]
            and (b is None or (type(b) is np.ndarray and b.shape in ((), (1,), (w.shape[0],))))):
        lead = x.shape[:-1]
        out = _linear_kernel(xp, x.reshape(-1, x.shape[-1]), w, b)
        return out.reshape(*lead, w.shape[0])
    return _linear_kernel(xp, x, w, b)


KERNELS = {_linear_kernel: linear_flat}  # an op's eager kernel -> the plan's replacement
