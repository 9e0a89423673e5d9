"""Backward nodes of the eager tape.

Each differentiable op call that needs a gradient creates one node; ``next_edges`` point at the
nodes that produced its tensor inputs (``(node, output_nr)``, or ``None`` where no grad flows).
Leaves that require grad are reached through their :class:`AccumulateGrad` node.
"""

from __future__ import annotations

import weakref

from graphtorch.autograd.saved import UnsavedInput, unsaved
from graphtorch.dtypes import from_numpy
from graphtorch.errors import AutogradError

_FREED_MSG = ("Trying to backward through the graph a second time (or directly access saved "
              "tensors after they have already been freed). Saved intermediate values of the graph "
              "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True "
              "if you need to backward through the graph a second time or if you need to access "
              "saved tensors after calling backward.")


class Node:
    __slots__ = ("next_edges", "pre_hooks", "retain", "n_outputs", "__weakref__")

    def __init__(self, next_edges: tuple, n_outputs: int = 1):
        self.next_edges = next_edges
        self.n_outputs = n_outputs
        self.pre_hooks: dict[int, list] | None = None
        self.retain: dict[int, weakref.ref] | None = None

    def name(self) -> str:
        return type(self).__name__

    def apply(self, grads: list) -> list:
        raise NotImplementedError  # every concrete node overrides apply

    def release(self) -> None:
        """Free saved values after a backward without retain_graph."""

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    # PyTorch's grad_fn API
    @property
    def next_functions(self) -> tuple:
        return tuple((e[0], e[1]) if e is not None else (None, 0) for e in self.next_edges)


class AccumulateGrad(Node):
    """Sink for a leaf tensor: adds the incoming gradient into ``tensor.grad``."""

    __slots__ = ("_variable", "post_hooks")

    def __init__(self, variable):
        super().__init__((), 1)
        self._variable = weakref.ref(variable)
        # hook(leaf) after the gradient is accumulated (register_post_accumulate_grad_hook)
        self.post_hooks: list | None = None

    @property
    def variable(self):
        """The leaf tensor, or None once nothing else references it (its grad is unobservable)."""
        return self._variable()

    def apply(self, grads: list) -> list:
        raise AssertionError("AccumulateGrad is applied by the engine, not called")


def check_saved_version(node: Node, index: int, t, version: int) -> None:
    """Raise PyTorch's error when a tensor saved for backward was modified in place since."""
    if t._vc[0] != version:
        raise AutogradError(
            "one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [{t.dtype.name} tensor of shape {list(t.shape)}], which is "
            f"input {index} of {node.name()}, is at version {t._vc[0]}; expected version "
            f"{version} instead. Hint: the operation that modified it came after "
            "this one; use an out-of-place version (x = x + y instead of x += y) or .clone().")


class BackwardCtx:
    """What a vjp rule sees: the op's bound arguments, its outputs and attributes.

    Tensor arguments the op's ``saves`` declaration does not keep for the required gradients are
    :class:`~graphtorch.autograd.saved.UnsavedInput` stand-ins (shape, dtype and device only).
    """

    __slots__ = ("args", "_outputs", "_node", "_create_graph")

    def __init__(self, args: list, outputs, node, create_graph: bool):
        self.args = args
        self._outputs = outputs
        self._node = node
        self._create_graph = create_graph

    def needs_input_grad(self, i: int) -> bool:
        """Whether argument ``i`` (schema position) gets a gradient from this node."""
        return bool(self._node.grad_mask >> i & 1)

    @property
    def out(self):
        """The op's (first) output as a tensor; differentiable when create_graph is on."""
        return self.output(0)

    def output(self, i: int):
        # NOTE: graphtorch.tensor imports graphtorch.autograd: a module-level import cycles
        from graphtorch.tensor import Tensor

        if self._outputs is None:
            raise AutogradError(f"the vjp of {self._node.name()} reads its output, but the op's "
                                "saves= declaration does not keep it for the gradients required")
        arr = self._outputs[i]
        if self._create_graph:
            return Tensor._wrap(arr, self._node.device, requires_grad=True, grad_fn=self._node,
                                output_nr=i)
        return Tensor._wrap(arr, self._node.device)


class OpNode(Node):
    """The backward node of one registry op call.

    It keeps (and version-checks) only the inputs and outputs the op's ``saves`` declaration
    names for the gradients required at record time (``grad_mask``: bit i set when argument i
    requires grad); the other tensor arguments become metadata stand-ins.
    """

    __slots__ = ("op", "args", "saved", "outputs", "_metas", "out_versions", "device", "freed",
                 "grad_mask")

    def __init__(self, op, args: list, outputs: tuple, next_edges: tuple, device,
                 grad_mask: int, owned: bool = False):
        self.next_edges = next_edges
        self.n_outputs = len(outputs)
        self.pre_hooks = None
        self.retain = None
        self.op = op
        self.device = device
        self.freed = False
        self.grad_mask = grad_mask
        keep, drop, save_out = op.save_rules.get(grad_mask) or op.save_rule(grad_mask)
        if keep:
            # NOTE: [] when only numbers were kept: still "saved" for the second-backward error
            saved = []
            for i in keep:
                a = args[i]
                if i in op.list_args:
                    if a is not None:
                        saved.extend((i, t, t._vc[0]) for t in a if hasattr(t, "_vc"))
                elif hasattr(a, "_vc"):
                    saved.append((i, a, a._vc[0]))
            self.saved = saved
        else:
            self.saved = None
        # NOTE: tensors the vjp does not read are not kept alive by the graph (PyTorch frees
        # them too); the argument list keeps the rest (scalars, sizes, saved tensors)
        if drop:
            if not owned:
                args = list(args)
            for i in drop:
                a = args[i]
                if hasattr(a, "_vc"):
                    u = a._unsaved
                    if u is None:
                        u = a._unsaved = UnsavedInput(a)
                    args[i] = u
                elif a is not None and i in op.list_args:
                    args[i] = unsaved(a)
        self.args = args
        if save_out:
            self.outputs = (outputs[0]._data,) if len(outputs) == 1 else tuple(
                o._data for o in outputs)
            self.out_versions = tuple((o._vc, o._vc[0]) for o in outputs)
        else:
            self.outputs = None
            self.out_versions = None
            self._metas = (outputs[0]._data.shape, outputs[0]._data.dtype) if len(
                outputs) == 1 else tuple((o._data.shape, o._data.dtype) for o in outputs)

    @property
    def out_metas(self) -> tuple:
        """(shape, dtype) of each output: zeros stand in for outputs that get no gradient."""
        if self.outputs is not None:
            return tuple((a.shape, from_numpy(a.dtype)) for a in self.outputs)
        metas = (self._metas,) if self.n_outputs == 1 else self._metas
        return tuple((shape, from_numpy(dt)) for shape, dt in metas)

    def name(self) -> str:
        return type(self).__name__

    def apply(self, grads: list, create_graph: bool = False) -> list:
        if self.freed:
            raise AutogradError(_FREED_MSG)
        if self.saved:
            for i, t, version in self.saved:
                if t._vc[0] != version:
                    check_saved_version(self, i, t, version)
        if self.out_versions:
            for i, (vc, v) in enumerate(self.out_versions):
                if vc[0] != v:
                    raise AutogradError(
                        "one of the variables needed for gradient computation has been modified "
                        f"by an inplace operation: output {i} of {self.name()} is at version "
                        f"{vc[0]}; expected version {v} instead. Hint: use an out-of-place "
                        "operation or .clone() before modifying it.")
        ctx = BackwardCtx(self.args, self.outputs, self, create_graph)
        result = self.op.vjp(ctx, *grads)
        if not isinstance(result, (tuple, list)):
            result = (result,)
        return _flatten_grads(self.op, self.args, result)

    def release(self) -> None:
        if self.saved is None and self.outputs is None:
            return  # nothing was saved: running backward again is fine, as in PyTorch
        self.freed = True
        if self.saved:
            args = self.args = list(self.args)
            for i in {i for i, _, _ in self.saved}:
                args[i] = unsaved(args[i])
        self.saved = None
        if self.outputs is not None:
            self._metas = tuple((a.shape, a.dtype) for a in self.outputs)
            if self.n_outputs == 1:
                self._metas = self._metas[0]
            self.outputs = None


_NODE_CLASSES: dict[str, type] = {}


def node_class(name: str) -> type:
    """The :class:`OpNode` subclass named ``name`` (``type(t.grad_fn).__name__``, as in PyTorch)."""
    cls = _NODE_CLASSES.get(name)
    if cls is None:
        cls = _NODE_CLASSES[name] = type(name, (OpNode,), {"__slots__": (),
                                                           "__module__": __name__})
    return cls


def function_node_class(name: str) -> type:
    """The :class:`FunctionNode` subclass for a custom Function (``MyFnBackward``)."""
    key = "Function:" + name
    cls = _NODE_CLASSES.get(key)
    if cls is None:
        cls = _NODE_CLASSES[key] = type(name, (FunctionNode,), {"__slots__": (),
                                                                "__module__": __name__})
    return cls


def _flatten_grads(op, args: list, result) -> list:
    """Map a vjp's per-argument result onto the node's flat list of tensor edges."""
    out = []
    for i in op.edge_args:
        g = result[i] if i < len(result) else None
        if i in op.list_args:
            n = len(args[i])
            out.extend(g if g is not None else [None] * n)
        else:
            out.append(g)
    return out


class FunctionNode(Node):
    """The backward node of a user ``autograd.Function``."""

    __slots__ = ("cls", "ctx", "device", "out_metas", "freed")

    def __init__(self, cls, ctx, next_edges: tuple, n_outputs: int, device):
        super().__init__(next_edges, n_outputs)
        self.cls, self.ctx, self.device, self.freed = cls, ctx, device, False

    def name(self) -> str:
        return f"{self.cls.__name__}Backward"

    def apply(self, grads: list, create_graph: bool = False) -> list:
        if self.freed:
            raise AutogradError(_FREED_MSG)
        result = self.cls.backward(self.ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        return list(result)

    def release(self) -> None:
        self.freed = True
        self.ctx.saved_tensors_released = True


class GraphNode(Node):
    """A backward node with a plain Python function (used by compiled modules' backward)."""

    __slots__ = ("fn", "label")

    def __init__(self, fn, next_edges: tuple, n_outputs: int, label: str = "GraphBackward"):
        super().__init__(next_edges, n_outputs)
        self.fn, self.label = fn, label

    def name(self) -> str:
        return self.label

    def apply(self, grads: list, create_graph: bool = False) -> list:
        return list(self.fn(grads, create_graph))
