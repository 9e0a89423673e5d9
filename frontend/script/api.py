"""What ``graphtorch.jit`` calls: script a function or a module, mark functions ignore/unused."""

from __future__ import annotations

from graphtorch.errors import ScriptError
from graphtorch.frontend.script.class_types import is_script_class
from graphtorch.frontend.script.source import Pos, get_source
from graphtorch.frontend.script.unit import ScriptUnit
from graphtorch.frontend.script_module import ScriptFunction, ScriptModule
from graphtorch.nn.module import Module


def script(obj):
    """``graphtorch.jit.script``: a module becomes a RecursiveScriptModule, a function a
    ScriptFunction; already compiled objects are returned unchanged, and so are a user class
    (a script class, compiled when scripted code first uses it) and its objects."""

    if isinstance(obj, (ScriptModule, ScriptFunction)):
        return obj
    if isinstance(obj, Module):
        return script_module(obj)
    if is_script_class(obj):    # compiled on first use (classes.py); Python keeps the class
        obj._gt_script_class = True
        return obj
    if is_script_class(type(obj)):   # an object of a script class is already a script value
        return obj
    if isinstance(obj, type):
        raise _class_refusal(obj, issubclass(obj, Module))
    if not callable(obj):
        raise ScriptError(f"cannot script a {type(obj).__name__} object: script takes a "
                          f"function or an nn.Module")
    return script_function(obj)


def script_function(fn):
    """Compile a Python function to a ScriptFunction (its graph is typed IR)."""
    try:
        return ScriptUnit().function(fn)
    except RecursionError:
        raise _too_deep(fn) from None


def script_module(module):
    """Compile an nn.Module: forward, the methods it calls, submodules recursively."""
    try:
        return ScriptUnit().script_module(module)
    except RecursionError:
        raise _too_deep(type(module)) from None


def _class_refusal(cls: type, is_module: bool) -> ScriptError:
    """``script`` of a class: a module class wants an instance; other classes (TorchScript's
    script classes) are not supported. The caret points at the ``class`` line."""
    if is_module:
        message = f"cannot script the class {cls.__qualname__}: script an instance"
        hint = f"write graphtorch.jit.script({cls.__name__}(...))"
    else:
        message = (f"the class {cls.__qualname__} cannot be scripted: script classes are plain "
                   f"classes (object their only base, no metaclass), not exceptions, tuples "
                   f"or Enums")
        hint = ("derive the class from object only, or use an nn.Module, a typing.NamedTuple "
                "or an Enum; code that needs the class can stay Python in a "
                "@graphtorch.jit.ignore function")
    try:
        src = get_source(cls)
    except ScriptError:
        return ScriptError(message, hint=hint)
    for n, line in enumerate(src.text.splitlines(), 1):
        if line.lstrip().startswith("class "):
            return src.error(message, Pos(n, len(line) - len(line.lstrip()) + 1), hint)
    return ScriptError(message, hint=hint)


def _too_deep(obj) -> ScriptError:
    """Nesting beyond what the compiler's recursion allows is a refusal, never a crash."""

    src = get_source(obj)
    return ScriptError(f"{getattr(obj, '__qualname__', obj)} is nested too deeply to compile "
                       f"(statements or expressions inside each other)", src.filename,
                       src.first_line, 1, src.text.splitlines()[0] if src.text else None,
                       hint="split deeply nested code into helper functions or statements")


def ignore(fn=None, *, drop: bool = False):
    """Leave ``fn`` as Python: scripted callers run it eagerly through prim::PythonOp."""
    def mark(f):
        if isinstance(f, property):   # a property's getter and setter
            return property(mark(f.fget) if f.fget else None,
                            mark(f.fset) if f.fset else None, f.fdel, f.__doc__)
        f._gt_ignore = True
        f._gt_drop = drop
        return f

    return mark(fn) if fn is not None else mark


def unused(fn):
    """Do not compile ``fn``: a scripted call to it raises when reached (for a property, a
    scripted read of it)."""
    if isinstance(fn, property):
        return property(unused(fn.fget) if fn.fget else None,
                        unused(fn.fset) if fn.fset else None, fn.fdel, fn.__doc__)
    fn._gt_unused = True
    return fn
