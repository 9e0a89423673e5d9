"""Shape and view primitives: outputs alias their input where the memory layout allows."""

from __future__ import annotations

import math

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import ShapeError
from graphtorch.ops.indexing import encode_key
from graphtorch.ops.meta import TensorMeta, normalize_dim, normalize_dims, numel
from graphtorch.ops.op_helpers import SampleMaker, as_input_dtype, reduce_grad
from graphtorch.ops.registry import REGISTRY, OpKind, Promotion, SampleInput, Saves, register


def infer_size(shape, n: int | None, op: str = "view") -> tuple:
    """Resolve one ``-1`` in a requested shape against ``n`` elements (PyTorch's rules)."""
    shape = tuple(int(s) if not isinstance(s, str) and s is not None else s for s in shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if isinstance(s, int) and s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if n is None:
        return tuple(None if s == -1 else s for s in shape)
    if neg:
        if known == 0 or n % known:
            raise ShapeError(f"shape '{list(shape)}' is invalid for input of size {n}")
        shape = tuple(n // known if s == -1 else s for s in shape)
    elif known != n and all(isinstance(s, int) for s in shape):
        raise ShapeError(f"shape '{list(shape)}' is invalid for input of size {n}")
    return shape


def _exact_size(shape, n: int):
    """``shape`` itself when it is plain non-negative ints with ``n`` elements (the common call)."""
    if type(shape) is not tuple and type(shape) is not list:
        return None
    p = math.prod(shape)
    if type(p) is int and p == n and (not shape or min(shape) >= 0):
        return shape
    return None


def _view(xp, x, shape):
    shape = _exact_size(shape, x.size) or infer_size(shape, x.size)
    out = x.view()
    try:
        out.shape = shape  # NOTE: raises instead of copying when the strides do not allow it
    except AttributeError:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.") from None
    return out


def _shape_meta(x, shape):
    return TensorMeta(x.dtype, infer_size(shape, numel(x.shape)), x.device)


def _reshape_vjp(ctx, g):
    return (g.reshape(tuple(ctx.args[0].shape)),)


def _reshape_samples(dtype=dtypes.float64):
    m = SampleMaker(7)
    return [SampleInput((m.tensor((2, 6), dtype), [3, 4]), name="plain"),
            SampleInput((m.tensor((2, 3, 2), dtype), [-1, 2]), name="infer"),
            SampleInput((m.tensor((4,), dtype), [2, 1, 2]), name="grow_rank")]


register("view(Tensor self, int[] size) -> Tensor", OpKind.VIEW, kernel=_view, meta=_shape_meta,
         vjp=_reshape_vjp, samples=_reshape_samples, saves=Saves.NOTHING)
register("reshape(Tensor self, int[] shape) -> Tensor", OpKind.VIEW,
         # NOTE: PyTorch's reshape is a view where the strides allow, else a copy
         backward_name=lambda a: "ViewBackward0" if a[0]._data.flags.c_contiguous
         else "UnsafeViewBackward0",
         kernel=lambda xp, x, shape: x.reshape(_exact_size(shape, x.size)
                                               or infer_size(shape, x.size, "reshape")),
         meta=_shape_meta, vjp=_reshape_vjp, samples=_reshape_samples, saves=Saves.NOTHING)


def _permute(xp, x, dims):
    if len(dims) != x.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {x.ndim} is not equal to len(dims) = {len(dims)}")
    return xp.transpose(x, normalize_dims(dims, x.ndim, "permute"))


def _permute_vjp(ctx, g):
    x, dims = ctx.args
    dims = normalize_dims(dims, x.ndim)
    inv = [0] * len(dims)
    for i, d in enumerate(dims):
        inv[d] = i
    return (g.permute(inv),)


def _permute_meta(x, dims):
    dims = normalize_dims(dims, len(x.shape))
    return TensorMeta(x.dtype, tuple(x.shape[d] for d in dims), x.device)


register("permute(Tensor self, int[] dims) -> Tensor", OpKind.VIEW, kernel=_permute,
         meta=_permute_meta, vjp=_permute_vjp, saves=Saves.NOTHING,
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(8).tensor((2, 3, 4), dtype), [2, 0, 1]), name="3d"),
             SampleInput((SampleMaker(8).tensor((2, 3), dtype), [-1, 0]), name="neg")])


def _transpose(xp, x, d0, d1):
    if x.ndim == 0:
        return x
    return xp.swapaxes(x, normalize_dim(d0, x.ndim, "transpose"),
                       normalize_dim(d1, x.ndim, "transpose"))


def _transpose_meta(x, d0, d1):
    s = list(x.shape)
    if s:
        d0, d1 = normalize_dim(d0, len(s)), normalize_dim(d1, len(s))
        s[d0], s[d1] = s[d1], s[d0]
    return TensorMeta(x.dtype, tuple(s), x.device)


register("transpose(Tensor self, int dim0, int dim1) -> Tensor", OpKind.VIEW,
         kernel=_transpose, meta=_transpose_meta,
         vjp=lambda ctx, g: (g.transpose(ctx.args[1], ctx.args[2]),), saves=Saves.NOTHING,
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(9).tensor((2, 3, 4), dtype), 0, 2), name="3d"),
             SampleInput((SampleMaker(9).tensor((2, 3), dtype), -1, -2), name="neg")])


def _unsqueeze(xp, x, dim):
    return xp.expand_dims(x, normalize_dim(dim, x.ndim + 1, "unsqueeze"))


def _unsqueeze_meta(x, dim):
    s = list(x.shape)
    s.insert(normalize_dim(dim, len(s) + 1), 1)
    return TensorMeta(x.dtype, tuple(s), x.device)


register("unsqueeze(Tensor self, int dim) -> Tensor", OpKind.VIEW, kernel=_unsqueeze,
         meta=_unsqueeze_meta, vjp=lambda ctx, g: (g.squeeze(ctx.args[1]),), saves=Saves.NOTHING,
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(10).tensor((2, 3), dtype), 1), name="mid"),
             SampleInput((SampleMaker(10).tensor((2, 3), dtype), -1), name="last")])


def _squeeze_dims(shape, dim):
    if dim is None:
        return tuple(i for i, s in enumerate(shape) if s == 1)
    dims = normalize_dims(dim, len(shape), "squeeze")
    return tuple(d for d in dims if shape[d] == 1)


def _squeeze(xp, x, dim):
    return xp.squeeze(x, axis=_squeeze_dims(x.shape, dim)) if x.ndim else x


def _squeeze_meta(x, dim):
    drop = _squeeze_dims(tuple(x.shape), dim)
    return TensorMeta(x.dtype, tuple(s for i, s in enumerate(x.shape) if i not in drop), x.device)


def _squeeze_vjp(ctx, g):
    return (g.reshape(tuple(ctx.args[0].shape)),)


register("squeeze(Tensor self, int[]? dim=None) -> Tensor", OpKind.VIEW, kernel=_squeeze,
         meta=_squeeze_meta, vjp=_squeeze_vjp, saves=Saves.NOTHING,
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(11).tensor((2, 1, 3, 1), dtype),), name="all"),
             SampleInput((SampleMaker(11).tensor((2, 1, 3), dtype), 1), name="one")])


def _expand(xp, x, size):
    size = list(size)
    lead = len(size) - x.ndim
    if lead < 0:
        raise RuntimeError(f"expand(): the number of sizes provided ({len(size)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({x.ndim})")
    for i, s in enumerate(size):
        if s == -1:
            if i < lead:
                raise RuntimeError("expand(): -1 is not allowed in a leading, non-existing "
                                   "dimension")
            size[i] = x.shape[i - lead]
        elif i >= lead and x.shape[i - lead] not in (1, s):
            raise ShapeError(f"The expanded size of the tensor ({s}) must match the existing "
                             f"size ({x.shape[i - lead]}) at non-singleton dimension {i}.  "
                             f"Target sizes: {list(size)}.  Tensor sizes: {list(x.shape)}")
    return xp.broadcast_to(x, tuple(size))


def _expand_meta(x, size):
    lead = len(size) - len(x.shape)
    out = [x.shape[i - lead] if s == -1 else s for i, s in enumerate(size)]
    return TensorMeta(x.dtype, tuple(out), x.device)


register("expand(Tensor self, int[] size) -> Tensor", OpKind.VIEW, kernel=_expand,
         meta=_expand_meta, vjp=lambda ctx, g: (g.sum_to_size(tuple(ctx.args[0].shape)),),
         saves=Saves.NOTHING,
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(12).tensor((3, 1), dtype), [2, 3, 4]), name="grow"),
             SampleInput((SampleMaker(12).tensor((1, 4), dtype), [-1, 4]), name="keep")])


def _contiguous(xp, x, memory_format):
    return x if x.flags.c_contiguous else xp.ascontiguousarray(x)


register("contiguous(Tensor self, *, Any memory_format=None) -> Tensor", OpKind.VIEW,
         kernel=_contiguous, meta=lambda x, mf=None: TensorMeta(x.dtype, tuple(x.shape), x.device),
         vjp=lambda ctx, g: (g,), saves=Saves.NOTHING,
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(13).tensor((2, 3), dtype),), name="plain")])


def _clone(xp, x, memory_format):
    return x.copy()


register("clone(Tensor self, *, Any memory_format=None) -> Tensor", OpKind.OPAQUE, kernel=_clone,
         meta=lambda x, mf=None: TensorMeta(x.dtype, tuple(x.shape), x.device),
         vjp=lambda ctx, g: (g,), saves=Saves.NOTHING, lowering="{0}",
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(14).tensor((2, 3), dtype),), name="plain")])


def _to_dtype(xp, x, dtype, copy):
    if x.dtype == dtype.np and not copy:
        return x
    return x.astype(dtype.np)


def _to_dtype_vjp(ctx, g):
    x = ctx.args[0]
    return (g.to(x.dtype) if x.dtype.is_floating_point else None,)


register("to_dtype(Tensor self, ScalarType dtype, bool copy=False) -> Tensor", OpKind.ELEMENTWISE,
         kernel=_to_dtype, promotion=Promotion.NONE,
         meta=lambda x, dtype, copy=False: TensorMeta(dtype, tuple(x.shape), x.device),
         vjp=_to_dtype_vjp, saves=Saves.NOTHING, lowering="cast({0}, {1})",
         torch_ref=lambda torch, x, dtype, copy=False: x.to(dtype, copy=copy),
         backward_name="ToCopyBackward0",
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(15).tensor((2, 3), dtype), dtypes.float32), name="f32"),
             SampleInput((SampleMaker(15).tensor((4,), dtype), dtypes.int32), name="i32")])


def _to_device(xp, x, device):
    if xp is np:
        return x.get() if hasattr(x, "get") else x
    return xp.asarray(x)


register("to_device(Tensor self, Device device) -> Tensor", OpKind.OPAQUE, kernel=_to_device,
         meta=lambda x, device: TensorMeta(x.dtype, tuple(x.shape), device),
         vjp=lambda ctx, g: (g.to(ctx.args[0].device),), saves=Saves.NOTHING,
         backward_name="ToCopyBackward0",
         torch_ref=lambda torch, x, device: x.to(device),
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(16).tensor((2, 3), dtype), "cpu"), name="cpu")])


# --- writing through a view (PyTorch's CopySlices) ---------------------------------------------
# NOTE: a view remembers its chain of view ops from its base (dispatch._mark_view). An in-place
# op on a view that must be recorded (autograd or tracing) rewrites the BASE's history as
# view_scatter(base, new view value, chain); the view's history becomes the chain replayed on
# the new base. The chain is a tuple of (op name, arguments after self, output index or None).


def _chain_args(args) -> list:
    return [[t._data if hasattr(t, "_data") else t for t in a] if type(a) is list else a
            for a in args]


def view_of(xp, arr, chain):
    """The array view of ``arr`` that ``chain`` selects (kernels only: no autograd)."""
    for name, args, k in chain:
        arr = REGISTRY[name].kernel(xp, arr, *_chain_args(args))
        if k is not None:
            arr = arr[k]
    return arr


def replay_view(t, chain):
    """``chain`` applied to the tensor ``t`` through dispatch (recorded, differentiable)."""
    for name, args, k in chain:
        t = REGISTRY[name](t, *args)
        if k is not None:
            t = t[k]
    return t


def _view_scatter(xp, base, src, chain):
    out = base.copy()
    region = view_of(xp, out, chain)
    base_of = region if region.base is None else region.base
    if base_of is not out and region is not out:
        raise RuntimeError("view_scatter(): the view chain does not alias its base")
    if not getattr(region.flags, "writeable", True):  # NOTE: CuPy arrays have no such flag
        raise RuntimeError("unsupported operation: more than one element of the written-to "
                           "tensor refers to a single memory location. Please clone() the tensor "
                           "before performing the operation.")
    xp.copyto(region, src, casting="unsafe")
    return out


def _view_scatter_vjp(ctx, g):
    base, src, chain = ctx.args

    gb = gs = None
    if ctx.needs_input_grad(0):  # the overwritten region gets no gradient
        gb = REGISTRY["view_scatter"](g, g.new_zeros(tuple(src.shape)), chain)
    if ctx.needs_input_grad(1):
        gs = as_input_dtype(reduce_grad(replay_view(g, chain), src), src)
    return gb, gs, None


def _torch_view_scatter(torch, base, src, chain):
    out = base.clone()
    region = out
    for name, args, k in chain:
        op = REGISTRY[name]
        if op.torch_ref is not None:
            region = op.torch_ref(torch, region, *args)
        else:
            region = getattr(torch.Tensor, op.torch_name or name)(region, *args)
        if k is not None:
            region = region[k]
    region.copy_(src)
    return out


def _view_scatter_samples(dtype=dtypes.float64):
    m = SampleMaker(17)
    key, _ = encode_key((slice(None), 1))
    row, _ = encode_key(0)
    return [
        SampleInput((m.tensor((3, 4), dtype), m.tensor((3,), dtype),
                     (("index", (key, []), None),)), name="column"),
        SampleInput((m.tensor((3, 4), dtype), m.tensor((3,), dtype),
                     (("transpose", (0, 1), None), ("index", (row, []), None))),
                    name="transposed_row"),
        SampleInput((m.tensor((2, 6), dtype), m.tensor((2, 3), dtype),
                     (("view", ([2, 2, 3],), None), ("index", (encode_key(
                         (slice(None), 1))[0], []), None))), name="view_then_slice"),
    ]


register("view_scatter(Tensor self, Tensor src, Any chain) -> Tensor", OpKind.OPAQUE,
         kernel=_view_scatter, meta=lambda x, src, chain: TensorMeta(x.dtype, tuple(x.shape),
                                                                    x.device),
         vjp=_view_scatter_vjp, saves=Saves.NOTHING, backward_name="CopySlices",
         torch_ref=_torch_view_scatter, samples=_view_scatter_samples,
         doc="``self`` with the region that the view chain selects replaced by ``src`` "
             "(in-place ops on views while recording: PyTorch's CopySlices).")
