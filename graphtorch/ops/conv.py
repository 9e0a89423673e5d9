"""Convolutions: conv1d/conv2d, conv_transpose1d/conv_transpose2d and their backward primitives.

Every public conv is expressed with three private primitives that are each other's adjoints, so
gradients of any order stay registry ops:

- ``_conv``: correlation of an input with a weight (im2col + matmul),
- ``_conv_input_grad``: its adjoint in the input (matmul + col2im), i.e. a transposed conv,
- ``_conv_weight_grad``: its adjoint in the weight (im2col + matmul).

Their array kernels (cache-chunked im2col + matmul) live in ``conv_kernels``.

Padding inside the private ops is a flat list of (low, high) pairs per spatial dim; a negative
high pad crops. That is how ``padding="same"`` with an even kernel (asymmetric) and
``output_padding`` of transposed convs are expressed exactly.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.errors import ArgumentError, DTypeError, ShapeError
from graphtorch.ops.conv_kernels import conv_forward, conv_input_grad, conv_weight_grad
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import ANY, OpKind, SampleInput, register, saved


# --- argument normalisation -----------------------------------------------------------------------
def expand_param(value, nd: int, name: str, op: str) -> tuple[int, ...]:
    """``2`` -> ``(2, 2)``; a sequence must have ``nd`` entries (PyTorch's int-or-tuple args)."""
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return (int(value[0]),) * nd
        if len(value) != nd:
            raise ArgumentError(f"{op}(): argument '{name}' must be an int or a tuple of {nd} "
                                f"ints, but got {list(value)}")
        return tuple(int(v) for v in value)
    return (int(value),) * nd


def pair_list(pads) -> list[int]:
    return [p for lo_hi in pads for p in lo_hi]


def pads_of(flat) -> tuple[tuple[int, int], ...]:
    return tuple((int(flat[2 * i]), int(flat[2 * i + 1])) for i in range(len(flat) // 2))


def conv_pads(padding, kernel, dilation, stride, op: str) -> tuple[tuple[int, int], ...]:
    """(low, high) pads per spatial dim from a conv ``padding`` argument (int, ints, or str)."""
    nd = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding != "same":
            raise ShapeError(f"Invalid padding string '{padding}', should be one of "
                             "{'valid', 'same'}")
        if any(s != 1 for s in stride):
            raise ShapeError("padding='same' is not supported for strided convolutions")
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads.append((total // 2, total - total // 2))  # NOTE: the odd extra goes high
        return tuple(pads)
    p = expand_param(padding, nd, "padding", op)
    if any(v < 0 for v in p):
        raise ShapeError(f"{op}(): negative padding is not supported")
    return tuple((v, v) for v in p)


def out_dim(size, k: int, s: int, lo: int, hi: int, d: int):
    if not isinstance(size, int):
        return None
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def _fmt(shape) -> str:
    return "[" + ", ".join(str(v) for v in shape) + "]"


# --- checks shared by kernels and meta rules ------------------------------------------------------
def _check(op: str, x_shape, x_dtype, w_shape, w_dtype, b_shape, groups: int, nd: int,
           transposed: bool) -> bool:
    """Validate a conv call; returns whether the input is unbatched."""
    if len(x_shape) not in (nd + 1, nd + 2):
        raise ShapeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {op}, "
                         f"but got input of size: {_fmt(x_shape)}")
    if len(w_shape) != nd + 2:
        raise ShapeError(f"{op}(): expected weight to be {nd + 2}-dimensional, but got weight of "
                         f"size {_fmt(w_shape)}")
    if x_dtype != w_dtype:
        raise DTypeError(f"{op}(): Input type ({x_dtype.name}) and weight type ({w_dtype.name}) "
                         "should be the same")
    if groups <= 0:
        raise ShapeError("non-positive groups is not supported")
    unbatched = len(x_shape) == nd + 1
    c = x_shape[0 if unbatched else 1]
    if transposed:
        expect, out_c = w_shape[0], w_shape[1] * groups
    else:
        expect, out_c = w_shape[1] * groups, w_shape[0]
        if isinstance(out_c, int) and out_c % groups:
            raise ShapeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                             f"at dimension 0, but got weight of size {_fmt(w_shape)} instead")
    if isinstance(c, int) and isinstance(expect, int) and c != expect:
        raise ShapeError(f"Given {'transposed=1, ' if transposed else ''}groups={groups}, "
                         f"weight of size {_fmt(w_shape)}, expected input{_fmt(x_shape)} to have "
                         f"{expect} channels, but got {c} channels instead")
    if b_shape is not None and tuple(b_shape) != (out_c,) and isinstance(out_c, int):
        raise ShapeError(f"Given weight of size {_fmt(w_shape)}, expected bias to be "
                         f"1-dimensional with {out_c} elements, but got bias of size "
                         f"{_fmt(b_shape)} instead")
    return unbatched


def _conv_out_size(op, in_size, kernel, stride, pads, dilation):
    out = tuple(out_dim(s, k, st, lo, hi, d)
                for s, k, st, (lo, hi), d in zip(in_size, kernel, stride, pads, dilation))
    if any(isinstance(v, int) and v <= 0 for v in out):
        padded = tuple(s + lo + hi if isinstance(s, int) else s
                       for s, (lo, hi) in zip(in_size, pads))
        shown = " x ".join(str(v) for v in padded)
        raise ShapeError(f"{op}(): Calculated padded input size per channel: ({shown}). Kernel "
                         f"size: ({' x '.join(str(k) for k in kernel)}). Kernel size can't be "
                         "greater than actual input size")
    return out


class _ConvArgs:
    """A conv call's normalised geometry (one place for kernels, metas and vjps)."""

    def __init__(self, op, nd, x, w, bias, stride, padding, dilation, groups, transposed=False,
                 output_padding=0):
        x_shape, w_shape = tuple(x.shape), tuple(w.shape)
        self.unbatched = _check(op, x_shape, _dt(x), w_shape, _dt(w),
                                None if bias is None else tuple(bias.shape), groups, nd,
                                transposed)
        self.batch_shape = x_shape if not self.unbatched else (1,) + x_shape
        self.kernel = w_shape[2:]
        self.stride = expand_param(stride, nd, "stride", op)
        self.dilation = expand_param(dilation, nd, "dilation", op)
        if any(v <= 0 for v in self.stride):
            raise ShapeError(f"{op}(): non-positive stride is not supported")
        if any(v <= 0 for v in self.dilation):
            raise ShapeError(f"{op}(): dilation should be greater than zero")
        in_size = self.batch_shape[2:]
        if not transposed:
            self.pads = conv_pads(padding, self.kernel, self.dilation, self.stride, op)
            self.out_size = _conv_out_size(op, in_size, self.kernel, self.stride, self.pads,
                                           self.dilation)
            self.out_c = w_shape[0]
            return
        if isinstance(padding, str):
            raise ArgumentError(f"{op}(): argument 'padding' must be a tuple of ints, not str")
        p = expand_param(padding, nd, "padding", op)
        op_ = expand_param(output_padding, nd, "output_padding", op)
        for o, s, d in zip(op_, self.stride, self.dilation):
            if o >= s and o >= d:
                raise ShapeError(f"{op}(): output padding must be smaller than either stride "
                                 f"or dilation, but got output_padding={list(op_)}, "
                                 f"stride={list(self.stride)}, dilation={list(self.dilation)}")
        # the transposed conv is the adjoint of a conv whose high pad absorbs output_padding
        self.pads = tuple((pi, pi - oi) for pi, oi in zip(p, op_))
        self.out_size = tuple(
            None if not isinstance(s, int) else (s - 1) * st - 2 * pi + d * (k - 1) + oi + 1
            for s, st, pi, d, k, oi in zip(in_size, self.stride, p, self.dilation, self.kernel,
                                           op_))
        if any(isinstance(v, int) and v <= 0 for v in self.out_size):
            raise ShapeError(f"{op}(): Given input size per channel: {_fmt(in_size)}, calculated "
                             f"output size per channel {_fmt(self.out_size)} is too small")
        self.out_c = w_shape[1] * groups

    def out_shape(self, n):
        return ((n,) if not self.unbatched else ()) + (self.out_c,) + tuple(self.out_size)


def _dt(t):
    d = t.dtype
    return d if isinstance(d, dtypes.dtype) else dtypes.from_numpy(d)


def _bias_grad(g, nd: int):
    return g.sum([0] + list(range(2, 2 + nd)))


def _wants(ctx, edge: int) -> bool:
    # NOTE: skipping unwanted input grads halves the first conv layer's backward; contexts
    # without an eager node (graph autodiff) get every gradient.
    edges = getattr(getattr(ctx, "_node", None), "next_edges", None)
    return edges is None or edges[edge] is not None


# --- public convolutions --------------------------------------------------------------------------
def _make_conv(nd: int):
    name = f"conv{nd}d"

    def kernel(xp, x, w, bias, stride, padding, dilation, groups):
        a = _ConvArgs(name, nd, x, w, bias, stride, padding, dilation, groups)
        y = conv_forward(xp, x.reshape(a.batch_shape), w, a.stride, a.pads, a.dilation, groups,
                         bias)
        return y[0] if a.unbatched else y

    def meta(x, w, bias, stride, padding, dilation, groups):
        a = _ConvArgs(name, nd, x, w, bias, stride, padding, dilation, groups)
        return TensorMeta(x.dtype, a.out_shape(x.shape[0]), x.device)

    def vjp(ctx, g):
        x, w, bias, stride, padding, dilation, groups = ctx.args
        a = _ConvArgs(name, nd, x, w, bias, stride, padding, dilation, groups)
        xb = x.reshape(a.batch_shape) if a.unbatched else x
        gb = g.unsqueeze(0) if a.unbatched else g
        flat = pair_list(a.pads)
        gx = gw = gbias = None
        if _wants(ctx, 0):
            gx = _CONV_INPUT_GRAD(gb, w, list(a.batch_shape[2:]), list(a.stride), flat,
                                  list(a.dilation), groups)
            gx = gx.reshape(tuple(x.shape)) if a.unbatched else gx
        if _wants(ctx, 1):
            gw = _CONV_WEIGHT_GRAD(xb, gb, list(a.kernel), list(a.stride), flat,
                                   list(a.dilation), groups)
        if bias is not None and _wants(ctx, 2):
            gbias = _bias_grad(gb, nd)
        return gx, gw, gbias

    register(f"{name}(Tensor input, Tensor weight, Tensor? bias=None, int[] stride=1, "
             f"Any padding=0, int[] dilation=1, int groups=1) -> Tensor", OpKind.OPAQUE,
             kernel=kernel, meta=meta, vjp=vjp, samples=_conv_samples(nd),
             saves=saved(input=ANY, weight="input"),
             backward_name="ConvolutionBackward0",
             doc=f"{nd}-D cross-correlation over an (N, C, *spatial) input, as torch.{name}.")


def _make_conv_transpose(nd: int):
    name = f"conv_transpose{nd}d"

    def args_of(x, w, bias, stride, padding, output_padding, groups, dilation):
        return _ConvArgs(name, nd, x, w, bias, stride, padding, dilation, groups,
                         transposed=True, output_padding=output_padding)

    def kernel(xp, x, w, bias, stride, padding, output_padding, groups, dilation):
        a = args_of(x, w, bias, stride, padding, output_padding, groups, dilation)
        y = conv_input_grad(xp, x.reshape(a.batch_shape), w, a.out_size, a.stride, a.pads,
                            a.dilation, groups)
        if bias is not None:
            y += bias.reshape((-1,) + (1,) * nd)
        return y[0] if a.unbatched else y

    def meta(x, w, bias, stride, padding, output_padding, groups, dilation):
        a = args_of(x, w, bias, stride, padding, output_padding, groups, dilation)
        return TensorMeta(x.dtype, a.out_shape(x.shape[0]), x.device)

    def vjp(ctx, g):
        x, w, bias, stride, padding, output_padding, groups, dilation = ctx.args
        a = args_of(x, w, bias, stride, padding, output_padding, groups, dilation)
        xb = x.reshape(a.batch_shape) if a.unbatched else x
        gb = g.unsqueeze(0) if a.unbatched else g
        flat = pair_list(a.pads)
        gx = gw = gbias = None
        if _wants(ctx, 0):
            gx = _CONV(gb, w, list(a.stride), flat, list(a.dilation), groups)
            gx = gx.reshape(tuple(x.shape)) if a.unbatched else gx
        if _wants(ctx, 1):
            gw = _CONV_WEIGHT_GRAD(gb, xb, list(a.kernel), list(a.stride), flat,
                                   list(a.dilation), groups)
        if bias is not None and _wants(ctx, 2):
            gbias = _bias_grad(gb, nd)
        return gx, gw, gbias

    register(f"{name}(Tensor input, Tensor weight, Tensor? bias=None, int[] stride=1, "
             f"int[] padding=0, int[] output_padding=0, int groups=1, int[] dilation=1) -> Tensor",
             OpKind.OPAQUE, kernel=kernel, meta=meta, vjp=vjp,
             samples=_conv_transpose_samples(nd),
             saves=saved(input=ANY, weight="input"),
             backward_name="ConvolutionBackward0",
             doc=f"{nd}-D transposed convolution (the adjoint of conv{nd}d), as "
                 f"torch.{name}.")


# --- the private adjoint triple -------------------------------------------------------------------
def _private_geometry(x_shape, kernel, stride, padding, dilation):
    pads = pads_of(padding)
    out = _conv_out_size("_conv", tuple(x_shape[2:]), tuple(kernel), tuple(stride), pads,
                         tuple(dilation))
    return pads, out


def _conv_kernel(xp, x, w, stride, padding, dilation, groups):
    return conv_forward(xp, x, w, tuple(stride), pads_of(padding), tuple(dilation), groups)


def _conv_meta(x, w, stride, padding, dilation, groups):
    _, out = _private_geometry(x.shape, w.shape[2:], stride, padding, dilation)
    return TensorMeta(x.dtype, (x.shape[0], w.shape[0]) + out, x.device)


def _conv_vjp(ctx, g):
    x, w, stride, padding, dilation, groups = ctx.args
    gx = gw = None
    if _wants(ctx, 0):
        gx = _CONV_INPUT_GRAD(g, w, list(x.shape[2:]), stride, padding, dilation, groups)
    if _wants(ctx, 1):
        gw = _CONV_WEIGHT_GRAD(x, g, list(w.shape[2:]), stride, padding, dilation, groups)
    return gx, gw


def _input_grad_kernel(xp, g, w, input_size, stride, padding, dilation, groups):
    return conv_input_grad(xp, g, w, tuple(input_size), tuple(stride), pads_of(padding),
                           tuple(dilation), groups)


def _input_grad_meta(g, w, input_size, stride, padding, dilation, groups):
    return TensorMeta(g.dtype, (g.shape[0], w.shape[1] * groups) + tuple(input_size), g.device)


def _input_grad_vjp(ctx, gbar):
    g, w, input_size, stride, padding, dilation, groups = ctx.args
    gg = gw = None
    if _wants(ctx, 0):
        gg = _CONV(gbar, w, stride, padding, dilation, groups)
    if _wants(ctx, 1):
        gw = _CONV_WEIGHT_GRAD(gbar, g, list(w.shape[2:]), stride, padding, dilation, groups)
    return gg, gw


def _weight_grad_kernel(xp, x, g, weight_size, stride, padding, dilation, groups):
    return conv_weight_grad(xp, x, g, tuple(weight_size), tuple(stride), pads_of(padding),
                            tuple(dilation), groups)


def _weight_grad_meta(x, g, weight_size, stride, padding, dilation, groups):
    return TensorMeta(x.dtype, (g.shape[1], x.shape[1] // groups) + tuple(weight_size), x.device)


def _weight_grad_vjp(ctx, wbar):
    x, g, weight_size, stride, padding, dilation, groups = ctx.args
    gx = gg = None
    if _wants(ctx, 0):
        gx = _CONV_INPUT_GRAD(g, wbar, list(x.shape[2:]), stride, padding, dilation, groups)
    if _wants(ctx, 1):
        gg = _CONV(x, wbar, stride, padding, dilation, groups)
    return gx, gg


# --- PyTorch references for the private ops (tests only) ------------------------------------------
def _torch_conv(torch, x, w, stride, padding, dilation, groups):
    nd = x.ndim - 2
    pad = []
    for lo, hi in reversed(pads_of(padding)):
        pad += [lo, hi]
    xp = torch.nn.functional.pad(x, pad)
    fn = getattr(torch.nn.functional, f"conv{nd}d")
    return fn(xp, w, None, tuple(stride), 0, tuple(dilation), groups)


def _torch_input_grad(torch, g, w, input_size, stride, padding, dilation, groups):
    x = torch.zeros((g.shape[0], w.shape[1] * groups) + tuple(input_size), dtype=g.dtype,
                    requires_grad=True)
    y = _torch_conv(torch, x, w, stride, padding, dilation, groups)
    return torch.autograd.grad(y, x, g)[0]


def _torch_weight_grad(torch, x, g, weight_size, stride, padding, dilation, groups):
    w = torch.zeros((g.shape[1], x.shape[1] // groups) + tuple(weight_size), dtype=x.dtype,
                    requires_grad=True)
    y = _torch_conv(torch, x, w, stride, padding, dilation, groups)
    return torch.autograd.grad(y, w, g)[0]


# --- samples --------------------------------------------------------------------------------------
def _conv_samples(nd: int):
    def samples(dtype=dtypes.float64):
        if not dtype.is_floating_point:
            return []
        m = SampleMaker(30 + nd)
        t = m.tensor
        sp = (6,) * nd
        k3 = (3,) * nd
        return [
            SampleInput((t((2, 2) + sp, dtype), t((3, 2) + k3, dtype), t((3,), dtype)),
                        name="bias"),
            SampleInput((t((1, 2) + sp, dtype), t((2, 2) + k3, dtype), None, 2, 1),
                        name="stride2_pad1"),
            SampleInput((t((1, 2) + sp, dtype), t((2, 1) + (2,) * nd, dtype)),
                        {"groups": 2, "padding": "same"}, name="same_even_kernel"),
            SampleInput((t((1, 2) + sp, dtype), t((2, 2) + k3, dtype), t((2,), dtype)),
                        {"dilation": 2, "padding": "same"}, name="same_dilated"),
            SampleInput((t((1, 4) + sp, dtype), t((4, 2) + k3, dtype), t((4,), dtype)),
                        {"stride": [1] + [2] * (nd - 1), "padding": [2] + [0] * (nd - 1),
                         "groups": 2}, name="mixed_groups"),
            SampleInput((t((2,) + sp, dtype), t((2, 2) + k3, dtype)), {"padding": "valid"},
                        name="unbatched"),
        ]

    return samples


def _conv_transpose_samples(nd: int):
    def samples(dtype=dtypes.float64):
        if not dtype.is_floating_point:
            return []
        m = SampleMaker(40 + nd)
        t = m.tensor
        sp = (4,) * nd
        k3 = (3,) * nd
        return [
            SampleInput((t((2, 2) + sp, dtype), t((2, 3) + k3, dtype), t((3,), dtype)),
                        name="bias"),
            SampleInput((t((1, 2) + sp, dtype), t((2, 2) + k3, dtype), None, 2, 1, 1),
                        name="stride2_outpad"),
            SampleInput((t((1, 4) + sp, dtype), t((4, 1) + (2,) * nd, dtype), t((2,), dtype)),
                        {"stride": 2, "groups": 2, "dilation": 2}, name="groups_dilation"),
            SampleInput((t((1, 2) + sp, dtype), t((2, 2) + k3, dtype)),
                        {"stride": 1, "output_padding": 1, "dilation": 2},
                        name="outpad_below_dilation"),
            SampleInput((t((2,) + sp, dtype), t((2, 2) + k3, dtype)), {"padding": 1},
                        name="unbatched"),
        ]

    return samples


def _private_samples(which: str):
    def samples(dtype=dtypes.float64):
        if not dtype.is_floating_point:
            return []
        m = SampleMaker(50)
        t = m.tensor
        x = t((2, 2, 5, 5), dtype)
        w = t((2, 1, 2, 3), dtype)
        cases = [([1, 1], [1, 0, 0, 1], [1, 1], 2), ([2, 1], [0, 1, 1, -1], [2, 1], 2)]
        out = []
        for i, (stride, pads, dil, groups) in enumerate(cases):
            _, size = _private_geometry(x.shape, w.shape[2:], stride, pads, dil)
            g = t((2, 2) + size, dtype)
            if which == "conv":
                args = (x, w, stride, pads, dil, groups)
            elif which == "input":
                args = (g, w, [5, 5], stride, pads, dil, groups)
            else:
                args = (x, g, [2, 3], stride, pads, dil, groups)
            out.append(SampleInput(args, name=f"case{i}"))
        return out

    return samples


_CONV = register("_conv(Tensor input, Tensor weight, int[] stride, int[] padding, int[] dilation, "
                 "int groups) -> Tensor", OpKind.OPAQUE, kernel=_conv_kernel, meta=_conv_meta,
                 vjp=_conv_vjp, samples=_private_samples("conv"),
                 saves=saved(input="weight", weight="input"),
                 torch_ref=_torch_conv, backward_name="ConvolutionBackward0",
                 doc="Correlation with explicit (low, high) pads per spatial dim.")
_CONV_INPUT_GRAD = register(
    "_conv_input_grad(Tensor grad_output, Tensor weight, int[] input_size, int[] stride, "
    "int[] padding, int[] dilation, int groups) -> Tensor", OpKind.OPAQUE,
    kernel=_input_grad_kernel, meta=_input_grad_meta, vjp=_input_grad_vjp,
    samples=_private_samples("input"), torch_ref=_torch_input_grad,
    saves=saved(grad_output="weight", weight="grad_output"),
    backward_name="ConvolutionBackwardBackward0", doc="The adjoint of _conv in its input.")
_CONV_WEIGHT_GRAD = register(
    "_conv_weight_grad(Tensor input, Tensor grad_output, int[] weight_size, int[] stride, "
    "int[] padding, int[] dilation, int groups) -> Tensor", OpKind.OPAQUE,
    kernel=_weight_grad_kernel, meta=_weight_grad_meta, vjp=_weight_grad_vjp,
    samples=_private_samples("weight"), torch_ref=_torch_weight_grad,
    saves=saved(input="grad_output", grad_output="input"),
    backward_name="ConvolutionBackwardBackward0", doc="The adjoint of _conv in its weight.")

for _nd in (1, 2, 3):
    _make_conv(_nd)
    _make_conv_transpose(_nd)
