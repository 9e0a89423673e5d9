"""``graphtorch.jit.interface``: a class that only declares method signatures (TorchScript's
module and class interfaces).

An interface is used as a type:

- a parameter annotation (``m: OneTwo``, ``ms: List[OneTwo]``): the value is any module (or
  object) with those methods; ``m.one(x, y)`` / ``m(x)`` becomes ``prim::CallMethod`` typed by
  the declared signature, dispatched at run time to the object's (compiled) method, and its
  result checked against the declared return type (``prim::checked_cast``). Calling a method the
  interface does not declare is refused while compiling.
- the class annotation of a submodule (``proxy: OneTwo`` in the module's class body): only the
  declared methods may be called on it, and the submodule must define them (checked while
  compiling). Replacing the submodule of a compiled module is refused (script_module.py).

The IR type is ``ClassType('Interface<module.Qualname>')``; graphs with interface-typed values
are not archived (``jit.save`` says so).
"""

from __future__ import annotations

import inspect
import sys

from graphtorch.errors import ScriptError
from graphtorch.ir import types as T
from graphtorch.nn.module import Module

_CLASSES: dict[str, type] = {}


def interface(cls: type) -> type:
    """Mark ``cls`` (a subclass of ``nn.Module`` or of ``object``) as an interface: its methods
    are signatures only (their bodies never run)."""
    if not isinstance(cls, type):
        raise ScriptError(f"graphtorch.jit.interface decorates a class, not "
                          f"{type(cls).__name__}")
    bases = [b for b in cls.__bases__ if b is not object]
    if bases and bases != [Module]:
        raise ScriptError(f"interface {cls.__qualname__} derives from "
                          f"{', '.join(b.__qualname__ for b in bases)}: interfaces do not support "
                          f"inheritance; derive it directly from nn.Module or object")
    methods = tuple(n for n, v in vars(cls).items()
                    if inspect.isfunction(v) and not (n.startswith("__") and n.endswith("__")))
    if not methods:
        raise ScriptError(f"interface {cls.__qualname__} declares no methods")
    cls._gt_interface = methods
    return cls


def is_interface(obj) -> bool:
    return isinstance(obj, type) and "_gt_interface" in vars(obj)


def interface_type(cls: type) -> T.ClassType:
    name = f"Interface<{cls.__module__}.{cls.__qualname__}>"
    _CLASSES[name] = cls
    return T.ClassType(name)


def interface_class(t: T.Type) -> type | None:
    return _CLASSES.get(t.name) if isinstance(t, T.ClassType) else None


def declared_methods(cls: type) -> tuple[str, ...]:
    return vars(cls)["_gt_interface"]


def missing_method_message(cls: type, name: str) -> tuple[str, str]:
    """The refusal (message, hint) for calling ``name``, which ``cls`` does not declare."""
    return (f"'{name}' is not a method of the interface {cls.__qualname__}",
            f"the interface declares: {', '.join(declared_methods(cls))}")


def annotated_interface(module_cls: type, attr: str) -> type | None:
    """The interface a module class annotates its attribute ``attr`` with (``proxy: OneTwo`` in
    the class body), else None. A string annotation is looked up in the class's module."""
    for klass in module_cls.__mro__:
        ann = vars(klass).get("__annotations__", {})
        if attr in ann:
            obj = ann[attr]
            if isinstance(obj, str):
                obj = getattr(sys.modules.get(klass.__module__), obj, None)
            return obj if is_interface(obj) else None
    return None
