"""The compiled plan's code: one straight-line Python function over raw numpy arrays.

:func:`record` runs the optimized graph once with a recording interpreter: per node, the kinds
of its arguments (array dtype and whether 0-d, scalar type, list contents) and the casts PyTorch
promotion applies. :func:`emit_plan` writes one function from the graph and the records:

* an op node seen with one kind of arguments calls its registry kernel on arrays
  (``K(np, a, b.astype(float32))``) — no Tensor objects, no binding, no dispatch; where two
  tensors of different dtypes meet, a 0-d guard keeps promotion exact (a miss re-runs the call
  through the interpreter);
* ``prim::FusionGroup`` calls a :class:`FusionRunner` (C kernel, else numpy chunks, else the
  subgraph through the interpreter); row reductions with a C kernel call it (``c_rows.py``);
* ``prim::If``/``prim::Loop`` become Python ``if``/``while``; tuples and lists are literals;
* anything else — a node never reached when recorded, seen with varying kinds, a composite
  without a kernel, a scalar handler reading tensors — wraps its arrays in Tensors and runs
  through eager dispatch or the interpreter's handler (listed as an ``eager`` fallback).

The function runs with numpy's floating-point warnings off (PyTorch is silent), returns Tensors
(a graph input returned as is keeps its identity) and is registered with ``linecache``.
"""

from __future__ import annotations

import keyword
import linecache
import os
import re
import sys
from dataclasses import dataclass
from itertools import count

import numpy as np

from graphtorch.autograd.grad_mode import no_grad
from graphtorch.device import CPU
from graphtorch.errors import GraphError
from graphtorch.ir import types as T
from graphtorch.ir.graph import TensorRef
from graphtorch.ir.op_call import split_op_inputs
from graphtorch.ops.dispatch import _casts_for, dispatch
from graphtorch.ops.errstate import IGNORE_STATE
from graphtorch.ops.registry import REGISTRY
from graphtorch.ops.scalar_ops import SCALAR_OPS
from graphtorch.runtime import (
    c_backend,
    c_epilogue,
    c_reduce,
    c_reduce_epilogue,
    c_reduce_group,
    plan_kernels,
    plan_memory,
)
from graphtorch.runtime.c_elementwise import CKernel, prelude
from graphtorch.runtime.c_launch import launcher
from graphtorch.runtime.c_rows import row_kernel
from graphtorch.runtime.cpu_fused import FusedKernel
from graphtorch.runtime.interpreter import PRIM_HANDLERS, Interpreter
from graphtorch.runtime.plan_release import release_dead_arrays
from graphtorch.tensor import Tensor

_COUNTER = count()


def _plan_kernel(op):
    """The kernel the plan calls for ``op``: a faster plan-local one (plan_kernels.py) or the
    registry's."""
    if op.kernel is None:
        return plan_kernels.COMPOSITES.get(op.name)
    return plan_kernels.KERNELS.get(op.kernel, op.kernel)


@dataclass
class KernelInfo:
    """One kernel of a plan: what it computes and which backend runs it."""

    name: str
    backend: str      # "c", "numpy", "python" (kernel call), "eager" (fallback through dispatch)
    detail: str = ""


class Deopt(Exception):
    """A guard inside compiled code failed: this call runs through the interpreter."""
_PASS_THROUGH = {"prim::TupleConstruct", "prim::ListConstruct", "prim::TupleUnpack",
                 "prim::ListUnpack", "prim::TupleIndex", "prim::ListIndex",
                 "prim::DictConstruct", "prim::DictIndex", "prim::Uninitialized",
                 "prim::unchecked_cast"}


# list and dict operations that move elements without looking at them: raw arrays are fine
_AGNOSTIC = {"prim::list_append", "prim::list_clear", "prim::list_copy", "prim::list_extend",
             "prim::list_get", "prim::list_insert", "prim::list_pop", "prim::list_reverse",
             "prim::list_set", "prim::list_slice", "prim::dict_get", "prim::dict_get_default",
             "prim::dict_items", "prim::dict_keys", "prim::dict_pop", "prim::dict_set",
             "prim::dict_update", "prim::dict_values"}


def _static_tensor(t) -> bool:
    """Whether a value of IR type ``t`` may hold a tensor (unknown types: yes)."""
    if isinstance(t, (T.IntType, T.FloatType, T.BoolType, T.StrType, T.NoneType,
                      T.DeviceType, T.DTypeType, T.NumberType)):
        return False
    if isinstance(t, T.OptionalType):
        return _static_tensor(t.elem)
    if isinstance(t, T.ListType):
        return _static_tensor(t.elem)
    if isinstance(t, T.TupleType):
        return any(_static_tensor(e) for e in t.elems)
    if isinstance(t, T.DictType):
        return _static_tensor(t.key) or _static_tensor(t.value)
    return True


# --- kinds --------------------------------------------------------------------------------------
def kind(v):
    """What the generated code may assume about a value."""
    if isinstance(v, Tensor):
        if v._device is not CPU:
            return ("X",)
        return ("T", v._data.dtype, v._data.ndim == 0)
    t = type(v)
    if t is list or t is tuple:
        if len(v) > 16:
            return (t, None)
        return (t, tuple(kind(x) for x in v))
    return t


def has_tensor(k) -> bool:
    if type(k) is tuple and k:
        if k[0] in ("T", "X"):
            return True
        if k[0] in (list, tuple):
            return k[1] is None or any(has_tensor(x) for x in k[1])
    return False


class Recorder(Interpreter):
    """The reference interpreter, noting every node's argument and result kinds."""

    def __init__(self):
        super().__init__()
        self.records: dict = {}
        self.first: dict = {}

    def run_block(self, block, env: dict, top: bool = False) -> list:
        for node in block.nodes:
            args = [env[v] for v in node.inputs]
            self.run_node(node, env)
            outs = [env[v] for v in node.outputs]
            obs = (tuple(kind(a) for a in args), tuple(kind(o) for o in outs), _casts(node, args))
            seen = self.records.setdefault(node, set())
            if not seen:
                self.first[node] = args
            seen.add(obs)
        return [env[v] for v in block.outputs]


def _casts(node, args: list):
    if not node.kind.startswith("op::"):
        return None
    op = REGISTRY.get(node.kind[4:])
    if op is None or op.promotion.name == "NONE":
        return ()
    vals = list(args) + list(op.binder.defaults[len(args):len(op.schema.args)])
    try:
        return tuple((i, np.dtype(dt)) for i, dt in _casts_for(op, vals))
    except Exception:  # noqa: BLE001 - the generic path handles what promotion rejects
        return None


def record(graph, inputs: list) -> tuple[dict, list]:
    rec = Recorder()
    with no_grad():
        out = rec.run(graph, list(inputs))
    return rec, out


# --- helpers the generated code calls -----------------------------------------------------------
def _w(x):
    t = type(x)
    if t is np.ndarray:
        return Tensor._wrap(x, CPU)
    if t is list:
        return [_w(v) for v in x]
    if t is tuple:
        return tuple(_w(v) for v in x)
    return x


def _u(x):
    if isinstance(x, Tensor):
        if x._device is not CPU:
            raise Deopt
        return x._data
    t = type(x)
    if t is list:
        return [_u(v) for v in x]
    if t is tuple:
        return tuple(_u(v) for v in x)
    return x


def _wi(x, originals: dict):
    """``_w`` that gives back the caller's Tensor for an array that is an input's."""
    t = type(x)
    if t is np.ndarray:
        o = originals.get(id(x))
        return o if o is not None and isinstance(o, Tensor) and o._data is x else _w(x)
    if t is list:
        return [_wi(v, originals) for v in x]
    if t is tuple:
        return tuple(_wi(v, originals) for v in x)
    return x


def _holds_input(v, graph) -> bool:
    node = v.node
    if node is None or node.kind not in ("prim::TupleConstruct", "prim::ListConstruct"):
        return False
    return any(x in graph.inputs or _holds_input(x, graph) for x in node.inputs)


def _arr(x):
    return x if type(x) is np.ndarray else np.asarray(x)


def _arrs(x):
    return tuple(_arr(v) for v in x)


def _arrl(x):
    return [_arr(v) for v in x]


def _deopt():
    raise Deopt


_KERNELS: dict = {}  # a group's printed subgraph -> (FusedKernel, CKernel): unrolled copies share
MAX_SHARED = 512


def _kernels_for(node):
    key = str(node.attrs["subgraph"])
    hit = _KERNELS.get(key)
    if hit is None:
        if len(_KERNELS) >= MAX_SHARED:
            _KERNELS.pop(next(iter(_KERNELS)))
        fused = FusedKernel(node)
        hit = _KERNELS[key] = (fused, CKernel(fused) if c_backend.available() else None)
    return hit


class FusionRunner:
    """Runs one FusionGroup on arrays: C kernel, else numpy chunks, else the interpreter."""

    def __init__(self, node, static: bool = False):
        self.node = node
        self.fused, self.c = _kernels_for(node)
        self.launches: dict = {}
        self.nout = len(node.outputs)
        self.backend = "numpy"
        # NOTE: static: the plan fixed every argument's kind (array dtype, scalar type), so the
        # generated code looks a C launch up by the arrays' shapes and strides alone (``fast``)
        self.static = static
        self.fast: dict = {}
        # (output, argument) pairs the plan's code may write in place (plan_memory.py): their
        # launches sit in ``fast`` under ("inplace", geometry, alias)
        self.alias: tuple = ()

    def __call__(self, args: list) -> list:
        key = tuple([(a.shape, a.strides, a.dtype) if type(a) is np.ndarray else
                     (type(a), a if type(a) not in (int, float) else None) for a in args])
        hit = self.launches.get(key)
        if hit is None:
            hit = self.launches[key] = self._launch(args)
            if hit is not False and self.static and len(self.fast) < 64:
                addr, full, dts, ints = hit[:4]
                geometry = tuple(x for a in args if type(a) is np.ndarray
                                 for x in (a.shape, a.strides, a.dtype))
                self.fast[geometry] = (full, *dts, addr, ints)
                if plan_memory.alias_of(self):   # NOTE: a new geometry's in-place launch
                    plan_memory.add_inplace(self, args)
        if hit is not False:
            addr, full, dts, ints, arrays, int_args, float_args = hit
            outs = [np.empty(full, dt) for dt in dts]
            self.launch(addr, [args[i] for i in arrays] + outs,
                        [*ints, *[int(args[i]) for i in int_args]] if int_args else ints,
                        [args[i] for i in float_args])
            return outs
        outs = self.fused(args)
        if outs is None:
            return _u(Interpreter().run(self.fused.graph, _w(list(args))))
        return outs

    def _launch(self, args: list):
        """(kernel address, output shape, dtypes, ints, array / int / float argument
        positions) or False (the numpy path)."""
        if self.c is None:
            return False
        lay = self.c.layout(args)
        if lay is None:
            return False
        addr, full, dts, ints = lay
        arrays = tuple(i for i, a in enumerate(args) if type(a) is np.ndarray)
        int_args = tuple(i for i, a in enumerate(args) if type(a) in (int, bool))
        float_args = tuple(i for i, a in enumerate(args) if type(a) is float)
        self.backend = "c"
        self.launch = launcher()
        return addr, full, dts, ints, arrays, int_args, float_args


# --- the emitter --------------------------------------------------------------------------------
class _Emitter:
    def __init__(self, graph, rec: Recorder):
        self.graph = graph
        self.rec = rec
        self.lines: list[str] = []
        self.ns: dict = {"np": np, "dispatch": dispatch, "_w": _w, "_u": _u, "_arr": _arr,
                         "_arrs": _arrs, "_arrl": _arrl, "_wi": _wi, "_deopt": _deopt,
                         "_wt": plan_kernels.weight_t, "_empty": np.empty,
                         "_rc": sys.getrefcount}
        self.names: dict = {}
        self.used: set[str] = set()
        self.suffix: dict[str, int] = {}  # base name -> the last suffix given
        self.kernels: list[KernelInfo] = []
        self.pending: dict = {}  # linear output -> its bias, for the activation's epilogue
        self.epilogues_by_act: dict = {}  # activation node -> its Epilogue (transposed product)
        self.loops = 0  # loop nesting of the node being emitted
        self.hoisted: dict[str, str] = {}  # a weight's name -> its transpose's (plan_kernels.py)
        self.writes = plan_kernels.writes_in_place(graph)
        self.reuse_on = plan_memory.applies(graph)  # outputs written into dead inputs
        self.reduce_groups: dict = {}  # member node -> its group's member nodes (c_reduce_group)
        self.groups_made: dict = {}  # first member -> (group object, recorded arguments)
        self.prologues: dict = {}  # first member -> the FusionGroup computed inside its sweep
        if c_reduce_group.available() and not self.writes:
            for nodes in c_reduce_epilogue.find_groups(graph.block, self.group_rank):
                for n in nodes:
                    self.reduce_groups[n] = nodes
                fg = c_reduce_group.prologue_of(nodes)
                if fg is not None and _launchable(self.one(fg)):
                    self.prologues[nodes[0]] = fg
        self.inlined = set(self.prologues.values())
        # nodes whose code reads their inputs later than their place (plan_memory.py)
        self.deferred = set(self.prologues.values())
        self.order: dict = {}  # block -> its nodes' positions (plan_memory.dead_inputs)
        self.epilogues: dict = {}  # first member -> the FusionGroup run in its row loop
        for nodes in {id(g): g for g in self.reduce_groups.values()}.values():
            if nodes[0] in self.prologues:
                continue
            rank = self.group_rank(nodes[0])
            if not c_reduce_epilogue.fits_nodes(nodes, rank):
                continue
            fg = c_reduce_epilogue.epilogue_of(nodes, nodes[0].block.nodes, rank)
            if fg is not None and fg not in self.inlined and _launchable(self.one(fg)):
                self.epilogues[nodes[0]] = fg
                self.inlined.add(fg)

    def one(self, node):
        """The node's one recorded observation, or None (never reached, or several)."""
        seen = self.rec.records.get(node)
        return next(iter(seen)) if seen and len(seen) == 1 else None

    def group_rank(self, node) -> int | None:
        """The input's rank when a reduction's recording lets it run in a reduction group
        (one kind of arguments, a float array input, nothing the plan would refuse)."""
        seen = self.rec.records.get(node)
        one = next(iter(seen)) if seen and len(seen) == 1 else None
        if one is None or _raw_refusal(REGISTRY.get(node.kind[4:]), node, one) is not None:
            return None
        x = one[0][0]
        if not (type(x) is tuple and x[0] == "T" and x[1] in (np.float32, np.float64)):
            return None
        first = self.rec.first.get(node)
        return first[0]._data.ndim if first and isinstance(first[0], Tensor) else None

    def name(self, v) -> str:
        n = self.names.get(v)
        if n is None:
            base = re.sub(r"\W", "_", v.name or "v")
            if not base[0].isalpha() or keyword.iskeyword(base) or base in self.ns:
                base = f"v_{base}"
            n, i = base, self.suffix.get(base, 0)
            if i:
                n = f"{base}_{i}"
            while n in self.used or n in self.ns:
                i += 1
                n = f"{base}_{i}"
            self.suffix[base] = i  # NOTE: the next value of this name starts here (no rescan)
            self.used.add(n)
            self.names[v] = n
        return n

    def obj(self, value, prefix: str) -> str:
        n = f"{prefix}{len(self.ns)}"
        self.ns[n] = value
        return n

    def emit(self, line: str, depth: int) -> None:
        self.lines.append("    " * depth + line)

    def assign(self, node, rhs: str, depth: int) -> None:
        outs = [self.name(o) for o in node.outputs]
        if not outs:
            self.emit(rhs, depth)
        elif len(outs) == 1:
            self.emit(f"{outs[0]} = {rhs}", depth)
        else:
            self.emit(f"{', '.join(outs)}, = {rhs}", depth)

    def block(self, block, depth: int) -> None:
        for node in block.nodes:
            self.node(node, depth)

    def flush(self, node, depth: int) -> None:
        """A product whose bias waits for an epilogue that is not coming: add it now."""
        for v in node.inputs:
            bias = self.pending.pop(v, None)
            if bias is not None:
                self.emit(f"{self.name(v)} = {self.name(v)} + {bias}", depth)

    def node(self, node, depth: int) -> None:
        kind_ = node.kind
        if not kind_.startswith("op::"):
            self.flush(node, depth)
        args = [self.name(v) for v in node.inputs]
        seen = self.rec.records.get(node)
        one = next(iter(seen)) if seen and len(seen) == 1 else None
        if kind_ == "prim::Constant":
            v = node.attrs["value"]
            if isinstance(v, TensorRef):
                v = node.graph.tensor_constants[v.name]._data
            # NOTE: strings stay objects: no text from a graph is compiled as source
            lit = repr(v) if isinstance(v, (bool, int)) or v is None else self.obj(v, "c_")
            self.assign(node, lit, depth)
        elif kind_.startswith("op::"):
            self.op(node, args, one, depth)
        elif kind_ == "prim::FusionGroup" and node in self.inlined:
            pass    # NOTE: computed inside the sweep of the reduction group reading it
        elif kind_ == "prim::FusionGroup":
            runner = FusionRunner(node, static=_launchable(one))
            first = self.rec.first.get(node)
            if first is not None:
                runner(_u(list(first)))  # NOTE: builds (compiles) the kernel now, not later
            ref = self.obj(runner, "fg_")
            if runner.fast and node.outputs:
                self.fusion_launch(node, args, one[0], ref, depth)
            else:
                rhs = f"{ref}([{', '.join(args)}])" + ("[0]" if len(node.outputs) == 1 else "")
                self.assign(node, rhs, depth)
            members = ", ".join(n.kind[4:] for n in node.attrs["subgraph"].nodes()
                                if n.kind.startswith("op::"))
            detail = members if runner.c is None or runner.c.failed is None else \
                f"{members} (C refused: {runner.c.failed})"
            if runner.alias:
                detail += "; " + plan_memory.describe(
                    [(self.name(node.outputs[i]), args[p]) for i, p in runner.alias])
            self.kernels.append(KernelInfo(f"fusion group [{members}]", runner.backend, detail))
        elif kind_ == "prim::If":
            self.emit(f"if {args[0]}:", depth)
            for b in node.blocks:
                if b is node.blocks[1]:
                    self.emit("else:", depth)
                self.block(b, depth + 1)
                outs = [self.name(o) for o in node.outputs]
                if outs:
                    rets = [self.name(v) for v in b.outputs]
                    self.emit(f"{', '.join(outs)}, = {', '.join(rets)},", depth + 1)
                else:
                    self.emit("pass", depth + 1)
        elif kind_ == "prim::Loop":
            self.loop(node, args, depth)
        elif kind_ == "prim::size" and one is not None and one[0][0][0] == "T":
            # NOTE: an array's shape is the tensor's size (negative dims index alike)
            rhs = f"list({args[0]}.shape)" if len(args) == 1 else f"{args[0]}.shape[{args[1]}]"
            self.assign(node, rhs, depth)
        elif kind_ == "prim::dim" and one is not None and one[0][0][0] == "T":
            self.assign(node, f"{args[0]}.ndim", depth)
        elif kind_ in ("prim::is", "prim::is_not") and any(
                isinstance(v.type, T.NoneType) for v in node.inputs):
            # NOTE: a comparison with None means the same on an array as on its tensor
            op = "is" if kind_ == "prim::is" else "is not"
            self.assign(node, f"{args[0]} {op} {args[1]}", depth)
        elif kind_ == "prim::TupleConstruct":
            self.assign(node, f"({', '.join(args)}{',' if len(args) == 1 else ''})", depth)
        elif kind_ == "prim::ListConstruct":
            self.assign(node, f"[{', '.join(args)}]", depth)
        elif kind_ == "prim::PythonOp":     # NOTE: Python code (a custom Function) sees Tensors
            self.generic(node, args, depth, f"Python code: {node.attrs.get('name', '?')}")
        elif kind_ in _PASS_THROUGH or kind_ in _AGNOSTIC or kind_ == "prim::GetAttr" or not any(
                _static_tensor(v.type) for v in node.inputs):
            self.direct(node, args, depth)
        else:
            self.generic(node, args, depth, "arguments include tensors")

    def fusion_launch(self, node, args: list[str], arg_kinds, ref: str, depth: int) -> None:
        """A C fusion group launched from the plan's code: its launch is looked up by the
        arrays' shapes, strides and dtypes, outputs allocated here (or, plan_memory.py, taken
        from inputs that die here); a new geometry goes through the runner (which compiles the
        variant or picks the numpy path)."""
        arrays = [a for a, k in zip(args, arg_kinds) if type(k) is tuple]
        ints = [f"int({a})" if k is bool else a for a, k in zip(args, arg_kinds)
                if k in (int, bool)]
        floats = [a for a, k in zip(args, arg_kinds) if k is float]
        # NOTE: dtypes too: a branch not taken when recorded may bring another one
        geometry = ", ".join(f"{a}.shape, {a}.strides, {a}.dtype" for a in arrays)
        self.ns["_launch"] = launcher()
        outs = [self.name(o) for o in node.outputs]
        slot = f"_fl{len(self.lines)}"
        runner = self.ns[ref]
        first = first_args(self.rec, node) if self.reuse_on else None
        if first is not None:
            plan_memory.plan_group(runner, node, self.graph, self.order, self.deferred, first)
        fast = self.obj(runner.fast, "fd_")
        alias = dict(runner.alias)
        key = f"({geometry},)"
        if alias:   # NOTE: the geometry is looked up twice: name it once
            self.emit(f"_g{slot[3:]} = {key}", depth)
            key = f"_g{slot[3:]}"
        self.emit(f"{slot} = {fast}.get({key})", depth)
        self.emit(f"if {slot} is None:", depth)
        self.emit(f"{', '.join(outs)}, = {ref}([{', '.join(args)}])", depth + 1)
        if alias:
            ip = f"_fi{slot[3:]}"
            owned = plan_memory.owned_test([args[p] for p in alias.values()])
            self.emit(f"elif {owned} and ({ip} := {fast}.get(('inplace', {key}, "
                      f"{runner.alias!r}))) is not None:", depth)
            self.launch_lines(ip, outs, arrays, ints, floats, depth + 1,
                              {i: args[p] for i, p in alias.items()})
        self.emit("else:", depth)
        self.launch_lines(slot, outs, arrays, ints, floats, depth + 1)

    def launch_lines(self, slot: str, outs: list[str], arrays: list[str], ints: list[str],
                     floats: list[str], depth: int, reuse: dict | None = None) -> None:
        """Outputs (new arrays, or the dead inputs ``reuse`` names) and the kernel's launch
        from the ``fast`` entry in ``slot``."""
        for i, o in enumerate(outs):
            self.emit(f"{o} = {reuse[i]}" if reuse and i in reuse else
                      f"{o} = _empty({slot}[0], {slot}[{i + 1}])", depth)
        n = len(outs)
        int_list = f"{slot}[{n + 2}]" if not ints else \
            f"(*{slot}[{n + 2}], {', '.join(ints)})"
        self.emit(f"_launch({slot}[{n + 1}], ({', '.join(arrays + outs)},), {int_list}, "
                  f"({', '.join(floats)}{',' if len(floats) == 1 else ''}))", depth)

    def direct(self, node, args: list[str], depth: int) -> None:
        """A handler or scalar op that never sees a tensor: called as is."""
        kind_ = node.kind
        handler = PRIM_HANDLERS.get(kind_)
        if handler is None and kind_ in SCALAR_OPS:
            self.assign(node, f"{self.obj(SCALAR_OPS[kind_], 's_')}({', '.join(args)})", depth)
            return
        if handler is None:
            raise GraphError(f"the plan codegen has no rule for node kind {kind_!r}")
        h, n = self.obj(handler, "h_"), self.obj(node, "n_")
        rhs = f"_u({h}(_interp, {n}, [{', '.join(args)}], None))"
        self.assign(node, f"tuple({rhs})" if len(node.outputs) > 1 else rhs, depth)

    def generic(self, node, args: list[str], depth: int, why: str) -> None:
        """Wrap arrays in Tensors, run through dispatch / the handler, unwrap."""
        kind_ = node.kind
        self.kernels.append(KernelInfo(kind_, "eager", why))
        wrapped = [f"_w({a})" for a in args]
        if kind_.startswith("op::"):
            op = REGISTRY.get(kind_[4:])
            if op is None:
                raise GraphError(f"unknown op {kind_!r}")
            ref = self.obj(op, "op_")
            pos_args, kw_args = split_op_inputs(op, wrapped)
            pos = f"({', '.join(pos_args)}{',' if len(pos_args) == 1 else ''})"
            kw = "None"
            if kw_args:
                kw = "{" + ", ".join(f"{k!r}: {a}" for k, a in kw_args.items()) + "}"
            self.assign(node, f"_u(dispatch({ref}, {pos}, {kw}))", depth)
            return
        handler = PRIM_HANDLERS.get(kind_)
        if handler is None and kind_ in SCALAR_OPS:
            fn = self.obj(SCALAR_OPS[kind_], "s_")
            self.assign(node, f"_u({fn}({', '.join(wrapped)}))", depth)
            return
        if handler is None:
            raise GraphError(f"the plan codegen has no rule for node kind {kind_!r}")
        h, n = self.obj(handler, "h_"), self.obj(node, "n_")
        rhs = f"_u({h}(_interp, {n}, [{', '.join(wrapped)}], None))"
        self.assign(node, f"tuple({rhs})" if len(node.outputs) > 1 else rhs, depth)

    def op(self, node, args: list[str], one, depth: int) -> None:
        op = REGISTRY.get(node.kind[4:])
        if op is None:
            raise GraphError(f"unknown op {node.kind!r}")
        group = self.reduce_groups.get(node)
        if group is not None:
            if node is group[0]:   # NOTE: the others' arguments are constants: all known here
                self.reduce_group(group, args, depth)
            return
        why = _raw_refusal(op, node, one)
        if why is not None:
            self.flush(node, depth)
            self.generic(node, args, depth, why)
            return
        arg_kinds, out_kinds, casts = one
        if op.rg_arg is not None and op.rg_arg < len(node.inputs):
            self.flush(node, depth)
            self.generic(node, args, depth, "requires_grad argument")
            return
        vals = list(args)
        for i, dt in casts:
            vals[i] = f"{vals[i]}.astype({self.obj(dt, 'dt_')})"
        tail = op.binder.defaults[len(args):len(op.schema.args)]
        vals += [repr(d) if isinstance(d, (bool, int)) or d is None
                 else self.obj(d, "d_") for d in tail]    # NOTE: repr(inf) is not Python
        self.guard(op, node, args, arg_kinds, depth)
        if self.epilogue(op, node, vals, arg_kinds, depth):
            return
        self.flush(node, depth)
        rows = row_kernel(op, node, arg_kinds, self.rec.first.get(node))
        what = "row kernel"
        if rows is None:
            rows, what = c_reduce.reduce_kernel(op, arg_kinds), "reduction kernel"
        if rows is not None:
            ref = self.obj(rows, "row_")
            self.kernels.append(KernelInfo(f"{op.name} ({what})", rows.backend, rows.detail))
            self.assign(node, f"{ref}({', '.join(vals)})", depth)
            return
        if _plan_kernel(op) is None:   # a composite the C kernel would have run (it failed)
            self.generic(node, args, depth, "composite without a kernel (its C kernel failed)")
            return
        k = self.obj(_plan_kernel(op), f"k_{op.name}_")
        if self.loops and not self.writes and plan_kernels.hoistable_weight(op, node, self.graph) \
                and vals[1] == args[1]:
            if args[1] not in self.hoisted:
                t, i = f"{args[1]}_t", 0
                while t in self.used or t in self.ns:
                    i += 1
                    t = f"{args[1]}_t{i}"
                self.used.add(t)
                self.hoisted[args[1]] = t
            vals.append(self.hoisted[args[1]])
        call = f"{k}(np, {', '.join(vals)})"
        if len(out_kinds) == 1 and out_kinds[0][0] == "T":
            rhs = f"_arr({call})" if out_kinds[0][2] else call
        elif len(out_kinds) == 1 and out_kinds[0][0] is list:
            rhs = f"_arrl({call})"
        else:
            rhs = f"_arrs({call})"
        ufunc = plan_memory.ufunc_candidate(op, node, self.graph, args, vals, one, self.order,
                                            self.deferred) if self.reuse_on else None
        if ufunc is not None:   # NOTE: numpy writes into the dead argument when it is ours
            test, call = plan_memory.ufunc_code(ufunc, vals)
            self.emit(f"if {test}:", depth)
            self.assign(node, call, depth + 1)
            self.emit("else:", depth)
            depth += 1
        self.kernels.append(KernelInfo(op.name, "python", plan_memory.describe(
            [(self.name(node.output), args[ufunc[1]])]) if ufunc else ""))
        self.assign(node, rhs, depth)

    def group_of(self, nodes: list):
        """(the group object of reduction ``nodes``, the arguments of its recorded call or
        None), made once: :meth:`group_sources` reads its kernel source before emission."""
        made = self.groups_made.get(nodes[0])
        if made is not None:
            return made
        members = [c_reduce_group.member_of(n) for n in nodes]
        fg = self.prologues.get(nodes[0])
        epi = self.epilogues.get(nodes[0])
        got = None
        if epi is not None:
            results = c_reduce_epilogue.results_of(nodes, self.group_rank(nodes[0]))
            extra = [v for v in epi.inputs if v not in results]
            sources = [results[v] if v in results else ("arg", extra.index(v))
                       for v in epi.inputs]
            group = c_reduce_epilogue.EpilogueGroup(members, FusionRunner(epi), sources)
            first, firsts = self.rec.first.get(nodes[0]), self.rec.first.get(epi)
            if first is not None and firsts is not None:
                got = _u([first[0]] + [firsts[i] for i, (k, _) in enumerate(sources)
                                       if k == "arg"])
        elif fg is not None:
            group = c_reduce_group.ReduceGroup(members, prologue=FusionRunner(fg))
            first = self.rec.first.get(fg)
            got = None if first is None else _u(list(first))
        else:
            group = c_reduce_group.ReduceGroup(members)
        made = self.groups_made[nodes[0]] = (group, got)
        return made

    def group_sources(self) -> list[str]:
        """The C sources of the reduction groups with a prologue or an epilogue (compiled
        with the fusion groups' in :func:`prebuild`)."""
        found = []
        for nodes in {id(g): g for g in self.reduce_groups.values()}.values():
            group, got = self.group_of(nodes)
            if got is not None:
                found += group.pending_sources(*got)
        return found

    def reduce_group(self, nodes: list, args: list[str], depth: int) -> None:
        """Reductions of one value: one call computing all of them where the first stood
        (with a prologue: from the elementwise group's arguments, the value never stored)."""
        self.flush(nodes[0], depth)
        fg = self.prologues.get(nodes[0])
        epi = self.epilogues.get(nodes[0])
        outs = [self.name(n.output) for n in nodes]
        group, got = self.group_of(nodes)
        if got is not None:
            group(*got)  # NOTE: loads (or compiles) the sweep now, not at the first call
        if epi is not None:
            results = c_reduce_epilogue.results_of(nodes, self.group_rank(nodes[0]))
            args = args[:1] + [self.name(v) for v in epi.inputs if v not in results]
            outs += [self.name(o) for o in epi.outputs]
        elif fg is not None:
            args = [self.name(v) for v in fg.inputs]
        else:
            args = args[:1]
        ref = self.obj(group, "rg_")
        self.kernels.append(KernelInfo(group.name, group.backend, group.detail))
        self.emit(f"{', '.join(outs)}, = {ref}({', '.join(args)})", depth)

    def epilogue(self, op, node, vals: list[str], arg_kinds, depth: int) -> bool:
        """``linear`` feeding only an activation: product now, bias + activation in one C
        pass at the activation (c_epilogue.py). True when emitted here."""
        if not c_epilogue.available():
            return False
        floats = bool(arg_kinds) and type(arg_kinds[0]) is tuple and arg_kinds[0][0] == "T" \
            and arg_kinds[0][1] in (np.float32, np.float64)
        if op.name == "linear" and floats and len(vals) == 3 and vals[2] != "None":
            uses = node.output.uses
            user = uses[0].node if len(uses) == 1 else None
            if (user is not None and user.kind.startswith("op::") and user.block is node.block
                    and user.inputs[0] is node.output
                    and (user.kind == "op::gelu"
                         or c_epilogue.activation_key(user.kind[4:], [None]) is not None)):
                what = "linear (BLAS product; bias in the epilogue)"
                if c_epilogue.feeds_linear(user):   # NOTE: the product transposed (c_epilogue)
                    epi = self.epilogues_by_act[user] = c_epilogue.Epilogue(
                        REGISTRY[user.kind[4:]], owns_input=True)
                    k, what = f"{self.obj(epi, 'epi_')}.product", what.replace(";", ", W @ x.T;")
                else:
                    k = self.obj(_plan_kernel(op), f"k_{op.name}_")
                self.pending[node.output] = vals[2]
                self.kernels.append(KernelInfo(what, "python"))
                self.assign(node, f"{k}(np, {vals[0]}, {vals[1]}, None)", depth)
                return True
            return False
        if not floats or c_epilogue.activation_key(op.name, [None, *vals[1:]]) is None and \
                op.name != "gelu":
            return False
        bias = self.pending.pop(node.inputs[0], None)
        if bias is None and op.name not in ("gelu", "silu"):
            return False  # numpy runs a lone relu / tanh / sigmoid about as fast
        epi = self.epilogues_by_act.pop(node, None) if bias is not None else None
        ref = self.obj(epi or c_epilogue.Epilogue(op, owns_input=bias is not None), "epi_")
        what = f"linear + {op.name} epilogue" if bias is not None else f"{op.name} (C map)"
        self.kernels.append(KernelInfo(what, "c"))
        self.assign(node, f"{ref}({vals[0]}, {bias or 'None'}, {', '.join(vals[1:])})", depth)
        return True

    def guard(self, op, node, args: list[str], arg_kinds, depth: int) -> None:
        """Two promoted tensors of different dtypes: promotion depends on which are 0-d."""
        promoted = [(i, k) for i, k in enumerate(arg_kinds)
                    if i in op.promote_args and type(k) is tuple and k and k[0] == "T"]
        if len({k[1] for _, k in promoted}) < 2:
            return
        now = " or ".join(f"({args[i]}.ndim == 0) is not {k[2]}" for i, k in promoted)
        self.emit(f"if {now}: _deopt()", depth)

    def loop(self, node, args: list[str], depth: int) -> None:
        body = node.blocks[0]
        trip, cond, carried = args[0], args[1], args[2:]
        outs = [self.name(o) for o in node.outputs]
        i, c = self.name(body.inputs[0]), f"cond_{len(self.lines)}"
        self.emit(f"{c} = {cond}", depth)
        self.emit(f"{i} = 0", depth)
        params = [self.name(v) for v in body.inputs[1:]]
        if params:
            self.emit(f"{', '.join(params)}, = {', '.join(carried)},", depth)
        self.emit(f"while {c} and ({trip} is None or {i} < {trip}):", depth)
        self.loops += 1
        self.block(body, depth + 1)
        self.loops -= 1
        rets = [self.name(v) for v in body.outputs]
        self.emit(f"{', '.join([c] + params)}, = {', '.join(rets)},", depth + 1)
        self.emit(f"{i} += 1", depth + 1)
        if outs:
            self.emit(f"{', '.join(outs)}, = {', '.join(params)},", depth)


def _launchable(one) -> bool:
    """Whether a fusion group's recording fixes its arguments' kinds: CPU arrays and Python
    numbers only (what :meth:`_Emitter.fusion_launch` passes to a C kernel)."""
    if one is None:
        return False
    return all(k in (int, float, bool) or (type(k) is tuple and k and k[0] == "T")
               for k in one[0])


def _raw_refusal(op, node, one) -> str | None:
    """Why ``node`` cannot call its kernel on arrays (None: it can)."""
    if one is None:
        return "not reached when the plan was recorded" if node not in _SEEN_ANY else \
            "argument kinds vary between runs"
    if op.kernel is None and not c_reduce.handles(op) and op.name not in plan_kernels.COMPOSITES:
        return "composite without a kernel (runs its decomposition)"
    arg_kinds, out_kinds, casts = one
    if casts is None:
        return "promotion needs the general path"
    if op.device_arg is not None:
        return "creates tensors on a device"
    if not out_kinds or any(not (type(k) is tuple and k and k[0] == "T") and
                            not (type(k) is tuple and k and k[0] in (list, tuple) and
                                 k[1] is not None and all(type(x) is tuple and x[0] == "T"
                                                          for x in k[1]))
                            for k in out_kinds):
        return "returns something other than CPU tensors"
    if any(type(k) is tuple and k and k[0] == "X" for k in arg_kinds):
        return "non-CPU tensor argument"
    if not any(has_tensor(k) for k in arg_kinds):
        return "no tensor argument (dispatch makes one)"
    return None


_SEEN_ANY: set = set()


def prebuild(graph, rec: Recorder, skip: set = frozenset(), dead=None, extra=()) -> int:
    """Compile the C kernels of the plan's fusion groups in one go (``c_backend.load_many``:
    one compiler run per core, one link) before emission loads them one by one; a cold plan
    of many groups pays one compiler start instead of one per group; groups in ``skip`` (run
    inside a reduction's sweep) are left out; ``dead(node)``: the positions of a group's inputs
    that die there, whose in-place variant (plan_memory.py) is compiled with them; ``extra``:
    more sources (reduction groups). Returns how many."""
    if not c_backend.available():
        return 0
    sources = list(extra)
    for node in graph.walk():
        first = rec.first.get(node) if node.kind == "prim::FusionGroup" and node not in skip \
            else None
        if first is None:
            continue
        ckernel = _kernels_for(node)[1]
        src = ckernel.pending_source(_u(list(first))) if ckernel is not None else None
        if src is not None:
            sources.append(src)
        src = plan_memory.inplace_source(ckernel, _u(list(first)), dead(node)) \
            if ckernel is not None and dead is not None else None
        if src is not None:
            sources.append(src)
    return c_backend.load_many(sources, jobs=min(4, os.cpu_count() or 1), prelude=prelude())


def first_args(rec: Recorder, node) -> list | None:
    """The arrays and numbers ``node`` was first called with when the plan was recorded."""
    first = rec.first.get(node)
    return None if first is None else _u(list(first))


def emit_plan(graph, rec: Recorder, inputs: list):
    """(runner, source, kernels) for ``graph`` given its recording."""
    _SEEN_ANY.clear()
    _SEEN_ANY.update(n for n, s in rec.records.items() if s)
    e = _Emitter(graph, rec)
    e.ns["_interp"] = Interpreter()
    e.used.add("_inputs")
    params = [e.name(v) for v in graph.inputs]
    originals = [f"{p}_in" for p in params]
    e.emit("def plan(_inputs):", 0)   # NOTE: takes the input list: the plan's runner itself
    if originals:
        e.emit(f"{', '.join(originals)}, = _inputs", 1)
    e.ns["_T"], e.ns["_CPU"] = Tensor, CPU
    for p, o, v in zip(params, originals, inputs):
        k = kind(v)
        if type(k) is tuple and k[0] == "T":  # NOTE: _u inlined for the common case
            e.emit(f"{p} = {o}._data if type({o}) is _T and {o}._device is _CPU else _u({o})",
                   1)
        else:
            e.emit(f"{p} = {'_u(' + o + ')' if has_tensor(k) else o}", 1)
    top = len(e.lines)
    prebuild(graph, rec, e.inlined, (lambda n: plan_memory.dead_inputs(
        n, graph, e.order, e.deferred)) if e.reuse_on else None, e.group_sources())
    e.block(graph.block, 1)
    e.lines[top:top] = [f"    {t} = _wt({w})" for w, t in e.hoisted.items()]
    returned = {e.name(v) for v in graph.outputs}
    arrays = {n for v, n in e.names.items()
              if isinstance(v.type, T.TensorType) and n not in returned and n not in params}
    e.lines = release_dead_arrays(e.lines, top, arrays)
    rets = []
    for v in graph.outputs:
        if v in graph.inputs:
            rets.append(originals[graph.inputs.index(v)])
        elif _holds_input(v, graph):
            # NOTE: a container returning an input: that input's Tensor object, not a new one
            ins = ", ".join(f"id({e.name(x)}): {o}" for x, o in zip(graph.inputs, originals))
            rets.append(f"_wi({e.name(v)}, {{{ins}}})")
        else:
            rets.append(f"_w({e.name(v)})")
    e.emit(f"return [{', '.join(rets)}]", 1)
    source = "\n".join(e.lines) + "\n"
    filename = f"<graphtorch-plan {next(_COUNTER)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), e.ns)  # noqa: S102 - our own generated source
    fn = e.ns["plan"]
    if e.kernels and all(k.name.startswith("fusion group") for k in e.kernels):
        # NOTE: only fusion groups compute here (their numpy path silences numpy itself, the
        # C kernels never warn): no error state to set around the call
        runner = fn
    else:
        runner = quiet_runner(fn)
    return runner, source, e.kernels


def quiet_runner(fn):
    """``fn`` (a plan's ``plan(inputs)``) with numpy's floating-point warnings off, as eager
    kernels run: the plan's code calls numpy kernels directly."""
    if IGNORE_STATE is None:  # pragma: no cover - depends on the numpy version
        def runner(inputs: list) -> list:
            with np.errstate(all="ignore"):
                return fn(inputs)
        return runner
    var, ignore = IGNORE_STATE

    def runner(inputs: list) -> list:
        token = var.set(ignore)
        try:
            return fn(inputs)
        finally:
            var.reset(token)
    return runner
