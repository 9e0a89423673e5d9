"""The execution plan's Triton backend: what a compiled call runs on CUDA tensors.

:func:`.selection.wanted` says when (an input tensor on a CUDA device; or always with
``GT_FUSION_BACKEND=triton``, which runs the same plan on CPU arrays through Triton's
interpreter: how CI tests it). :func:`compile_plan` runs the plan's optimizing pipeline (row
ops kept whole), then builds a runner over the optimized graph in which

* every ``prim::FusionGroup`` is one generated Triton kernel (:mod:`.launch`);
* softmax / log_softmax over the last dim, layer_norm over the last dim, and sum / mean / amax
  over the last dim are Triton row kernels (:mod:`.rows`);
* every other node runs as the interpreter runs it (eager kernels on the tensors' device).

The first call runs at build time and decides each kernel's backend from what happened: a group
or row op the Triton backend refused (an op without a lowering, a dtype without a kernel) is
listed with the reason and runs eagerly from then on. Each kernel's backend is in
``jit.explain``. With ``cuda_graphs`` on (:func:`set_cuda_graphs`, ``GT_CUDA_GRAPHS=1``), a
call that :func:`.cuda_graph.refusal` accepts is captured once per guard key and replayed.
"""

from __future__ import annotations

import os

from graphtorch.autograd.grad_mode import no_grad
from graphtorch.errors import GraphtorchError, UnsupportedError
from graphtorch.ops.registry import REGISTRY
from graphtorch.passes.manager import PassContext, run_passes
from graphtorch.runtime.interpreter import Interpreter, _step
from graphtorch.runtime.plan_codegen import KernelInfo
from graphtorch.tensor import Tensor

from . import cuda_graph
from .launch import run_fusion_group
from .rows import run_rows

ROW_NODE_OPS = ("softmax", "log_softmax", "layer_norm", "sum", "mean", "amax")
KEEP_WHOLE = ("softmax", "log_softmax", "layer_norm", "linear")
_SETTINGS = {"cuda_graphs": os.environ.get("GT_CUDA_GRAPHS") == "1"}


def set_cuda_graphs(enabled: bool) -> None:
    """Capture and replay compiled CUDA calls as CUDA graphs (off by default)."""
    _SETTINGS["cuda_graphs"] = bool(enabled)


def cuda_graphs_enabled() -> bool:
    return _SETTINGS["cuda_graphs"]


# --- row ops ------------------------------------------------------------------------------------
def _last_dim(d, ndim: int) -> bool:
    return type(d) is int and -ndim <= d < ndim and d % ndim == ndim - 1


def row_call(name: str, vals: list):
    """``name`` on its bound arguments as a Triton row kernel: a Tensor, or None when the call
    is not a row op over the last dim this backend has a kernel for."""
    x = vals[0]
    if not isinstance(x, Tensor) or x.ndim == 0:
        return None
    ndim, keep = x.ndim, False
    w = b = None
    eps = 1e-5
    if name in ("softmax", "log_softmax"):
        if vals[2] is not None or not _last_dim(vals[1], ndim):
            return None
    elif name == "layer_norm":
        shape, w, b, eps = vals[1], vals[2], vals[3], vals[4]
        if list(shape) != [x.shape[-1]]:
            return None
        if any(t is not None and not isinstance(t, Tensor) for t in (w, b)):
            return None
        w, b = (t._data if t is not None else None for t in (w, b))
    else:  # sum / mean / amax
        dims = [vals[1]] if type(vals[1]) is int else vals[1]
        if dims is None or len(dims) != 1 or not _last_dim(dims[0], ndim):
            return None
        keep = bool(vals[2])
        if name != "amax" and vals[3] is not None:
            return None
    out = run_rows(name, x._data, w, b, eps)
    if keep:
        out = out.reshape(*out.shape, 1)
    return Tensor._wrap(out, x._device)


def _is_row_op(node) -> bool:
    return node.kind.startswith("op::") and node.kind[4:] in ROW_NODE_OPS


# --- the runner ---------------------------------------------------------------------------------
class DeviceRunner(Interpreter):
    """The optimized graph with its fusion groups and row ops as Triton kernels."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph
        self.outcome: dict = {}       # node -> (backend, detail) seen on the first call

    def __call__(self, inputs: list) -> list:
        with no_grad():
            return self.run(self.graph, list(inputs))

    def run_block(self, block, env: dict, top: bool = False) -> list:
        if block not in self._plans:
            self._plans[block] = [(self._step_of(n), n.inputs, n.outputs, n) for n in block.nodes]
        return super().run_block(block, env, top)

    def _step_of(self, node):
        if node.kind == "prim::FusionGroup":
            return self._fusion_step
        if _is_row_op(node):
            return self._row_step
        return _step(node)

    def _fusion_step(self, interp, node, args, env):
        if self.outcome.get(node, ("triton",))[0] == "triton":
            try:
                out = run_fusion_group(node, args)
                self.outcome.setdefault(node, ("triton", ""))
                return out[0] if len(node.outputs) == 1 else tuple(out)
            except UnsupportedError as e:
                self.outcome[node] = ("eager", f"Triton refused: {e}")
        out = self.run(node.attrs["subgraph"], list(args))
        return out[0] if len(node.outputs) == 1 else out

    def _row_step(self, interp, node, args, env):
        name = node.kind[4:]
        op = REGISTRY[name]
        if self.outcome.get(node, ("triton",))[0] == "triton":
            vals = list(args) + list(op.binder.defaults[len(args):len(op.schema.args)])
            try:
                out = row_call(name, vals)
            except UnsupportedError as e:
                out, why = None, f"Triton refused: {e}"
            else:
                why = "not a reduction over the last dim with a Triton row kernel"
            if out is not None:
                self.outcome.setdefault(node, ("triton", ""))
                return out
            self.outcome[node] = ("eager", why)
        return _step(node)(interp, node, args, env)

    def nodes(self):
        """The graph's nodes, and the nodes of each fusion group that ran its subgraph."""
        for node in self.graph.walk():
            yield node
            if node.kind == "prim::FusionGroup" and self.outcome.get(node, ("",))[0] == "eager":
                yield from node.attrs["subgraph"].walk()

    def kernels(self) -> list[KernelInfo]:
        infos = []
        for node in self.nodes():
            backend, detail = self.outcome.get(node, (None, ""))
            if node.kind == "prim::FusionGroup":
                members = ", ".join(n.kind[4:] for n in node.attrs["subgraph"].nodes()
                                    if n.kind.startswith("op::"))
                infos.append(KernelInfo(f"fusion group [{members}]", backend or "eager",
                                        detail if backend else "not reached on the first call"))
            elif _is_row_op(node):
                name = node.kind[4:] + (" (row kernel)" if backend == "triton" else "")
                infos.append(KernelInfo(name, backend or "eager",
                                        detail if backend else "not reached on the first call"))
            elif node.kind.startswith("op::"):
                infos.append(KernelInfo(node.kind[4:], "eager", "the op's eager kernel"))
        return infos


def compile_plan(plan, graph, inputs: list, pipeline: list[str]) -> list | None:
    """Fill ``plan`` (an ExecutionPlan) with the Triton runner of ``graph``; returns the outputs
    of this first call, or None when the plan was demoted (the caller runs the plan)."""
    g = graph.copy()
    try:
        run_passes(g, pipeline, PassContext(options={"keep_composites": KEEP_WHOLE}))
    except GraphtorchError as e:
        plan.demote(f"the optimizing pipeline failed: {e}")
        return None
    runner = DeviceRunner(g)
    try:
        out = runner(inputs)
    except Exception:  # noqa: BLE001 - the reference decides: its error, or a demoted plan
        out = Interpreter().run(graph, list(inputs))
        plan.demote("the Triton plan failed where the prepared graph ran")
        return out
    plan.mode, plan.graph, plan.kernels = "compiled", g, runner.kernels()
    plan.source = "\n".join(f"[{k.backend}] {k.name}" for k in plan.kernels)
    plan.runner = runner
    if cuda_graphs_enabled():
        plan.runner = cuda_graph.GraphedCall(runner, cuda_graph.refusal(runner, inputs))
        plan.source += "\n" + plan.runner.explain()
    return out
