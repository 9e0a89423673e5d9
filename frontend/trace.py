"""The tracing entry points behind ``graphtorch.jit.trace``."""

from __future__ import annotations

import warnings

import numpy as np

from graphtorch.autograd.grad_mode import no_grad
from graphtorch.errors import TracingError
from graphtorch.frontend.script_module import (
    ScriptFunction,
    ScriptModule,
    TracedModule,
    share_state,
)
from graphtorch.frontend.traced_rnn import is_recurrent, scripted_layer
from graphtorch.frontend.tracer import (
    Frame,
    Tracer,
    TracerWarning,
    _param_names,
    class_type,
    tracing,
)
from graphtorch.ir.graph import Graph
from graphtorch.passes.dce import eliminate_dead_code
from graphtorch.tensor import Tensor


def _as_tuple(example_inputs) -> tuple:
    if isinstance(example_inputs, tuple):
        return example_inputs
    if isinstance(example_inputs, list):
        return tuple(example_inputs)
    return (example_inputs,)


def _record(tracer: Tracer, frame: Frame, fn, inputs: tuple, names_from=None):
    for name, a in zip(_param_names(names_from or fn, len(inputs)), inputs):
        tracer.bind_input(frame, name, a)
    tracer.frames.append(frame)
    try:
        with tracing(tracer):
            out = fn(*inputs)
            frame.graph.set_outputs([tracer.output_value(frame, out)])
    finally:
        tracer.frames.pop()
    return out


def _patch_submodules(root, tracer: Tracer) -> list:
    patched, seen = [], {id(root)}
    for _, m in root.named_modules(remove_duplicate=False):
        if id(m) in seen:
            continue
        seen.add(id(m))
        orig = m.forward

        def traced_forward(*args, _m=m, _orig=orig, **kwargs):
            return tracer.call_module(_m, _orig, args, kwargs)

        object.__setattr__(m, "forward", traced_forward)
        patched.append(m)
    return patched


def _unpatch(patched: list) -> None:
    for m in patched:
        m.__dict__.pop("forward", None)


def _build(module, graphs: dict, memo: dict, scripted: dict):
    if isinstance(module, ScriptModule):
        return module
    hit = scripted.get(id(module))
    if hit is not None and hit[0] is module:
        return hit[1]   # a recurrent layer, called through its scripted form
    if id(module) in memo:
        return memo[id(module)]
    tm = TracedModule(class_type(module).name, type(module).__name__)
    memo[id(module)] = tm
    share_state(tm, module)
    for name, child in module._modules.items():
        tm._modules[name] = None if child is None else _build(child, graphs, memo, scripted)
    entry = graphs.get(id(module))
    if entry is not None:
        tm._add_method("forward", entry[1])
    return tm


def trace_module(module, example_inputs, check_inputs=None, strict: bool = True,
                 check_tolerance: float = 1e-5):
    inputs = _as_tuple(example_inputs)
    if is_recurrent(module) and inputs and isinstance(inputs[0], Tensor):
        # NOTE: a recurrent layer traced on its own is its scripted form (the time loop kept)
        traced = scripted_layer(module, packed=False)
        if check_inputs:
            _check(traced, module, check_inputs, check_tolerance)
        return traced
    tracer = Tracer(strict=strict)
    graph = Graph()
    frame = Frame(graph, module, graph.add_input("self", class_type(module)))
    patched = _patch_submodules(module, tracer)
    try:
        _record(tracer, frame, module, inputs, names_from=module.forward)
    finally:
        _unpatch(patched)
    tracer.method_graphs[id(module)] = (module, graph)
    for _, g in tracer.method_graphs.values():
        eliminate_dead_code(g)  # NOTE: sizes read by library code but never used
    traced = _build(module, tracer.method_graphs, {}, tracer.scripted)
    if check_inputs:
        _check(traced, module, check_inputs, check_tolerance)
    return traced


def trace_function(fn, example_inputs, check_inputs=None, strict: bool = True,
                   check_tolerance: float = 1e-5) -> ScriptFunction:
    inputs = _as_tuple(example_inputs)
    tracer = Tracer(strict=strict)
    graph = Graph()
    frame = Frame(graph)
    _record(tracer, frame, fn, inputs)
    eliminate_dead_code(graph)
    qual = "__torch__." + fn.__qualname__.replace("<locals>.", "")
    sf = ScriptFunction(qual, graph, fn)
    if check_inputs:
        _check(sf, fn, check_inputs, check_tolerance)
    return sf


def _flat(x) -> list:
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _flat(v)]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _flat(v)]
    return []


def _check(traced, eager, check_inputs, tol: float) -> None:
    for i, ci in enumerate(check_inputs):
        args = _as_tuple(ci)
        with no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", TracerWarning)
            want = _flat(eager(*args))
            got = _flat(traced(*args))
        if len(want) != len(got):
            raise TracingError(f"check_inputs[{i}]: the trace returned {len(got)} tensors, the "
                               f"Python function {len(want)}")
        for j, (a, b) in enumerate(zip(got, want)):
            if tuple(a.shape) != tuple(b.shape) or not np.allclose(
                    a.numpy(), b.numpy(), rtol=tol, atol=tol, equal_nan=True):
                raise TracingError(
                    f"Tracing failed sanity checks! check_inputs[{i}], output {j}: the traced "
                    "graph's result differs from the Python function's (shape "
                    f"{list(a.shape)} vs {list(b.shape)}). The trace is not representative of "
                    "the model on these inputs: data-dependent control flow? Use "
                    "graphtorch.jit.script for that part.")
