"""The compilation unit: parses sources once, compiles functions on demand and modules
recursively, and names their IR types."""

from __future__ import annotations

import builtins
import inspect
import types

from graphtorch.errors import ScriptError
from graphtorch.frontend.script import overloads
from graphtorch.frontend.script import syntax as S
from graphtorch.frontend.script.annotations import resolve, signature_types
from graphtorch.frontend.script.build_ast import build
from graphtorch.frontend.script.compiler import FunctionCompiler
from graphtorch.frontend.script.defaults import parameter_defaults
from graphtorch.frontend.script.library import script_forward
from graphtorch.frontend.script.modules import MutableAttribute
from graphtorch.frontend.script.parser import parse_module
from graphtorch.frontend.script.source import get_source
from graphtorch.frontend.script_module import (
    FUNCTIONS,
    RecursiveScriptModule,
    ScriptFunction,
    ScriptModule,
    qualified_type_name,
    share_state,
)
from graphtorch.ir import types as T
from graphtorch.ir.graph import Graph
from graphtorch.nn.container import ModuleDict, ModuleList
from graphtorch.nn.module import Module
from graphtorch.passes.dce import eliminate_dead_code
from graphtorch.passes.merge_ifs import merge_adjacent_ifs


def _unwrap(fn):
    fn = getattr(fn, "_gt_script_if_tracing", fn)   # jit.script_if_tracing: the function itself
    return getattr(fn, "__func__", fn)


def parse_function(fn) -> tuple:
    """(SourceInfo, FunctionDef) of a Python function."""
    fn = inspect.unwrap(_unwrap(fn))
    if (parsed := getattr(fn, "_gt_parsed", None)) is not None:   # compilation_unit.py
        return parsed
    src = get_source(fn)
    defs = build(src, parse_module(src))
    for d in defs:
        if isinstance(d, S.FunctionDef):
            return src, d
    raise src.error(f"no function definition found in the source of {fn.__qualname__}", None)


class ScriptUnit:
    def __init__(self):
        self.functions: dict[object, object] = {}       # python fn -> ScriptFunction
        self.in_progress: set = set()
        self.modules: dict[int, object] = {}            # id(module) -> ScriptModule
        # id(module) -> its plain attributes that scripted code assigns (run-time attributes)
        self.assigned_attributes: dict[int, set[str]] = {}
        self._module_depth = 0

    # --- functions --------------------------------------------------------------------------------
    def function(self, fn, caller_src=None, pos=None, param_types: dict | None = None):
        """The ScriptFunction of ``fn``; ``param_types`` types its unannotated parameters (a
        specialization of graphtorch's own Python functions to the types of one call)."""

        if isinstance(fn, ScriptFunction):
            return fn
        fn = _unwrap(fn)
        key = fn if not param_types else (fn, tuple(sorted(param_types.items())))
        if key in self.functions:
            return self.functions[key]
        if key in self.in_progress:
            err = caller_src.error if caller_src is not None else None
            msg = f"recursive call of {fn.__qualname__} is not supported in script"
            raise err(msg, pos) if err else ScriptError(msg)
        self.in_progress.add(key)
        try:
            src, fdef = parse_function(fn)
            g = Graph()
            FunctionCompiler(self, src, fdef, fn, g, param_types=param_types).compile()
            merge_adjacent_ifs(g)
            eliminate_dead_code(g)
        finally:
            self.in_progress.discard(key)
        qual = _unique_name(f"__torch__.{fn.__module__}.{fn.__qualname__}"
                            .replace("<locals>.", ""), fn, specialized=bool(param_types))
        sf = ScriptFunction(qual, g, fn)
        sf.arg_defaults = parameter_defaults(fn)
        g.defaults = _graph_defaults(g, sf.arg_defaults)
        if param_types:   # NOTE: a default of another type than the specialization's is not one
            types = {v.name: v.type for v in g.inputs}
            g.defaults = {k: d for k, d in g.defaults.items()
                          if T.is_subtype(T.type_of_value(d), types[k])}
        self.functions[key] = sf
        return sf

    # --- script classes ---------------------------------------------------------------------------
    def class_function(self, cls: type, name: str, fn, self_type: T.ClassType,
                       bound_class: bool = False) -> ScriptFunction:
        """Method ``name`` (Python function ``fn``) of script class ``cls`` compiled into a
        function whose first input is the object (``self_type``); a classmethod
        (``bound_class``) has no such input: its ``cls`` is the class itself. ``__exit__``'s
        unannotated parameters take ``Any`` (script passes None for each)."""
        key = (cls, name, bound_class)
        if key in self.in_progress:
            raise ScriptError(f"recursive method {cls.__qualname__}.{name} is not supported "
                              f"in script")
        self.in_progress.add(key)
        try:
            src, fdef = parse_function(fn)
            if not fdef.params:
                raise src.error(f"method {cls.__qualname__}.{name} has no 'self' parameter",
                                fdef.pos, "a method of a script class takes self first; mark "
                                "it @staticmethod otherwise")
            types = {} if bound_class else {fdef.params[0].name: self_type}
            if name == "__exit__":
                types.update({p.name: T.ANY for p in fdef.params[1:]})
            g = Graph()
            FunctionCompiler(self, src, fdef, fn, g, qualname=f"{cls.__qualname__}.{name}",
                             param_types=types, self_class=cls,
                             bound_class=bound_class).compile()
            merge_adjacent_ifs(g)
            eliminate_dead_code(g)
        finally:
            self.in_progress.discard(key)
        sf = ScriptFunction(_unique_name(f"{self_type.name}.{name}", fn), g, fn)
        sf.arg_defaults = parameter_defaults(fn)
        g.defaults = _graph_defaults(g, sf.arg_defaults)
        return sf

    # --- modules ----------------------------------------------------------------------------------
    def module_type(self, module) -> T.Type:
        if isinstance(module, ScriptModule):
            return T.ClassType(module._gt_type)

        return T.ClassType(qualified_type_name(type(module)))

    def script_module(self, module):
        """The compiled module; the outermost call compiles again when a plain attribute turns
        out to be assigned (:class:`MutableAttribute`), at most once per such attribute."""
        if self._module_depth or isinstance(module, ScriptModule):
            return self._script_module(module)
        while True:
            self._module_depth += 1
            try:
                return self._script_module(module)
            except MutableAttribute:
                self.modules.clear()   # NOTE: the set of assigned attributes only grows
            finally:
                self._module_depth -= 1

    def _script_module(self, module):
        if isinstance(module, ScriptModule):
            return module
        if id(module) in self.modules:
            return self.modules[id(module)]
        sm = RecursiveScriptModule(str(self.module_type(module)), type(module).__name__)
        share_state(sm, module)
        self.modules[id(module)] = sm
        object.__setattr__(sm, "_gt_original", module)
        for name, sub in module._modules.items():
            sm._modules[name] = self.script_module(sub) if sub is not None else None
        if type(module).forward is not Module.forward and _has_forward(module) and \
                not overloads.overloaded_method(type(module), "forward"):   # compiled per call
            self.compile_method(module, "forward")
        for name in exported_methods(type(module)):
            self.compile_method(module, name)
        return sm

    def compile_method(self, module, name: str, fn=None):
        sm = self.script_module(module)
        if name in sm._gt_methods:
            return sm._gt_methods[name]
        own = module.__dict__.get(name)
        if fn is None and isinstance(own, types.MethodType) and own.__self__ is module:
            fn = own.__func__   # `self.forward = types.MethodType(f, self)` in __init__
        if fn is None and name == "forward":
            fn = script_forward(module)
        fn = fn if fn is not None else getattr(type(module), name)
        if getattr(fn, "_gt_ignore", False) or getattr(fn, "_gt_unused", False):
            raise ScriptError(f"{type(module).__name__}.{name} is marked ignore/unused and "
                              f"cannot be a compiled method")
        key = (id(module), name)
        if key in self.in_progress:
            raise ScriptError(f"recursive method {type(module).__name__}.{name} is not "
                              f"supported in script")
        self.in_progress.add(key)
        try:
            src, fdef = parse_function(fn)
            g = Graph()
            c = FunctionCompiler(self, src, fdef, fn, g, self_module=module,
                                 qualname=f"{type(module).__name__}.{name}")
            c.compile()
            merge_adjacent_ifs(g)
            eliminate_dead_code(g)
        finally:
            self.in_progress.discard(key)
        g.defaults = _graph_defaults(g, parameter_defaults(fn))
        return sm._add_method(name, g, c.arg_names)

    def method_return_type(self, module, name: str, src, pos, fn=None) -> T.Type:
        if isinstance(module, ScriptModule):
            m = module._method(name)
            outs = m.graph.outputs
            return outs[0].type if len(outs) == 1 else T.TupleType(tuple(v.type for v in outs))
        own = module.__dict__.get(name)
        if fn is None and isinstance(own, types.MethodType) and own.__self__ is module:
            fn = own.__func__
        if fn is None:
            fn = getattr(type(module), name, None)
            if fn is None:
                raise src.error(f"module '{type(module).__name__}' has no method '{name}'", pos)
        if getattr(fn, "_gt_ignore", False):
            raise src.error(f"calling the @ignore method {name} through a module is not "
                            f"supported yet", pos, "make it a module-level @ignore function")
        m = self.compile_method(module, name, fn)
        return m.graph.outputs[0].type

    def interface_signature(self, cls, name: str, src, pos) -> tuple[list, T.Type]:
        """([(parameter name, type)], return type) of method ``name`` of the interface ``cls``
        (annotations or a ``# type:`` comment; an unannotated parameter is a Tensor)."""
        fn = vars(cls)[name]
        lookup = _globals_lookup(fn)
        isrc, fdef = parse_function(fn)
        sig, ret = signature_types(isrc, fdef, fn, lookup, True)
        params = [(p.name, sig[p.name] if p.name in sig else
                   resolve(p.annotation, lookup, isrc) if p.annotation is not None else T.TENSOR)
                  for p in fdef.params[1:]]
        if ret is None:
            if fdef.returns is None:
                raise src.error(f"the interface method {cls.__qualname__}.{name} declares no "
                                f"return type", pos, f"annotate it: def {name}(...) -> Tensor")
            ret = resolve(fdef.returns, lookup, isrc)
        return params, ret

    @staticmethod
    def declared_return_type(fn) -> T.Type | None:
        """The return type method ``fn`` declares (annotation or ``# type:`` comment), or
        None (none declared, or not one script knows): what an ``@unused`` call stands for."""
        lookup = _globals_lookup(fn)
        try:
            isrc, fdef = parse_function(fn)
            _, ret = signature_types(isrc, fdef, fn, lookup, True)
            if ret is None and fdef.returns is not None:
                ret = resolve(fdef.returns, lookup, isrc)
        except ScriptError:
            return None
        return ret

    @staticmethod
    def defining_class(cls, method_name: str):
        for klass in cls.__mro__:
            if method_name in klass.__dict__:
                return klass
        return cls


def _unique_name(qual: str, fn, specialized: bool = False) -> str:
    """``qual``, or ``qual__<n>`` when another Python function already holds that name (two
    closures made by one factory share a qualname; prim::CallFunction must tell them apart).
    A specialization (``specialized``) gets a name of its own: ``qual__s<n>``."""

    if specialized:
        n = 1
        while f"{qual}__s{n}" in FUNCTIONS:
            n += 1
        return f"{qual}__s{n}"
    name, n = qual, 1
    # NOTE: FUNCTIONS holds weak references: read each entry once (it may vanish in between)
    while getattr(FUNCTIONS.get(name), "_fn", fn) is not fn:
        name, n = f"{qual}__{n}", n + 1
    return name


def _has_forward(module) -> bool:
    """Containers have no forward, unless a subclass defines one."""

    if not isinstance(module, (ModuleList, ModuleDict)):
        return True
    return any("forward" in vars(k) for k in type(module).__mro__
               if k not in (ModuleList, ModuleDict) and issubclass(k, (ModuleList, ModuleDict)))


def _graph_defaults(graph, defaults: dict) -> dict:
    """The defaults of the graph's own inputs (the executor fills omitted arguments with them)."""
    names = {v.name for v in graph.inputs}
    return {k: v for k, v in defaults.items() if k in names}


def exported_methods(cls) -> list[str]:
    """The names of ``cls``'s ``@graphtorch.jit.export`` methods (its bases' too), in order."""
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name, attr in vars(klass).items():
            fn = attr.__func__ if isinstance(attr, (staticmethod, classmethod)) else attr
            if name != "forward" and getattr(fn, "_gt_export", False) and name not in names:
                names.append(name)
    return names


def _globals_lookup(fn):
    """Name -> object as ``fn``'s module globals, then the builtins, resolve it (KeyError)."""
    g = getattr(fn, "__globals__", {})

    def lookup(n):
        if n in g:
            return g[n]
        if hasattr(builtins, n):
            return getattr(builtins, n)
        raise KeyError(n)
    return lookup
