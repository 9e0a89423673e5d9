"""Decompose: expand composite op nodes (gelu, layer_norm, linear ...) into their parts.

Graphs keep composites as single readable nodes; before fusion this pass replaces each one by the
registry's decomposition, recorded by tracing it (``ir/capture.py``) on stand-in tensors of
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

from graphtorch.autograd.grad_mode import no_grad
from graphtorch.functions import zeros
from graphtorch.ir import types as T
from graphtorch.ir.capture import Frame, Tracer, TracerWarning, tracing
from graphtorch.ir.clone import insert_graph
from graphtorch.ir.graph import Graph, Node, Value
from graphtorch.ir.op_call import split_op_inputs
from graphtorch.ops.registry import REGISTRY, OpKind
from graphtorch.passes.manager import register_pass

MAX_ROUNDS = 8


def _concrete(t: T.Type) -> bool:
    return (isinstance(t, T.TensorType) and t.dtype is not None and t.shape is not None
            and all(isinstance(d, int) for d in t.shape))


def record_decomposition(node: Node, args: list, inputs: list[int],
                         strict: bool = True) -> Graph:
    """The decomposition of ``node``'s op, run on ``args`` (one value per node input) while a
    tracer records it: a graph whose inputs stand for the node inputs at positions ``inputs``
    (the other arguments are constants of the graph) and whose outputs are the node's.

    Raises :class:`TracerWarning` when the decomposition reads a tensor value in Python (the
    graph would hold it as a constant), and whatever the decomposition raises.
    """
    op = REGISTRY[node.op_name]
    vals = op.binder.bind(*split_op_inputs(op, args))
    graph = Graph()
    tracer = Tracer(strict=strict)
    frame = Frame(graph)
    for i in inputs:
        tracer.bind_input(frame, node.inputs[i].name or f"in{i}", args[i])
    tracer.frames.append(frame)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", TracerWarning)
            with no_grad(), tracing(tracer):
                out = op.decomposition(*vals)
                outs = [out] if len(node.outputs) == 1 else list(out)
                graph.set_outputs([tracer.output_value(frame, o) for o in outs])
    finally:
        tracer.frames.pop()
    for n in graph.walk():
        n.source = node.source  # errors and profiles point at the composite's call site
    return graph


def splice_decomposition(node: Node, sub: Graph, inputs: list[int]) -> list[Value]:
    """Replace ``node`` by the nodes of ``sub``, recorded by :func:`record_decomposition` over
    the node inputs at positions ``inputs``; the node's output names carry over. Returns the
    values that now stand for the node's outputs."""
    g = node.graph
    with g.insert_point(node):
        new = insert_graph(g, sub, [node.inputs[i] for i in inputs])
    for old, out in zip(node.outputs, new):
        name = old.name
        old.replace_all_uses_with(out)
        if name is not None and out.node is not None and out.name is None:
            out.name = name
    node.destroy()
    return new


def trace_decomposition(node: Node) -> tuple[Graph, list[int]] | None:
    """The decomposition of a composite ``node`` recorded on stand-in tensors of its input
    types, with the positions of the inputs it stands on; None where that would not be exactly
    what the node means (see the module docstring)."""
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
            args.append(zeros(*v.type.shape, dtype=v.type.dtype))
            tensor_positions.append(i)
        elif v.is_constant:
            args.append(v.graph.constant_value(v))
        else:
            return None
    try:
        graph = record_decomposition(node, args, tensor_positions)
    except (Exception, TracerWarning):  # noqa: BLE001 - any failure keeps the node composite
        return None
    t = graph.outputs[0].type
    want = node.output.type
    if not isinstance(t, T.TensorType) or t.dtype is not want.dtype or t.shape != want.shape:
        return None
    return graph, tensor_positions


def _expand(block, keep: frozenset = frozenset()) -> bool:
    changed = False
    for node in block.nodes:
        for b in node.blocks:
            changed |= _expand(b, keep)
        if not node.is_op or node.op_name in keep:
            continue
        traced = trace_decomposition(node)
        if traced is None:
            continue
        splice_decomposition(node, *traced)
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
