"""Reduction primitives (sum, mean, amax ...) and the broadcast-undo ``sum_to_size``."""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.ops.meta import TensorMeta, normalize_dims
from graphtorch.ops.op_helpers import SampleMaker, floating_only
from graphtorch.ops.registry import OpKind, Promotion, SampleInput, Saves, get, register


def _axes(x, dim):
    if dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 0):
        return None
    return normalize_dims(dim, x.ndim)


def reduced_shape(shape, dims, keepdim: bool) -> tuple:
    dims = range(len(shape)) if dims is None else dims
    if keepdim:
        return tuple(1 if i in dims else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in dims)


def reduction_meta(out_dtype=None):
    def meta(x, dim=None, keepdim=False, dtype=None, *rest):
        dims = None if dim is None or dim == [] else normalize_dims(dim, len(x.shape))
        dt = dtype or (out_dtype(x.dtype) if out_dtype else x.dtype)
        return TensorMeta(dt, reduced_shape(tuple(x.shape), dims, keepdim), x.device)

    return meta


def expand_grad(g, x, dim, keepdim):
    """Broadcast a reduction's gradient back over the reduced dims of ``x``."""
    if not keepdim and dim is not None and dim != []:
        for d in sorted(normalize_dims(dim, x.ndim)):
            g = g.unsqueeze(d)
    elif not keepdim:
        g = g.reshape([1] * x.ndim)
    return g.expand(tuple(x.shape))


def reduction_samples(dtype=dtypes.float64):
    m = SampleMaker(5)
    return [SampleInput((m.tensor((3, 4), dtype),), name="all"),
            SampleInput((m.tensor((3, 4), dtype), 1), name="dim1"),
            SampleInput((m.tensor((2, 3, 4), dtype), [0, 2], True), name="dims_keepdim"),
            SampleInput((m.tensor((2, 3), dtype), -1), name="negative_dim")]


def _sum_dtype(d):
    return dtypes.int64 if d.category < dtypes.Category.FLOAT else d


def _sum(xp, x, dim, keepdim, dtype):
    if dtype is not None:
        dt = dtype.np
    elif x.dtype.kind in "fc":
        dt = None  # NOTE: the input's own dtype; the ndarray method skips numpy's wrapper
    else:
        dt = _sum_dtype(dtypes.from_numpy(x.dtype)).np
    axis = None if dim is None else _axes(x, dim)
    return x.sum(axis=axis, keepdims=keepdim, dtype=dt)


register("sum(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) "
         "-> Tensor", OpKind.REDUCTION, kernel=_sum, meta=reduction_meta(_sum_dtype),
         vjp=lambda ctx, g: (expand_grad(g, ctx.args[0], ctx.args[1], ctx.args[2]),),
         lowering="sum", samples=reduction_samples, saves=Saves.NOTHING,
         backward_name=lambda a: "SumBackward0" if a[1] is None else "SumBackward1")


def _mean(xp, x, dim, keepdim, dtype):
    if dtype is None and x.dtype.kind not in "fc":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {dtypes.from_numpy(x.dtype)}")
    return xp.mean(x, axis=_axes(x, dim), keepdims=keepdim,
                   dtype=None if dtype is None else dtype.np)


def _mean_vjp(ctx, g):
    x, dim, keepdim, _ = ctx.args
    axes = _axes(x, dim)
    n = x.numel() if axes is None else int(np.prod([x.shape[a] for a in axes]))
    return (expand_grad(g, x, dim, keepdim) / n,)


register("mean(Tensor self, int[]? dim=None, bool keepdim=False, *, ScalarType? dtype=None) "
         "-> Tensor", OpKind.REDUCTION, kernel=_mean, meta=reduction_meta(), vjp=_mean_vjp,
         lowering="mean", samples=floating_only(reduction_samples), saves=Saves.NOTHING,
         backward_name=lambda a: "MeanBackward0" if a[1] is None else "MeanBackward1")


def _sum_to_size(xp, x, size):
    size = tuple(size)
    lead = x.ndim - len(size)
    if lead < 0:
        raise RuntimeError(f"size {list(size)} is not expandable to size {list(x.shape)}")
    axes = list(range(lead))
    for i, s in enumerate(size):
        if s == 1 and x.shape[lead + i] != 1:
            axes.append(lead + i)
        elif s != x.shape[lead + i]:
            raise RuntimeError(f"size {list(size)} is not expandable to size {list(x.shape)}")
    out = xp.sum(x, axis=tuple(axes), keepdims=True, dtype=x.dtype) if axes else x
    return out.reshape(size)


def _sum_to_size_meta(x, size):
    return TensorMeta(x.dtype, tuple(size), x.device)


def _sum_to_size_samples(dtype=dtypes.float64):
    m = SampleMaker(6)
    return [SampleInput((m.tensor((2, 3, 4), dtype), [3, 1]), name="lead_and_inner"),
            SampleInput((m.tensor((3, 4), dtype), [3, 4]), name="identity")]


register("sum_to_size(Tensor self, int[] size) -> Tensor", OpKind.REDUCTION,
         kernel=_sum_to_size, meta=_sum_to_size_meta,
         vjp=lambda ctx, g: (g.expand(tuple(ctx.args[0].shape)),), lowering="sum",
         samples=_sum_to_size_samples, saves=Saves.NOTHING, promotion=Promotion.NONE)


# --- helpers shared by the reductions below --------------------------------------------------
def _int_to_long(d):
    return dtypes.int64 if d.category < dtypes.Category.FLOAT else d


_SCALAR_TYPE_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short",
                      "int32": "Int", "int64": "Long"}


def _float_only(name: str, x) -> None:
    if x.dtype.kind == "f":
        return
    if name in ("var", "std"):
        raise RuntimeError("std and var only support floating point and complex dtypes")
    got = _SCALAR_TYPE_NAMES.get(dtypes.from_numpy(x.dtype).name, str(x.dtype))
    raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {got}")


def _check_nonempty(name: str, x, axes) -> None:
    axes = range(x.ndim) if axes is None else axes
    for a in axes:
        if x.shape[a] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")


def _one_dim_samples(dtype=dtypes.float64):
    m = SampleMaker(17)
    return [SampleInput((m.tensor((3, 4), dtype), 1), name="dim1"),
            SampleInput((m.tensor((2, 3, 4), dtype), 0, True), name="dim0_keepdim"),
            SampleInput((m.tensor((2, 3), dtype), -1), name="negative_dim")]


def _one_dim_meta(out_dtype=None, n_out=1):
    def meta(x, dim=None, keepdim=False, *rest):
        dims = None if dim is None else normalize_dims(dim, len(x.shape))
        shape = reduced_shape(tuple(x.shape), dims, keepdim)
        if dim is None and keepdim:
            shape = (1,) * len(x.shape)
        dt = out_dtype(x.dtype) if out_dtype else x.dtype
        if n_out == 1:
            return TensorMeta(dt, shape, x.device)
        return TensorMeta(dt, shape, x.device), TensorMeta(dtypes.int64, shape, x.device)

    return meta


# --- prod -------------------------------------------------------------------------------------
def _prod(xp, x, dim, keepdim, dtype):
    dt = dtype.np if dtype is not None else _int_to_long(dtypes.from_numpy(x.dtype)).np
    axis = None if dim is None else normalize_dims(dim, x.ndim, "prod")[0]
    out = xp.prod(x, axis=axis, keepdims=keepdim and dim is not None, dtype=dt)
    return out


def _exclusive_cumprod(x, d: int, reverse: bool):
    """Products of the elements strictly before (or after) each position along ``d``."""
    n = x.shape[d]
    xs = x.flip([d]) if reverse else x
    ones = xs.narrow(d, 0, 1) * 0 + 1
    out = get("cat")([ones, xs.narrow(d, 0, n - 1).cumprod(d)], d) if n > 1 else ones
    return out.flip([d]) if reverse else out


def _prod_vjp(ctx, g):
    # NOTE: products of the other elements instead of out / x, so zeros get exact gradients.
    x, dim, keepdim, _ = ctx.args
    if x.numel() == 0:
        return (x * 0,)
    xf, d = (x.reshape([-1]), 0) if dim is None else (x, dim % max(x.ndim, 1))
    if xf.ndim == 0:
        return (g.expand(tuple(x.shape)),)
    others = _exclusive_cumprod(xf, d, False) * _exclusive_cumprod(xf, d, True)
    return (expand_grad(g, x, dim, keepdim) * others.reshape(tuple(x.shape)),)


register("prod(Tensor self, int? dim=None, bool keepdim=False, *, ScalarType? dtype=None) "
         "-> Tensor", OpKind.REDUCTION, kernel=_prod, vjp=_prod_vjp, lowering="prod",
         meta=lambda x, dim=None, keepdim=False, dtype=None: TensorMeta(
             dtype or _int_to_long(x.dtype),
             reduced_shape(tuple(x.shape), None if dim is None else
                           normalize_dims(dim, len(x.shape)), keepdim and dim is not None),
             x.device),
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(18).tensor((3, 4), dtype, 0.5, 2.0),), name="all"),
             SampleInput((SampleMaker(18).tensor((3, 4), dtype, -2.0, 2.0), 1), name="dim1"),
             SampleInput((SampleMaker(18).tensor((2, 3), dtype, -2.0, 2.0), 0, True),
                         name="keepdim"),
             SampleInput((SampleMaker(18).tensor((2, 3), dtype) * SampleMaker(18).tensor(
                 (2, 3), dtypes.bool_), -1), name="with_zeros")],
         saves=Saves.INPUTS)


# --- amax / amin / max / min ---------------------------------------------------------------
def _extreme(fn_name: str):
    def kernel(xp, x, dim, keepdim):
        axes = _axes(x, dim)
        _check_nonempty(fn_name, x, axes)
        return getattr(xp, fn_name[1:])(x, axis=axes, keepdims=keepdim)

    return kernel


def _even_split_vjp(ctx, g):
    # NOTE: ties share the gradient evenly, as PyTorch's amax/amin/max()/min() backward does.
    x, dim, keepdim = (ctx.args + [None, False])[:3]
    out = expand_grad(ctx.out, x, dim, keepdim)
    mask = (x == out).to(g.dtype)
    count = mask.sum() if dim is None else mask.sum(dim, True)
    return (expand_grad(g, x, dim, keepdim) * mask / count,)


for _name in ("amax", "amin"):
    register(f"{_name}(Tensor self, int[] dim=[], bool keepdim=False) -> Tensor",
             OpKind.REDUCTION, kernel=_extreme(_name), meta=reduction_meta(),
             vjp=_even_split_vjp, lowering=_name[1:], samples=reduction_samples)


def _full_extreme(fn_name: str):
    def kernel(xp, x):
        if x.size == 0:
            raise RuntimeError(f"{fn_name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        return getattr(xp, fn_name)(x)

    return kernel


def _full_samples(dtype=dtypes.float64):
    m = SampleMaker(19)
    return [SampleInput((m.tensor((3, 4), dtype),), name="matrix"),
            SampleInput((m.tensor((), dtype),), name="scalar")]


for _name in ("max", "min"):
    register(f"{_name}(Tensor self) -> Tensor", OpKind.REDUCTION, kernel=_full_extreme(_name),
             meta=lambda x: TensorMeta(x.dtype, (), x.device), vjp=_even_split_vjp,
             lowering=_name, samples=_full_samples,
             backward_name=f"{_name.capitalize()}Backward1")  # PyTorch's full-reduction name


def _extreme_dim(fn_name: str):
    def kernel(xp, x, dim, keepdim):
        d = normalize_dims(dim, x.ndim, fn_name)[0] if x.ndim else None
        if x.ndim and x.shape[d] == 0:
            raise IndexError(f"{fn_name}(): Expected reduction dim {d} to have non-zero size.")
        if d is None:
            return x.copy(), xp.zeros((), np.int64)
        idx = xp.expand_dims(getattr(xp, "arg" + fn_name)(x, axis=d), d)
        vals = xp.take_along_axis(x, idx, axis=d)
        if not keepdim:
            vals, idx = vals.squeeze(d), idx.squeeze(d)
        return vals, idx.astype(np.int64)

    return kernel


def _select_vjp(ctx, g, _gi=None):
    # NOTE: like PyTorch, max(dim)/min(dim) send the gradient to the selected index only.
    x, dim, keepdim = ctx.args
    if x.ndim == 0:
        return (g,)
    idx = ctx.output(1)
    if not keepdim:
        g, idx = g.unsqueeze(dim), idx.unsqueeze(dim)
    return ((x * 0).detach().to(g.dtype).scatter(dim, idx, g),)


for _name in ("max", "min"):
    register(f"{_name}_dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, "
             "Tensor indices)", OpKind.REDUCTION, kernel=_extreme_dim(_name),
             meta=_one_dim_meta(n_out=2), vjp=_select_vjp, lowering=_name,
             samples=_one_dim_samples, saves=Saves.BOTH,
             torch_ref=(lambda n: lambda torch, x, *a, **k: getattr(torch, n)(x, *a, **k))(_name),
             backward_name=f"{_name.capitalize()}Backward0")


def _arg_extreme(fn_name: str):
    def kernel(xp, x, dim, keepdim):
        if dim is None:
            if x.size == 0:
                raise RuntimeError(f"{fn_name}(): Expected reduction dim to be specified for "
                                   "input.numel() == 0.")
            out = getattr(xp, fn_name)(x.reshape(-1))
            return xp.asarray(out, np.int64).reshape((1,) * x.ndim if keepdim else ())
        d = normalize_dims(dim, x.ndim, fn_name)[0] if x.ndim else 0
        if x.ndim == 0:
            return xp.zeros((), np.int64)
        if x.shape[d] == 0:
            raise IndexError(f"{fn_name}(): Expected reduction dim {d} to have non-zero size.")
        return getattr(xp, fn_name)(x, axis=d, keepdims=keepdim).astype(np.int64)

    return kernel


for _name in ("argmax", "argmin"):
    register(f"{_name}(Tensor self, int? dim=None, bool keepdim=False) -> Tensor",
             OpKind.REDUCTION, kernel=_arg_extreme(_name),
             meta=_one_dim_meta(lambda d: dtypes.int64), differentiable=False,
             saves=Saves.NOTHING, lowering=_name,
             samples=lambda dtype=dtypes.float64: reduction_samples(dtype)[:2] + [
                 SampleInput((SampleMaker(20).tensor((2, 3), dtype), None, True),
                             name="all_keepdim")])


# --- var / std ------------------------------------------------------------------------------------
def _correction(correction) -> float:
    return 1 if correction is None else correction


def _var(xp, x, dim, correction, keepdim):
    _float_only("var", x)
    with np.errstate(all="ignore"):
        return xp.var(x, axis=_axes(x, dim), ddof=_correction(correction), keepdims=keepdim)


def _std(xp, x, dim, correction, keepdim):
    _float_only("std", x)
    with np.errstate(all="ignore"):
        return xp.std(x, axis=_axes(x, dim), ddof=_correction(correction), keepdims=keepdim)


def _n_reduced(x, dim) -> int:
    axes = _axes(x, dim)
    return x.numel() if axes is None else int(np.prod([x.shape[a] for a in axes]))


def _var_vjp(ctx, g):
    x, dim, correction, keepdim = ctx.args
    axes = _axes(x, dim)
    centered = x - (x.mean(list(axes), True) if axes is not None else x.mean())
    denom = _n_reduced(x, dim) - _correction(correction)
    return (expand_grad(g, x, dim, keepdim) * centered * (2.0 / denom),)


def _std_vjp(ctx, g):
    x, dim, correction, keepdim = ctx.args
    axes = _axes(x, dim)
    centered = x - (x.mean(list(axes), True) if axes is not None else x.mean())
    denom = _n_reduced(x, dim) - _correction(correction)
    std = expand_grad(ctx.out, x, dim, keepdim)
    return (expand_grad(g, x, dim, keepdim) * centered / (std * denom),)


def _var_meta(x, dim=None, correction=None, keepdim=False):
    dims = None if dim is None or dim == [] else normalize_dims(dim, len(x.shape))
    return TensorMeta(x.dtype, reduced_shape(tuple(x.shape), dims, keepdim), x.device)


def _var_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(21)
    return [SampleInput((m.tensor((3, 4), dtype),), name="all"),
            SampleInput((m.tensor((3, 4), dtype), [1]), name="dim1"),
            SampleInput((m.tensor((2, 3, 4), dtype), [0, 2]), {"correction": 0, "keepdim": True},
                        name="population_keepdim")]


register("var(Tensor self, int[]? dim=None, *, Scalar? correction=None, bool keepdim=False) "
         "-> Tensor", OpKind.REDUCTION, kernel=_var, meta=_var_meta, vjp=_var_vjp,
         lowering="var", samples=_var_samples, saves=Saves.INPUTS)
register("std(Tensor self, int[]? dim=None, *, Scalar? correction=None, bool keepdim=False) "
         "-> Tensor", OpKind.REDUCTION, kernel=_std, meta=_var_meta, vjp=_std_vjp,
         lowering="std", samples=_var_samples)


# --- logsumexp ------------------------------------------------------------------------------------
def _logsumexp(xp, x, dim, keepdim):
    if x.dtype.kind != "f":
        x = x.astype(dtypes.get_default_dtype().np)
    axes = _axes(x, dim)
    with np.errstate(all="ignore"):
        m = xp.max(x, axis=axes, keepdims=True) if x.size else xp.zeros((1,) * x.ndim, x.dtype)
        m = xp.where(xp.isfinite(m), m, 0).astype(x.dtype)
        out = xp.log(xp.sum(xp.exp(x - m), axis=axes, keepdims=True)) + m
    return out if keepdim else out.reshape(reduced_shape(x.shape, axes, False))


def _logsumexp_vjp(ctx, g):
    x, dim, keepdim = ctx.args
    return (expand_grad(g, x, dim, keepdim) * (x - expand_grad(ctx.out, x, dim, keepdim)).exp(),)


register("logsumexp(Tensor self, int[] dim, bool keepdim=False) -> Tensor", OpKind.REDUCTION,
         kernel=_logsumexp, vjp=_logsumexp_vjp, lowering="logsumexp",
         meta=reduction_meta(lambda d: d if d.is_floating_point else dtypes.get_default_dtype()),
         samples=lambda dtype=dtypes.float64: reduction_samples(dtype)[1:])


# --- all / any / count_nonzero ----------------------------------------------------------------
def _logical(fn_name: str):
    def kernel(xp, x, dim, keepdim):
        return getattr(xp, fn_name)(x, axis=_axes(x, dim), keepdims=keepdim)

    return kernel


for _name in ("all", "any"):
    register(f"{_name}(Tensor self, int[]? dim=None, bool keepdim=False) -> Tensor",
             OpKind.REDUCTION, kernel=_logical(_name), meta=reduction_meta(lambda d: dtypes.bool_),
             differentiable=False, saves=Saves.NOTHING, lowering=_name,
             samples=lambda dtype=dtypes.float64: [
                 *reduction_samples(dtype)[:3],
                 SampleInput((SampleMaker(22).tensor((3, 4), dtypes.bool_), 0), name="bool")])


def _count_nonzero(xp, x, dim):
    return xp.asarray(xp.count_nonzero(x, axis=_axes(x, dim)), np.int64)


register("count_nonzero(Tensor self, int[]? dim=None) -> Tensor", OpKind.REDUCTION,
         kernel=_count_nonzero, meta=lambda x, dim=None: reduction_meta(lambda d: dtypes.int64)(
             x, dim), differentiable=False, saves=Saves.NOTHING, lowering="count_nonzero",
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(23).tensor((3, 4), dtype, -1, 2),), name="all"),
             SampleInput((SampleMaker(23).tensor((3, 4), dtype, -1, 2), [1]), name="dim1")])


# --- norm -------------------------------------------------------------------------------------
def _norm(xp, x, p, dim, keepdim, dtype):
    _float_only("linalg.vector_norm", x)
    if dtype is not None:
        x = x.astype(dtype.np)
    axes = _axes(x, dim)
    a = xp.abs(x)
    with np.errstate(all="ignore"):
        if p == float("inf"):
            out = xp.max(a, axis=axes, keepdims=keepdim) if a.size else xp.zeros(
                reduced_shape(a.shape, axes, keepdim), a.dtype)
        elif p == float("-inf"):
            out = xp.min(a, axis=axes, keepdims=keepdim)
        elif p == 0:
            out = xp.sum(a != 0, axis=axes, keepdims=keepdim).astype(x.dtype)
        elif p == 1:
            out = xp.sum(a, axis=axes, keepdims=keepdim)
        elif p == 2:
            out = xp.sqrt(xp.sum(a * a, axis=axes, keepdims=keepdim))
        else:
            out = xp.sum(a ** p, axis=axes, keepdims=keepdim) ** (1.0 / p)
    return xp.asarray(out, x.dtype)


def _norm_vjp(ctx, g):
    x, p, dim, keepdim, _ = ctx.args
    ge = expand_grad(g, x, dim, keepdim)
    out = expand_grad(ctx.out, x, dim, keepdim)
    if p == 0:
        return (x * 0,)
    if p == 1:
        return (ge * x.sign(),)
    if p in (float("inf"), float("-inf")):
        a = x.abs()
        mask = (a == out).to(g.dtype)
        count = mask.sum() if dim is None else mask.sum(dim, True)
        return (ge * x.sign() * mask / count,)
    safe = out.masked_fill(out == 0, 1.0)
    if p == 2:
        return ((ge * x / safe).masked_fill(out == 0, 0.0),)
    grad = ge * x * x.abs() ** (p - 2) / safe ** (p - 1)
    return (grad.masked_fill(out == 0, 0.0),)


def _norm_meta(x, p=2, dim=None, keepdim=False, dtype=None):
    dims = None if dim is None or dim == [] else normalize_dims(dim, len(x.shape))
    return TensorMeta(dtype or x.dtype, reduced_shape(tuple(x.shape), dims, keepdim), x.device)


def _norm_samples(dtype=dtypes.float64):
    if not dtype.is_floating_point:
        return []
    m = SampleMaker(24)
    return [SampleInput((m.tensor((3, 4), dtype),), name="fro"),
            SampleInput((m.tensor((3, 4), dtype), 1, [1]), name="l1_dim"),
            SampleInput((m.tensor((3, 4), dtype), float("inf"), [0], True), name="inf"),
            SampleInput((m.tensor((3, 4), dtype), float("-inf")), name="neg_inf"),
            SampleInput((m.tensor((2, 3), dtype), 3.0, [-1]), name="p3"),
            SampleInput((m.tensor((2, 3), dtype), 0.5), name="p_half")]


register("norm(Tensor self, Scalar p=2, int[]? dim=None, bool keepdim=False, *, "
         "ScalarType? dtype=None) -> Tensor", OpKind.REDUCTION, kernel=_norm, meta=_norm_meta,
         vjp=_norm_vjp, lowering="norm", samples=_norm_samples,
         backward_name="LinalgVectorNormBackward0")


# --- scans --------------------------------------------------------------------------------------
def _scan(fn_name: str):
    def kernel(xp, x, dim, dtype):
        dt = dtype.np if dtype is not None else _int_to_long(dtypes.from_numpy(x.dtype)).np
        if x.ndim == 0:
            normalize_dims(dim, 0, fn_name)
            return x.astype(dt)
        return getattr(xp, fn_name)(x, axis=normalize_dims(dim, x.ndim, fn_name)[0], dtype=dt)

    return kernel


def _scan_meta(x, dim, dtype=None):
    normalize_dims(dim, len(x.shape))
    return TensorMeta(dtype or _int_to_long(x.dtype), tuple(x.shape), x.device)


def _cumsum_vjp(ctx, g):
    dim = ctx.args[1]
    return (g.flip([dim]).cumsum(dim).flip([dim]),)


def _reverse_cumsum(t, d: int):
    return t.flip([d]).cumsum(d).flip([d])


def _cumprod_vjp(ctx, g):
    # NOTE: d out_k / d x_i is out_k / x_i where x_i != 0. At the first zero of a line it is the
    # cumprod with that zero replaced by one; at later zeros it is 0 (an earlier factor is 0).
    x, dim, _ = ctx.args
    if x.ndim == 0:
        return (g,)
    d = dim % x.ndim
    zero = x == 0
    first = zero & (zero.cumsum(d) == 1)
    away = _reverse_cumsum(g * ctx.out, d) / x.masked_fill(zero, 1.0)
    at_first = _reverse_cumsum(g * x.masked_fill(first, 1.0).cumprod(d), d)
    return (away.masked_fill(zero, 0.0) + at_first.masked_fill(first.logical_not(), 0.0),)


register("cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor", OpKind.OPAQUE,
         kernel=_scan("cumsum"), meta=_scan_meta, vjp=_cumsum_vjp, saves=Saves.NOTHING,
         samples=lambda dtype=dtypes.float64: [s for s in _one_dim_samples(dtype)
                                               if len(s.args) == 2])
register("cumprod(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor", OpKind.OPAQUE,
         kernel=_scan("cumprod"), meta=_scan_meta, vjp=_cumprod_vjp,
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(25).tensor((3, 4), dtype, 0.5, 2.0), 1), name="dim1"),
             SampleInput((SampleMaker(25).tensor((5,), dtype, -2.0, -0.5), 0), name="vector"),
             SampleInput((SampleMaker(25).tensor((3, 5), dtype) * SampleMaker(26).tensor(
                 (3, 5), dtypes.bool_), -1), name="with_zeros")])
