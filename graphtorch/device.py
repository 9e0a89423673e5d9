"""Devices: ``cpu`` arrays are numpy, ``cuda`` arrays are CuPy (when CuPy and a GPU exist)."""

from __future__ import annotations

import functools

import numpy as np

from graphtorch.errors import DeviceError


class device:  # noqa: N801 - the PyTorch name
    __slots__ = ("type", "index")

    def __init__(self, spec: str | device, index: int | None = None):
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise DeviceError(f"expected a device string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise DeviceError(f"unknown device type {kind!r} in {spec!r}; expected 'cpu' or 'cuda'")
        if idx:
            if not idx.isdigit():
                raise DeviceError(f"invalid device index {idx!r} in {spec!r}")
            index = int(idx)
        self.type = kind
        self.index = index if kind == "cuda" else None

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        if self.type != other.type:
            return False
        return self.index == other.index or self.index is None or other.index is None

    def __hash__(self) -> int:
        return hash(self.type)

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __enter__(self) -> device:
        """``with graphtorch.device("cuda"):`` makes it the default device inside the block."""
        _DEFAULT_STACK.append(_DEFAULT[0])
        _DEFAULT[0] = self
        return self

    def __exit__(self, *exc: object) -> None:
        _DEFAULT[0] = _DEFAULT_STACK.pop()


CPU = device("cpu")
_DEFAULT = [CPU]  # the device factory functions use when given none
_DEFAULT_STACK: list[device] = []


def set_default_device(spec: str | device | int | None) -> None:
    """``graphtorch.set_default_device``: where factory functions (``zeros``, ``randn``,
    ``tensor`` ...) put tensors when no ``device=`` is given; ``None`` restores the CPU."""
    _DEFAULT[0] = CPU if spec is None else as_device(spec)


def get_default_device() -> device:
    """The device factory functions use when given none (``graphtorch.get_default_device``)."""
    return _DEFAULT[0]


@functools.lru_cache(maxsize=1)
def _cupy():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
    except Exception:  # noqa: BLE001 - any CuPy/driver failure means "no GPU"
        return None
    return None


def cuda_is_available() -> bool:
    return _cupy() is not None


def as_device(spec) -> device:
    # NOTE: every CPU device is the one CPU object: tensors test ``_device is CPU``
    if isinstance(spec, device):
        return CPU if spec.type == "cpu" else spec
    if spec is None:
        return _DEFAULT[0]
    if isinstance(spec, int):
        return device("cuda", spec)
    dev = device(spec)
    return CPU if dev.type == "cpu" else dev


def array_module(dev: device):
    """The array module (numpy or cupy) holding arrays of ``dev``."""
    if dev.type == "cpu":
        return np
    cp = _cupy()
    if cp is None:
        raise DeviceError("CUDA is not available: install CuPy (pip install graphtorch[cuda12]) "
                          "and run on a machine with an NVIDIA GPU")
    return cp


def device_of_array(arr) -> device:
    if isinstance(arr, np.ndarray) or np.isscalar(arr):
        return CPU
    dev = getattr(arr, "device", None)
    if dev is not None and hasattr(dev, "id"):
        return device("cuda", dev.id)
    return CPU
