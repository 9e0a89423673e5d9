"""Loss ops: composites whose decompositions use graphtorch ops only (graph mode sees the parts).

``reduction`` is a string argument ('none' | 'mean' | 'sum'), as in ``torch.nn.functional``.
Class-index targets are picked with ``one_hot`` + ``where`` (no gather), which keeps the
decomposition free of data-dependent indexing.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.errors import DTypeError, ShapeError
from graphtorch.ops.meta import TensorMeta, broadcast_shapes
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import REGISTRY, OpKind, Promotion, SampleInput, register


def reduce_loss(loss, reduction: str):
    """PyTorch's ``reduction`` argument of the losses: "mean", "sum" or "none"."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _loss_meta(*keys):
    """Meta of a loss over broadcast inputs: a scalar unless reduction='none'."""

    def meta(x, target, *rest):
        reduction = dict(zip(keys, rest)).get("reduction", "mean")
        if reduction != "none":
            return TensorMeta(x.dtype, (), x.device)
        shape = broadcast_shapes(tuple(x.shape), tuple(target.shape))
        return TensorMeta(x.dtype, shape, x.device)

    return meta


def _samples(build):
    def samples(dtype=dtypes.float64):
        return build(dtype, SampleMaker(70)) if dtype.is_floating_point else []

    return samples


def _F(torch):
    return torch.nn.functional


def _pointwise_loss(name: str, schema_tail: str, decomposition, extra_keys=(), extra_samples=(),
                    backward_name=None):
    @_samples
    def samples(dtype, m):
        t = m.tensor
        out = [SampleInput((t((3, 4), dtype), t((3, 4), dtype)), name="mean"),
               SampleInput((t((5,), dtype), t((5,), dtype)), {"reduction": "sum"}, name="sum"),
               SampleInput((t((2, 3), dtype), t((2, 3), dtype)), {"reduction": "none"},
                           name="none")]
        for i, kw in enumerate(extra_samples):
            out.append(SampleInput((t((2, 3), dtype), t((2, 3), dtype)), dict(kw),
                                   name=f"extra{i}"))
        return out

    register(f"{name}(Tensor input, Tensor target, {schema_tail}) -> Tensor", OpKind.COMPOSITE,
             decomposition=decomposition, meta=_loss_meta("reduction", *extra_keys),
             samples=samples, promotion=Promotion.NONE, backward_name=backward_name,
             torch_ref=lambda torch, *a, **k: getattr(_F(torch), name)(*a, **k))


# --- regression losses ------------------------------------------------------------------------
def _mse(x, t, reduction="mean"):
    d = x - t
    return reduce_loss(d * d, reduction)


def _l1(x, t, reduction="mean"):
    return reduce_loss((x - t).abs(), reduction)


def _smooth_l1(x, t, reduction="mean", beta=1.0):
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = (x - t).abs()
    if beta == 0.0:
        return reduce_loss(d, reduction)
    return reduce_loss((0.5 * d * d / beta).where(d < beta, d - 0.5 * beta), reduction)


def _huber(x, t, reduction="mean", delta=1.0):
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    d = (x - t).abs()
    return reduce_loss((0.5 * d * d).where(d < delta, delta * (d - 0.5 * delta)), reduction)


_pointwise_loss("mse_loss", "str reduction='mean'", _mse, backward_name="MseLossBackward0")
_pointwise_loss("l1_loss", "str reduction='mean'", _l1)
_pointwise_loss("smooth_l1_loss", "str reduction='mean', float beta=1.0", _smooth_l1,
                ("beta",), ({"beta": 0.5}, {"beta": 0.0}),
                backward_name="SmoothL1LossBackward0")
_pointwise_loss("huber_loss", "str reduction='mean', float delta=1.0", _huber, ("delta",),
                ({"delta": 0.5},),
                backward_name="HuberLossBackward0")


# --- classification losses ----------------------------------------------------------------------
def _class_dim_last(t, ndim: int):
    """Move the trailing class dim of a one-hot tensor to position 1 (N, C, d1, ...)."""
    if ndim <= 2:
        return t
    return t.permute([0, ndim - 1] + list(range(1, ndim - 1)))


def _check_nll_shapes(x, target) -> None:
    if x.ndim < 1:
        raise ValueError("Expected input to have at least 1 dimension (got 0)")
    if x.ndim == 1:
        ok = target.ndim == 0
    else:
        ok = (target.ndim == x.ndim - 1 and tuple(target.shape[:1]) == tuple(x.shape[:1])
              and tuple(target.shape[1:]) == tuple(x.shape[2:]))
    if not ok:
        if x.ndim >= 2 and target.ndim >= 1 and target.shape[0] != x.shape[0]:
            raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target "
                             f"batch_size ({target.shape[0]}).")
        raise ShapeError(f"Expected target size {[x.shape[0]] + list(x.shape[2:])}, got "
                         f"{list(target.shape)}")


def _picked(x, target, ignore_index: int):
    """(x at the target class, weight-free mask of kept targets, the bool one-hot in x's layout)."""
    classes = x.shape[1] if x.ndim > 1 else x.shape[0]
    if target.dtype not in (dtypes.int64, dtypes.uint8):
        raise DTypeError(f"expected target dtype to be Long or Byte, but got "
                         f"{dtypes.SCALAR_TYPE_NAMES[target.dtype.name]}")
    if target.dtype == dtypes.uint8:
        target = target.to(dtypes.int64)
    keep = target != ignore_index
    safe = target.where(keep, 0)
    try:
        hot = REGISTRY["one_hot"](safe, classes) == 1
    except RuntimeError:
        bad = [v for v in safe.reshape([-1]).tolist() if not 0 <= v < classes]
        if not bad:
            raise
        raise IndexError(f"Target {bad[0]} is out of bounds.") from None
    hot = _class_dim_last(hot, x.ndim)
    class_dim = 1 if x.ndim > 1 else 0
    picked = x.where(hot, 0.0).sum([class_dim])
    return picked, keep, hot


def _class_weights(weight, hot, keep, x):
    """Per-target weight (weight[target], zero where ignored)."""
    class_dim = 1 if x.ndim > 1 else 0
    if weight is None:
        return keep.to(x.dtype)
    shape = [1] * x.ndim
    shape[class_dim] = weight.shape[0]
    w = weight.reshape(shape).where(hot, 0.0).sum([class_dim])
    return w * keep


def _weighted_mean(rows, keep, weight_sum):
    """sum(rows) / weight_sum with PyTorch's gradients when weight_sum is 0: zero for ignored
    targets, nan for kept ones (whose weights are then 0)."""
    scale = weight_sum.reciprocal().where(keep, 0.0)
    # NOTE: 0 * weight_sum / weight_sum is 0, or nan when nothing carries weight; it adds no
    # gradient (weight_sum depends on weights and targets only)
    return (rows * scale).sum() + (weight_sum * 0.0) / weight_sum


def _nll_loss(x, target, weight=None, reduction="mean", ignore_index=-100):
    _check_nll_shapes(x, target)
    if weight is not None and weight.dtype != x.dtype:
        names = dtypes.SCALAR_TYPE_NAMES
        raise DTypeError(f"expected scalar type {names[x.dtype.name]} but found "
                         f"{names[weight.dtype.name]}")
    picked, keep, hot = _picked(x, target, ignore_index)
    w = _class_weights(weight, hot, keep, x)
    # NOTE: an ignored target's loss is 0 even where its row is NaN or inf (PyTorch skips it)
    loss = (-picked * w).where(keep, 0.0)
    if reduction == "mean":
        return _weighted_mean(loss, keep, w.sum())
    return reduce_loss(loss, reduction)


def _nll_meta(x, target, weight=None, reduction="mean", *rest):
    if reduction == "none":
        return TensorMeta(x.dtype, tuple(target.shape), x.device)
    return TensorMeta(x.dtype, (), x.device)


@_samples
def _nll_samples(dtype, m):
    t = m.tensor
    logp = REGISTRY["log_softmax"](t((4, 3), dtype), 1)
    tgt = m.tensor((4,), dtypes.int64, 0, 3)
    tgt_ignored = REGISTRY["where"](tgt == 1, -100, tgt)
    img = REGISTRY["log_softmax"](t((2, 3, 2, 2), dtype), 1)
    img_tgt = m.tensor((2, 2, 2), dtypes.int64, 0, 3)
    return [SampleInput((logp, tgt), name="mean"),
            SampleInput((logp, tgt, t((3,), dtype, 0.5, 2.0)), name="weighted"),
            SampleInput((logp, tgt_ignored), {"reduction": "sum"}, name="ignore_sum"),
            SampleInput((img, img_tgt), {"reduction": "none"}, name="spatial_none"),
            SampleInput((REGISTRY["log_softmax"](t((3,), dtype), 0),
                         REGISTRY["full"]([], 2, dtype=dtypes.int64)), name="unbatched")]


# NOTE: nll_loss is registered in ops/nll_loss.py with its kernels and vjp; the decomposition
# above is its graph-mode form (and cross_entropy's decomposition ends in it)


def _cross_entropy(x, target, weight=None, reduction="mean", ignore_index=-100,
                   label_smoothing=0.0):
    # NOTE: PyTorch applies no smoothing for a negative label_smoothing and raises above 1
    if label_smoothing > 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 1 if x.ndim > 1 else 0
    classes = x.shape[class_dim]
    logp = REGISTRY["log_softmax"](x, class_dim)
    wshape = [1] * x.ndim
    if weight is not None:
        wshape[class_dim] = classes
    if target.dtype.is_floating_point:
        if tuple(target.shape) != tuple(x.shape):
            raise ShapeError(f"Expected target size {list(x.shape)}, got {list(target.shape)}")
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / classes
        prod = logp * target
        if weight is not None:
            prod = prod * weight.reshape(wshape)
        loss = -prod.sum([class_dim])
        if reduction == "mean":
            return loss.sum() / (x.numel() // classes)
        return reduce_loss(loss, reduction)
    nll = _nll_loss(logp, target, weight, reduction, ignore_index)
    if label_smoothing <= 0.0:
        return nll
    keep = target != ignore_index
    smooth = logp if weight is None else logp * weight.reshape(wshape)
    smooth = -smooth.sum([class_dim]) * keep
    if reduction == "mean":
        _, _, hot = _picked(logp, target, ignore_index)
        smooth = _weighted_mean(smooth, keep, _class_weights(weight, hot, keep, x).sum())
    else:
        smooth = reduce_loss(smooth, reduction)
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / classes)


# NOTE: cross_entropy is registered in ops/cross_entropy.py with its kernels and vjp; the
# decomposition above is its graph-mode form


# --- binary losses and KL divergence ----------------------------------------------------------
def _check_same_size(x, target) -> None:
    if tuple(target.shape) != tuple(x.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({x.shape}) is deprecated. Please ensure they have the same "
                         "size.")


def _bce(x, target, weight=None, reduction="mean"):
    _check_same_size(x, target)
    if target.dtype != x.dtype:
        names = dtypes.SCALAR_TYPE_NAMES
        raise DTypeError(f"Found dtype {names[target.dtype.name]} but expected "
                         f"{names[x.dtype.name]}")
    # NOTE: PyTorch clamps each log at -100 so that a saturated input gives a finite loss
    log_x = x.log().clamp(-100.0, None)
    log_1mx = (1 - x).log().clamp(-100.0, None)
    loss = -(target * log_x + (1 - target) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, reduction)


def _bce_logits(x, target, weight=None, reduction="mean", pos_weight=None):
    _check_same_size(x, target)
    # NOTE: softplus(-x) = log(1 + exp(-x)) without overflow, and smooth at x = 0 where the
    # |x| / relu form has a zero subgradient
    log_sig_neg = REGISTRY["softplus"](-x)
    if pos_weight is not None:
        coef = 1 + (pos_weight - 1) * target
        loss = (1 - target) * x + coef * log_sig_neg
    else:
        loss = (1 - target) * x + log_sig_neg
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, reduction)


@_samples
def _bce_samples(dtype, m):
    t = m.tensor
    p = t((3, 4), dtype, 0.05, 0.95)
    tgt = t((3, 4), dtype, 0.0, 1.0)
    return [SampleInput((p, tgt), name="mean"),
            SampleInput((p, tgt, t((4,), dtype, 0.5, 2.0)), {"reduction": "sum"},
                        name="weighted_sum"),
            SampleInput((t((5,), dtype, 0.05, 0.95), t((5,), dtype, 0, 1)),
                        {"reduction": "none"}, name="none")]


@_samples
def _bce_logits_samples(dtype, m):
    t = m.tensor
    x = t((3, 4), dtype, -4, 4)
    tgt = t((3, 4), dtype, 0.0, 1.0)
    return [SampleInput((x, tgt), name="mean"),
            SampleInput((x, tgt), {"pos_weight": t((4,), dtype, 0.5, 3.0)}, name="pos_weight"),
            SampleInput((x, tgt, t((3, 4), dtype, 0.5, 2.0)), {"reduction": "none"},
                        name="weighted_none")]


def _bce_meta(x, target, weight=None, reduction="mean", *rest):
    shape = tuple(x.shape) if reduction == "none" else ()
    return TensorMeta(x.dtype, shape, x.device)


register("binary_cross_entropy(Tensor input, Tensor target, Tensor? weight=None, "
         "str reduction='mean') -> Tensor", OpKind.COMPOSITE, decomposition=_bce,
         meta=_bce_meta, samples=_bce_samples, promotion=Promotion.NONE,
         backward_name="BinaryCrossEntropyBackward0",
         torch_ref=lambda torch, *a, **k: _F(torch).binary_cross_entropy(*a, **k))
register("binary_cross_entropy_with_logits(Tensor input, Tensor target, Tensor? weight=None, "
         "str reduction='mean', Tensor? pos_weight=None) -> Tensor", OpKind.COMPOSITE,
         decomposition=_bce_logits, meta=_bce_meta, samples=_bce_logits_samples,
         promotion=Promotion.NONE, backward_name="BinaryCrossEntropyWithLogitsBackward0",
         torch_ref=lambda torch, *a, **k: _F(torch).binary_cross_entropy_with_logits(*a, **k))


def _kl_div(x, target, reduction="mean", log_target=False):
    if log_target:
        loss = target.exp() * (target - x)
    else:
        positive = target > 0
        safe = target.where(positive, 1.0)
        loss = (target * safe.log()).where(positive, 0.0) - target * x
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if x.ndim else 1)
    return reduce_loss(loss, reduction)


@_samples
def _kl_samples(dtype, m):
    t = m.tensor
    logq = REGISTRY["log_softmax"](t((3, 4), dtype), 1)
    p = REGISTRY["softmax"](t((3, 4), dtype), 1)
    return [SampleInput((logq, p), {"reduction": "batchmean"}, name="batchmean"),
            SampleInput((logq, p.log()), {"reduction": "sum", "log_target": True},
                        name="log_target"),
            SampleInput((logq, p), {"reduction": "none"}, name="none"),
            SampleInput((logq, p), name="mean")]


register("kl_div(Tensor input, Tensor target, str reduction='mean', bool log_target=False) "
         "-> Tensor", OpKind.COMPOSITE, decomposition=_kl_div,
         meta=_loss_meta("reduction", "log_target"), samples=_kl_samples,
         promotion=Promotion.NONE,
         torch_ref=lambda torch, *a, **k: _F(torch).kl_div(*a, **k))

