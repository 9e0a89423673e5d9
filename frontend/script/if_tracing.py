"""``graphtorch.jit.script_if_tracing``: a function that runs as Python in eager mode and is
scripted when called while tracing, so its control flow stays in the trace as one
``prim::CallFunction`` of its scripted graph (a trace would otherwise keep only the path the
example inputs took). Scripting it directly, or calling it from scripted code, compiles the
function itself."""

from __future__ import annotations

import functools
import inspect

from graphtorch.frontend.script.api import script_function
from graphtorch.ir.capture import user_source, value_type
from graphtorch.ir.compilation_unit import bind_function
from graphtorch.ir.kinds import Prim
from graphtorch.ops import dispatch


def script_if_tracing(fn):
    """Decorate ``fn``: Python when not tracing, its scripted form (compiled once, on the first
    traced call) while tracing."""
    compiled = []

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        tracer = dispatch.TRACE.tracer
        if tracer is None or not tracer.recording():
            return fn(*args, **kwargs)
        if not compiled:
            compiled.append(script_function(fn))
        return _record_call(tracer, compiled[0], fn, args, kwargs)

    wrapper._gt_script_if_tracing = fn   # NOTE: unit.py compiles fn itself, not the wrapper
    return wrapper


def _record_call(tracer, sf, fn, args: tuple, kwargs: dict):
    """Run ``sf`` without recording its ops and record one CallFunction node instead."""
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    values = list(bound.arguments.values())
    with tracer.opaque():
        out = sf(*values)
    frame = tracer.frame
    inputs = [tracer.value_of(v, frame) for v in values]
    node = frame.graph.create(Prim.CallFunction, inputs, [value_type(out)],
                              attrs={"name": sf.qualified_name}, source=user_source())
    frame.graph.insert(node)
    bind_function(frame.graph, sf)
    tracer.bind_output(frame, out, node.outputs[0])
    return out
