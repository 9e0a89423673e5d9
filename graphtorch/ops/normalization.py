"""Normalization and dropout ops: composites written with graphtorch ops.

layer_norm adds a direct kernel and vjp for eager speed; batch_norm and group_norm run their
decomposition (so graph mode and autograd see mean, sub, rsqrt ...). batch_norm in training mode
updates the running statistics in place, as PyTorch's does.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.autograd.grad_mode import no_grad
from graphtorch.errors import DTypeError, ShapeError
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import (
    ANY,
    REGISTRY,
    OpKind,
    Promotion,
    SampleInput,
    register,
    saved,
)


def _same_meta(x, *rest):
    return TensorMeta(x.dtype, tuple(x.shape), x.device)


def _check_same_dtype(x, *others) -> None:
    """PyTorch's CPU norms refuse, rather than promote, parameters of another dtype."""
    # NOTE: .name works on both numpy dtypes (kernels) and graphtorch dtypes (decompositions)
    if any(o is not None and o.dtype.name != x.dtype.name for o in others):
        raise DTypeError("mixed dtype (CPU): all inputs must share same datatype.")


# --- layer_norm -------------------------------------------------------------------------------
def _check_layer_norm(shape, normalized_shape) -> int:
    k = len(normalized_shape)
    if k == 0 or tuple(shape[len(shape) - k:]) != tuple(normalized_shape) or k > len(shape):
        raise ShapeError(f"Given normalized_shape={list(normalized_shape)}, expected input with "
                         f"shape [*, {', '.join(str(d) for d in normalized_shape)}], but got "
                         f"input of size{list(shape)}")
    return k


def _layer_norm_decomposition(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    k = _check_layer_norm(tuple(x.shape), normalized_shape)
    _check_same_dtype(x, weight, bias)
    dims = list(range(x.ndim - k, x.ndim))
    mean = x.mean(dims, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(dims, keepdim=True)
    out = centered * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _layer_norm_kernel(xp, x, normalized_shape, weight, bias, eps):
    k = _check_layer_norm(x.shape, normalized_shape)
    _check_same_dtype(x, weight, bias)
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    out = centered * (1 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
    if weight is not None:
        out *= weight
    if bias is not None:
        out += bias
    return out


def _layer_norm_vjp(ctx, g):
    x, normalized_shape, weight, bias, eps = ctx.args
    k = len(normalized_shape)
    dims = list(range(x.ndim - k, x.ndim))
    lead = list(range(x.ndim - k))
    mean = x.mean(dims, keepdim=True)
    centered = x - mean
    rstd = ((centered * centered).mean(dims, keepdim=True) + eps).rsqrt()
    xhat = centered * rstd
    gy = g if weight is None else g * weight
    gx = rstd * (gy - gy.mean(dims, keepdim=True)
                 - xhat * (gy * xhat).mean(dims, keepdim=True))
    gw = (g * xhat).sum(lead) if weight is not None else None
    gb = g.sum(lead) if bias is not None else None
    if gw is not None and not lead:
        gw = g * xhat
    if gb is not None and not lead:
        gb = g
    return gx, None, gw, gb


def _float_samples(fn):
    def samples(dtype=dtypes.float64):
        return fn(dtype, SampleMaker(60)) if dtype.is_floating_point else []

    return samples


@_float_samples
def _layer_norm_samples(dtype, m):
    t = m.tensor
    return [SampleInput((t((3, 4), dtype), [4], t((4,), dtype), t((4,), dtype)), name="affine"),
            SampleInput((t((2, 3, 4), dtype), [3, 4]), name="two_dims"),
            SampleInput((t((2, 5), dtype), [5], t((5,), dtype), None, 1e-3), name="weight_only")]


register("layer_norm(Tensor input, int[] normalized_shape, Tensor? weight=None, "
         "Tensor? bias=None, float eps=1e-05) -> Tensor", OpKind.COMPOSITE,
         decomposition=_layer_norm_decomposition, kernel=_layer_norm_kernel,
         vjp=_layer_norm_vjp, meta=_same_meta, samples=_layer_norm_samples,
         saves=saved(input=ANY, weight=ANY), promotion=Promotion.NONE,
         backward_name="NativeLayerNormBackward0")


# --- batch_norm -------------------------------------------------------------------------------
def _channel_shape(x) -> list[int]:
    return [1, x.shape[1]] + [1] * (x.ndim - 2)


def _channel_affine(out, weight, bias, cshape: list[int]):
    """``out * weight + bias`` with the per-channel parameters (either may be None) viewed as
    ``cshape``."""
    if weight is not None:
        out = out * weight.reshape(cshape)
    if bias is not None:
        out = out + bias.reshape(cshape)
    return out


def _batch_norm_decomposition(x, running_mean, running_var, weight=None, bias=None,
                              training=False, momentum=0.1, eps=1e-5):
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected 2D or more input (got {x.ndim}D input)")
    _check_same_dtype(x, running_mean, running_var, weight, bias)
    dims = [0] + list(range(2, x.ndim))
    cshape = _channel_shape(x)
    if training:
        n = x.numel() // x.shape[1]
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {x.shape}")
        mean = x.mean(dims, keepdim=True)
        centered = x - mean
        var = (centered * centered).mean(dims, keepdim=True)
        if running_mean is not None and running_var is not None:
            with no_grad():
                # NOTE: running_var tracks the unbiased variance, as in PyTorch
                running_mean.mul_(1 - momentum).add_(mean.detach().reshape([-1]) * momentum)
                unbiased = var.detach().reshape([-1]) * (n / (n - 1))
                running_var.mul_(1 - momentum).add_(unbiased * momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var must be given when "
                             "training=False")
        centered = x - running_mean.reshape(cshape)
        var = running_var.reshape(cshape)
    out = centered * (var + eps).rsqrt()
    return _channel_affine(out, weight, bias, cshape)


@_float_samples
def _batch_norm_samples(dtype, m):
    t = m.tensor
    c = 3
    stats = (t((c,), dtype), t((c,), dtype, 0.5, 2.0))
    return [SampleInput((t((4, c), dtype),) + stats + (t((c,), dtype), t((c,), dtype), True),
                        name="train_1d"),
            SampleInput((t((2, c, 3, 2), dtype),) + stats + (t((c,), dtype), t((c,), dtype)),
                        name="eval_2d"),
            SampleInput((t((2, c, 4), dtype), None, None, None, None, True, 0.1, 1e-3),
                        name="train_no_stats")]


register("batch_norm(Tensor input, Tensor? running_mean, Tensor? running_var, "
         "Tensor? weight=None, Tensor? bias=None, bool training=False, float momentum=0.1, "
         "float eps=1e-05) -> Tensor", OpKind.COMPOSITE,
         decomposition=_batch_norm_decomposition, meta=_same_meta, samples=_batch_norm_samples,
         promotion=Promotion.NONE, backward_name="NativeBatchNormBackward0",
         torch_ref=lambda torch, *a, **k: torch.nn.functional.batch_norm(*a, **k))


# --- group_norm -------------------------------------------------------------------------------
def _group_norm_decomposition(x, num_groups, weight=None, bias=None, eps=1e-5):
    n, c = x.shape[0], x.shape[1]
    _check_same_dtype(x, weight, bias)
    if c % num_groups:
        raise ShapeError(f"Expected number of channels in input to be divisible by num_groups, "
                         f"but got input of shape {list(x.shape)} and num_groups={num_groups}")
    grouped = x.reshape([n, num_groups, -1])
    mean = grouped.mean([2], keepdim=True)
    centered = grouped - mean
    var = (centered * centered).mean([2], keepdim=True)
    out = (centered * (var + eps).rsqrt()).reshape(list(x.shape))
    cshape = _channel_shape(x)
    return _channel_affine(out, weight, bias, cshape)


@_float_samples
def _group_norm_samples(dtype, m):
    t = m.tensor
    return [SampleInput((t((2, 4, 3), dtype), 2, t((4,), dtype), t((4,), dtype)), name="affine"),
            SampleInput((t((2, 6, 2, 2), dtype), 3), name="plain")]


register("group_norm(Tensor input, int num_groups, Tensor? weight=None, Tensor? bias=None, "
         "float eps=1e-05) -> Tensor", OpKind.COMPOSITE,
         decomposition=_group_norm_decomposition, meta=_same_meta, samples=_group_norm_samples,
         promotion=Promotion.NONE, backward_name="NativeGroupNormBackward0",
         torch_ref=lambda torch, *a, **k: torch.nn.functional.group_norm(*a, **k))


# --- dropout ----------------------------------------------------------------------------------
def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_decomposition(x, p=0.5, training=True):
    _check_p(p)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = REGISTRY["bernoulli"](REGISTRY["full_like"](x, 1.0 - p))
    return x * keep * (1.0 / (1.0 - p))


def _feature_dropout_decomposition(x, p=0.5, training=True):
    _check_p(p)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    # NOTE: one draw per (batch, channel): whole feature maps are kept or zeroed together
    shape = list(x.shape[:2]) + [1] * (x.ndim - 2)
    probs = REGISTRY["full"](shape, 1.0 - p, dtype=x.dtype, device=x.device)
    return x * REGISTRY["bernoulli"](probs) * (1.0 / (1.0 - p))


@_float_samples
def _dropout_samples(dtype, m):
    return [SampleInput((m.tensor((4, 5), dtype), 0.3, True), name="train"),
            SampleInput((m.tensor((4, 5), dtype), 0.3, False), name="eval")]


@_float_samples
def _feature_dropout_samples(dtype, m):
    return [SampleInput((m.tensor((2, 3, 4, 4), dtype), 0.5, True), name="train")]


register("dropout(Tensor input, float p=0.5, bool train=True) -> Tensor", OpKind.RANDOM,
         decomposition=_dropout_decomposition, meta=_same_meta, samples=_dropout_samples,
         promotion=Promotion.NONE)
register("feature_dropout(Tensor input, float p=0.5, bool train=True) -> Tensor", OpKind.RANDOM,
         decomposition=_feature_dropout_decomposition, meta=_same_meta,
         samples=_feature_dropout_samples, promotion=Promotion.NONE)

