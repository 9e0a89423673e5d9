"""``graphtorch.accelerator`` (``torch.accelerator``): the current accelerator, device-agnostic.

graphtorch's one accelerator type is CUDA through CuPy; ``current_accelerator()`` is
``device("cuda")`` when a GPU and CuPy are usable here and ``None`` otherwise.
"""

from __future__ import annotations

from graphtorch.device import _cupy, cuda_is_available, device
from graphtorch.errors import DeviceError

__all__ = ["current_accelerator", "current_device_idx", "current_device_index", "device_count",
           "is_available", "set_device_idx", "set_device_index", "synchronize"]

_current_index = [0]


def is_available() -> bool:
    """Whether an accelerator (a CUDA GPU with CuPy) is usable."""
    return cuda_is_available()


def current_accelerator(check_available: bool = False) -> device | None:
    """``device("cuda")`` when an accelerator is usable, else ``None``.

    >>> import graphtorch
    >>> acc = graphtorch.accelerator.current_accelerator()
    >>> acc is None or acc.type == "cuda"
    True
    """
    return device("cuda") if cuda_is_available() else None


def device_count() -> int:
    """How many accelerator devices are visible (0 without one)."""
    cp = _cupy()
    return cp.cuda.runtime.getDeviceCount() if cp is not None else 0


def current_device_index() -> int:
    """Index of the current accelerator device."""
    return _current_index[0]


def set_device_index(index: device | str | int) -> None:
    """Make device ``index`` the current accelerator device."""
    idx = index.index if isinstance(index, device) else (
        device(index).index if isinstance(index, str) else index)
    idx = 0 if idx is None else int(idx)
    count = device_count()
    if not 0 <= idx < max(count, 1) or count == 0:
        raise DeviceError(f"accelerator device index {idx} is out of range: {count} device(s) "
                          "available")
    cp = _cupy()
    cp.cuda.Device(idx).use()
    _current_index[0] = idx


current_device_idx = current_device_index
set_device_idx = set_device_index


def synchronize(device_index: device | str | int | None = None) -> None:
    """Wait for all work queued on the accelerator (no-op without one)."""
    cp = _cupy()
    if cp is not None:
        cp.cuda.runtime.deviceSynchronize()
