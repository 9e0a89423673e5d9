"""CPU codegen: a prepared graph becomes one straight-line Python function.

One statement per node: registry ops call ``dispatch`` (the eager fast path, PyTorch promotion),
``prim::If``/``prim::Loop`` become Python ``if``/``while``, tuples and lists are Python literals,
``prim::Inplace`` calls the interpreter's eager in-place path (``run_inplace``), and each
``prim::FusionGroup`` calls a :class:`~graphtorch.runtime.cpu_fused.FusedKernel` (numpy ufuncs
over cache-sized chunks). Other prim kinds run through the interpreter's handlers. The
source is registered with ``linecache`` (tracebacks show it) and printed when ``GT_DEBUG=1``.

Autograd: the generated code runs without recording gradients. When gradients are needed, the
executor first tries the graph autodiff path (``jit.set_autodiff(True)``: forward and backward
graphs, one tape node, both run by this executor — runtime/autodiff_exec.py); otherwise
:func:`run_graph_codegen` runs the interpreter, which records the eager tape.

Choosing the executor: ``set_executor("compiled" | "interpreter" | "codegen")`` or the
environment variable ``GT_EXECUTOR``; the default is ``compiled`` (``runtime/plan.py``, which
uses this codegen for graphs whose effects need Tensor objects).
"""

from __future__ import annotations

import keyword
import linecache
import os
import re
from itertools import count

from graphtorch.autograd import grad_mode
from graphtorch.autograd.grad_mode import no_grad
from graphtorch.device import CPU
from graphtorch.errors import GraphError
from graphtorch.ir.graph import TensorRef
from graphtorch.ir.kinds import INPLACE
from graphtorch.ir.op_call import split_op_inputs
from graphtorch.ops.dispatch import dispatch
from graphtorch.ops.registry import REGISTRY
from graphtorch.ops.scalar_ops import SCALAR_OPS
from graphtorch.passes.manager import run_passes
from graphtorch.runtime.caches import CODEGEN, drop_fast_calls
from graphtorch.runtime.cpu_fused import FusedKernel
from graphtorch.runtime.interpreter import PRIM_HANDLERS, Interpreter, run_inplace
from graphtorch.tensor import Tensor

EXECUTORS = ("compiled", "interpreter", "codegen")
_EXECUTOR: list[str | None] = [None]
_ENV_EXECUTOR: list[str | None] = [None]  # $GT_EXECUTOR, read at the first call
_COUNTER = count()
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def set_executor(name: str | None) -> None:
    """Run compiled graphs with ``"compiled"`` (execution plans, the default),
    ``"interpreter"`` (the reference) or ``"codegen"`` (Tensor-level generated Python);
    None returns to the default ($GT_EXECUTOR, else compiled)."""
    if name is not None and name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; expected one of {', '.join(EXECUTORS)}")
    _EXECUTOR[0] = name
    drop_fast_calls()


def get_executor() -> str:
    """The executor in use: set_executor's choice, else $GT_EXECUTOR (read once), else
    "compiled"."""
    name = _EXECUTOR[0] or _ENV_EXECUTOR[0]
    if name is None:
        name = _ENV_EXECUTOR[0] = os.environ.get("GT_EXECUTOR") or "compiled"
    if name not in EXECUTORS:
        _ENV_EXECUTOR[0] = None
        raise ValueError(f"GT_EXECUTOR={name!r} is not an executor; expected one of "
                         f"{', '.join(EXECUTORS)}")
    return name


class _Emitter:
    def __init__(self, graph):
        self.graph = graph
        self.lines: list[str] = []
        self.ns: dict = {"dispatch": dispatch, "_fused": _run_fused, "GraphError": GraphError,
                         "_inplace": run_inplace}
        self.names: dict = {}
        self.used: set[str] = set()

    def name(self, v) -> str:
        n = self.names.get(v)
        if n is None:
            base = re.sub(r"\W", "_", v.name or "v")
            if not base[0].isalpha() or keyword.iskeyword(base) or base in self.ns:
                base = f"v_{base}"
            n, i = base, 0
            while n in self.used:
                i += 1
                n = f"{base}_{i}"
            self.used.add(n)
            self.names[v] = n
        return n

    def obj(self, value, prefix: str) -> str:
        n = f"{prefix}{len(self.ns)}"
        self.ns[n] = value
        return n

    def emit(self, line: str, depth: int) -> None:
        self.lines.append("    " * depth + line)

    def block(self, block, depth: int) -> None:
        for node in block.nodes:
            self.node(node, depth)

    def assign(self, node, rhs: str, depth: int) -> None:
        # NOTE: control characters (a CR ends a Python line) never reach the generated source
        loc = f"  # {_PRINTABLE.sub('?', str(node.source))}" if node.source is not None else ""
        outs = [self.name(o) for o in node.outputs]
        if not outs:
            self.emit(f"{rhs}{loc}", depth)
        elif len(outs) == 1:
            self.emit(f"{outs[0]} = {rhs}{loc}", depth)
        else:
            self.emit(f"{', '.join(outs)}, = {rhs}{loc}", depth)

    def node(self, node, depth: int) -> None:
        kind = node.kind
        args = [self.name(v) for v in node.inputs]
        if kind.startswith("op::"):
            op = REGISTRY.get(kind[4:])
            if op is None:
                raise GraphError(f"unknown op {kind!r}")
            ref = self.obj(op, "op_")
            pos_args, kw_args = split_op_inputs(op, args)
            pos = f"({', '.join(pos_args)}{',' if len(pos_args) == 1 else ''})"
            kw = "None"
            if kw_args:
                kw = "{" + ", ".join(f"{k!r}: {a}" for k, a in kw_args.items()) + "}"
            self.assign(node, f"dispatch({ref}, {pos}, {kw})", depth)
        elif kind == "prim::Constant":
            v = node.attrs["value"]
            if isinstance(v, TensorRef):
                v = node.graph.tensor_constants[v.name]
            # NOTE: strings stay objects: no text from a graph is compiled as source
            lit = repr(v) if isinstance(v, (bool, int)) or v is None else self.obj(v, "c_")
            self.assign(node, lit, depth)
        elif kind == "prim::If":
            self.emit(f"if {args[0]}:", depth)
            for b in node.blocks:
                if b is node.blocks[1]:
                    self.emit("else:", depth)
                self.block(b, depth + 1)
                outs = [self.name(o) for o in node.outputs]
                rets = [self.name(v) for v in b.outputs]
                if outs:
                    self.emit(f"{', '.join(outs)}, = {', '.join(rets)},", depth + 1)
                else:
                    self.emit("pass", depth + 1)
        elif kind == "prim::Loop":
            self.loop(node, args, depth)
        elif kind == "prim::TupleConstruct":
            self.assign(node, f"({', '.join(args)}{',' if len(args) == 1 else ''})", depth)
        elif kind == "prim::ListConstruct":
            self.assign(node, f"[{', '.join(args)}]", depth)
        elif kind == INPLACE:
            # NOTE: the interpreter's eager in-place path: the output is the updated self
            op_name = self.obj(node.attrs["op"], "s_")
            self.assign(node, f"_inplace({op_name}, [{', '.join(args)}])", depth)
        elif kind == "prim::FusionGroup":
            k = self.obj(FusedKernel(node), "fg_")
            rhs = f"_fused({k}, [{', '.join(args)}])"
            rhs += "[0]" if len(node.outputs) == 1 else ""
            self.assign(node, rhs, depth)
        elif kind in SCALAR_OPS and not _prim_handler(kind):
            self.assign(node, f"{self.obj(SCALAR_OPS[kind], 's_')}({', '.join(args)})", depth)
        else:
            handler = _prim_handler(kind)
            if handler is None:
                raise GraphError(f"the CPU codegen has no rule for node kind {kind!r}")
            h, n = self.obj(handler, "h_"), self.obj(node, "n_")
            rhs = f"{h}(_interp, {n}, [{', '.join(args)}], None)"
            if len(node.outputs) > 1:
                rhs = f"tuple({rhs})"
            self.assign(node, rhs, depth)

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
        self.block(body, depth + 1)
        rets = [self.name(v) for v in body.outputs]
        self.emit(f"{', '.join([c] + params)}, = {', '.join(rets)},", depth + 1)
        self.emit(f"{i} += 1", depth + 1)
        if outs:
            self.emit(f"{', '.join(outs)}, = {', '.join(params)},", depth)


def _prim_handler(kind: str):
    return PRIM_HANDLERS.get(kind)


def _run_fused(kernel, args: list) -> list:
    """Run a FusionGroup: fused on numpy arrays, else through the interpreter."""

    arrays = []
    for a in args:
        if isinstance(a, Tensor):
            if a._device is not CPU:
                return _interpret_group(kernel, args)
            arrays.append(a._data)
        else:
            arrays.append(a)
    outs = kernel(arrays)
    if outs is None:
        return _interpret_group(kernel, args)
    return [Tensor._wrap(o, CPU) for o in outs]


def _interpret_group(kernel, args: list) -> list:
    return Interpreter().run(kernel.graph, list(args))


class CompiledGraph:
    """The generated function of one graph: ``compiled(inputs) -> outputs`` (a list)."""

    def __init__(self, graph, name: str = "forward"):
        self.graph = graph
        e = _Emitter(graph)
        e.ns["_interp"] = Interpreter()
        params = [e.name(v) for v in graph.inputs]
        e.emit(f"def {name}({', '.join(params)}):", 0)
        e.block(graph.block, 1)
        e.emit(f"return [{', '.join(e.name(v) for v in graph.outputs)}]", 1)
        self.source = "\n".join(e.lines) + "\n"
        self.filename = f"<graphtorch-codegen {name} {next(_COUNTER)}>"
        linecache.cache[self.filename] = (len(self.source), None,
                                          self.source.splitlines(True), self.filename)
        exec(compile(self.source, self.filename, "exec"), e.ns)  # noqa: S102 - generated
        self.fn = e.ns[name]
        if os.environ.get("GT_DEBUG") == "1":
            print(f"--- {self.filename} ---\n{self.source}")

    def __call__(self, inputs: list) -> list:
        with no_grad():
            return self.fn(*inputs)


def _needs_grad(inputs: list, graph=None) -> bool:
    """A gradient may be recorded: an input requires grad, or the graph runs the autograd
    engine (``autograd.grad`` in script: a prim::PythonOp whose function says so)."""
    if not grad_mode.STATE.enabled:
        return False
    if graph is not None and any(n.kind == "prim::PythonOp" and getattr(
            n.attrs.get("fn"), "_gt_runs_autograd", False) for n in graph.walk()):
        return True
    return any(isinstance(x, Tensor) and x.requires_grad for x in inputs)


def compile_graph(graph, optimize: bool = True) -> CompiledGraph:
    """Optimize a copy of a prepared graph (pipeline "O2": decompose + fusion) and compile it."""
    g = graph.copy()
    if optimize:
        run_passes(g, "O2")
    return CompiledGraph(g)


def run_graph_codegen(graph, inputs: list) -> list:
    """Run a prepared graph with the generated code (runtime/caches.py CODEGEN), or the interpreter
    when a gradient must be recorded."""
    if _needs_grad(inputs, graph):
        return Interpreter().run(graph, list(inputs))
    compiled = CODEGEN.get(graph)
    if compiled is None:
        compiled = CODEGEN.put(graph, compile_graph(graph))
    return compiled(list(inputs))


def run_prepared(graph, inputs: list) -> list:
    """The executor's entry point: runs ``graph`` with the selected executor."""
    if get_executor() == "codegen":
        return run_graph_codegen(graph, inputs)

    return Interpreter().run(graph, list(inputs))
