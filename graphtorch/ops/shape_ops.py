"""Shape ops beyond the basic views: flatten, repeat, cat/stack, split/chunk, narrow, flip, roll ...

Ops that PyTorch implements as views (narrow, split, unbind) return numpy views here too;
``flatten``, ``unflatten``, ``tile``, ``chunk`` and ``movedim`` are composites over other ops.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.errors import ShapeError
from graphtorch.ops.meta import TensorMeta, normalize_dim, normalize_dims, numel
from graphtorch.ops.op_helpers import SampleMaker, as_input_dtype
from graphtorch.ops.registry import REGISTRY, OpKind, SampleInput, Saves, register


def _samples(*specs):
    """Samples from ``(name, shape, *extra_args)`` specs, one tensor first."""

    def samples(dtype=dtypes.float64):
        m = SampleMaker(40)
        return [SampleInput((m.tensor(shape, dtype),) + tuple(extra), name=name)
                for name, shape, *extra in specs]

    return samples


def _dim_index(d: int, ndim: int) -> tuple:
    """The leading full slices that address dimension ``d`` in a numpy index."""
    return (slice(None),) * d


# --- flatten / unflatten (composites over reshape) ----------------------------------------------
def flatten_shape(shape: tuple, start_dim: int, end_dim: int) -> tuple:
    nd = len(shape)
    if nd == 0:
        return (1,)
    s, e = normalize_dim(start_dim, nd, "flatten"), normalize_dim(end_dim, nd, "flatten")
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    return tuple(shape[:s]) + (numel(shape[s:e + 1]),) + tuple(shape[e + 1:])


def _flatten(x, start_dim, end_dim):
    return x.reshape([-1 if d is None else d for d in flatten_shape(x.shape, start_dim, end_dim)])


register("flatten(Tensor self, int start_dim=0, int end_dim=-1) -> Tensor", OpKind.COMPOSITE,
         decomposition=_flatten,
         meta=lambda x, s=0, e=-1: x.with_(shape=flatten_shape(tuple(x.shape), s, e)),
         samples=_samples(("all", (2, 3, 4)), ("middle", (2, 3, 4, 5), 1, 2),
                          ("scalar", ()), ("negative", (2, 3, 4), -2)))


def unflatten_shape(shape: tuple, dim: int, sizes) -> tuple:
    d = normalize_dim(dim, len(shape), "unflatten")
    sizes = [int(s) for s in sizes]
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = shape[d]
    if sizes.count(-1) > 1:
        raise RuntimeError("unflatten: only one dimension can be inferred")
    known = numel([s for s in sizes if s != -1])
    if isinstance(n, int):
        if -1 in sizes:
            if known == 0 or n % known:
                raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the "
                                   f"size of dim {dim} ({n}) in the input tensor")
            sizes = [n // known if s == -1 else s for s in sizes]
        elif known != n:
            raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the size "
                               f"of dim {dim} ({n}) in the input tensor")
    else:
        sizes = [None if s == -1 else s for s in sizes]
    return tuple(shape[:d]) + tuple(sizes) + tuple(shape[d + 1:])


register("unflatten(Tensor self, int dim, int[] sizes) -> Tensor", OpKind.COMPOSITE,
         decomposition=lambda x, dim, sizes: x.reshape(list(unflatten_shape(x.shape, dim, sizes))),
         meta=lambda x, dim, sizes: x.with_(shape=unflatten_shape(tuple(x.shape), dim, sizes)),
         samples=_samples(("split", (2, 6), 1, [2, 3]), ("infer", (6, 2), 0, [-1, 2])))


# --- repeat / tile ------------------------------------------------------------------------------
def _check_repeats(repeats, ndim: int) -> tuple:
    repeats = (repeats,) if isinstance(repeats, int) else tuple(repeats)
    if len(repeats) < ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    if any(r < 0 for r in repeats):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(repeats)}: "
                           f"{list(repeats)}")
    return repeats


def _repeat(xp, x, repeats):
    repeats = _check_repeats(repeats, x.ndim)
    return xp.tile(x.reshape((1,) * (len(repeats) - x.ndim) + x.shape), repeats)


def _repeat_meta(x, repeats):
    repeats = _check_repeats(repeats, len(x.shape))
    shape = (1,) * (len(repeats) - len(x.shape)) + tuple(x.shape)
    out = tuple(s if r == 1 else (r * s if isinstance(s, int) else None)
                for r, s in zip(repeats, shape))
    return x.with_(shape=out)


def _repeat_vjp(ctx, g):
    x, repeats = ctx.args
    repeats = _check_repeats(repeats, x.ndim)
    padded = (1,) * (len(repeats) - x.ndim) + tuple(x.shape)
    split = [v for r, s in zip(repeats, padded) for v in (r, s)]
    summed = g.reshape(split).sum(list(range(0, 2 * len(repeats), 2)))
    return (summed.reshape(tuple(x.shape)),)


register("repeat(Tensor self, int[] repeats) -> Tensor", OpKind.OPAQUE, kernel=_repeat,
         meta=_repeat_meta, vjp=_repeat_vjp, saves=Saves.NOTHING,
         samples=_samples(("same_rank", (2, 3), [2, 1]), ("grow_rank", (3,), [2, 2]),
                          ("scalar", (), [3])))


def _tile(x, dims):
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return x.repeat(list((1,) * (x.ndim - len(dims)) + dims))


register("tile(Tensor self, int[] dims) -> Tensor", OpKind.COMPOSITE, decomposition=_tile,
         meta=lambda x, dims: _repeat_meta(x, (1,) * (len(x.shape) - len(dims)) + tuple(dims)),
         samples=_samples(("short", (2, 3), [2]), ("long", (3,), [2, 2])))


# --- cat / stack --------------------------------------------------------------------------------
def _is_legacy_empty(t) -> bool:
    # NOTE: PyTorch skips 1-D empty tensors in cat whatever the other shapes are.
    return len(t.shape) == 1 and t.shape[0] == 0


def _cat_dtype(tensors) -> dtypes.dtype:
    dts = [t.dtype if isinstance(t.dtype, dtypes.dtype) else dtypes.from_numpy(t.dtype)
           for t in tensors]
    return dtypes.result_type(dts, [], [])


def _check_cat(tensors, dim: int) -> int | None:
    """Validate shapes as PyTorch does; returns the normalized dim (None when all are skipped)."""
    if len(tensors) == 0:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    kept = [(i, t) for i, t in enumerate(tensors) if not _is_legacy_empty(t)]
    if not kept:
        return None
    i0, ref = kept[0]
    if len(ref.shape) == 0:
        raise RuntimeError(f"zero-dimensional tensor (at position {i0}) cannot be concatenated")
    d = normalize_dim(dim, len(ref.shape), "cat")
    for i, t in kept[1:]:
        if len(t.shape) != len(ref.shape):
            raise ShapeError(f"Tensors must have same number of dimensions: got "
                             f"{len(ref.shape)} and {len(t.shape)}")
        for j, (a, b) in enumerate(zip(ref.shape, t.shape)):
            if j != d and isinstance(a, int) and isinstance(b, int) and a != b:
                raise ShapeError(f"Sizes of tensors must match except in dimension {d}. "
                                 f"Expected size {a} but got size {b} for tensor number {i} in "
                                 "the list.")
    return d


def _cat(xp, tensors, dim):
    d = _check_cat(tensors, dim)
    ct = _cat_dtype(tensors).np
    if d is None:
        return xp.zeros((0,), ct)
    arrs = [a.astype(ct, copy=False) for a in tensors if not _is_legacy_empty(a)]
    return xp.concatenate(arrs, axis=d)


def _cat_meta(tensors, dim=0):
    d = _check_cat(tensors, dim)
    dt = _cat_dtype(tensors)
    if d is None:
        return TensorMeta(dt, (0,), tensors[0].device)
    kept = [t for t in tensors if not _is_legacy_empty(t)]
    total = sum(t.shape[d] for t in kept) if all(isinstance(t.shape[d], int) for t in kept) \
        else None
    shape = list(kept[0].shape)
    shape[d] = total
    return TensorMeta(dt, tuple(shape), kept[0].device)


def _cat_vjp(ctx, g):
    tensors, dim = ctx.args
    d = _check_cat(tensors, dim)
    grads, offset = [], 0
    for t in tensors:
        if d is None or _is_legacy_empty(t):
            grads.append(None)
            continue
        n = t.shape[d]
        grads.append(as_input_dtype(g.narrow(d, offset, n), t)
                     if t.dtype.is_floating_point else None)
        offset += n
    return grads, None


def _list_samples(*specs):
    def samples(dtype=dtypes.float64):
        m = SampleMaker(41)
        return [SampleInput(([m.tensor(s, dtype) for s in shapes],) + tuple(extra), name=name)
                for name, shapes, *extra in specs]

    return samples


register("cat(Tensor[] tensors, int dim=0) -> Tensor", OpKind.OPAQUE, kernel=_cat,
         meta=_cat_meta, vjp=_cat_vjp, saves=Saves.NOTHING, backward_name="CatBackward0",
         samples=_list_samples(("dim0", [(2, 3), (1, 3)]), ("dim1", [(2, 1), (2, 3), (2, 2)], 1),
                               ("legacy_empty", [(2, 3), (0,)], -1)))


def _check_stack(tensors, dim: int) -> int:
    if len(tensors) == 0:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = tuple(tensors[0].shape)
    for i, t in enumerate(tensors[1:], 1):
        if tuple(t.shape) != ref:
            raise ShapeError(f"stack expects each tensor to be equal size, but got {list(ref)} at "
                             f"entry 0 and {list(t.shape)} at entry {i}")
    return normalize_dim(dim, len(ref) + 1, "stack")


def _stack(xp, tensors, dim):
    d = _check_stack(tensors, dim)
    ct = _cat_dtype(tensors).np
    return xp.stack([a.astype(ct, copy=False) for a in tensors], axis=d)


def _stack_meta(tensors, dim=0):
    d = _check_stack(tensors, dim)
    shape = list(tensors[0].shape)
    shape.insert(d, len(tensors))
    return TensorMeta(_cat_dtype(tensors), tuple(shape), tensors[0].device)


def _stack_vjp(ctx, g):
    tensors, dim = ctx.args
    d = _check_stack(tensors, dim)
    parts = g.unbind(d)
    return [as_input_dtype(p, t) if t.dtype.is_floating_point else None
            for p, t in zip(parts, tensors)], None


register("stack(Tensor[] tensors, int dim=0) -> Tensor", OpKind.OPAQUE, kernel=_stack,
         meta=_stack_meta, vjp=_stack_vjp, saves=Saves.NOTHING,
         samples=_list_samples(("dim0", [(2, 3), (2, 3)]), ("last", [(2,), (2,), (2,)], -1),
                               ("scalars", [(), ()])))


# --- split / chunk / unbind / narrow (views) ----------------------------------------------------
def _split_sizes(n, split_size: int) -> list:
    if split_size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size="
                           f"{split_size}")
    if split_size == 0:
        if n != 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        return [0]
    if not isinstance(n, int):
        raise ShapeError("split needs a known size in the split dimension; the number of "
                         "outputs depends on it")
    count = max((n + split_size - 1) // split_size, 1)
    return [min(split_size, n - i * split_size) for i in range(count)]


def _check_sizes(n, sizes, d: int) -> list:
    sizes = [int(s) for s in sizes]
    if isinstance(n, int) and sum(sizes) != n:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
                           f"tensor's size at dimension {d}), but got split_sizes={sizes}")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                           f"entries, but got split_sizes={sizes}")
    return sizes


def _pieces(x, d: int, sizes) -> list:
    out, offset = [], 0
    for s in sizes:
        out.append(x[_dim_index(d, x.ndim) + (slice(offset, offset + s),)])
        offset += s
    return out


def _piece_metas(x, d: int, sizes) -> list:
    out = []
    for s in sizes:
        shape = list(x.shape)
        shape[d] = s
        out.append(x.with_(shape=shape))
    return out


def _split_vjp(ctx, *grads):
    x, _, dim = ctx.args
    d = normalize_dim(dim, x.ndim)
    return (REGISTRY["cat"]([gi.to(x.dtype) for gi in grads], d),)


def _split(xp, x, split_size, dim):
    d = normalize_dim(dim, x.ndim, "split")
    return _pieces(x, d, _split_sizes(x.shape[d], split_size))


def _split_meta(x, split_size, dim=0):
    d = normalize_dim(dim, len(x.shape), "split")
    return _piece_metas(x, d, _split_sizes(x.shape[d], split_size))


register("split(Tensor self, int split_size, int dim=0) -> Tensor[]", OpKind.VIEW,
         kernel=_split, meta=_split_meta, vjp=_split_vjp, saves=Saves.NOTHING,
         samples=_samples(("even", (4, 3), 2), ("ragged", (2, 5), 2, 1), ("one", (3,), 5)))


def _split_with_sizes(xp, x, sizes, dim):
    d = normalize_dim(dim, x.ndim, "split_with_sizes")
    return _pieces(x, d, _check_sizes(x.shape[d], sizes, d))


def _split_with_sizes_meta(x, sizes, dim=0):
    d = normalize_dim(dim, len(x.shape), "split_with_sizes")
    return _piece_metas(x, d, _check_sizes(x.shape[d], sizes, d))


register("split_with_sizes(Tensor self, int[] split_sizes, int dim=0) -> Tensor[]", OpKind.VIEW,
         kernel=_split_with_sizes, meta=_split_with_sizes_meta, vjp=_split_vjp,
         saves=Saves.NOTHING,
         samples=_samples(("dim0", (5, 2), [2, 3]), ("dim1", (2, 5), [1, 0, 4], -1)))


def _chunk_size(n, chunks: int) -> int:
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    return (n + chunks - 1) // chunks


def _chunk(x, chunks, dim):
    d = normalize_dim(dim, x.ndim, "chunk")
    return x.split(_chunk_size(x.shape[d], chunks), d)


def _chunk_meta(x, chunks, dim=0):
    d = normalize_dim(dim, len(x.shape), "chunk")
    return _split_meta(x, _chunk_size(x.shape[d], chunks), d)


register("chunk(Tensor self, int chunks, int dim=0) -> Tensor[]", OpKind.COMPOSITE,
         decomposition=_chunk, meta=_chunk_meta,
         samples=_samples(("even", (4, 3), 2), ("ragged", (2, 5), 3, 1), ("more", (2,), 4)))


def _unbind(xp, x, dim):
    d = normalize_dim(dim, x.ndim, "unbind")
    return [x[_dim_index(d, x.ndim) + (i, Ellipsis)] for i in range(x.shape[d])]


def _unbind_meta(x, dim=0):
    d = normalize_dim(dim, len(x.shape), "unbind")
    if not isinstance(x.shape[d], int):
        raise ShapeError("unbind needs a known size in the unbound dimension")
    shape = tuple(x.shape[:d]) + tuple(x.shape[d + 1:])
    return [x.with_(shape=shape) for _ in range(x.shape[d])]


register("unbind(Tensor self, int dim=0) -> Tensor[]", OpKind.VIEW, kernel=_unbind,
         meta=_unbind_meta, saves=Saves.NOTHING,
         vjp=lambda ctx, *grads: (REGISTRY["stack"]([g.to(ctx.args[0].dtype) for g in grads],
                                                    ctx.args[1]),),
         samples=_samples(("rows", (3, 2)), ("last", (2, 3), -1)))


def _narrow_range(n, dim: int, start: int, length: int) -> int:
    if isinstance(n, int):
        if not -n <= start <= n:
            raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but "
                             f"got {start})")
        start = start % n if start < 0 else start
        if length < 0 or start + length > n:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                               f"({n}).")
    return start


def _narrow(xp, x, dim, start, length):
    d = normalize_dim(dim, x.ndim, "narrow")
    start = _narrow_range(x.shape[d], d, start, length)
    return x[_dim_index(d, x.ndim) + (slice(start, start + length),)]


def _narrow_meta(x, dim, start, length):
    d = normalize_dim(dim, len(x.shape), "narrow")
    _narrow_range(x.shape[d], d, start, length)
    shape = list(x.shape)
    shape[d] = length
    return x.with_(shape=shape)


def _narrow_vjp(ctx, g):
    x, dim, start, length = ctx.args
    d = normalize_dim(dim, x.ndim)
    n = x.shape[d]
    start = _narrow_range(n, d, start, length)
    parts = []
    for size in (start, None, n - start - length):
        if size is None:
            parts.append(g)
        elif size:
            shape = list(g.shape)
            shape[d] = size
            parts.append(g.new_zeros(shape))
    return (REGISTRY["cat"](parts, d) if len(parts) > 1 else g,)


register("narrow(Tensor self, int dim, int start, int length) -> Tensor", OpKind.VIEW,
         kernel=_narrow, meta=_narrow_meta, vjp=_narrow_vjp, saves=Saves.NOTHING,
         samples=_samples(("middle", (5, 2), 0, 1, 3), ("negative", (2, 5), -1, -2, 2),
                          ("whole", (3,), 0, 0, 3)))


# --- flip / roll / movedim ------------------------------------------------------------------------
def _flip(xp, x, dims):
    dims = normalize_dims(dims, x.ndim, "flip")
    return xp.flip(x, axis=dims).copy() if dims else x.copy()


register("flip(Tensor self, int[] dims) -> Tensor", OpKind.OPAQUE, kernel=_flip,
         meta=lambda x, dims: (normalize_dims(dims, len(x.shape), "flip"), x)[1],
         vjp=lambda ctx, g: (g.flip(ctx.args[1]),), saves=Saves.NOTHING,
         samples=_samples(("one", (3, 4), [0]), ("two", (2, 3, 2), [0, -1])))


def _roll_args(shifts, dims, ndim: int):
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    if not shifts:
        raise RuntimeError("`shifts` required")
    if dims and len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:"
                           f"{len(dims)}")
    if not dims and len(shifts) != 1:
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
    return shifts, [normalize_dim(d, ndim, "roll") for d in dims]


def _roll(xp, x, shifts, dims):
    shifts, dims = _roll_args(shifts, dims, x.ndim)
    if not dims:
        return xp.roll(x.reshape(-1), shifts[0]).reshape(x.shape)
    return xp.roll(x, shifts, axis=dims)


register("roll(Tensor self, int[] shifts, int[] dims=[]) -> Tensor", OpKind.OPAQUE, kernel=_roll,
         meta=lambda x, shifts, dims=(): (_roll_args(shifts, dims, len(x.shape)), x)[1],
         vjp=lambda ctx, g: (g.roll([-s for s in _roll_args(ctx.args[1], ctx.args[2],
                                                             g.ndim)[0]], ctx.args[2]),),
         saves=Saves.NOTHING,
         samples=_samples(("flat", (3, 4), [5]), ("dims", (3, 4), [1, -2], [0, 1])))


def movedim_order(ndim: int, source, destination) -> list:
    src = normalize_dims(source, ndim, "movedim")
    dst = normalize_dims(destination, ndim, "movedim")
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    order: list = [None] * ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(ndim) if d not in src)
    return [o if o is not None else next(rest) for o in order]


register("movedim(Tensor self, int[] source, int[] destination) -> Tensor", OpKind.COMPOSITE,
         decomposition=lambda x, s, d: x.permute(movedim_order(x.ndim, s, d)),
         meta=lambda x, s, d: x.with_(shape=[x.shape[i] for i in
                                             movedim_order(len(x.shape), s, d)]),
         samples=_samples(("one", (2, 3, 4), [0], [2]), ("two", (2, 3, 4), [0, 1], [-1, 0])))


# --- tril / triu --------------------------------------------------------------------------------
def _triangle(name: str):
    def kernel(xp, x, diagonal):
        if x.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return getattr(xp, name)(x, diagonal)

    return kernel


for _name in ("tril", "triu"):
    register(f"{_name}(Tensor self, int diagonal=0) -> Tensor", OpKind.OPAQUE,
             kernel=_triangle(_name), meta=lambda x, diagonal=0: x, saves=Saves.NOTHING,
             vjp=(lambda n: lambda ctx, g: (getattr(g, n)(ctx.args[1]),))(_name),
             samples=_samples(("square", (3, 3)), ("wide", (2, 4), 1), ("batched", (2, 3, 3), -1)))


# --- diagonal (a writable view, as in PyTorch) ---------------------------------------------------
def _diagonal_dims(ndim: int, dim1: int, dim2: int) -> tuple[int, int]:
    d1, d2 = normalize_dim(dim1, ndim, "diagonal"), normalize_dim(dim2, ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def _diagonal_len(n1, n2, offset: int):
    if not (isinstance(n1, int) and isinstance(n2, int)):
        return None
    return max(min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2), 0)


def _diagonal(xp, x, offset, dim1, dim2):
    d1, d2 = _diagonal_dims(x.ndim, dim1, dim2)
    out = xp.diagonal(x, offset, d1, d2)
    flags = getattr(out, "flags", None)
    if flags is not None and hasattr(flags, "writeable") and not flags.writeable \
            and x.flags.writeable:
        out.flags.writeable = True  # NOTE: numpy hands out read-only diagonals; PyTorch's are not
    return out


def _diagonal_meta(x, offset=0, dim1=0, dim2=1):
    d1, d2 = _diagonal_dims(len(x.shape), dim1, dim2)
    rest = [s for i, s in enumerate(x.shape) if i not in (d1, d2)]
    return x.with_(shape=rest + [_diagonal_len(x.shape[d1], x.shape[d2], offset)])


def _diagonal_vjp(ctx, g):
    x, offset, dim1, dim2 = ctx.args
    d1, d2 = _diagonal_dims(x.ndim, dim1, dim2)
    n = g.shape[-1]
    rows = REGISTRY["arange"](n) + max(-offset, 0)
    cols = REGISTRY["arange"](n) + max(offset, 0)
    key = tuple(("tensor", 0) if i == d1 else ("tensor", 1) if i == d2 else
                ("slice", None, None, None) for i in range(x.ndim))
    # advanced indices on adjacent dims keep their place; separated ones move to the front
    pos = min(d1, d2) if abs(d1 - d2) == 1 else 0
    values = g.movedim([g.ndim - 1], [pos])
    return (REGISTRY["index_put"](g.new_zeros(tuple(x.shape)), key, [rows, cols], values),)


register("diagonal(Tensor self, int offset=0, int dim1=0, int dim2=1) -> Tensor", OpKind.VIEW,
         kernel=_diagonal, meta=_diagonal_meta, vjp=_diagonal_vjp, saves=Saves.NOTHING,
         samples=_samples(("main", (3, 4)), ("above", (3, 4), 1),
                          ("below_swapped", (4, 3), -1, 1, 0), ("batched", (2, 3, 3), 0, -2, -1),
                          ("outer_dims", (3, 2, 4), 1, 0, 2)))
