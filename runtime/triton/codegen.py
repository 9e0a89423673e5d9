"""A FusionGroup subgraph + a specialization -> the source of one Triton kernel.

One program handles ``BLOCK`` consecutive elements of the flattened broadcast output: it loads
each input (by the access kind its layout gave it), evaluates the subgraph's nodes in order (each
node's lowering through :mod:`.expr_emit`) and stores the requested outputs, masked on the tail.
The kernel is decorated with ``_gt_jit``, which the loader binds to ``triton.jit`` on a GPU and
to Triton's interpreter on the CPU.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from graphtorch import dtypes
from graphtorch.errors import GraphError, UnsupportedError
from graphtorch.ir.graph import Graph, TensorRef, Value
from graphtorch.ir.printer import print_graph, value_names
from graphtorch.ops.dispatch import compute_dtype
from graphtorch.ops.lowering import NO_DEFAULT, lowering_of, unread_args
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.registry import REGISTRY, OpKind, Promotion

from .expr_emit import ExprEmitter, Val, compute_tl, convert, storage_tl
from .layout import Access
from .math_lib import helper_sources


@dataclass(frozen=True)
class TensorIn:
    dtype: dtypes.dtype
    access: Access
    zero_dim: bool        # 0-dim tensors promote like Python numbers (PyTorch rule)


@dataclass(frozen=True)
class ScalarIn:
    kind: str             # "float", "int" or "bool": a kernel argument


@dataclass(frozen=True)
class ConstIn:
    value: object         # None or a dtype arriving as an input: baked into the kernel


@dataclass(frozen=True)
class Specialization:
    inputs: tuple[TensorIn | ScalarIn | ConstIn | None, ...]   # None: the kernel does not read it
    outputs: tuple[int, ...]                          # subgraph outputs this kernel stores
    rank: int                                         # collapsed dims (when some input strides)
    wide_index: bool

    def describe(self) -> str:
        parts = []
        for i, s in enumerate(self.inputs):
            if isinstance(s, TensorIn):
                parts.append(f"in{i}: {s.dtype.name} {s.access.name.lower()}"
                             + (" 0-dim" if s.zero_dim else ""))
            elif isinstance(s, ScalarIn):
                parts.append(f"in{i}: {s.kind} scalar")
            elif isinstance(s, ConstIn):
                parts.append(f"in{i}: constant {s.value}")
        parts.append(f"outputs {list(self.outputs)}, rank {self.rank}, "
                     f"{'int64' if self.wide_index else 'int32'} index")
        return "; ".join(parts)


@dataclass(frozen=True)
class KernelSource:
    text: str
    name: str
    out_dtypes: tuple[dtypes.dtype, ...]
    tensor_args: tuple[int, ...]       # inputs passed as pointers, in parameter order
    float_args: tuple[int, ...]        # inputs read from the float64 scalar buffer
    int_args: tuple[int, ...]          # inputs passed as integer parameters
    strided_args: tuple[int, ...]      # inputs whose strides are parameters


def fusion_inputs(sub: Graph) -> list[Value]:
    """The values a FusionGroup kernel receives: the subgraph inputs, then tensor constants."""
    extra = [n.output for n in sub.block.nodes
             if n.kind == "prim::Constant" and isinstance(n.attrs.get("value"), TensorRef)]
    return list(sub.block.inputs) + extra


def graph_key(sub: Graph) -> str:
    """A stable hash of the subgraph's structure (names and source locations left out)."""
    ids: dict[Value, int] = {v: i for i, v in enumerate(sub.block.inputs)}
    lines = [f"inputs {len(ids)}"]
    for n in sub.block.nodes:
        if n.blocks:
            raise UnsupportedError(f"{n.kind} with blocks cannot be fused into a Triton kernel")
        args = [ids[v] for v in n.inputs]
        value = n.attrs.get("value", None)
        shown = value.name if isinstance(value, dtypes.dtype) else repr(value)
        lines.append(f"{n.kind} {args} {shown if n.kind == 'prim::Constant' else ''}")
        for o in n.outputs:
            ids[o] = len(ids)
    lines.append(f"return {[ids[v] for v in sub.block.outputs]}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def dependencies(sub: Graph) -> list[frozenset[int]]:
    """For each subgraph output, the positions (in :func:`fusion_inputs`) it reads."""
    deps: dict[Value, frozenset[int]] = {v: frozenset([i])
                                         for i, v in enumerate(fusion_inputs(sub))}
    for n in sub.block.nodes:
        if n.output in deps:
            continue
        got = frozenset().union(*(deps.get(v, frozenset()) for v in n.inputs))
        for o in n.outputs:
            deps[o] = got
    return [deps.get(v, frozenset()) for v in sub.block.outputs]


def _meta(v: Val, zero_dim: bool):
    if v.dtype is None:
        return v.value   # a kernel scalar's value is a stand-in of its type (for promotion)
    return TensorMeta(v.dtype, () if zero_dim else (None,))


class _Kernel:
    def __init__(self, sub: Graph, spec: Specialization):
        self.sub, self.spec = sub, spec
        self.helpers: set = set()
        self.body: list[str] = []
        self.vals: dict[Value, Val] = {}
        self.zero_dim: dict[Value, bool] = {}
        self.names = _short_names(sub)

    def build(self, name: str) -> KernelSource:
        spec = self.spec
        inputs = fusion_inputs(self.sub)
        if len(spec.inputs) != len(inputs):
            raise GraphError(f"FusionGroup kernel specialized for {len(spec.inputs)} inputs, "
                             f"the subgraph has {len(inputs)}")
        tensor_args, float_args, int_args, strided = [], [], [], []
        for i, (v, s) in enumerate(zip(inputs, spec.inputs)):
            if isinstance(s, TensorIn):
                tensor_args.append(i)
                if s.access is Access.STRIDED:
                    strided.append(i)
                self.zero_dim[v] = s.zero_dim
                self.vals[v] = Val(f"x{i}", s.dtype)
            elif isinstance(s, ScalarIn):
                stand_in = {"float": 0.0, "int": 0, "bool": False}[s.kind]
                self.vals[v] = Val(f"s{i}", None, stand_in)
                (float_args if s.kind == "float" else int_args).append(i)
                self.zero_dim[v] = True
            elif isinstance(s, ConstIn):
                self.vals[v] = Val(None, None, s.value)
                self.zero_dim[v] = True
        needed = self._needed_nodes()
        for n in self.sub.block.nodes:
            if n in needed:
                self._node(n)
        outs = [self.sub.block.outputs[j] for j in spec.outputs]
        out_dtypes = []
        for j, v in zip(spec.outputs, outs):
            val = self.vals.get(v)
            if val is None or val.dtype is None:
                raise UnsupportedError(f"FusionGroup output {j} is not a tensor computed by the "
                                       "subgraph; the Triton backend cannot store it")
            out_dtypes.append(val.dtype)
        params = ([f"in{i}" for i in tensor_args] + [f"out{j}" for j in range(len(outs))]
                  + (["scalars"] if float_args else []) + [f"s{i}" for i in int_args] + ["n"])
        if strided:
            params += [f"size{d}" for d in range(spec.rank)]
            params += [f"st{i}_{d}" for i in strided for d in range(spec.rank)]
        lines = [f"@_gt_jit\ndef {name}({', '.join(params)}, BLOCK: tl.constexpr):",
                 "    pid = tl.program_id(0)"]
        if spec.wide_index:
            lines.append("    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)")
        else:
            lines.append("    offs = pid * BLOCK + tl.arange(0, BLOCK)")
        lines.append("    mask = offs < n")
        lines += self._loads(inputs, tensor_args, float_args, strided)
        lines += self.body
        for k, (v, dt) in enumerate(zip(outs, out_dtypes)):
            code = self.vals[v].code
            if dt.name == "bool":
                code = f"tl.where({code}, 1, 0).to(tl.uint8)"
            elif compute_tl(dt) != storage_tl(dt):
                code = f"{code}.to({storage_tl(dt)})"
            lines.append(f"    tl.store(out{k} + offs, {code}, mask=mask)")
        header = (f'"""graphtorch FusionGroup kernel (generated; edits are overwritten).\n\n'
                  f"specialization: {spec.describe()}\n\n"
                  + "\n".join("    " + ln for ln in print_graph(self.sub).splitlines())
                  + '\n"""\n\nimport triton.language as tl\n')
        helpers = helper_sources(self.helpers)
        text = header + "\n\n" + (helpers + "\n\n\n" if helpers else "") + "\n".join(lines) + "\n"
        return KernelSource(text, name, tuple(out_dtypes), tuple(tensor_args), tuple(float_args),
                            tuple(int_args), tuple(strided))

    def _needed_nodes(self) -> set:
        needed, todo = set(), [self.sub.block.outputs[j] for j in self.spec.outputs]
        while todo:
            v = todo.pop()
            n = v.node
            if n is None or n in needed:
                continue
            needed.add(n)
            todo.extend(n.inputs)
        return needed

    def _loads(self, inputs, tensor_args, float_args, strided) -> list[str]:
        lines = []
        if strided:
            lines.append("    rem = offs")
            for d in range(self.spec.rank - 1, 0, -1):
                lines.append(f"    i{d} = rem % size{d}")
                lines.append(f"    rem = rem // size{d}")
            lines.append("    i0 = rem")
        for k, i in enumerate(float_args):
            lines.append(f"    s{i} = tl.load(scalars + {k})")
        for i in tensor_args:
            s = self.spec.inputs[i]
            if s.access is Access.SCALAR:
                load = f"tl.load(in{i})"
            elif s.access is Access.CONTIGUOUS:
                load = f"tl.load(in{i} + offs, mask=mask)"
            else:
                off = " + ".join(f"i{d} * st{i}_{d}" for d in range(self.spec.rank))
                load = f"tl.load(in{i} + ({off}), mask=mask)"
            if s.dtype.name == "bool":
                load = f"({load} != 0)"
            elif compute_tl(s.dtype) != storage_tl(s.dtype):
                load = f"{load}.to({compute_tl(s.dtype)})"
            lines.append(f"    x{i} = {load}  # %{self.names[inputs[i]]}")
        return lines

    def _node(self, n) -> None:
        if n.kind == "prim::Constant":
            value = n.attrs.get("value")
            if not isinstance(value, TensorRef):
                self.vals[n.output] = Val(None, None, value)
                self.zero_dim[n.output] = True
            return
        if not n.is_op:
            raise UnsupportedError(f"a FusionGroup for Triton holds only op:: nodes and "
                                   f"constants, not {n.kind}")
        op = REGISTRY.get(n.op_name)
        expr = lowering_of(op) if op is not None else None
        if op is None or op.kind is not OpKind.ELEMENTWISE or expr is None:
            raise UnsupportedError(f"op::{n.op_name} has no elementwise lowering; it cannot run "
                                   "in a Triton kernel")
        args = [self.vals[v] for v in n.inputs]
        for a in op.schema.args[len(args):]:   # omitted trailing arguments hold their defaults
            args.append(Val(None, None, a.default))
        for i, default in unread_args(op).items():
            if i >= len(args):
                continue
            a, name = args[i], op.schema.args[i].name
            if a.code is not None or a.dtype is not None:
                raise UnsupportedError(f"op::{n.op_name}: {name} is a run-time value, but its "
                                       f"lowering is only its meaning for {name}={default!r}")
            if default is NO_DEFAULT or a.value != default:
                raise UnsupportedError(f"op::{n.op_name} with {name}={a.value!r} is not what its "
                                       "lowering computes")
        metas = [_meta(a, self.zero_dim.get(v, True))
                 for a, v in zip(args, n.inputs + [None] * (len(args) - len(n.inputs)))]
        out_meta = op.meta(*metas)
        result = out_meta.dtype
        if op.promotion is not Promotion.NONE:
            promoted = compute_dtype(op, metas)
            for i in op.promote_args:
                a = args[i]
                if a.dtype is not None or a.code is not None or isinstance(a.value, (int, float)):
                    args[i] = Val(convert(a, promoted), promoted)
        val = ExprEmitter(self.helpers).emit(expr, args)
        name = f"v{len(self.vals)}"
        self.body.append(f"    {name} = {convert(val, result)}  # {n.kind}")
        self.vals[n.output] = Val(name, result)
        self.zero_dim[n.output] = len(out_meta.shape) == 0


def _short_names(sub: Graph) -> dict[Value, str]:
    return value_names(sub)


def generate(sub: Graph, spec: Specialization, name: str) -> KernelSource:
    """The kernel source of ``sub`` for ``spec``; raises UnsupportedError where it cannot."""
    return _Kernel(sub, spec).build(name)
