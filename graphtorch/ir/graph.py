"""The SSA graph: :class:`Graph` owns a top :class:`Block` of :class:`Node` s producing
:class:`Value` s; nodes may own sub-blocks (``prim::If``, ``prim::Loop``).

A block's outputs are the inputs of a hidden ``prim::Return`` node (``block.return_node``), so a
value returned by a block has a :class:`Use` like any other. Nodes of a block form a doubly linked
list; ``block.nodes`` and ``graph.nodes()`` return snapshots, so passes may insert and destroy
nodes while iterating.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from graphtorch.errors import GraphError
from graphtorch.ir.kinds import Namespace, Prim, check_kind, split_kind
from graphtorch.ir.source import SourceLoc
from graphtorch.ir.types import TENSOR, Type, type_of_value
from graphtorch.tensor import Tensor


@dataclass(frozen=True)
class Use:
    """``node.inputs[index]`` is the used value."""

    node: Node
    index: int


@dataclass(frozen=True)
class TensorRef:
    """A ``prim::Constant`` value naming an entry of ``graph.tensor_constants``."""

    name: str


_NAME_OK = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.]*$")
_SUFFIX = re.compile(r"^(.*)\.(\d+)$")


def _clean_name(name: str | None) -> str | None:
    """A printable debug name, or None: pure digits are reserved for unnamed values."""
    if name is None:
        return None
    name = re.sub(r"[^A-Za-z0-9_.]", "_", str(name)).rstrip(".")
    if not name or name.isdigit():
        return None
    if not _NAME_OK.match(name):
        name = "_" + name
    return name


class Value:
    """An SSA value: a node output or a block parameter."""

    __slots__ = ("graph", "_name", "type", "node", "block", "index", "uses")

    def __init__(self, graph: Graph, type: Type, node: Node | None, block: Block | None,
                 index: int):
        if not isinstance(type, Type):
            raise GraphError(f"value type must be an IR Type, got {type!r}")
        self.graph = graph
        self._name: str | None = None
        self.type = type
        self.node = node          # producer; None for a block parameter
        self.block = block        # the block of a parameter; None for a node output
        self.index = index        # position in node.outputs or block.inputs
        self.uses: list[Use] = []

    @property
    def name(self) -> str | None:
        """The debug name (unique in the graph), or None when the value prints as %<number>."""
        return self._name

    @name.setter
    def name(self, name: str | None) -> None:
        self.graph._set_name(self, name)

    @property
    def is_param(self) -> bool:
        return self.node is None

    @property
    def is_constant(self) -> bool:
        return self.node is not None and self.node.kind == Prim.Constant.value

    def replace_all_uses_with(self, other: Value) -> None:
        """Make every user of this value (including block returns) use ``other`` instead."""
        if other is self:
            return
        if other.graph is not self.graph:
            raise GraphError("replace_all_uses_with: the replacement belongs to another graph")
        for use in list(self.uses):
            use.node.set_input(use.index, other)

    def __repr__(self) -> str:
        return f"%{self._name if self._name is not None else '<unnamed>'} : {self.type}"


class Node:
    """One operation: ``kind`` applied to ``inputs``, producing ``outputs``."""

    __slots__ = ("graph", "kind", "inputs", "outputs", "attrs", "blocks", "source", "block",
                 "_prev", "_next")

    def __init__(self, graph: Graph, kind: str, source: SourceLoc | None = None):
        self.graph = graph
        self.kind: str = check_kind(kind)
        self.inputs: list[Value] = []
        self.outputs: list[Value] = []
        self.attrs: dict[str, object] = {}
        self.blocks: list[Block] = []
        self.source = source
        self.block: Block | None = None   # the block this node is inserted in
        self._prev: Node | None = None
        self._next: Node | None = None

    # -- kind --------------------------------------------------------------------------------
    @property
    def namespace(self) -> Namespace:
        return split_kind(self.kind)[0]

    @property
    def is_op(self) -> bool:
        return self.kind.startswith("op::")

    @property
    def op_name(self) -> str:
        """The registry name of an ``op::`` node."""
        if not self.is_op:
            raise GraphError(f"node {self.kind} is not a registry op node")
        return self.kind[4:]

    # -- inputs ------------------------------------------------------------------------------
    def add_input(self, value: Value) -> None:
        self._check_same_graph(value)
        value.uses.append(Use(self, len(self.inputs)))
        self.inputs.append(value)

    def set_input(self, index: int, value: Value) -> None:
        self._check_same_graph(value)
        old = self.inputs[index]
        old.uses.remove(Use(self, index))
        self.inputs[index] = value
        value.uses.append(Use(self, index))

    def insert_input(self, index: int, value: Value) -> None:
        self._check_same_graph(value)
        rest = self._drop_inputs_from(index)
        self.add_input(value)
        for v in rest:
            self.add_input(v)

    def remove_input(self, index: int) -> None:
        rest = self._drop_inputs_from(index)
        for v in rest[1:]:
            self.add_input(v)

    def remove_all_inputs(self) -> None:
        self._drop_inputs_from(0)

    def _drop_inputs_from(self, index: int) -> list[Value]:
        rest = self.inputs[index:]
        for i, v in enumerate(rest, start=index):
            v.uses.remove(Use(self, i))
        del self.inputs[index:]
        return rest

    def _check_same_graph(self, value: Value) -> None:
        if not isinstance(value, Value):
            raise GraphError(f"node input must be a Value, got {value!r} (wrap constants with "
                             f"graph.constant(...))")
        if value.graph is not self.graph:
            raise GraphError(f"{self.kind}: input %{value.name} belongs to another graph")

    # -- outputs and blocks ------------------------------------------------------------------
    def add_output(self, type: Type = TENSOR, name: str | None = None) -> Value:
        v = Value(self.graph, type, self, None, len(self.outputs))
        self.outputs.append(v)
        if name is not None:
            v.name = name
        return v

    def remove_output(self, index: int) -> None:
        v = self.outputs[index]
        if v.uses:
            raise GraphError(f"cannot remove output {index} of {self.kind}: it still has "
                             f"{len(v.uses)} use(s)")
        self.graph._set_name(v, None)
        del self.outputs[index]
        for i, o in enumerate(self.outputs):
            o.index = i

    @property
    def output(self) -> Value:
        """The single output (GraphError unless the node has exactly one)."""
        if len(self.outputs) != 1:
            raise GraphError(f"{self.kind} has {len(self.outputs)} outputs, expected exactly 1")
        return self.outputs[0]

    def add_block(self) -> Block:
        b = Block(self.graph, self)
        self.blocks.append(b)
        return b

    # -- position ----------------------------------------------------------------------------
    @property
    def next(self) -> Node | None:
        return self._next

    @property
    def prev(self) -> Node | None:
        return self._prev

    @property
    def owning_node(self) -> Node | None:
        """The node whose block contains this node (None at the top level)."""
        return None if self.block is None else self.block.owner

    def insert_before(self, other: Node) -> Node:
        """Insert this (not yet inserted) node right before ``other``."""
        self._check_insertable(other)
        other.block._link(self, before=other)
        return self

    def insert_after(self, other: Node) -> Node:
        self._check_insertable(other)
        other.block._link(self, before=other._next)
        return self

    def move_before(self, other: Node) -> None:
        self._unlink()
        self.insert_before(other)

    def move_after(self, other: Node) -> None:
        self._unlink()
        self.insert_after(other)

    def move_to_end_of(self, block: Block) -> None:
        """Move this node to the end of ``block`` (before its return)."""
        self._unlink()
        block.append(self)

    def _check_insertable(self, other: Node) -> None:
        if self.block is not None:
            raise GraphError(f"{self.kind} node is already in a block; use move_before/after")
        if other.block is None:
            raise GraphError(f"cannot insert next to a {other.kind} node that is not in a block")
        if other.graph is not self.graph:
            raise GraphError(f"cannot insert a {self.kind} node into another graph")

    def _unlink(self) -> None:
        if self.block is not None:
            self.block._unlink(self)

    def is_before(self, other: Node) -> bool:
        """Whether this node comes before ``other`` in program order (pre-order)."""
        a, b = self._path(), other._path()
        for (ba, na), (bb, nb) in zip(a, b):
            if ba is not bb:
                raise GraphError("is_before: nodes are not in the same graph")
            if na is not nb:
                return ba.index_of(na) < ba.index_of(nb)
        return len(a) < len(b)   # an ancestor comes before the nodes of its blocks

    def _path(self) -> list[tuple[Block, Node]]:
        path, n = [], self
        while n is not None:
            if n.block is None:
                raise GraphError(f"{n.kind} node is not inserted in a block")
            path.append((n.block, n))
            n = n.block.owner
        return path[::-1]

    # -- removal -----------------------------------------------------------------------------
    def destroy(self) -> None:
        """Erase this node; its outputs must be unused."""
        for o in self.outputs:
            if o.uses:
                # NOTE: printer.py imports this module: a module-level import would cycle
                from graphtorch.ir.printer import node_line

                user = o.uses[0].node
                where = "a block return" if user.kind == Prim.Return.value else node_line(user)
                raise GraphError(f"cannot destroy `{node_line(self)}`: output "
                                 f"%{o.name or o.index} still has {len(o.uses)} use(s), first "
                                 f"in `{where}`")
        self._drop()

    def _drop(self) -> None:
        # Inner nodes may only be used inside the block, so clearing the blocks first is safe.
        for b in self.blocks:
            b._clear()
        self.remove_all_inputs()
        for o in self.outputs:
            o.uses.clear()
            self.graph._set_name(o, None)
        self._unlink()

    def __str__(self) -> str:
        from graphtorch.ir.printer import node_line  # NOTE: printer.py imports this module

        return node_line(self)

    def __repr__(self) -> str:
        return f"<Node {self}>"


class Block:
    """A list of nodes with parameters (``inputs``) and results (``outputs``)."""

    __slots__ = ("graph", "owner", "inputs", "return_node", "_first", "_last")

    def __init__(self, graph: Graph, owner: Node | None):
        self.graph = graph
        self.owner = owner            # the node owning this block; None for the top block
        self.inputs: list[Value] = []
        self.return_node = Node(graph, Prim.Return.value)
        self.return_node.block = self
        self._first: Node | None = None
        self._last: Node | None = None

    @property
    def outputs(self) -> list[Value]:
        return list(self.return_node.inputs)

    @property
    def nodes(self) -> list[Node]:
        out, n = [], self._first
        while n is not None:
            out.append(n)
            n = n._next
        return out

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def index_of(self, node: Node) -> int:
        for i, n in enumerate(self.nodes):
            if n is node:
                return i
        raise GraphError(f"{node.kind} node is not in this block")

    def add_input(self, name: str | None = None, type: Type = TENSOR) -> Value:
        v = Value(self.graph, type, None, self, len(self.inputs))
        self.inputs.append(v)
        if name is not None:
            v.name = name
        return v

    def insert_input(self, index: int, name: str | None = None, type: Type = TENSOR) -> Value:
        v = Value(self.graph, type, None, self, index)
        self.inputs.insert(index, v)
        for i, p in enumerate(self.inputs):
            p.index = i
        if name is not None:
            v.name = name
        return v

    def remove_input(self, index: int) -> None:
        v = self.inputs[index]
        if v.uses:
            raise GraphError(f"cannot remove block input %{v.name or index}: it still has "
                             f"{len(v.uses)} use(s)")
        self.graph._set_name(v, None)
        del self.inputs[index]
        for i, p in enumerate(self.inputs):
            p.index = i

    def set_outputs(self, values: Sequence[Value]) -> None:
        self.return_node.remove_all_inputs()
        for v in values:
            self.return_node.add_input(v)

    def add_output(self, value: Value) -> int:
        self.return_node.add_input(value)
        return len(self.return_node.inputs) - 1

    def remove_output(self, index: int) -> None:
        self.return_node.remove_input(index)

    def append(self, node: Node) -> Node:
        if node.block is not None:
            raise GraphError(f"{node.kind} node is already in a block")
        if node.graph is not self.graph:
            raise GraphError(f"cannot insert a {node.kind} node into another graph")
        self._link(node, before=None)
        return node

    def _link(self, node: Node, before: Node | None) -> None:
        node.block = self
        if before is None:
            node._prev, node._next = self._last, None
            if self._last is None:
                self._first = node
            else:
                self._last._next = node
            self._last = node
        else:
            node._prev, node._next = before._prev, before
            if before._prev is None:
                self._first = node
            else:
                before._prev._next = node
            before._prev = node

    def _unlink(self, node: Node) -> None:
        if node._prev is None:
            self._first = node._next
        else:
            node._prev._next = node._next
        if node._next is None:
            self._last = node._prev
        else:
            node._next._prev = node._prev
        node._prev = node._next = None
        node.block = None

    def _clear(self) -> None:
        self.return_node.remove_all_inputs()
        for n in reversed(self.nodes):
            n._drop()
        for v in self.inputs:
            v.uses.clear()
            self.graph._set_name(v, None)


class Graph:
    """A function in SSA form: ``graph.block`` holds its parameters, nodes and returns."""

    def __init__(self):
        self._names: dict[str, Value] = {}
        self._next_suffix: dict[str, int] = {}
        self.block = Block(self, None)
        # Tensors of prim::Constant nodes, by the name their TensorRef carries.
        self.tensor_constants: dict[str, object] = {}
        # Default values of the user-facing arguments, by parameter name (the compiler records
        # them; the executor fills missing call arguments from them; the archive stores them).
        self.defaults: dict[str, object] = {}
        # The functions prim::CallFunction[name=...] calls, by name: this graph's compilation
        # unit (a jit.script call tree, or one loaded archive), never a process-wide table.
        self.functions: dict[str, object] = {}
        # How Python sees the results when they hold NamedTuples (the script compiler sets it: a
        # function rebuilding the classes from the tuples the graph returns); None otherwise.
        self.named_results = None
        self._ip_block: Block = self.block
        self._ip_before: Node | None = None
        self._source: SourceLoc | None = None

    # -- names -------------------------------------------------------------------------------
    def _set_name(self, value: Value, name: str | None) -> None:
        old = value._name
        if old is not None and self._names.get(old) is value:
            del self._names[old]
        value._name = None
        name = _clean_name(name)
        if name is None:
            return
        if name in self._names:
            m = _SUFFIX.match(name)
            base = m.group(1) if m else name
            i = self._next_suffix.get(base, 1)
            while f"{base}.{i}" in self._names:
                i += 1
            self._next_suffix[base] = i + 1
            name = f"{base}.{i}"
        self._names[name] = value
        value._name = name

    def value_named(self, name: str) -> Value | None:
        return self._names.get(name)

    # -- inputs and outputs ------------------------------------------------------------------
    @property
    def inputs(self) -> list[Value]:
        return list(self.block.inputs)

    @property
    def outputs(self) -> list[Value]:
        return self.block.outputs

    def add_input(self, name: str | None = None, type: Type = TENSOR) -> Value:
        return self.block.add_input(name, type)

    def set_outputs(self, values: Sequence[Value]) -> None:
        self.block.set_outputs(values)

    # -- building ----------------------------------------------------------------------------
    def create(self, kind: str, inputs: Sequence[Value] = (), output_types: Sequence[Type] = (),
               attrs: dict[str, object] | None = None, source: SourceLoc | None = None) -> Node:
        """A new node (not inserted); ``source`` defaults to the current ``with g.source()``."""
        n = Node(self, kind, source if source is not None else self._source)
        for v in inputs:
            n.add_input(v)
        for t in output_types:
            n.add_output(t)
        if attrs:
            n.attrs.update(attrs)
        return n

    def insert(self, node: Node) -> Node:
        """Insert ``node`` at the insertion point (by default the end of the top block)."""
        if self._ip_before is not None:
            node.insert_before(self._ip_before)
        else:
            self._ip_block.append(node)
        return node

    def emit(self, kind: str, inputs: Sequence[Value] = (), output_types: Sequence[Type] = (),
             attrs: dict[str, object] | None = None, source: SourceLoc | None = None) -> Node:
        """``create`` then ``insert``."""
        return self.insert(self.create(kind, inputs, output_types, attrs, source))

    def set_insert_point(self, target: Block | Node, after: bool = False) -> None:
        """Insert at the end of a block, or before (``after=True``: after) a node."""
        if isinstance(target, Block):
            self._ip_block, self._ip_before = target, None
        elif isinstance(target, Node):
            if target.block is None:
                raise GraphError(f"insertion point {target.kind} is not in a block")
            self._ip_block = target.block
            self._ip_before = target._next if after else target
        else:
            raise GraphError(f"insertion point must be a Block or a Node, got {target!r}")

    @contextlib.contextmanager
    def insert_point(self, target: Block | Node, after: bool = False) -> Iterator[None]:
        saved = self._ip_block, self._ip_before
        self.set_insert_point(target, after)
        try:
            yield
        finally:
            self._ip_block, self._ip_before = saved

    @contextlib.contextmanager
    def source(self, loc: SourceLoc | None) -> Iterator[None]:
        """Stamp ``loc`` on nodes created inside the ``with``."""
        saved = self._source
        self._source = loc
        try:
            yield
        finally:
            self._source = saved

    @property
    def current_source(self) -> SourceLoc | None:
        return self._source

    # -- constants ---------------------------------------------------------------------------
    def add_tensor_constant(self, tensor: object, name: str | None = None) -> TensorRef:
        base = _clean_name(name) or "c"
        name, i = base, 0
        if name == "c" or name in self.tensor_constants:
            while f"{base}{i}" in self.tensor_constants:
                i += 1
            name = f"{base}{i}"
        self.tensor_constants[name] = tensor
        return TensorRef(name)

    def constant(self, value: object, type: Type | None = None, name: str | None = None) -> Value:
        """Insert a ``prim::Constant`` holding ``value``; tensors go to ``tensor_constants``."""
        t = type if type is not None else type_of_value(value)
        if isinstance(value, Tensor):
            value = self.add_tensor_constant(value)
        n = self.emit(Prim.Constant.value, (), [t], {"value": value})
        if name is not None:
            n.output.name = name
        return n.output

    def constant_value(self, value: Value) -> object:
        """The Python value of a ``prim::Constant`` output (tensors resolved)."""
        if not value.is_constant:
            what = "a block parameter" if value.node is None else f"a {value.node.kind} output"
            raise GraphError(f"%{value.name or value.index} is {what}, not a constant")
        v = value.node.attrs.get("value")
        if isinstance(v, TensorRef):
            try:
                return self.tensor_constants[v.name]
            except KeyError:
                raise GraphError(f"tensor constant {v.name!r} is missing from "
                                 f"graph.tensor_constants") from None
        return v

    # -- traversal ---------------------------------------------------------------------------
    def nodes(self) -> list[Node]:
        """The nodes of the top block, in order."""
        return self.block.nodes

    def walk(self) -> list[Node]:
        """Every node, sub-blocks included, in pre-order (a node before its blocks' nodes)."""
        out: list[Node] = []

        def visit(block: Block) -> None:
            for n in block.nodes:
                out.append(n)
                for b in n.blocks:
                    visit(b)

        visit(self.block)
        return out

    def copy(self) -> Graph:
        from graphtorch.ir.clone import copy_graph  # NOTE: clone.py imports this module

        return copy_graph(self)

    def __str__(self) -> str:
        from graphtorch.ir.printer import print_graph  # NOTE: printer.py imports this module

        return print_graph(self)

    def __repr__(self) -> str:
        return f"<Graph {len(self.inputs)} inputs, {len(self.walk())} nodes>"
