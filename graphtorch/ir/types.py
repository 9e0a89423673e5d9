"""IR types: what a Value is known to hold.

Types are frozen dataclasses: hashable and equal by value, so passes can compare and cache them.
``str(t)`` is the type's text in the IR format (docs/ir.md), which :mod:`graphtorch.ir.parser`
reads back. Tensor shapes use the dims of :mod:`graphtorch.ops.meta`: ``int`` (known), ``str``
(a symbol such as ``"B"``: the same size wherever it appears) or ``None`` (unknown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graphtorch import dtypes
from graphtorch.device import device as Device
from graphtorch.errors import GraphError
from graphtorch.tensor import Tensor

Dim = int | str | None

_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Type:
    """Base class of every IR type."""

    __slots__ = ()


@dataclass(frozen=True)
class _Simple(Type):
    """A type without parameters; its text is its name."""

    text: str

    def __str__(self) -> str:
        return self.text


class IntType(_Simple):
    pass


class FloatType(_Simple):
    pass


class BoolType(_Simple):
    pass


class StrType(_Simple):
    pass


class NoneType(_Simple):
    pass


class ComplexType(_Simple):
    """A Python complex number (TorchScript's ``complex``)."""


class DeviceType(_Simple):
    pass


class DTypeType(_Simple):
    """A dtype value (the schema's ``ScalarType``)."""


class NumberType(_Simple):
    """The schema's ``Scalar``: an int or a float (or a bool, which Python treats as an int)."""


class AnyType(_Simple):
    pass


class GeneratorType(_Simple):
    pass


INT = IntType("int")
FLOAT = FloatType("float")
COMPLEX = ComplexType("complex")
BOOL = BoolType("bool")
STR = StrType("str")
NONE = NoneType("NoneType")
DEVICE = DeviceType("Device")
DTYPE = DTypeType("ScalarType")
NUMBER = NumberType("Scalar")
ANY = AnyType("Any")
GENERATOR = GeneratorType("Generator")

SIMPLE_TYPES: dict[str, Type] = {t.text: t for t in
                                 (INT, FLOAT, BOOL, STR, NONE, DEVICE, DTYPE, NUMBER, ANY,
                                  GENERATOR, COMPLEX)}


@dataclass(frozen=True)
class TensorType(Type):
    """A tensor; ``None`` fields (and ``None`` dims) are unknown."""

    dtype: dtypes.dtype | None = None
    shape: tuple[Dim, ...] | None = None
    device: Device | None = None

    def __post_init__(self):
        if self.shape is not None:
            shape = tuple(self.shape)
            for d in shape:
                if not (d is None or (isinstance(d, str) and _SYMBOL.match(d)) or
                        (isinstance(d, int) and not isinstance(d, bool) and d >= 0)):
                    raise GraphError(f"invalid tensor dim {d!r} in shape {shape!r}: expected a "
                                     f"non-negative int, a symbol (an identifier) or None")
            object.__setattr__(self, "shape", shape)

    # NOTE: device equality in graphtorch ignores a missing index ("cuda" == "cuda:0"), which
    # would make two types with different text compare equal; compare the text form instead.
    def __eq__(self, other) -> bool:
        if not isinstance(other, TensorType):
            return NotImplemented
        return (self.dtype is other.dtype and self.shape == other.shape
                and _device_key(self.device) == _device_key(other.device))

    def __hash__(self) -> int:
        return hash((self.dtype, self.shape, _device_key(self.device)))

    @property
    def ndim(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    @property
    def is_complete(self) -> bool:
        """dtype, device and every dim known and concrete."""
        return (self.dtype is not None and self.device is not None and self.shape is not None
                and all(isinstance(d, int) for d in self.shape))

    def with_(self, dtype=None, shape=None, device=None) -> TensorType:
        return TensorType(dtype or self.dtype, self.shape if shape is None else tuple(shape),
                          device or self.device)

    def __str__(self) -> str:
        parts = []
        if self.dtype is not None:
            parts.append(self.dtype.name)
        if self.shape is not None:
            parts.append("[" + ", ".join("?" if d is None else str(d) for d in self.shape) + "]")
        if self.device is not None:
            parts.append(str(self.device))
        return "Tensor" + (f"({', '.join(parts)})" if parts else "")


def _device_key(d: Device | None) -> str | None:
    return None if d is None else str(d)


TENSOR = TensorType()


@dataclass(frozen=True)
class ListType(Type):
    elem: Type

    def __str__(self) -> str:
        return f"{self.elem}[]"


@dataclass(frozen=True)
class TupleType(Type):
    elems: tuple[Type, ...]

    def __post_init__(self):
        object.__setattr__(self, "elems", tuple(self.elems))

    def __str__(self) -> str:
        if len(self.elems) == 1:
            return f"({self.elems[0]},)"
        return "(" + ", ".join(str(e) for e in self.elems) + ")"


@dataclass(frozen=True)
class DictType(Type):
    key: Type
    value: Type

    def __str__(self) -> str:
        return f"Dict({self.key}, {self.value})"


@dataclass(frozen=True)
class OptionalType(Type):
    elem: Type

    def __str__(self) -> str:
        return f"{self.elem}?"


@dataclass(frozen=True)
class UnionType(Type):
    """``Union[A, B, ...]`` of two or more distinct types, none of them None, Any, Optional or
    a Union (``union()`` flattens those: a Union with None is an Optional of a Union). The
    members are kept sorted by their text, so equal unions compare and print alike."""

    members: tuple[Type, ...]

    def __post_init__(self):
        members = tuple(sorted(self.members, key=str))
        if len(members) < 2:
            raise GraphError(f"a Union needs at least two member types, got {len(members)}")
        for m in members:
            if isinstance(m, (UnionType, OptionalType, NoneType, AnyType)) or \
                    not isinstance(m, Type):
                raise GraphError(f"a Union member cannot be {m} (write Union(A, B)? for an "
                                 f"optional union; nested unions are flattened)")
        if len({str(m) for m in members}) != len(members):
            raise GraphError(f"a Union lists a member twice: {', '.join(map(str, members))}")
        object.__setattr__(self, "members", members)

    def __str__(self) -> str:
        return "Union(" + ", ".join(str(m) for m in self.members) + ")"


@dataclass(frozen=True)
class ClassType(Type):
    """A module or scripted class, by qualified name (``__torch__.MyCell``).

    A scripted user class (frontend/script/classes.py) also carries its Python class
    (``py_class``): instances are objects of that class, created by ``prim::CreateObject``.
    The class is not part of the type's identity nor of its text: a graph parsed from text
    knows the name only, and never looks a class up by it."""

    name: str
    py_class: type | None = field(default=None, compare=False, hash=False, repr=False)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class FunctionType(Type):
    """A first-class reference to a (scripted) function, by qualified name."""

    name: str

    def __str__(self) -> str:
        return f"Function({self.name})"


def optional(t: Type) -> Type:
    """``Optional[t]``, without nesting (``Optional[Optional[T]] = Optional[T]``)."""
    if isinstance(t, (OptionalType, NoneType, AnyType)):
        return t
    return OptionalType(t)


def union(*types: Type) -> Type:
    """``Union[types]``: nested unions and Optionals flattened, a member that another member
    already covers dropped, one member left giving that member, None making it Optional."""
    flat: list[Type] = []
    has_none = False
    stack = list(reversed(types))
    while stack:
        t = stack.pop()
        if isinstance(t, AnyType):
            return ANY
        if isinstance(t, NoneType):
            has_none = True
        elif isinstance(t, OptionalType):
            has_none = True
            stack.append(t.elem)
        elif isinstance(t, UnionType):
            stack.extend(reversed(t.members))
        else:
            flat.append(t)
    kept: list[Type] = []
    for i, t in enumerate(flat):
        covered = any(is_subtype(t, o) and (not is_subtype(o, t) or j < i)
                      for j, o in enumerate(flat) if j != i)
        if not covered:
            kept.append(t)
    if not kept:
        return NONE
    out = kept[0] if len(kept) == 1 else UnionType(tuple(kept))
    return optional(out) if has_none else out


# -- schema type strings -----------------------------------------------------------------------

_SCHEMA_BASE: dict[str, Type] = {
    "Tensor": TENSOR, "int": INT, "float": FLOAT, "bool": BOOL, "str": STR, "Scalar": NUMBER,
    "ScalarType": DTYPE, "Device": DEVICE, "Any": ANY, "Generator": GENERATOR,
    "Layout": INT, "MemoryFormat": INT, "None": NONE, "NoneType": NONE,
}


def schema_type(type_str: str) -> Type:
    """The IR type of a registry schema type string: ``"int[]?"`` -> ``int[]?``.

    A named return (``"Tensor values"``) gives the type of its type part.
    """
    s = type_str.strip()
    if " " in s:
        s = s.split()[0]
    if s.endswith("?"):
        return optional(schema_type(s[:-1]))
    if s.endswith("]"):
        base, bracket, size = s[:-1].rpartition("[")
        if bracket and (size == "" or size.isdigit()):
            return ListType(schema_type(base))
    try:
        return _SCHEMA_BASE[s]
    except KeyError:
        raise GraphError(f"unknown schema type {type_str!r}; expected one of "
                         f"{sorted(_SCHEMA_BASE)} with optional '[]' and '?' suffixes") from None


# -- types of Python values --------------------------------------------------------------------

def type_of_value(value: object) -> Type:
    """The IR type of a constant Python value (a graphtorch Tensor gives its full TensorType)."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, complex):
        return COMPLEX
    if isinstance(value, str):
        return STR
    if value is None:
        return NONE
    if isinstance(value, dtypes.dtype):
        return DTYPE
    if isinstance(value, Device):
        return DEVICE
    if isinstance(value, Tensor):
        return TensorType(value.dtype, tuple(value.shape), value.device)
    if isinstance(value, tuple):
        return TupleType(tuple(type_of_value(v) for v in value))
    if isinstance(value, list):
        elem: Type | None = None
        for v in value:
            t = type_of_value(v)
            elem = t if elem is None else unify(elem, t)
            if elem is None:
                raise GraphError(f"list constant {value!r} mixes element types that do not "
                                 f"unify")
        return ListType(ANY if elem is None else elem)
    if isinstance(value, dict):
        kt: Type | None = None
        vt: Type | None = None
        for k, v in value.items():
            kt = type_of_value(k) if kt is None else unify(kt, type_of_value(k))
            vt = type_of_value(v) if vt is None else unify(vt, type_of_value(v))
            if kt is None or vt is None:
                raise GraphError(f"dict constant {value!r} mixes types that do not unify")
        return DictType(kt or ANY, vt or ANY)
    return ANY


# -- subtyping and join ------------------------------------------------------------------------

def _tensor_subtype(a: TensorType, b: TensorType) -> bool:
    if b.dtype is not None and a.dtype is not b.dtype:
        return False
    if b.device is not None and _device_key(a.device) != _device_key(b.device):
        return False
    if b.shape is None:
        return True
    if a.shape is None or len(a.shape) != len(b.shape):
        return False
    # NOTE: a symbol in b stands for one size, so [2, 3] <: [B, 3] but not [2, 3] <: [B, B].
    binding: dict[str, Dim] = {}
    for da, db in zip(a.shape, b.shape):
        if db is None:
            continue
        if isinstance(db, int):
            if da != db:
                return False
        else:
            if da is None:
                return False
            if binding.setdefault(db, da) != da:
                return False
    return True


def is_subtype(a: Type, b: Type) -> bool:
    """Whether every value of type ``a`` is a value of type ``b``.

    Lists, tuples and dicts are covariant (IR values are not mutated through a wider type);
    ``int``, ``float``, ``bool`` and ``complex`` are subtypes of ``Scalar``; ``None`` and ``T`` of
    ``T?``.
    """
    if a == b or isinstance(b, AnyType):
        return True
    if isinstance(b, OptionalType):
        if isinstance(a, NoneType):
            return True
        if isinstance(a, OptionalType):
            return is_subtype(a.elem, b.elem)
        return is_subtype(a, b.elem)
    if isinstance(a, UnionType):
        return all(is_subtype(m, b) for m in a.members)
    if isinstance(b, UnionType):
        return any(is_subtype(a, m) for m in b.members)
    if isinstance(b, NumberType):
        return isinstance(a, (IntType, FloatType, BoolType, ComplexType))
    if isinstance(a, TensorType) and isinstance(b, TensorType):
        return _tensor_subtype(a, b)
    if isinstance(a, ListType) and isinstance(b, ListType):
        return is_subtype(a.elem, b.elem)
    if isinstance(a, TupleType) and isinstance(b, TupleType):
        return (len(a.elems) == len(b.elems)
                and all(is_subtype(x, y) for x, y in zip(a.elems, b.elems)))
    if isinstance(a, DictType) and isinstance(b, DictType):
        return a.key == b.key and is_subtype(a.value, b.value)
    return False


def _unify_tensors(a: TensorType, b: TensorType) -> TensorType:
    dtype = a.dtype if a.dtype is b.dtype else None
    dev = a.device if _device_key(a.device) == _device_key(b.device) else None
    shape = None
    if a.shape is not None and b.shape is not None and len(a.shape) == len(b.shape):
        shape = tuple(x if x == y else None for x, y in zip(a.shape, b.shape))
    return TensorType(dtype, shape, dev)


def unify(a: Type, b: Type) -> Type | None:
    """The join of two types where control-flow paths merge; ``None`` when there is none.

    ``Tensor(float32, [2, 3]) | Tensor(float32, [4, 3]) = Tensor(float32, [?, 3])``;
    ``None | T = T?``; ``int | float = Scalar``.
    """
    if is_subtype(a, b):
        return b
    if is_subtype(b, a):
        return a
    if isinstance(a, TensorType) and isinstance(b, TensorType):
        return _unify_tensors(a, b)
    if isinstance(a, NoneType):
        return optional(b)
    if isinstance(b, NoneType):
        return optional(a)
    if isinstance(a, OptionalType) or isinstance(b, OptionalType):
        inner = unify(_strip_optional(a), _strip_optional(b))
        return None if inner is None else optional(inner)
    if (isinstance(a, (IntType, FloatType, NumberType))
            and isinstance(b, (IntType, FloatType, NumberType))):
        return NUMBER
    if isinstance(a, ListType) and isinstance(b, ListType):
        elem = unify(a.elem, b.elem)
        return None if elem is None else ListType(elem)
    if isinstance(a, TupleType) and isinstance(b, TupleType) and len(a.elems) == len(b.elems):
        elems = [unify(x, y) for x, y in zip(a.elems, b.elems)]
        return None if any(e is None for e in elems) else TupleType(tuple(elems))
    if isinstance(a, DictType) and isinstance(b, DictType) and a.key == b.key:
        v = unify(a.value, b.value)
        return None if v is None else DictType(a.key, v)
    return None


def _strip_optional(t: Type) -> Type:
    return t.elem if isinstance(t, OptionalType) else t


# -- does a Python value fit a type (call arguments, loaded defaults and outputs) ----------------

def type_mismatch(v, t: Type) -> str | None:
    """Why ``v`` does not fit IR type ``t`` (None when it fits); the executor checks call
    arguments with it, the archive reader loaded defaults and outputs."""
    if isinstance(t, TensorType):
        if not isinstance(v, Tensor):
            return f"instead found type '{type(v).__name__}'"
        if t.dtype is not None and v.dtype is not t.dtype:
            return f"got a tensor of dtype {v.dtype.name}"
        if t.shape is not None and len(t.shape) != v.ndim:
            return f"got a tensor with {v.ndim} dimension(s) {list(v.shape)}"
        return None
    if isinstance(t, OptionalType):
        return None if v is None else type_mismatch(v, t.elem)
    if isinstance(t, UnionType):
        if any(type_mismatch(v, m) is None for m in t.members):
            return None
        return f"instead found type '{type(v).__name__}'"
    if isinstance(t, TupleType):
        if not isinstance(v, tuple) or len(v) != len(t.elems):
            return f"instead found type '{type(v).__name__}'"
        for x, et in zip(v, t.elems):
            p = type_mismatch(x, et)
            if p:
                return p
        return None
    if isinstance(t, ListType):
        if not isinstance(v, list):
            return f"instead found type '{type(v).__name__}'"
        return None
    if isinstance(t, IntType):
        return None if isinstance(v, int) and not isinstance(v, bool) else \
            f"instead found type '{type(v).__name__}'"
    if isinstance(t, FloatType):
        return None if isinstance(v, (int, float)) and not isinstance(v, bool) else \
            f"instead found type '{type(v).__name__}'"
    if isinstance(t, BoolType):
        return None if isinstance(v, bool) else f"instead found type '{type(v).__name__}'"
    if isinstance(t, ClassType) and t.py_class is not None:
        return None if type(v) is t.py_class else \
            f"expected an object of class {t.py_class.__qualname__}, instead found type " \
            f"'{type(v).__name__}'"
    return None
