"""Activation ops: elementwise primitives with lowerings, gelu as a composite, softmax family.

Elementwise activations take their extra scalars as schema arguments, so lowerings refer to them
by position (``{1}``, ``{2}``) in the same expression notation as ``ops/elementwise.py``.
"""

from __future__ import annotations

import math

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import DTypeError
from graphtorch.ops.meta import TensorMeta, normalize_dim
from graphtorch.ops.op_helpers import SampleMaker, as_input_dtype, elementwise_meta
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
from graphtorch.ops.special import erf_array


def _require_float(name: str, x) -> None:
    if x.dtype.kind != "f":
        raise DTypeError(f'"{name}" not implemented for '
                         f"'{dtypes.from_numpy(x.dtype).name}'")


def _act_samples(*extra, low=-3.0, high=3.0):
    """Samples away from 0 (the kink of relu-like ops), optionally with extra scalar args."""

    def samples(dtype=dtypes.float64):
        if not dtype.is_floating_point:
            return []
        m = SampleMaker(50)
        vec = m.tensor((7,), dtype, low, high)
        vec = vec.where(vec.abs() > 0.05, 0.5)
        out = [SampleInput((vec,), name="vector"),
               SampleInput((m.tensor((2, 3), dtype, low, high),), name="matrix")]
        for i, args in enumerate(extra):
            out.append(SampleInput((m.tensor((3, 2), dtype, low, high),) + tuple(args),
                                   name=f"args{i}"))
        return out

    return samples


def activation(schema: str, kernel, vjp, lower: str, samples, torch_ref, saves=Saves.INPUTS):
    """Register an elementwise activation on float tensors (the extra scalars never promote)."""
    name = schema.split("(", 1)[0]

    def checked(xp, x, *args):
        _require_float(name, x)
        with np.errstate(over="ignore"):
            return kernel(xp, x, *args).astype(x.dtype, copy=False)

    op = register(schema, OpKind.ELEMENTWISE, kernel=checked, vjp=vjp, lowering=lower,
                  promotion=Promotion.DEFAULT, promote_args=(0,), samples=samples, saves=saves,
                  torch_ref=torch_ref)
    op.meta = elementwise_meta(op)
    return op


def _F(torch):
    return torch.nn.functional


def _sigmoid(xp, x):
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(xp, x, beta=1.0, threshold=20.0):
    bx = x * beta
    # NOTE: log1p(exp(-|bx|)) + max(bx, 0) never overflows; above threshold it is the identity
    soft = (xp.log1p(xp.exp(-xp.abs(bx))) + xp.maximum(bx, 0)) / beta
    return xp.where(bx > threshold, x, soft)


# --- silu, mish, softplus ------------------------------------------------------------------------
def _silu_vjp(ctx, g):
    x = ctx.args[0]
    s = x.sigmoid()
    return (g * s * (1 + x * (1 - s)),)


activation("silu(Tensor input) -> Tensor", lambda xp, x: x * _sigmoid(xp, x), _silu_vjp,
           "({0} * sigmoid({0}))", _act_samples(),
           lambda torch, x: _F(torch).silu(x))


def _mish_vjp(ctx, g):
    x = ctx.args[0]
    tsp = REGISTRY["softplus"](x).tanh()
    return (g * (tsp + x * x.sigmoid() * (1 - tsp * tsp)),)


activation("mish(Tensor input) -> Tensor", lambda xp, x: x * xp.tanh(_softplus(xp, x)),
           _mish_vjp, "({0} * tanh(where({0} > 20.0, {0}, log1p(exp({0})))))", _act_samples(),
           lambda torch, x: _F(torch).mish(x))


def _softplus_vjp(ctx, g):
    x, beta, threshold = ctx.args
    bx = x * beta
    return (g.where(bx > threshold, g * bx.sigmoid()),)


activation("softplus(Tensor input, Scalar beta=1.0, Scalar threshold=20.0) -> Tensor", _softplus,
           _softplus_vjp, "where({0} * {1} > {2}, {0}, log1p(exp({0} * {1})) / {1})",
           _act_samples((2.0, 1.0), (0.5, 20.0)),
           lambda torch, x, beta=1.0, threshold=20.0: _F(torch).softplus(x, beta, threshold))


# --- piecewise: elu, leaky_relu, hardtanh --------------------------------------------------------
def _elu(xp, x, alpha=1.0):
    return xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))


def _elu_vjp(ctx, g):
    x, alpha = ctx.args
    neg = (x.clamp(None, 0.0).exp() * alpha) * g
    return (g.where(x > 0, neg),)


activation("elu(Tensor input, Scalar alpha=1.0) -> Tensor", _elu, _elu_vjp,
           "where({0} > 0, {0}, {1} * expm1(min({0}, 0)))", _act_samples((0.5,)),
           lambda torch, x, alpha=1.0: _F(torch).elu(x, alpha))


def _leaky_vjp(ctx, g):
    x, slope = ctx.args
    return (g.where(x > 0, g * slope),)


activation("leaky_relu(Tensor input, Scalar negative_slope=0.01) -> Tensor",
           lambda xp, x, s=0.01: xp.where(x > 0, x, x * s), _leaky_vjp,
           "where({0} > 0, {0}, {0} * {1})", _act_samples((0.2,)),
           lambda torch, x, s=0.01: _F(torch).leaky_relu(x, s))


def _hardtanh(xp, x, lo=-1.0, hi=1.0):
    if lo > hi:
        raise ValueError("min_val cannot be greater than max_val")
    return xp.minimum(xp.maximum(x, lo), hi)


def _hardtanh_vjp(ctx, g):
    x, lo, hi = ctx.args
    inside = (x > lo).logical_and(x < hi)
    return (g * inside,)


activation("hardtanh(Tensor input, Scalar min_val=-1.0, Scalar max_val=1.0) -> Tensor",
           _hardtanh, _hardtanh_vjp, "clamp({0}, {1}, {2})",
           _act_samples((0.0, 6.0), (-2.0, 2.0), low=-8.0, high=8.0),
           lambda torch, x, lo=-1.0, hi=1.0: _F(torch).hardtanh(x, lo, hi))


# --- gelu: a composite (erf or tanh form) with a direct kernel and vjp ---------------------------
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)


def _check_approximate(approximate: str) -> None:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate argument must be either none or tanh, got "
                         f"{approximate!r}")


def _gelu_decomposition(x, approximate="none"):
    _check_approximate(approximate)
    if approximate == "tanh":
        inner = (x + 0.044715 * x * x * x) * _SQRT_2_OVER_PI
        return 0.5 * x * (1 + inner.tanh())
    return 0.5 * x * (1 + (x * _INV_SQRT_2).erf())


def _gelu_kernel(xp, x, approximate):
    _check_approximate(approximate)
    _require_float("gelu", x)
    if approximate == "tanh":
        inner = (x + 0.044715 * x * x * x) * _SQRT_2_OVER_PI
        return (0.5 * x * (1 + xp.tanh(inner))).astype(x.dtype, copy=False)
    return (0.5 * x * (1 + erf_array(xp, x * _INV_SQRT_2))).astype(x.dtype, copy=False)


def _gelu_vjp(ctx, g):
    x, approximate = ctx.args
    if approximate == "tanh":
        inner = ((x + 0.044715 * x * x * x) * _SQRT_2_OVER_PI).tanh()
        d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return (g * (0.5 * (1 + inner) + 0.5 * x * (1 - inner * inner) * d_inner),)
    cdf = 0.5 * (1 + (x * _INV_SQRT_2).erf())
    pdf = (-0.5 * x * x).exp() * (1 / math.sqrt(2 * math.pi))
    return (g * (cdf + x * pdf),)


def _gelu_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(51)
    return [SampleInput((m.tensor((2, 5), dtype),), name="erf"),
            SampleInput((m.tensor((7,), dtype),), {"approximate": "tanh"}, name="tanh")]


register("gelu(Tensor input, *, str approximate='none') -> Tensor", OpKind.COMPOSITE,
         decomposition=_gelu_decomposition, kernel=_gelu_kernel, vjp=_gelu_vjp,
         meta=lambda x, approximate="none": TensorMeta(x.dtype, tuple(x.shape), x.device),
         samples=_gelu_samples, saves=Saves.INPUTS,
         torch_ref=lambda torch, x, approximate="none": _F(torch).gelu(x, approximate=approximate))


# --- softmax and log_softmax: primitives with stable kernels ---------------------------------
def _softmax_input(xp, x, dim, dtype, name):
    if dtype is not None:
        x = x.astype(dtype.np)
    _require_float(name, x)
    return x, normalize_dim(dim, x.ndim, name)


def _softmax(xp, x, dim, dtype):
    x, d = _softmax_input(xp, x, dim, dtype, "softmax")
    if x.ndim == 0:
        return xp.ones_like(x)
    e = xp.exp(x - x.max(axis=d, keepdims=True))
    e /= e.sum(axis=d, keepdims=True)
    return e


def _log_softmax(xp, x, dim, dtype):
    x, d = _softmax_input(xp, x, dim, dtype, "log_softmax")
    if x.ndim == 0:
        return xp.zeros_like(x)
    shifted = x - x.max(axis=d, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=d, keepdims=True))


def _softmax_vjp(ctx, g):
    x, dim, _ = ctx.args
    y = ctx.out
    if y.ndim == 0:
        return (g * 0,)
    return (as_input_dtype(y * (g - (g * y).sum([dim], keepdim=True)), x),)


def _log_softmax_vjp(ctx, g):
    x, dim, _ = ctx.args
    y = ctx.out
    if y.ndim == 0:
        return (g * 0,)
    return (as_input_dtype(g - y.exp() * g.sum([dim], keepdim=True), x),)


def _softmax_meta(x, dim, dtype=None):
    normalize_dim(dim, len(x.shape), "softmax")
    return TensorMeta(dtype or x.dtype, tuple(x.shape), x.device)


def _softmax_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(52)
    return [SampleInput((m.tensor((3, 5), dtype), 1), name="rows"),
            SampleInput((m.tensor((2, 3, 4), dtype), 0), name="dim0"),
            SampleInput((m.tensor((2, 3, 4), dtype, -30, 30), -1), name="wide_range"),
            SampleInput((m.tensor((4,), dtype), 0, dtypes.float64), name="dtype")]


register("softmax(Tensor self, int dim, ScalarType? dtype=None) -> Tensor", OpKind.OPAQUE,
         kernel=_softmax, meta=_softmax_meta, vjp=_softmax_vjp, samples=_softmax_samples,
         saves=saved(result=ANY), backward_name="SoftmaxBackward0")
register("log_softmax(Tensor self, int dim, ScalarType? dtype=None) -> Tensor", OpKind.OPAQUE,
         kernel=_log_softmax, meta=_softmax_meta, vjp=_log_softmax_vjp,
         samples=_softmax_samples, saves=saved(result=ANY),
         backward_name="LogSoftmaxBackward0")
