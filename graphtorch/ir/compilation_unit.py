"""The data of compiled code that every layer above the IR reads.

- :class:`CompiledFunction` / :class:`CompiledMethod`: a graph with its name (and, for a method,
  the module it belongs to). The callable classes ``ScriptFunction`` / ``ScriptMethod``
  (frontend/script_module.py) derive from them and add the call through the executor; the
  interpreter (runtime/interpreter.py), the inline pass (passes/inline.py) and the archive only
  need the data, so they depend on this module, not on the classes above them.
- The function table: each graph's compilation unit (``graph.functions``, name -> function),
  :func:`bind_function` / :func:`resolve_function`, and :data:`FUNCTIONS` (the live compiled
  functions of this process, keeping qualified names unique).
- The member schema of a compiled module: what ``prim::GetAttr`` may read
  (:func:`module_member`), what ``prim::CallMethod`` may call (:func:`module_method`,
  :func:`method_graph`), and the IR class name of a module class (:func:`qualified_type_name`).
  A compiled module (``ScriptModule``) declares its compiled methods in ``_gt_methods`` and its
  constant attributes in ``_gt_constants``; a plain ``nn.Module`` has neither.

Not loaded by ``import graphtorch.ir`` (it imports ``nn.Module``, one layer below).
"""

from __future__ import annotations

import weakref

from graphtorch.errors import GraphError
from graphtorch.ir.codeprinter import python_code
from graphtorch.ir.graph import Graph
from graphtorch.nn.module import Module


class CompiledFunction:
    """A compiled free function: its graph and qualified name (``__torch__.<module>.<name>``)."""

    def __init__(self, qualified_name: str, graph: Graph):
        self.qualified_name = qualified_name
        self.name = qualified_name.rsplit(".", 1)[-1]
        # The executor's guarded call of the latest signature (runtime/call_guard.py), dropped
        # when the graph is replaced.
        self._fast_call = None
        self._graph = graph
        # The Python defaults of its parameters, by name, as written (the script compiler sets
        # them; a call from script fills missing arguments from them). graph.defaults keeps
        # those whose type fits the graph's (a specialized graph drops the others).
        self.arg_defaults: dict[str, object] = {}

    @property
    def graph(self) -> Graph:
        return self._graph

    @graph.setter
    def graph(self, graph: Graph) -> None:
        self._graph = graph
        self._fast_call = None

    @property
    def code(self) -> str:
        return python_code(self.graph, self.name)


class CompiledMethod:
    """One compiled method of ``owner``: a graph whose first input is ``self``."""

    def __init__(self, owner: Module, name: str, graph: Graph,
                 arg_names: list[str] | None = None):
        self.owner = owner
        self.name = name
        self.graph = graph
        self.arg_names = arg_names or [v.name for v in graph.block.inputs[1:]]

    @property
    def code(self) -> str:
        return python_code(self.graph, self.name)

    @property
    def schema(self) -> str:
        ins = ", ".join(f"{v.name} : {v.type}" for v in self.graph.block.inputs[1:])
        outs = ", ".join(str(v.type) for v in self.graph.block.outputs)
        return f"{self.name}({ins}) -> ({outs})"


# The live compiled functions of this process, by qualified name. It only keeps names unique (two
# closures of one factory get distinct names); calls never resolve through it: each graph holds
# its callees in ``graph.functions`` (its compilation unit). Weak values: a function nobody
# references any more leaves the table, so re-scripting does not grow it without bound.
FUNCTIONS: weakref.WeakValueDictionary[str, CompiledFunction] = weakref.WeakValueDictionary()


def bind_function(graph: Graph, fn: CompiledFunction) -> None:
    """Make ``prim::CallFunction[name=fn.qualified_name]`` in ``graph`` call ``fn``."""
    bound = graph.functions.get(fn.qualified_name)
    if bound is not None and bound is not fn:
        raise GraphError(f"two different functions are named {fn.qualified_name!r} in one "
                         f"compilation unit")
    graph.functions[fn.qualified_name] = fn


def resolve_function(graph: Graph, name: str) -> CompiledFunction:
    """The function ``prim::CallFunction[name=name]`` calls in ``graph`` (its own unit only)."""
    fn = graph.functions.get(name) if isinstance(name, str) else None
    if fn is None:
        raise GraphError(f"prim::CallFunction: no function named {name!r} in this graph's "
                         f"compilation unit")
    return fn


def qualified_type_name(cls: type) -> str:
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


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


_SLOTS = ("_parameters", "_buffers", "_modules")


def module_member(obj: object, name: str) -> object:
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


def method_graph(obj: object, name: str) -> Graph | None:
    """The graph of ``obj``'s compiled method ``name``; None when ``obj`` is no compiled module
    or has no such compiled method."""
    methods = obj.__dict__.get("_gt_methods") if isinstance(obj, Module) else None
    method = methods.get(name) if methods is not None and isinstance(name, str) else None
    return method.graph if method is not None else None


def module_method(obj: object, name: str):
    """What ``prim::CallMethod[name=...]`` calls on ``obj``: a compiled method of a
    compiled module, else (an eager-fallback submodule compiled in this process) a method its
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
