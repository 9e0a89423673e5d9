"""Inline calls: prim::CallMethod on compiled submodules and prim::CallFunction.

Submodules are found statically through the ``prim::GetAttr`` chain from the graph's ``self``
input; calls on plain (eager fallback) modules stay calls.
"""

from __future__ import annotations

from graphtorch.errors import GraphError
from graphtorch.ir.clone import insert_graph
from graphtorch.ir.compilation_unit import method_graph, module_member
from graphtorch.passes.manager import register_pass

MAX_INLINE_DEPTH = 200


def attr_path(value, self_value) -> tuple[str, ...] | None:
    """The attribute path ``self.a.b`` a value was read from, or None if not such a chain."""
    path: list[str] = []
    while value is not self_value:
        node = value.node
        if node is None or node.kind != "prim::GetAttr":
            return None
        path.append(node.attrs["name"])
        value = node.inputs[0]
    return tuple(reversed(path))


def resolve_path(module, path: tuple[str, ...]):
    """The object at ``self.a.b``: declared module members only (module_member)."""
    obj = module
    for name in path:
        obj = module_member(obj, name)
    return obj


def _callee(node, graph, module):
    if node.kind == "prim::CallFunction":
        fn = graph.functions.get(node.attrs.get("name"))
        return None if fn is None else fn.graph
    if node.kind == "prim::CallMethod" and module is not None and graph.inputs:
        path = attr_path(node.inputs[0], graph.inputs[0])
        if path is None:
            return None
        return method_graph(resolve_path(module, path), node.attrs["name"])
    return None


@register_pass("inline")
def inline_calls(graph, ctx=None) -> bool:
    """Replace calls of compiled methods/functions by their bodies, until none is left."""
    module = ctx.module if ctx is not None else None
    changed = False
    for _ in range(MAX_INLINE_DEPTH):
        target = None
        for node in graph.walk():
            if node.kind in ("prim::CallMethod", "prim::CallFunction"):
                callee = _callee(node, graph, module)
                if callee is not None:
                    target = (node, callee)
                    break
        if target is None:
            return changed
        node, callee = target
        with graph.insert_point(node):
            outs = insert_graph(graph, callee, list(node.inputs))
        _adopt_functions(graph, callee)
        if len(outs) != len(node.outputs):
            raise GraphError(f"inline: {node.kind} has {len(node.outputs)} outputs but the callee "
                             f"returns {len(outs)}")
        for old, new in zip(node.outputs, outs):
            old.replace_all_uses_with(new)
        node.destroy()
        changed = True
    raise GraphError(f"inline: more than {MAX_INLINE_DEPTH} nested calls (recursion?)")


def _adopt_functions(graph, callee) -> None:
    """The callee's calls, now copied into ``graph``, keep resolving to the callee's unit."""
    for name, fn in callee.functions.items():
        bound = graph.functions.setdefault(name, fn)
        if bound is not fn:
            raise GraphError(f"inline: two different functions are named {name!r} in one "
                             f"graph")
