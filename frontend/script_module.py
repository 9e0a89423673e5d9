"""Compiled modules and functions: what ``jit.trace`` and ``jit.script`` return.

A :class:`ScriptModule` mirrors TorchScript's RecursiveScriptModule: it is an ``nn.Module`` whose
parameters and buffers ARE the original module's tensors, whose submodules are ScriptModules (or
plain modules kept for eager fallback), and which holds one IR graph per compiled method, each
taking ``self`` as its first input. Calling it runs the executor (runtime/executor.py).
"""

from __future__ import annotations

import types
from collections import OrderedDict
from collections.abc import Callable

from graphtorch.autograd import grad_mode
from graphtorch.errors import GraphError, UnsupportedError
from graphtorch.ir.compilation_unit import (
    FUNCTIONS,
    CompiledFunction,
    CompiledMethod,
    qualified_type_name,
)
from graphtorch.ir.types import type_mismatch
from graphtorch.nn.module import Module
from graphtorch.runtime.caches import FORWARD_CALLS, invalidate
from graphtorch.runtime.call_guard import MISS
from graphtorch.runtime.executor import (
    Prepared,
    call_function,
    call_method,
    prepared_function_graph,
    prepared_graph,
)


class ScriptMethod(CompiledMethod):
    """One compiled method, callable: ``sm.forward(x)`` runs its graph through the executor."""

    def __call__(self, *args, **kwargs):
        prev = grad_mode.STATE.enabled
        try:
            out = call_method(self.owner, self.name, args, kwargs)
        except BaseException:
            grad_mode.STATE.enabled = prev  # a script 'with no_grad()' body raised (with_stmt.py)
            raise
        return checked_outputs(self.owner, self.graph, out, self.name)

    def __repr__(self) -> str:
        return f"<ScriptMethod {self.owner._gt_type}.{self.name}>"


class ScriptFunction(CompiledFunction):
    """A compiled free function (``@graphtorch.jit.script`` on a def, or a traced function)."""

    def __init__(self, qualified_name: str, graph, fn=None, register: bool = True):
        super().__init__(qualified_name, graph)
        self._fn = fn
        self.__name__ = self.name
        self.__doc__ = getattr(fn, "__doc__", None)
        self._prepared: Prepared | None = None  # the executor's prepared graph and plans
        if register:    # NOTE: only names compiled here; loaded functions stay in their archive
            FUNCTIONS[qualified_name] = self

    def __call__(self, *args, **kwargs):
        fast = self._fast_call  # NOTE: the signature's guarded call (runtime/call_guard.py)
        if fast is not None and not kwargs:
            out = fast(args)
            if out is not MISS:
                return out
        prev = grad_mode.STATE.enabled
        try:
            out = call_function(self, args, kwargs)
        except BaseException:
            grad_mode.STATE.enabled = prev  # a script 'with no_grad()' body raised (with_stmt.py)
            raise
        return checked_outputs(self, self.graph, out, self.name)

    @property
    def inlined_graph(self):
        return prepared_function_graph(self)

    def save(self, path) -> None:
        save_compiled(self, path)

    def __repr__(self) -> str:
        return f"<graphtorch.jit.ScriptFunction {self.qualified_name}>"


def checked_outputs(owner, graph, out, what: str):
    """``out``, after checking it against the types ``graph`` declares for its outputs when
    ``owner`` was loaded from an archive (``_gt_loaded``): a loaded model never returns a
    value of another type than its graph says, silently. A result holding NamedTuples is
    rebuilt into their classes (``graph.named_results``, set by the script compiler)."""
    build = graph.named_results
    if build is not None:
        out = build(out)
    if not owner.__dict__.get("_gt_loaded"):
        return out
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


# The .gt writer (graphtorch/archive/writer.py) sits in the top layer: it serializes whole
# compiled modules and reads this module's classes. TorchScript's API puts ``save`` on the
# compiled object, so the writer registers itself here when imported (graphtorch.jit imports
# it) instead of this layer importing upward: dependency inversion, docs/architecture.md.
_ARCHIVE_WRITER: Callable[[object, object], None] | None = None


def register_archive_writer(save: Callable[[object, object], None]) -> None:
    """Install the function ``ScriptModule.save`` / ``ScriptFunction.save`` call."""
    global _ARCHIVE_WRITER
    _ARCHIVE_WRITER = save


def save_compiled(obj, path) -> None:
    """``obj.save(path)``: write a compiled module or function as a .gt archive."""
    if _ARCHIVE_WRITER is None:
        raise UnsupportedError(f"{type(obj).__name__}.save: the .gt archive writer is not "
                               f"loaded; import graphtorch.jit (or call graphtorch.jit.save)")
    _ARCHIVE_WRITER(obj, path)


class _ScriptModuleMeta(type):
    """Compiles a user subclass of ScriptModule (the legacy ``@script_method`` API) once its
    ``__init__`` has run (frontend/script/legacy.py)."""

    def __call__(cls, *args, **kwargs):
        obj = super().__call__(*args, **kwargs)
        if cls.__dict__.get("_gt_legacy", getattr(cls, "_gt_legacy", False)):
            # NOTE: legacy.py imports the script compiler, which imports this module
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

    # -- building -------------------------------------------------------------------------
    def _add_method(self, name: str, graph, arg_names=None) -> ScriptMethod:
        m = ScriptMethod(self, name, graph, arg_names)
        self._gt_methods[name] = m
        invalidate(self)    # the runtime's prepared graphs of this module are stale
        return m

    def _set_constant(self, name: str, value) -> None:
        self._gt_constants[name] = value
        invalidate(self)

    def __getattr__(self, name: str):
        methods = self.__dict__.get("_gt_methods")
        if methods is not None and name in methods:
            return methods[name]
        consts = self.__dict__.get("_gt_constants")
        if consts is not None and name in consts:
            return consts[name]
        ignored = _ignored_method(self.__dict__.get("_gt_original"), name)
        if ignored is not None:     # NOTE: Python code, bound to the compiled module (as in
            return types.MethodType(ignored, self)  # TorchScript: it sees its attributes)
        try:
            return super().__getattr__(name)
        except AttributeError:
            original = self.__dict__.get("_gt_original")
            if original is None or name.startswith("__") or name not in vars(original):
                raise
            return vars(original)[name]  # a plain attribute (self.name = ... in __init__)

    def __setattr__(self, name: str, value) -> None:
        consts = self.__dict__.get("_gt_constants")
        if consts is not None and name in consts:
            old = consts[name]
            consts[name] = value
            if not (plain_value(old) and plain_value(value)):
                # NOTE: a plain value (the run-time attributes scripted code assigns) is read
                # by prim::GetAttr at every call and never lifted: what was prepared stays valid
                # (re-preparing on each `self.count += 1` cost ~5x per call); a tensor or an
                # object may change what the prepared graph lifts
                invalidate(self)
            return
        old = self.__dict__.get("_modules", {}).get(name)
        if isinstance(old, Module) and value is not old:
            # NOTE: the compiled code (and what enclosing modules prepared from it) calls the
            # submodule it was compiled with; running the old one silently would be wrong
            raise UnsupportedError(
                f"cannot replace the submodule '{name}' of the compiled module "
                f"{self._gt_original_name}: its compiled code was built for the submodule it "
                f"had; change the eager model and compile it again")
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
        return prepared_graph(self, "forward").graph

    def _method(self, name: str) -> ScriptMethod:
        try:
            return self._gt_methods[name]
        except KeyError:
            raise GraphError(f"{self._gt_original_name} has no compiled method {name!r}; "
                             f"compiled: {sorted(self._gt_methods)}") from None

    def forward(self, *args, **kwargs):
        fast = FORWARD_CALLS.get(self)  # NOTE: the signature's guarded call (call_guard.py)
        if fast is not None and not kwargs:
            out = fast(self, args)
            if out is not MISS:
                return out
        out = call_method(self, "forward", args, kwargs)
        return checked_outputs(self, self._method("forward").graph, out, "forward")

    def save(self, path) -> None:
        save_compiled(self, path)

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


def _ignored_method(original, name: str):
    """The ``@graphtorch.jit.ignore`` method ``name`` of the module a scripted module was
    compiled from (its class or bases), else None: Python keeps calling it on the compiled
    module, which has no compiled form of it."""
    if original is None:
        return None
    own = vars(original).get(name)    # a method bound to the instance overrides its class's
    if isinstance(own, types.MethodType) and own.__self__ is original:
        return own.__func__ if getattr(own.__func__, "_gt_ignore", False) else None
    for klass in type(original).__mro__:
        fn = vars(klass).get(name)
        if fn is not None:
            return fn if isinstance(fn, types.FunctionType) and \
                getattr(fn, "_gt_ignore", False) else None
    return None


def plain_value(val) -> bool:
    """A value a module attribute may hold and scripted code assign: a number, str, None, or a
    list / dict of those."""
    if val is None or isinstance(val, (bool, int, float, str)):
        return True
    if isinstance(val, list):
        return all(plain_value(x) and not isinstance(x, (list, dict)) for x in val)
    if isinstance(val, dict):
        return all(isinstance(k, (str, int)) and plain_value(x) and
                   not isinstance(x, (list, dict)) for k, x in val.items())
    return False
