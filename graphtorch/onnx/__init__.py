"""``graphtorch.onnx.export``: a traced or scripted model (or a plain module, traced on the
example arguments) as an ONNX file. Needs the ``onnx`` package (``pip install graphtorch[onnx]``;
``onnxruntime`` runs the result). See docs/onnx.md for the supported ops and limits.
"""

from __future__ import annotations

import io
import os

from graphtorch.errors import UnsupportedError
from graphtorch.frontend.script_module import ScriptFunction, ScriptModule
from graphtorch.jit import trace
from graphtorch.nn.module import Module
from graphtorch.onnx.exporter import build_model
from graphtorch.runtime.executor import _resolve, prepared_function, prepared_graph
from graphtorch.tensor import Tensor

__all__ = ["export", "is_available"]


def is_available() -> bool:
    """Whether the ``onnx`` package is installed."""
    try:
        import onnx  # noqa: F401 - NOTE: a probe for the optional dependency
    except ImportError:
        return False
    return True


def export(model, args, f, export_params: bool = True, verbose: bool = False,
           training=None, input_names: list[str] | None = None,
           output_names: list[str] | None = None, opset_version: int | None = None,
           do_constant_folding: bool = True, dynamic_axes: dict | None = None,
           keep_initializers_as_inputs: bool | None = None, dynamo: bool = False,
           **kwargs) -> None:
    """Write ``model`` run on ``args`` (a tensor or tuple of tensors) as ONNX to ``f`` (a path or
    a binary file). ``dynamic_axes`` maps an input/output name to the axes (list, or dict axis
    -> symbolic name) left free; ``opset_version`` defaults to 17 (13 to 21 accepted)."""
    # NOTE: onnx is an optional dependency: imported on use
    try:
        import onnx
    except ImportError:
        raise UnsupportedError("graphtorch.onnx.export needs the onnx package: "
                               "pip install 'graphtorch[onnx]'") from None

    if not export_params:
        raise UnsupportedError("graphtorch.onnx.export(export_params=False) is not supported")
    if dynamo:
        raise UnsupportedError("graphtorch.onnx.export(dynamo=True) is not supported; the "
                               "exporter reads graphtorch's own graphs")
    opset = 17 if opset_version is None else int(opset_version)
    if not 13 <= opset <= 21:
        raise UnsupportedError(f"opset_version {opset} is not supported (13 to 21)")
    inputs = list(args) if isinstance(args, (tuple, list)) else [args]
    if inputs and isinstance(inputs[-1], dict):
        if inputs[-1]:
            raise UnsupportedError("keyword arguments in args are not supported by "
                                   "graphtorch.onnx.export")
        inputs = inputs[:-1]
    if not all(isinstance(t, Tensor) for t in inputs):
        raise UnsupportedError("graphtorch.onnx.export takes tensor arguments only")
    if isinstance(model, Module) and not isinstance(model, ScriptModule):
        model = trace(model, tuple(inputs))
    if isinstance(model, ScriptModule):
        prep = prepared_graph(model, "forward")
        graph = prep.graph
        params = [(".".join(p), _resolve(model, p)) for p in prep.param_paths]
        owner = model
    elif isinstance(model, ScriptFunction):
        graph, params, owner = prepared_function(model).graph, [], None
    else:
        raise UnsupportedError(f"graphtorch.onnx.export takes an nn.Module, ScriptModule or "
                               f"ScriptFunction, not a {type(model).__name__}")
    n_in = len(graph.block.inputs) - len(params) - (1 if owner is not None else 0)
    defaults = _defaults(model, owner)
    extra = []      # arguments args leaves out: their defaults (None, False ...), not inputs
    for name in _arg_names(model, owner)[len(inputs):n_in]:
        if name not in defaults:
            raise UnsupportedError(f"the model takes {n_in} input(s), args has {len(inputs)} "
                                   f"and '{name}' has no default")
        extra.append(defaults[name])
    if n_in != len(inputs) + len(extra):
        raise UnsupportedError(f"the model takes {n_in} input(s), args has {len(inputs)}")
    names = list(input_names or [])
    names += [f"input_{i}" if len(inputs) > 1 else "input" for i in range(len(names),
                                                                            len(inputs))]
    proto = build_model(graph, inputs, params, names, output_names, dynamic_axes or {}, opset,
                        "graphtorch", owner, extra)
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            fh.write(data)
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(data)
    else:
        raise TypeError(f"f must be a path or a binary file, not {type(f).__name__}")
    if verbose:
        print(onnx.helper.printable_graph(proto.graph))


def _arg_names(model, owner) -> list[str]:
    return list(model._method("forward").arg_names if owner is not None else
                [v.name for v in model.graph.block.inputs])


def _defaults(model, owner) -> dict:
    graph = model._method("forward").graph if owner is not None else model.graph
    return dict(graph.defaults)
