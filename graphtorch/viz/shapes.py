"""Shape propagation across module calls, for the edge labels of ``graphtorch viz --shape``.

The shape_prop pass types one graph; a drawing expands submodule calls, so each call's callee is
copied, given its arguments' types and propagated in turn, and the call's outputs take the
callee's result types before the caller goes on. Parameters and buffers read with
``prim::GetAttr`` get the dtype and shape stored in the archive.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.device import CPU
from graphtorch.ir.kinds import Prim
from graphtorch.ir.types import TensorType
from graphtorch.passes.manager import PassContext

# NOTE: the propagator is shape_prop's own per-node machinery; viz extends its traversal with
# module calls instead of duplicating the meta-rule, branch and loop handling.
from graphtorch.passes.shape_prop import _HANDLERS, _UNKNOWN, _Propagator, refine


class _CallPropagator(_Propagator):
    def __init__(self, graph, loaded, entry, callees: dict):
        super().__init__(graph, PassContext())
        self.loaded, self.callees = loaded, callees
        self.modules = {graph.inputs[0]: entry} if entry is not None else {}
        self.running: set[str] = set()      # script functions being propagated (no recursion)
        self.bound: dict = {}               # callee input -> the caller's known scalar value

    def meta_arg(self, v):
        if v in self.bound:
            return self.bound[v]
        return super().meta_arg(v)

    def bind(self, inner, callee_inputs, args) -> None:
        """Scalars the caller knows (constants) are known inside the callee too."""
        for v, arg in zip(callee_inputs, args):
            if not isinstance(arg.type, TensorType):
                value = self.meta_arg(arg)
                if value is not _UNKNOWN:
                    inner.bound[v] = value

    def block(self, block) -> None:
        for node in block.nodes:
            if node.kind == Prim.GetAttr.value and node.inputs[0] in self.modules:
                self.get_attr(node)
            elif node.kind == Prim.CallMethod.value and node.inputs[0] in self.modules:
                self.call(node)
            elif node.kind == Prim.CallFunction.value:
                self.call_function(node)
            else:
                handler = _HANDLERS.get(node.kind)
                if handler is not None:
                    handler(self, node)
                elif node.is_op:
                    self.op(node)

    def get_attr(self, node) -> None:
        owner = self.modules[node.inputs[0]]
        name = node.attrs.get("name")
        sub = next((s for s in owner.submodules if s.name == name), None)
        if sub is not None:
            self.modules[node.outputs[0]] = sub
            return
        ref = next((r for r in owner.parameters + owner.buffers if r.name == name), None)
        entry = self.loaded.tensors.entries.get(ref.key) if ref is not None else None
        if entry is not None:
            dt = dtypes.from_numpy(entry.numpy_dtype)
            self.set_type(node.outputs[0], TensorType(dt, tuple(entry.shape), CPU))

    def call(self, node) -> None:
        sub = self.modules[node.inputs[0]]
        meth = next((m for m in sub.methods if m.name == node.attrs.get("name")), None)
        if meth is None:
            return
        callee = self.loaded.graphs[meth.code].copy()
        for v, arg in zip(callee.inputs[1:], node.inputs[1:]):
            v.type = refine(v.type, arg.type)
        inner = _CallPropagator(callee, self.loaded, sub, self.callees)
        self.bind(inner, callee.inputs[1:], node.inputs[1:])
        inner.block(callee.block)
        self.callees[node] = callee
        for o, r in zip(node.outputs, callee.outputs):
            self.set_type(o, refine(o.type, r.type))


    def call_function(self, node) -> None:
        name = node.attrs.get("name")
        fn = next((f for f in self.loaded.manifest.functions if f.name == name), None)
        if fn is None or name in self.running:
            return
        callee = self.loaded.graphs[fn.code].copy()
        for v, arg in zip(callee.inputs, node.inputs):
            v.type = refine(v.type, arg.type)
        inner = _CallPropagator(callee, self.loaded, None, self.callees)
        inner.running = self.running | {name}
        self.bind(inner, callee.inputs, node.inputs)
        inner.block(callee.block)
        self.callees[node] = callee
        for o, r in zip(node.outputs, callee.outputs):
            self.set_type(o, refine(o.type, r.type))


def propagate_method(loaded, graph, entry, arg_names: list[str], input_types: dict,
                     callees: dict):
    """A copy of ``graph`` typed from ``input_types`` (argument name -> TensorType); the typed
    callee of every submodule call lands in ``callees`` (call node -> graph)."""
    graph = graph.copy()
    first = 1 if entry is not None else 0
    for name, v in zip(arg_names, graph.inputs[first:]):
        if name in input_types:
            v.type = refine(v.type, input_types[name])
    _CallPropagator(graph, loaded, entry, callees).block(graph.block)
    return graph
