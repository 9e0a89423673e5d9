"""cross_entropy: a composite with a direct kernel and one backward op.

Every case is computed on rows: the logits as ``(M, C)`` with the class dim last (a 1-D input is
one row; ``(N, C, d1, ...)`` moves C last), the targets as ``M`` class indices or ``(M, C)``
probabilities. Written with the coefficients ``Q`` of each row's log-probabilities,

    loss_i = -sum_c Q_ic log p_ic        d loss_i / d x_i = A_i p_i - Q_i,   A_i = sum_c Q_ic

where for a class target t_i (weights w, smoothing e, kept rows k_i = t_i != ignore_index)
``Q_ic = k_i ((1 - e) w[t_i] [c == t_i] + e / C w_c)`` and for probabilities q
``Q_ic = w_c ((1 - e) q_ic + e / C)``; 'mean' divides by the kept targets' weights (class
targets, nan when they sum to 0) or by M (probabilities), as PyTorch does.

The forward kernel is one pass sequence over the arrays (max, exp, row sums, log, gather); the
vjp is one op, ``_cross_entropy_backward``, whose kernel forms ``s_i (A_i p_i - Q_i)`` directly
(``s``: the output gradient of each row, divided by the mean's denominator). Gradients that need
a graph (``create_graph=True``) or that flow into the target or the weight use the same formula
written with registry ops instead.
"""

from __future__ import annotations

import math

import numpy as np

from graphtorch import dtypes
from graphtorch.autograd import grad_mode
from graphtorch.errors import DTypeError, ShapeError
from graphtorch.ops.activations import _require_float
from graphtorch.ops.losses import (
    _F,
    _check_nll_shapes,
    _class_weights,
    _cross_entropy,
    _picked,
    _samples,
)
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.registry import ANY, REGISTRY, OpKind, Promotion, SampleInput, register, saved

_REDUCTIONS = ("none", "mean", "sum")


# --- the arrays: checks and rows ---------------------------------------------------------------
def _check(x, target, weight, reduction, label_smoothing):
    """PyTorch's checks, in its order; returns whether the targets are probabilities."""
    # NOTE: PyTorch applies no smoothing for a negative label_smoothing and raises above 1
    if label_smoothing > 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    _require_float("log_softmax", x)
    probs = target.dtype.kind == "f"
    if probs:
        if target.shape != x.shape:
            raise ShapeError(f"Expected target size {list(x.shape)}, got {list(target.shape)}")
    else:
        _check_nll_shapes(x, target)
        if target.dtype not in (np.int64, np.uint8):
            raise DTypeError(f"expected target dtype to be Long or Byte, but got "
                             f"{dtypes.SCALAR_TYPE_NAMES[target.dtype.name]}")
    # NOTE: probability targets promote a weight of another dtype, as in PyTorch
    check_weight(x, weight, same_dtype=not probs)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return probs


def check_weight(x, weight, same_dtype: bool) -> None:
    """PyTorch's checks of a class-weight vector (cross_entropy, nll_loss)."""
    if weight is None:
        return
    classes = x.shape[1] if x.ndim > 1 else x.shape[0]
    if weight.ndim != 1 or weight.shape[0] != classes:
        raise ShapeError(f"weight tensor should be defined either for all {classes} classes or "
                         f"no classes but got weight tensor of shape: {list(weight.shape)}")
    if same_dtype and weight.dtype != x.dtype:
        names = dtypes.SCALAR_TYPE_NAMES
        raise DTypeError(f"expected scalar type {names[x.dtype.name]} but found "
                         f"{names[weight.dtype.name]}")


def _rows(xp, a, ndim: int, dtype):
    """``a`` (logits or probabilities) as C-contiguous (M, C) rows of ``dtype`` with the class
    dim last."""
    if ndim == 1:
        a = a.reshape(1, -1)
    elif ndim > 2:
        a = xp.moveaxis(a, 1, -1).reshape(-1, a.shape[1])
    return xp.ascontiguousarray(a, dtype)


def _unrows(xp, g, shape: tuple):
    """The inverse of :func:`_rows` for a gradient of logits of ``shape`` (C-contiguous)."""
    if len(shape) == 2:
        return g
    if len(shape) == 1:
        return g.reshape(shape)
    lead = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return xp.ascontiguousarray(xp.moveaxis(g.reshape(lead), -1, 1))


def _dtypes(x, target, weight, probs: bool):
    """(result dtype, compute dtype): probabilities (and their weights) of another float dtype
    promote; half precision computes in float32."""
    out = x.dtype
    if probs:
        out = np.result_type(x.dtype, target.dtype, *(() if weight is None else (weight.dtype,)))
    return out, (np.dtype(np.float32) if out.itemsize < 4 else out)


def _class_targets(xp, t, classes: int, ignore_index: int):
    """(targets safe to index with, kept-row mask or None when no row is ignored).

    Raises PyTorch's IndexError naming the first kept target out of [0, classes).
    """
    t = t.reshape(-1)
    if t.dtype != np.int64:
        t = t.astype(np.int64)
    if not t.size:
        return t, None
    keep = None
    lo, hi = int(t.min()), int(t.max())
    if lo <= ignore_index <= hi:
        keep = t != ignore_index
        kept = t[keep]
        lo, hi = (int(kept.min()), int(kept.max())) if kept.size else (0, 0)
    if lo < 0 or hi >= classes:
        kept = t if keep is None else t[keep]
        bad = kept[(kept < 0) | (kept >= classes)]
        raise IndexError(f"Target {int(bad[0])} is out of bounds.")
    return (t if keep is None else xp.where(keep, t, 0)), keep


def _mean_denominator(xp, keep, row_w, rows: int):
    """What 'mean' divides by for class targets: the kept targets' total weight."""
    if row_w is not None:
        return row_w.sum()
    return rows if keep is None else int(xp.count_nonzero(keep))


def _mean(a, denom):
    """``a / denom``; nan when nothing carries weight (every target ignored, or zero weights),
    as PyTorch, whose nll part is then 0/0, whatever the smoothing part adds."""
    return a / denom if denom else a * np.nan


# --- the forward kernel ------------------------------------------------------------------------
def _ce_kernel(xp, x, target, weight=None, reduction="mean", ignore_index=-100,
               label_smoothing=0.0):
    if weight is not None:
        weight = xp.asarray(weight)  # NOTE: the plan's C kernel may hand its fallback a Tensor
    probs = _check(x, target, weight, reduction, label_smoothing)
    out_dtype, ct = _dtypes(x, target, weight, probs)
    x2 = _rows(xp, x, x.ndim, ct)
    rows, classes = x2.shape
    w = None if weight is None else weight.astype(ct, copy=False)
    eps = max(label_smoothing, 0.0)
    if probs:
        loss = _probability_losses(xp, x2, _rows(xp, target, x.ndim, ct), w, eps)
        denom = rows
        keep = None
    else:
        t, keep = _class_targets(xp, target, classes, ignore_index)
        loss, row_w = _class_losses(xp, x2, t, keep, w, eps)
        denom = _mean_denominator(xp, keep, row_w, rows)
    if reduction == "none":
        shape = target.shape if not probs else x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
        return loss.astype(out_dtype, copy=False).reshape(shape)
    total = loss.sum()
    if reduction == "mean":
        total = _mean(total, denom)
    return xp.asarray(total, dtype=out_dtype)


# NOTE: the row sums of exp(x - shift) need no per-row maxima as long as no row's largest term
# comes near the underflow range: a row sum is at least its largest term and at most C times
# it, so a row sum above _FLOOR keeps the largest term normal and what underflows below it
# negligible (else the rows are done again with their own maxima; nan or inf fails the check
# too). numpy reduces a short row axis slowly (the row maxima of 256x10 cost 12 us, the whole
# array's max 1 us). Logits below _CEIL - log(C) need no shift at all (exp cannot overflow):
# one pass fewer over the array.
_FLOOR = {np.dtype(np.float32): 1e-20, np.dtype(np.float64): 1e-200}
_CEIL = {np.dtype(np.float32): 80.0, np.dtype(np.float64): 700.0}
_ONES: dict = {}


def _ones(xp, n: int, dtype):
    """A cached read-only vector of ones: ``a @ ones`` sums rows (BLAS: 2-5x numpy's axis-1
    sum)."""
    key = (xp, n, dtype)
    v = _ONES.get(key)
    if v is None:
        if len(_ONES) > 64:
            _ONES.clear()
        v = _ONES[key] = xp.ones(n, dtype)
        if xp is np:
            v.flags.writeable = False
    return v


def _exp_rows(xp, x2):
    """(exp(x2 - shift), row sums, shift): shift 0, the largest logit, or each row's largest (a
    (M,) vector) where one shift for all rows would underflow a row."""
    rows, classes = x2.shape
    if not x2.size:
        return x2.copy(), xp.zeros(rows, x2.dtype), x2.dtype.type(0)
    ones = _ones(xp, classes, x2.dtype)
    hi = x2.max()
    if hi < _CEIL[x2.dtype] - math.log(classes):
        shift = x2.dtype.type(0)
        e = xp.exp(x2)
    else:
        shift = hi
        e = x2 - shift
        xp.exp(e, out=e)
    total = e @ ones
    if not total.min() >= _FLOOR[x2.dtype]:
        shift = x2.max(axis=1)
        xp.subtract(x2, shift[:, None], out=e)
        xp.exp(e, out=e)
        total = e @ ones
    return e, total, shift


_STARTS: dict = {}


def _flat_targets(xp, t, classes: int):
    """Flat indices of each row's target in the C-contiguous (M, C) rows."""
    rows = t.shape[0]
    key = (xp, rows, classes)
    starts = _STARTS.get(key)
    if starts is None:
        if len(_STARTS) > 64:
            _STARTS.clear()
        starts = _STARTS[key] = xp.arange(0, rows * classes, classes or 1)
    return starts + t


def _class_losses(xp, x2, t, keep, w, eps: float):
    """(per-row losses, per-row weights w[t] zeroed where ignored, or None without weights)."""
    rows, classes = x2.shape
    _, total, shift = _exp_rows(xp, x2)
    lse = xp.log(total)
    # -log p_t = log(total) - (x_t - shift)
    loss = lse - (x2.reshape(-1)[_flat_targets(xp, t, classes)] - shift)
    row_w = None
    if w is not None:
        row_w = w[t]
        if keep is not None:
            row_w = xp.where(keep, row_w, 0)
        loss *= row_w
    if eps:
        # -sum_c w_c log p_c = sum(w) log(total) - sum_c w_c (x_c - shift)
        total_w = classes if w is None else w.sum()
        smooth = total_w * (lse + shift) - x2 @ (_ones(xp, classes, x2.dtype) if w is None else w)
        loss *= 1 - eps
        loss += (eps / classes) * smooth
    if keep is not None:
        loss = xp.where(keep, loss, 0)  # NOTE: 0 even where an ignored row holds nan or inf
    return loss, row_w


def _probability_coefficients(q, w, eps: float):
    classes = q.shape[1]
    if eps:
        q = q * (1 - eps) + eps / classes
    return q if w is None else q * w


def _probability_losses(xp, x2, q, w, eps: float):
    _, total, shift = _exp_rows(xp, x2)
    logp = x2 - (shift[:, None] if np.ndim(shift) else shift)
    logp -= xp.log(total)[:, None]
    logp *= _probability_coefficients(q, w, eps)
    return -(logp @ _ones(xp, x2.shape[1], x2.dtype))


# --- the backward kernel -----------------------------------------------------------------------
def _ce_backward_kernel(xp, grad, x, target, weight=None, reduction="mean", ignore_index=-100,
                        label_smoothing=0.0):
    """d loss / d input: s_i (A_i p_i - Q_i) for each row i (see the module docstring)."""
    if weight is not None:
        weight = xp.asarray(weight)
    probs = _check(x, target, weight, reduction, label_smoothing)
    ct = _dtypes(x, target, weight, probs)[1]
    x2 = _rows(xp, x, x.ndim, ct)
    rows, classes = x2.shape
    w = None if weight is None else weight.astype(ct, copy=False)
    g = xp.asarray(grad).astype(ct, copy=False)
    eps = max(label_smoothing, 0.0)
    s = g.reshape(-1) if reduction == "none" else g.reshape(())
    p, total, _ = _exp_rows(xp, x2)
    if probs:
        if reduction == "mean":
            s = _mean(s, rows)
        q = _probability_coefficients(_rows(xp, target, x.ndim, ct), w, eps)
        p *= (s * (q @ _ones(xp, classes, ct)) / total)[:, None]
        p -= (s[:, None] if s.ndim else s) * q
        return _unrows(xp, p.astype(x.dtype, copy=False), x.shape)
    t, keep = _class_targets(xp, target, classes, ignore_index)
    row_w = None if w is None else w[t]
    if reduction == "mean":
        kept_w = None if row_w is None else (row_w if keep is None else xp.where(keep, row_w, 0))
        s = _mean(s, _mean_denominator(xp, keep, kept_w, rows))
    if keep is not None:
        s = xp.where(keep, s, 0)
    # A_i = (1 - e) w[t_i] + e / C sum(w): 1 without weights
    a = 1 if w is None else (1 - eps) * row_w + (eps * w.sum() / classes if eps else 0)
    p *= ((s * a) / total)[:, None]
    hot = s * (1 - eps) if w is None else s * (1 - eps) * row_w
    flat = _flat_targets(xp, t, classes)
    pf = p.reshape(-1)
    pf[flat] -= hot
    if eps:
        smooth = s * (eps / classes)
        if w is None:
            p -= smooth[:, None] if np.ndim(smooth) else smooth
        else:
            p -= smooth[:, None] * w if np.ndim(smooth) else smooth * w
    return _unrows(xp, p.astype(x.dtype, copy=False), x.shape)


# --- the vjp -----------------------------------------------------------------------------------
def _ce_vjp(ctx, g):
    x, target, weight, reduction, ignore_index, eps = ctx.args
    if grad_mode.STATE.enabled or ctx.needs_input_grad(1) or ctx.needs_input_grad(2):
        return _formula_vjp(ctx, g)
    return (REGISTRY["_cross_entropy_backward"](g, x, target, weight, reduction, ignore_index,
                                                eps), None, None)


def _formula_vjp(ctx, g):
    """The gradients written with registry ops: differentiable again (``create_graph=True``),
    and the only path that gives the target's and the weight's gradients."""
    x, target, weight, reduction, ignore_index, eps = ctx.args
    eps = max(eps, 0.0)
    cd = 1 if x.ndim > 1 else 0
    classes = x.shape[cd]
    logp = REGISTRY["log_softmax"](x, cd)
    wshape = [1] * x.ndim
    wshape[cd] = classes
    w = None if weight is None else weight.reshape(wshape)
    probs = target.dtype.is_floating_point
    if probs:
        q = target if not eps else target * (1 - eps) + eps / classes
        coef = q if w is None else q * w
        keep = None
        denom = x.numel() // max(classes, 1)
    else:
        _, keep, hot = _picked(x, target, ignore_index)
        row_w = _class_weights(weight, hot, keep, x)
        coef = row_w.unsqueeze(cd).where(hot, 0.0) * (1 - eps)
        if eps:
            spread = keep.unsqueeze(cd).to(x.dtype) * (eps / classes)
            coef = coef + (spread if w is None else spread * w)
        denom = row_w.sum()
    s = g
    if reduction == "mean":
        # NOTE: + 0 * denom / denom: nan rather than inf when nothing carries weight (as the
        # kernel and PyTorch); it adds no gradient
        s = g / denom if keep is None else (g / denom + denom * 0.0 / denom).where(keep, 0.0)
    if s.ndim:
        s = s.unsqueeze(cd)
    gx = s * (coef.sum([cd], keepdim=True) * logp.exp() - coef)
    if gx.dtype is not x.dtype:
        gx = gx.to(x.dtype)
    if not (ctx.needs_input_grad(1) or ctx.needs_input_grad(2)):
        return gx, None, None
    g_coef = -s * logp  # d loss / d coef
    others = [d for d in range(x.ndim) if d != cd]
    if probs:
        g_target = g_coef * (1 - eps) if w is None else g_coef * w * (1 - eps)
        g_weight = None if w is None else (g_coef * q).sum(others) if others else g_coef * q
        return gx, g_target, g_weight
    if w is None:
        return gx, None, None
    g_row = (g_coef.where(hot, 0.0)).sum([cd]) * (1 - eps)
    if reduction == "mean":
        # 'mean' divides by sum(row_w): d/d row_w_i of total / denom is -loss / denom
        g_row = g_row + g * (coef * logp).sum() / (denom * denom)
    g_weight = g_row.where(keep, 0.0).unsqueeze(cd).where(hot, 0.0)
    if eps:
        g_weight = g_weight + g_coef * keep.unsqueeze(cd).to(x.dtype) * (eps / classes)
    return gx, None, (g_weight.sum(others) if others else g_weight)


# --- registrations -----------------------------------------------------------------------------
def _ce_meta(x, target, weight=None, reduction="mean", *rest):
    probs = target.dtype.is_floating_point
    dtype = x.dtype
    if probs:
        dtype = dtypes.promote_types(x.dtype, target.dtype)
        dtype = dtype if weight is None else dtypes.promote_types(dtype, weight.dtype)
    if reduction != "none":
        return TensorMeta(dtype, (), x.device)
    shape = tuple(target.shape)
    if probs:
        shape = tuple(d for i, d in enumerate(x.shape) if i != (1 if len(x.shape) > 1 else 0))
    return TensorMeta(dtype, shape, x.device)


def _ce_backward_name(a) -> str:
    """PyTorch's grad_fn of cross_entropy, which depends on the case."""
    x, target, reduction, eps = a[0], a[1], a[3], a[5]
    if target.dtype.is_floating_point:
        return "DivBackward1" if reduction == "mean" else "NegBackward0"
    if eps > 0:
        return "AddBackward0"
    if x.ndim <= 2:
        return "NllLossBackward0"
    # NOTE: PyTorch runs nll_loss2d on (N, C, H, W) and views other ranks' 'none' losses back
    return "ViewBackward0" if reduction == "none" and x.ndim != 4 else "NllLoss2DBackward0"


@_samples
def _ce_samples(dtype, m):
    t = m.tensor
    x = t((4, 3), dtype)
    tgt = m.tensor((4,), dtypes.int64, 0, 3)
    ignored = REGISTRY["where"](tgt == 0, -100, tgt)
    probs = REGISTRY["softmax"](t((4, 3), dtype), 1)
    img = t((2, 3, 2, 2), dtype)
    img_tgt = m.tensor((2, 2, 2), dtypes.int64, 0, 3)
    w = t((3,), dtype, 0.5, 2.0)
    return [SampleInput((x, tgt), name="indices"),
            SampleInput((x, tgt, w), {"label_smoothing": 0.1}, name="weighted_smoothing"),
            SampleInput((x, ignored), {"label_smoothing": 0.2}, name="ignore_smoothing"),
            SampleInput((x, ignored, w), name="ignore_weighted_mean"),
            SampleInput((x, ignored, w), {"reduction": "sum", "label_smoothing": 0.3},
                        name="ignore_weighted_sum_smoothing"),
            SampleInput((x, tgt, w), {"reduction": "none", "ignore_index": 1,
                                      "label_smoothing": 0.1}, name="none_ignore_index"),
            SampleInput((t((3,), dtype), REGISTRY["full"]([], 2, dtype=dtypes.int64)),
                        {"label_smoothing": 0.2}, name="unbatched"),
            SampleInput((x, probs), name="probabilities"),
            SampleInput((x, probs, w), {"reduction": "sum", "label_smoothing": 0.3},
                        name="probabilities_weighted"),
            SampleInput((img, img_tgt), {"reduction": "none"}, name="spatial"),
            SampleInput((img, img_tgt, w), {"label_smoothing": 0.1}, name="spatial_weighted"),
            SampleInput((img, REGISTRY["softmax"](t((2, 3, 2, 2), dtype), 1)),
                        {"reduction": "none"}, name="spatial_probabilities")]


register("cross_entropy(Tensor input, Tensor target, Tensor? weight=None, "
         "str reduction='mean', int ignore_index=-100, float label_smoothing=0.0) -> Tensor",
         OpKind.COMPOSITE, decomposition=_cross_entropy, kernel=_ce_kernel, vjp=_ce_vjp,
         meta=_ce_meta, samples=_ce_samples, promotion=Promotion.NONE,
         saves=saved(input=ANY, target=ANY, weight=ANY), backward_name=_ce_backward_name,
         torch_ref=lambda torch, *a, **k: _F(torch).cross_entropy(*a, **k))


def _ce_backward_ref(torch, g, x, *rest, **kwargs):
    x = x.detach().requires_grad_(True)
    return torch.autograd.grad(_F(torch).cross_entropy(x, *rest, **kwargs), x, g)[0]


@_samples
def _ce_backward_samples(dtype, m):
    out = []
    for s in _ce_samples(dtype):
        x, target = s.args[0], s.args[1]
        meta = _ce_meta(x, target, None, s.kwargs.get("reduction", "mean"))
        grad = m.tensor(tuple(meta.shape), meta.dtype)
        out.append(SampleInput((grad,) + tuple(s.args), dict(s.kwargs), name=s.name))
    return out


register("_cross_entropy_backward(Tensor grad_output, Tensor input, Tensor target, "
         "Tensor? weight=None, str reduction='mean', int ignore_index=-100, "
         "float label_smoothing=0.0) -> Tensor", OpKind.OPAQUE, kernel=_ce_backward_kernel,
         meta=lambda g, x, *rest: TensorMeta(x.dtype, tuple(x.shape), x.device),
         samples=_ce_backward_samples, promotion=Promotion.NONE, differentiable=False,
         torch_ref=_ce_backward_ref,
         doc="cross_entropy's gradient with respect to its input (not differentiable: "
             "cross_entropy's vjp writes the gradient with registry ops when a graph is needed)")
