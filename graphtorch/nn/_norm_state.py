"""The parameters and buffers the normalization layers share, under PyTorch's names: an affine
``weight`` (ones) and ``bias`` (zeros), and the running statistics of BatchNorm/InstanceNorm."""

from __future__ import annotations

import graphtorch as gt
from graphtorch.nn import init
from graphtorch.nn.module import Module
from graphtorch.nn.parameter import Parameter


def register_affine(module: Module, affine: bool, bias: bool, shape, device=None,
                    dtype=None) -> None:
    """``weight`` and ``bias`` of ``shape`` when ``affine`` (no bias when ``bias`` is False);
    registered as None otherwise, so that the attributes always exist."""
    if affine:
        module.weight = Parameter(gt.ones(shape, device=device, dtype=dtype))
        if bias:
            module.bias = Parameter(gt.zeros(shape, device=device, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def reset_affine(module: Module) -> None:
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


def register_running_stats(module: Module, track: bool, num_features: int, device=None,
                           dtype=None) -> None:
    """``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` (a long 0)
    when ``track``; None buffers otherwise."""
    if track:
        module.register_buffer("running_mean", gt.zeros(num_features, device=device,
                                                        dtype=dtype))
        module.register_buffer("running_var", gt.ones(num_features, device=device, dtype=dtype))
        module.register_buffer("num_batches_tracked", gt.tensor(0, dtype=gt.long,
                                                                device=device))
    else:
        module.register_buffer("running_mean", None)
        module.register_buffer("running_var", None)
        module.register_buffer("num_batches_tracked", None)
