"""The reference interpreter: walks a graph's nodes and calls registry kernels.

Registry ops go through ``dispatch`` (the same path as eager code), so eager autograd records
through the interpreter: gradients of compiled modules equal eager ones by construction. This is
the reference semantics every faster executor is tested against.
"""

from __future__ import annotations

import os
import re
import string
import time

from graphtorch.autograd.grad_mode import STATE
from graphtorch.errors import GraphError, GraphtorchError, UnsupportedError
from graphtorch.ir.compilation_unit import (
    CompiledMethod,
    module_member,
    module_method,
    resolve_function,
)
from graphtorch.ir.graph import TensorRef
from graphtorch.ir.kinds import INPLACE
from graphtorch.ir.op_call import split_op_inputs
from graphtorch.ops.creation import tensor
from graphtorch.ops.dispatch import active_tracer, dispatch
from graphtorch.ops.indexing import write_at
from graphtorch.ops.registry import REGISTRY
from graphtorch.ops.scalar_ops import SCALAR_OPS
from graphtorch.runtime.objects import (
    OBJECT_HANDLERS,
    context_depth,
    object_method,
    unwind_contexts,
)
from graphtorch.tensor import Tensor

_FORMATTER = string.Formatter()
_HUGE_WIDTH = re.compile(r"\d{5,}")


class ScriptRuntimeError(GraphtorchError, RuntimeError):
    """An exception raised by a graph (``raise``/``assert`` in scripted code)."""


class Interpreter:
    """Runs graphs; ``hook(node, seconds)`` (if set) is called after every top-level node.

    Each block is compiled once per interpreter into a list of steps (the node's callable, its
    input and output values), so keep one interpreter per graph that runs repeatedly (the
    executor does) and do not mutate a graph between runs of the same interpreter.
    """

    def __init__(self, hook=None):
        self.hook = hook
        self._plans: dict = {}

    def run(self, graph, inputs: list):
        block = graph.block
        if len(inputs) != len(block.inputs):
            raise GraphError(f"graph expects {len(block.inputs)} inputs, got {len(inputs)}")
        env = dict(zip(block.inputs, inputs))
        depth = context_depth()
        try:
            return self.run_block(block, env, top=True)
        except BaseException:
            unwind_contexts(depth)   # the __exit__ of each `with` the graph left by raising
            raise

    def run_block(self, block, env: dict, top: bool = False) -> list:
        steps = self._plans.get(block)
        if steps is None:
            steps = self._plans[block] = [(_step(n), n.inputs, n.outputs, n) for n in block.nodes]
        hook = self.hook if top else None
        for fn, ins, outs, node in steps:
            args = [env[v] for v in ins]
            if hook is not None:
                t0 = time.perf_counter()
            try:
                res = fn(self, node, args, env)
            except ScriptRuntimeError:
                raise
            except GraphtorchError as e:
                raise _located(e, node) from None
            if len(outs) == 1:
                env[outs[0]] = res
            elif outs:
                for v, r in zip(outs, res):
                    env[v] = r
            if hook is not None:
                hook(node, time.perf_counter() - t0)
        return [env[v] for v in block.outputs]

    def run_node(self, node, env: dict) -> None:
        """Run one node outside a block plan (used by tools that step through a graph)."""
        res = _step(node)(self, node, [env[v] for v in node.inputs], env)
        if len(node.outputs) == 1:
            env[node.outputs[0]] = res
        elif node.outputs:
            for v, r in zip(node.outputs, res):
                env[v] = r


def _step(node):
    """The callable ``fn(interp, node, args, env) -> result(s)`` that runs ``node``."""
    kind = node.kind
    if kind.startswith("op::"):
        op = REGISTRY.get(kind[4:])
        if op is None:
            raise GraphError(f"unknown op {kind!r}")
        if len(node.inputs) > op.binder.n_positional:  # keyword-only arguments by name

            def run_op_kw(interp, node, args, env):
                return dispatch(op, *split_op_inputs(op, args))

            return run_op_kw
        return lambda interp, node, args, env: dispatch(op, tuple(args), None)
    handler = PRIM_HANDLERS.get(kind)
    if handler is not None:
        return handler
    fn = SCALAR_OPS.get(kind)
    if fn is not None:
        return lambda interp, node, args, env: fn(*args)
    raise GraphError(f"the interpreter has no rule for node kind {kind!r}")


def _located(e: Exception, node) -> Exception:
    loc = getattr(node, "source", None)
    if loc is None or getattr(e, "_gt_located", False):
        return e
    try:
        new = type(e)(f"{e}\n  at {loc.file}:{loc.line} ({node.kind})")
    except TypeError:
        return e
    new._gt_located = True
    return new


# --- prim handlers ----------------------------------------------------------------------------
def _constant(interp, node, args, env):
    v = node.attrs["value"]
    if isinstance(v, TensorRef):
        return node.graph.tensor_constants[v.name]
    return v


def _getattr(interp, node, args, env):
    return module_member(args[0], node.attrs["name"])


def _setattr(interp, node, args, env):
    name = node.attrs["name"]
    module_member(args[0], name)    # only a declared member may be assigned
    setattr(args[0], name, args[1])
    return None


def _call_method(interp, node, args, env):
    if not args:
        raise GraphError("prim::CallMethod without the object to call it on")
    obj, rest = args[0], args[1:]
    fn = object_method(obj, node.attrs["name"])
    if fn is not None:   # an object of a script class behind an interface (objects.py)
        out = interp.run(fn.graph, [obj] + list(rest))
        return out[0] if len(out) == 1 else tuple(out)
    method = module_method(obj, node.attrs["name"])
    if isinstance(method, CompiledMethod):
        out = interp.run(method.graph, [obj] + list(rest))
        return out[0] if len(out) == 1 else tuple(out)
    return method(*rest)    # an eager-fallback submodule compiled in this process


def _call_function(interp, node, args, env):
    fn = resolve_function(node.graph, node.attrs["name"])
    out = interp.run(fn.graph, list(args))
    return out[0] if len(out) == 1 else tuple(out)


def _python_op(interp, node, args, env):
    return node.attrs["fn"](*args)


def _if(interp, node, args, env):
    branch = node.blocks[0] if args[0] else node.blocks[1]
    out = interp.run_block(branch, env)
    return out[0] if len(node.outputs) == 1 else out


def _loop(interp, node, args, env):
    max_trip, cond, carried = args[0], args[1], list(args[2:])
    body = node.blocks[0]
    i = 0
    while cond and (max_trip is None or i < max_trip):
        env[body.inputs[0]] = i
        for v, x in zip(body.inputs[1:], carried):
            env[v] = x
        out = interp.run_block(body, env)
        cond, carried = out[0], out[1:]
        i += 1
    return carried[0] if len(node.outputs) == 1 else carried


def _raise(interp, node, args, env):
    msg = args[0] if args else "Exception"
    loc = getattr(node, "source", None)
    where = f"\n  at {loc.file}:{loc.line}" if loc is not None else ""
    exc_name = node.attrs.get("exc", "Exception") if node.attrs else "Exception"
    raise ScriptRuntimeError(f"{exc_name}: {msg}{where}")


def _print(interp, node, args, env):
    print(*args)
    return None


def _size(interp, node, args, env):
    x = args[0]
    if len(args) == 1:
        return list(x.shape)
    return x.size(args[1])


def _num_to_tensor(interp, node, args, env):
    return tensor(args[0])


def _isinstance(interp, node, args, env):
    return node.attrs["value"] if "value" in node.attrs else True


def _fusion_group(interp, node, args, env):
    if _triton_wanted(args):
        # NOTE: the Triton backend loads only when a fusion group runs on it
        from graphtorch.runtime.triton import run_fusion_group

        try:
            out = run_fusion_group(node, args)
            return out[0] if len(node.outputs) == 1 else tuple(out)
        except UnsupportedError:
            pass  # NOTE: the backend said no before launching: the subgraph's ops run instead
    out = interp.run(node.attrs["subgraph"], list(args))
    return out[0] if len(node.outputs) == 1 else out


def _triton_wanted(args) -> bool:
    """Fusion groups run as Triton kernels on CUDA tensors (GT_FUSION_BACKEND=auto, the
    default), always (``triton``: on CPU through Triton's interpreter, for testing) or never
    (``interpreter``). Calls that record gradients run the subgraph's ops instead: the kernels
    record no autograd."""
    mode = os.environ.get("GT_FUSION_BACKEND", "auto")
    if mode == "interpreter":
        return False
    tensors = [a for a in args if isinstance(a, Tensor)]
    if STATE.enabled and any(t.requires_grad for t in tensors):
        return False
    if mode == "triton":
        return True
    return any(t.device.type == "cuda" for t in tensors)


def format_fields_problem(template) -> str | None:
    """Why ``template`` is not a plain ``str.format`` template (None when it is): replacement
    fields may name arguments by position or not at all, never reach into them (``{0.attr}``,
    ``{0[key]}``: attribute lookups a graph must not make), and a format spec holds no field."""
    if not isinstance(template, str):
        return f"the template is a {type(template).__name__}, not a str"
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError as e:
        return f"bad template: {e}"
    for _, field, spec, _ in parts:
        if field is not None and not (field == "" or field.isdigit()):
            return f"replacement field {{{field}}} reaches into an argument"
        if spec and ("{" in spec or "}" in spec):
            return f"format spec {spec!r} holds a replacement field"
        if spec and _HUGE_WIDTH.search(spec):
            return f"format spec {spec!r} asks for a width or precision above 9999"
    return None


def _format(interp, node, args, env):
    problem = format_fields_problem(args[0] if args else None)
    if problem:
        raise GraphError(f"prim::format: {problem}")
    return args[0].format(*args[1:])


PRIM_HANDLERS = {
    "prim::format": _format,
    "prim::Constant": _constant,
    "prim::GetAttr": _getattr,
    "prim::SetAttr": _setattr,
    "prim::CallMethod": _call_method,
    "prim::CallFunction": _call_function,
    "prim::PythonOp": _python_op,
    "prim::If": _if,
    "prim::Loop": _loop,
    "prim::TupleConstruct": lambda i, n, a, e: tuple(a),
    "prim::ListConstruct": lambda i, n, a, e: list(a),
    "prim::TupleUnpack": lambda i, n, a, e: _unpack(n, a, _SEQUENCE),
    "prim::ListUnpack": lambda i, n, a, e: _unpack(n, a, _SEQUENCE),
    "prim::TupleIndex": lambda i, n, a, e: _index(n, a, _SEQUENCE),
    "prim::ListIndex": lambda i, n, a, e: _index(n, a, _SEQUENCE),
    "prim::DictConstruct": lambda i, n, a, e: dict(zip(a[0::2], a[1::2])),
    "prim::DictIndex": lambda i, n, a, e: _index(n, a, dict),
    "prim::RaiseException": _raise,
    "prim::Print": _print,
    "prim::size": _size,
    "prim::NumToTensor": _num_to_tensor,
    "prim::Uninitialized": lambda i, n, a, e: None,
    "prim::unchecked_cast": lambda i, n, a, e: a[0],
    "prim::isinstance": _isinstance,
    "prim::FusionGroup": _fusion_group,
}


# --- in-place updates ---------------------------------------------------------------------------
# Eager in-place methods that are not one registry op; the node calls the method itself.
METHOD_INPLACE = frozenset({"zero_", "fill_", "copy_", "uniform_", "normal_", "bernoulli_",
                            "random_", "exponential_"})


def run_inplace(op_name: str, args: list):
    """``prim::Inplace[op=op_name](self, args...)``: eager's in-place path on ``args[0]``.

    A registry op goes through ``Tensor._inplace`` (its dtype rule, the leaf check, autograd
    rebasing and view write-through); ``index_put`` takes eager ``t[key] = v``'s path, which
    writes straight into the array when nothing records. Returns ``self``, the same object.
    """
    self = args[0]
    if not isinstance(self, Tensor):
        raise GraphError(f"prim::Inplace[op={op_name!r}]: expected a tensor to update, got "
                         f"{type(self).__name__}")
    if op_name in METHOD_INPLACE:
        getattr(Tensor, op_name)(self, *args[1:])
        return self
    op = REGISTRY.get(op_name)
    if op is None:
        raise GraphError(f"prim::Inplace: unknown op {op_name!r}")
    if op_name == "index_put":
        return _index_put_inplace(self, *args[1:])
    pos, kwargs = split_op_inputs(op, args)
    return self._inplace(op_name, *pos[1:], **kwargs)


def _index_put_inplace(self, key, indices, value, accumulate=False):
    """``self[key] = value`` with an encoded key, exactly as ``Tensor.__setitem__``."""
    if isinstance(value, Tensor):
        value = value.to(self.device)
    recorded = (STATE.enabled and (self._rg or (isinstance(value, Tensor) and value._rg))
                or active_tracer() is not None)
    if recorded:
        if isinstance(value, Tensor) and value.dtype is not self.dtype:
            value = value.to(self.dtype)
        return self._inplace("index_put", key, indices, value, accumulate)
    arr = value._data if isinstance(value, Tensor) else value
    write_at(self._xp, self._data, key, [t._data for t in indices], arr, bool(accumulate))
    self._vc[0] += 1
    return self


def _inplace(interp, node, args, env):
    return run_inplace(node.attrs["op"], args)


PRIM_HANDLERS[INPLACE] = _inplace
PRIM_HANDLERS.update(OBJECT_HANDLERS)   # scripted objects and their contexts (objects.py)


_SEQUENCE = (tuple, list)


def _container(node, args, kind):
    """The container a tuple/list/dict node reads: a Python tuple or list (a tensor or any
    other object is never unpacked or indexed, whatever it supports), or a dict."""
    obj = args[0] if args else None
    if not isinstance(obj, kind):
        want = "dict" if kind is dict else "tuple or list"
        raise GraphError(f"{node.kind}: expected a {want}, got {type(obj).__name__}")
    return obj


def _unpack(node, args, kind):
    seq = _container(node, args, kind)
    if len(seq) != len(node.outputs):
        raise GraphError(f"{node.kind}: expected {len(node.outputs)} elements, got "
                         f"{len(seq)}")
    return seq[0] if len(node.outputs) == 1 else tuple(seq)


def _index(node, args, kind):
    obj = _container(node, args, kind)
    key = args[1]
    if kind is not dict and not isinstance(key, int):
        raise GraphError(f"{node.kind}: the index must be an int, got {type(key).__name__}")
    try:
        return obj[key]
    except (IndexError, KeyError):
        what = "key" if kind is dict else "index"
        raise GraphError(f"{node.kind}: {what} {key!r} is out of range") from None


def run_graph(graph, inputs: list, hook=None) -> list:
    """Run ``graph`` on ``inputs`` with the reference interpreter; returns the output list."""
    return Interpreter(hook).run(graph, list(inputs))
