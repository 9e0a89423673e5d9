"""Python ``enum.Enum`` classes in script (TorchScript's Enum support).

An Enum class is a script type: ``ClassType('Enum<module.Qualname>')``. Its members are
compile-time constants (``Color.RED`` is a ``prim::Constant`` holding the member itself), values
of the type at run time are the Python members, so a scripted function takes and returns them as
they are. ``x.name`` / ``x.value`` fold for a constant and are ``prim::enum_name`` /
``prim::enum_value`` otherwise; ``==`` / ``!=`` / ``is`` compare members as Python does;
``for c in Color`` iterates a constant list of the members in definition order; ``isinstance``
tests the class (statically, or at run time for an ``Any`` / ``Union`` value).

The member values must all have one type among int, float, str (as TorchScript requires);
``.value`` of another Enum is refused where it is used.
"""

from __future__ import annotations

import enum

from graphtorch.ir import types as T

_VALUE_TYPES = (T.INT, T.FLOAT, T.STR)
_CLASSES: dict[str, type] = {}     # type name -> the Enum class (for .value's type, iteration)


def is_enum_class(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, enum.Enum)


def is_enum_member(obj) -> bool:
    return isinstance(obj, enum.Enum)


def enum_type(cls: type) -> T.ClassType:
    """The script type of the Enum class ``cls``."""
    name = f"Enum<{cls.__module__}.{cls.__qualname__}>"
    _CLASSES[name] = cls
    return T.ClassType(name)


def enum_class(t: T.Type) -> type | None:
    """The Enum class of an Enum script type, else None."""
    return _CLASSES.get(t.name) if isinstance(t, T.ClassType) else None


def members(cls: type) -> list:
    """The members in definition order (aliases left out, as iteration in Python does)."""
    return list(cls)


def value_type(cls: type) -> tuple[T.Type | None, str]:
    """The type of ``cls``'s member values, or None and why it is not a script type."""
    types = []
    for m in members(cls):
        t = T.type_of_value(m.value)
        if t == T.BOOL or t not in _VALUE_TYPES:
            what = type(m.value).__name__
            return None, f"{cls.__qualname__}.{m.name} has a value of type {what}"
        if t not in types:
            types.append(t)
    if len(types) > 1:
        return None, f"the values of {cls.__qualname__} have different types " \
                     f"({', '.join(map(str, types))})"
    return (types[0] if types else T.INT), ""
