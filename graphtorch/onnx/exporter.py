"""Walk a compiled module's inlined graph on example inputs and build an ONNX model.

The walk runs every node with the reference interpreter (so every value, shape and branch is
known) and, for tensor ops, emits ONNX nodes (ops.py). Scalar code (sizes, list building,
conditions on ranks) is evaluated away; ``prim::If`` takes the branch the example takes and
``prim::Loop`` is unrolled, unless the condition or trip count depends on a dynamic axis (then
UnsupportedError). Parameters and buffers become initializers. A size read from a dynamic axis
stays symbolic: in a reshape target it becomes ``-1`` (or ``0``, "copy this dim").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from graphtorch.errors import UnsupportedError
from graphtorch.ir.kinds import Prim
from graphtorch.runtime.interpreter import Interpreter
from graphtorch.tensor import Tensor

_STRUCTURAL = {Prim.ListConstruct.value, Prim.TupleConstruct.value}
_UNPACK = {Prim.ListUnpack.value, Prim.TupleUnpack.value}
_PASS = {Prim.unchecked_cast.value}     # the value itself, retyped
_INDEX = {Prim.TupleIndex.value, Prim.ListIndex.value}


@dataclass
class Emitter:
    """The ONNX graph being built."""

    opset: int
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    counter: int = 0

    def fresh(self, hint: str = "t") -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def node(self, op: str, inputs: list[str], attrs: dict | None = None,
             n_out: int = 1, hint: str | None = None) -> list[str]:
        outs = [self.fresh(hint or op.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=self.fresh(op),
                                           **(attrs or {})))
        return outs

    def one(self, op: str, inputs: list[str], attrs: dict | None = None) -> str:
        return self.node(op, inputs, attrs)[0]

    def const(self, value, dtype=None, hint: str = "const") -> str:
        arr = np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(arr, name))
        return name

    def ints(self, values) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64), hint="shape")


class Walk:
    """One export: env holds real values, names the ONNX tensor of each tensor value."""

    def __init__(self, emitter: Emitter, dynamic_sizes: set[int]):
        self.e = emitter
        self.interp = Interpreter()
        self.env: dict = {}
        self.names: dict = {}       # Value -> ONNX name (tensors), or list of names (containers)
        self.dynamic: set = set()   # Values whose (int) value depends on a dynamic axis
        self.dynamic_sizes = dynamic_sizes

    # -- helpers used by ops.py -------------------------------------------------------------------
    def value(self, v):
        return self.env[v]

    def name(self, v) -> str:
        """The ONNX tensor holding graph value ``v`` (a constant tensor or scalar becomes an
        initializer)."""
        n = self.names.get(v)
        if isinstance(n, str):
            return n
        real = self.env[v]
        if isinstance(real, Tensor):
            n = self.e.const(np.array(real.detach().numpy()))
        elif isinstance(real, (bool, int, float)):
            n = self.e.const(real)
        else:
            raise UnsupportedError(f"ONNX export: a {type(real).__name__} value is used as a "
                                   f"tensor")
        self.names[v] = n
        return n

    def scalar_like(self, v, like) -> str:
        """``v`` (a Python number or tensor) as an ONNX tensor of ``like``'s dtype."""
        real = self.env[v]
        if isinstance(real, Tensor):
            return self.name(v)
        dt = np.array(self.env[like].detach().numpy()).dtype
        return self.e.const(np.asarray(real, dtype=dt))

    def is_dynamic(self, v) -> bool:
        return v in self.dynamic

    # -- the walk ---------------------------------------------------------------------------
    def block(self, block) -> list:
        for node in block.nodes:
            self.run(node)
        return list(block.outputs)

    def run(self, node) -> None:
        kind = node.kind
        if kind == Prim.If.value:
            return self.run_if(node)
        if kind == Prim.Loop.value:
            return self.run_loop(node)
        self.interp.run_node(node, self.env)
        if any(v in self.dynamic for v in node.inputs) and not kind.startswith("op::"):
            self.dynamic.update(node.outputs)
        if kind == "prim::size" and node.inputs[0] in self.names:
            out = self.env[node.outputs[0]]
            if isinstance(out, int) and out in self.dynamic_sizes:
                self.dynamic.add(node.outputs[0])
        if kind in _STRUCTURAL:
            if any(v in self.names for v in node.inputs):
                self.names[node.output] = [self.names.get(v, v) for v in node.inputs]
            return None
        if kind in _PASS:
            if node.inputs[0] in self.names:
                self.names[node.output] = self.names[node.inputs[0]]
            return None
        if kind in _INDEX:
            src = self.names.get(node.inputs[0])
            if isinstance(src, list):
                if node.inputs[1] in self.dynamic:
                    raise UnsupportedError("ONNX export: an index depends on a dynamic axis")
                item = src[self.env[node.inputs[1]]]
                if isinstance(item, str):
                    self.names[node.output] = item
            return None
        if kind in _UNPACK:
            src = self.names.get(node.inputs[0])
            if isinstance(src, list):
                for o, s in zip(node.outputs, src):
                    if isinstance(s, str):
                        self.names[o] = s
            return None
        if kind.startswith("op::"):
            return self.run_op(node)
        if any(isinstance(self.env.get(o), Tensor) for o in node.outputs) and \
                any(v in self.names for v in node.inputs):
            raise UnsupportedError(f"ONNX export: no ONNX mapping for {kind}")
        return None

    def run_op(self, node) -> None:
        # NOTE: ops.py imports this module's Walk type only for hints
        from graphtorch.onnx.ops import CONVERTERS

        name = node.kind[4:]
        tensor_inputs = [v for v in node.inputs if _holds_tensor(self.env.get(v))]
        if not any(_names_tensor(self.names.get(v)) for v in tensor_inputs):
            return None     # computed from constants only: folded (an initializer when used)
        conv = CONVERTERS.get(name)
        if conv is None:
            raise UnsupportedError(f"ONNX export: the op '{name}' has no ONNX mapping (see "
                                   f"docs/onnx.md for the supported ops)")
        out = conv(self, node)
        if len(node.outputs) == 1 and isinstance(self.env[node.output], (list, tuple)):
            self.names[node.output] = list(out)     # one list of tensors (chunk, split)
            return None
        outs = out if isinstance(out, list) else [out]
        for v, n in zip(node.outputs, outs):
            self.names[v] = n
        return None

    def run_if(self, node) -> None:
        cond = node.inputs[0]
        if cond in self.dynamic:
            raise UnsupportedError("ONNX export: an if statement depends on a dynamic axis; "
                                   "export with static shapes (no dynamic_axes)")
        branch = node.blocks[0] if self.env[cond] else node.blocks[1]
        outs = self.block(branch)
        for o, r in zip(node.outputs, outs):
            self.alias(o, r)
        return None

    def run_loop(self, node) -> None:
        trip, cond, carried = node.inputs[0], node.inputs[1], list(node.inputs[2:])
        if trip in self.dynamic or cond in self.dynamic:
            raise UnsupportedError("ONNX export: a loop's trip count depends on a dynamic axis; "
                                   "export with static shapes (no dynamic_axes)")
        body = node.blocks[0]
        max_trip, go = self.env[trip], self.env[cond]
        state = carried
        i = 0
        while go and (max_trip is None or i < max_trip):
            self.env[body.inputs[0]] = i
            for b, s in zip(body.inputs[1:], state):
                self.alias(b, s)
            outs = self.block(body)
            if outs[0] in self.dynamic:
                raise UnsupportedError("ONNX export: a loop condition depends on a dynamic axis")
            go = self.env[outs[0]]
            state = outs[1:]
            i += 1
        for o, s in zip(node.outputs, state):
            self.alias(o, s)
        return None

    def alias(self, dst, src) -> None:
        self.env[dst] = self.env[src]
        if src in self.names:
            self.names[dst] = self.names[src]
        elif dst in self.names:
            del self.names[dst]
        if src in self.dynamic:
            self.dynamic.add(dst)
        else:
            self.dynamic.discard(dst)


def _holds_tensor(x) -> bool:
    if isinstance(x, Tensor):
        return True
    return isinstance(x, (list, tuple)) and any(isinstance(t, Tensor) for t in x)


def _names_tensor(n) -> bool:
    if isinstance(n, str):
        return True
    return isinstance(n, list) and any(isinstance(x, str) for x in n)


_DTYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
           np.dtype(np.int64): TensorProto.INT64, np.dtype(np.int32): TensorProto.INT32,
           np.dtype(np.bool_): TensorProto.BOOL, np.dtype(np.float16): TensorProto.FLOAT16}


def onnx_dtype(arr: np.ndarray) -> int:
    try:
        return _DTYPES[arr.dtype]
    except KeyError:
        raise UnsupportedError(f"ONNX export: dtype {arr.dtype} is not supported") from None


def value_info(name: str, arr: np.ndarray, dyn: dict[int, str]):
    shape = [dyn.get(i, d) for i, d in enumerate(arr.shape)]
    return helper.make_tensor_value_info(name, onnx_dtype(arr), shape)


def build_model(graph, inputs: list, params: list, input_names: list[str],
                output_names: list[str] | None, dynamic_axes: dict, opset: int,
                producer: str, owner=None, extra: list | None = None) -> onnx.ModelProto:
    """``inputs``: the example tensors; ``params``: (name, tensor) of the lifted parameters;
    ``owner``: the module whose method ``graph`` is (its first input), None for a function;
    ``extra``: values of the arguments after ``inputs`` (defaults: not ONNX inputs)."""
    em = Emitter(opset)
    dyn_axes = {k: _axes(v) for k, v in (dynamic_axes or {}).items()}
    dyn_sizes = {int(t.shape[ax]) for n, t in zip(input_names, inputs)
                 for ax in dyn_axes.get(n, {})}
    walk = Walk(em, dyn_sizes)
    g_inputs = list(graph.block.inputs)
    if owner is not None:
        walk.env[g_inputs[0]] = owner    # self: read for module attributes such as training
        g_inputs = g_inputs[1:]
    graph_inputs = []
    for v, n, t in zip(g_inputs[:len(inputs)], input_names, inputs):
        walk.env[v] = t
        walk.names[v] = n
        graph_inputs.append(value_info(n, np.array(t.detach().numpy()), dyn_axes.get(n, {})))
    extra = list(extra or [])
    for v, value in zip(g_inputs[len(inputs):], extra):
        walk.env[v] = value
    for v, (pname, p) in zip(g_inputs[len(inputs) + len(extra):], params):
        walk.env[v] = p
        arr = np.array(p.detach().numpy())
        em.initializers.append(numpy_helper.from_array(arr, pname))
        walk.names[v] = pname
    outs = _flatten_outputs(walk, walk.block(graph.block))
    names = output_names or [f"output_{i}" if len(outs) > 1 else "output"
                             for i in range(len(outs))]
    if len(names) != len(outs):
        raise UnsupportedError(f"ONNX export: {len(names)} output names for {len(outs)} "
                               f"outputs")
    graph_outputs = []
    for (name_, real), out_name in zip(outs, names):
        em.nodes.append(helper.make_node("Identity", [name_], [out_name],
                                         name=em.fresh("Output")))
        graph_outputs.append(value_info(out_name, real, dyn_axes.get(out_name, {})))
    g = helper.make_graph(em.nodes, "graphtorch", graph_inputs, graph_outputs,
                          em.initializers)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name=producer)
    model.ir_version = min(model.ir_version, 8) if opset <= 17 else model.ir_version
    return model


def _axes(spec) -> dict[int, str]:
    if isinstance(spec, dict):
        return {int(k): str(v) for k, v in spec.items()}
    return {int(a): f"dim_{int(a)}" for a in spec}


def _flatten_outputs(walk: Walk, values: list) -> list[tuple[str, np.ndarray]]:
    out = []
    for v in values:
        real = walk.env[v]
        names = walk.names.get(v)
        if isinstance(real, Tensor):
            out.append((walk.name(v), np.array(real.detach().numpy())))
        elif isinstance(real, (tuple, list)) and isinstance(names, list):
            for item, n in zip(real, names):
                if not isinstance(item, Tensor):
                    raise UnsupportedError("ONNX export: outputs must be tensors or tuples of "
                                           "tensors")
                if not isinstance(n, str):
                    n = walk.name(n)
                out.append((n, np.array(item.detach().numpy())))
        else:
            raise UnsupportedError(f"ONNX export: an output of type {type(real).__name__} "
                                   f"(outputs must be tensors or tuples of tensors)")
    return out
