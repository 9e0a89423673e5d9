"""Split a ``linear``'s bias into the ``add``/``sub`` that reads its result, so the bias add
fuses with that elementwise op.

``linear(x, W, b)`` whose only reader is an ``add`` or ``sub`` becomes ``linear(x, W, None)``
followed by ``add(., b)`` right after it: ``fuse_elementwise`` then puts the bias add in the
reader's fusion group. An LSTM cell's ``linear(x, W_ih, b_ih) + linear(h, W_hh, b_hh)`` becomes
two BLAS products and one C pass ``(p1 + b_ih) + (p2 + b_hh)`` instead of two bias passes and
an add; a residual ``x + linear(y, W, b)`` likewise.

Legal only where both forms agree on every input, errors included, which the types prove:
``W`` is a matrix and ``b`` a vector of ``W``'s row count (so the bias always fits the
product: ``linear``'s bias check cannot fail), both of one known dtype (so ``linear``'s only
dtype error is ``x``'s against ``W``, raised alike with or without the bias; without it the
product has ``b``'s dtype and the add promotes nothing). The eager kernel adds the bias to the
fresh product in the same dtype, so the values are the same bits. Not in a graph that writes
tensors in place. Runs before ``fuse_elementwise`` in the execution plan's pipeline
(``runtime/plan.py``).
"""

from __future__ import annotations

from graphtorch.ir import types as T
from graphtorch.ir.graph import Graph, Node
from graphtorch.passes.cse import mutates_tensors
from graphtorch.passes.manager import register_pass

READERS = ("op::add", "op::sub")


def _bias_fits(w_type, b_type) -> bool:
    """``W`` a matrix, ``b`` a vector of ``W``'s row count, one known dtype."""
    if not (isinstance(w_type, T.TensorType) and isinstance(b_type, T.TensorType)):
        return False
    if w_type.dtype is None or w_type.dtype is not b_type.dtype:
        return False
    ws, bs = w_type.shape, b_type.shape
    return (ws is not None and bs is not None and len(ws) == 2 and len(bs) == 1
            and isinstance(ws[0], int) and ws[0] == bs[0])


def _splittable(node: Node) -> bool:
    if node.kind != "op::linear" or len(node.inputs) < 3 or node.inputs[2].is_constant:
        return False
    uses = node.output.uses
    if len(uses) != 1:
        return False
    user = uses[0].node
    if user.kind not in READERS or user.block is not node.block or uses[0].index > 1:
        return False
    return _bias_fits(node.inputs[1].type, node.inputs[2].type)


def _split(g: Graph, node: Node) -> None:
    out, bias = node.output, node.inputs[2]
    use = out.uses[0]
    with g.insert_point(node):
        none = g.constant(None)
    with g.insert_point(node, after=True):
        add = g.emit("op::add", [out, bias], [out.type], source=node.source)
    use.node.set_input(use.index, add.output)
    node.set_input(2, none)


def _walk(g: Graph, block) -> bool:
    changed = False
    for node in list(block.nodes):
        for b in node.blocks:
            changed |= _walk(g, b)
        if _splittable(node):
            _split(g, node)
            changed = True
    return changed


@register_pass("split_linear_bias")
def split_linear_bias(graph: Graph, ctx=None) -> bool:
    """Move a linear's bias into the add/sub that reads it (so the add fuses)."""
    if mutates_tensors(graph):
        return False
    return _walk(graph, graph.block)
