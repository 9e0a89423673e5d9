"""``nn.functional``: the functional forms of the layers (PyTorch names and signatures).

Every function forwards to registry ops (``graphtorch.ops``), so graph mode records them; the
Python here only maps PyTorch's signatures (``inplace=``, deprecated ``size_average``) onto
op arguments.
"""

from __future__ import annotations

import warnings

from graphtorch import dtypes
from graphtorch.autograd.grad_mode import no_grad
from graphtorch.errors import DTypeError
from graphtorch.ops import nn_ops as _nn_ops  # noqa: F401 - registers the ops used below
from graphtorch.ops.registry import REGISTRY as _R
from graphtorch.tensor import Tensor


def _inplace(input: Tensor, result: Tensor, inplace: bool) -> Tensor:
    if not inplace:
        return result
    input._assign_inplace(result, "activation")
    return input


# --- linear -------------------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    return _R["linear"](input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    # y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j]
    left = input1.unsqueeze(-2).unsqueeze(-2).matmul(weight)  # (..., O, 1, J)
    out = left.matmul(input2.unsqueeze(-2).unsqueeze(-1)).squeeze(-1).squeeze(-1)
    if bias is None:
        return out
    return out + bias


# --- activations ----------------------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _R["relu"](input), inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0, inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    return _inplace(input, _R["hardtanh"](input, min_val, max_val), inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _inplace(input, _R["leaky_relu"](input, negative_slope), inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _inplace(input, _R["elu"](input, alpha), inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    return _R["gelu"](input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _R["silu"](input), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _R["mish"](input), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return _R["softplus"](input, beta, threshold)


def sigmoid(input: Tensor) -> Tensor:
    return _R["sigmoid"](input)


def tanh(input: Tensor) -> Tensor:
    return _R["tanh"](input)


# NOTE: the activations below are composites of registry ops (graph mode sees their parts)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def logsigmoid(input: Tensor) -> Tensor:
    return -_R["softplus"](-input)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _R["elu"](input, _SELU_ALPHA) * _SELU_SCALE, inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    if alpha == 0:
        raise ZeroDivisionError("ZeroDivisionError")
    return _inplace(input, _R["elu"](input / alpha, 1.0) * alpha, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _R["hardtanh"](input + 3.0, 0.0, 6.0) / 6.0, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, input * (_R["hardtanh"](input + 3.0, 0.0, 6.0) / 6.0), inplace)


def softsign(input: Tensor) -> Tensor:
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    return input - input.tanh()


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    return _inplace(input, input.where(input > threshold, value), inplace)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension "
                           f"{dim % input.ndim} is size {size}")
    a, b = input.split(size // 2, dim)
    return a * b.sigmoid()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    if input.dtype != weight.dtype:
        names = dtypes.SCALAR_TYPE_NAMES
        raise DTypeError(f"prelu: Type promoting not supported. Got {names[input.dtype.name]} "
                         f"and {names[weight.dtype.name]}")
    w = weight
    if input.ndim >= 2 and weight.numel() > 1:
        w = weight.reshape([1, -1] + [1] * (input.ndim - 2))
    return input.where(input > 0, input * w)


def _softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: dtypes.dtype | None = None) -> Tensor:
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    return _R["softmax"](input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: dtypes.dtype | None = None) -> Tensor:
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    return _R["log_softmax"](input, dim, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: dtypes.dtype | None = None) -> Tensor:
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    return _R["softmax"](-input, dim, dtype)


# --- normalization and dropout -------------------------------------------------------------------
def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    shape = [normalized_shape] if isinstance(normalized_shape, int) else list(normalized_shape)
    return _R["layer_norm"](input, shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    return _R["group_norm"](input, num_groups, weight, bias, eps)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    return _R["batch_norm"](input, running_mean, running_var, weight, bias, training, momentum,
                            eps)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    return _inplace(input, _R["dropout"](input, p, training), inplace and training)


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool,
                     unbatched: bool) -> Tensor:
    x = input.unsqueeze(0) if unbatched else input
    out = _R["feature_dropout"](x, p, training)
    return _inplace(input, out.squeeze(0) if unbatched else out, inplace and training)


def _deprecated_rank(nd: int, rank: int) -> None:
    warnings.warn(f"dropout{nd}d: Received a {rank}-D input to dropout{nd}d, which is deprecated "
                  "and will result in an error in a future release. To retain the behavior and "
                  f"silence this warning, please use dropout instead. Note that dropout{nd}d "
                  f"exists to provide channel-wise dropout on inputs with {nd} spatial "
                  "dimensions, a channel dimension, and an optional batch dimension (i.e. "
                  f"{nd + 1}D or {nd + 2}D inputs).", stacklevel=3)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an (N, C, L) or unbatched (C, L) input."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D "
                           "input. Note that dropout1d exists to provide channel-wise dropout on "
                           "inputs with 1 spatial dimension, a channel dimension, and an "
                           "optional batch dimension (i.e. 2D or 3D inputs).")
    return _channel_dropout(input, p, training, inplace, input.ndim == 2)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an (N, C, H, W) or unbatched (C, H, W) input."""
    if input.ndim not in (3, 4):
        _deprecated_rank(2, input.ndim)
    if input.ndim == 3:
        # NOTE: PyTorch reads a 3-D input as (N, C, L) for now, and says so
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape "
                      "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch "
                      "to using dropout1d instead.", stacklevel=2)
    return _channel_dropout(input, p, training, inplace, False)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an (N, C, D, H, W) or unbatched (C, D, H, W) input."""
    if input.ndim not in (4, 5):
        _deprecated_rank(3, input.ndim)
    return _channel_dropout(input, p, training, inplace, input.ndim == 4)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    norm = _R["norm"](input, p, [dim], True)
    return input / norm.clamp(eps, None).expand_as(input)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    n1 = (x1 * x1).sum([dim], keepdim=True).sqrt().clamp(eps, None)
    n2 = (x2 * x2).sum([dim], keepdim=True).sqrt().clamp(eps, None)
    return ((x1 / n1) * (x2 / n2)).sum([dim])


# --- embedding, one_hot, pad ---------------------------------------------------------------------
def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= weight.shape[0]:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            if padding_idx < -weight.shape[0]:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = weight.shape[0] + padding_idx
    else:
        padding_idx = -1
    if max_norm is not None:
        _renorm_rows(weight, input, max_norm, norm_type)
    return _R["embedding"](weight, input, padding_idx, scale_grad_by_freq, sparse)


def _renorm_rows(weight: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> None:
    """Scale the looked-up rows of ``weight`` in place so their norm is at most ``max_norm``."""
    with no_grad():
        rows = _R["embedding"](weight, indices.reshape([-1]))
        norms = (rows.abs() ** norm_type).sum([1], keepdim=True) ** (1.0 / norm_type)
        scale = (max_norm / (norms + 1e-7)).clamp(None, 1.0)
        hot = _R["one_hot"](indices.reshape([-1]), weight.shape[0]).to(weight.dtype)
        # NOTE: every lookup of a row has the same norm, so averaging over lookups rescales
        # each row exactly once
        counts = hot.sum([0]).clamp(1.0, None)
        factor = (hot * (scale - 1)).sum([0]) / counts
        weight.copy_(weight * (factor.unsqueeze(1) + 1))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    return _R["one_hot"](tensor, num_classes)


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    return _R["pad"](input, list(pad), mode, value)


# --- attention ------------------------------------------------------------------------------------
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q @ k^T * scale + mask) @ v; a bool mask keeps True entries, a float one adds."""
    return _R["scaled_dot_product_attention"](query, key, value, attn_mask, dropout_p, is_causal,
                                              scale=scale, enable_gqa=enable_gqa)


# --- losses ---------------------------------------------------------------------------------------
def _reduction(size_average, reduce, reduction: str) -> str:
    if size_average is None:
        if reduce is None:      # NOTE: nested, so script decides it while compiling
            return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use reduction='"
                  f"{_legacy(size_average, reduce)}' instead.", stacklevel=3)
    return _legacy(size_average, reduce)


def _legacy(size_average, reduce) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _warn_size(input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean") -> Tensor:
    _warn_size(input, target)
    return _R["mse_loss"](input, target, _reduction(size_average, reduce, reduction))


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean") -> Tensor:
    _warn_size(input, target)
    return _R["l1_loss"](input, target, _reduction(size_average, reduce, reduction))


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    _warn_size(input, target)
    return _R["smooth_l1_loss"](input, target, _reduction(size_average, reduce, reduction), beta)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    _warn_size(input, target)
    return _R["huber_loss"](input, target, reduction, delta)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    return _R["nll_loss"](input, target, weight, _reduction(size_average, reduce, reduction),
                          ignore_index)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    return _R["cross_entropy"](input, target, weight, _reduction(size_average, reduce, reduction),
                               ignore_index, label_smoothing)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    return _R["binary_cross_entropy"](input, target, weight,
                                      _reduction(size_average, reduce, reduction))


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    return _R["binary_cross_entropy_with_logits"](
        input, target, weight, _reduction(size_average, reduce, reduction), pos_weight)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    return _R["kl_div"](input, target, reduction, log_target)




# the convolution and pooling functionals live next to their modules
from graphtorch.nn.conv import (  # noqa: E402,F401
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from graphtorch.nn.embedding_bag import embedding_bag  # noqa: E402,F401
from graphtorch.nn.instancenorm import instance_norm  # noqa: E402,F401
from graphtorch.nn.likelihood_loss import (  # noqa: E402,F401
    gaussian_nll_loss,
    poisson_nll_loss,
)
from graphtorch.nn.margin_loss import (  # noqa: E402,F401
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multilabel_soft_margin_loss,
    pairwise_distance,
    soft_margin_loss,
    triplet_margin_loss,
)
from graphtorch.nn.pooling import (  # noqa: E402,F401
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    lp_pool1d,
    lp_pool2d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
)
from graphtorch.nn.upsampling import (  # noqa: E402,F401
    interpolate,
    pixel_shuffle,
    pixel_unshuffle,
)
