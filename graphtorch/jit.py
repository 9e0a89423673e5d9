"""Graph mode: ``trace``, ``script``, ``compile``, ``save``, ``load`` and friends.

>>> import graphtorch as torch
>>> cell = torch.nn.Linear(4, 4)
>>> traced = torch.jit.trace(cell, torch.rand(3, 4))
>>> print(traced.code)  # doctest: +SKIP
"""

from __future__ import annotations

import sys as _sys

from graphtorch import archive as _archive
from graphtorch import jit_annotations as annotations
from graphtorch.autograd import enable_grad as _enable_grad
from graphtorch.errors import UnsupportedError
from graphtorch.frontend import script as _script
from graphtorch.frontend.script.compilation_unit import CompilationUnit
from graphtorch.frontend.script.fallback import compile_with_report
from graphtorch.frontend.script.if_tracing import script_if_tracing
from graphtorch.frontend.script.interfaces import interface
from graphtorch.frontend.script.language import _unwrap_optional, annotate, jit_isinstance
from graphtorch.frontend.script.legacy import Attribute, script_method
from graphtorch.frontend.script.overloads import overload as _overload
from graphtorch.frontend.script.overloads import overload_method as _overload_method
from graphtorch.frontend.script.overloads import refuse_direct_script as _refuse_overloaded
from graphtorch.frontend.script_module import (
    RecursiveScriptModule,
    ScriptFunction,
    ScriptModule,
    TracedModule,
)
from graphtorch.frontend.trace import trace_function
from graphtorch.frontend.trace import trace_module as _trace_module
from graphtorch.frontend.tracer import TracerWarning
from graphtorch.nn.module import Module
from graphtorch.ops import dispatch as _dispatch
from graphtorch.passes.freeze import freeze_method
from graphtorch.runtime import autodiff_exec as _autodiff_exec
from graphtorch.runtime.autodiff_exec import autodiff_setting, explain_autodiff
from graphtorch.runtime.autodiff_exec import set_autodiff as _set_autodiff
from graphtorch.runtime.cpu_codegen import get_executor as _get_executor
from graphtorch.runtime.cpu_codegen import set_executor as _set_executor
from graphtorch.runtime.executor import explain_plans, plans_of
from graphtorch.runtime.futures import Future, fork, wait
from graphtorch.tensor import Tensor as _Tensor

__all__ = ["trace", "trace_module", "script", "compile", "explain", "save", "load", "ignore",
           "unused", "export", "is_scripting", "is_tracing", "freeze", "set_executor",
           "get_executor", "set_autodiff", "get_autodiff", "ScriptModule", "ScriptFunction",
           "TracedModule", "RecursiveScriptModule", "TracerWarning", "Final", "annotate",
           "isinstance", "_unwrap_optional", "script_method", "Attribute",
           "fork", "wait", "Future", "interface", "CompilationUnit",
           "script_if_tracing", "_overload", "_overload_method"]

try:
    from typing import Final
except ImportError:  # pragma: no cover
    Final = None

# NOTE: graphtorch.jit is one file; `from graphtorch.jit.annotations import BroadcastingList2`
# (torch.jit.annotations) finds its submodule here
_sys.modules[f"{__name__}.annotations"] = annotations


def trace(func, example_inputs=None, check_trace: bool = True, check_inputs=None,
          check_tolerance: float = 1e-5, strict: bool = True, example_kwarg_inputs=None):
    """Run ``func`` (a module or function) on ``example_inputs`` and record its ops as a graph.

    Tensor values that steer Python control flow are frozen into the trace (a TracerWarning
    says so); use :func:`script` for data-dependent control flow.
    """
    if example_inputs is None and example_kwarg_inputs is not None:
        example_inputs = tuple(example_kwarg_inputs.values())
    if isinstance(func, ScriptModule) or isinstance(func, ScriptFunction):
        return func
    if isinstance(func, Module):
        return _trace_module(func, example_inputs, check_inputs=check_inputs, strict=strict,
                            check_tolerance=check_tolerance)
    return trace_function(func, example_inputs, check_inputs=check_inputs, strict=strict,
                          check_tolerance=check_tolerance)


def trace_module(mod, inputs: dict, **kwargs):
    """Trace ``mod``'s methods: ``inputs`` maps method name to example inputs (forward only)."""
    if set(inputs) - {"forward"}:
        raise UnsupportedError("trace_module traces forward only; script other methods")
    return trace(mod, inputs["forward"], **kwargs)


def script(obj, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None):
    """Compile a function or module from its Python source into a graph (control flow kept)."""
    if isinstance(obj, (ScriptModule, ScriptFunction)):
        return obj
    if callable(obj) and hasattr(obj, "__code__"):
        _refuse_overloaded(obj)
    return _script.script(obj)


def compile(model, *example_inputs):  # noqa: A001 - the graphtorch.jit.compile entry point
    """The forgiving entry point: script what it can, trace or run eagerly what it cannot."""
    return _script.compile_forgiving(model, *example_inputs)


def explain(model, *example_inputs) -> str:
    """A report of what compiled, what fell back to tracing or eager, and why; given example
    inputs, also the execution plan the compiled result runs for them (its kernels, which
    backend runs each, and every fallback with its reason). The example inputs are run."""
    compiled, report = compile_with_report(model, *example_inputs)
    text = str(report)
    if example_inputs and isinstance(compiled, (ScriptModule, ScriptFunction)):
        text += "\n" + explain_plans(compiled, example_inputs)
        text += "\n" + _explain_training(compiled, example_inputs)
    return text


def _explain_training(compiled, example_inputs: tuple) -> str:
    """What a call needing gradients runs for these inputs: the autodiff pass's decision (its
    forward plan, or why it declined). Runs forward calls in grad mode; nothing is backpropagated
    (the backward graph's plan is built at a first backward)."""
    params = list(compiled.parameters()) if isinstance(compiled, ScriptModule) else []
    wants = [t for t in (*params, *example_inputs) if isinstance(t, _Tensor) and t.requires_grad]
    if not wants:
        return "training: nothing requires grad (no parameter or example input)"
    with _enable_grad():
        for _ in range(_autodiff_exec.PROFILING_RUNS + 1):
            compiled(*example_inputs)
    return "training: " + explain_autodiff(plans_of(compiled).graph)


def ignore(drop=False, **kwargs):
    """Leave a function to Python: scripted callers call it eagerly (prim::PythonOp)."""
    def mark(fn):
        fn._gt_ignore = True
        fn._gt_drop = bool(drop) if not callable(drop) else False
        return fn

    if callable(drop):
        return mark(drop)
    return mark


def unused(fn):
    """Compile a call to ``fn`` as an exception: the method is left out of the graph. On a
    ``property`` the getter is marked (a property's own attributes cannot be set)."""
    (fn.fget if isinstance(fn, property) else fn)._gt_unused = True
    return fn


def export(fn):
    """Mark a method to be compiled even if forward does not call it."""
    fn._gt_export = True
    return fn


def set_executor(name: str | None) -> None:
    """Run compiled graphs with ``"compiled"`` (the default: one execution plan per input
    signature, runtime/plan.py), ``"interpreter"`` (the reference) or ``"codegen"`` (Tensor-level
    generated Python); None restores the default. Calls that need gradients train through the
    graph autodiff path (see :func:`set_autodiff`).
    ``GT_EXECUTOR`` in the environment sets the default."""
    _set_executor(name)


def get_executor() -> str:
    return _get_executor()


def set_autodiff(enabled: bool | None) -> None:
    """How calls that need gradients train: through the autodiff pass (one forward graph that
    also returns saved values, and ONE autograd node per call running the backward graph) or
    on the eager tape (every op recorded). None, the default: the ``compiled`` executor trains
    through autodiff (both graphs as execution plans, after one profiling call per signature),
    the other executors record the tape. True: every executor uses autodiff from the first
    call; False: never. ``GT_AUTODIFF=1`` / ``GT_AUTODIFF=0`` set True / False. Graphs the pass
    declines keep the eager-tape path."""
    _set_autodiff(enabled)


def get_autodiff() -> bool | None:
    """The setting of :func:`set_autodiff` (None: the default)."""
    return autodiff_setting()


def is_scripting() -> bool:
    """False in Python; the script compiler replaces calls with the constant True."""
    return False


def is_tracing() -> bool:
    return _dispatch.TRACE.tracer is not None


def save(m, f, _extra_files=None) -> None:
    """Save a compiled module (or function) to a ``.gt`` archive (no pickle)."""
    _archive.save(m, f)


def load(f, map_location=None, _extra_files=None):
    """Load a ``.gt`` archive; nothing in it is executed."""
    return _archive.load(f, map_location=map_location)


def freeze(mod, preserved_attrs=None, optimize_numerics: bool = True):
    """A copy of a compiled module in eval mode with its state folded into the graph.

    Submodule calls are inlined and parameters, buffers and plain attributes become constants,
    so the result has no submodules or parameters: one flat ``forward`` graph (saveable, and
    independent of later changes to ``mod``). ``preserved_attrs`` are not supported.
    """
    if not isinstance(mod, ScriptModule):
        raise UnsupportedError("freeze expects a ScriptModule (the result of graphtorch.jit.script "
                               "or graphtorch.jit.trace)")
    if mod.training:
        raise UnsupportedError("Freezing is currently only implemented for modules in eval mode."
                               " Please call .eval() on your module before freezing.")
    if preserved_attrs:
        raise UnsupportedError("freeze(preserved_attrs=...) is not supported by graphtorch")
    frozen = RecursiveScriptModule(mod._gt_type, mod.original_name)
    frozen.eval()
    graph = freeze_method(mod, "forward")
    frozen._add_method("forward", graph, mod._method("forward").arg_names)
    return frozen


def __getattr__(name: str):
    # NOTE: graphtorch.jit.isinstance (TorchScript's name) must not shadow the builtin in here
    if name == "isinstance":
        return jit_isinstance
    raise AttributeError(f"module 'graphtorch.jit' has no attribute '{name}'")
