"""Freezing: a module's parameters, buffers and submodule calls folded into one flat graph."""

from __future__ import annotations

from graphtorch.errors import UnsupportedError
from graphtorch.passes.dce import eliminate_dead_code
from graphtorch.passes.inline import attr_path, resolve_path
from graphtorch.passes.prepare import prepare_method


def freeze_method(module, name: str = "forward"):
    """A copy of ``module.<name>``'s graph with calls inlined and module state as constants.

    Tensors become tensor constants (detached copies, so later training of the module does not
    change the frozen graph); plain attributes read with ``prim::GetAttr`` become constants. A
    graph that assigns attributes (``prim::SetAttr``) is refused.
    """
    graph, paths = prepare_method(module, name)
    n_user = len(graph.inputs) - len(paths)
    first = graph.block.nodes[0] if graph.block.nodes else None
    for path, value in zip(paths, graph.inputs[n_user:]):
        tensor = resolve_path(module, path).detach().clone()
        if first is not None:
            with graph.insert_point(first):
                const = graph.constant(tensor, value.type, name="_".join(path))
        else:
            const = graph.constant(tensor, value.type, name="_".join(path))
        value.replace_all_uses_with(const)
    for i in range(len(graph.inputs) - 1, n_user - 1, -1):
        graph.block.remove_input(i)
    self_value = graph.inputs[0]
    for node in graph.walk():
        if node.kind == "prim::SetAttr":   # state that changes between calls: not foldable
            owner = attr_path(node.inputs[0], self_value)
            owner = ("?",) if owner is None else owner
            where = f" (at {node.source})" if node.source is not None else ""
            raise UnsupportedError(
                f"cannot freeze {name}: it assigns the attribute "
                f"{'.'.join(('self', *owner, node.attrs['name']))}{where}, which a frozen "
                f"graph (all state folded into constants) cannot hold; run the module unfrozen")
    for node in graph.walk():
        if node.kind != "prim::GetAttr":
            continue
        path = attr_path(node.outputs[0], self_value)
        if path is None:
            continue
        obj = resolve_path(module, path)
        if isinstance(obj, (bool, int, float, str)) or obj is None:
            with graph.insert_point(node):
                const = graph.constant(obj)
            node.outputs[0].replace_all_uses_with(const)
    eliminate_dead_code(graph)
    return graph
