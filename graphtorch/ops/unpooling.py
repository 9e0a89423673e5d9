"""Max unpooling (``max_unpool1d/2d/3d``): pooled values put back at their flat indices.

The vjp gathers the gradient back through the same indices with pooling's ``_pool_gather``.
"""

from __future__ import annotations

import math

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import DTypeError, ShapeError
from graphtorch.ops.creation import tensor
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.pooling import _POOL_GATHER, _fmt
from graphtorch.ops.registry import ANY, OpKind, SampleInput, register, saved


def _check_unpool(nd: int, x_shape, idx_shape, output_size) -> None:
    if len(x_shape) not in (nd + 1, nd + 2):
        raise ShapeError(f"max_unpool{nd}d(): Expected {nd + 1}D or {nd + 2}D tensor, but got "
                         f"input of size: {_fmt(x_shape)}")
    if tuple(idx_shape) != tuple(x_shape):
        raise ShapeError(f"Expected shape of indices to be same as that of the input tensor "
                         f"({list(x_shape)}) but got indices tensor with shape: "
                         f"{list(idx_shape)}")
    if len(output_size) != nd:
        raise ShapeError(f"max_unpool{nd}d(): output_size must have {nd} elements, but got "
                         f"{len(output_size)} elements.")


def _max_unpool(nd: int):
    name = f"max_unpool{nd}d"

    def kernel(xp, x, indices, output_size):
        _check_unpool(nd, x.shape, indices.shape, output_size)
        if indices.dtype != np.int64:
            raise DTypeError(f"elements in indices should be type int64 but got: "
                             f"{dtypes.from_numpy(indices.dtype)}")
        size = math.prod(output_size)
        lead = x.shape[:x.ndim - nd]
        rows = math.prod(lead)
        flat = indices.reshape(rows, -1) if rows else indices.reshape(0, 0)
        bad = (flat < 0) | (flat >= size)
        if bad.any():
            raise RuntimeError(f"Found an invalid max index: {int(flat[bad][0])} (output volumes "
                               f"are of size {'x'.join(str(v) for v in output_size)})")
        out = xp.zeros((rows, size), dtype=x.dtype)
        # NOTE: indices collide only where overlapping pool windows picked the same input, whose
        # values are equal: plain assignment is exact
        xp.put_along_axis(out, flat, x.reshape(flat.shape), axis=1)
        return out.reshape(lead + tuple(output_size))

    def vjp(ctx, g):
        _, indices, output_size = ctx.args   # indices has the input's shape
        shape = list(indices.shape)
        lead = shape[:len(shape) - nd]
        rows = math.prod(lead)
        flat = g.reshape([rows, math.prod(output_size)])
        picked = _POOL_GATHER(flat, indices.reshape([rows, math.prod(shape[len(lead):])]))
        return picked.reshape(shape), None

    def meta(x, indices, output_size):
        _check_unpool(nd, tuple(x.shape), tuple(indices.shape), output_size)
        lead = tuple(x.shape[:len(x.shape) - nd])
        return TensorMeta(x.dtype, lead + tuple(output_size), x.device)

    def samples(dtype=dtypes.float64):
        if not dtype.is_floating_point:
            return []

        t = SampleMaker(95 + nd).tensor
        if nd == 3:
            idx = tensor([[[[[0], [5]], [[11], [17]]]]], dtype=dtypes.int64)
            return [SampleInput((t((1, 1, 2, 2, 1), dtype), idx, [3, 3, 2]), name="batched"),
                    SampleInput((t((1, 2, 2, 1), dtype), idx[0], [3, 3, 2]),
                                name="unbatched")]
        if nd == 1:
            idx = tensor([[[0, 3, 5], [1, 2, 4]]], dtype=dtypes.int64)
            return [SampleInput((t((1, 2, 3), dtype), idx, [6]), name="batched"),
                    SampleInput((t((2, 3), dtype), idx[0], [7]), name="unbatched")]
        idx = tensor([[[[0, 3], [9, 14]], [[5, 2], [8, 15]]]], dtype=dtypes.int64)
        return [SampleInput((t((1, 2, 2, 2), dtype), idx, [4, 4]), name="batched"),
                SampleInput((t((2, 2, 2), dtype), idx[0], [4, 5]), name="unbatched")]

    register(f"{name}(Tensor self, Tensor indices, int[] output_size) -> Tensor",
             OpKind.OPAQUE, kernel=kernel, meta=meta, vjp=vjp, samples=samples,
             saves=saved(indices=ANY),
             torch_ref=lambda torch, x, idx, size: _torch_unpool(torch, nd, x, idx, size),
             doc=f"The inverse of max_pool{nd}d: values put back at their flat indices, zeros "
                 "elsewhere.")


def _torch_unpool(torch, nd: int, x, idx, size):
    if nd == 2:
        return torch._C._nn.max_unpool2d(x, idx, size)
    if nd == 3:
        # NOTE: PyTorch's 3-d unpool wants stride and padding it does not use for indices
        return torch._C._nn.max_unpool3d(x, idx, size, [1, 1, 1], [0, 0, 0])
    return torch._C._nn.max_unpool2d(x.unsqueeze(-1), idx.unsqueeze(-1), [size[0], 1]).squeeze(-1)


for _nd in (1, 2, 3):
    _max_unpool(_nd)
