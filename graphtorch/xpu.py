"""``graphtorch.xpu`` (``torch.xpu``): Intel GPUs. graphtorch has no XPU backend, so this is
what a PyTorch build without XPU support reports: no device is available.

>>> import graphtorch
>>> graphtorch.xpu.is_available(), graphtorch.xpu.device_count()
(False, 0)
"""

from __future__ import annotations

__all__ = ["device_count", "is_available", "synchronize"]


def is_available() -> bool:
    """Always False: graphtorch runs on the CPU and on NVIDIA GPUs (``graphtorch.cuda``)."""
    return False


def device_count() -> int:
    return 0


def synchronize(device: object = None) -> None:
    """Nothing to wait for: there is no XPU device."""
