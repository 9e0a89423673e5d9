"""Power-average pooling (``lp_pool1d`` / ``lp_pool2d``): composites of average pooling.

``(sum over the window of x ** p) ** (1 / p)`` is the window's average of ``x ** p`` times the
window size, to the power ``1 / p``. As in PyTorch the average passes through
``sign(a) * relu(abs(a))`` (the same value; zero gradient where the average is 0), so values,
nan for odd ``p`` on negative windows included, and gradients match PyTorch's.
"""

from __future__ import annotations

import math

from graphtorch import dtypes
from graphtorch.ops import pooling  # noqa: F401 - registers avg_pool1d/2d, used below
from graphtorch.ops.conv import expand_param
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import REGISTRY, OpKind, SampleInput, register


def _lp_pool(nd: int):
    name = f"lp_pool{nd}d"
    avg = REGISTRY[f"avg_pool{nd}d"]

    def window(kernel_size, stride):
        kernel = expand_param(kernel_size, nd, "kernel_size", name)
        steps = kernel if stride is None or stride == [] else \
            expand_param(stride, nd, "stride", name)
        return list(kernel), list(steps)

    def decomposition(input, norm_type, kernel_size, stride=None, ceil_mode=False):
        kernel, steps = window(kernel_size, stride)
        mean = avg(input.pow(norm_type), kernel, steps, [0] * nd, ceil_mode, True)
        total = (mean.sign() * mean.abs().relu()).mul(math.prod(kernel))
        return total.pow(1.0 / norm_type)

    def meta(input, norm_type, kernel_size, stride=None, ceil_mode=False):
        kernel, steps = window(kernel_size, stride)
        out = avg.meta(input, kernel, steps, [0] * nd, ceil_mode, True)
        return TensorMeta(input.dtype, tuple(out.shape), input.device)

    def samples(dtype=dtypes.float64):
        if not dtype.is_floating_point:
            return []
        t = SampleMaker(90 + nd).tensor
        shape = (2, 3) + (6,) * nd
        return [SampleInput((t(shape, dtype, 0.1, 2.0), 2.0, 3), name="p2"),
                SampleInput((t(shape, dtype, 0.1, 2.0), 3.0, 2, 1), name="p3_stride1"),
                SampleInput((t(shape, dtype, 0.1, 2.0), 1.5, [3] * nd if nd > 1 else 3,
                             [2] * nd, True), name="ceil")]

    return register(
        f"{name}(Tensor input, float norm_type, int[] kernel_size, int[]? stride=None, "
        f"bool ceil_mode=False) -> Tensor", OpKind.COMPOSITE, decomposition=decomposition,
        meta=meta, samples=samples,
        torch_ref=lambda torch, *a, **k: getattr(torch.nn.functional, name)(*a, **k),
        doc=f"{nd}-D power-average pooling: each window's ``(sum x ** p) ** (1 / p)``.")


LP_POOL1D = _lp_pool(1)
LP_POOL2D = _lp_pool(2)
