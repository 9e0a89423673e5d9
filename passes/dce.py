"""Dead-code elimination, side-effect aware."""

from __future__ import annotations

from graphtorch.ir.kinds import SIDE_EFFECT_KINDS
from graphtorch.ops.registry import REGISTRY, OpKind
from graphtorch.ops.scalar_ops import MUTATING
from graphtorch.passes.manager import register_pass


def has_side_effects(node) -> bool:
    """Calls, prints, raises, attribute writes, Python ops and random draws are kept."""
    kind = node.kind
    if kind in SIDE_EFFECT_KINDS or kind in MUTATING:
        return True
    if kind.startswith("op::"):
        op = REGISTRY.get(kind[4:])
        return op is None or op.kind is OpKind.RANDOM
    return any(has_side_effects(n) for b in node.blocks for n in b.nodes)


def _sweep(block) -> bool:
    changed = False
    for node in reversed(block.nodes):
        for b in node.blocks:
            changed |= _sweep(b)
        if any(o.uses for o in node.outputs) or has_side_effects(node):
            continue
        node.destroy()
        changed = True
    return changed


@register_pass("dce")
def eliminate_dead_code(graph, ctx=None) -> bool:
    """Remove nodes whose results are unused and which have no side effects."""
    return _sweep(graph.block)
