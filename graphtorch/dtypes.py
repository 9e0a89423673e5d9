"""dtypes as objects (``graphtorch.float32`` ...) and PyTorch's type-promotion rules."""

from __future__ import annotations

import builtins as _builtins
from enum import IntEnum

import numpy as np

from graphtorch.errors import DTypeError


class Category(IntEnum):
    BOOL = 0
    INT = 1
    FLOAT = 2
    COMPLEX = 3


class dtype:  # noqa: N801 - the PyTorch name
    __slots__ = ("name", "np", "category", "itemsize", "is_signed")

    def __init__(self, name: str, np_dtype: np.dtype, category: Category):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category
        self.itemsize = self.np.itemsize
        self.is_signed = category >= Category.FLOAT or self.np.kind == "i"

    @property
    def is_floating_point(self) -> bool:
        return self.category == Category.FLOAT

    @property
    def is_complex(self) -> bool:
        return self.category == Category.COMPLEX

    def to_real(self) -> dtype:
        """The dtype of the real and imaginary parts (complex64 -> float32); others unchanged."""
        return _REAL_OF.get(self, self)

    def to_complex(self) -> dtype:
        """The complex dtype whose parts have this dtype (float64 -> complex128)."""
        try:
            return _COMPLEX_OF[self]
        except KeyError:
            raise DTypeError(f"{self} has no complex counterpart in graphtorch (complex32 is "
                             "not supported); use float32 or float64") from None

    def __repr__(self) -> str:
        return f"graphtorch.{self.name}"

    def __reduce__(self):
        return (from_name, (self.name,))


float16 = dtype("float16", np.float16, Category.FLOAT)
float32 = dtype("float32", np.float32, Category.FLOAT)
float64 = dtype("float64", np.float64, Category.FLOAT)
int8 = dtype("int8", np.int8, Category.INT)
int16 = dtype("int16", np.int16, Category.INT)
int32 = dtype("int32", np.int32, Category.INT)
int64 = dtype("int64", np.int64, Category.INT)
uint8 = dtype("uint8", np.uint8, Category.INT)
bool_ = dtype("bool", np.bool_, Category.BOOL)
complex64 = dtype("complex64", np.complex64, Category.COMPLEX)
complex128 = dtype("complex128", np.complex128, Category.COMPLEX)

half, float, double = float16, float32, float64  # noqa: A001 - PyTorch aliases
short, int, long = int16, int32, int64  # noqa: A001
cfloat, cdouble = complex64, complex128

ALL: tuple[dtype, ...] = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64,
                          complex64, complex128)
FLOATING: tuple[dtype, ...] = (float16, float32, float64)
INTEGRAL: tuple[dtype, ...] = (uint8, int8, int16, int32, int64)
COMPLEX: tuple[dtype, ...] = (complex64, complex128)
_REAL_OF = {complex64: float32, complex128: float64}
_COMPLEX_OF = {float32: complex64, float64: complex128, complex64: complex64,
               complex128: complex128}

# PyTorch's ScalarType names, which its error messages use ("not implemented for 'Long'")
SCALAR_TYPE_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short",
                     "int32": "Int", "int64": "Long", "float16": "Half", "float32": "Float",
                     "float64": "Double", "complex64": "ComplexFloat",
                     "complex128": "ComplexDouble"}

_BY_NAME = {d.name: d for d in ALL}
_BY_NP = {d.np: d for d in ALL}
_BY_NP_TYPE = {d.np.type: d for d in ALL}

_default_float = float32
_default_listeners: list = []  # caches keyed on the default dtype (dispatch's promotion cache)


def on_default_dtype_change(callback) -> None:
    """Call ``callback()`` whenever ``set_default_dtype`` changes the default float dtype."""
    _default_listeners.append(callback)


def from_name(name: str) -> dtype:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise DTypeError(f"unknown dtype name {name!r}; expected one of "
                         f"{sorted(_BY_NAME)}") from None


def from_numpy(np_dtype) -> dtype:
    d = _BY_NP.get(np_dtype)
    if d is None:
        d = _BY_NP.get(np.dtype(np_dtype))
    if d is None:
        raise DTypeError(f"numpy dtype {np.dtype(np_dtype)} has no graphtorch equivalent; "
                         f"supported: {', '.join(x.name for x in ALL)}")
    return d


def as_dtype(d) -> dtype:
    """Accept a graphtorch dtype, a numpy dtype/type, a Python type or a name."""
    if isinstance(d, dtype):
        return d
    if d is bool:
        return bool_
    if d is _builtins.int:
        return int64
    if d is _builtins.float:
        return _default_float
    if d is _builtins.complex:
        return default_complex()
    if isinstance(d, str):
        return from_name(d)
    return from_numpy(d)


def get_default_dtype() -> dtype:
    return _default_float


def default_complex() -> dtype:
    """The complex dtype of Python complex numbers: complex64, or complex128 when the default
    float dtype is float64 (PyTorch's rule)."""
    return complex128 if _default_float is float64 else complex64


def set_default_dtype(d: dtype) -> None:
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise DTypeError(f"set_default_dtype only supports floating point dtypes, got {d}")
    if d is not _default_float:
        _default_float = d
        for callback in _default_listeners:
            callback()


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's promoteTypes: the higher category wins; within one category, the wider type
    (a complex dtype with a float: the complex dtype whose parts hold both)."""
    if a is b:
        return a
    return _PROMOTE[(a, b)]


def _build_promotion_table() -> dict:
    table = {}
    for a in ALL:
        for b in ALL:
            if a.category == Category.COMPLEX or b.category == Category.COMPLEX:
                # complex64 with float64 is complex128: the parts promote as reals
                table[(a, b)] = _complex_promotion(a, b)
            elif a.category != b.category:
                table[(a, b)] = a if a.category > b.category else b
            else:
                table[(a, b)] = from_numpy(np.promote_types(a.np, b.np))
    return table


def _complex_promotion(a: dtype, b: dtype) -> dtype:
    """A complex dtype with any other: the wider complex whose parts hold both."""
    if a.category != Category.COMPLEX:
        a, b = b, a
    if b.category < Category.FLOAT:
        return a
    return _COMPLEX_OF[from_numpy(np.promote_types(a.to_real().np, b.to_real().np))]


_PROMOTE = _build_promotion_table()


def scalar_dtype(value) -> dtype:
    """The dtype a Python scalar takes as a tensor (``tensor(2.5)`` is float32 by default)."""
    if isinstance(value, _builtins.bool):
        return bool_
    if isinstance(value, _builtins.int):
        return int64
    if isinstance(value, _builtins.complex):
        return default_complex()
    return _default_float


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    if higher is None:
        return lower
    if lower is None or higher.category == Category.COMPLEX:
        return higher
    if lower.category == Category.COMPLEX:
        # a float operand of higher priority keeps its precision: float64 tensor * 1j is
        # complex128; an integral or bool one takes the complex operand's dtype
        return higher.to_complex() if higher.category == Category.FLOAT else lower
    if higher.category == Category.FLOAT:
        return higher
    if higher is bool_ or lower.category == Category.FLOAT:
        return promote_types(higher, lower)
    return higher


def result_type(dims: list, zero_dims: list, scalars: list) -> dtype:
    """PyTorch's result_type over dimensioned tensors, 0-dim tensors and Python scalars."""
    d = z = w = None
    for x in dims:
        d = x if d is None else promote_types(d, x)
    for x in zero_dims:
        z = x if z is None else promote_types(z, x)
    for s in scalars:
        x = scalar_dtype(s)
        w = x if w is None else promote_types(w, x)
    out = _combine(d, _combine(z, w))
    assert out is not None, "result_type needs at least one operand"
    return out


def _operand_dtypes(x):
    """(dimensioned, zero-dim, scalar) lists for one ``result_type`` operand."""
    if isinstance(x, dtype):
        raise DTypeError("result_type() expects tensors or Python numbers; for two dtypes use "
                         "promote_types()")
    shape = getattr(x, "shape", None)
    if shape is not None and isinstance(getattr(x, "dtype", None), dtype):
        return ([x.dtype], [], []) if len(shape) else ([], [x.dtype], [])
    if isinstance(x, (_builtins.bool, _builtins.int, _builtins.float, _builtins.complex)):
        return [], [], [x]
    raise DTypeError(f"result_type() expects a Tensor or a Python number, got {type(x).__name__}")


def tensor_result_type(tensor, other) -> dtype:
    """``graphtorch.result_type(tensor, other)``: the dtype an arithmetic op on both produces."""
    a, b = _operand_dtypes(tensor), _operand_dtypes(other)
    return result_type(a[0] + b[0], a[1] + b[1], a[2] + b[2])


def can_cast(from_: dtype, to: dtype) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` -> ``to`` (no lower category)."""
    return from_.category <= to.category
