"""Elementwise fusion: maximal DAGs of lowerable elementwise op nodes become ``prim::FusionGroup``.

A node is fusable when its op is ELEMENTWISE, has an expression lowering (``ops/lowering.py``),
returns one tensor, and every argument the lowering does not read holds its schema default (``div``
with a rounding_mode keeps its own node). Groups grow in program order: a fusable node joins every
open group whose values it reads (merging them); a group closes when a node outside it reads one
of its values, or at anything with side effects (calls, prints, attribute writes, random draws),
so moving the members down to the group's position never reorders effects. Sub-blocks are fused
separately: a group never crosses a control-flow boundary. Groups of one node stay as they are,
unless only reductions read the node (``(x * x).sum(1)``: the plan computes such a group inside
the reduction's sweep) or the node reads a reduction's result kept over the reduced dims
(``x - x.amax(1, keepdim=True)``: the plan runs such a group in the reduction's row loop, as
its epilogue).

The group's ``subgraph`` takes the group's external values (tensors and scalars) as inputs, holds
the member op nodes plus copies of the constants they read, and returns the values used outside.
Nothing shape-specific is recorded: the types are the original ones, so a group runs at any
batch size, and its inputs may broadcast against each other exactly as the op nodes did.
"""

from __future__ import annotations

from graphtorch.ir import types as T
from graphtorch.ir.graph import Graph, Node, TensorRef, Value
from graphtorch.ir.kinds import Prim
from graphtorch.ops.lowering import NO_DEFAULT, lowering_of, unread_args
from graphtorch.ops.registry import REGISTRY, OpKind
from graphtorch.passes.dce import has_side_effects
from graphtorch.passes.manager import register_pass

FUSION_GROUP = Prim.FusionGroup.value


def is_fusable(node: Node) -> bool:
    """Whether ``node`` may join a fusion group."""
    if not node.is_op or len(node.outputs) != 1 or node.blocks:
        return False
    op = REGISTRY.get(node.op_name)
    if op is None or op.kind is not OpKind.ELEMENTWISE or lowering_of(op) is None:
        return False
    if not isinstance(node.output.type, T.TensorType):
        return False
    for i, default in _unread(op).items():
        if i >= len(node.inputs):
            continue  # omitted trailing argument: its default
        v = node.inputs[i]
        if default is NO_DEFAULT or not v.is_constant or not _same(v.node.attrs["value"],
                                                                  default):
            return False
    return all(_is_operand(v) for v in node.inputs)


_UNREAD: dict = {}  # op -> unread_args(op): a registry op's lowering never changes


def _unread(op) -> dict:
    hit = _UNREAD.get(op)
    if hit is None:
        hit = _UNREAD[op] = unread_args(op)
    return hit


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def _is_operand(v: Value) -> bool:
    """Tensors, numbers, bools, None and dtypes can flow into a group; lists and objects not."""
    t = v.type
    if v.is_constant and isinstance(v.node.attrs.get("value"), TensorRef):
        return True
    return isinstance(t, (T.TensorType, T.IntType, T.FloatType, T.BoolType, T.NumberType,
                          T.NoneType, T.DTypeType)) or (
        isinstance(t, T.OptionalType) and isinstance(t.elem, T.TensorType))


class _Group:
    def __init__(self, node: Node):
        self.nodes: list[Node] = [node]
        self.values: set[Value] = {node.output}
        self.open = True

    def absorb(self, other: _Group) -> None:
        self.nodes += other.nodes
        self.values |= other.values
        other.nodes, other.values, other.open = [], set(), False


def _fuse_block(block) -> int:
    """Fuse the groups of ``block`` and of its nested blocks; returns how many were made."""
    made = 0
    for node in block.nodes:
        for b in node.blocks:
            made += _fuse_block(b)
    groups = _find_groups(block)
    for members in groups:
        _make_group(members)
    return made + len(groups)


def _reads(node: Node) -> list[Value]:
    """The values ``node`` reads, including those read inside its blocks."""
    vals = list(node.inputs)
    for b in node.blocks:
        for n in b.nodes:
            vals += _reads(n)
        vals += b.outputs
    return vals


def _find_groups(block) -> list[list[Node]]:
    groups: list[_Group] = []
    owner: dict[Value, _Group] = {}
    for node in block.nodes:
        reads = {owner[v] for v in _reads(node) if v in owner and owner[v].open}
        if node.kind == Prim.Constant.value:
            continue
        if is_fusable(node):
            if reads:
                target, *rest = sorted(reads, key=groups.index)
                for g in rest:
                    target.absorb(g)
                    for v in target.values:
                        owner[v] = target
                target.nodes.append(node)
                target.values.add(node.output)
            else:
                target = _Group(node)
                groups.append(target)
            owner[node.output] = target
            continue
        for g in reads:
            g.open = False
        if has_side_effects(node):
            for g in groups:
                g.open = False
    return [g.nodes for g in groups
            if len(g.nodes) > 1 or (len(g.nodes) == 1 and (_feeds_reductions(g.nodes[0])
                                                           or _reads_kept(g.nodes[0])))]


REDUCTIONS = frozenset({"op::sum", "op::mean", "op::amax", "op::amin", "op::var"})


def _feeds_reductions(node: Node) -> bool:
    """Whether only reductions read ``node``'s value: as a group of one, the plan computes it
    inside the reduction's sweep (``runtime/c_reduce_group.py``) instead of storing it."""
    uses = node.output.uses
    return bool(uses) and all(u.node.kind in REDUCTIONS and u.node.inputs[0] is node.output
                              and u.index == 0 for u in uses)


_KEEPDIM = {"op::sum": 2, "op::mean": 2, "op::amax": 2, "op::amin": 2, "op::var": 3}


def _reads_kept(node: Node) -> bool:
    """Whether ``node`` reads the result of a reduction with ``keepdim=True`` (a constant), or a
    reduction's result through ``unsqueeze``: as a group of one, the plan can run it in the
    reduction's row loop (its epilogue, ``runtime/c_reduce_epilogue.py``) instead of as another
    pass over the tensor."""
    for v in node.inputs:
        red = v.node
        if red is not None and red.kind == "op::unsqueeze" and red.inputs[0].node is not None \
                and red.inputs[0].node.kind in _KEEPDIM:
            return True         # NOTE: x.amax(1).unsqueeze(1): kept by the plan when it fits
        if red is None or red.kind not in _KEEPDIM or len(red.inputs) <= _KEEPDIM[red.kind]:
            continue
        keep = red.inputs[_KEEPDIM[red.kind]]
        if keep.is_constant and keep.node.attrs["value"] is True:
            return True
    return False


def _make_group(members: list[Node]) -> Node:
    """Replace ``members`` (in program order) by one FusionGroup node after the last of them."""
    graph = members[0].graph
    member_set = set(members)
    inside = {o for n in members for o in n.outputs}
    sub = Graph()
    env: dict[Value, Value] = {}
    externals: list[Value] = []
    for n in members:
        for v in n.inputs:
            if v in env or v in inside:
                continue
            if v.is_constant and not isinstance(v.node.attrs.get("value"), TensorRef):
                env[v] = sub.constant(v.node.attrs["value"], v.type)
            else:
                env[v] = sub.add_input(v.name, v.type)
                externals.append(v)
        copy = sub.create(n.kind, [env[v] for v in n.inputs], [], dict(n.attrs), n.source)
        sub.insert(copy)
        env[n.output] = copy.add_output(n.output.type, n.output.name)
    escaping = [n.output for n in members
                if any(u.node not in member_set for u in n.output.uses)]
    sub.set_outputs([env[v] for v in escaping])
    last = members[-1]
    group = graph.create(FUSION_GROUP, externals, [], {"subgraph": sub}, last.source)
    group.insert_after(last)
    for v in escaping:
        out = group.add_output(v.type)
        name = v.name
        v.replace_all_uses_with(out)
        if name is not None:
            v.name = None
            out.name = name
    for n in reversed(members):
        n.destroy()
    return group


@register_pass("fuse_elementwise")
def fuse_elementwise(graph: Graph, ctx=None) -> bool:
    """Group chains and DAGs of lowerable elementwise ops into prim::FusionGroup nodes."""
    return _fuse_block(graph.block) > 0


def fusion_groups(graph: Graph) -> list[Node]:
    """Every FusionGroup node of ``graph``, sub-blocks included, in program order."""
    return [n for n in graph.walk() if n.kind == FUSION_GROUP]
