"""Indexing: the structured ``index``/``index_put`` primitives behind ``t[key]`` and
``t[key] = v``, plus gather/scatter, index_select/index_add, masked_fill and nonzero.

A key is plain data (printable as IR attributes, JSON-able): a tuple of entries ``("int", i)``,
``("slice", start, stop, step)``, ``("none",)``, ``("ellipsis",)`` and ``("tensor", k)``, where
``k`` points into the op's ``Tensor?[] indices`` input (integer or boolean index tensors are
inputs so that autograd and tracing see them).

Semantics are PyTorch's: integers are applied first (as ``select``), then slices, ``None`` and
the advanced (tensor) indices with numpy's broadcasting rules -- including the rule that advanced
indices separated by a slice put their broadcast dimensions first.
"""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import DTypeError, ShapeError
from graphtorch.ops.creation import tensor
from graphtorch.ops.meta import TensorMeta, broadcast_shapes, normalize_dim
from graphtorch.ops.op_helpers import SampleMaker, as_input_dtype, reduce_grad
from graphtorch.ops.registry import ANY, REGISTRY, OpKind, SampleInput, Saves, register, saved

_BAD_INDEX = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
              "are valid indices (got {})")


# --- key encoding -------------------------------------------------------------------------------
def _slice_part(v):
    if v is None:
        return None
    if isinstance(v, (bool, float)) or not hasattr(v, "__index__"):
        raise TypeError("slice indices must be integers or None or have an __index__ method")
    return int(v.__index__())


def encode_key(key) -> tuple[tuple, list]:
    """Split a Python index into a plain-data key and the list of its index tensors."""
    # NOTE: graphtorch.tensor imports the ops package: a module-level import cycles
    from graphtorch.tensor import Tensor

    items = key if isinstance(key, tuple) else (key,)
    entries: list[tuple] = []
    tensors: list = []
    for k in items:
        if k is None:
            entries.append(("none",))
        elif k is Ellipsis:
            entries.append(("ellipsis",))
        elif isinstance(k, Tensor):
            entries.append(("tensor", len(tensors)))
            tensors.append(k)
        elif isinstance(k, (bool, np.bool_)):
            entries.append(("tensor", len(tensors)))
            tensors.append(tensor(bool(k)))
        elif isinstance(k, (int, np.integer)):
            entries.append(("int", int(k)))
        elif isinstance(k, slice):
            entries.append(("slice", _slice_part(k.start), _slice_part(k.stop),
                            _slice_part(k.step)))
        elif isinstance(k, (list, tuple, np.ndarray)):
            t = tensor(k) if len(k) else tensor([], dtype=dtypes.int64)
            entries.append(("tensor", len(tensors)))
            tensors.append(t)
        else:
            raise IndexError(_BAD_INDEX.format(type(k).__name__))
    return tuple(entries), tensors


def _consumed(entry, indices) -> int:
    tag = entry[0]
    if tag in ("int", "slice"):
        return 1
    if tag == "tensor":
        t = indices[entry[1]]
        return len(t.shape) if _is_mask(t) else 1
    return 0


def _is_mask(t) -> bool:
    """A boolean index (a Tensor, TensorMeta or array)."""
    return t.dtype is dtypes.bool_ or t.dtype == np.bool_


def _expand_key(key, indices, ndim: int) -> list:
    """The key with its Ellipsis replaced by full slices and trailing full slices added."""
    used = sum(_consumed(e, indices) for e in key)
    if used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    full = ("slice", None, None, None)
    out, seen = [], False
    for e in key:
        if e[0] == "ellipsis":
            if seen:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen = True
            out.extend([full] * (ndim - used))
        else:
            out.append(e)
    if not seen:
        out.extend([full] * (ndim - used))
    return out


def _as_slice(entry) -> slice:
    if entry[3] is not None and entry[3] <= 0:
        raise ValueError("step must be greater than zero")
    return slice(entry[1], entry[2], entry[3])


def _check_index_dtype(t) -> None:
    dt = t.dtype if isinstance(t.dtype, dtypes.dtype) else dtypes.from_numpy(t.dtype)
    if dt.is_floating_point:
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")


def numpy_key(x, key, arrays):
    """``(view, key2)`` such that ``view[key2]`` is ``x[key]`` with PyTorch's semantics.

    ``view`` is ``x`` with the integer entries applied (a view of ``x``); ``key2`` is a numpy
    index with the slices, Nones and index arrays.
    """
    entries = _expand_key(key, arrays, x.ndim)
    first, second, dim = [], [], 0
    for e in entries:
        tag = e[0]
        if tag == "int":
            n = x.shape[dim]
            if not -n <= e[1] < n:
                raise IndexError(f"index {e[1]} is out of bounds for dimension {dim} with size {n}")
            first.append(e[1])
            dim += 1
        elif tag == "slice":
            first.append(slice(None))
            second.append(_as_slice(e))
            dim += 1
        elif tag == "none":
            second.append(None)
        else:
            a = arrays[e[1]]
            _check_index_dtype(a)
            k = _consumed(e, arrays)
            if a.dtype == np.bool_:
                _check_mask(a, x.shape[dim:dim + k], dim, x.shape)
            first.extend([slice(None)] * k)
            second.append(a)
            dim += k
    view = x[tuple(first) + (Ellipsis,)] if any(isinstance(f, int) for f in first) else x
    return view, tuple(second) + (Ellipsis,)


def _check_mask(mask, shape, dim: int, full_shape) -> None:
    for j, (m, s) in enumerate(zip(mask.shape, shape)):
        if m != s:
            raise IndexError(f"The shape of the mask {list(mask.shape)} at index {j} does not "
                             f"match the shape of the indexed tensor {list(full_shape)} at index "
                             f"{dim + j}")


def _torch_wording(err: IndexError) -> IndexError:
    return IndexError(str(err).replace("axis", "dimension"))


def _slice_len(n, entry):
    start, stop, step = entry[1], entry[2], entry[3]
    if step is not None and step <= 0:
        raise ValueError("step must be greater than zero")
    if isinstance(n, int):
        return len(range(*slice(start, stop, step).indices(n)))
    if start in (None, 0) and stop is None and step in (None, 1):
        return n
    return None


def index_shape(shape: tuple, key, indices) -> tuple:
    """The result shape of ``x[key]`` from shapes alone (symbols and None allowed)."""
    entries = _expand_key(key, indices, len(shape))
    out, adv, first_adv, contiguous, prev_adv, dim = [], [], None, True, False, 0
    for e in entries:
        tag = e[0]
        if tag == "int":
            dim += 1
            continue
        if tag == "tensor":
            t = indices[e[1]]
            if first_adv is None:
                first_adv = len(out)
            elif not prev_adv:
                contiguous = False
            adv.append((None,) if _is_mask(t) else tuple(t.shape))
            dim += _consumed(e, indices)
            prev_adv = True
            continue
        if first_adv is not None:
            prev_adv = False
        if tag == "none":
            out.append(1)
        else:
            out.append(_slice_len(shape[dim], e))
            dim += 1
    if adv:
        b = list(broadcast_shapes(*adv))
        out = out[:first_adv] + b + out[first_adv:] if contiguous else b + out
    return tuple(out)


# --- index / index_put ------------------------------------------------------------------------
def _index(xp, x, key, indices):
    if len(key) == 1 and key[0][0] == "int" and x.ndim:  # NOTE: x[i] (a loop's step): a view
        i, n = key[0][1], x.shape[0]
        if -n <= i < n:
            return x[i, ...]
    view, k2 = numpy_key(x, key, indices)
    try:
        return view[k2]
    except IndexError as e:
        raise _torch_wording(e) from None


def _index_meta(x, key, indices):
    return TensorMeta(x.dtype, index_shape(tuple(x.shape), key, indices), x.device)


def _index_vjp(ctx, g):
    x, key, indices = ctx.args
    zeros = g.new_zeros(tuple(x.shape))
    return REGISTRY["index_put"](zeros, key, indices, g, True), None


def decode_key(key, indices) -> tuple:
    """The Python index that ``encode_key`` split into ``key`` and ``indices``."""
    out = []
    for e in key:
        tag = e[0]
        if tag == "int":
            out.append(e[1])
        elif tag == "slice":
            out.append(slice(*e[1:]))
        elif tag == "none":
            out.append(None)
        elif tag == "ellipsis":
            out.append(Ellipsis)
        else:
            out.append(indices[e[1]])
    return tuple(out)


def _index_samples(dtype=dtypes.float64):
    m = SampleMaker(50)
    x = m.tensor((4, 5, 3), dtype)

    def s(name, key):
        k, idx = encode_key(key)
        return SampleInput((x, k, idx), name=name)

    i = tensor([2, 0, 3])
    j = tensor([[1], [3]])
    return [s("int", 1), s("slices", (slice(1, None), slice(None, None, 2))),
            s("none_ellipsis", (None, Ellipsis, 0)), s("negative_int", (-1, 2)),
            s("advanced", i), s("advanced_pair", (j, i, 0)),
            s("separated", (i, slice(None), tensor([0, 2, 1]))),
            s("int_then_advanced", (0, slice(None), tensor([2, 0]))),
            s("duplicates", (tensor([1, 1, 1]), slice(0, 2)))]


def _index_node_name(args) -> str:
    """PyTorch's grad_fn of ``x[key]``: the last basic step taken, or IndexBackward0."""
    key = args[1]
    if any(e[0] == "tensor" for e in key):
        return "IndexBackward0"
    for e in reversed(key):
        if e[0] == "int":
            return "SelectBackward0"
        if e[0] == "none":
            return "UnsqueezeBackward0"
        if e[0] == "slice" and (e[1] not in (None, 0) or e[2] is not None or e[3] not in (None, 1)):
            return "SliceBackward0"
    return "AliasBackward0"


register("index(Tensor self, Any key, Tensor?[] indices) -> Tensor", OpKind.VIEW,
         kernel=_index, meta=_index_meta, vjp=_index_vjp, saves=saved(indices=ANY),
         backward_name=_index_node_name,
         torch_ref=lambda torch, x, key, indices: x[decode_key(key, indices)],
         samples=_index_samples)


def write_at(xp, out, key, indices, values, accumulate: bool) -> None:
    """Write (or add) ``values`` at ``out[key]`` in place: the kernel of index_put and setitem."""
    view, k2 = numpy_key(out, key, indices)
    if hasattr(values, "dtype") and values.dtype != out.dtype:
        values = values.astype(out.dtype)
    try:
        if accumulate:
            xp.add.at(view, k2, values)
        else:
            view[k2] = values
    except IndexError as e:
        raise _torch_wording(e) from None
    except ValueError:
        target = view[k2].shape
        raise ShapeError(f"shape mismatch: value tensor of shape {list(np.shape(values))} "
                         f"cannot be broadcast to indexing result of shape {list(target)}"
                         ) from None


def _index_put(xp, x, key, indices, values, accumulate):
    out = x.copy()
    write_at(xp, out, key, indices, values, accumulate)
    return out


def _index_put_vjp(ctx, g):
    x, key, indices, values, accumulate = ctx.args
    gx = g if accumulate else REGISTRY["index_put"](g, key, indices, 0.0)
    gv = None
    if hasattr(values, "shape") and values.dtype.is_floating_point:
        gv = REGISTRY["index"](g, key, indices)
        lead = values.ndim - gv.ndim
        if lead > 0:
            gv = gv.reshape((1,) * lead + tuple(gv.shape))
        gv = as_input_dtype(reduce_grad(gv, values), values)
    return gx, None, None, gv, None


def _index_put_samples(dtype=dtypes.float64):
    m = SampleMaker(51)
    x = m.tensor((4, 3), dtype)

    def s(name, key, values, accumulate=False):
        k, idx = encode_key(key)
        return SampleInput((x, k, idx, values, accumulate), name=name)

    return [s("row", 1, m.tensor((3,), dtype)), s("broadcast", (slice(None), 0),
                                                  m.tensor((1,), dtype)),
            s("scalar", (slice(1, 3), slice(None, None, 2)), 2),
            s("advanced", tensor([3, 0]), m.tensor((2, 3), dtype)),
            s("accumulate", (tensor([1, 1, 2]), tensor([0, 0, 2])), m.tensor((3,), dtype), True)]


register("index_put(Tensor self, Any key, Tensor?[] indices, Tensor values, "
         "bool accumulate=False) -> Tensor", OpKind.OPAQUE, kernel=_index_put,
         meta=lambda x, key, indices, values, accumulate=False: x, vjp=_index_put_vjp,
         saves=saved(indices=ANY), samples=_index_put_samples,
         torch_ref=lambda torch, x, key, indices, values, acc=False: _torch_index_put(
             torch, x, key, indices, values, acc))


def _torch_index_put(torch, x, key, indices, values, accumulate):
    out = x.clone()
    tkey = decode_key(key, indices)
    if accumulate:
        out.index_put_(tuple(t for t in tkey), values, accumulate=True)
    else:
        out[tkey] = values
    return out


# --- gather / scatter ---------------------------------------------------------------------------
def _check_gather(name: str, x_shape, dim: int, index, src_shape=None) -> int:
    nd = len(x_shape)
    d = normalize_dim(dim, nd, name)
    dt = index.dtype if isinstance(index.dtype, dtypes.dtype) else dtypes.from_numpy(index.dtype)
    if dt is not dtypes.int64:
        raise DTypeError(f"{name}(): Expected dtype int64 for index")
    if len(index.shape) != max(nd, 0) and not (nd <= 1 and len(index.shape) <= 1):
        raise ShapeError("Index tensor must have the same number of dimensions as "
                         f"{'input' if name == 'gather' else 'self'} tensor")
    for k, (i, s) in enumerate(zip(index.shape, x_shape)):
        if k != d and isinstance(i, int) and isinstance(s, int) and i > s:
            raise ShapeError(f"Size does not match at dimension {k} expected index "
                             f"{list(index.shape)} to be no larger than self {list(x_shape)} "
                             f"apart from dimension {d}")
    return d


def _bounds(index, n: int, d: int) -> None:
    if index.size and (index.min() < -n or index.max() >= n):
        bad = int(index.max() if index.max() >= n else index.min())
        raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {n}")


def _gather(xp, x, dim, index, sparse_grad):
    d = _check_gather("gather", x.shape, dim, index)
    if x.ndim == 0:
        x, index = x.reshape(1), index.reshape(-1)
    _bounds(index, x.shape[d], d)
    xs = x[tuple(slice(0, index.shape[k]) if k != d else slice(None) for k in range(x.ndim))]
    return xp.take_along_axis(xs, index, axis=d).reshape(index.shape)


def _gather_vjp(ctx, g):
    x, dim, index, _ = ctx.args
    return (g.new_zeros(tuple(x.shape)).scatter_add(dim, index, g),)


def _gather_samples(dtype=dtypes.float64):
    m = SampleMaker(52)
    return [SampleInput((m.tensor((3, 4), dtype), 1, tensor([[0, 3], [1, 1], [2, 0]])),
                        name="dim1"),
            SampleInput((m.tensor((3, 4), dtype), 0, tensor([[2, 0, 1, 1]])), name="smaller")]


register("gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor",
         OpKind.OPAQUE, kernel=_gather, vjp=_gather_vjp, saves=saved(index=ANY),
         meta=lambda x, dim, index, sparse_grad=False: (
             _check_gather("gather", tuple(x.shape), dim, index),
             TensorMeta(x.dtype, tuple(index.shape), x.device))[1],
         samples=_gather_samples)


def _coords(xp, index, d: int) -> tuple:
    grids = list(xp.indices(index.shape, sparse=True))
    grids[d] = index
    return tuple(grids)


def _scatter_values(src, index):
    if not hasattr(src, "shape"):
        return src
    return src[tuple(slice(0, s) for s in index.shape)]


def _scatter(xp, x, dim, index, src):
    d = _check_gather("scatter", x.shape, dim, index)
    out = x.copy()
    if x.ndim == 0:
        out.reshape(1)[index.reshape(-1)] = _scatter_values(src, index)
        return out
    _bounds(index, x.shape[d], d)
    out[_coords(xp, index, d)] = _scatter_values(src, index)
    return out


def _scatter_add(xp, x, dim, index, src):
    d = _check_gather("scatter_add", x.shape, dim, index)
    out = x.copy()
    if x.ndim == 0:
        return out + src.reshape(()) if index.size else out
    _bounds(index, x.shape[d], d)
    xp.add.at(out, _coords(xp, index, d), _scatter_values(src, index).astype(x.dtype))
    return out


def _embed(g, shape):
    """``g`` placed at the front corner of a zero tensor of ``shape``."""
    if tuple(g.shape) == tuple(shape):
        return g
    key = tuple(("slice", 0, s, None) for s in g.shape)
    return REGISTRY["index_put"](g.new_zeros(tuple(shape)), key, [], g)


def _src_grad(g, dim, index, src):
    if not hasattr(src, "shape") or not src.dtype.is_floating_point:
        return None
    return as_input_dtype(_embed(g.gather(dim, index), tuple(src.shape)), src)


def _scatter_vjp(ctx, g):
    x, dim, index, src = ctx.args
    return g.scatter(dim, index, 0.0), None, None, _src_grad(g, dim, index, src)


def _scatter_add_vjp(ctx, g):
    x, dim, index, src = ctx.args
    return g, None, None, _src_grad(g, dim, index, src)


def _scatter_samples(dtype=dtypes.float64):
    m = SampleMaker(53)
    return [SampleInput((m.tensor((3, 4), dtype), 1, tensor([[0, 3], [1, 2], [2, 0]]),
                         m.tensor((3, 2), dtype)), name="dim1"),
            SampleInput((m.tensor((3, 4), dtype), 0, tensor([[2, 0, 1, 1]]),
                         m.tensor((2, 5), dtype)), name="bigger_src"),
            SampleInput((m.tensor((3, 4), dtype), -1, tensor([[3], [0], [1]]), 2),
                        name="scalar_value")]


def _scatter_add_samples(dtype=dtypes.float64):
    m = SampleMaker(54)
    return [SampleInput((m.tensor((3, 4), dtype), 1, tensor([[0, 0], [1, 2], [3, 3]]),
                         m.tensor((3, 2), dtype)), name="duplicates"),
            SampleInput((m.tensor((3, 4), dtype), 0, tensor([[2, 0, 2, 1]]),
                         m.tensor((2, 5), dtype)), name="bigger_src")]


def _scatter_meta(x, dim, index, src):
    _check_gather("scatter", tuple(x.shape), dim, index)
    return x


register("scatter(Tensor self, int dim, Tensor index, Tensor src) -> Tensor", OpKind.OPAQUE,
         kernel=_scatter, meta=_scatter_meta, vjp=_scatter_vjp, saves=saved(index=ANY),
         samples=_scatter_samples)
register("scatter_add(Tensor self, int dim, Tensor index, Tensor src) -> Tensor", OpKind.OPAQUE,
         kernel=_scatter_add, meta=_scatter_meta, vjp=_scatter_add_vjp,
         saves=saved(index=ANY),
         samples=_scatter_add_samples)


# --- index_select / index_add -------------------------------------------------------------------
def _check_vector_index(name: str, index) -> None:
    if len(index.shape) > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    dt = index.dtype if isinstance(index.dtype, dtypes.dtype) else dtypes.from_numpy(index.dtype)
    if dt not in (dtypes.int32, dtypes.int64):
        raise DTypeError(f"{name}(): Expected dtype int32 or int64 for index")


def _index_select(xp, x, dim, index):
    _check_vector_index("index_select", index)
    d = normalize_dim(dim, x.ndim, "index_select")
    if x.ndim == 0:
        _bounds(index, 1, 0)
        return x.reshape(1)[index.reshape(-1)].reshape(index.shape)
    _bounds(index, x.shape[d], d)
    return xp.take(x, index.reshape(-1), axis=d)


def _index_select_meta(x, dim, index):
    _check_vector_index("index_select", index)
    if len(x.shape) == 0:
        return TensorMeta(x.dtype, tuple(index.shape), x.device)
    d = normalize_dim(dim, len(x.shape), "index_select")
    shape = list(x.shape)
    shape[d] = index.shape[0] if index.shape else 1
    return TensorMeta(x.dtype, tuple(shape), x.device)


def _index_select_vjp(ctx, g):
    x, dim, index = ctx.args
    if x.ndim == 0:
        return (g.sum(),)
    return (g.new_zeros(tuple(x.shape)).index_add(dim, index.reshape([-1]), g),)


def _vector_index_samples(extra_source=False):
    def samples(dtype=dtypes.float64):
        m = SampleMaker(55)
        out = []
        for name, shape, dim, idx in (("dim0", (4, 3), 0, [3, 0, 0]),
                                      ("dim1", (2, 5), -1, [4, 1])):
            args = (m.tensor(shape, dtype), dim, tensor(idx))
            if extra_source:
                src_shape = list(shape)
                src_shape[dim] = len(idx)
                args += (m.tensor(tuple(src_shape), dtype),)
            out.append(SampleInput(args, name=name))
        return out

    return samples


register("index_select(Tensor self, int dim, Tensor index) -> Tensor", OpKind.OPAQUE,
         kernel=_index_select, meta=_index_select_meta, vjp=_index_select_vjp,
         saves=saved(index=ANY), samples=_vector_index_samples())


def _index_add(xp, x, dim, index, source, alpha):
    _check_vector_index("index_add", index)
    d = normalize_dim(dim, x.ndim, "index_add")
    out = x.copy()
    n = x.shape[d] if x.ndim else 1
    _bounds(index, n, d)
    src = source if alpha == 1 else source * alpha
    target = out if x.ndim else out.reshape(1)
    xp.add.at(target, (slice(None),) * d + (index.reshape(-1),),
              xp.asarray(src).astype(x.dtype).reshape(
                  target.shape[:d] + (index.size,) + target.shape[d + 1:]))
    return out


def _index_add_vjp(ctx, g):
    x, dim, index, source, alpha = ctx.args
    gs = None
    if hasattr(source, "shape") and source.dtype.is_floating_point:
        gs = g.index_select(dim, index).reshape(tuple(source.shape))
        gs = as_input_dtype(gs if alpha == 1 else gs * alpha, source)
    return g, None, None, gs, None


register("index_add(Tensor self, int dim, Tensor index, Tensor source, *, Scalar alpha=1) "
         "-> Tensor", OpKind.OPAQUE, kernel=_index_add,
         meta=lambda x, dim, index, source, alpha=1: x, vjp=_index_add_vjp,
         saves=saved(index=ANY),
         samples=_vector_index_samples(extra_source=True))


# --- masked_fill / nonzero ----------------------------------------------------------------------
def _check_mask_value(mask, value) -> None:
    if mask.dtype not in (np.bool_, dtypes.bool_):
        dt = mask.dtype if isinstance(mask.dtype, dtypes.dtype) else dtypes.from_numpy(mask.dtype)
        raise DTypeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                         f"{_PT_NAMES.get(dt.name, dt.name)}")
    if hasattr(value, "shape") and len(value.shape) != 0:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {len(value.shape)} dimension(s).")


_PT_NAMES = {"int64": "long", "int32": "int", "float32": "float", "float64": "double",
             "uint8": "unsigned char", "int16": "short", "int8": "signed char", "float16": "half"}


def _masked_fill(xp, x, mask, value):
    _check_mask_value(mask, value)
    return xp.where(mask, xp.asarray(value).astype(x.dtype), x)


def _masked_fill_meta(x, mask, value):
    _check_mask_value(mask, value)
    return TensorMeta(x.dtype, broadcast_shapes(tuple(x.shape), tuple(mask.shape)), x.device)


def _masked_fill_vjp(ctx, g):
    x, mask, value = ctx.args
    gv = None
    if hasattr(value, "shape") and value.dtype.is_floating_point:
        gv = as_input_dtype(g.masked_fill(mask.logical_not(), 0.0).sum(), value)
    return reduce_grad(g.masked_fill(mask, 0.0), x), None, gv


def _masked_fill_samples(dtype=dtypes.float64):
    m = SampleMaker(56)
    return [SampleInput((m.tensor((3, 4), dtype), m.tensor((3, 4), dtypes.bool_), -1.5
                         if dtype.is_floating_point else -1), name="scalar"),
            SampleInput((m.tensor((4,), dtype), m.tensor((2, 4), dtypes.bool_),
                         m.tensor((), dtype)), name="broadcast_tensor_value")]


register("masked_fill(Tensor self, Tensor mask, Tensor value) -> Tensor", OpKind.OPAQUE,
         kernel=_masked_fill, meta=_masked_fill_meta, vjp=_masked_fill_vjp,
         saves=saved(mask=ANY),
         samples=_masked_fill_samples)


def _nonzero(xp, x):
    return xp.argwhere(x).astype(np.int64)


register("nonzero(Tensor self) -> Tensor", OpKind.OPAQUE, kernel=_nonzero,
         meta=lambda x: TensorMeta(dtypes.int64, (None, len(x.shape)), x.device),
         differentiable=False, saves=Saves.NOTHING,
         samples=lambda dtype=dtypes.float64: [
             SampleInput((SampleMaker(57).tensor((3, 4), dtype, -1, 2),), name="matrix"),
             SampleInput((SampleMaker(57).tensor((5,), dtypes.bool_),), name="bool")])
