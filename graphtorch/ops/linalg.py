"""Matrix products: matmul (numpy semantics, batch broadcasting), mm, bmm, dot."""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.errors import DTypeError, ShapeError
from graphtorch.ops.meta import TensorMeta, broadcast_shapes
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import OpKind, Promotion, SampleInput, register, saved


def _fmt(shape) -> str:
    return "x".join(str(d) for d in shape)


def _prod(dims):
    """The product of sizes, or their ``*``-joined text when some are symbolic."""
    if all(isinstance(d, int) for d in dims):
        n = 1
        for d in dims:
            n *= d
        return n
    return "*".join(str(d) for d in dims) or 1


# how PyTorch's matmul dtype error spells each dtype (C++ type names)
_CPP_NAMES = {"float16": "c10::Half", "float32": "float", "float64": "double",
              "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool"}


def _check_matmul(a_shape, b_shape, a_dtype, b_dtype, name="matmul"):
    """Raise PyTorch's error for operands matmul cannot multiply (symbolic sizes pass)."""
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ShapeError(f"both arguments to {name} need to be at least 1D, but they are "
                         f"{len(a_shape)}D and {len(b_shape)}D")
    if a_dtype != b_dtype:
        raise DTypeError(f"expected m1 and m2 to have the same dtype, but got: "
                         f"{_CPP_NAMES[a_dtype.name]} != {_CPP_NAMES[b_dtype.name]}")
    k1 = a_shape[-1]
    k2 = b_shape[-2] if len(b_shape) > 1 else b_shape[0]
    if len(a_shape) > 2 and len(b_shape) > 2:
        _check_batch_broadcast(tuple(a_shape[:-2]), tuple(b_shape[:-2]))
    if not (isinstance(k1, int) and isinstance(k2, int) and k1 != k2):
        return
    if len(a_shape) == 1 and len(b_shape) == 1:
        raise ShapeError(f"inconsistent tensor size, expected tensor [{k1}] and src [{k2}] "
                         "to have the same number of elements, but got "
                         f"{k1} and {k2} elements respectively")
    if len(b_shape) == 1:
        rows = _prod(a_shape[:-1])
        raise ShapeError(f"size mismatch, got input ({rows}), mat ({rows}x{k1}), vec ({k2})")
    if len(b_shape) == 2:
        rows = _prod(a_shape[:-1])
        raise ShapeError(f"mat1 and mat2 shapes cannot be multiplied "
                         f"({rows}x{k1} and {_fmt(b_shape)})")
    batch = _prod(broadcast_shapes(tuple(a_shape[:-2]), tuple(b_shape[:-2])))
    raise ShapeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                     f"[{batch}, {k1}] but got: [{batch}, {k2}].")


def _check_batch_broadcast(a_batch: tuple, b_batch: tuple) -> None:
    n = max(len(a_batch), len(b_batch))
    a = (1,) * (n - len(a_batch)) + a_batch
    b = (1,) * (n - len(b_batch)) + b_batch
    for i, (x, y) in enumerate(zip(a, b)):
        if isinstance(x, int) and isinstance(y, int) and x != y and x != 1 and y != 1:
            raise ShapeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                             f"at non-singleton dimension {i}")


def _matmul(xp, a, b):
    # NOTE: check only when numpy would disagree or fail, so the common call costs one matmul
    if a.dtype != b.dtype or not a.ndim or not b.ndim:
        _check_matmul(a.shape, b.shape, dtypes.from_numpy(a.dtype), dtypes.from_numpy(b.dtype))
    try:
        return xp.matmul(a, b)
    except ValueError:
        _check_matmul(a.shape, b.shape, dtypes.from_numpy(a.dtype), dtypes.from_numpy(b.dtype))
        raise


def _matmul_meta(a, b):
    _check_matmul(tuple(a.shape), tuple(b.shape), a.dtype, b.dtype)
    sa, sb = tuple(a.shape), tuple(b.shape)
    if len(sa) == 1 and len(sb) == 1:
        return TensorMeta(a.dtype, (), a.device)
    batch = broadcast_shapes(sa[:-2], sb[:-2])
    rows = (sa[-2],) if len(sa) > 1 else ()
    cols = (sb[-1],) if len(sb) > 1 else ()
    return TensorMeta(a.dtype, batch + rows + cols, a.device)


# NOTE: each operand's gradient reads only the other operand
_CROSS = saved(self="other", other="self")


def _matmul_vjp(ctx, g):
    a, b = ctx.args
    need_a, need_b = ctx.needs_input_grad(0), ctx.needs_input_grad(1)
    if a.ndim == 1 and b.ndim == 1:
        return g * b if need_a else None, g * a if need_b else None
    g2 = g
    if a.ndim == 1:
        g2 = g2.unsqueeze(-2)
    if b.ndim == 1:
        g2 = g2.unsqueeze(-1)
    ga = gb = None
    if need_a:  # reads b only
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        a2 = (1,) + tuple(a.shape) if a.ndim == 1 else tuple(a.shape)
        ga = g2.matmul(b2.transpose(-1, -2))
        ga = (ga if tuple(ga.shape) == a2 else ga.sum_to_size(a2)).reshape(tuple(a.shape))
    if need_b:  # reads a only
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = tuple(b.shape) + (1,) if b.ndim == 1 else tuple(b.shape)
        gb = a2.transpose(-1, -2).matmul(g2)
        gb = (gb if tuple(gb.shape) == b2 else gb.sum_to_size(b2)).reshape(tuple(b.shape))
    return ga, gb


def _matmul_samples(dtype=dtypes.float64):
    m = SampleMaker(20)
    t = m.tensor
    return [SampleInput((t((3, 4), dtype), t((4, 5), dtype)), name="mm"),
            SampleInput((t((2, 3, 4), dtype), t((4, 2), dtype)), name="batched_lhs"),
            SampleInput((t((2, 1, 3, 4), dtype), t((5, 4, 2), dtype)), name="batch_broadcast"),
            SampleInput((t((4,), dtype), t((4, 3), dtype)), name="vec_mat"),
            SampleInput((t((3, 4), dtype), t((4,), dtype)), name="mat_vec"),
            SampleInput((t((4,), dtype), t((4,), dtype)), name="dot")]


register("matmul(Tensor self, Tensor other) -> Tensor", OpKind.OPAQUE, kernel=_matmul,
         meta=_matmul_meta, vjp=_matmul_vjp, samples=_matmul_samples, saves=_CROSS,
         promotion=Promotion.NONE, backward_name="MmBackward0")


def _mm(xp, a, b):
    if a.ndim != 2:
        raise ShapeError(f"self must be a matrix, got a {a.ndim}-D tensor")
    if b.ndim != 2:
        raise ShapeError(f"mat2 must be a matrix, got a {b.ndim}-D tensor")
    return _matmul(xp, a, b)


register("mm(Tensor self, Tensor mat2) -> Tensor", OpKind.OPAQUE, kernel=_mm, meta=_matmul_meta,
         vjp=_matmul_vjp, saves=saved(self="mat2", mat2="self"),
         samples=lambda dtype=dtypes.float64: _matmul_samples(dtype)[:1])


def _bmm(xp, a, b):
    if a.ndim != 3 or b.ndim != 3:
        raise ShapeError(f"batch1 and batch2 must be 3D tensors, got {a.ndim}D and {b.ndim}D")
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"batch1 and batch2 must have same number of batches, got "
                         f"{a.shape[0]} and {b.shape[0]}")
    return _matmul(xp, a, b)


register("bmm(Tensor self, Tensor mat2) -> Tensor", OpKind.OPAQUE, kernel=_bmm, meta=_matmul_meta,
         vjp=_matmul_vjp, saves=saved(self="mat2", mat2="self"),
         samples=lambda dtype=dtypes.float64: [SampleInput(
             (SampleMaker(21).tensor((2, 3, 4), dtype), SampleMaker(22).tensor((2, 4, 5), dtype)),
             name="bmm")])


def _dot(xp, a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    return _matmul(xp, a, b)


register("dot(Tensor self, Tensor tensor) -> Tensor", OpKind.OPAQUE, kernel=_dot,
         meta=_matmul_meta, vjp=_matmul_vjp, saves=saved(self="tensor", tensor="self"),
         samples=lambda dtype=dtypes.float64: _matmul_samples(dtype)[-1:])
