"""Decompose: expand composite op nodes (gelu, layer_norm, linear ...) into their parts.

Graphs keep composites as single readable nodes; before fusion this pass replaces each one by the
registry's decomposition, recorded by tracing it (``frontend/tracer.py``) on stand-in tensors of
the node's input types. A node is expanded only when the result is exactly what the node meant:

* its tensor inputs have a known dtype and fully known shape, and its other arguments are
  constants — the decomposition is Python and may branch on them;
* the trace neither warns (a value steering Python control flow) nor fails;
* the recorded output has the node's type.

Other nodes stay composite (the interpreter and the CPU codegen run them through their kernel).
Composites inside the decomposition are expanded in the next round.
"""

from __future__ import annotations

import warnings

from graphtorch.ir import types as T
from graphtorch.ir.clone import insert_graph
from graphtorch.ir.graph import Graph, Node
from graphtorch.ir.op_call import split_op_inputs
from graphtorch.ops.registry import REGISTRY, OpKind
from graphtorch.passes.manager import register_pass

MAX_ROUNDS = 8


def _concrete(t: T.Type) -> bool:
    return (isinstance(t, T.TensorType) and t.dtype is not None and t.shape is not None
            and all(isinstance(d, int) for d in t.shape))


def trace_decomposition(node: Node) -> Graph | None:
    """The decomposition of a composite ``node`` as a graph over its tensor inputs, or None."""
    import graphtorch as gt
    from graphtorch.frontend.tracer import Frame, Tracer, TracerWarning, tracing

    op = REGISTRY.get(node.op_name)
    if op is None or op.kind is not OpKind.COMPOSITE or op.decomposition is None:
        return None
    if len(node.outputs) != 1 or not _concrete(node.output.type):
        return None
    args, tensor_positions = [], []
    for i, v in enumerate(node.inputs):
        if isinstance(v.type, T.TensorType) and not v.is_constant:
            if not _concrete(v.type):
                return None
            args.append(gt.zeros(*v.type.shape, dtype=v.type.dtype))
            tensor_positions.append(i)
        elif v.is_constant:
            args.append(v.graph.constant_value(v))
        else:
            return None
    vals = op.binder.bind(*split_op_inputs(op, args))
    graph = Graph()
    tracer = Tracer()
    frame = Frame(graph)
    for i in tensor_positions:
        tracer.bind_input(frame, node.inputs[i].name or f"in{i}", args[i])
    tracer.frames.append(frame)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", TracerWarning)
            with gt.no_grad(), tracing(tracer):
                out = op.decomposition(*vals)
                if not isinstance(out, gt.Tensor):
                    return None
                graph.set_outputs([tracer.output_value(frame, out)])
    except (Exception, TracerWarning):  # noqa: BLE001 - any failure keeps the node composite
        return None
    finally:
        tracer.frames.pop()
    t = graph.outputs[0].type
    want = node.output.type
    if not isinstance(t, T.TensorType) or t.dtype is not want.dtype or t.shape != want.shape:
        return None
    for n in graph.walk():
        n.source = node.source  # errors and profiles point at the composite's call site
    return graph


def _expand(block, keep: frozenset = frozenset()) -> bool:
    changed = False
    for node in block.nodes:
        for b in node.blocks:
            changed |= _expand(b, keep)
        if not node.is_op or node.op_name in keep:
            continue
        sub = trace_decomposition(node)
        if sub is None:
            continue
        g = node.graph
        tensors = [v for v in node.inputs
                   if isinstance(v.type, T.TensorType) and not v.is_constant]
        with g.insert_point(node):
            (out,) = insert_graph(g, sub, tensors)
        name = node.output.name
        node.output.replace_all_uses_with(out)
        node.destroy()
        if name is not None and out.node is not None and out.name is None:
            out.name = name
        changed = True
    return changed


@register_pass("decompose")
def decompose(graph: Graph, ctx=None) -> bool:
    """Replace composite op nodes by their decomposition (where it traces exactly)."""
    # ctx.options["keep_composites"]: op names left whole (a backend has a kernel for them)
    keep = frozenset(ctx.options.get("keep_composites", ())) if ctx is not None else frozenset()
    changed = False
    for _ in range(MAX_ROUNDS):
        if not _expand(graph.block, keep):
            break
        changed = True
    return changed
