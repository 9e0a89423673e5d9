"""The legacy TorchScript API: subclassing ``graphtorch.jit.ScriptModule``.

::

    class Decoder(graphtorch.jit.ScriptModule):
        __constants__ = ["n_layers"]

        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder                  # a traced or plain module
            self.n_layers = 2
            self.scale = graphtorch.jit.Attribute(0.5, float)

        @graphtorch.jit.script_method
        def forward(self, x: Tensor, steps: int) -> Tensor:
            ...

When the constructor returns, the instance is compiled in place (the metaclass of
:class:`~graphtorch.frontend.script_module.ScriptModule` calls :func:`finish_legacy_module`): plain
submodules are scripted, traced ones kept, ``Attribute`` values unwrapped, and every
``@script_method`` becomes a compiled method of the instance itself, so it calls, saves and loads
like the result of ``graphtorch.jit.script``. Plain Python attributes of scalar types
(``__constants__`` or not) are compile-time constants of the methods.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from graphtorch.errors import GraphError, ScriptError


class Attribute(NamedTuple):
    """``graphtorch.jit.Attribute(value, type)``: an attribute with a declared type (its value
    is used; the declared type is checked against it where it is a plain Python type)."""

    value: Any
    type: Any


class ScriptMethodStub:
    """What ``@script_method`` leaves on the class: the Python function for the compiler, the
    compiled method on a finished instance."""

    def __init__(self, fn):
        self.fn = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        methods = obj.__dict__.get("_gt_methods")
        if methods is not None and self.fn.__name__ in methods:
            return methods[self.fn.__name__]
        return self.fn.__get__(obj, owner)


def script_method(fn):
    """Mark a method of a ``graphtorch.jit.ScriptModule`` subclass to be compiled."""
    if isinstance(fn, ScriptMethodStub):
        return fn
    if not callable(fn):
        raise ScriptError(f"@script_method decorates a function, not a {type(fn).__name__}")
    return ScriptMethodStub(fn)


def _stubs(cls) -> list[tuple[str, ScriptMethodStub]]:
    seen: dict[str, ScriptMethodStub] = {}
    for klass in reversed(cls.__mro__):
        for name, v in klass.__dict__.items():
            if isinstance(v, ScriptMethodStub):
                seen[name] = v
    return list(seen.items())


def _check_attribute(name: str, attr: Attribute) -> None:
    t = attr.type
    if isinstance(t, type) and t in (int, float, bool, str) and not isinstance(attr.value, t):
        raise ScriptError(f"Attribute '{name}' is declared {t.__name__} but its value is a "
                          f"{type(attr.value).__name__}")


def finish_legacy_module(obj) -> None:
    """Compile a constructed ``ScriptModule`` subclass instance in place."""
    # NOTE: the unit imports the compiler, which imports script_module; imported on use
    from graphtorch.frontend.script.unit import ScriptUnit

    stubs = _stubs(type(obj))
    if obj.__dict__.get("_gt_legacy_done") or not stubs:
        return      # already compiled, or a subclass with no script methods: left alone
    object.__setattr__(obj, "_gt_legacy_done", True)
    for name, value in list(obj.__dict__.items()):
        if isinstance(value, Attribute):
            _check_attribute(name, value)
            obj.__dict__[name] = value.value
    unit = ScriptUnit()
    for name, sub in list(obj._modules.items()):
        if sub is not None:
            obj._modules[name] = unit.script_module(sub)
    pending = [name for name, _ in stubs if name != "forward"]
    pending += [name for name, _ in stubs if name == "forward"]
    fns = dict(stubs)
    # a method calling another needs the callee compiled first: retry until nothing changes
    while pending:
        failed, last_error = [], None
        for name in pending:
            try:
                unit.compile_method(obj, name, fns[name].fn)
            except (GraphError, ScriptError) as e:  # its callee is compiled later
                if "has no compiled method" not in str(e):
                    raise
                failed.append(name)
                last_error = e
        if len(failed) == len(pending):
            raise ScriptError(f"{type(obj).__name__}: the script methods {failed} call "
                              f"methods that are not @script_method ({last_error})",
                              hint="decorate every method the script methods call with "
                                   "@graphtorch.jit.script_method")
        pending = failed
