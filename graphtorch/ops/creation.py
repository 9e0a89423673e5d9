"""Factories: tensor/as_tensor (constants) and the registry's factory ops (zeros, arange ...)."""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.device import array_module, as_device
from graphtorch.errors import ArgumentError
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import OpKind, Promotion, SampleInput, Saves, register


def _infer_dtype(data) -> dtypes.dtype:
    """PyTorch's inference for nested data: Python bools, ints, floats and complex numbers count
    as bool, int64, the default float and its complex dtype; numpy scalars and tensors inside
    lists keep their own dtype; the result is the promotion of them all (``[np.float64(1.5), 1]``
    is float64)."""
    out = None
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
            continue
        if hasattr(x, "_data") and hasattr(x, "dtype"):  # a Tensor inside a list
            d = x.dtype
        elif isinstance(x, np.generic):
            d = dtypes.from_numpy(x.dtype)
        elif isinstance(x, (bool, int, float, complex)):
            d = dtypes.scalar_dtype(x)
        else:
            raise ArgumentError(f"Could not infer dtype of {type(x).__name__}")
        out = d if out is None else dtypes.promote_types(out, d)
    return dtypes.get_default_dtype() if out is None else out


def _unwrap_nested(data):
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(x) for x in data]
    if hasattr(data, "_data") and hasattr(data, "_host"):
        return data._host()
    return data


def _to_array(data, dtype, dev):
    """An array of ``dev``'s module holding ``data`` (Python data, numpy array, Tensor)."""
    xp = array_module(dev) if dev.type != "cpu" else np
    if hasattr(data, "_data") and hasattr(data, "_host"):
        arr = data._host()
    elif isinstance(data, np.ndarray):
        arr = data
    elif hasattr(data, "__cuda_array_interface__"):
        arr = data
    else:
        if dtype is None:
            dtype = _infer_dtype(data)
        arr = np.asarray(_unwrap_nested(data))
    if dtype is None:
        dtype = dtypes.from_numpy(arr.dtype) if arr.dtype != np.float64 or isinstance(
            data, np.ndarray) else dtypes.get_default_dtype()
    dtype = dtypes.as_dtype(dtype)
    out = xp.asarray(arr, dtype=dtype.np)
    return out


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False):
    """A new tensor holding a copy of ``data`` (nested lists, scalars, arrays or tensors)."""
    # NOTE: graphtorch.tensor imports the ops package: a module-level import cycles
    from graphtorch.tensor import Tensor

    dev = as_device(device) if device is not None else (
        data._device if isinstance(data, Tensor) else as_device(None))  # the default device
    if isinstance(data, np.ndarray) and dtype is None:
        dtype = dtypes.from_numpy(data.dtype)
    arr = _to_array(data, dtype, dev)
    if arr is data or (isinstance(data, Tensor) and arr is data._data) or (
            isinstance(data, np.ndarray) and np.shares_memory(arr, data)):
        arr = arr.copy()
    t = Tensor._wrap(arr, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with a numpy array or tensor when it can."""
    # NOTE: graphtorch.tensor imports the ops package: a module-level import cycles
    from graphtorch.tensor import Tensor

    if isinstance(data, Tensor):
        out = data
        if dtype is not None:
            out = out.to(dtypes.as_dtype(dtype))
        if device is not None:
            out = out.to(as_device(device))
        return out
    dev = as_device(device)
    if isinstance(data, np.ndarray) and dtype is None:
        dtype = dtypes.from_numpy(data.dtype)
    return Tensor._wrap(_to_array(data, dtype, dev), dev)


# --- factory ops ----------------------------------------------------------------------------------
_OPTS = "*, ScalarType? dtype=None, Device? device=None, bool requires_grad=False"


def _dt(dtype, default=None):
    return dtypes.as_dtype(dtype) if dtype is not None else (default or dtypes.get_default_dtype())


def _size(size):
    if isinstance(size, int):
        return (size,)
    return tuple(int(s) for s in size)


def _factory_meta(size, dtype=None, device=None, requires_grad=False):
    return TensorMeta(_dt(dtype), tuple(size), as_device(device))


def _no_samples(dtype=dtypes.float32):
    return []


def _factory(schema: str, kernel, meta=_factory_meta, samples=_no_samples):
    return register(schema, OpKind.FACTORY, kernel=kernel, meta=meta, samples=samples,
                    differentiable=False, saves=Saves.NOTHING, promotion=Promotion.NONE)


_factory(f"zeros(int[] size, {_OPTS}) -> Tensor",
         lambda xp, size, dtype, device, rg: xp.zeros(_size(size), _dt(dtype).np),
         samples=lambda dtype=dtypes.float32: [SampleInput(([2, 3],), {"dtype": dtype})])
_factory(f"ones(int[] size, {_OPTS}) -> Tensor",
         lambda xp, size, dtype, device, rg: xp.ones(_size(size), _dt(dtype).np),
         samples=lambda dtype=dtypes.float32: [SampleInput(([2, 3],), {"dtype": dtype})])
_factory(f"empty(int[] size, {_OPTS}) -> Tensor",
         lambda xp, size, dtype, device, rg: xp.zeros(_size(size), _dt(dtype).np),
         samples=lambda dtype=dtypes.float32: [SampleInput(([2, 3],), {"dtype": dtype})])


def _full(xp, size, fill, dtype, device, rg):
    dt = _dt(dtype, dtypes.scalar_dtype(fill))
    return xp.full(_size(size), fill, dt.np)


_factory(f"full(int[] size, Scalar fill_value, {_OPTS}) -> Tensor", _full,
         meta=lambda size, fill, dtype=None, device=None, rg=False: TensorMeta(
             _dt(dtype, dtypes.scalar_dtype(fill)), tuple(size), as_device(device)),
         samples=lambda dtype=dtypes.float32: [SampleInput(([2, 2], 1.5))])


def _arange_dtype(start, end, step, dtype):
    if dtype is not None:
        return dtypes.as_dtype(dtype)
    if any(isinstance(v, float) for v in (start, end, step)):
        return dtypes.get_default_dtype()
    return dtypes.int64


def _arange_args(start, end, step):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    return start, end, step


def _arange(xp, start, end, step, dtype, device, rg):
    start, end, step = _arange_args(start, end, step)
    dt = _arange_dtype(start, end, step, dtype)
    n = max(int(np.ceil((end - start) / step)), 0)
    return (start + step * xp.arange(n, dtype=np.float64 if dt.is_floating_point else np.int64)
            ).astype(dt.np)


def _arange_meta(start, end=None, step=1, dtype=None, device=None, rg=False):
    s, e, st = _arange_args(start, end, step)
    n = max(int(np.ceil((e - s) / st)), 0) if all(
        isinstance(v, (int, float)) for v in (s, e, st)) else None
    return TensorMeta(_arange_dtype(s, e, st, dtype), (n,), as_device(device))


_factory(f"arange(Scalar start, Scalar? end=None, Scalar step=1, {_OPTS}) -> Tensor", _arange,
         meta=_arange_meta,
         samples=lambda dtype=dtypes.float32: [SampleInput((5,)), SampleInput((1, 4, 0.5))])


def _linspace(xp, start, end, steps, dtype, device, rg):
    return xp.linspace(start, end, steps, dtype=np.float64).astype(_dt(dtype).np)


_factory(f"linspace(Scalar start, Scalar end, int steps, {_OPTS}) -> Tensor", _linspace,
         meta=lambda start, end, steps, dtype=None, device=None, rg=False: TensorMeta(
             _dt(dtype), (steps,), as_device(device)),
         samples=lambda dtype=dtypes.float32: [SampleInput((0, 1, 5))])


def _eye(xp, n, m, dtype, device, rg):
    return xp.eye(n, n if m is None else m, dtype=_dt(dtype).np)


_factory(f"eye(int n, int? m=None, {_OPTS}) -> Tensor", _eye,
         meta=lambda n, m=None, dtype=None, device=None, rg=False: TensorMeta(
             _dt(dtype), (n, n if m is None else m), as_device(device)),
         samples=lambda dtype=dtypes.float32: [SampleInput((3,)), SampleInput((2, 4))])


# --- *_like ---------------------------------------------------------------------------------------
# NOTE: memory_format is taken and ignored, as by contiguous / clone: data stay row-major
_LIKE = ("*, ScalarType? dtype=None, Device? device=None, bool requires_grad=False, "
         "Any memory_format=None")


def _like(name: str, fill):
    at = 0 if fill is not None else 1     # where dtype sits among the arguments after self

    def kernel(xp, x, *rest):
        dtype = rest[at]
        value = fill if fill is not None else rest[0]
        return xp.full(x.shape, value, (dtype.np if dtype is not None else x.dtype))

    def meta(x, *rest):
        dtype = rest[at] if len(rest) > at else None
        return TensorMeta(dtype or x.dtype, tuple(x.shape), x.device)

    extra = "Scalar fill_value, " if fill is None else ""
    register(f"{name}(Tensor self, {extra}{_LIKE}) -> Tensor", OpKind.FACTORY, kernel=kernel,
             meta=meta, differentiable=False, saves=Saves.NOTHING,
             promotion=Promotion.NONE,
             samples=lambda dtype=dtypes.float32: [
                 SampleInput((_sample_tensor(dtype),) + ((2,) if fill is None else ()))])


def _sample_tensor(dtype):
    return SampleMaker(30).tensor((2, 3), dtype)


_like("zeros_like", 0)
_like("ones_like", 1)
_like("empty_like", 0)
_like("full_like", None)
