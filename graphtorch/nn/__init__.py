"""Neural-network modules, ``nn.functional`` and ``nn.init`` (PyTorch's ``torch.nn``)."""

from graphtorch.nn import functional, init
from graphtorch.nn.container import (
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from graphtorch.nn.flatten import Flatten, Unflatten
from graphtorch.nn.linear import Bilinear, Identity, Linear
from graphtorch.nn.module import Module
from graphtorch.nn.parameter import Buffer, Parameter

__all__ = [
    "Bilinear", "Buffer", "Flatten", "Identity", "Linear", "Module", "ModuleDict", "ModuleList",
    "Parameter", "ParameterDict", "ParameterList", "Sequential", "Unflatten", "functional", "init",
]
