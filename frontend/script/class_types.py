"""Which Python classes are script classes, and their IR types (classes.py compiles them).

A script class is a plain user class (``object`` its only base) that scripted code constructs,
annotates with, or receives: TorchScript's ``@torch.jit.script`` classes, which it also compiles
on first use without the decorator. Its IR type is a :class:`~graphtorch.ir.types.ClassType`
named ``__torch__.<module>.<qualname>`` (made unique when two live classes share a qualname,
as classes defined in a function do) that carries the Python class itself.
"""

from __future__ import annotations

import enum
import weakref

from graphtorch.frontend.script.interfaces import is_interface
from graphtorch.frontend.script.named_tuples import named_tuple_fields
from graphtorch.ir import types as T
from graphtorch.nn.module import Module

# Modules whose classes are never script classes (the library's own types, Python's).
_FOREIGN = ("builtins", "typing", "collections", "enum", "abc", "numpy", "torch", "graphtorch",
            "dataclasses", "types", "functools")

_TYPES: weakref.WeakKeyDictionary[type, T.ClassType] = weakref.WeakKeyDictionary()
_NAMES: weakref.WeakValueDictionary[str, type] = weakref.WeakValueDictionary()


def is_script_class(obj) -> bool:
    """A user class script may compile: not a module, tuple, Enum, exception or interface, nor
    one of Python's or graphtorch's own classes."""
    if not isinstance(obj, type):
        return False
    if obj in _TYPES:
        return True
    mod = (getattr(obj, "__module__", "") or "").split(".")[0]
    if mod in _FOREIGN or issubclass(obj, (Module, BaseException, tuple, enum.Enum)):
        return False
    return not is_interface(obj) and named_tuple_fields(obj) is None and \
        type(obj) is type


def class_type(cls: type) -> T.ClassType:
    """The IR type of script class ``cls`` (one per class object)."""
    t = _TYPES.get(cls)
    if t is None:
        base = f"__torch__.{cls.__module__}.{cls.__qualname__}".replace("<locals>.", "")
        name, n = base, 1
        while _NAMES.get(name) not in (None, cls):
            name, n = f"{base}__{n}", n + 1
        _NAMES[name] = cls
        t = _TYPES[cls] = T.ClassType(name, cls)
    return t


def script_class_of(t: T.Type) -> type | None:
    """The Python class of a script-class type, else None (modules, interfaces, Enums)."""
    return t.py_class if isinstance(t, T.ClassType) else None
