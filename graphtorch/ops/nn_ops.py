"""Neural-network ops: linear, embedding, one_hot, pad (one block per op).

Activations live in ``ops/activations.py``, normalizations in ``ops/normalization.py`` and losses
in ``ops/losses.py``; this file imports them so importing ``graphtorch.ops`` registers them all.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.errors import ShapeError
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import OpKind, Promotion, SampleInput, Saves, register


def _float_only(samples):
    def wrapped(dtype=dtypes.float64):
        return samples(dtype) if dtype.is_floating_point else []

    return wrapped


# --- linear: composite (matmul + add) with a direct kernel and vjp for eager speed ----------------
def _check_linear(x_shape, w_shape) -> None:
    if len(w_shape) not in (1, 2):
        raise ShapeError(f"linear(): weight must be 1-D or 2-D, got {len(w_shape)}-D")
    k = w_shape[-1]
    if x_shape and isinstance(x_shape[-1], int) and isinstance(k, int) and x_shape[-1] != k:
        rows = 1
        for d in x_shape[:-1]:
            rows = rows * d if isinstance(d, int) else rows
        out = w_shape[0] if len(w_shape) == 2 else 1
        raise ShapeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x_shape[-1]} and "
                         f"{k}x{out})")


def _linear_decomposition(x, w, b):
    _check_linear(tuple(x.shape), tuple(w.shape))
    out = x.matmul(w.t() if w.ndim == 2 else w)
    return out if b is None else out + b


def _linear_kernel(xp, x, w, b):
    _check_linear(x.shape, w.shape)
    out = x @ (w.T if w.ndim == 2 else w)
    if b is not None:
        out += b  # NOTE: in place on a fresh product; saves one temporary
    return out


def _linear_meta(x, w, b=None):
    _check_linear(tuple(x.shape), tuple(w.shape))
    lead = tuple(x.shape[:-1])
    return TensorMeta(x.dtype, lead + ((w.shape[0],) if len(w.shape) == 2 else ()), x.device)


def _linear_vjp(ctx, g):
    x, w, b = ctx.args
    if w.ndim == 1:
        g = g.unsqueeze(-1)
        w2 = w.unsqueeze(0)
    else:
        w2 = w
    gx = g.matmul(w2)
    out_f, in_f = w2.shape
    g2 = g.reshape([-1, out_f])
    gw = g2.t().matmul(x.reshape([-1, in_f])).reshape(tuple(w.shape))
    gb = None
    if b is not None:
        gb = g2.sum(0) if b.ndim == 1 else g2.sum().reshape(tuple(b.shape))
    return gx, gw, gb


def _linear_samples(dtype):
    m = SampleMaker(40)
    t = m.tensor
    return [SampleInput((t((3, 4), dtype), t((5, 4), dtype), t((5,), dtype)), name="bias"),
            SampleInput((t((2, 3, 4), dtype), t((2, 4), dtype)), name="batched_no_bias"),
            SampleInput((t((4,), dtype), t((3, 4), dtype), t((3,), dtype)), name="vector")]


register("linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor", OpKind.COMPOSITE,
         decomposition=_linear_decomposition, kernel=_linear_kernel, meta=_linear_meta,
         vjp=_linear_vjp, samples=_float_only(_linear_samples), saves=Saves.INPUTS,
         promotion=Promotion.NONE, backward_name="AddmmBackward0",
         torch_ref=lambda torch, x, w, b=None: torch.nn.functional.linear(x, w, b),
         doc="y = x @ weight.T + bias")


# --- QR (for nn.init.orthogonal_) ----------------------------------------------------------------
def _qr(xp, a, mode):
    if a.ndim < 2:
        raise ShapeError("linalg.qr: The input tensor A must have at least 2 dimensions.")
    q, r = xp.linalg.qr(a, mode=mode)
    return q, r


def _qr_meta(a, mode="reduced"):
    *batch, m, n = a.shape
    k = min(m, n) if isinstance(m, int) and isinstance(n, int) else None
    q_cols = m if mode == "complete" else k
    return (TensorMeta(a.dtype, tuple(batch) + (m, q_cols), a.device),
            TensorMeta(a.dtype, tuple(batch) + (q_cols if mode == "complete" else k, n),
                       a.device))


register("linalg_qr(Tensor A, str mode='reduced') -> (Tensor Q, Tensor R)", OpKind.OPAQUE,
         kernel=_qr, meta=_qr_meta, differentiable=False, saves=Saves.NOTHING,
         torch_ref=lambda torch, a, mode="reduced": tuple(torch.linalg.qr(a, mode=mode)),
         samples=_float_only(lambda dtype: [
             SampleInput((SampleMaker(41).tensor((5, 3), dtype),), name="tall"),
             SampleInput((SampleMaker(41).tensor((3, 4), dtype),), name="wide")]))
