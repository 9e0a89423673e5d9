"""``nn.functional``: the functional forms of the layers (PyTorch names and signatures).

Every function forwards to registry ops (``graphtorch.ops``), so graph mode records them.
"""

from __future__ import annotations

from graphtorch.ops.registry import REGISTRY as _R
from graphtorch.tensor import Tensor


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    return _R["linear"](input, weight, bias)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return input.relu_() if inplace else _R["relu"](input)


def sigmoid(input: Tensor) -> Tensor:
    return _R["sigmoid"](input)


def tanh(input: Tensor) -> Tensor:
    return _R["tanh"](input)
