"""``typing.NamedTuple`` classes in script.

A NamedTuple class is the tuple of its fields' declared types with the field names and the class
attached: :class:`NamedTupleType`, a :class:`TupleType` (so everything a tuple does works, and
its IR text is the tuple's), that keeps its names where two paths merge (every value of the class
has exactly the declared types). ``p.a`` is ``prim::TupleIndex``; in the graph the value is a
plain tuple, and a scripted function's result is rebuilt into the class
(:func:`result_builder`), as TorchScript returns NamedTuple instances.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field

from graphtorch.ir import types as T
from graphtorch.tensor import Tensor


@dataclass(frozen=True)
class NamedTupleType(T.TupleType):
    """A tuple type with field names and the ``typing.NamedTuple`` class it stands for."""

    names: tuple[str, ...] = ()
    qualname: str = ""
    py_class: type | None = field(default=None, compare=False, hash=False)

    def field_index(self, name: str) -> int | None:
        return self.names.index(name) if name in self.names else None


def named_tuple_fields(obj) -> list[str] | None:
    """The field names of a ``typing.NamedTuple`` class (annotated fields) or of a
    ``collections.namedtuple`` (no annotations: every field a Tensor, as in TorchScript), else
    None."""
    if isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields") and \
            set(getattr(obj, "__annotations__", None) or obj._fields) == set(obj._fields):
        return list(obj._fields)
    return None


def named_tuple_type(cls: type, field_type) -> NamedTupleType | None:
    """The type of NamedTuple class ``cls``; ``field_type`` maps a field's annotation to its
    IR type (None: unsupported, and so is the class)."""
    hints = typing.get_type_hints(cls)
    elems = [field_type(hints.get(f, Tensor)) for f in cls._fields]
    if any(e is None for e in elems):
        return None
    return NamedTupleType(tuple(elems), tuple(cls._fields),
                          f"{cls.__module__}.{cls.__qualname__}", cls)


def fields_of(t: T.Type) -> tuple[str, ...] | None:
    return t.names if isinstance(t, NamedTupleType) else None


def _has_named(t: T.Type) -> bool:
    if isinstance(t, NamedTupleType):
        return t.py_class is not None
    if isinstance(t, T.TupleType):
        return any(_has_named(e) for e in t.elems)
    if isinstance(t, (T.OptionalType, T.ListType)):
        return _has_named(t.elem)
    if isinstance(t, T.DictType):
        return _has_named(t.value)
    return False


def _rebuild(value, t: T.Type):
    if value is None:
        return None
    if isinstance(t, T.OptionalType):
        return _rebuild(value, t.elem)
    if isinstance(t, T.TupleType) and isinstance(value, tuple):
        items = [_rebuild(v, e) for v, e in zip(value, t.elems)]
        cls = t.py_class if isinstance(t, NamedTupleType) else None
        if cls is not None:
            same = type(value) is cls and all(a is b for a, b in zip(items, value))
            return value if same else cls(*items)
        return value if all(a is b for a, b in zip(items, value)) else tuple(items)
    # NOTE: lists and dicts are updated in place: the caller may hold the same object
    if isinstance(t, T.ListType) and isinstance(value, list):
        for i, v in enumerate(value):
            value[i] = _rebuild(v, t.elem)
    elif isinstance(t, T.DictType) and isinstance(value, dict):
        for k, v in value.items():
            value[k] = _rebuild(v, t.value)
    return value


def result_builder(t: T.Type):
    """A function turning a graph result of type ``t`` into what Python returns (its
    NamedTuples rebuilt), or None when ``t`` holds none."""
    if not _has_named(t):
        return None

    def build(value):
        return _rebuild(value, t)

    return build
