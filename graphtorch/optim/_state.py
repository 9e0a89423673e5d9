"""Optimizer state tensors created directly from parameter arrays (no graph ops involved)."""

from __future__ import annotations

import numpy as np

from graphtorch.tensor import Tensor


def zeros_state(param: Tensor, fill: float = 0.0) -> Tensor:
    """A tensor like ``param`` (same dtype, shape and device) filled with ``fill``."""
    xp = param._xp
    data = xp.zeros_like(param._data) if fill == 0 else xp.full_like(param._data, fill)
    return Tensor._wrap(data, param.device)


def copy_state(param: Tensor, array) -> Tensor:
    """A tensor on ``param``'s device holding a copy of ``array``."""
    return Tensor._wrap(param._xp.array(array, copy=True), param.device)


def step_state(value: float = 0.0) -> Tensor:
    """The float32 scalar ``step`` counter PyTorch keeps per parameter (always on the host)."""
    return Tensor._wrap(np.array(value, dtype=np.float32))


def bump_step(step: Tensor) -> float:
    step._data += 1
    step._vc[0] += 1
    return float(step._data)


def check_range(name: str, value: float, low: float = 0.0, high: float | None = None) -> None:
    """PyTorch's option validation: ``Invalid learning rate: -1`` etc."""
    if value < low or (high is not None and value >= high):
        raise ValueError(f"Invalid {name}: {value}")
