"""Autodiff: a prepared forward graph -> a forward graph that also returns saved values, and a
backward graph built from the registry's vjp rules.

The backward graph is recorded by the tracer (``ir/capture.py``): the forward graph runs
once on example inputs (the stand-in values), then each op node's vjp runs, in reverse order,
on those values with the tracer recording. A forward tensor the vjps read becomes an input of the
backward graph (a *saved value*) the first time it is read, and an extra output of the forward
graph. Gradients of values used several times are added; vjps reduce broadcasts themselves.

Like a trace, the result is specialized to what Python code in the vjps saw: shapes, dtypes and
non-tensor arguments. Callers cache it per input signature (see ``runtime/autodiff_exec.py``).

Differentiated: straight-line graphs of ``op::`` nodes, constants, tuples and lists, sizes and
scalar arithmetic. Composites without a vjp of their own are expanded into their decomposition
first (only where a gradient flows). Declined, with a reason: ``prim::If`` / ``prim::Loop`` /
``prim::PythonOp`` / ``prim::Inplace`` (eager autograd records in-place updates) and other
structural nodes, random ops, composites whose decomposition draws random numbers or updates an
input in place (``batch_norm`` in training mode), vjps or decompositions that read tensor
values in Python (a TracerWarning), and non-tensor arguments computed from tensor data.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from graphtorch.autograd.grad_mode import no_grad
from graphtorch.errors import GraphtorchError
from graphtorch.functions import zeros
from graphtorch.ir import types as T
from graphtorch.ir.capture import Frame, Tracer, TracerWarning, tensor_type, tracing
from graphtorch.ir.effects import has_side_effects
from graphtorch.ir.graph import Graph, Node, Value
from graphtorch.ir.kinds import INPLACE, SIDE_EFFECT_KINDS, Prim
from graphtorch.ir.op_call import split_op_inputs
from graphtorch.ops.dispatch import dispatch
from graphtorch.ops.registry import REGISTRY, OpKind
from graphtorch.ops.scalar_ops import MUTATING, SCALAR_OPS
from graphtorch.passes.decompose import record_decomposition, splice_decomposition
from graphtorch.passes.manager import PassContext, run_passes
from graphtorch.runtime.interpreter import Interpreter
from graphtorch.tensor import Tensor

MAX_EXPANSION_ROUNDS = 8
RAISE = Prim.RaiseException.value
# Run on a graph with control flow, its tensor values typed by the example values, before
# differentiating: branches on ranks, sizes and dtypes (``if x.dim() == 0`` in nn.Flatten) fold.
SPECIALIZE = ["constant_fold", "canonicalize", "dce"]

_STRUCTURAL = {"prim::Constant", "prim::TupleConstruct", "prim::ListConstruct",
               "prim::TupleUnpack", "prim::ListUnpack", "prim::TupleIndex", "prim::ListIndex",
               "prim::GetAttr", "prim::size", "prim::NumToTensor", "prim::unchecked_cast"}

# non-tensor results fixed by a tensor's shape/dtype (the caller keys the result on those)
_METADATA = {"prim::size", "prim::len", "prim::is_floating_point"}


@dataclass
class AutodiffGraphs:
    """The two graphs of a differentiated forward graph.

    ``forward`` takes the original inputs and returns ``n_outputs`` original outputs, then the
    ``n_grad_outputs`` tensors the backward node stands behind (outputs that carry a gradient),
    then the saved values. ``backward`` takes one gradient per such tensor, then the saved values,
    and returns the gradients of the inputs listed in ``grad_inputs`` (graph input positions).
    """

    forward: Graph
    backward: Graph
    n_outputs: int
    n_grad_outputs: int
    n_saved: int
    grad_inputs: list[int] = field(default_factory=list)


@dataclass
class Declined:
    """Why a graph is not differentiated (the executor keeps the interpreter path)."""

    reason: str

    def __str__(self) -> str:
        return f"autodiff declined: {self.reason}"


class _Decline(Exception):
    pass


def differentiate(graph: Graph, requires_grad: list[bool],
                  example_inputs: list | None = None) -> AutodiffGraphs | None:
    """Forward and backward graphs for ``graph``, or None when the pass declines.

    ``requires_grad[i]`` says whether graph input ``i`` needs a gradient. ``example_inputs``
    are the stand-in values the graphs are recorded with (zeros of the input types when
    omitted; then every tensor input type needs a dtype and a full shape).
    """
    result = try_differentiate(graph, requires_grad, example_inputs)
    return result if isinstance(result, AutodiffGraphs) else None


def structural_reason(graph: Graph) -> str | None:
    """Why ``graph`` can never be differentiated by this pass (None: it may be)."""
    for node in graph.block.nodes:
        kind = node.kind
        if node.blocks or kind in ("prim::If", "prim::Loop"):
            return (f"{kind} (control flow) at {_where(node)}: only straight-line graphs are "
                    "differentiated")
        if kind == INPLACE:
            return (f"prim::Inplace[op={node.attrs.get('op')!r}] at {_where(node)} writes into a "
                    "tensor in place; eager autograd records it instead")
        if kind == "prim::PythonOp":
            return (f"prim::PythonOp at {_where(node)} calls Python code the graph cannot see "
                    "into")
        if node.is_op:
            op = REGISTRY.get(node.op_name)
            if op is None:
                return f"unknown op {kind} at {_where(node)}"
            if op.kind is OpKind.RANDOM and op.decomposition is None:
                return f"{kind} at {_where(node)} draws random numbers"
            continue
        if kind not in _STRUCTURAL and kind not in SCALAR_OPS:
            return f"{kind} at {_where(node)} has no gradient rule in the autodiff pass"
    return None


def try_differentiate(graph: Graph, requires_grad: list[bool],
                      example_inputs: list | None = None) -> AutodiffGraphs | Declined:
    """Like :func:`differentiate`, but says why when it declines."""
    if len(requires_grad) != len(graph.inputs):
        raise ValueError(f"requires_grad has {len(requires_grad)} entries for a graph with "
                         f"{len(graph.inputs)} inputs")
    inputs = list(example_inputs) if example_inputs is not None else _stand_ins(graph)
    if inputs is None:
        return Declined("no example inputs, and the input types lack a dtype or full shape")
    fwd = specialize(graph, inputs) if _may_specialize(graph) else graph.copy()
    reason = structural_reason(fwd)
    if reason is not None:
        return Declined(reason)
    for v, rg in zip(fwd.inputs, requires_grad):
        if rg and not isinstance(v.type, T.TensorType):
            return Declined(f"input %{v.name} ({v.type}) requires grad: only tensor inputs are "
                            "differentiated")
    rg_inputs = {v for v, rg in zip(fwd.inputs, requires_grad) if rg}
    try:
        _expand_composites(fwd, rg_inputs, inputs)
        env = _run(fwd, inputs)
        rg = _requires_grad(fwd, rg_inputs)
        _decline_complex(fwd, env, rg)
        return _Builder(fwd, env, rg, rg_inputs).build()
    except _Decline as e:
        return Declined(str(e))


def _decline_complex(graph: Graph, env: dict, rg: set) -> None:
    """Autograd does not reach complex tensors: a node making one from a value that requires
    grad leaves the graph to eager autograd, which refuses it (never a gradient that silently
    misses the complex path)."""
    for node in graph.block.nodes:
        if any(v in rg for v in node.inputs) and any(
                getattr(getattr(env.get(o), "dtype", None), "is_complex", False)
                for o in node.outputs):
            raise _Decline(f"{node.kind} at {_where(node)} makes a complex tensor from a value "
                           "that requires grad")


def _may_specialize(graph: Graph) -> bool:
    """A graph with control flow that :func:`specialize` may run once more than the caller
    asked: nothing in it draws random numbers (the caller's stream would move) or has effects
    besides raising (Python calls, prints, attribute writes run again otherwise)."""
    if not any(n.blocks for n in graph.block.nodes):
        return False
    for n in graph.walk():
        if n.kind == RAISE:
            continue
        if n.kind in SIDE_EFFECT_KINDS or n.kind in MUTATING or n.kind == INPLACE:
            return False
        if n.is_op and (REGISTRY.get(n.op_name) is None
                        or REGISTRY[n.op_name].kind is OpKind.RANDOM):
            return False
    return True


def specialize(graph: Graph, inputs: list) -> Graph:
    """A copy of ``graph`` whose tensor values have the types they take on ``inputs`` (dtype,
    sizes, device: the graph runs once), with what those types decide folded
    (:data:`SPECIALIZE`). The result is keyed on the inputs' types anyway (sizes are constants
    of the backward graph). A graph the passes fail on is copied as it is."""
    g = graph.copy()
    try:
        env = _run(g, inputs)
    except Exception:  # noqa: BLE001 - the call itself runs (and raises) on the eager path
        return graph.copy()
    for v, x in env.items():
        if isinstance(x, Tensor) and isinstance(v.type, T.TensorType):
            v.type = tensor_type(x)
    try:
        run_passes(g, SPECIALIZE, PassContext(options={"static_shapes": True}))
    except GraphtorchError:
        return graph.copy()
    return g


def drop_unused(graph: Graph) -> None:
    """Remove nodes whose results are unused and that have no side effects, even those that
    "may raise" (``passes/dce.py`` keeps them): every node of a recorded backward graph ran
    without raising on the sizes and dtypes the graph is specialized to."""
    block = graph.block
    for node in reversed(block.nodes):
        if not any(o.uses for o in node.outputs) and not has_side_effects(node):
            node.destroy()


# --- analysis ---------------------------------------------------------------------------------
def _where(node: Node) -> str:
    loc = node.source
    return f"{loc.file}:{loc.line}" if loc is not None else "<unknown location>"


def _stand_ins(graph: Graph) -> list | None:
    out = []
    for v in graph.inputs:
        t = v.type
        if not isinstance(t, T.TensorType):
            return None
        if t.dtype is None or t.shape is None or not all(isinstance(d, int) for d in t.shape):
            return None
        out.append(zeros(*t.shape, dtype=t.dtype))
    return out


def _run(graph: Graph, inputs: list) -> dict:
    """Every value of ``graph`` on ``inputs`` (the reference interpreter, no tape)."""
    # NOTE: on copies: an op that writes to its input (batch_norm's running statistics) must
    # not write to the caller's tensors while the pass only looks
    with no_grad():
        env = {v: x.detach().clone() if isinstance(x, Tensor) else x
               for v, x in zip(graph.inputs, inputs)}
        Interpreter().run_block(graph.block, env)
    return env


def _flows(node: Node) -> bool:
    """Whether a gradient can flow from ``node``'s inputs to its outputs."""
    if node.is_op:
        op = REGISTRY[node.op_name]
        return op.differentiable and (op.vjp is not None or op.decomposition is not None)
    return node.kind in ("prim::TupleConstruct", "prim::ListConstruct", "prim::TupleUnpack",
                         "prim::ListUnpack", "prim::TupleIndex", "prim::ListIndex",
                         "prim::unchecked_cast")


def _can_carry_grad(t) -> bool:
    if isinstance(t, T.TensorType):
        return t.dtype is None or t.dtype.is_floating_point or t.dtype.is_complex
    return isinstance(t, (T.TupleType, T.ListType, T.OptionalType))


def _requires_grad(graph: Graph, rg_inputs: set) -> set:
    rg = set(rg_inputs)
    for node in graph.block.nodes:
        if _flows(node) and any(v in rg for v in node.inputs):
            rg.update(o for o in node.outputs if _can_carry_grad(o.type))
    return rg


def _static(v: Value) -> bool:
    """Whether a non-tensor value is fixed by the input signature (constants, sizes, inputs)."""
    node = v.node
    if node is None:
        return True
    if node.is_op:
        return False
    if node.kind in _METADATA:
        return True
    return all(not isinstance(i.type, T.TensorType) and _static(i) for i in node.inputs)


def _bind_args(op, node: Node, args: list) -> list:
    return op.binder.bind(*split_op_inputs(op, args))


def _check_static_args(op, node: Node) -> None:
    for i, v in enumerate(node.inputs):
        if i in op.tensor_args or i in op.list_args or isinstance(v.type, T.TensorType):
            continue
        if not _static(v):
            raise _Decline(f"argument {op.schema.args[i].name!r} of {node.kind} at "
                           f"{_where(node)} is computed from tensor data")


# --- composites without a vjp: expanded into their parts ---------------------------------------
def _needs_expansion(node: Node, rg: set) -> bool:
    if not node.is_op:
        return False
    op = REGISTRY[node.op_name]
    if op.decomposition is None:
        return False
    if op.kind is OpKind.RANDOM:
        return True  # NOTE: expanded to see whether these arguments draw anything (p=0, eval)
    return op.vjp is None and op.differentiable and any(v in rg for v in node.inputs)


def _expand_composites(graph: Graph, rg_inputs: set, inputs: list) -> None:
    for _ in range(MAX_EXPANSION_ROUNDS):
        rg = _requires_grad(graph, rg_inputs)
        todo = [n for n in graph.block.nodes if _needs_expansion(n, rg)]
        if not todo:
            return
        env = _run(graph, inputs)
        for node in todo:
            _expand(graph, node, env)
    raise _Decline(f"composites still nested after {MAX_EXPANSION_ROUNDS} expansion rounds")


def _expand(graph: Graph, node: Node, env: dict) -> None:
    op = REGISTRY[node.op_name]
    _check_static_args(op, node)
    if op.list_args:
        raise _Decline(f"{node.kind} at {_where(node)} takes a tensor list and has no vjp")
    args = [env[v] for v in node.inputs]
    tensor_inputs = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    versions = [(args[i], args[i]._vc[0]) for i in tensor_inputs]
    try:
        sub = record_decomposition(node, args, tensor_inputs, strict=False)
    except TracerWarning:
        raise _Decline(f"the decomposition of {node.kind} at {_where(node)} reads tensor "
                       "values in Python") from None
    if any(t._vc[0] != v for t, v in versions):
        raise _Decline(f"{node.kind} at {_where(node)} updates an input in place (e.g. "
                       "batch_norm's running statistics in training mode)")
    for n in sub.nodes():
        if n.is_op and REGISTRY[n.op_name].kind is OpKind.RANDOM:
            raise _Decline(f"{node.kind} at {_where(node)} draws random numbers")
    outs = [env.get(o) for o in node.outputs]
    for v, x in zip(splice_decomposition(node, sub, tensor_inputs), outs):
        env[v] = x  # NOTE: a later composite of this round reads the value that replaced it


# --- the backward graph ------------------------------------------------------------------------
class StaticShapeTracer(Tracer):
    """Sizes read by vjps are constants: the backward graph is specialized on shapes, and a
    saved value must not be kept alive only for its shape."""

    def size_of(self, t, dim: int) -> int:
        return t._data.shape[dim]


class SavedValueFrame(Frame):
    """A frame where forward tensors become backward-graph inputs when first read."""

    def __init__(self, graph: Graph, forward_values: dict):
        super().__init__(graph)
        self.forward_values = forward_values  # id(tensor) -> (tensor, forward Value)
        self.saved: list[Value] = []  # forward values, in backward input order

    def lookup(self, obj):
        val = super().lookup(obj)
        if val is not None:
            return val
        hit = self.forward_values.get(id(obj))
        if hit is None or hit[0] is not obj:
            return None
        fv = hit[1]
        val = self.graph.add_input(f"saved_{fv.name}" if fv.name else None, fv.type)
        self.bind(obj, val)
        self.saved.append(fv)
        return val


class GraphCtx:
    """What a vjp sees while the backward graph is recorded (the interface of the eager
    ``BackwardCtx``): ``args``, ``out``, ``output(i)``, ``needs_input_grad(i)``."""

    __slots__ = ("args", "_outputs", "_mask")

    def __init__(self, args: list, outputs: list, mask: int):
        self.args = args
        self._outputs = outputs
        self._mask = mask

    def needs_input_grad(self, i: int) -> bool:
        return bool(self._mask >> i & 1)

    @property
    def out(self):
        return self.output(0)

    def output(self, i: int):
        return self._outputs[i]


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, list):
        return [_add(x, y) for x, y in zip(a, b)]
    return a + b


class _Builder:
    def __init__(self, fwd: Graph, env: dict, rg: set, rg_inputs: set):
        self.fwd, self.env, self.rg = fwd, env, rg
        self.grad_inputs = [i for i, v in enumerate(fwd.inputs) if v in rg_inputs]
        self.graph = Graph()
        forward_values = {}
        for v, x in env.items():
            if isinstance(x, Tensor):
                forward_values.setdefault(id(x), (x, v))
        self.frame = SavedValueFrame(self.graph, forward_values)
        self.grads: dict[Value, object] = {}

    def accumulate(self, v: Value, g) -> None:
        if g is None or v not in self.rg:
            return
        self.grads[v] = _add(self.grads.get(v), g)

    def build(self) -> AutodiffGraphs:
        leaves = self._grad_outputs()
        tracer = StaticShapeTracer(strict=False)
        for k, v in enumerate(leaves):
            g = dispatch(REGISTRY["ones_like"], (self.env[v],), None)
            tracer.bind_input(self.frame, f"grad_{v.name or k}", g)
            self.grads[v] = g
        tracer.frames.append(self.frame)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", TracerWarning)
                with no_grad(), tracing(tracer):
                    for node in reversed(self.fwd.block.nodes):
                        if any(o in self.grads for o in node.outputs):
                            start = len(self.graph.block)
                            self.node(node)
                            for n in self.graph.block.nodes[start:]:
                                n.source = node.source  # NOTE: the forward op's call site
                    outs = []
                    for i in self.grad_inputs:
                        g = self.grads.get(self.fwd.inputs[i])
                        outs.append(tracer.output_value(self.frame, g))
                    self.graph.set_outputs(outs)
        except TracerWarning as w:
            raise _Decline(f"a vjp reads tensor values in Python ({w})") from None
        finally:
            tracer.frames.pop()
        self._drop_same_shape_reshapes()
        saved = self._prune()
        n_out = len(self.fwd.outputs)
        self.fwd.set_outputs(list(self.fwd.outputs) + leaves + saved)
        return AutodiffGraphs(self.fwd, self.graph, n_out, len(leaves), len(saved),
                              self.grad_inputs)

    def _grad_outputs(self) -> list[Value]:
        """The output tensors a gradient can flow from, once each, in output order."""
        leaves: list[Value] = []

        def visit(v: Value) -> None:
            if v not in self.rg:
                return
            node = v.node
            if node is not None and node.kind in ("prim::TupleConstruct", "prim::ListConstruct"):
                for i in node.inputs:
                    visit(i)
            elif isinstance(v.type, T.TensorType):
                if v.node is not None and v not in leaves:
                    leaves.append(v)
            else:
                raise _Decline(f"output %{v.name} of type {v.type} carries gradients the pass "
                               "cannot attribute to tensors")

        for v in self.fwd.outputs:
            visit(v)
        return leaves

    def _drop_same_shape_reshapes(self) -> None:
        """``reshape``/``view`` to the shape a tensor already has is that tensor: linear's vjp
        flattens its 2-D gradient and input to 2-D (six such calls per MLP backward, each a
        size inference at every step). The graph is specialized to the recorded sizes, so the
        sizes compared are those of the recorded call."""
        known: dict[Value, tuple] = {}  # saved inputs: (sizes, dtype) of the recorded call
        n_grads = len(self.graph.inputs) - len(self.frame.saved)
        for k, fv in enumerate(self.frame.saved):
            x = self.env.get(fv)
            if isinstance(x, Tensor):
                known[self.graph.inputs[n_grads + k]] = (tuple(x._data.shape), x.dtype)
        for node in list(self.graph.block.nodes):
            if node.kind not in ("op::reshape", "op::view") or len(node.outputs) != 1:
                continue
            src, out = node.inputs[0], node.outputs[0]
            have = known.get(src) or _static_shape(src)
            if have is not None and have == _static_shape(out):
                out.replace_all_uses_with(src)

    def _prune(self) -> list[Value]:
        """DCE the backward graph and drop saved inputs it no longer reads."""
        drop_unused(self.graph)  # NOTE: e.g. the input gradient of a first linear layer
        n_grads = len(self.graph.inputs) - len(self.frame.saved)
        saved = []
        for k in range(len(self.frame.saved) - 1, -1, -1):
            p = self.graph.inputs[n_grads + k]
            if p.uses:
                saved.append(self.frame.saved[k])
            else:
                self.graph.block.remove_input(n_grads + k)
        saved.reverse()
        return saved

    # -- one forward node ------------------------------------------------------------------------
    def node(self, node: Node) -> None:
        kind = node.kind
        if node.is_op:
            self.op_node(node)
        elif kind in ("prim::TupleConstruct", "prim::ListConstruct"):
            g = self.grads.pop(node.outputs[0], None)
            for v, gi in zip(node.inputs, g or ()):
                self.accumulate(v, gi)
        elif kind in ("prim::TupleUnpack", "prim::ListUnpack"):
            gs = [self.grads.pop(o, None) for o in node.outputs]
            if any(g is not None for g in gs):
                self.accumulate(node.inputs[0], self._fill(node.inputs[0], gs))
        elif kind in ("prim::TupleIndex", "prim::ListIndex"):
            g = self.grads.pop(node.outputs[0], None)
            n = len(self.env[node.inputs[0]])
            gs = [None] * n
            gs[self.env[node.inputs[1]]] = g
            self.accumulate(node.inputs[0], self._fill(node.inputs[0], gs))
        elif kind == "prim::unchecked_cast":
            self.accumulate(node.inputs[0], self.grads.pop(node.outputs[0], None))
        else:
            for o in node.outputs:
                self.grads.pop(o, None)  # NOTE: no gradient flows through sizes and constants

    def _fill(self, v: Value, gs: list) -> list:
        """Zeros for the elements of a tuple/list that got no gradient (vjps expect tensors)."""
        items = self.env[v]
        return [g if g is not None or not isinstance(x, Tensor) else _zeros(x)
                for g, x in zip(gs, items)]

    def op_node(self, node: Node) -> None:
        op = REGISTRY[node.op_name]
        if not any(v in self.rg for v in node.inputs) or op.vjp is None:
            for o in node.outputs:
                self.grads.pop(o, None)
            return
        _check_static_args(op, node)
        vals = _bind_args(op, node, [self.env[v] for v in node.inputs])
        mask = 0
        for i in op.edge_args:
            if i < len(node.inputs) and node.inputs[i] in self.rg:
                mask |= 1 << i
        if len(node.outputs) == 1 and isinstance(self.env[node.outputs[0]], list):
            outs = list(self.env[node.outputs[0]])  # Tensor[]-returning ops (split, unbind)
            g = self.grads.pop(node.outputs[0], None) or [None] * len(outs)
            grads = [x if x is not None else _zeros(t) for x, t in zip(g, outs)]
        else:
            outs = [self.env[o] for o in node.outputs]
            grads = [self.grads.pop(o, None) for o in node.outputs]
            grads = [x if x is not None or not isinstance(t, Tensor) else _zeros(t)
                     for x, t in zip(grads, outs)]
        # NOTE: unlike the eager node, every argument and output is offered to the vjp (no
        # saves= stand-ins): what the needed gradients do not read is removed by DCE afterwards,
        # and only what they read becomes a saved value
        ctx = GraphCtx(vals, outs, mask)
        result = op.vjp(ctx, *grads)
        if not isinstance(result, (tuple, list)):
            result = (result,)
        for i in op.edge_args:
            if mask >> i & 1 and i < len(result):
                g = result[i]
                self.accumulate(node.inputs[i], list(g) if isinstance(g, tuple) else g)



def _static_shape(v: Value) -> tuple | None:
    """(sizes, dtype) of a tensor value whose type knows both (every size an int), else None."""
    t = v.type
    if isinstance(t, T.TensorType) and t.shape is not None and t.dtype is not None \
            and all(type(d) is int for d in t.shape):
        return (t.shape, t.dtype)
    return None


def _zeros(t):
    """Zeros shaped like forward tensor ``t``, from constants: ``zeros_like(t)`` would make
    ``t`` a saved value just for its shape."""
    return zeros(tuple(int(d) for d in t._data.shape), dtype=t.dtype, device=t.device)
