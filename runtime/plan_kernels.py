"""Plan-local kernels: where the compiled plan calls something faster than an op's eager kernel.

``linear`` runs as one 2-D GEMM over the flattened rows (``x.reshape(-1, in) @ W.T``) and
reshapes the product back. numpy's ``matmul`` of an N-d array by a matrix loops over the
leading dimensions with one small GEMM each; when the input is a transposed view
(``MultiheadAttention``'s ``query.transpose(0, 1)``: 128 GEMMs of 8 rows) that is ~4x slower
than copying the rows once and calling BLAS once. Inside a loop (an RNN cell stepped over
time), the weight's contiguous transpose is made once per plan call (:func:`weight_t`, hoisted
to the plan's top) when the graph never writes a tensor in place. Same checks, same result up
to BLAS summation order.

``chunk`` (a composite: eager runs its decomposition through dispatch) is the views of its
``split`` on arrays (an LSTM cell's four gates, each step), with the eager errors.
"""

from __future__ import annotations

import numpy as np

from graphtorch.ops.meta import normalize_dim
from graphtorch.ops.nn_ops import _linear_kernel
from graphtorch.ops.shape_ops import _chunk_size, _split
from graphtorch.runtime import c_conv, c_epilogue

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def linear_flat(xp, x, w, b=None, wt=None):
    """``linear(x, w, b)``; ``wt``: ``w.T`` made contiguous (or None). Shapes and dtypes the
    fast path does not cover (and every error) take the eager kernel."""
    if (type(x) is np.ndarray and type(w) is np.ndarray and x.ndim >= 2 and w.ndim == 2
            and x.dtype in _FLOATS and w.dtype == x.dtype and x.shape[-1] == w.shape[1]
            and (x.ndim == 2 or x.size)
            and (b is None or (type(b) is np.ndarray and b.dtype == x.dtype
                               and b.shape in ((), (1,), (w.shape[0],))))):
        if x.ndim == 2 and not x.flags.c_contiguous:  # an epilogue's F-ordered result
            out = c_epilogue.linear_of_transposed(x, w, b)
            if out is not None:
                return out
        lead = x.shape[:-1]
        x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
        out = x2 @ (wt if wt is not None else w.T)
        if b is not None:
            out += b  # NOTE: in place on a fresh product
        return out if x.ndim == 2 else out.reshape(*lead, w.shape[0])
    return _linear_kernel(xp, x, w, b)


def weight_t(w):
    """``w.T`` as a contiguous array for :func:`linear_flat` (None: not a float matrix)."""
    if type(w) is np.ndarray and w.ndim == 2 and w.dtype in _FLOATS:
        return np.ascontiguousarray(w.T)
    return None


def writes_in_place(graph) -> bool:
    """Whether any node may write a tensor in place (conservative: by kind)."""
    for n in graph.walk():
        k = n.kind
        low = k.lower()
        if k.endswith("_") or k == "prim::PythonOp" or k.startswith("prim::Call") \
                or any(w in low for w in ("inplace", "set", "copy")):
            return True
    return False


def hoistable_weight(op, node, graph) -> bool:
    """``linear`` whose weight is a graph input (its transpose can be made once per call when
    the graph never writes in place)."""
    return (KERNELS.get(op.kernel) is linear_flat and len(node.inputs) >= 2
            and node.inputs[1] in graph.inputs)


def chunk_views(xp, x, chunks, dim=0):
    """``chunk(x, chunks, dim)`` on an array: ``split`` views of ``ceil(size / chunks)``."""
    if type(x) is np.ndarray and type(chunks) is int and chunks > 0 and type(dim) is int \
            and -x.ndim <= dim < x.ndim and x.shape[dim]:   # NOTE: an RNN cell's gates, each step
        d = dim % x.ndim
        n = x.shape[d]
        size, lead = (n + chunks - 1) // chunks, (slice(None),) * d
        return [x[lead + (slice(o, o + size),)] for o in range(0, n, size)]
    d = normalize_dim(dim, x.ndim, "chunk")
    return _split(xp, x, _chunk_size(x.shape[d], chunks), d)


# an op's eager kernel -> the plan's replacement (small 2-D convolutions: c_conv.py)
KERNELS = {_linear_kernel: linear_flat, **c_conv.KERNELS}
COMPOSITES = {"chunk": chunk_views}  # a composite op's name -> the plan's kernel for it
