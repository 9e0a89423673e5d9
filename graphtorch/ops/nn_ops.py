"""Neural-network ops: linear, embedding, one_hot, pad (one block per op).

Activations live in ``ops/activations.py``, normalizations in ``ops/normalization.py``, losses
in ``ops/losses.py`` (cross_entropy and nll_loss in their own files); this file imports them so
importing ``graphtorch.ops`` registers them all.
"""

from __future__ import annotations

import math

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import DTypeError, ShapeError
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import (
    ANY,
    REGISTRY,
    OpKind,
    Promotion,
    SampleInput,
    Saves,
    register,
    saved,
)


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


def _check_linear_dtypes(x, w, b) -> None:
    # NOTE: .name works on both numpy dtypes (kernel) and graphtorch dtypes (decomposition)
    names = dtypes.SCALAR_TYPE_NAMES
    if w.dtype.name != x.dtype.name:
        raise DTypeError(f"mat1 and mat2 must have the same dtype, but got "
                         f"{names[x.dtype.name]} and {names[w.dtype.name]}")
    if b is not None and b.dtype.name != x.dtype.name:
        raise DTypeError(f"self and mat2 must have the same dtype, but got "
                         f"{names[b.dtype.name]} and {names[x.dtype.name]}")


def _linear_decomposition(x, w, b):
    _check_linear(tuple(x.shape), tuple(w.shape))
    _check_linear_dtypes(x, w, b)
    if b is not None:
        _check_linear_bias(tuple(x.shape), tuple(w.shape), tuple(b.shape))
    out = x.matmul(w.t() if w.ndim == 2 else w)
    return out if b is None else out + b


def _check_linear_bias(x_shape, w_shape, b_shape) -> None:
    out = tuple(x_shape[:-1]) + ((w_shape[0],) if len(w_shape) == 2 else ())
    b_shape = tuple(b_shape)
    fits = len(b_shape) <= len(out) and all(
        bd in (1, od) for bd, od in zip(reversed(b_shape), reversed(out)))
    if not fits:
        dim = len(out) - 1
        raise ShapeError(f"The expanded size of the tensor ({out[-1] if out else 1}) must match "
                         f"the existing size ({b_shape[-1] if b_shape else 1}) at non-singleton "
                         f"dimension {dim}.  Target sizes: {list(out)}.  Tensor sizes: "
                         f"{list(b_shape)}")


def _linear_kernel(xp, x, w, b):
    _check_linear(x.shape, w.shape)
    _check_linear_dtypes(x, w, b)
    if b is not None:
        _check_linear_bias(x.shape, w.shape, b.shape)
    if x.ndim > 2 and w.ndim == 2 and x.size:
        # NOTE: one GEMM over the flattened rows; matmul of an N-d array runs one small GEMM per
        # leading index (4x slower on MultiheadAttention's transposed views)
        out = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(*x.shape[:-1], w.shape[0])
    else:
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
    # NOTE: no reshape to the same shape: a view would make autograd copy the weight's gradient
    gw = g2.t().matmul(x.reshape([-1, in_f]))
    if w.ndim == 1:
        gw = gw.reshape(tuple(w.shape))
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


# NOTE: PyTorch's grad_fn of linear: addmm/mm for matrices, a view of them otherwise
_LINEAR_NODE = {True: ("AddmmBackward0", "MmBackward0"),
                False: ("ViewBackward0", "UnsafeViewBackward0")}
register("linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor", OpKind.COMPOSITE,
         decomposition=_linear_decomposition, kernel=_linear_kernel, meta=_linear_meta,
         vjp=_linear_vjp, samples=_float_only(_linear_samples),
         saves=saved(input=ANY, weight=ANY),
         promotion=Promotion.NONE, backward_name=lambda a: _LINEAR_NODE[a[0].ndim == 2][
             a[2] is None],
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



# --- one_hot ------------------------------------------------------------------------------------
def _one_hot(xp, x, num_classes):
    if x.dtype != np.int64:
        raise DTypeError("one_hot is only applicable to index tensor of type LongTensor.")
    if x.size and int(x.min()) < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(x.max()) + 1 if x.size else 0
    elif x.size and int(x.max()) >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return (x[..., None] == xp.arange(num_classes)).astype(np.int64)


def _one_hot_meta(x, num_classes=-1):
    return TensorMeta(dtypes.int64, tuple(x.shape) + (num_classes if num_classes >= 0 else None,),
                      x.device)


def _one_hot_samples(dtype=dtypes.float64):
    if dtype is not dtypes.int64:
        return []
    m = SampleMaker(42)
    return [SampleInput((m.tensor((4,), dtype, 0, 5), 5), name="vector"),
            SampleInput((m.tensor((2, 3), dtype, 0, 3), 3), name="matrix")]


register("one_hot(Tensor input, int num_classes=-1) -> Tensor", OpKind.OPAQUE, kernel=_one_hot,
         meta=_one_hot_meta, samples=_one_hot_samples, differentiable=False,
         saves=Saves.NOTHING, torch_ref=lambda torch, x, n=-1: torch.nn.functional.one_hot(x, n))


# --- embedding: a gather of rows; its backward scatters into a zero weight -----------------------
def _scatter_add_rows(xp, out, idx, vals):
    if xp is np:
        np.add.at(out, idx, vals)
    else:
        import cupyx

        cupyx.scatter_add(out, idx, vals)
    return out


def _check_indices(idx, name="embedding") -> None:
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"Expected tensor for argument #1 'indices' to have one of the following "
                         f"scalar types: Long, Int; but got {dtypes.from_numpy(idx.dtype).name} "
                         f"instead (while checking arguments for {name})")


def _embedding(xp, weight, idx, padding_idx, scale_grad_by_freq, sparse):
    _check_indices(idx)
    # NOTE: negative indices are out of range too (PyTorch does not wrap them)
    if idx.size and (int(idx.max()) >= weight.shape[0] or int(idx.min()) < 0):
        raise IndexError("index out of range in self")
    return weight[idx]


def _embedding_backward(xp, g, idx, num_weights, padding_idx, scale_grad_by_freq):
    flat = idx.reshape(-1) % num_weights
    rows = g.reshape(flat.size, -1)
    if scale_grad_by_freq:
        counts = xp.bincount(flat, minlength=num_weights)
        rows = rows / counts[flat][:, None].astype(g.dtype)
    # NOTE: allocated in its final shape, written through a 2-d view: a reshaped result would be
    # a view, which autograd copies before making it the weight's gradient
    result = xp.zeros((num_weights,) + g.shape[idx.ndim:], dtype=g.dtype)
    out = result.reshape(num_weights, rows.shape[1])
    _scatter_add_rows(xp, out, flat, rows)
    if padding_idx is not None and padding_idx >= 0:
        out[padding_idx] = 0
    return result


def _embedding_vjp(ctx, g):
    weight, idx, padding_idx, scale, _ = ctx.args
    return (REGISTRY["_embedding_backward"](g, idx, weight.shape[0], padding_idx, scale), None)


def _embedding_backward_vjp(ctx, gg):
    g, idx, num_weights, padding_idx, scale = ctx.args
    if scale:
        raise NotImplementedError("double backward of embedding with scale_grad_by_freq=True is "
                                  "not supported by graphtorch")
    rows = REGISTRY["embedding"](gg, idx)
    if padding_idx is not None and padding_idx >= 0:
        keep = (idx != padding_idx).reshape(list(idx.shape) + [1] * (rows.ndim - idx.ndim))
        rows = rows.where(keep, 0.0)
    return rows, None


def _embedding_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(43)
    w = m.tensor((6, 3), dtype)
    return [SampleInput((w, m.tensor((2, 4), dtypes.int64, 0, 6)), name="matrix"),
            SampleInput((w, m.tensor((5,), dtypes.int64, 0, 6), 2), name="padding")]


def _embedding_backward_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(44)
    idx = m.tensor((2, 3), dtypes.int64, 0, 4)
    return [SampleInput((m.tensor((2, 3, 5), dtype), idx, 4, -1, False), name="plain"),
            SampleInput((m.tensor((2, 3, 5), dtype), idx, 4, 1, False), name="padding")]


register("embedding(Tensor weight, Tensor indices, int padding_idx=-1, "
         "bool scale_grad_by_freq=False, bool sparse=False) -> Tensor", OpKind.OPAQUE,
         kernel=_embedding, vjp=_embedding_vjp, samples=_embedding_samples,
         saves=saved(indices=ANY),
         meta=lambda w, idx, *rest: TensorMeta(w.dtype, tuple(idx.shape) + tuple(w.shape[1:]),
                                               w.device),
         promotion=Promotion.NONE)
register("_embedding_backward(Tensor grad, Tensor indices, int num_weights, int padding_idx, "
         "bool scale_grad_by_freq) -> Tensor", OpKind.OPAQUE, kernel=_embedding_backward,
         vjp=_embedding_backward_vjp, samples=_embedding_backward_samples,
         saves=saved(indices=ANY),
         meta=lambda g, idx, n, *rest: TensorMeta(g.dtype, (n,) + tuple(g.shape[len(idx.shape):]),
                                                  g.device),
         promotion=Promotion.NONE,
         torch_ref=lambda torch, *a: torch.ops.aten.embedding_dense_backward(*a))


# --- pad: constant / reflect / replicate / circular; the vjp is the adjoint op ------------------
_NP_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pad_pairs(ndim: int, pad) -> list[tuple[int, int]]:
    if len(pad) % 2:
        raise ShapeError("Padding length must be divisible by 2")
    if len(pad) // 2 > ndim:
        raise ShapeError("Padding length should be less than or equal to two times the input "
                         "dimension but got padding length " + f"{len(pad)} and input of "
                         f"dimension {ndim}")
    pairs = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        pairs[ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return pairs


def _source_index(xp, shape, d: int, before: int, after: int, mode: str):
    """For each output position along dim ``d``, the input position it reads (not constant)."""
    n = shape[d]
    if mode == "reflect" and (before >= n or after >= n):
        # NOTE: PyTorch numbers the pad arguments from the last dim: #4, #6, ...
        arg = 4 + 2 * (len(shape) - 1 - d)
        raise ShapeError(f"Argument #{arg}: Padding size should be less than the corresponding "
                         f"input dimension, but got: padding ({before}, {after}) at dimension "
                         f"{d} of input {list(shape)}")
    return np.pad(np.arange(n), (before, after), mode=_NP_MODES[mode])


def _check_mode(mode: str, ndim: int, npad: int) -> None:
    if mode == "constant":
        return
    if mode not in _NP_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if npad // 2 > 3 or ndim < npad // 2 + 1:
        raise NotImplementedError("Only 2D, 3D, 4D, 5D padding with non-constant padding are "
                                  "supported for now")


def _pad(xp, x, pad, mode, value):
    pairs = _pad_pairs(x.ndim, pad)
    _check_mode(mode, x.ndim, len(pad))
    if mode == "constant":
        crop = tuple(slice(max(-a, 0), x.shape[i] - max(-b, 0)) for i, (a, b) in enumerate(pairs))
        grow = [(max(a, 0), max(b, 0)) for a, b in pairs]
        return xp.pad(x[crop], grow, mode="constant", constant_values=value or 0)
    out = x
    for d, (a, b) in enumerate(pairs):
        if a or b:
            out = xp.take(out, xp.asarray(_source_index(xp, x.shape, d, a, b, mode)), axis=d)
    return out


def _pad_backward(xp, g, input_shape, pad, mode):
    pairs = _pad_pairs(len(input_shape), pad)
    if mode == "constant":
        crop = tuple(slice(max(a, 0), g.shape[i] - max(b, 0)) for i, (a, b) in enumerate(pairs))
        grow = [(max(-a, 0), max(-b, 0)) for a, b in pairs]
        return xp.pad(g[crop], grow, mode="constant")
    out = g
    for d, (a, b) in enumerate(pairs):
        if a or b:
            src = xp.asarray(_source_index(xp, tuple(input_shape), d, a, b, mode))
            moved = xp.moveaxis(out, d, 0)
            acc = xp.zeros((input_shape[d],) + moved.shape[1:], dtype=g.dtype)
            _scatter_add_rows(xp, acc, src, moved)
            out = xp.moveaxis(acc, 0, d)
    return xp.ascontiguousarray(out)


def _pad_meta(x, pad, mode="constant", value=None):
    pairs = _pad_pairs(len(x.shape), pad)
    shape = tuple(d + a + b if isinstance(d, int) else None for d, (a, b) in zip(x.shape, pairs))
    return TensorMeta(x.dtype, shape, x.device)


def _pad_backward_meta(g, input_shape, pad, mode):
    return TensorMeta(g.dtype, tuple(input_shape), g.device)


def _pad_samples(dtype=dtypes.float64):
    m = SampleMaker(45)
    t = m.tensor
    out = [SampleInput((t((2, 3), dtype), [1, 2]), name="constant"),
           SampleInput((t((2, 3, 4), dtype), [1, -1, 2, 0], "constant", 1.5), name="crop")]
    if dtype.is_floating_point:
        out += [SampleInput((t((1, 2, 4), dtype), [2, 1], "reflect"), name="reflect1d"),
                SampleInput((t((1, 2, 3, 4), dtype), [1, 2, 2, 1], "replicate"),
                            name="replicate2d"),
                SampleInput((t((1, 2, 3, 3), dtype), [1, 1, 2, 0], "circular"), name="circular")]
    return out


def _pad_backward_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(46)
    return [SampleInput((m.tensor((2, 6), dtype), [2, 3], [1, 2], "constant"), name="constant"),
            SampleInput((m.tensor((1, 2, 7), dtype), [1, 2, 4], [2, 1], "reflect"),
                        name="reflect")]


register("pad(Tensor input, int[] pad, str mode='constant', float? value=None) -> Tensor",
         OpKind.OPAQUE, kernel=_pad, meta=_pad_meta, samples=_pad_samples, saves=Saves.NOTHING,
         vjp=lambda ctx, g: (REGISTRY["_pad_backward"](g, list(ctx.args[0].shape), ctx.args[1],
                                                       ctx.args[2]),),
         promotion=Promotion.NONE, torch_ref=lambda torch, *a: torch.nn.functional.pad(*a))
register("_pad_backward(Tensor grad, int[] input_shape, int[] pad, str mode) -> Tensor",
         OpKind.OPAQUE, kernel=_pad_backward, meta=_pad_backward_meta,
         samples=_pad_backward_samples, saves=Saves.NOTHING, promotion=Promotion.NONE,
         vjp=lambda ctx, gg: (REGISTRY["pad"](gg, ctx.args[2], ctx.args[3]),),
         torch_ref=lambda torch, g, shape, pad, mode: _torch_pad_backward(torch, g, shape, pad,
                                                                          mode))


def _torch_pad_backward(torch, g, shape, pad, mode):
    x = torch.zeros(shape, dtype=g.dtype, requires_grad=True)
    out = torch.nn.functional.pad(x, pad, mode)
    (grad,) = torch.autograd.grad(out, x, g)
    return grad



# --- scaled_dot_product_attention: a composite (PyTorch's math reference) ---------------------
def _sdpa_decomposition(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                        enable_gqa=False):
    L, S = q.shape[-2], k.shape[-2]
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        reps = q.shape[-3] // k.shape[-3]
        k = _repeat_heads(k, reps)
        v = _repeat_heads(v, reps)
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q.matmul(k.transpose(-2, -1)) * factor
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                               "set when is_causal=True")
        rows = REGISTRY["arange"](L, device=q.device).unsqueeze(-1)
        attn_mask = rows >= REGISTRY["arange"](S, device=q.device).unsqueeze(0)
    if attn_mask is not None:
        if attn_mask.dtype is dtypes.bool_:
            scores = scores.where(attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = REGISTRY["softmax"](scores, -1)
    if attn_mask is not None and attn_mask.dtype is dtypes.bool_:
        # NOTE: a query row that may attend nowhere gets zeros, not NaN (PyTorch's safe softmax)
        weights = weights.where(attn_mask, 0.0)
    if dropout_p > 0.0:
        weights = REGISTRY["dropout"](weights, dropout_p, True)
    return weights.matmul(v)


def _repeat_heads(t, reps: int):
    shape = list(t.shape)
    expanded = t.unsqueeze(-3).expand(shape[:-3] + [shape[-3], reps] + shape[-2:])
    return expanded.reshape(shape[:-3] + [shape[-3] * reps] + shape[-2:])


def _sdpa_meta(q, k, v, *rest):
    return TensorMeta(q.dtype, tuple(q.shape[:-1]) + (v.shape[-1],), q.device)


def _sdpa_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(47)
    t = m.tensor
    q, k, v = t((2, 3, 4), dtype), t((2, 5, 4), dtype), t((2, 5, 6), dtype)
    return [SampleInput((q, k, v), name="plain"),
            SampleInput((t((1, 2, 4, 3), dtype), t((1, 2, 4, 3), dtype),
                         t((1, 2, 4, 3), dtype)), {"is_causal": True}, name="causal"),
            SampleInput((q, k, v, m.tensor((3, 5), dtypes.bool_)), name="bool_mask"),
            SampleInput((q, k, v, t((3, 5), dtype)), {"scale": 0.3}, name="float_mask")]


register("scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, "
         "Tensor? attn_mask=None, float dropout_p=0.0, bool is_causal=False, *, "
         "float? scale=None, bool enable_gqa=False) -> Tensor", OpKind.COMPOSITE,
         decomposition=_sdpa_decomposition, meta=_sdpa_meta, samples=_sdpa_samples,
         promotion=Promotion.NONE,
         torch_ref=lambda torch, *a, **k: torch.nn.functional.scaled_dot_product_attention(*a,
                                                                                           **k))


from graphtorch.ops import (  # noqa: E402,F401 - their ops
    activations,
    cross_entropy,
    losses,
    nll_loss,
    normalization,
)
