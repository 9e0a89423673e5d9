"""The execution plan: what runs when a compiled module or function is called.

One :class:`ExecutionPlan` is built per *input signature* (each input's dtype, rank, device and
requires-grad flag, the Python type of scalars, grad mode) and cached by the executor. Building
one is, in one place:

1. **mode**: a call that records gradients runs the prepared graph (no fusion) as Tensor-level
   generated code (``cpu_codegen.py``: each op dispatched, eager autograd records through it;
   mode ``autograd-codegen``), or the reference interpreter when the graph has effects on the
   caller's Tensors; non-CPU tensors run the interpreter — the plan says so;
2. **optimizing pipeline** (:data:`PIPELINE`): loop unrolling, canonicalize, constant folding,
   CSE, DCE, decomposition of composites, elementwise fusion;
3. **lowering**: the optimized graph runs once through a recording interpreter on the call's
   inputs; every node's observed argument kinds (array dtype, 0-d or not, scalar type) decide
   its code;
4. **code**: one straight-line Python function over raw numpy arrays (``plan_codegen.py``):
   registry kernels called directly with the casts PyTorch promotion needs (no Tensor objects,
   no dispatch), fusion groups and row reductions as C kernels (``c_elementwise.py``,
   ``c_rows.py``) or numpy chunks without a compiler, and any node the code cannot express
   wrapped back into Tensors and run through eager dispatch (a *fallback*, listed with why).

Graphs with effects that need Tensor identity (in-place updates, attribute writes, Python ops)
run the Tensor-level codegen instead (``cpu_codegen.py``). If the generated code fails on a call,
the call is re-run by the interpreter; if that succeeds the plan is demoted to the interpreter
(the reason is kept), so a compiler bug costs speed, never a wrong answer.

``GT_EXECUTOR=interpreter`` (or ``jit.set_executor("interpreter")``) skips plans altogether.
``GT_DEBUG=1`` prints each plan when built; :func:`explain_plans` reports them.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass, field

import numpy as np

from graphtorch.autograd import grad_mode
from graphtorch.autograd.function import FunctionCall
from graphtorch.device import CPU
from graphtorch.dtypes import dtype as _DType
from graphtorch.errors import GraphtorchError
from graphtorch.ops.registry import REGISTRY, OpKind
from graphtorch.passes.manager import PassContext, run_passes
from graphtorch.runtime import c_backend, plan_store
from graphtorch.runtime.c_reduce import COMPOSITES
from graphtorch.runtime.c_rows import ROW_OPS
from graphtorch.runtime.cpu_codegen import CompiledGraph
from graphtorch.runtime.interpreter import Interpreter
from graphtorch.runtime.objects import OBJECT_KINDS
from graphtorch.runtime.plan_codegen import Deopt, KernelInfo, emit_plan, record
from graphtorch.runtime.triton import selection as triton_selection
from graphtorch.tensor import Tensor

# The plan's optimizing pipeline, in order (each a registered pass).
PIPELINE = ["unroll_loops", "canonicalize", "constant_fold", "cse", "dce", "decompose",
            "split_linear_bias", "hoist_loop_linear", "fuse_elementwise", "dce"]
# Node kinds whose effects need the caller's Tensor objects (the raw-array code has none).
IDENTITY_KINDS = frozenset({"prim::Inplace", "prim::SetAttr", "prim::PythonOp",
                            "prim::CallMethod", "prim::CallFunction"})


# A call that records gradients: Tensor-level code over the prepared graph (no fusion). Like
# "compiled", a failure re-runs the call through the interpreter (the graph has no effects).
AUTOGRAD_MODE = "autograd-codegen"

# The documented tolerance of compiled results against the reference interpreter, per result
# dtype (docs/fusion.md "Tolerance"): (rtol, atol). Integer and bool results are exact.
TOLERANCE = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1e-5, 1e-6),
             np.dtype(np.float64): (1e-12, 1e-12), np.dtype(np.complex64): (1e-5, 1e-6),
             np.dtype(np.complex128): (1e-12, 1e-12)}


def tolerance(dtype) -> tuple[float, float]:
    """(rtol, atol) within which a compiled result of ``dtype`` (a numpy dtype, bfloat16 by
    name) equals the interpreter's; (0, 0) for integers and bools."""
    if str(dtype) == "bfloat16":
        return 1.6e-2, 1e-5
    return TOLERANCE.get(np.dtype(dtype), (0.0, 0.0))


@dataclass
class ExecutionPlan:
    """What one input signature runs: mode, optimized graph, kernels, fallbacks, source."""

    key: tuple
    mode: str                       # "compiled", "autograd-codegen", "tensor-codegen" or
    #                                 "interpreter"
    reason: str = ""                # why not "compiled"
    _graph: object = field(default=None, repr=False)  # see the graph property
    kernels: list[KernelInfo] = field(default_factory=list)
    source: str = ""
    build_seconds: float = 0.0
    runner: object = None           # callable(inputs) -> outputs
    reference: object = None        # the prepared graph (what the interpreter runs)
    calls: int = 0
    cache: str = ""                 # what the disk plan cache did (plan_store.py)
    _rebuild: object = field(default=None, repr=False)  # a loaded plan's graph, on demand

    @property
    def graph(self):
        """The graph that runs (optimized, unless interpreter); a plan loaded from the disk
        cache reruns its pipeline on first access."""
        if self._graph is None and self._rebuild is not None:
            self._graph = self._rebuild()
        return self._graph

    @graph.setter
    def graph(self, graph) -> None:
        self._graph = graph

    def run(self, inputs: list) -> list:
        self.calls += 1
        try:
            return self.runner(inputs)
        except BaseException as e:
            return self.recover(e, inputs)

    def recover(self, error: BaseException, inputs: list) -> list:
        """The outputs of a call whose code raised ``error``: generated code (a failed guard,
        a compiler bug) re-runs the call through the interpreter, whose error, if it has one,
        is what the caller sees; a plan the interpreter ran before it failed is demoted. An
        error of the interpreter (or Tensor-level code) itself propagates."""
        if self.mode != "compiled" and self.mode != AUTOGRAD_MODE or \
                not isinstance(error, Exception):
            raise error
        if isinstance(error, Deopt):
            return _interpreter_run(self.reference, inputs)
        out = _interpreter_run(self.reference, inputs)  # raises the proper error
        self.demote(f"the compiled code failed on a call the interpreter ran "
                    f"({type(error).__name__}: {error})")
        return out

    def demote(self, reason: str) -> None:
        interp = Interpreter()
        graph = self.reference
        self.mode, self.reason = "interpreter", reason
        self.runner = lambda inputs: interp.run(graph, list(inputs))
        if _debug():
            print(f"--- graphtorch plan demoted: {reason}")

    def explain(self) -> str:
        lines = [f"plan: {self.mode}" + (f" ({self.reason})" if self.reason else ""),
                 f"  signature: {_format_key(self.key)}",
                 f"  built in {self.build_seconds * 1e3:.1f} ms, called {self.calls} time(s)"]
        if self.cache:
            lines.append(f"  plan cache: {self.cache}")
        counts: dict[str, int] = {}
        for k in self.kernels:
            counts[k.backend] = counts.get(k.backend, 0) + 1
        if counts:
            lines.append("  kernels: " + ", ".join(f"{n} {b}" for b, n in sorted(counts.items())))
        for k in self.kernels:
            if k.backend in ("c", "numpy", "eager", "triton") or "in place" in k.detail:
                lines.append(f"    [{k.backend}] {k.name}" + (f": {k.detail}" if k.detail else ""))
        return "\n".join(lines)


def _debug() -> bool:
    return os.environ.get("GT_DEBUG") == "1"


def _interpreter_run(graph, inputs: list) -> list:
    return Interpreter().run(graph, list(inputs))


# --- signatures ---------------------------------------------------------------------------------
def _sig(v):
    if isinstance(v, Tensor):
        d = v._data
        return (d.dtype, d.ndim, v._device, v._rg)
    t = type(v)
    if t is int or t is float or t is bool or v is None:
        return t
    if t is list or t is tuple:
        if len(v) > 16:
            return (t, len(v), _sig(v[0]))
        return (t, tuple(_sig(x) for x in v))
    if isinstance(v, _DType):
        return v
    return t


def signature(inputs: list) -> tuple:
    """The plan key of a call: per input its kind, and whether gradients are recorded."""
    sigs = []
    for v in inputs:
        if type(v) is Tensor:  # NOTE: _sig inlined for the common case (per-call overhead)
            d = v._data
            sigs.append((d.dtype, d.ndim, v._device, v._rg))
        else:
            sigs.append(_sig(v))
    return (grad_mode.STATE.enabled, tuple(sigs))


def _format_key(key: tuple) -> str:
    def fmt(s):
        if isinstance(s, tuple) and len(s) == 4 and isinstance(s[0], np.dtype):
            return f"Tensor({s[0]}, {s[1]}-d, {s[2]}{', requires_grad' if s[3] else ''})"
        if isinstance(s, type):
            return s.__name__
        if isinstance(s, tuple) and s and s[0] in (list, tuple):
            inner = s[1] if isinstance(s[1], tuple) else ()
            return f"{s[0].__name__}[{', '.join(fmt(x) for x in inner)}]"
        return str(s)

    grad, sigs = key
    return f"({', '.join(fmt(s) for s in sigs)}), grad mode {'on' if grad else 'off'}"


def _needs_grad(inputs: list) -> bool:
    if not grad_mode.STATE.enabled:
        return False
    return any(_requires_grad(v) for v in inputs)


def _python_may_record(graph, inputs: list) -> bool:
    """A prim::PythonOp (a forked submodule, an @ignore'd call) can run the module's layers
    eagerly: when some parameter of ``self`` requires grad, its results carry gradients; one
    that runs the autograd engine (``autograd.grad`` in script) needs the tape of every call."""
    if not grad_mode.STATE.enabled or not inputs:
        return False
    ops = [n for n in graph.walk() if n.kind == "prim::PythonOp"]
    if any(getattr(n.attrs.get("fn"), "_gt_runs_autograd", False) for n in ops):
        return True
    if not ops or not hasattr(inputs[0], "parameters"):
        return False
    return any(p.requires_grad for p in inputs[0].parameters())


def _requires_grad(v) -> bool:
    if isinstance(v, Tensor):
        return v._rg
    if type(v) in (list, tuple):
        return any(_requires_grad(x) for x in v)
    return False


def _off_cpu(v) -> bool:
    if isinstance(v, Tensor):
        return v._device is not CPU
    if type(v) in (list, tuple):
        return any(_off_cpu(x) for x in v)
    return False


# --- building -----------------------------------------------------------------------------------
def build_plan(graph, inputs: list, key: tuple) -> tuple[ExecutionPlan, list | None]:
    """A plan for ``graph`` (a prepared graph) and the outputs of this first call (or None when
    the caller must run the plan itself)."""
    t0 = time.perf_counter()
    collecting = gc.isenabled()
    gc.disable()  # NOTE: building allocates graphs by the thousand: no cyclic GC passes meanwhile
    try:
        return _build(graph, inputs, key, t0)
    finally:
        if collecting:
            gc.enable()


def _build(graph, inputs: list, key: tuple, t0: float) -> tuple[ExecutionPlan, list | None]:
    plan = ExecutionPlan(key, "interpreter", reference=graph)
    if any(n.kind in OBJECT_KINDS for n in graph.walk()):
        plan.demote("objects of scripted classes (prim::CreateObject, GetField, SetField, "
                    "contexts): the interpreter runs them")
    elif _needs_grad(inputs):
        _autograd_code(plan, graph, inputs)
    elif _python_may_record(graph, inputs):
        plan.demote("Python code in the graph (jit.fork, @ignore) may record gradients through "
                    "the module's parameters: eager autograd through the interpreter")
    elif any(_off_cpu(v) for v in inputs) and not triton_selection.wanted(inputs):
        plan.demote("tensors on a non-CPU device: the interpreter (Triton fusion on CUDA)")
    else:
        if triton_selection.wanted(inputs):
            # NOTE: the Triton backend loads only when a call runs on it (CUDA, or forced)
            from graphtorch.runtime.triton.device_plan import compile_plan

            out = compile_plan(plan, graph, inputs, PIPELINE)
        else:
            out = _compile(plan, graph, inputs)
        plan.build_seconds = time.perf_counter() - t0
        if _debug():
            print(plan.explain())
        return plan, out
    plan.build_seconds = time.perf_counter() - t0
    if _debug():
        print(plan.explain())
    return plan, None


def _autograd_code(plan: ExecutionPlan, graph, inputs: list) -> None:
    """A call that records gradients: the prepared graph (no fusion: every op records its eager
    autograd node) as Tensor-level generated code (``cpu_codegen.CompiledGraph``), which skips
    the interpreter's per-node work. Graphs with effects on the caller's Tensors, or tensors
    off the CPU, run the interpreter (a failed call could not be re-run there)."""
    kinds = sorted({n.kind for n in graph.walk() if n.kind in IDENTITY_KINDS})
    if kinds or any(_off_cpu(v) for v in inputs):
        why = f"{', '.join(kinds)} in the graph" if kinds else "tensors off the CPU"
        plan.demote(f"the call records gradients ({why}): eager autograd through the "
                    "interpreter")
        return
    try:
        code = CompiledGraph(graph)
    except GraphtorchError as e:
        plan.demote(f"the call records gradients and the Tensor-level codegen failed ({e}): "
                    "eager autograd through the interpreter")
        return
    fn = code.fn
    plan.mode, plan.graph, plan.source = AUTOGRAD_MODE, graph, code.source
    plan.reason = "the call records gradients: eager autograd through Tensor-level code"
    plan.runner = lambda inputs: fn(*inputs)


def optimize(graph):
    """A copy of prepared ``graph`` through the plan's pipeline (:data:`PIPELINE`)."""
    g = graph.copy()
    # NOTE: ops with their own C kernels stay whole; linear keeps its BLAS call (and epilogue)
    keep = (*ROW_OPS, *COMPOSITES, "linear") if c_backend.available() else ("linear",)
    run_passes(g, PIPELINE, PassContext(options={"keep_composites": keep}))
    return g


def _compile(plan: ExecutionPlan, graph, inputs: list) -> list | None:
    entry = plan_store.entry_key(graph, plan.key) if plan_store.enabled() else None
    hit = plan_store.load(entry, lambda: optimize(graph)) if entry else None
    if hit is not None:
        runner, source, kernels, rebuilt = hit
        plan.mode, plan.runner, plan.source, plan.kernels = "compiled", runner, source, kernels
        plan._rebuild, plan.cache = rebuilt.get, "loaded from disk"
        return None
    try:
        g = optimize(graph)
    except GraphtorchError as e:
        plan.demote(f"the optimizing pipeline failed: {e}")
        return None
    plan.graph = g
    if any(n.kind in IDENTITY_KINDS and not _applies_function(n) for n in g.walk()):
        kinds = sorted({n.kind for n in g.walk()
                        if n.kind in IDENTITY_KINDS and not _applies_function(n)})
        try:
            compiled = CompiledGraph(g)
        except GraphtorchError as e:
            plan.demote(f"the Tensor-level codegen failed: {e}")
            return None
        plan.mode = "tensor-codegen"
        plan.reason = f"{', '.join(kinds)} need the caller's Tensor objects"
        plan.runner, plan.source = compiled, compiled.source
        return None
    try:
        records, outputs = record(g, inputs)
    except Exception:  # noqa: BLE001 - the reference decides: its error, or a demoted plan
        out = _interpreter_run(graph, inputs)
        plan.demote("the optimized graph failed where the prepared graph ran")
        return out
    try:
        runner, source, kernels = emit_plan(g, records, inputs)
    except GraphtorchError as e:
        plan.demote(f"code generation failed: {e}")
        return outputs
    plan.mode, plan.runner, plan.source, plan.kernels = "compiled", runner, source, kernels
    if entry:
        why = plan_store.save(entry, runner, source, kernels, g)
        plan.cache = f"not cached ({why})" if why else "saved to disk"
    if _draws_random(g) or any(_applies_function(n) for n in g.walk()):
        return outputs  # NOTE: running again would draw (or run Python code) again: keep them
    return None  # the caller runs the new code now: its first call is checked like any other


def _draws_random(graph) -> bool:
    for n in graph.walk():
        op = REGISTRY.get(n.kind[4:]) if n.kind.startswith("op::") else None
        if op is not None and op.kind is OpKind.RANDOM:
            return True
    return False


def _applies_function(node) -> bool:
    """A custom autograd.Function's node: the plan calls it alone, on Tensors (a fallback)."""
    return isinstance(node.attrs.get("fn"), FunctionCall)


# --- the executor's cache -----------------------------------------------------------------------
class PlanCache:
    """The plans of one prepared graph, by input signature.

    Like TorchScript's profiling executor, the first ``PROFILING_RUNS`` calls of a signature run
    the interpreter; the plan is built at the next one. A module called once (a script, a CLI
    run) never pays for compilation, and one called in a loop compiles after its first call.
    """

    MAX_PLANS = 32
    PROFILING_RUNS = 1

    def __init__(self, graph):
        self.graph = graph
        self.plans: dict[tuple, ExecutionPlan] = {}
        self.seen: dict[tuple, int] = {}
        self.interpreter = Interpreter()

    def run(self, inputs: list, key: tuple | None = None) -> list:
        if key is None:
            key = signature(inputs)
        plan = self.plans.get(key)
        if plan is None:
            n = self.seen.get(key, 0)
            if n < self.PROFILING_RUNS:
                self.seen[key] = n + 1
                return self.interpreter.run(self.graph, list(inputs))
            if len(self.plans) >= self.MAX_PLANS:
                self.plans.pop(next(iter(self.plans)))
            plan, out = build_plan(self.graph, inputs, key)
            self.plans[key] = plan
            if out is not None:
                plan.calls += 1
                return out
        return plan.run(inputs)

    def explain(self) -> str:
        if not self.plans:
            return ("no plan built yet: the first call of a signature runs the interpreter, "
                    "the plan is built at the second")
        return "\n".join(p.explain() for p in self.plans.values())
