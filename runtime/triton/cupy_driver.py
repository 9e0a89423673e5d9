"""Launching Triton kernels on CuPy arrays without importing torch.

Triton's CUDA driver asks torch for the current device, stream and compute capability. This
driver subclass asks CuPy instead and is installed with ``triton.runtime.driver.set_active``; the
launcher itself only needs each pointer argument's ``data_ptr()`` and ``dtype``. Written against
Triton 3.6 (where ``CudaDriver.__init__`` imports torch) and 3.9 (where it does not when torch is
absent); both keep ``utils`` and ``launcher_cls`` as attributes set in ``__init__``.
"""

from __future__ import annotations

_INSTALLED = None


class CupyArg:
    """A CuPy array as a Triton pointer argument; ``dtype`` (a name) overrides the array's, as
    for bfloat16 data held in a uint16 array (CuPy has no bfloat16)."""

    __slots__ = ("ptr", "dtype")

    def __init__(self, array, dtype: str | None = None):
        self.ptr = array.data.ptr
        # NOTE: Triton maps the dtype's name to a pointer type ("float32" -> *fp32)
        self.dtype = dtype if dtype is not None and dtype != array.dtype.name else array.dtype

    def data_ptr(self) -> int:
        return self.ptr


def _driver_class():
    import cupy
    from triton.backends.nvidia.driver import CudaDriver, CudaLauncher, CudaUtils

    class CupyCudaDriver(CudaDriver):
        def __init__(self):
            # NOTE: deliberately not CudaDriver.__init__: in Triton 3.6 it imports torch
            self.utils = CudaUtils()
            self.launcher_cls = CudaLauncher
            self.get_current_device = lambda: cupy.cuda.Device().id
            self.set_current_device = lambda index: cupy.cuda.Device(index).use()
            self.get_current_stream = lambda index=None: cupy.cuda.get_current_stream().ptr
            self.get_device_capability = _capability

    def _capability(index=None):
        cc = cupy.cuda.Device(index if index is not None else cupy.cuda.Device().id)
        major, minor = divmod(int(cc.compute_capability), 10)
        return major, minor

    return CupyCudaDriver


def install() -> None:
    """Make the CuPy-backed driver Triton's active driver (once per process)."""
    global _INSTALLED
    if _INSTALLED is not None:
        return
    from triton.runtime import driver

    _INSTALLED = _driver_class()()
    driver.set_active(_INSTALLED)
