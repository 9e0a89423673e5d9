"""nll_loss: a composite with a direct kernel and one backward op, like cross_entropy.

On the rows of ops/cross_entropy.py (``(M, C)`` with the class dim last), ``loss_i = -k_i w[t_i]
x[i, t_i]`` (k_i: the row's target is not ``ignore_index``); 'mean' divides by the kept targets'
total weight (nan when it is 0, as PyTorch). The input gradient is ``-s_i k_i w[t_i]`` at each
row's target and 0 elsewhere (``s``: the output gradient of the row, divided by the mean's
denominator): ``_nll_loss_backward`` writes it into zeros. Gradients that need a graph
(``create_graph=True``) or that flow into the weight use the same formula in registry ops.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.autograd import grad_mode
from graphtorch.errors import DTypeError
from graphtorch.ops.activations import _require_float
from graphtorch.ops.cross_entropy import (
    _REDUCTIONS,
    _class_targets,
    _flat_targets,
    _mean,
    _mean_denominator,
    _rows,
    _unrows,
    check_weight,
)
from graphtorch.ops.losses import (
    _F,
    _check_nll_shapes,
    _class_weights,
    _nll_loss,
    _nll_meta,
    _nll_samples,
    _picked,
)
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.registry import (
    ANY,
    REGISTRY,
    OpKind,
    Promotion,
    SampleInput,
    register,
    saved,
)


def _check(x, target, weight, reduction) -> None:
    _check_nll_shapes(x, target)
    _require_float("nll_loss", x)
    check_weight(x, weight, same_dtype=True)
    if target.dtype.kind not in "iu" or target.dtype.name not in ("int64", "uint8"):
        raise DTypeError(f"expected target dtype to be Long or Byte, but got "
                         f"{dtypes.SCALAR_TYPE_NAMES[target.dtype.name]}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _prepare(xp, x, target, weight, reduction, ignore_index):
    """(rows of x, flat target indices, kept-row mask or None, per-row weights or None)."""
    if weight is not None:
        weight = xp.asarray(weight)
    _check(x, target, weight, reduction)
    x2 = _rows(xp, x, x.ndim, x.dtype)
    rows, classes = x2.shape
    t, keep = _class_targets(xp, target, classes, ignore_index)
    row_w = None
    if weight is not None:
        row_w = weight[t]
        if keep is not None:
            row_w = xp.where(keep, row_w, 0)
    return x2, _flat_targets(xp, t, classes), keep, row_w


def _nll_kernel(xp, x, target, weight=None, reduction="mean", ignore_index=-100):
    x2, flat, keep, row_w = _prepare(xp, x, target, weight, reduction, ignore_index)
    loss = -x2.reshape(-1)[flat]
    if row_w is not None:
        loss *= row_w
    if keep is not None:
        loss = xp.where(keep, loss, 0)  # NOTE: 0 even where an ignored row holds nan or inf
    if reduction == "none":
        return loss.reshape(target.shape)
    total = loss.sum()
    if reduction == "mean":
        total = _mean(total, _mean_denominator(xp, keep, row_w, x2.shape[0]))
    return xp.asarray(total, dtype=x.dtype)


def _nll_backward_kernel(xp, grad, x, target, weight=None, reduction="mean", ignore_index=-100):
    x2, flat, keep, row_w = _prepare(xp, x, target, weight, reduction, ignore_index)
    g = xp.asarray(grad).astype(x.dtype, copy=False)
    s = g.reshape(-1) if reduction == "none" else g.reshape(())
    if reduction == "mean":
        s = _mean(s, _mean_denominator(xp, keep, row_w, x2.shape[0]))
    if keep is not None:
        s = xp.where(keep, s, 0)
    out = xp.zeros(x2.shape, x.dtype)
    out.reshape(-1)[flat] = -s if row_w is None else -s * row_w
    return _unrows(xp, out, x.shape)


def _nll_vjp(ctx, g):
    x, target, weight, reduction, ignore_index = ctx.args
    if grad_mode.STATE.enabled or ctx.needs_input_grad(2):
        return _formula_vjp(ctx, g)
    return (REGISTRY["_nll_loss_backward"](g, x, target, weight, reduction, ignore_index), None,
            None)


def _formula_vjp(ctx, g):
    """The gradients in registry ops: differentiable again, and the weight's gradient."""
    x, target, weight, reduction, ignore_index = ctx.args
    cd = 1 if x.ndim > 1 else 0
    _, keep, hot = _picked(x, target, ignore_index)
    row_w = _class_weights(weight, hot, keep, x)
    denom = row_w.sum()
    s = g
    if reduction == "mean":
        # NOTE: + 0 * denom / denom: nan rather than inf when nothing carries weight
        s = (g / denom + denom * 0.0 / denom).where(keep, 0.0)
    s_b = s.unsqueeze(cd) if s.ndim else s
    gx = -s_b * row_w.unsqueeze(cd).where(hot, 0.0)
    if not ctx.needs_input_grad(2) or weight is None:
        return gx, None, None
    picked = x.where(hot, 0.0).sum([cd])
    g_row = -s * picked
    if reduction == "mean":
        # 'mean' divides by sum(row_w): d/d row_w_i of total / denom is -loss / denom
        g_row = g_row + g * (row_w * picked).sum() / (denom * denom)
    g_weight = g_row.where(keep, 0.0).unsqueeze(cd).where(hot, 0.0)
    others = [d for d in range(x.ndim) if d != cd]
    return gx, None, (g_weight.sum(others) if others else g_weight)


def _nll_backward_name(a) -> str:
    """PyTorch's grad_fn of nll_loss: nll_loss2d for spatial inputs, whose 'none' losses of
    other ranks than 4 are viewed back."""
    x, reduction = a[0], a[3]
    if x.ndim <= 2:
        return "NllLossBackward0"
    return "ViewBackward0" if reduction == "none" and x.ndim != 4 else "NllLoss2DBackward0"


register("nll_loss(Tensor input, Tensor target, Tensor? weight=None, str reduction='mean', "
         "int ignore_index=-100) -> Tensor", OpKind.COMPOSITE, decomposition=_nll_loss,
         kernel=_nll_kernel, vjp=_nll_vjp, meta=_nll_meta, samples=_nll_samples,
         promotion=Promotion.NONE, saves=saved(input=ANY, target=ANY, weight=ANY),
         backward_name=_nll_backward_name,
         torch_ref=lambda torch, *a, **k: _F(torch).nll_loss(*a, **k))


def _nll_backward_ref(torch, g, x, *rest, **kwargs):
    x = x.detach().requires_grad_(True)
    return torch.autograd.grad(_F(torch).nll_loss(x, *rest, **kwargs), x, g)[0]


def _nll_backward_samples(dtype=dtypes.float64):
    out = []
    for s in _nll_samples(dtype):
        x, target = s.args[0], s.args[1]
        meta = _nll_meta(x, target, None, s.kwargs.get("reduction", "mean"))
        grad = REGISTRY["full"](list(meta.shape), 0.75, dtype=meta.dtype)
        out.append(SampleInput((grad,) + tuple(s.args), dict(s.kwargs), name=s.name))
    return out


register("_nll_loss_backward(Tensor grad_output, Tensor input, Tensor target, "
         "Tensor? weight=None, str reduction='mean', int ignore_index=-100) -> Tensor",
         OpKind.OPAQUE, kernel=_nll_backward_kernel,
         meta=lambda g, x, *rest: TensorMeta(x.dtype, tuple(x.shape), x.device),
         samples=_nll_backward_samples, promotion=Promotion.NONE, differentiable=False,
         torch_ref=_nll_backward_ref,
         doc="nll_loss's gradient with respect to its input (not differentiable: nll_loss's "
             "vjp writes the gradient with registry ops when a graph is needed)")
