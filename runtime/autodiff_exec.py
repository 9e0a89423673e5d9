"""Training through compiled graphs with ONE eager autograd node per call.

When grad mode is on and an input (or lifted parameter) requires grad, the executor asks
:func:`run_with_autodiff` first. It runs the autodiff pass's forward graph (outputs plus saved
values) without recording a tape, with the selected executor (interpreter or CPU codegen), and
registers one :class:`CompiledGraphNode` whose backward runs the backward graph with the same
executor. The outputs carry that node as ``grad_fn``.

Graphs are differentiated once per input signature (shapes, dtypes, devices, requires_grad,
non-tensor values), since the pass records vjps the way a trace does. A graph the pass declines
returns None here and the caller keeps the interpreter path (eager autograd through every op).

Opt-in while it matures: ``graphtorch.jit.set_autodiff(True)`` or ``GT_AUTODIFF=1``.
"""

from __future__ import annotations

import os

from graphtorch.autograd import grad_mode
from graphtorch.autograd.node import _FREED_MSG, GraphNode
from graphtorch.errors import AutogradError
from graphtorch.functions import zeros
from graphtorch.runtime.autodiff import AutodiffGraphs, Declined, try_differentiate
from graphtorch.runtime.caches import AUTODIFF
from graphtorch.runtime.cpu_codegen import compile_graph
from graphtorch.runtime.interpreter import Interpreter
from graphtorch.tensor import Tensor

_ENABLED: list[bool | None] = [None]
MAX_SPECIALIZATIONS = 16  # per graph; past it new signatures run on the interpreter path


def set_autodiff(enabled: bool) -> None:
    """Train compiled graphs through one autograd node per call (True) or record every op on the
    eager tape (False, the default). ``GT_AUTODIFF=1`` in the environment turns it on."""
    _ENABLED[0] = bool(enabled)


_ENV: list[bool | None] = [None]


def autodiff_enabled() -> bool:
    if _ENABLED[0] is not None:
        return _ENABLED[0]
    if _ENV[0] is None:  # NOTE: $GT_AUTODIFF is read once, at the first call
        _ENV[0] = os.environ.get("GT_AUTODIFF", "0") not in ("", "0")
    return _ENV[0]


def _signature(x):
    if isinstance(x, Tensor):
        return ("T", tuple(x._data.shape), x.dtype, x._device, x._rg)
    if x is None or isinstance(x, (bool, int, float, str)):
        return (type(x), x)
    if isinstance(x, (tuple, list)):
        return (type(x), tuple(_signature(e) for e in x))
    return ("obj", id(x))  # NOTE: modules (``self``) are the same object at every call


def _rg_in_containers(x) -> bool:
    if isinstance(x, (tuple, list)):
        return any(isinstance(e, Tensor) and e._rg or _rg_in_containers(e) for e in x)
    return False


class CompiledGraphNode(GraphNode):
    """The one backward node of a compiled call: it keeps the forward graph's saved values."""

    __slots__ = ("saved", "versions", "metas", "freed")

    def apply(self, grads: list, create_graph: bool = False) -> list:
        if create_graph:
            raise AutogradError(
                f"{self.label}: double backward (create_graph=True) through a compiled graph "
                "is not supported: its backward graph runs as one node that records no tape. "
                "Call graphtorch.jit.set_autodiff(False) to record every op of the compiled "
                "graph on the eager tape instead.")
        if self.freed:
            raise AutogradError(_FREED_MSG)
        for i, (t, version) in enumerate(self.versions):
            if t._vc[0] != version:
                raise AutogradError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{t.dtype.name} tensor of shape {list(t.shape)}], "
                    f"which is saved value {i} of {self.label}, is at version {t._vc[0]}; "
                    f"expected version {version} instead. Hint: use an out-of-place operation "
                    "or .clone() before modifying it.")
        filled = [g if g is not None else _zeros(*m) for g, m in zip(grads, self.metas)]
        return list(self.fn(filled + self.saved))

    def release(self) -> None:
        self.freed = True
        self.saved = None
        self.versions = ()


def _zeros(shape, dtype, device) -> Tensor:
    return zeros(shape, dtype=dtype, device=device)


class _Specialization:
    """The differentiated graphs of one input signature and their runners."""

    def __init__(self, graphs: AutodiffGraphs, executor: str):
        self.graphs = graphs
        self.forward = _runner(graphs.forward, executor)
        self.backward = _runner(graphs.backward, executor)

    def __call__(self, inputs: list) -> list:
        g = self.graphs
        with grad_mode.no_grad():
            outs = self.forward(inputs)
        n, k = g.n_outputs, g.n_grad_outputs
        leaves, saved = outs[n:n + k], outs[n + k:]
        edges = tuple(inputs[i]._edge() for i in g.grad_inputs)
        node = CompiledGraphNode(self.backward, edges, k)
        node.saved = saved
        node.versions = tuple((t, t._vc[0]) for t in saved if isinstance(t, Tensor))
        node.metas = tuple((tuple(t._data.shape), t.dtype, t._device) for t in leaves)
        node.freed = False
        for nr, t in enumerate(leaves):
            if t._data.dtype.kind in "fc":
                t._rg = True
                t.grad_fn = node
                t._output_nr = nr
        return outs[:n]


def _runner(graph, executor: str):
    if executor == "codegen":
        compiled = compile_graph(graph)

        def run_codegen(inputs: list) -> list:
            return compiled(list(inputs))  # NOTE: runs under no_grad itself

        return run_codegen
    interp = Interpreter()

    def run_interpreted(inputs: list) -> list:
        with grad_mode.no_grad():
            return interp.run(graph, list(inputs))

    return run_interpreted


def _debug(msg: str) -> None:
    if os.environ.get("GT_DEBUG") == "1":
        print(f"[graphtorch autodiff] {msg}")


def run_with_autodiff(graph, inputs: list, executor: str) -> list | None:
    """Run ``graph`` as forward graph + one backward node; None: the caller runs it as before
    (autodiff off, no gradient needed, or the pass declined — see :func:`explain_autodiff`)."""
    if not grad_mode.STATE.enabled or not autodiff_enabled():
        return None
    if not any(isinstance(x, Tensor) and x._rg for x in inputs):
        return None
    if any(_rg_in_containers(x) for x in inputs):
        _debug("declined: a tuple/list input holds a tensor that requires grad")
        return None
    cache = AUTODIFF.get(graph)
    if cache is None:
        cache = AUTODIFF.put(graph, {})
    key = (executor, tuple(_signature(x) for x in inputs))
    spec = cache.get(key)
    if spec is None:
        if len(cache) >= MAX_SPECIALIZATIONS:
            return None
        rg = [isinstance(x, Tensor) and x._rg for x in inputs]
        result = try_differentiate(graph, rg, inputs)
        if isinstance(result, Declined):
            spec = result
            _debug(str(result))
        else:
            spec = _Specialization(result, executor)
            _debug(f"forward graph:\n{result.forward}\nbackward graph:\n{result.backward}")
        cache[key] = spec
    if isinstance(spec, Declined):
        return None
    return spec(inputs)


def explain_autodiff(graph) -> str:
    """What the autodiff path did with ``graph`` at each input signature seen so far."""
    cache = AUTODIFF.get(graph, {})
    if not cache:
        return "autodiff: not used yet for this graph (off, or no call needed gradients)"
    lines = []
    for (executor, _), spec in cache.items():
        if isinstance(spec, Declined):
            lines.append(f"autodiff ({executor}): declined: {spec.reason}")
        else:
            g = spec.graphs
            lines.append(f"autodiff ({executor}): forward {len(g.forward.nodes())} nodes, "
                         f"backward {len(g.backward.nodes())} nodes, {g.n_saved} saved values")
    return "\n".join(lines)
