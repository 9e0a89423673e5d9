"""Unroll loops with a constant trip count, so their bodies fuse across iterations.

A ``prim::Loop`` is a counted for-loop when its trip count is a constant int, its initial
condition the constant ``True`` and the condition its body returns the constant ``True`` (the
script compiler emits exactly this for ``for i in range(n)``). Such a loop with at most
``MAX_TRIPS`` iterations whose copies add at most ``MAX_NODES`` nodes is replaced by ``n`` copies
of its body, the iteration counter a constant in each copy and the loop-carried values threaded
from copy to copy. Loops with side effects in their body unroll too (the order of effects is the
loop's order). Nested loops unroll inner first.
"""

from __future__ import annotations

from graphtorch.ir import types as T
from graphtorch.ir.clone import clone_node
from graphtorch.ir.graph import Graph, Node
from graphtorch.passes.manager import register_pass

MAX_TRIPS = 64
MAX_NODES = 400


def _const(v, kind):
    if v.is_constant:
        val = v.node.attrs.get("value")
        if isinstance(val, kind) and not (kind is int and isinstance(val, bool)):
            return val
    return None


def _size(block) -> int:
    return sum(1 + sum(_size(b) for b in n.blocks) for n in block.nodes)


def _counted(node: Node) -> int | None:
    if node.kind != "prim::Loop" or len(node.inputs) < 2:
        return None
    trip = _const(node.inputs[0], int)
    if trip is None or trip < 0 or _const(node.inputs[1], bool) is not True:
        return None
    body = node.blocks[0]
    if _const(body.outputs[0], bool) is not True:
        return None
    if trip > MAX_TRIPS or trip * _size(body) > MAX_NODES:
        return None
    return trip


class _Scope(dict):
    """A copy's value map: a value the body reads from an enclosing scope maps to itself."""

    def __missing__(self, value):
        return value


def _unroll(node: Node, trip: int) -> None:
    g = node.graph
    body = node.blocks[0]
    carried = list(node.inputs[2:])
    with g.insert_point(node):
        for i in range(trip):
            env = _Scope({body.inputs[0]: g.constant(i, T.INT)})
            env.update(zip(body.inputs[1:], carried))
            for n in body.nodes:
                g.insert(clone_node(g, n, env))
            carried = [env[v] for v in body.outputs[1:]]
    for out, v in zip(node.outputs, carried):
        out.replace_all_uses_with(v)
    node.destroy()


def _walk(block) -> bool:
    changed = False
    for node in list(block.nodes):
        for b in node.blocks:
            changed |= _walk(b)
        trip = _counted(node)
        if trip is not None:
            _unroll(node, trip)
            changed = True
    return changed


@register_pass("unroll_loops")
def unroll_loops(graph: Graph, ctx=None) -> bool:
    """Replace small constant-trip-count loops by copies of their body."""
    return _walk(graph.block)
