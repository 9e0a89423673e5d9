"""Capture: record eager op calls into an IR graph (the core of ``jit.trace``).

While a :class:`Tracer` is installed (:func:`tracing`), the dispatch point calls
:meth:`Tracer.record` after each registry op and ``Tensor`` asks it about sizes, in-place writes
and Python values read from tensors (the hooks in ``ops/dispatch.py``). Values are bound per
:class:`Frame` (the graph of one call); tensors from outside become constants.

This layer knows nothing of modules' Python structure: ``frontend/tracer.py`` subclasses
:class:`Tracer` to record submodule calls as ``prim::CallMethod`` (``jit.trace``), and the
decompose pass and graph-level autodiff use it directly to record decompositions and vjps.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import warnings

from graphtorch.autograd.function import SLOT, FunctionCall, apply_eager
from graphtorch.device import device as Device
from graphtorch.dtypes import dtype as DType
from graphtorch.errors import TracingError
from graphtorch.ir import types as T
from graphtorch.ir.graph import Graph, SourceLoc
from graphtorch.ir.traced_int import TracedInt
from graphtorch.ops import dispatch as _dispatch
from graphtorch.ops.dispatch import TracerWarning
from graphtorch.tensor import Tensor

_WARN_TEXT = ("{what} might cause the trace to be incorrect. We can't record the data flow of "
              "Python values, so this value will be treated as a constant in the future. This "
              "means that the trace might not generalize to other inputs!")


def tensor_type(t: Tensor) -> T.TensorType:
    return T.TensorType(t.dtype, tuple(int(d) for d in t.shape), t.device)




class Frame:
    """The graph under construction for one module (or function) call."""

    def __init__(self, graph: Graph, module=None, self_value=None):
        self.graph = graph
        self.module = module
        self.self_value = self_value
        self.values: dict[int, tuple[object, object]] = {}
        self.attr_values: dict[tuple, object] = {}
        self.paths: dict[int, tuple[str, ...]] = {}
        if module is not None:
            for name, p in module.named_parameters(remove_duplicate=False):
                self.paths.setdefault(id(p), tuple(name.split(".")))
            for name, b in module.named_buffers(remove_duplicate=False):
                self.paths.setdefault(id(b), tuple(name.split(".")))
            for name, m in module.named_modules(remove_duplicate=False):
                if name:
                    self.paths.setdefault(id(m), tuple(name.split(".")))

    def bind(self, obj, value) -> None:
        self.values[id(obj)] = (obj, value)  # NOTE: keeps obj alive so its id is not reused

    def lookup(self, obj):
        hit = self.values.get(id(obj))
        return hit[1] if hit is not None and hit[0] is obj else None


class Tracer:
    def __init__(self, strict: bool = True):
        self.frames: list[Frame] = []
        self.strict = strict
        self._opaque = 0
        self.method_graphs: dict[int, tuple[object, Graph]] = {}

    # -- frames ----------------------------------------------------------------------------
    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def recording(self) -> bool:
        """Op calls are recorded now: inside a frame, outside an opaque section."""
        return not self._opaque and bool(self.frames)

    @contextlib.contextmanager
    def opaque(self):
        """Run code without recording (composites recorded as one node, compiled submodules)."""
        self._opaque += 1
        try:
            yield
        finally:
            self._opaque -= 1

    # -- values ------------------------------------------------------------------------------
    def value_of(self, v, frame: Frame | None = None):
        f = frame or self.frame
        g = f.graph
        if isinstance(v, Tensor):
            val = f.lookup(v)
            if val is not None:
                return val
            path = f.paths.get(id(v))
            if path is not None:
                return self._getattr_chain(f, path, v)
            # NOTE: a tensor from outside the traced inputs and module state: a constant.
            val = g.constant(v)
            f.bind(v, val)
            return val
        if isinstance(v, TracedInt):
            val = v.value
            return val if val.graph is g else g.constant(int(v))  # another frame's: a constant
        if isinstance(v, (list, tuple)) and any(isinstance(x, (Tensor, TracedInt)) for x in v):
            items = [self.value_of(x, f) for x in v]
            kind = "prim::ListConstruct" if isinstance(v, list) or not any(
                isinstance(x, Tensor) for x in v) else "prim::TupleConstruct"
            elem_types = [x.type for x in items]
            if kind == "prim::ListConstruct":
                out_t = T.ListType(T.TENSOR if isinstance(
                    elem_types[0], T.TensorType) else elem_types[0])
            else:
                out_t = T.TupleType(tuple(elem_types))
            node = g.create(kind, items, [out_t])
            g.insert(node)
            return node.outputs[0]
        if hasattr(v, "_rng"):  # a Generator: traced graphs draw from the default one
            return g.constant(None)
        return g.constant(v)

    def _getattr_chain(self, f: Frame, path: tuple, obj):
        cur = f.self_value
        mod = f.module
        for i, name in enumerate(path):
            key = path[: i + 1]
            hit = f.attr_values.get(key)
            if hit is None:
                attr = getattr(mod, name)
                t = tensor_type(attr) if isinstance(attr, Tensor) else self.class_type(attr)
                node = f.graph.create("prim::GetAttr", [cur], [t], attrs={"name": name})
                f.graph.insert(node)
                hit = node.outputs[0]
                f.attr_values[key] = hit
                mod = attr
            else:
                mod = getattr(mod, name)
            cur = hit
        return cur

    # -- recording (called by dispatch) -----------------------------------------------------

    def class_type(self, module) -> T.ClassType:
        """The IR type of a submodule reached by ``prim::GetAttr`` (frames with a module only)."""
        raise TracingError(f"{type(self).__name__} records no module structure; use "
                           "graphtorch.frontend.tracer.Tracer to trace modules")

    def record(self, op, vals: list, out) -> None:
        if not self.recording():
            return
        f = self.frame
        args = op.schema.args
        n = len(vals)
        while n > 0 and args[n - 1].has_default and _same_default(vals[n - 1], args[n - 1]):
            n -= 1
        inputs = [self.value_of(v, f) for v in vals[:n]]
        outs = out if isinstance(out, (tuple, list)) else (out,)
        if op.schema.returns[0].startswith("Tensor[]"):
            # NOTE: list-returning ops (split, unbind): one Tensor[] value, then ListUnpack
            node = f.graph.create(f"op::{op.name}", inputs, [T.ListType(T.TENSOR)],
                                  source=user_source())
            f.graph.insert(node)
            unpack = f.graph.create("prim::ListUnpack", [node.outputs[0]],
                                    [tensor_type(o) for o in out])
            f.graph.insert(unpack)
            outputs = unpack.outputs
        else:
            node = f.graph.create(f"op::{op.name}", inputs, [tensor_type(o) for o in outs],
                                  source=user_source())
            f.graph.insert(node)
            outputs = node.outputs
        for o, v in zip(outs, outputs):
            f.bind(o, v)

    def record_scalar(self, kind: str, args: list, result: int) -> TracedInt:
        f = self.frame
        inputs = [self.value_of(a, f) for a in args]
        node = f.graph.create(kind, inputs, [T.INT])
        f.graph.insert(node)
        return TracedInt(result, node.outputs[0], self)

    def rebind(self, tensor: Tensor, result: Tensor) -> None:
        """An in-place op: ``tensor`` now holds the value ``result`` was recorded as."""
        if not self.recording():
            return
        val = self.frame.lookup(result)
        if val is not None:
            self.frame.bind(tensor, val)

    def size_of(self, t: Tensor, dim: int) -> int:
        n = t._data.shape[dim]
        if not self.recording() or self.frame.lookup(t) is None:
            return n
        f = self.frame
        node = f.graph.create("prim::size", [self.value_of(t, f), f.graph.constant(dim)],
                              [T.INT])
        f.graph.insert(node)
        return TracedInt(n, node.outputs[0], self)

    def warn_python_value(self, kind: str, what: str) -> None:
        if not self.recording():
            return
        warnings.warn(_WARN_TEXT.format(what=what), TracerWarning, stacklevel=4)

    # -- custom autograd Functions (called by Function.apply) --------------------------------
    def record_function(self, function: type, args: tuple, kwargs: dict):
        """``function.apply(*args)`` while tracing: ONE ``prim::PythonOp`` whose callable is a
        :class:`FunctionCall`, so running the graph applies the Function again (its forward on
        tensors, its user-written backward in autograd) instead of the ops of its forward."""
        if not self.recording():
            return apply_eager(function, args, kwargs)
        args = _function_args(function, args, kwargs)
        f = self.frame
        plain = tuple(int(a) if isinstance(a, TracedInt) else a for a in args)  # forward: ints
        with self.opaque():
            out = _distinct_outputs(apply_eager(function, plain, {}), args)
        inputs, fixed = [], []
        for a in args:
            if _is_graph_arg(a):
                inputs.append(self.value_of(a, f))
                fixed.append(SLOT)
            else:
                fixed.append(a)     # NOTE: a Python object no graph constant holds (a callable)
        call = FunctionCall(function, None if all(x is SLOT for x in fixed) else tuple(fixed))
        node = f.graph.create("prim::PythonOp", inputs, [value_type(out)],
                              attrs={"fn": call, "name": call.__qualname__},
                              source=user_source())
        f.graph.insert(node)
        self.bind_output(f, out, node.outputs[0])
        return out

    # -- module calls --------------------------------------------------------------------------
    def bind_input(self, frame: Frame, name: str, arg) -> None:
        g = frame.graph
        v = g.add_input(name, value_type(arg))
        self._unpack_into(frame, arg, v)

    def _unpack_into(self, frame: Frame, obj, value) -> None:
        if isinstance(obj, Tensor):
            frame.bind(obj, value)
            return
        if isinstance(obj, (tuple, list)):
            kind = "prim::TupleUnpack" if isinstance(obj, tuple) else "prim::ListUnpack"
            node = frame.graph.create(kind, [value], [value_type(x) for x in obj])
            frame.graph.insert(node)
            for x, v in zip(obj, node.outputs):
                self._unpack_into(frame, x, v)
            return
        if isinstance(obj, dict):
            for k, x in obj.items():
                key = frame.graph.constant(k)
                node = frame.graph.create("prim::DictIndex", [value, key], [value_type(x)])
                frame.graph.insert(node)
                self._unpack_into(frame, x, node.outputs[0])

    def output_value(self, frame: Frame, out):
        if isinstance(out, Tensor):
            return self.value_of(out, frame)
        if isinstance(out, tuple):
            items = [self.output_value(frame, x) for x in out]
            node = frame.graph.create("prim::TupleConstruct", items,
                                      [T.TupleType(tuple(i.type for i in items))])
            frame.graph.insert(node)
            return node.outputs[0]
        if isinstance(out, list):
            if self.strict:
                raise TracingError(
                    "Encountering a list at the output of the tracer might cause the trace to be "
                    "incorrect, this is only valid if the container structure does not change "
                    "based on the module's inputs. Consider using a constant container instead "
                    "(e.g. for `list`, use a `tuple` instead), or pass strict=False.")
            items = [self.output_value(frame, x) for x in out]
            node = frame.graph.create("prim::ListConstruct", items, [value_type(out)])
            frame.graph.insert(node)
            return node.outputs[0]
        if isinstance(out, dict):
            if self.strict:
                raise TracingError(
                    "Encountering a dict at the output of the tracer might cause the trace to be "
                    "incorrect, this is only valid if the container structure does not change "
                    "based on the module's inputs. Consider using a constant container instead "
                    "(e.g. for `dict`, use a `NamedTuple` instead), or pass strict=False.")
            keys = list(out)
            ins = []
            for k in keys:
                ins.append(frame.graph.constant(k))
                ins.append(self.output_value(frame, out[k]))
            node = frame.graph.create("prim::DictConstruct", ins, [value_type(out)])
            frame.graph.insert(node)
            return node.outputs[0]
        if isinstance(out, TracedInt):
            return self.value_of(out, frame)
        if out is None or isinstance(out, (bool, int, float, str)):
            return frame.graph.constant(out)  # NOTE: plain values are constants of the trace
        raise TracingError(f"Only tensors, and (nested) tuples, lists or dicts of tensors can "
                           f"be outputs of traced functions, got {type(out).__name__}")

    def bind_output(self, frame: Frame, out, value) -> None:
        if isinstance(out, dict):
            for k, x in out.items():
                node = frame.graph.create("prim::DictIndex", [value, frame.graph.constant(k)],
                                          [value_type(x)])
                frame.graph.insert(node)
                self.bind_output(frame, x, node.outputs[0])
            return
        self._unpack_into(frame, out, value)


def value_type(obj):
    if isinstance(obj, Tensor):
        return tensor_type(obj)
    if isinstance(obj, tuple):
        return T.TupleType(tuple(value_type(x) for x in obj))
    if isinstance(obj, list):
        return T.ListType(value_type(obj[0]) if obj else T.TENSOR)
    if isinstance(obj, dict):
        first = next(iter(obj.values()), None)
        return T.DictType(T.STR, value_type(first) if first is not None else
                          T.TENSOR)
    if isinstance(obj, TracedInt) or isinstance(obj, int) and not isinstance(obj, bool):
        return T.INT
    return T.type_of_value(obj)



def _is_graph_arg(a) -> bool:
    """Whether a Function argument can be a graph value (else the node's callable keeps it)."""
    if a is None or isinstance(a, (Tensor, TracedInt, bool, int, float, str, DType, Device)):
        return True
    if isinstance(a, (list, tuple)):
        return all(_is_graph_arg(x) for x in a)
    return False


def _function_args(function: type, args: tuple, kwargs: dict) -> tuple:
    """``apply``'s arguments as positional ones of ``forward`` (after ``ctx``), defaults filled."""
    if not kwargs:
        return tuple(args)
    name = f"{function.__module__}.{function.__qualname__}"
    try:
        sig = inspect.signature(function.forward)
        sig = sig.replace(parameters=list(sig.parameters.values())[1:])
        bound = sig.bind(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise TracingError(f"{name}.apply: its arguments do not bind to forward's parameters "
                           f"({e})") from None
    bound.apply_defaults()
    if bound.kwargs:
        raise TracingError(f"{name}.apply: keyword-only parameters of forward "
                           f"({', '.join(bound.kwargs)}) cannot be traced; make them positional")
    return tuple(bound.args)


def _distinct_outputs(out, args: tuple):
    """An output that IS an input tensor (``return x``) becomes an alias, so that later uses of
    the result are traced through the Function's node and uses of the input are not."""
    ins = [a for a in args if isinstance(a, Tensor)]

    def fresh(o):
        return o.detach() if isinstance(o, Tensor) and any(o is a for a in ins) else o

    if isinstance(out, tuple):
        return tuple(fresh(o) for o in out)
    if isinstance(out, list):
        return [fresh(o) for o in out]
    return fresh(out)



def _same_default(v, arg) -> bool:
    d = arg.default
    if isinstance(v, Tensor) or isinstance(d, Tensor):
        return False
    try:
        return type(v) is type(d) and v == d or (v is None and d is None)
    except Exception:  # noqa: BLE001 - odd values are never "equal to the default"
        return False


@contextlib.contextmanager
def tracing(tracer: Tracer):
    prev = _dispatch.set_tracer(tracer)
    try:
        yield tracer
    finally:
        _dispatch.set_tracer(prev)



# source folders whose frames are graphtorch's own (a package's folder may lie outside graphtorch/)
_INTERNAL_DIRS: tuple[str, ...] = (os.path.dirname(os.path.dirname(__file__)) + os.sep,)


def add_internal_dir(path: str) -> None:
    """Treat code under ``path`` as graphtorch's own: :func:`user_source` skips its frames."""
    global _INTERNAL_DIRS
    path = os.path.join(path, "")
    if path not in _INTERNAL_DIRS:
        _INTERNAL_DIRS = _INTERNAL_DIRS + (path,)


def user_source() -> SourceLoc | None:
    """The first stack frame outside graphtorch: where the user's code called the op."""
    f = sys._getframe(2)
    while f is not None:
        fn = f.f_code.co_filename
        if not fn.startswith(_INTERNAL_DIRS):
            return SourceLoc(fn, f.f_lineno, 0)
        f = f.f_back
    return None
