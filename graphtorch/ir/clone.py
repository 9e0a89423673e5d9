"""Copying nodes between graphs: ``graph.copy()`` and :func:`insert_graph` (used by inlining)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from graphtorch.errors import GraphError
from graphtorch.ir.graph import Block, Graph, Node, TensorRef, Value


def copy_attr(value: object, ref_map: Callable[[TensorRef], TensorRef] | None = None) -> object:
    """A copy of an attribute value: nested graphs are deep-copied, lists get new lists."""
    if isinstance(value, Graph):
        return copy_graph(value)
    if isinstance(value, TensorRef) and ref_map is not None:
        return ref_map(value)
    if isinstance(value, list):
        return [copy_attr(v, ref_map) for v in value]
    if isinstance(value, tuple):
        return tuple(copy_attr(v, ref_map) for v in value)
    return value


def clone_node(graph: Graph, node: Node, env: dict[Value, Value],
               ref_map: Callable[[TensorRef], TensorRef] | None = None) -> Node:
    """A copy of ``node`` in ``graph`` (not inserted), inputs mapped through ``env``.

    The copy's outputs (and those of its blocks' nodes) are added to ``env``.
    """
    try:
        inputs = [env[v] for v in node.inputs]
    except KeyError:
        missing = next(v for v in node.inputs if v not in env)
        raise GraphError(f"cannot clone {node.kind}: input %{missing.name or missing.index} is "
                         f"not defined in the copied scope") from None
    attrs = {k: copy_attr(v, ref_map) for k, v in node.attrs.items()}
    new = graph.create(node.kind, inputs, [], attrs, node.source)
    for o in node.outputs:
        env[o] = new.add_output(o.type, o.name)
    for b in node.blocks:
        clone_block_into(graph, b, new.add_block(), env, ref_map)
    return new


def clone_block_into(graph: Graph, src: Block, dst: Block, env: dict[Value, Value],
                     ref_map: Callable[[TensorRef], TensorRef] | None = None) -> None:
    """Copy ``src``'s parameters, nodes and returns into the empty block ``dst``."""
    for p in src.inputs:
        env[p] = dst.add_input(p.name, p.type)
    for n in src.nodes:
        dst.append(clone_node(graph, n, env, ref_map))
    dst.set_outputs([env[v] for v in src.outputs])


def copy_graph(g: Graph) -> Graph:
    """A deep copy of ``g`` (tensor constants are shared, not copied)."""
    new = Graph()
    new.tensor_constants = dict(g.tensor_constants)
    new.defaults = dict(g.defaults)
    new.functions = dict(g.functions)
    new.named_results = g.named_results
    clone_block_into(new, g.block, new.block, {})
    return new


def insert_graph(g: Graph, callee: Graph, inputs: Sequence[Value]) -> list[Value]:
    """Copy ``callee``'s nodes into ``g`` at its insertion point, its parameters bound to
    ``inputs``; returns the values standing for ``callee``'s outputs."""
    if len(inputs) != len(callee.inputs):
        raise GraphError(f"insert_graph: the callee takes {len(callee.inputs)} input(s), got "
                         f"{len(inputs)}")
    env: dict[Value, Value] = dict(zip(callee.inputs, inputs))
    renamed: dict[str, TensorRef] = {}

    def ref_map(ref: TensorRef) -> TensorRef:
        if ref.name not in renamed:
            if ref.name not in callee.tensor_constants:
                raise GraphError(f"insert_graph: tensor constant {ref.name!r} is missing from "
                                 f"the callee's tensor_constants")
            tensor = callee.tensor_constants[ref.name]
            same = g.tensor_constants.get(ref.name)
            renamed[ref.name] = (ref if same is tensor
                                 else g.add_tensor_constant(tensor, ref.name))
        return renamed[ref.name]

    for n in callee.nodes():
        g.insert(clone_node(g, n, env, ref_map))
    return [env[v] for v in callee.outputs]
