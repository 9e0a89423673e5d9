"""The one dispatch point every public function and Tensor method goes through.

``dispatch(op, args, kwargs)``: bind to the schema; (1) when a tracer is active, record a node;
(2) run the kernel (or a composite's decomposition); (3) attach an autograd node when a gradient is
needed.
"""

from __future__ import annotations

import numbers
import threading

import numpy as np

from graphtorch import dtypes
from graphtorch.autograd import grad_mode
from graphtorch.device import CPU, array_module, as_device
from graphtorch.errors import ArgumentError, DeviceError
from graphtorch.ops.registry import OpDef, Promotion


class _TraceState(threading.local):
    def __init__(self):
        self.tracer = None


TRACE = _TraceState()


def set_tracer(tracer):
    """Install ``tracer`` (an object with ``record(op, args, outputs)``); returns the previous."""
    prev = TRACE.tracer
    TRACE.tracer = tracer
    return prev


_Tensor = None  # graphtorch.tensor.Tensor, set by graphtorch.tensor at import


def _tensor_inputs(op: OpDef, vals: list) -> list:
    T = _Tensor
    out = [v for i in op.tensor_args if isinstance(v := vals[i], T)]
    for i in op.list_args:
        lst = vals[i]
        if lst is None:
            continue
        if not isinstance(lst, (list, tuple)):
            raise ArgumentError(f"{op.name}(): argument '{op.schema.args[i].name}' must be a "
                                f"sequence of Tensors, not {type(lst).__name__}")
        for t in lst:
            if isinstance(t, T):
                out.append(t)
            elif t is not None:
                raise ArgumentError(f"{op.name}(): expected Tensor as element of argument "
                                    f"'{op.schema.args[i].name}', but got {type(t).__name__}")
    return out


def _check_scalar(op: OpDef, i: int, v):
    if isinstance(v, (bool, int, float)) or v is None:
        return v
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, numbers.Number):
        return v
    a = op.schema.args[i]
    raise ArgumentError(f"{op.name}(): argument '{a.name}' (position {i + 1}) must be "
                        f"{a.type}, not {type(v).__name__}\n  schema: {op.schema}")


def compute_dtype(op: OpDef, vals: list) -> dtypes.dtype:
    """The dtype an elementwise op computes in, by PyTorch's promotion rules."""
    dims, zeros, scalars = [], [], []
    T = _Tensor
    for i in op.promote_args:
        v = vals[i]
        if isinstance(v, np.generic):
            scalars.append(v.item())  # numpy scalars promote like Python numbers, as in PyTorch
        elif isinstance(v, T) or hasattr(v, "shape"):
            (dims if len(v.shape) else zeros).append(v.dtype)
        elif v is not None:
            scalars.append(v)
    ct = dtypes.result_type(dims, zeros, scalars)
    if op.promotion is Promotion.INT_TO_FLOAT and not ct.is_floating_point:
        ct = dtypes.get_default_dtype()
    return ct


def dispatch(op: OpDef, args: tuple, kwargs: dict | None):
    vals = op.binder.bind(args, kwargs)
    T = _Tensor
    tensors = _tensor_inputs(op, vals)
    if op.tensor_args and not tensors and op.promotion is not Promotion.NONE:
        # e.g. graphtorch.add(2, 3): the first scalar becomes a tensor, as in PyTorch
        i = op.tensor_args[0]
        vals[i] = T._wrap(np.asarray(vals[i], dtype=dtypes.scalar_dtype(vals[i]).np), CPU)
        tensors = [vals[i]]
    tracer = TRACE.tracer
    if op.decomposition is not None and (op.kernel is None or _needs_grad(op, tensors)
                                          and op.vjp is None):
        if tracer is None:
            return op.decomposition(*vals)
        with tracer.opaque():
            out = op.decomposition(*vals)
        tracer.record(op, vals, out)
        return out
    out = _run_kernel(op, vals, tensors)
    if op.rg_arg is not None and vals[op.rg_arg]:
        out.requires_grad_(True)
    if op.vjp is not None and grad_mode.STATE.enabled and _needs_grad(op, tensors):
        _attach_grad(op, vals, out, tensors)
    if tracer is not None:
        tracer.record(op, vals, out)
    return out


def _needs_grad(op: OpDef, tensors: list) -> bool:
    if not grad_mode.STATE.enabled or not op.differentiable:
        return False
    for t in tensors:
        if t._rg:
            return True
    return False


def _run_kernel(op: OpDef, vals: list, tensors: list):
    T = _Tensor
    dev = tensors[0]._device if tensors else CPU
    for t in tensors:
        if t._device != dev:
            raise DeviceError(f"{op.name}(): Expected all tensors to be on the same device, but "
                              f"found at least two devices, {dev} and {t._device}!")
    if op.device_arg is not None and vals[op.device_arg] is not None:
        dev = as_device(vals[op.device_arg])
        dev = CPU if dev.type == "cpu" else dev
    xp = array_module(dev) if dev is not CPU else np
    arrays = list(vals)
    promo = op.promotion
    if promo is not Promotion.NONE:
        ct = compute_dtype(op, vals)
        for i in op.promote_args:
            v = vals[i]
            if isinstance(v, T):
                a = v._data
                arrays[i] = a if a.dtype == ct.np else a.astype(ct.np)
            elif v is not None:
                arrays[i] = _check_scalar(op, i, v)
        for i in op.tensor_args:
            if i not in op.promote_args and isinstance(v := vals[i], T):
                arrays[i] = v._data
    else:
        for i in op.tensor_args:
            v = vals[i]
            if isinstance(v, T):
                arrays[i] = v._data
    for i in op.list_args:
        if vals[i] is not None:
            arrays[i] = [t._data if isinstance(t, T) else t for t in vals[i]]
    res = op.kernel(xp, *arrays)
    if type(res) is tuple:
        return tuple(T._wrap(r if isinstance(r, xp.ndarray) else xp.asarray(r), dev) for r in res)
    if type(res) is list:
        return [T._wrap(r if isinstance(r, xp.ndarray) else xp.asarray(r), dev) for r in res]
    if not isinstance(res, xp.ndarray):
        res = xp.asarray(res)
    out = T._wrap(res, dev)
    if op.kind.value == "view" and tensors:
        base = tensors[0]
        if _shares(res, base._data):
            out._vc = base._vc
            out._base = base if base._base is None else base._base
    return out


def _shares(a, b) -> bool:
    ra = a if a.base is None else a.base
    rb = b if b.base is None else b.base
    return ra is rb


def _attach_grad(op: OpDef, vals: list, out, tensors: list) -> None:
    from graphtorch.autograd.node import OpNode

    T = _Tensor
    edges = []
    for i in op.edge_args:
        v = vals[i]
        if i in op.list_args:
            for t in v or ():
                edges.append(t._edge() if isinstance(t, T) and t._rg else None)
        else:
            edges.append(v._edge() if isinstance(v, T) and v._rg else None)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    node = OpNode(op, vals, outs, tuple(edges), tensors[0]._device)
    for nr, o in enumerate(outs):
        if o.dtype.is_floating_point:
            o._rg = True
            o.grad_fn = node
            o._output_nr = nr
