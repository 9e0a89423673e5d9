"""Training through compiled graphs with ONE eager autograd node per call.

When grad mode is on and an input (or lifted parameter) requires grad, the executor asks
:func:`run_with_autodiff` first. It runs the autodiff pass's forward graph (outputs plus saved
values) without recording a tape and registers one :class:`CompiledGraphNode` whose backward runs
the backward graph. The outputs carry that node as ``grad_fn``.

With the default executor (``compiled``) both graphs run as execution plans (``plan.py``: the
optimizing pipeline, fusion groups as C kernels, raw-array code), built at their first call;
with the ``interpreter`` or ``codegen`` executors they run through that executor.

When it is used (:func:`autodiff_setting`):

- default (``None``): calls with the ``compiled`` executor, after one profiling call per input
  signature (as plans: a model called once never compiles); other executors record every op on
  the eager tape;
- ``set_autodiff(True)`` / ``GT_AUTODIFF=1``: every executor, from the first call;
- ``set_autodiff(False)`` / ``GT_AUTODIFF=0``: never (every op on the eager tape, through the
  plan's Tensor-level code or the interpreter).

Graphs are differentiated once per input signature (shapes, dtypes, devices, requires_grad,
non-tensor values), since the pass records vjps the way a trace does. A graph the pass declines
returns None here and the caller keeps the eager-tape path; :func:`explain_autodiff` and
``GT_DEBUG=1`` say why.
"""

from __future__ import annotations

import os

from graphtorch.autograd import grad as autograd_grad
from graphtorch.autograd import grad_mode
from graphtorch.autograd.node import _FREED_MSG, GraphNode
from graphtorch.errors import AutogradError
from graphtorch.functions import zeros
from graphtorch.runtime import c_optim  # noqa: F401 - registers the fused optimizer steps
from graphtorch.runtime.autodiff import AutodiffGraphs, Declined, try_differentiate
from graphtorch.runtime.caches import AUTODIFF
from graphtorch.runtime.cpu_codegen import compile_graph
from graphtorch.runtime.interpreter import Interpreter
from graphtorch.runtime.plan import build_plan, signature
from graphtorch.tensor import Tensor

_ENABLED: list[bool | None] = [None]
MAX_SPECIALIZATIONS = 16  # per graph; past it new signatures run on the eager-tape path
PROFILING_RUNS = 1  # default setting: calls of a signature on the eager tape before compiling
MAX_PLANS = 8  # per graph of a pair: input signatures (dtypes, grad flags) seen by its runner


def set_autodiff(enabled: bool | None) -> None:
    """True: every executor trains compiled graphs through one autograd node per call, from
    the first call; False: every op is recorded on the eager tape; None: the default (the
    ``compiled`` executor trains through autodiff after a profiling call, the others record
    the tape). ``GT_AUTODIFF=1`` / ``GT_AUTODIFF=0`` in the environment set True / False."""
    _ENABLED[0] = None if enabled is None else bool(enabled)


_ENV: list[tuple | None] = [None]


def autodiff_setting() -> bool | None:
    """The setting in force: True, False or None (the default; see the module doc)."""
    if _ENABLED[0] is not None:
        return _ENABLED[0]
    if _ENV[0] is None:  # NOTE: $GT_AUTODIFF is read once, at the first call
        raw = os.environ.get("GT_AUTODIFF", "")
        _ENV[0] = (None if raw == "" else raw != "0",)
    return _ENV[0][0]


def autodiff_enabled() -> bool:
    """Whether every executor trains through autodiff from the first call (``set_autodiff(True)``
    or ``GT_AUTODIFF=1``)."""
    return autodiff_setting() is True


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
    """The one backward node of a compiled call: it keeps the forward graph's saved values.

    A double backward (``create_graph=True``) replays the call: the forward graph runs again on
    the call's inputs with the eager tape recording, and the gradients are taken through that
    tape (so they are differentiable again)."""

    __slots__ = ("saved", "versions", "metas", "freed", "inputs", "input_versions", "spec",
                 "alias_versions")

    def apply(self, grads: list, create_graph: bool = False) -> list:
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
        for i, t, version in self.alias_versions:
            if t._vc[0] != version:
                raise AutogradError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: input {i} of {self.label} ([{t.dtype.name} tensor "
                    f"of shape {list(t.shape)}]), whose data a saved value shares (a view of it), "
                    f"is at version {t._vc[0]}; expected version {version} instead. Hint: use "
                    "an out-of-place operation or .clone() before modifying it.")
        filled = [g if g is not None else _zeros(*m) for g, m in zip(grads, self.metas)]
        if create_graph:
            for i, (t, version) in enumerate(self.input_versions):
                if t._vc[0] != version:
                    raise AutogradError(
                        f"{self.label}: input {i} of the compiled call ([{t.dtype.name} tensor "
                        f"of shape {list(t.shape)}]) has been modified by an inplace operation "
                        f"since the call (version {t._vc[0]}, expected {version}); a double "
                        "backward (create_graph=True) runs the call again on its inputs.")
            return self.spec.replay(self.inputs, filled)
        return list(self.fn(filled + self.saved))

    def release(self) -> None:
        self.freed = True
        self.saved = None
        self.inputs = None
        self.versions = self.input_versions = self.alias_versions = ()


def _owner(a):
    """The array that owns ``a``'s memory (``a`` itself unless it is a view)."""
    while getattr(a, "base", None) is not None:
        a = a.base
    return a


def _aliased_inputs(inputs: list, saved: list) -> tuple:
    """(index, input, version) of the inputs whose memory a saved value shares (a reshape or
    other view made inside the compiled plan, or the very array): the plan's arrays carry no
    Tensor view chain, so an in-place change of such an input is checked at backward here."""
    owners = {id(_owner(t._data)): (i, t) for i, t in enumerate(inputs)
              if isinstance(t, Tensor)}
    found = {}
    for s in saved:
        if isinstance(s, Tensor):
            hit = owners.get(id(_owner(s._data)))
            if hit is not None and hit[1] is not s:
                found[hit[0]] = (hit[0], hit[1], hit[1]._vc[0])
    return tuple(found.values())


def _zeros(shape, dtype, device) -> Tensor:
    return zeros(shape, dtype=dtype, device=device)


def _by_array(values, found: dict) -> dict:
    """id(array) -> Tensor for the tensors in ``values`` (tuples and lists walked)."""
    for v in values:
        if isinstance(v, Tensor):
            found.setdefault(id(v._data), v)
        elif isinstance(v, (tuple, list)):
            _by_array(v, found)
    return found


def _same_tensor(t, arrays: dict):
    """The output Tensor holding ``t``'s array (compiled plans wrap each returned array in a
    new Tensor: an output that is also a saved value or a gradient leaf must be one object)."""
    if not isinstance(t, Tensor):
        return t
    o = arrays.get(id(t._data))
    return o if o is not None and o._data is t._data else t


class _Specialization:
    """The differentiated graphs of one input signature and their runners."""

    def __init__(self, graphs: AutodiffGraphs, executor: str):
        self.graphs = graphs
        self.forward = _runner(graphs.forward, executor)
        self.backward = _runner(graphs.backward, executor)

    def __call__(self, inputs: list) -> list:
        g = self.graphs
        outs = self.forward(inputs)  # NOTE: every runner runs under no_grad itself
        n, k = g.n_outputs, g.n_grad_outputs
        arrays = _by_array(outs[:n], {})
        leaves = [_same_tensor(t, arrays) for t in outs[n:n + k]]
        saved = [_same_tensor(t, arrays) for t in outs[n + k:]]
        edges = tuple([inputs[i]._edge() for i in g.grad_inputs])
        node = CompiledGraphNode(self.backward, edges, k)
        node.saved = saved
        node.versions = tuple([(t, t._vc[0]) for t in saved if isinstance(t, Tensor)])
        node.metas = tuple([(t._data.shape, t.dtype, t._device) for t in leaves])
        node.freed = False
        node.inputs = inputs
        node.input_versions = tuple([(t, t._vc[0]) for t in inputs if isinstance(t, Tensor)])
        node.alias_versions = _aliased_inputs(inputs, saved)
        node.spec = self
        for nr, t in enumerate(leaves):
            if t._data.dtype.kind in "fc":
                t._rg = True
                t.grad_fn = node
                t._output_nr = nr
        return outs[:n]

    def replay(self, inputs: list, grads: list) -> list:
        """The input gradients through the eager tape of the forward graph run again on
        ``inputs`` (double backward: the result records its own tape)."""
        g = self.graphs
        with grad_mode.enable_grad():
            outs = Interpreter().run(g.forward, list(inputs))
            leaves = outs[g.n_outputs:g.n_outputs + g.n_grad_outputs]
            wrt = [inputs[i] for i in g.grad_inputs]
            pairs = [(t, gr) for t, gr in zip(leaves, grads) if t.requires_grad]
            if not pairs:
                return [None] * len(wrt)
            return list(autograd_grad([t for t, _ in pairs], wrt, [gr for _, gr in pairs],
                                      create_graph=True, allow_unused=True))


class GraphPlans:
    """One graph of a differentiated pair run as execution plans (``plan.py``), one per input
    signature, each built at its first call (the pair was recorded on a call already: no
    profiling run). Runs under no_grad: its results record no tape."""

    def __init__(self, graph):
        self.graph = graph
        self.plans: dict = {}
        self.interpreter = Interpreter()

    def __call__(self, inputs: list) -> list:
        with grad_mode.no_grad():
            key = signature(inputs)
            plan = self.plans.get(key)
            if plan is None:
                if len(self.plans) >= MAX_PLANS:
                    return self.interpreter.run(self.graph, list(inputs))
                plan, out = build_plan(self.graph, inputs, key)
                self.plans[key] = plan
                if out is not None:
                    plan.calls += 1
                    return out
            return plan.run(inputs)

    def explain(self) -> str:
        return "\n".join(p.explain() for p in self.plans.values()) or \
            "plan: not built yet (at the graph's first call)"


def _runner(graph, executor: str):
    if executor == "compiled":
        return GraphPlans(graph)
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


class _Profiling:
    """A signature seen fewer than :data:`PROFILING_RUNS` times (default setting only)."""

    __slots__ = ("calls",)

    def __init__(self):
        self.calls = 0


def run_with_autodiff(graph, inputs: list, executor: str) -> list | None:
    """Run ``graph`` as forward graph + one backward node; None: the caller runs it as before
    (autodiff off, no gradient needed, a profiling call, or the pass declined — see
    :func:`explain_autodiff`)."""
    if not grad_mode.STATE.enabled:
        return None
    setting = autodiff_setting()
    if setting is False or setting is None and executor != "compiled":
        return None
    # NOTE: one pass over the inputs: whether any needs grad, and the specialization key
    sigs, needs, contained = [], False, False
    for x in inputs:
        if isinstance(x, Tensor):
            rg = x._rg
            needs = needs or rg
            sigs.append(("T", x._data.shape, x.dtype, x._device, rg))
        else:
            contained = contained or _rg_in_containers(x)
            sigs.append(_signature(x))
    if not needs:
        return None
    if contained:
        _debug("declined: a tuple/list input holds a tensor that requires grad")
        return None
    cache = AUTODIFF.get(graph)
    if cache is None:
        cache = AUTODIFF.put(graph, {})
    key = (executor, tuple(sigs))
    spec = cache.get(key)
    if spec is None or type(spec) is _Profiling:
        if setting is None:
            if spec is None:
                spec = cache[key] = _Profiling()
            if spec.calls < PROFILING_RUNS:
                spec.calls += 1
                return None
        if sum(type(s) is not _Profiling for s in cache.values()) >= MAX_SPECIALIZATIONS:
            return None
        rg = [isinstance(x, Tensor) and x._rg for x in inputs]
        try:
            result = try_differentiate(graph, rg, inputs)
        except Exception as e:  # noqa: BLE001 - the eager tape runs the call (and its errors)
            result = Declined(f"the autodiff pass failed ({type(e).__name__}: {e})")
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
    """What the autodiff path did with ``graph`` at each input signature seen so far (with the
    ``compiled`` executor, also the plans of its forward and backward graphs)."""
    cache = AUTODIFF.get(graph, {})
    specs = [(k, s) for k, s in cache.items() if type(s) is not _Profiling]
    if not specs:
        return ("autodiff: not used yet for this graph (off, no call needed gradients, or only "
                "profiling calls so far)")
    lines = []
    for (executor, _), spec in specs:
        if isinstance(spec, Declined):
            lines.append(f"autodiff ({executor}): declined: {spec.reason}")
            continue
        g = spec.graphs
        lines.append(f"autodiff ({executor}): forward {len(g.forward.nodes())} nodes, "
                     f"backward {len(g.backward.nodes())} nodes, {g.n_saved} saved values")
        for what, runner in (("forward", spec.forward), ("backward", spec.backward)):
            if isinstance(runner, GraphPlans):
                text = runner.explain().replace("\n", "\n  ")
                lines.append(f"  {what} graph {text}")
    return "\n".join(lines)


def training_kernels(graph) -> dict:
    """Kernel counts by backend over the compiled forward and backward plans of ``graph``'s
    autodiff specializations (``{"c": 3, "python": 9}``); empty when none ran compiled."""
    counts: dict = {}
    for spec in AUTODIFF.get(graph, {}).values():
        if not isinstance(spec, _Specialization):
            continue
        for runner in (spec.forward, spec.backward):
            for plan in getattr(runner, "plans", {}).values():
                for k in plan.kernels:
                    counts[k.backend] = counts.get(k.backend, 0) + 1
    return counts
