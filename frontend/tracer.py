"""``graphtorch.jit.trace``: run a model on example inputs and record registry ops.

The recording itself is :mod:`graphtorch.ir.capture`; this tracer adds module structure,
TorchScript-style: each submodule call becomes ``prim::CallMethod[name="forward"]`` on a value
obtained by ``prim::GetAttr`` from ``self``, and the submodule gets its own forward graph.
Parameters and buffers are reached by GetAttr, never baked in as constants.
"""

from __future__ import annotations

import inspect
import os

from graphtorch.errors import TracingError
from graphtorch.frontend.script_module import ScriptModule, qualified_type_name
from graphtorch.frontend.traced_rnn import is_recurrent, packed_call, scripted_layer
from graphtorch.ir import capture
from graphtorch.ir import types as T
from graphtorch.ir.capture import (
    Frame,
    TracerWarning,
    add_internal_dir,
    tensor_type,
    tracing,
    user_source,
    value_type,
)
from graphtorch.ir.graph import Graph
from graphtorch.nn.utils.rnn import PackedSequence
from graphtorch.tensor import Tensor

__all__ = ["Frame", "Tracer", "TracerWarning", "class_type", "tensor_type", "tracing",
           "user_source", "value_type"]

add_internal_dir(os.path.dirname(os.path.abspath(__file__)))  # frames here are not user code


def class_type(module) -> T.ClassType:
    """The IR class type of a module: its ``_gt_type`` or its qualified class name."""
    name = getattr(module, "_gt_type", None) or qualified_type_name(type(module))
    return T.ClassType(name)


class Tracer(capture.Tracer):
    """The capture tracer, plus submodule calls recorded as ``prim::CallMethod``.

    A recurrent layer (RNN / LSTM / GRU) is scripted and called, as PyTorch keeps a scripted
    submodule inside a trace: its loop over time steps stays a loop (``scripted`` maps the
    layer's id to the scripted module that replaces it in the traced result)."""

    def __init__(self, strict: bool = True):
        super().__init__(strict)
        self.scripted: dict[int, tuple[object, ScriptModule, bool]] = {}

    def class_type(self, module) -> T.ClassType:
        hit = self.scripted.get(id(module))
        return class_type(hit[1] if hit is not None and hit[0] is module else module)

    def call_module(self, module, forward, args, kwargs):
        """A submodule's forward was called while tracing: record a CallMethod and its graph."""
        if self._opaque or not self.frames:
            return forward(*args, **kwargs)
        parent = self.frame
        path = parent.paths.get(id(module))
        if path is None:
            return forward(*args, **kwargs)  # NOTE: not owned by the caller: inline its ops
        args = _positional(forward, args, kwargs)
        if is_recurrent(module) and args and isinstance(args[0], (Tensor, PackedSequence)):
            return self._call_recurrent(module, path, args)
        if any(_holds_tensor(a) and not _is_traced_arg(a) for a in args):
            # NOTE: a tensor inside an argument the boundary cannot pass (a PackedSequence with
            # None fields, an object): inline the ops so its data flow is recorded, never baked
            return forward(*args)
        sub_value = self._getattr_chain(parent, path, module)
        arg_values = [self.value_of(a, parent) for a in args if _is_traced_arg(a)]
        if isinstance(module, ScriptModule):
            with self.opaque():
                out = forward(*args)
        else:
            graph = Graph()
            frame = Frame(graph, module, graph.add_input("self", class_type(module)))
            for name, a in zip(_param_names(forward, len(args)), args):
                if _is_traced_arg(a):
                    self.bind_input(frame, name, a)
            self.frames.append(frame)
            try:
                out = forward(*args)
            finally:
                self.frames.pop()
            graph.set_outputs([self.output_value(frame, out)])
            self.method_graphs.setdefault(id(module), (module, graph))
        node = parent.graph.create("prim::CallMethod", [sub_value] + arg_values,
                                   [value_type(out)], attrs={"name": "forward"})
        parent.graph.insert(node)
        self.bind_output(parent, out, node.outputs[0])
        return out

    def _call_recurrent(self, module, path: tuple, args: tuple):
        """Record ``module(*args)`` as one CallMethod on the scripted layer (a PackedSequence:
        the padding around it recorded as ops, the masked recurrence scripted)."""
        packed = isinstance(args[0], PackedSequence)
        if len(args) > 2:
            raise TracingError(f"{type(module).__name__}.forward takes (input, hx), got "
                               f"{len(args)} arguments")
        hx = args[1] if len(args) > 1 else None
        hit = self.scripted.get(id(module))
        if hit is None:
            hit = (module, scripted_layer(module, packed), packed)
            self.scripted[id(module)] = hit
        elif hit[2] != packed:
            raise TracingError(
                f"{type(module).__name__} at '{'.'.join(path)}' is called both with a "
                "PackedSequence and with a tensor in one trace; a traced recurrent layer takes "
                "one kind of input (trace two modules, or script the caller)")
        scripted = hit[1]
        parent = self.frame
        sub_value = self._getattr_chain(parent, path, module)

        def call(*call_args):
            vals = [self.value_of(a, parent) for a in call_args]
            with self.opaque():
                out = scripted(*call_args)
            # NOTE: typed as the scripted forward declares it (the archive checks calls)
            node = parent.graph.create("prim::CallMethod", [sub_value] + vals,
                                       [scripted.graph.outputs[0].type],
                                       attrs={"name": "forward"})
            parent.graph.insert(node)
            _bind_declared(parent, out, node.outputs[0])
            return out

        if packed:
            return packed_call(call, module, args[0], hx)
        return call(args[0], hx)


def _bind_declared(frame: Frame, out, value) -> None:
    """Bind ``out`` (a tensor or nested tuple of tensors) to ``value`` of its declared type."""
    if isinstance(out, Tensor):
        frame.bind(out, value)
        return
    elem_types = value.type.elems if isinstance(value.type, T.TupleType) else None
    if not isinstance(out, tuple) or elem_types is None or len(elem_types) != len(out):
        raise TracingError(f"a scripted recurrent layer returned {type(out).__name__}, "
                           f"declared {value.type}")
    node = frame.graph.create("prim::TupleUnpack", [value], list(elem_types))
    frame.graph.insert(node)
    for x, v in zip(out, node.outputs):
        _bind_declared(frame, x, v)


def _holds_tensor(a, depth: int = 0) -> bool:
    """Whether ``a`` is, or holds in a tuple/list/dict (or an object's attributes), a Tensor."""
    if isinstance(a, Tensor):
        return True
    if depth > 8:
        return False
    if isinstance(a, (tuple, list)):
        return any(_holds_tensor(x, depth + 1) for x in a)
    if isinstance(a, dict):
        return any(_holds_tensor(x, depth + 1) for x in a.values())
    fields = getattr(a, "__dict__", None)
    if isinstance(fields, dict) and not callable(a):
        return any(_holds_tensor(x, depth + 1) for x in fields.values())
    return False


def _is_traced_arg(a) -> bool:
    if isinstance(a, Tensor):
        return True
    if isinstance(a, (tuple, list)):
        return len(a) > 0 and all(_is_traced_arg(x) for x in a)
    if isinstance(a, dict):
        return len(a) > 0 and all(_is_traced_arg(x) for x in a.values())
    return False


def _param_names(fn, n: int) -> list[str]:
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    except (TypeError, ValueError):
        params = []
    names = []
    for i in range(n):
        names.append(params[i] if i < len(params) and not params[i].startswith("*")
                     else f"input_{i}")
    return names


def _positional(fn, args, kwargs) -> tuple:
    if not kwargs:
        return tuple(args)
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    return tuple(bound.args) + tuple(bound.kwargs.values())
