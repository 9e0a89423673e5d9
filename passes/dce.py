"""Dead-code elimination: unused nodes go unless running them is observable (ir/effects.py:
side effects, or they may raise)."""

from __future__ import annotations

from graphtorch.ir.effects import has_effects, has_side_effects
from graphtorch.passes.manager import register_pass

__all__ = ["eliminate_dead_code", "has_effects", "has_side_effects"]


def _sweep(block) -> bool:
    changed = False
    for node in reversed(block.nodes):
        for b in node.blocks:
            changed |= _sweep(b)
        if any(o.uses for o in node.outputs) or has_effects(node):
            continue
        node.destroy()
        changed = True
    return changed


@register_pass("dce")
def eliminate_dead_code(graph, ctx=None) -> bool:
    """Remove nodes whose results are unused and which have no effects (nor may raise)."""
    return _sweep(graph.block)
