"""The executor behind ``ScriptModule.__call__`` and ``ScriptFunction.__call__``.

It checks the call's inputs against the graph's input types (naming the input, expected vs
got), prepares the graph once — calls inlined, parameters lifted to graph inputs, dead code
removed — keeps it in the runtime's cache (``caches.py``), and runs it through its execution
plans (``plan.py``: one per input signature, the default executor ``compiled``) or, with
``GT_EXECUTOR=interpreter``, the reference interpreter. Calls that record gradients run the
interpreter, whose ops dispatch with eager autograd, so ``loss.backward()`` through a compiled
module fills ``param.grad``.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphtorch.autograd.grad_mode import STATE, no_grad
from graphtorch.errors import ArgumentError
from graphtorch.ir.compilation_unit import CompiledFunction
from graphtorch.ir.types import FLOAT, INT, type_mismatch
from graphtorch.passes.prepare import prepare_function, prepare_method
from graphtorch.runtime.autodiff_exec import autodiff_enabled, run_with_autodiff
from graphtorch.runtime.caches import FAST_CALLS, FORWARD_CALLS, PREPARED
from graphtorch.runtime.call_guard import guarded_call
from graphtorch.runtime.cpu_codegen import get_executor, run_graph_codegen
from graphtorch.runtime.interpreter import Interpreter
from graphtorch.runtime.plan import PlanCache, signature
from graphtorch.tensor import Tensor


@dataclass
class Prepared:
    """A graph ready to run: inputs are self, the user's arguments, then lifted parameters."""

    graph: object
    param_paths: list  # attribute paths from the root module, one per lifted input
    source: object = None  # the graph this was prepared from (a function's, to notice changes)
    checked: set = None  # signatures of argument lists that passed check_inputs
    interpreter: Interpreter = None  # keeps the graph's compiled block plans
    plans: PlanCache = None  # the execution plans, one per input signature
    guards: dict = None  # signature -> (its plan, the guarded call of it or None)

    def __post_init__(self):
        if self.interpreter is None:
            self.interpreter = Interpreter()
        if self.plans is None:
            self.plans = PlanCache(self.graph)
        if self.checked is None:
            self.checked = set()
        if self.guards is None:
            self.guards = {}


def prepared_graph(module, name: str) -> Prepared:
    """A compiled module's Prepared for method ``name``, kept in runtime/caches.py ``PREPARED``
    (which ScriptModule invalidates when a method or constant changes)."""
    cache = PREPARED.get(module)
    if cache is None:
        cache = PREPARED.put(module, {})
    hit = cache.get(name)
    if hit is None:
        graph, paths = prepare_method(module, name)
        hit = cache[name] = Prepared(graph, paths)
    return hit


def prepared_function_graph(fn):
    return prepared_function(fn).graph


def prepared_function(fn) -> Prepared:
    """A function's Prepared (graph, interpreter, plans), kept in the function's declared
    ``_prepared`` field; rebuilt when its graph was replaced."""
    hit = fn._prepared
    if hit is None or hit.source is not fn.graph:
        hit = Prepared(prepare_function(fn), [])
        hit.source = fn.graph
        fn._prepared = hit
    return hit


def _resolve(module, path):
    obj = module
    for name in path:
        obj = getattr(obj, name)
    return obj


def _bind(arg_names: list[str], args: tuple, kwargs: dict, what: str) -> list:
    vals = list(args)
    if len(vals) > len(arg_names):
        raise ArgumentError(f"{what}() expected at most {len(arg_names)} argument(s) but "
                            f"received {len(vals)}")
    for k, v in (kwargs or {}).items():
        if k not in arg_names:
            raise ArgumentError(f"{what}() got an unexpected keyword argument {k!r}")
        i = arg_names.index(k)
        while len(vals) <= i:
            vals.append(_MISSING)
        if vals[i] is not _MISSING:
            raise ArgumentError(f"{what}() got multiple values for argument {k!r}")
        vals[i] = v
    return vals


_MISSING = object()


def check_inputs(graph, values: list, names: list[str], what: str, first: int) -> list:
    """Compare call arguments with the graph's input types; fill defaults where recorded."""
    params = graph.block.inputs[first:]
    defaults = graph.defaults
    out = list(values)
    if len(out) < len(params):
        out += [_MISSING] * (len(params) - len(out))
    for i, (v, p) in enumerate(zip(out, params)):
        pname = names[i] if i < len(names) else p.name
        if v is _MISSING:
            if pname in defaults:
                out[i] = defaults[pname]
                continue
            raise ArgumentError(f"{what}() is missing value for argument '{pname}'. "
                                f"Declaration: {what}({', '.join(names)})")
        problem = type_mismatch(v, p.type)
        if problem and _one_element(v, p.type):
            # NOTE: as TorchScript: a one-element tensor of the kind's dtype for an int / float
            out[i], problem = (int if p.type == INT else float)(v.item()), None
        if problem:
            decl = ", ".join(f"{n} : {q.type}" for n, q in zip(names, params))
            raise ArgumentError(f"{what}() expected a value of type '{p.type}' for argument "
                                f"'{pname}' (input {i + 1}) but {problem}. Declaration: "
                                f"{what}({decl})")
    return out


def _one_element(v, t) -> bool:
    """``v`` is a one-element tensor whose value an ``int`` (integer dtype) or ``float``
    (floating dtype) parameter takes."""
    if not isinstance(v, Tensor) or t not in (INT, FLOAT) or v.numel() != 1:
        return False
    floating = v.dtype.is_floating_point
    return floating if t == FLOAT else (not floating and v.dtype.name != "bool")


def call_method(module, name: str, args: tuple, kwargs: dict):
    method = module._method(name)
    what = f"{module._gt_original_name}.{name}" if name != "forward" else "forward"
    vals = _bind(method.arg_names, args, kwargs, what)
    vals = check_inputs(method.graph, vals, method.arg_names, what, first=1)
    prep = prepared_graph(module, name)
    lifted = [_resolve(module, p) for p in prep.param_paths]
    inputs = [module] + vals + lifted
    out = _run(prep, inputs)
    if name == "forward" and not kwargs and len(vals) == len(args) and \
            all(a is v for a, v in zip(args, vals)):
        _install_guarded_forward(module, prep, inputs)
    return _finish(out)


def _run(prep: Prepared, inputs: list) -> list:
    executor = get_executor()
    out = run_with_autodiff(prep.graph, inputs, executor)  # opt-in: jit.set_autodiff
    if out is not None:
        return out
    if executor == "compiled":
        return prep.plans.run(inputs)
    if executor == "codegen":  # the Tensor-level generated code, kept selectable
        return run_graph_codegen(prep.graph, inputs)
    return prep.interpreter.run(prep.graph, inputs)


def _finish(out: list):
    return out[0] if len(out) == 1 else tuple(out)


def call_function(fn, args: tuple, kwargs: dict):
    prep = prepared_function(fn)
    if not kwargs and get_executor() == "compiled" and not autodiff_enabled():
        # NOTE: the fast path: arguments whose signature already passed check_inputs go
        # straight to the plan (the signature pins every type check_inputs looks at)
        vals = list(args)
        key = signature(vals)
        if key in prep.checked:
            out = prep.plans.run(vals, key)
            _install_guarded_call(fn, prep, key, vals)
            return _finish(out)
    names = [v.name for v in fn.graph.block.inputs]
    vals = _bind(names, args, kwargs, fn.name)
    vals = check_inputs(fn.graph, vals, names, fn.name, first=0)
    if not kwargs and len(vals) == len(args) and len(prep.checked) < 64 and \
            not _trains(vals):
        prep.checked.add(signature(vals))
    return _finish(_run(prep, vals))


def _install_guarded_call(fn, prep: Prepared, key: tuple, inputs: list) -> None:
    """Once ``key``'s plan exists, ``fn``'s next calls of that signature go straight to it
    (runtime/call_guard.py), unless its results are rebuilt or checked after the call."""
    guard = _guard(fn, fn.graph, prep, key, inputs, None)
    if guard is not None:
        fn._fast_call = guard
        FAST_CALLS.add(fn)


def _install_guarded_forward(module, prep: Prepared, inputs: list) -> None:
    """The same for a compiled module's forward (kept in ``FORWARD_CALLS``)."""
    if get_executor() != "compiled":
        return
    guard = _guard(module, module._method("forward").graph, prep, signature(inputs), inputs,
                   prep.param_paths)
    if guard is not None:
        FORWARD_CALLS.put(module, guard)


def _guard(owner, graph, prep: Prepared, key: tuple, inputs: list, params):
    plan = prep.plans.plans.get(key)
    if plan is None:
        return None
    hit = prep.guards.get(key)
    if hit is None or hit[0] is not plan:
        plain = graph.named_results is None and not owner.__dict__.get("_gt_loaded")
        guard = guarded_call(plan, key, len(prep.graph.outputs), inputs, params) \
            if plain else None
        if len(prep.guards) >= PlanCache.MAX_PLANS:
            prep.guards.pop(next(iter(prep.guards)))
        hit = prep.guards[key] = (plan, guard)
    return hit[1]


def _trains(vals: list) -> bool:
    """A call that records gradients: it goes through :func:`run_with_autodiff`, never the
    fast path (which skips it)."""
    return STATE.enabled and any(isinstance(v, Tensor) and v._rg for v in vals)


def plans_of(obj) -> PlanCache:
    """The execution plans of a compiled module's forward or of a compiled function."""
    if isinstance(obj, CompiledFunction):
        return prepared_function(obj).plans
    return prepared_graph(obj, "forward").plans


def explain_plans(obj, example_inputs: tuple = ()) -> str:
    """The plans of ``obj`` (see :meth:`ExecutionPlan.explain`); with example inputs, the plan
    for them is built first (by calling ``obj`` under no_grad until it exists)."""
    cache = plans_of(obj)
    if example_inputs:
        with no_grad():
            for _ in range(cache.PROFILING_RUNS + 1):
                obj(*example_inputs)
    return cache.explain()
