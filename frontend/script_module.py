"""Compiled modules and functions: what ``jit.trace`` and ``jit.script`` return.

A :class:`ScriptModule` mirrors TorchScript's RecursiveScriptModule: it is an ``nn.Module`` whose
parameters and buffers ARE the original module's tensors, whose submodules are ScriptModules (or
plain modules kept for eager fallback), and which holds one IR graph per compiled method, each
taking ``self`` as its first input. Calling it runs the executor (runtime/executor.py).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict

from graphtorch.autograd import grad_mode
from graphtorch.errors import GraphError
from graphtorch.nn.module import Module


class ScriptMethod:
    """One compiled method: a graph whose first input is ``self``."""

    def __init__(self, owner: ScriptModule, name: str, graph, arg_names: list[str] | None = None):
        self.owner = owner
        self.name = name
        self.graph = graph
        self.arg_names = arg_names or [v.name for v in graph.block.inputs[1:]]

    def __call__(self, *args, **kwargs):
        from graphtorch.runtime.executor import call_method

        prev = grad_mode.STATE.enabled
        try:
            out = call_method(self.owner, self.name, args, kwargs)
        except BaseException:
            grad_mode.STATE.enabled = prev  # a script 'with no_grad()' body raised (with_stmt.py)
            raise
        return checked_outputs(self.owner, self.graph, out, self.name)

    @property
    def code(self) -> str:
        from graphtorch.ir.codeprinter import python_code

        return python_code(self.graph, self.name)

    @property
    def schema(self) -> str:
        ins = ", ".join(f"{v.name} : {v.type}" for v in self.graph.block.inputs[1:])
        outs = ", ".join(str(v.type) for v in self.graph.block.outputs)
        return f"{self.name}({ins}) -> ({outs})"

    def __repr__(self) -> str:
        return f"<ScriptMethod {self.owner._gt_type}.{self.name}>"


class ScriptFunction:
    """A compiled free function (``@graphtorch.jit.script`` on a def, or a traced function)."""

    def __init__(self, qualified_name: str, graph, fn=None, register: bool = True):
        self.qualified_name = qualified_name
        self.name = qualified_name.rsplit(".", 1)[-1]
        self.graph = graph
        self._fn = fn
        self.__name__ = self.name
        self.__doc__ = getattr(fn, "__doc__", None)
        if register:    # NOTE: only names compiled here; loaded functions stay in their archive
            FUNCTIONS[qualified_name] = self

    def __call__(self, *args, **kwargs):
        from graphtorch.runtime.executor import call_function

        prev = grad_mode.STATE.enabled
        try:
            out = call_function(self, args, kwargs)
        except BaseException:
            grad_mode.STATE.enabled = prev  # a script 'with no_grad()' body raised (with_stmt.py)
            raise
        return checked_outputs(self, self.graph, out, self.name)

    @property
    def code(self) -> str:
        from graphtorch.ir.codeprinter import python_code

        return python_code(self.graph, self.name)

    @property
    def inlined_graph(self):
        from graphtorch.runtime.executor import prepared_function_graph

        return prepared_function_graph(self)

    def save(self, path) -> None:
        from graphtorch.jit import save

        save(self, path)

    def __repr__(self) -> str:
        return f"<graphtorch.jit.ScriptFunction {self.qualified_name}>"


def checked_outputs(owner, graph, out, what: str):
    """``out``, after checking it against the types ``graph`` declares for its outputs when
    ``owner`` was loaded from an archive (``_gt_loaded``): a loaded model never returns a
    value of another type than its graph says, silently."""
    if not owner.__dict__.get("_gt_loaded"):
        return out
    from graphtorch.runtime.executor import type_mismatch  # NOTE: runtime imports this module

    outs = graph.outputs
    values = [out] if len(outs) == 1 else list(out) if isinstance(out, tuple) else None
    if values is None or len(values) != len(outs):
        raise GraphError(f"{what} of a loaded model returned {type(out).__name__}, but its "
                         f"graph declares {len(outs)} output(s)")
    for i, (v, o) in enumerate(zip(values, outs)):
        problem = type_mismatch(v, o.type)
        if problem:
            raise GraphError(f"{what} of a loaded model: output {i} is declared {o.type} by "
                             f"its graph, but {problem}")
    return out


def qualified_type_name(cls) -> str:
    """The IR class name of a module class: ``__torch__.<module>.<qualname>``.

    ``__main__`` is dropped (``__torch__.MyCell``, as TorchScript prints it) and graphtorch's own
    layers read ``__torch__.nn.Linear``.
    """
    module = cls.__module__
    qual = cls.__qualname__.replace("<locals>.", "")
    if module == "__main__":
        return f"__torch__.{qual}"
    if module.startswith("graphtorch.nn"):
        return f"__torch__.nn.{qual}"
    return f"__torch__.{module}.{qual}"


# The live ScriptFunctions compiled in this process, by qualified name. It only keeps names
# unique (two closures of one factory get distinct names); calls never resolve through it: each
# graph holds its callees in ``graph.functions`` (its compilation unit). Weak values: a function
# nobody references any more leaves the table, so re-scripting does not grow it without bound.
FUNCTIONS: weakref.WeakValueDictionary[str, ScriptFunction] = weakref.WeakValueDictionary()


def bind_function(graph, fn: ScriptFunction) -> None:
    """Make ``prim::CallFunction[name=fn.qualified_name]`` in ``graph`` call ``fn``."""
    bound = graph.functions.get(fn.qualified_name)
    if bound is not None and bound is not fn:
        raise GraphError(f"two different functions are named {fn.qualified_name!r} in one "
                         f"compilation unit")
    graph.functions[fn.qualified_name] = fn


def resolve_function(graph, name: str) -> ScriptFunction:
    """The function ``prim::CallFunction[name=name]`` calls in ``graph`` (its own unit only)."""
    fn = graph.functions.get(name) if isinstance(name, str) else None
    if fn is None:
        raise GraphError(f"prim::CallFunction: no function named {name!r} in this graph's "
                         f"compilation unit")
    return fn


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


_SLOTS = ("_parameters", "_buffers", "_modules")


def module_member(obj, name):
    """``obj.<name>`` for what ``prim::GetAttr`` may read: a declared parameter, buffer,
    submodule, constant attribute of a module, or ``training``. Never a dunder, a method or any
    other Python attribute: a graph cannot walk from a module into Python objects."""
    if not isinstance(obj, Module) or not isinstance(name, str) or _is_dunder(name):
        raise GraphError(f"prim::GetAttr: cannot read {name!r} of a "
                         f"{type(obj).__name__} (only declared module members)")
    d = obj.__dict__
    consts = d.get("_gt_constants")
    if consts is not None and name in consts:
        return consts[name]
    for slots in _SLOTS:
        table = d.get(slots)
        if table is not None and name in table:
            return table[name]
    if name == "training":
        return bool(obj.training)
    raise GraphError(f"prim::GetAttr: {type(obj).__name__} has no parameter, buffer, "
                     f"submodule or attribute {name!r}")


def module_method(obj, name):
    """What ``prim::CallMethod[name=...]`` calls on ``obj``: a compiled method of a
    ScriptModule, else (an eager-fallback submodule compiled in this process) a method its
    class defines. Never a dunder (``__call__``, ``__init__`` ...) nor a non-module object."""
    if not isinstance(obj, Module) or not isinstance(name, str) or _is_dunder(name):
        raise GraphError(f"prim::CallMethod: cannot call {name!r} on a {type(obj).__name__} "
                         f"(only methods of modules)")
    methods = obj.__dict__.get("_gt_methods")
    if methods is not None:
        if name in methods:
            return methods[name]
        raise GraphError(f"prim::CallMethod: {obj._gt_original_name} has no compiled method "
                         f"{name!r}")
    if not callable(getattr(type(obj), name, None)):
        raise GraphError(f"prim::CallMethod: {type(obj).__name__} has no method {name!r}")
    return getattr(obj, name)


class _ScriptModuleMeta(type):
    """Compiles a user subclass of ScriptModule (the legacy ``@script_method`` API) once its
    ``__init__`` has run (frontend/script/legacy.py)."""

    def __call__(cls, *args, **kwargs):
        obj = super().__call__(*args, **kwargs)
        if cls.__dict__.get("_gt_legacy", getattr(cls, "_gt_legacy", False)):
            from graphtorch.frontend.script.legacy import finish_legacy_module

            finish_legacy_module(obj)
        return obj


class ScriptModule(Module, metaclass=_ScriptModuleMeta):
    """A module compiled to graphs (traced or scripted); subclasses name the flavour.

    A user class deriving from it (``class M(graphtorch.jit.ScriptModule)`` with
    ``@graphtorch.jit.script_method`` methods) is compiled when its constructor returns."""

    _gt_legacy = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._gt_legacy = cls.__module__ != __name__

    def __init__(self, type_name: str | None = None, original_name: str | None = None):
        if type_name is None:       # a user subclass: named after its class
            type_name = qualified_type_name(type(self))
            original_name = type(self).__name__
        super().__init__()
        object.__setattr__(self, "_gt_type", type_name)
        object.__setattr__(self, "_gt_original_name",
                           original_name or type_name.rsplit(".", 1)[-1])
        object.__setattr__(self, "_gt_methods", OrderedDict())
        object.__setattr__(self, "_gt_constants", OrderedDict())
        object.__setattr__(self, "_gt_cache", {})

    # -- building -------------------------------------------------------------------------
    def _add_method(self, name: str, graph, arg_names=None) -> ScriptMethod:
        m = ScriptMethod(self, name, graph, arg_names)
        self._gt_methods[name] = m
        self._gt_cache.clear()
        return m

    def _set_constant(self, name: str, value) -> None:
        self._gt_constants[name] = value

    def __getattr__(self, name: str):
        methods = self.__dict__.get("_gt_methods")
        if methods is not None and name in methods:
            return methods[name]
        consts = self.__dict__.get("_gt_constants")
        if consts is not None and name in consts:
            return consts[name]
        return super().__getattr__(name)

    def __setattr__(self, name: str, value) -> None:
        consts = self.__dict__.get("_gt_constants")
        if consts is not None and name in consts:
            consts[name] = value
            self._gt_cache.clear()
            return
        super().__setattr__(name, value)

    # -- TorchScript's inspection API -----------------------------------------------------------
    @property
    def original_name(self) -> str:
        return self._gt_original_name

    @property
    def graph(self):
        return self._method("forward").graph

    @property
    def code(self) -> str:
        return self._method("forward").code

    @property
    def inlined_graph(self):
        from graphtorch.runtime.executor import prepared_graph

        return prepared_graph(self, "forward").graph

    def _method(self, name: str) -> ScriptMethod:
        try:
            return self._gt_methods[name]
        except KeyError:
            raise GraphError(f"{self._gt_original_name} has no compiled method {name!r}; "
                             f"compiled: {sorted(self._gt_methods)}") from None

    def forward(self, *args, **kwargs):
        from graphtorch.runtime.executor import call_method

        out = call_method(self, "forward", args, kwargs)
        return checked_outputs(self, self._method("forward").graph, out, "forward")

    def save(self, path) -> None:
        from graphtorch.jit import save

        save(self, path)

    def extra_repr(self) -> str:
        return f"original_name={self._gt_original_name}"

    def __repr__(self) -> str:
        children = list(self._modules.items())
        if not children:
            return f"{self._gt_original_name}(original_name={self._gt_original_name})"
        lines = [f"{self._gt_original_name}(", f"  original_name={self._gt_original_name}"]
        for name, mod in children:
            sub = repr(mod).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        lines.append(")")
        return "\n".join(lines)


class TracedModule(ScriptModule):
    """What ``graphtorch.jit.trace`` returns for a module."""


class RecursiveScriptModule(ScriptModule):
    """What ``graphtorch.jit.script`` returns for a module."""


def share_state(dst: Module, src: Module) -> None:
    """Make ``dst`` hold ``src``'s parameters and buffers (the very same tensors) and mode."""
    for name, p in src._parameters.items():
        dst._parameters[name] = p
    for name, b in src._buffers.items():
        dst._buffers[name] = b
    non_persistent = getattr(src, "_non_persistent_buffers_set", None)
    if non_persistent is not None and hasattr(dst, "_non_persistent_buffers_set"):
        dst._non_persistent_buffers_set.update(non_persistent)
    object.__setattr__(dst, "training", src.training)
