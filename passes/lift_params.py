"""Lift parameters and buffers to graph inputs.

Every ``prim::GetAttr`` chain from ``self`` that ends at a tensor becomes a new graph input;
the caller passes the tensors, resolved by attribute path at each call (so a parameter replaced
on the module is seen).
"""

from __future__ import annotations

from graphtorch.passes.inline import attr_path, resolve_path
from graphtorch.passes.manager import register_pass
from graphtorch.tensor import Tensor


def lift_parameters(graph, module) -> list[tuple[str, ...]]:
    """Rewrite ``graph``; returns the attribute paths of the new trailing inputs, in order."""
    self_value = graph.inputs[0]
    lifted: dict[tuple[str, ...], object] = {}
    # NOTE: an attribute the graph assigns (prim::SetAttr) is read where it is read, never lifted:
    # a lifted input holds the value from the start of the call
    assigned = set()
    for node in graph.walk():
        if node.kind == "prim::SetAttr":
            owner = attr_path(node.inputs[0], self_value)
            if owner is not None:
                assigned.add(tuple(owner) + (node.attrs["name"],))
    for node in graph.walk():
        if node.kind != "prim::GetAttr":
            continue
        path = attr_path(node.outputs[0], self_value)
        if path is None or tuple(path) in assigned or \
                not isinstance(resolve_path(module, path), Tensor):
            continue
        value = lifted.get(path)
        if value is None:
            value = graph.add_input("_".join(path), node.outputs[0].type)
            lifted[path] = value
        node.outputs[0].replace_all_uses_with(value)
    return list(lifted)


@register_pass("lift_params")
def lift_params_pass(graph, ctx) -> bool:
    """Turn GetAttr chains reaching parameters/buffers into graph inputs (ctx.module needed)."""
    paths = lift_parameters(graph, ctx.module)
    ctx.options["lifted_paths"] = paths
    return bool(paths)
