"""PyTorch's legacy typed constructors: ``FloatTensor(2, 3)``, ``LongTensor([1, 2])`` ...

They are not subclasses: calling one makes an ordinary :class:`~graphtorch.Tensor` of its dtype
(sizes give an uninitialized tensor, a sequence gives data), and ``isinstance(t, FloatTensor)``
is true for CPU tensors of that dtype, as in PyTorch.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.tensor import Tensor


class _LegacyTensorType(type):
    """Metaclass: calling the class constructs, ``isinstance`` compares dtype and device."""

    dtype: dtypes.dtype

    def __call__(cls, *args, device=None) -> Tensor:
        return Tensor(*args, dtype=cls.dtype, device=device)

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == "cpu"

    def __repr__(cls) -> str:
        return f"<class 'graphtorch.{cls.__name__}'>"


def _legacy(name: str, dtype: dtypes.dtype) -> type:
    return _LegacyTensorType(name, (), {"dtype": dtype, "__module__": "graphtorch",
                                        "__doc__": f"Legacy constructor of {dtype} tensors."})


FloatTensor = _legacy("FloatTensor", dtypes.float32)
DoubleTensor = _legacy("DoubleTensor", dtypes.float64)
HalfTensor = _legacy("HalfTensor", dtypes.float16)
LongTensor = _legacy("LongTensor", dtypes.int64)
IntTensor = _legacy("IntTensor", dtypes.int32)
ShortTensor = _legacy("ShortTensor", dtypes.int16)
CharTensor = _legacy("CharTensor", dtypes.int8)
ByteTensor = _legacy("ByteTensor", dtypes.uint8)
BoolTensor = _legacy("BoolTensor", dtypes.bool_)

__all__ = ["BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor", "HalfTensor",
           "IntTensor", "LongTensor", "ShortTensor"]
