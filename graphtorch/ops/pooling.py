"""Pooling: max/avg pooling (1d, 2d) with PyTorch's ceil_mode and padding rules, adaptive pooling.

Max pooling returns PyTorch's flat spatial indices; its gradient scatters through them with the
private pair ``_pool_scatter``/``_pool_gather`` (each the other's adjoint). Average pooling is
linear: its backward ``_avg_pool_backward`` is the adjoint, whose own vjp is avg pooling again.
Adaptive average pooling is two small averaging matrices, so its vjp is plain matmuls.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import ShapeError
from graphtorch.ops.conv import expand_param
from graphtorch.ops.conv_kernels import pad_spatial
from graphtorch.ops.creation import tensor
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import ANY, OpKind, SampleInput, Saves, register, saved


def _fmt(v) -> str:
    return "(" + "x".join(str(s) for s in v) + ")"


# --- geometry ------------------------------------------------------------------------------------
class _PoolArgs:
    """A pooling call's normalised geometry and PyTorch's shape checks."""

    def __init__(self, op: str, nd: int, shape, kernel_size, stride, padding, dilation=1,
                 ceil_mode=False):
        if len(shape) not in (nd + 1, nd + 2):
            raise ShapeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D input, but got input of "
                             f"size: [{', '.join(str(s) for s in shape)}]")
        self.unbatched = len(shape) == nd + 1
        self.batch_shape = tuple(shape) if not self.unbatched else (1,) + tuple(shape)
        self.kernel = expand_param(kernel_size, nd, "kernel_size", op)
        stride = self.kernel if stride is None or stride == [] or stride == () else stride
        self.stride = expand_param(stride, nd, "stride", op)
        self.padding = expand_param(padding, nd, "padding", op)
        self.dilation = expand_param(dilation, nd, "dilation", op)
        if any(k <= 0 for k in self.kernel):
            raise ShapeError(f"{op}(): kernel_size must be greater than zero, but got "
                             f"{list(self.kernel)}")
        if any(s <= 0 for s in self.stride):
            raise ShapeError(f"{op}(): stride must be greater than zero, but got "
                             f"{list(self.stride)}")
        if any(d <= 0 for d in self.dilation):
            raise ShapeError(f"{op}(): dilation must be greater than zero, but got "
                             f"{list(self.dilation)}")
        for k, p, d in zip(self.kernel, self.padding, self.dilation):
            if p < 0 or 2 * p > d * (k - 1) + 1:
                raise ShapeError(f"{op}(): pad should be at most half of effective kernel "
                                 f"size, but got pad={p}, kernel_size={k} and dilation={d}")
        self.in_size = self.batch_shape[2:]
        self.out_size = tuple(_out_len(i, k, s, p, d, ceil_mode) for i, k, s, p, d in
                              zip(self.in_size, self.kernel, self.stride, self.padding,
                                  self.dilation))
        if any(isinstance(o, int) and o < 1 for o in self.out_size):
            raise ShapeError(f"{op}(): Given input size: {_fmt(self.batch_shape[1:])}. "
                             f"Calculated output size: "
                             f"{_fmt(self.batch_shape[1:2] + self.out_size)}. "
                             "Output size is too small")

    @property
    def pads(self) -> tuple[tuple[int, int], ...]:
        """(low, high) pads that make every window (incl. ceil_mode's last one) fit."""
        return tuple((p, (o - 1) * s + d * (k - 1) + 1 - i - p) for i, o, k, s, p, d in
                     zip(self.in_size, self.out_size, self.kernel, self.stride, self.padding,
                         self.dilation))

    def out_shape(self, shape) -> tuple:
        return tuple(shape[:len(shape) - len(self.kernel)]) + self.out_size


def _out_len(size, k, s, p, d, ceil_mode):
    if not isinstance(size, int):
        return None
    span = size + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1  # NOTE: PyTorch drops a last window that would start in the right padding
    return out


# --- array kernels -------------------------------------------------------------------------------
def _lowest(dtype):
    return -np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min


def _tap_views(xpad, a: _PoolArgs):
    """One strided view (N, C, *out) per kernel tap: pooling as K elementwise passes."""
    lead = (slice(None),) * 2
    for tap in itertools.product(*(range(k) for k in a.kernel)):
        yield tap, xpad[lead + tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, d, o, s in
                                     zip(tap, a.dilation, a.out_size, a.stride))]


def max_pool_kernel(xp, x, a: _PoolArgs):
    x = x.reshape(a.batch_shape)
    xpad = pad_spatial(xp, x, a.pads, _lowest(x.dtype))
    views = list(_tap_views(xpad, a))
    values = views[0][1].copy()
    for _, v in views[1:]:
        xp.maximum(values, v, out=values)
    has_nan = values.dtype.kind == "f" and bool(xp.isnan(values).any())
    # NOTE: the first maximum wins (PyTorch's choice on ties): its tap is the number of leading
    # taps that miss the maximum, counted with boolean passes (~5x faster than masked copies)
    best = xp.zeros(values.shape, dtype=np.int8 if len(views) < 128 else np.int64)
    missed = None
    for _, v in views[:-1]:
        miss = v != values
        missed = miss if missed is None else xp.logical_and(missed, miss, out=missed)
        best += missed
    if has_nan:  # PyTorch's window scan takes every NaN it meets: the last one wins
        for k, (_, v) in enumerate(views):
            xp.copyto(best, k, where=xp.isnan(v))
    # flat input index = window origin + the chosen tap's offset (both linear in h*W + w)
    origin = xp.zeros((1,) * values.ndim, dtype=np.int64)
    offsets = np.zeros(len(views), dtype=np.int64)
    taps = np.unravel_index(np.arange(len(views)), a.kernel)
    for j, (tap, s, p, d, size) in enumerate(zip(taps, a.stride, a.padding, a.dilation,
                                                  a.in_size)):
        shape = [1] * values.ndim
        shape[2 + j] = -1
        origin = origin * size + (xp.arange(values.shape[2 + j]) * s - p).reshape(shape)
        offsets = offsets * size + tap * d
    index = xp.asarray(offsets)[best]
    index += origin
    if a.unbatched:
        return values[0], index[0]
    return values, index


def avg_pool_kernel(xp, x, a: _PoolArgs, count_include_pad, divisor_override):
    x = x.reshape(a.batch_shape)
    views = [v for _, v in _tap_views(pad_spatial(xp, x, a.pads), a)]
    total = views[0].copy()
    for v in views[1:]:
        total += v
    out = total / _divisor(xp, a, count_include_pad, divisor_override, x.dtype)
    out = out.astype(x.dtype, copy=False)
    return out[0] if a.unbatched else out


def _divisor(xp, a: _PoolArgs, count_include_pad, divisor_override, dtype):
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    if divisor_override:
        return xp.asarray(divisor_override, dtype=dtype)
    div = xp.ones((), dtype=dtype)
    for i, (size, o, k, s, p) in enumerate(zip(a.in_size, a.out_size, a.kernel, a.stride,
                                               a.padding)):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        shape = [1] * len(a.kernel)
        shape[i] = -1
        div = div * xp.asarray((end - start).reshape(shape), dtype=dtype)
    return div


def avg_pool_backward_kernel(xp, g, a: _PoolArgs, count_include_pad, divisor_override):
    g = g.reshape(a.batch_shape[:2] + a.out_size)
    g = g / _divisor(xp, a, count_include_pad, divisor_override, g.dtype)
    size = tuple(i + lo + max(hi, 0) for i, (lo, hi) in zip(a.in_size, a.pads))
    buf = xp.zeros(g.shape[:2] + size, dtype=g.dtype)
    lead = (slice(None),) * 2
    for tap in itertools.product(*(range(k) for k in a.kernel)):
        dst = tuple(slice(t, t + (o - 1) * s + 1, s)
                    for t, o, s in zip(tap, a.out_size, a.stride))
        buf[lead + dst] += g
    inner = tuple(slice(lo, lo + i) for i, (lo, _) in zip(a.in_size, a.pads))
    out = xp.ascontiguousarray(buf[lead + inner])
    return out[0] if a.unbatched else out


# --- max pooling ---------------------------------------------------------------------------------
def _max_pool_with_indices(nd: int):
    name = f"max_pool{nd}d_with_indices"

    def args_of(shape, kernel_size, stride, padding, dilation, ceil_mode):
        return _PoolArgs(name, nd, shape, kernel_size, stride, padding, dilation, ceil_mode)

    def kernel(xp, x, kernel_size, stride, padding, dilation, ceil_mode):
        return max_pool_kernel(xp, x, args_of(x.shape, kernel_size, stride, padding, dilation,
                                              ceil_mode))

    def meta(x, kernel_size, stride, padding, dilation, ceil_mode):
        a = args_of(tuple(x.shape), kernel_size, stride, padding, dilation, ceil_mode)
        shape = a.out_shape(tuple(x.shape))
        return (TensorMeta(x.dtype, shape, x.device), TensorMeta(dtypes.int64, shape, x.device))

    def vjp(ctx, g, _g_indices):
        x, kernel_size, stride, padding, dilation, ceil_mode = ctx.args
        a = args_of(tuple(x.shape), kernel_size, stride, padding, dilation, ceil_mode)
        disjoint = all(s >= d * (k - 1) + 1 for s, d, k in zip(a.stride, a.dilation, a.kernel))
        return (scatter_by_indices(g, ctx.output(1), tuple(x.shape), nd, disjoint),)

    return register(
        f"{name}(Tensor self, int[] kernel_size, int[] stride=[], int[] padding=0, "
        f"int[] dilation=1, bool ceil_mode=False) -> (Tensor, Tensor)", OpKind.OPAQUE,
        kernel=kernel, meta=meta, vjp=vjp, samples=_max_samples(nd, True),
        saves=Saves.OUTPUTS, backward_name=f"MaxPool{nd}DWithIndicesBackward0",
        torch_ref=lambda torch, *a, **k: getattr(torch.nn.functional, name)(*a, **k),
        doc=f"{nd}-D max pooling returning (values, flat spatial indices of the maxima).")


def _max_pool(nd: int, with_indices):
    name = f"max_pool{nd}d"

    def decomposition(x, kernel_size, stride, padding, dilation, ceil_mode):
        return with_indices(x, kernel_size, stride, padding, dilation, ceil_mode)[0]

    def meta(x, kernel_size, stride, padding, dilation, ceil_mode):
        return with_indices.meta(x, kernel_size, stride, padding, dilation, ceil_mode)[0]

    register(f"{name}(Tensor self, int[] kernel_size, int[] stride=[], int[] padding=0, "
             f"int[] dilation=1, bool ceil_mode=False) -> Tensor", OpKind.COMPOSITE,
             decomposition=decomposition, meta=meta, samples=_max_samples(nd, False),
             doc=f"{nd}-D max pooling over an (N, C, *spatial) input, as torch.{name}.")


def scatter_by_indices(g, indices, input_shape, nd: int, unique: bool = False):
    """Gradient of a max pool: ``g`` added at the flat spatial ``indices`` of the input."""
    lead = tuple(input_shape[:len(input_shape) - nd])
    size = math.prod(input_shape[len(input_shape) - nd:])
    rows = math.prod(lead)
    # NOTE: explicit sizes, not -1: an empty batch makes -1 ambiguous
    per_row = math.prod(tuple(g.shape)[len(lead):])
    out = _POOL_SCATTER(g.reshape([rows, per_row]), indices.reshape([rows, per_row]), size,
                        unique)
    return out.reshape(list(input_shape))


def _scatter_kernel(xp, grad, indices, size, unique_indices):
    rows = grad.shape[0]
    flat = (indices + xp.arange(rows).reshape(-1, 1) * size).reshape(-1)
    if unique_indices:
        out = xp.zeros(rows * size, dtype=grad.dtype)
        out[flat] = grad.reshape(-1)
        return out.reshape(rows, size)
    # NOTE: overlapping windows may pick one input twice; bincount sums duplicates in one pass
    out = xp.bincount(flat, weights=grad.reshape(-1).astype(np.float64), minlength=rows * size)
    return out.astype(grad.dtype).reshape(rows, size)


def _index_sample(unique: bool = False):
    rows = [[0, 3, 1], [2, 1, 0]] if unique else [[0, 3, 3], [2, 1, 2]]
    return tensor(rows, dtype=dtypes.int64)


def _scatter_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    t = SampleMaker(60).tensor
    return [SampleInput((t((2, 3), dtype), _index_sample(), 4), name="overlap"),
            SampleInput((t((2, 3), dtype), _index_sample(True), 4, True), name="unique")]


_POOL_SCATTER = register(
    "_pool_scatter(Tensor grad, Tensor indices, int size, bool unique_indices=False) -> Tensor",
    OpKind.OPAQUE, kernel=_scatter_kernel,
    meta=lambda g, idx, size, unique: TensorMeta(g.dtype, (g.shape[0], size), g.device),
    vjp=lambda ctx, gbar: (_POOL_GATHER(gbar, ctx.args[1]), None), saves=saved(indices=ANY),
    samples=_scatter_samples,
    torch_ref=lambda torch, g, idx, size, unique=False: torch.zeros(
        g.shape[0], size, dtype=g.dtype).scatter_add(1, idx, g),
    doc="Rows of ``grad`` summed into ``size`` slots at ``indices`` (max pooling's backward).")
_POOL_GATHER = register(
    "_pool_gather(Tensor input, Tensor indices) -> Tensor", OpKind.OPAQUE,
    kernel=lambda xp, x, idx: xp.take_along_axis(x, idx, axis=1),
    meta=lambda x, idx: TensorMeta(x.dtype, tuple(idx.shape), x.device),
    vjp=lambda ctx, g: (_POOL_SCATTER(g, ctx.args[1], ctx.args[0].shape[1]), None),
    saves=saved(indices=ANY),
    samples=lambda dtype=dtypes.float64: [] if not dtype.is_floating_point else [SampleInput(
        (SampleMaker(61).tensor((2, 4), dtype), _index_sample()), name="overlap")],
    torch_ref=lambda torch, x, idx: torch.gather(x, 1, idx),
    doc="``input[r, indices[r, j]]`` row by row (the adjoint of _pool_scatter).")


# --- average pooling -----------------------------------------------------------------------------
def _avg_pool(nd: int):
    name = f"avg_pool{nd}d"
    # NOTE: PyTorch's avg_pool1d has no divisor_override; 2d and 3d do
    override = ", int? divisor_override=None" if nd >= 2 else ""

    def split(rest):
        return rest if nd >= 2 else rest + (None,)

    def kernel(xp, x, kernel_size, stride, padding, ceil_mode, count_include_pad, *rest):
        a = _PoolArgs(name, nd, x.shape, kernel_size, stride, padding, 1, ceil_mode)
        return avg_pool_kernel(xp, x, a, count_include_pad, *split(rest))

    def meta(x, kernel_size, stride, padding, ceil_mode, count_include_pad, *rest):
        a = _PoolArgs(name, nd, tuple(x.shape), kernel_size, stride, padding, 1, ceil_mode)
        return TensorMeta(x.dtype, a.out_shape(tuple(x.shape)), x.device)

    def vjp(ctx, g):
        x, kernel_size, stride, padding, ceil_mode, count_include_pad, *rest = ctx.args
        a = _PoolArgs(name, nd, tuple(x.shape), kernel_size, stride, padding, 1, ceil_mode)
        return (_AVG_POOL_BACKWARD(g, list(x.shape), list(a.kernel), list(a.stride),
                                   list(a.padding), ceil_mode, count_include_pad,
                                   *split(tuple(rest))),)

    return register(
        f"{name}(Tensor self, int[] kernel_size, int[] stride=[], int[] padding=0, "
        f"bool ceil_mode=False, bool count_include_pad=True{override}) -> Tensor", OpKind.OPAQUE,
        kernel=kernel, meta=meta, vjp=vjp, samples=_avg_samples(nd), saves=Saves.NOTHING,
        backward_name=f"AvgPool{nd}DBackward0",
        torch_ref=lambda torch, *a, **k: getattr(torch.nn.functional, name)(*a, **k),
        doc=f"{nd}-D average pooling over an (N, C, *spatial) input, as torch.{name}.")


def _avg_backward_args(grad_shape, input_size, kernel_size, stride, padding, ceil_mode):
    nd = len(kernel_size)
    a = _PoolArgs("avg_pool_backward", nd, tuple(input_size), kernel_size, stride, padding, 1,
                  ceil_mode)
    if tuple(grad_shape) != a.out_shape(tuple(input_size)):
        raise ShapeError(f"avg_pool{nd}d backward: expected grad_output of shape "
                         f"{list(a.out_shape(tuple(input_size)))}, got {list(grad_shape)}")
    return a


def _avg_backward_kernel(xp, g, input_size, kernel_size, stride, padding, ceil_mode,
                         count_include_pad, divisor_override):
    a = _avg_backward_args(g.shape, input_size, kernel_size, stride, padding, ceil_mode)
    return avg_pool_backward_kernel(xp, g, a, count_include_pad, divisor_override)


def _avg_backward_vjp(ctx, gbar):
    _, input_size, kernel_size, stride, padding, ceil_mode, count_include_pad, div = ctx.args
    pool = _AVG_POOL[len(kernel_size)]
    extra = (div,) if len(kernel_size) == 2 else ()
    return (pool(gbar, kernel_size, stride, padding, ceil_mode, count_include_pad, *extra),)


def _avg_backward_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    t = SampleMaker(62).tensor
    return [SampleInput((t((1, 2, 3, 4), dtype), [1, 2, 5, 6], [3, 2], [2, 2], [1, 1], True,
                         False, None), name="ceil_exclude_pad"),
            SampleInput((t((2, 2, 3), dtype), [2, 2, 5], [3], [2], [1], False, True, None),
                        name="1d")]


def _torch_avg_backward(torch, g, input_size, kernel_size, stride, padding, ceil_mode,
                        count_include_pad, divisor_override):
    x = torch.zeros(input_size, dtype=g.dtype, requires_grad=True)
    nd = len(kernel_size)
    extra = {"divisor_override": divisor_override} if nd == 2 else {}
    y = getattr(torch.nn.functional, f"avg_pool{nd}d")(x, kernel_size, stride, padding, ceil_mode,
                                                       count_include_pad, **extra)
    return torch.autograd.grad(y, x, g)[0]


_AVG_POOL_BACKWARD = register(
    "_avg_pool_backward(Tensor grad_output, int[] input_size, int[] kernel_size, int[] stride, "
    "int[] padding, bool ceil_mode, bool count_include_pad, int? divisor_override) -> Tensor",
    OpKind.OPAQUE, kernel=_avg_backward_kernel,
    meta=lambda g, input_size, *rest: TensorMeta(g.dtype, tuple(input_size), g.device),
    vjp=_avg_backward_vjp, samples=_avg_backward_samples, saves=Saves.NOTHING,
    torch_ref=_torch_avg_backward, backward_name="AvgPoolBackwardBackward0",
    doc="The adjoint of average pooling (its gradient), itself differentiable.")


# --- adaptive pooling ----------------------------------------------------------------------------
def adaptive_bins(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive bins: [floor(i * size / out), ceil((i + 1) * size / out))."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _adaptive_out(op: str, nd: int, shape, output_size) -> tuple:
    if len(shape) not in (nd + 1, nd + 2):
        raise ShapeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got tensor of "
                         f"size [{', '.join(str(s) for s in shape)}]")
    if isinstance(output_size, int):
        output_size = (output_size,) * nd
    if len(output_size) != nd:
        raise ShapeError(f"{op}(): output_size must be {nd}, but got {list(output_size)}")
    spatial = tuple(shape[len(shape) - nd:])
    out = tuple(s if o is None else int(o) for s, o in zip(spatial, output_size))
    if any(isinstance(o, int) and o < 0 for o in out):
        raise ShapeError(f"{op}(): elements of output_size must be greater than or equal to "
                         f"0 but received {list(out)}")
    return tuple(shape[:len(shape) - nd]) + out


def averaging_matrix(xp, size: int, out: int, dtype):
    """(out, size) matrix whose row i averages adaptive bin i."""
    start, end = adaptive_bins(size, out)
    cols = np.arange(size)
    m = ((cols >= start[:, None]) & (cols < end[:, None])) / (end - start)[:, None]
    return xp.asarray(m, dtype=dtype)


def _adaptive_avg(nd: int):
    name = f"adaptive_avg_pool{nd}d"

    def kernel(xp, x, output_size):
        shape = _adaptive_out(name, nd, x.shape, output_size)
        y = x
        for j in range(nd):
            axis = x.ndim - nd + j
            m = averaging_matrix(xp, x.shape[axis], shape[axis], x.dtype)
            y = xp.moveaxis(xp.matmul(m, xp.moveaxis(y, axis, -2)), -2, axis)
        return xp.ascontiguousarray(y)

    def vjp(ctx, g):
        x = ctx.args[0]
        gx = g
        for j in range(nd):
            axis = x.ndim - nd + j
            m = averaging_matrix(np, x.shape[axis], g.shape[axis], x.dtype.np)
            mt = tensor(m.T.copy(), device=g.device)
            gx = mt.matmul(gx.transpose(axis, -2)).transpose(axis, -2)
        return (gx,)

    register(f"{name}(Tensor self, int[] output_size) -> Tensor", OpKind.OPAQUE, kernel=kernel,
             meta=lambda x, output_size: TensorMeta(
                 x.dtype, _adaptive_out(name, nd, tuple(x.shape), output_size), x.device),
             vjp=vjp, samples=_adaptive_samples(nd), saves=Saves.NOTHING,
             backward_name=f"AdaptiveAvgPool{nd}DBackward0",
             torch_ref=lambda torch, *a, **k: getattr(torch.nn.functional, name)(*a, **k),
             doc=f"{nd}-D adaptive average pooling to ``output_size``, as torch's {name}.")


def adaptive_max_kernel(xp, x, shape, nd: int):
    """Max over adaptive bins, one spatial dim at a time (max is separable; so is first-max)."""
    values = x
    index = xp.zeros(x.shape, dtype=np.int64)
    step = 1
    for j in reversed(range(nd)):
        axis = x.ndim - nd + j
        start, end = adaptive_bins(x.shape[axis], shape[axis])
        vals, idx = [], []
        for s, e in zip(start.tolist(), end.tolist()):
            seg = xp.take(values, xp.arange(s, e), axis=axis)
            arg = seg.argmax(axis=axis)[(slice(None),) * axis + (None,)]
            vals.append(xp.take_along_axis(seg, arg, axis=axis))
            seg_idx = xp.take(index, xp.arange(s, e), axis=axis)
            idx.append(xp.take_along_axis(seg_idx, arg, axis=axis) + (arg + s) * step)
        values = xp.concatenate(vals, axis=axis)
        index = xp.concatenate(idx, axis=axis)
        step *= x.shape[axis]
    return values, index


def _adaptive_max(nd: int):
    name = f"adaptive_max_pool{nd}d"

    def kernel(xp, x, output_size):
        shape = _adaptive_out(name, nd, x.shape, output_size)
        if any(o == 0 for o in shape):
            return xp.zeros(shape, x.dtype), xp.zeros(shape, np.int64)
        return adaptive_max_kernel(xp, x, shape, nd)

    def meta(x, output_size):
        shape = _adaptive_out(name, nd, tuple(x.shape), output_size)
        return (TensorMeta(x.dtype, shape, x.device), TensorMeta(dtypes.int64, shape, x.device))

    def vjp(ctx, g, _g_indices):
        return (scatter_by_indices(g, ctx.output(1), tuple(ctx.args[0].shape), nd),)

    register(f"{name}(Tensor self, int[] output_size) -> (Tensor, Tensor)", OpKind.OPAQUE,
             kernel=kernel, meta=meta, vjp=vjp, samples=_adaptive_samples(nd),
             saves=Saves.OUTPUTS, backward_name=f"AdaptiveMaxPool{nd}DBackward0",
             torch_ref=lambda torch, x, size: getattr(torch.nn.functional, name)(
                 x, size, return_indices=True),
             doc=f"{nd}-D adaptive max pooling returning (values, flat spatial indices).")


# --- samples -------------------------------------------------------------------------------------
def _max_samples(nd: int, with_indices: bool):
    def samples(dtype=dtypes.float64):
        if not dtype.is_floating_point:
            return []
        t = SampleMaker(70 + nd).tensor
        sp = (5,) * nd
        return [SampleInput((t((2, 2) + sp, dtype), 2), name="k2"),
                SampleInput((t((1, 2) + sp, dtype), 3, 2, 1), name="overlap_pad"),
                SampleInput((t((1, 2) + sp, dtype), 2), {"stride": 2, "ceil_mode": True},
                            name="ceil"),
                SampleInput((t((1, 1) + (7,) * nd, dtype), 2),
                            {"dilation": 2, "stride": 1, "padding": 1}, name="dilation"),
                SampleInput((t((2,) + sp, dtype), 3, 1), name="unbatched")]

    return samples


def _avg_samples(nd: int):
    def samples(dtype=dtypes.float64):
        if not dtype.is_floating_point:
            return []
        t = SampleMaker(80 + nd).tensor
        sp = (5,) * nd
        out = [SampleInput((t((2, 2) + sp, dtype), 2), name="k2"),
               SampleInput((t((1, 2) + sp, dtype), 3, 2, 1), name="pad"),
               SampleInput((t((1, 2) + sp, dtype), 3, 2, 1, True, False),
                           name="ceil_exclude_pad"),
               SampleInput((t((2,) + sp, dtype), 2, 1), name="unbatched")]
        if nd == 2:
            out.append(SampleInput((t((1, 1, 4, 6), dtype), [2, 3]),
                                   {"divisor_override": 4}, name="divisor_override"))
        return out

    return samples


def _adaptive_samples(nd: int):
    def samples(dtype=dtypes.float64):
        if not dtype.is_floating_point:
            return []
        t = SampleMaker(90 + nd).tensor
        return [SampleInput((t((2, 2) + (6,) * nd, dtype), 3), name="divisible"),
                SampleInput((t((1, 2) + (7,) * nd, dtype), [3] * nd), name="overlapping"),
                SampleInput((t((2,) + (5,) * nd, dtype), [None] * (nd - 1) + [2]),
                            name="unbatched_none")]

    return samples


_AVG_POOL = {nd: _avg_pool(nd) for nd in (1, 2, 3)}
for _nd in (1, 2, 3):
    _max_pool(_nd, _max_pool_with_indices(_nd))
    _adaptive_avg(_nd)
    _adaptive_max(_nd)

# NOTE: max_unpool lives in its own file; importing it here registers it with the pooling ops
from graphtorch.ops import unpooling as _unpooling  # noqa: E402,F401
