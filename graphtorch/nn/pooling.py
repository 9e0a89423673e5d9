"""Pooling layers (MaxPool, AvgPool, AdaptiveAvgPool, AdaptiveMaxPool, LPPool; 1d and 2d) and
functionals.

Each forward is one registry op, so graph mode sees a single pooling node.
"""

from __future__ import annotations

import graphtorch as gt
from graphtorch.nn.module import Module
from graphtorch.tensor import Tensor


def _stride(kernel_size, stride):
    return kernel_size if stride is None else stride


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-D max pooling (``torch.nn.functional.max_pool1d``)."""
    if return_indices:
        return gt.max_pool1d_with_indices(input, kernel_size, _stride(kernel_size, stride),
                                          padding, dilation, ceil_mode)
    return gt.max_pool1d(input, kernel_size, _stride(kernel_size, stride), padding, dilation,
                         ceil_mode)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling (``torch.nn.functional.max_pool2d``)."""
    if return_indices:
        return gt.max_pool2d_with_indices(input, kernel_size, _stride(kernel_size, stride),
                                          padding, dilation, ceil_mode)
    return gt.max_pool2d(input, kernel_size, _stride(kernel_size, stride), padding, dilation,
                         ceil_mode)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling (``torch.nn.functional.avg_pool1d``)."""
    return gt.avg_pool1d(input, kernel_size, _stride(kernel_size, stride), padding, ceil_mode,
                         count_include_pad)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-D average pooling (``torch.nn.functional.avg_pool2d``)."""
    return gt.avg_pool2d(input, kernel_size, _stride(kernel_size, stride), padding, ceil_mode,
                         count_include_pad, divisor_override)


def _unpool_size(input: Tensor, nd: int, kernel_size, stride, padding, output_size) -> list:
    """PyTorch's output size of max_unpool: the pooled input's size unless ``output_size``."""
    kernel = _ntuple(kernel_size, nd)
    stride = _ntuple(_stride(kernel_size, stride), nd)
    padding = _ntuple(padding, nd)
    spatial = list(input.shape[input.ndim - nd:])
    default = [(s - 1) * st - 2 * p + k for s, st, p, k in zip(spatial, stride, padding, kernel)]
    if output_size is None:
        return default
    size = list(output_size)
    if len(size) == nd + 2:
        size = size[2:]
    if len(size) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                         f"elements, but it has a length of '{len(size)}'")
    for d, (want, base, st) in enumerate(zip(size, default, stride)):
        if not base - st < want < base + st:
            raise ValueError(f'invalid output_size "{size}" (dim {d} must be between '
                             f"{base - st} and {base + st})")
    return size


def _ntuple(v, n: int) -> tuple:
    return tuple(v) if isinstance(v, (list, tuple)) else (v,) * n


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of ``max_pool1d`` (``torch.nn.functional.max_unpool1d``)."""
    size = _unpool_size(input, 1, kernel_size, stride, padding, output_size)
    return gt.max_unpool1d(input, indices, size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of ``max_pool2d``: maxima back at their indices, zeros elsewhere."""
    size = _unpool_size(input, 2, kernel_size, stride, padding, output_size)
    return gt.max_unpool2d(input, indices, size)


def _size_list(output_size) -> list:
    return list(output_size) if isinstance(output_size, (list, tuple)) else [output_size]


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    return gt.adaptive_avg_pool1d(input, _size_list(output_size))


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average over PyTorch's adaptive bins to ``output_size`` (int, pair, None = keep)."""
    size = output_size if isinstance(output_size, (list, tuple)) else [output_size] * 2
    return gt.adaptive_avg_pool2d(input, list(size))


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """3-D max pooling (``torch.nn.functional.max_pool3d``)."""
    if return_indices:
        return gt.max_pool3d_with_indices(input, kernel_size, _stride(kernel_size, stride),
                                          padding, dilation, ceil_mode)
    return gt.max_pool3d(input, kernel_size, _stride(kernel_size, stride), padding, dilation,
                         ceil_mode)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """3-D average pooling (``torch.nn.functional.avg_pool3d``)."""
    return gt.avg_pool3d(input, kernel_size, _stride(kernel_size, stride), padding, ceil_mode,
                         count_include_pad, divisor_override)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    size = output_size if isinstance(output_size, (list, tuple)) else [output_size] * 3
    return gt.adaptive_avg_pool3d(input, list(size))


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    size = output_size if isinstance(output_size, (list, tuple)) else [output_size] * 3
    out = gt.adaptive_max_pool3d(input, list(size))
    return out if return_indices else out[0]


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of ``max_pool3d``."""
    size = _unpool_size(input, 3, kernel_size, stride, padding, output_size)
    return gt.max_unpool3d(input, indices, size)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    out = gt.adaptive_max_pool1d(input, _size_list(output_size))
    return out if return_indices else out[0]


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    size = output_size if isinstance(output_size, (list, tuple)) else [output_size] * 2
    out = gt.adaptive_max_pool2d(input, list(size))
    return out if return_indices else out[0]


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    def forward(self, input: Tensor):
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling; ``stride`` defaults to ``kernel_size``."""

    def forward(self, input: Tensor):
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)


class _MaxUnpoolNd(Module):
    nd = 2

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _ntuple(kernel_size, self.nd)
        self.stride = _ntuple(stride if stride is not None else kernel_size, self.nd)
        self.padding = _ntuple(padding, self.nd)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        size = _unpool_size(input, self.nd, self.kernel_size, self.stride, self.padding,
                            output_size)
        return getattr(gt, f"max_unpool{self.nd}d")(input, indices, size)


class MaxUnpool1d(_MaxUnpoolNd):
    nd = 1


class MaxUnpool3d(_MaxUnpoolNd):
    nd = 3


class MaxUnpool2d(_MaxUnpoolNd):
    """Puts max-pooled values back where ``MaxPool2d(return_indices=True)`` found them."""

    nd = 2


class AvgPool1d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__()
        self.kernel_size = _one(kernel_size)
        self.stride = _one(stride if stride is not None else kernel_size)
        self.padding = _one(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)


def _one(v) -> tuple:
    # NOTE: PyTorch's AvgPool1d stores 1-tuples (its repr shows kernel_size=(3,))
    return tuple(v) if isinstance(v, (list, tuple)) else (v,)


class AvgPool2d(Module):
    """2-D average pooling; ``stride`` defaults to ``kernel_size``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)


class _AdaptivePoolNd(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Average pooling to a fixed ``output_size`` whatever the input size."""

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool2d(input, self.output_size)


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    def __init__(self, output_size, return_indices: bool = False):
        super().__init__(output_size)
        self.return_indices = return_indices


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    def forward(self, input: Tensor):
        return adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    def forward(self, input: Tensor):
        return adaptive_max_pool2d(input, self.output_size, self.return_indices)


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling; ``stride`` defaults to ``kernel_size``."""

    def forward(self, input: Tensor):
        return max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)


class AvgPool3d(AvgPool2d):
    """3-D average pooling; ``stride`` defaults to ``kernel_size``."""

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool3d(_AdaptivePoolNd):
    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool3d(input, self.output_size)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    def forward(self, input: Tensor):
        return adaptive_max_pool3d(input, self.output_size, self.return_indices)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """1-D power-average pooling (``torch.nn.functional.lp_pool1d``): each window's
    ``(sum x ** p) ** (1 / p)``; ``stride`` defaults to ``kernel_size``."""
    return gt.lp_pool1d(input, float(norm_type), kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """2-D power-average pooling (``torch.nn.functional.lp_pool2d``)."""
    return gt.lp_pool2d(input, float(norm_type), kernel_size, stride, ceil_mode)


class _LPPoolNd(Module):
    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """1-D power-average pooling of an (N, C, L) or (C, L) input."""

    def forward(self, input: Tensor) -> Tensor:
        return lp_pool1d(input, float(self.norm_type), self.kernel_size, self.stride,
                         self.ceil_mode)


class LPPool2d(_LPPoolNd):
    """2-D power-average pooling of an (N, C, H, W) or (C, H, W) input."""

    def forward(self, input: Tensor) -> Tensor:
        return lp_pool2d(input, float(self.norm_type), self.kernel_size, self.stride,
                         self.ceil_mode)
