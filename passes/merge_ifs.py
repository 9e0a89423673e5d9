"""Merge adjacent ``prim::If`` nodes on the same condition into one.

The script compiler's exit transform guards the statements after ``if c: return a`` with a second
``if c``; merging gives the one ``if c: ... else: ...`` a reader expects (TorchScript prints the
same). Sound because both nodes test the same SSA value and nothing runs between them: on every
path the merged branch runs the first node's branch, then the second's, as before.
"""

from __future__ import annotations

from graphtorch.ir.graph import Block, Graph, Node, Value
from graphtorch.ir.kinds import Prim
from graphtorch.passes.manager import register_pass

__all__ = ["merge_adjacent_ifs"]


def _inside(node: Node, block: Block) -> bool:
    b = node.block
    while b is not None:
        if b is block:
            return True
        b = b.owner.block if b.owner is not None else None
    return False


def _replace_uses_inside(value: Value, other: Value, block: Block) -> None:
    for use in list(value.uses):
        if _inside(use.node, block):
            use.node.set_input(use.index, other)


def _merge(first: Node, second: Node) -> None:
    for b1, b2 in zip(first.blocks, second.blocks):
        for out, inner in zip(first.outputs, b1.outputs):
            _replace_uses_inside(out, inner, b2)
        for n in b2.nodes:
            n.move_to_end_of(b1)
        for v in b2.outputs:
            b1.add_output(v)
        b2.set_outputs([])
    renamed = []
    for o in second.outputs:
        merged = first.add_output(o.type)
        renamed.append((merged, o.name))
        o.replace_all_uses_with(merged)
    second.destroy()
    for merged, name in renamed:    # after destroy: the second node's names are free again
        if name is not None:
            merged.name = name
    for i in range(len(first.outputs) - 1, -1, -1):   # outputs only the second node used
        if not first.outputs[i].uses:
            for b in first.blocks:
                b.remove_output(i)
            first.remove_output(i)


def _merge_in(block: Block) -> bool:
    changed = False
    node = block.nodes[0] if block.nodes else None
    while node is not None:
        nxt = node.next
        if (node.kind == Prim.If.value and nxt is not None and nxt.kind == Prim.If.value
                and nxt.inputs[0] is node.inputs[0]):
            _merge(node, nxt)
            changed = True
            continue
        node = nxt
    for n in block.nodes:
        for b in n.blocks:
            changed |= _merge_in(b)
    return changed


@register_pass("merge_ifs")
def merge_adjacent_ifs(graph: Graph, ctx=None) -> bool:
    """Merge each ``prim::If`` into the one before it when both test the same value."""
    return _merge_in(graph.block)
