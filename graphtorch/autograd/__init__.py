"""Eager autograd: ``backward``, ``grad``, grad modes and custom ``Function``s."""

from __future__ import annotations

from graphtorch.autograd.engine import run_backward
from graphtorch.autograd.function import Function, FunctionCtx
from graphtorch.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from graphtorch.autograd.variable import Variable
from graphtorch.errors import AutogradError

__all__ = ["backward", "grad", "Function", "FunctionCtx", "no_grad", "enable_grad",
           "set_grad_enabled", "inference_mode", "is_grad_enabled", "Variable"]


def _as_list(x) -> list:
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _root_grads(outputs: list, grad_outputs: list, create_graph: bool) -> list:
    from graphtorch.tensor import Tensor  # NOTE: graphtorch.tensor imports graphtorch.autograd

    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if i < len(grad_outputs) else None
        if g is None:
            if out.numel() != 1:
                raise AutogradError("grad can be implicitly created only for scalar outputs")
            g = Tensor._wrap(out._xp.ones(out._data.shape, out._data.dtype), out.device)
        elif not isinstance(g, Tensor):
            from graphtorch.ops.creation import tensor  # NOTE: cycles through graphtorch.tensor

            g = tensor(g, dtype=out.dtype, device=out.device)
        elif tuple(g.shape) != tuple(out.shape):
            raise AutogradError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                f"{list(g.shape)} and output[{i}] has a shape of "
                                f"{list(out.shape)}.")
        grads.append(g)
    return grads


def _check_outputs(outputs: list) -> None:
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise AutogradError(f"element {i} of tensors does not require grad and does not have "
                                "a grad_fn")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves they depend on."""
    outputs = _as_list(tensors)
    _check_outputs(outputs)
    grads = _root_grads(outputs, _as_list(grad_tensors), create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    roots = [out._edge() for out in outputs]
    if inputs is not None:
        result = grad(outputs, _as_list(inputs), grads, retain_graph, create_graph,
                      allow_unused=True)
        for t, g in zip(_as_list(inputs), result):
            if g is not None:
                t.grad = g if t.grad is None else t.grad + g
        return
    run_backward(roots, grads, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool = False, materialize_grads: bool = False) -> tuple:
    """Return the gradients of ``outputs`` with respect to ``inputs`` (nothing accumulated)."""
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    _check_outputs(outs)
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise AutogradError(f"One of the differentiated Tensors (input {i}) does not require "
                                "grad")
    grads = _root_grads(outs, _as_list(grad_outputs), create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    keys = [t._edge() for t in ins]
    capture = {k: None for k in keys}
    run_backward([o._edge() for o in outs], grads, retain_graph, create_graph, capture=capture,
                 accumulate=False)
    result = []
    for i, (t, k) in enumerate(zip(ins, keys)):
        g = capture[k]
        if g is None:
            if materialize_grads:
                g = t.detach() * 0
            elif not allow_unused:
                raise AutogradError(f"One of the differentiated Tensors (input {i}) appears to "
                                    "not have been used in the graph. Set allow_unused=True if "
                                    "this is the desired behavior.")
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)
