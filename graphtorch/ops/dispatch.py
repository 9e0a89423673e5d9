"""The one dispatch point every public function and Tensor method goes through.

``dispatch(op, args, kwargs)``: bind to the schema; (1) when a tracer is active, record a node;
(2) run the kernel (or a composite's decomposition); (3) attach an autograd node when a gradient is
needed.
"""

from __future__ import annotations

import contextvars
import functools
import numbers
import threading
from contextlib import AbstractContextManager
from typing import Protocol

import numpy as np

from graphtorch import dtypes
from graphtorch.autograd import grad_mode
from graphtorch.autograd.node import OpNode, node_class
from graphtorch.device import CPU, array_module, as_device
from graphtorch.errors import ArgumentError, DeviceError, ShapeError
from graphtorch.ops.complex_support import (
    COMPLEX_OPS,
    COMPLEX_RESULT_OPS,
    refuse_complex,
    refuse_complex_grad,
)
from graphtorch.ops.errstate import IGNORE_STATE as _IGNORE_STATE
from graphtorch.ops.registry import OpDef, OpKind, Promotion
from graphtorch.ops.schema import _NO_DEFAULT

# --- the tracer hooks ---------------------------------------------------------------------------
# NOTE: the eager core sees a tracer only through this interface (graphtorch.ir.capture.Tracer
# implements it): dispatch records each op call, and Tensor asks the active tracer about sizes,
# in-place writes and Python values read from tensors (tensor.py calls active_tracer()).


class TracerWarning(UserWarning):
    """A traced value left the graph: the trace might not generalize to other inputs."""


class TracerHooks(Protocol):
    """What the eager core calls on the active tracer."""

    def recording(self) -> bool:
        """Op calls are recorded now (inside a traced call, outside an opaque section)."""

    def record(self, op: OpDef, vals: list, out) -> None:
        """Op ``op`` ran on the bound arguments ``vals`` and returned ``out``."""

    def record_scalar(self, kind: str, args: list, result: int) -> int:
        """A Python int ``result`` computed by node ``kind`` from ``args`` (tensors or traced
        ints): an int that stays a graph value while recording."""

    def opaque(self) -> AbstractContextManager:
        """A context in which op calls are not recorded (a composite's decomposition)."""

    def size_of(self, t, dim: int) -> int:
        """Size ``dim`` of tensor ``t`` (an int that stays a graph value while recording)."""

    def rebind(self, tensor, result) -> None:
        """An in-place op: ``tensor`` now holds the value ``result`` was recorded as."""

    def warn_python_value(self, kind: str, what: str) -> None:
        """A tensor value is read into Python (``item``, ``bool`` ...): a TracerWarning."""


class _TraceState(threading.local):
    def __init__(self):
        self.tracer: TracerHooks | None = None


TRACE = _TraceState()


def set_tracer(tracer: TracerHooks | None) -> TracerHooks | None:
    """Install ``tracer`` on this thread (None: stop tracing); returns the previous one."""
    prev = TRACE.tracer
    TRACE.tracer = tracer
    return prev


# active_tracer() -> TracerHooks | None: the tracer recording on this thread, or None (the common
# case: eager code). NOTE: a partial of getattr, not a def: Tensor.shape and .size() call it on
# every read, and the C-level call costs a third of a Python function call's overhead.
active_tracer = functools.partial(getattr, TRACE, "tracer")


class _ProfileState:
    """``hook(op, args, kwargs)`` runs instead of dispatch while graphtorch.autograd.profiler
    profiles; it calls dispatch again with ``bypass`` set to run the op itself."""

    hook = None
    bypass = False


PROFILE = _ProfileState()

_Tensor = None  # graphtorch.tensor.Tensor, installed by graphtorch.tensor (install_tensor_class)
_wrap = None  # Tensor._wrap, likewise


def install_tensor_class(cls: type) -> None:
    """Make ``cls`` the tensor type dispatch checks for and wraps results in (tensor.py calls
    it once: the Tensor class sits above this module)."""
    global _Tensor, _wrap
    _Tensor = cls
    _wrap = cls._wrap


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
    if isinstance(v, np.generic):
        return v.item()  # NOTE: before the float check: np.float64 subclasses float
    if isinstance(v, (bool, int, float)) or v is None:
        return v
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
    if ct.category >= dtypes.Category.FLOAT:
        if ct.category == dtypes.Category.COMPLEX and op.name not in COMPLEX_OPS:
            refuse_complex(op.name, ct)
    elif op.promotion is Promotion.INT_TO_FLOAT:
        ct = dtypes.get_default_dtype()
    return ct


def dispatch(op: OpDef, args: tuple, kwargs: dict | None):
    if PROFILE.hook is not None:
        if not PROFILE.bypass:
            return PROFILE.hook(op, args, kwargs)
        PROFILE.bypass = False
    try:
        plan = _PLANS[op]
    except KeyError:
        plan = _PLANS[op] = _Plan(op)
    if plan.fast and not kwargs and TRACE.tracer is None:
        out = _dispatch_fast(op, plan, args)
        if out is not _SLOW:
            return out
    vals = op.binder.bind(args, kwargs)
    T = _Tensor
    tensors = _tensor_inputs(op, vals)
    if plan.no_complex:
        _check_no_complex(op, plan, vals, tensors)
    elif plan.makes_complex and grad_mode.STATE.enabled and any(t._rg for t in tensors):
        refuse_complex_grad(op.name)
    if op.tensor_args and not tensors and op.promotion is not Promotion.NONE:
        # e.g. graphtorch.add(2, 3): the first scalar becomes a tensor, as in PyTorch
        i = op.tensor_args[0]
        vals[i] = T._wrap(np.asarray(vals[i], dtype=dtypes.scalar_dtype(vals[i]).np), CPU)
        tensors = [vals[i]]
    tracer = TRACE.tracer
    if op.decomposition is not None and (op.kernel is None or _needs_grad(op, tensors)
                                          and op.vjp is None):
        if tracer is None:
            out = op.decomposition(*vals)
        else:
            with tracer.opaque():
                out = op.decomposition(*vals)
            tracer.record(op, vals, out)
        if op.names_decomposition and grad_mode.STATE.enabled:
            _name_composite_output(op, vals, out, tensors)
        return out
    out = _run_kernel(op, vals, tensors)
    if op.rg_arg is not None and vals[op.rg_arg]:
        out.requires_grad_(True)
    if op.vjp is not None and grad_mode.STATE.enabled and _needs_grad(op, tensors):
        _attach_grad(op, vals, out, tensors[0]._device)
    if tracer is not None:
        tracer.record(op, vals, out)
    return out


def _check_no_complex(op: OpDef, plan: _Plan, vals: list, tensors: list) -> None:
    """Refuse complex tensors (or a complex ``dtype=``) in an op not known to handle them."""
    for t in tensors:
        if t._data.dtype.kind == "c":
            refuse_complex(op.name, dtypes.from_numpy(t._data.dtype))
    if plan.dtype_arg is not None:
        d = vals[plan.dtype_arg]
        if d is not None and dtypes.as_dtype(d).is_complex:
            refuse_complex(op.name, dtypes.as_dtype(d))


def _name_composite_output(op: OpDef, vals: list, out, inputs: list) -> None:
    """Give the decomposition's last node the composite's grad_fn name (NllLossBackward0)."""
    name = op.backward_name if type(op.backward_name) is str else op.backward_name(vals)
    if name is None:
        return
    cls = node_class(name)
    for o in out if isinstance(out, (tuple, list)) else (out,):
        fn = getattr(o, "grad_fn", None)
        if isinstance(fn, OpNode) and all(o is not t for t in inputs):
            fn.__class__ = cls


# --- the fast path ----------------------------------------------------------------------------
# NOTE: most eager calls are positional, on CPU tensors and Python numbers, with no tracer. For
# those, _dispatch_fast skips binding, the promotion walk (its result is cached per op and input
# dtypes) and the generic argument loops; anything unusual returns _SLOW before touching state,
# and dispatch() then takes the general path above. Both paths must give identical results.

_SLOW = object()
# NOTE: kernels run with numpy's floating-point warnings off: PyTorch returns inf/nan silently
_ERR_VAR, _ERR_IGNORE = _IGNORE_STATE if _IGNORE_STATE is not None else (
    contextvars.ContextVar("graphtorch_unused_errstate"), None)
# how an argument position is read: passed through, a tensor, a promoted tensor-or-number, or a
# promoted number-only slot (``Scalar alpha``)
_ROLE_OTHER, _ROLE_TENSOR, _ROLE_PROMOTED, _ROLE_SCALAR = 0, 1, 2, 3


class _Plan:
    """Per-op facts dispatch needs on every call, computed once."""

    __slots__ = ("fast", "roles", "tails", "min_args", "max_args", "unary", "binary", "promotes",
                 "is_view", "grad_ok", "casts", "node_cls", "one_edge", "two_edges",
                 "no_complex", "check_complex", "dtype_arg", "makes_complex")

    def __init__(self, op: OpDef):
        b = op.binder
        self.promotes = op.promotion is not Promotion.NONE
        # complex inputs: refused unless the op is known to handle them (ops/complex_support.py);
        # a promoting op finds a complex compute dtype in compute_dtype (cached per dtype key),
        # the fast path checks the others' inputs (check_complex)
        self.no_complex = op.name not in COMPLEX_OPS
        self.check_complex = self.no_complex and not self.promotes
        names = [a.name for a in op.schema.args]
        self.dtype_arg = names.index("dtype") if "dtype" in names else None
        roles = []
        for i in range(len(op.schema.args)):
            if self.promotes and i in op.promote_args:
                roles.append(_ROLE_PROMOTED if i in op.tensor_args else _ROLE_SCALAR)
            elif i in op.tensor_args:
                roles.append(_ROLE_TENSOR)
            else:
                roles.append(_ROLE_OTHER)
        self.roles = tuple(roles)
        required = [i for i in range(b.n_positional) if b.defaults[i] is _NO_DEFAULT]
        self.min_args = required[-1] + 1 if required else 0
        self.tails = tuple(b.defaults[n:] for n in range(b.n_positional + 1))
        self.max_args = b.n_positional
        self.unary = self.min_args <= 1 <= self.max_args and roles[:1] in (
            [_ROLE_TENSOR], [_ROLE_PROMOTED])
        # binary: ``x op y`` with x a tensor and y a tensor or (if promoted) a Python number
        self.binary = self.min_args <= 2 <= self.max_args and roles[:2] in (
            [_ROLE_TENSOR, _ROLE_TENSOR], [_ROLE_PROMOTED, _ROLE_PROMOTED])
        # NOTE: a composite with a kernel and a vjp (linear, layer_norm, cross_entropy) always runs
        # its kernel in eager mode: the fast path serves it too
        self.fast = ((op.decomposition is None or op.vjp is not None) and op.kernel is not None
                     and not op.list_args
                     and op.device_arg is None and op.rg_arg is None
                     and all(d is not _NO_DEFAULT for d in b.defaults[b.n_positional:]))
        # NOTE: complex(real, imag) and the like take the general path, which refuses inputs that
        # require grad (the result is complex: autograd does not reach it)
        self.makes_complex = op.name in COMPLEX_RESULT_OPS
        self.fast = self.fast and not self.makes_complex
        self.is_view = op.kind is OpKind.VIEW
        self.grad_ok = op.vjp is not None and op.differentiable
        # the grad_fn class (None: the name depends on the arguments)
        self.node_cls = node_class(op.backward_name) if type(op.backward_name) is str else None
        # NOTE: the common unary case (relu, view, sum ...): the one gradient edge is argument 0
        # NOTE: a list argument expands to one edge per tensor: the general case
        self.one_edge = op.edge_args == (0,) and not op.list_args
        self.two_edges = op.edge_args == (0, 1) and not op.list_args
        # (n args, dtype/scalar-type key) -> ((position, np dtype), ...); one-tensor calls use
        # the input's np dtype as key and keep the np dtype to cast to (or None)
        self.casts: dict = {}


_PLANS: dict[OpDef, _Plan] = {}


def _clear_promotion_caches() -> None:
    for plan in _PLANS.values():
        plan.casts.clear()


dtypes.on_default_dtype_change(_clear_promotion_caches)


def _dispatch_fast(op: OpDef, plan: _Plan, args: tuple):
    T = _Tensor
    n = len(args)
    if n == 1 and plan.unary:
        x = args[0]
        if not isinstance(x, T) or x._device is not CPU:
            return _SLOW
        a = x._data
        if plan.check_complex and a.dtype.kind == "c":
            return _SLOW
        if plan.promotes:
            key = a.dtype
            ct = plan.casts.get(key, _SLOW)
            if ct is _SLOW:
                casts = _casts_for(op, [x, *plan.tails[1]])
                ct = plan.casts[key] = casts[0][1] if casts else None
            if ct is not None:
                a = a.astype(ct)
        return _run_fast(op, plan, args, [a, *plan.tails[1]], x, x._rg)
    if n == 2 and plan.binary:
        x, y = args
        if isinstance(x, T) and x._device is CPU:
            a = x._data
            if isinstance(y, T):
                if y._device is not CPU:
                    return _SLOW
                b = y._data
                if plan.check_complex and (a.dtype.kind == "c" or b.dtype.kind == "c"):
                    return _SLOW
                key = (a.dtype, b.dtype, not a.ndim, not b.ndim)
                need_grad = x._rg or y._rg
            elif plan.promotes and ((t := type(y)) is float or t is int or t is bool):
                b = y
                key = (a.dtype, not a.ndim, t)
                need_grad = x._rg
            else:
                return _SLOW
            if plan.promotes:
                casts = plan.casts.get(key)
                if casts is None:
                    casts = plan.casts[key] = _casts_for(op, [*args, *plan.tails[2]])
                for i, np_dtype in casts:
                    if i == 0:
                        a = a.astype(np_dtype)
                    else:
                        b = b.astype(np_dtype)
            return _run_fast(op, plan, args, [a, b, *plan.tails[2]], x, need_grad)
    if n < plan.min_args or n > plan.max_args:
        return _SLOW
    arrays = list(args)
    key = [n]
    first = None
    need_grad = False
    i = 0
    for v, role in zip(args, plan.roles):
        if isinstance(v, T):
            if role == _ROLE_OTHER or role == _ROLE_SCALAR or v._device is not CPU:
                return _SLOW
            a = arrays[i] = v._data
            if plan.check_complex and a.dtype.kind == "c":
                return _SLOW
            if first is None:
                first = v
            if v._rg:
                need_grad = True
            if role == _ROLE_PROMOTED:
                key.append(a.dtype)
                key.append(not a.ndim)
        elif role >= _ROLE_PROMOTED:
            t = type(v)
            if t is not float and t is not int and t is not bool and v is not None:
                return _SLOW
            key.append(t)
        elif role == _ROLE_TENSOR and v is not None:
            return _SLOW  # a number where the op takes a tensor and does not promote
        i += 1
    if first is None:
        return _SLOW
    tail = plan.tails[n]
    if plan.promotes:
        key = tuple(key)
        casts = plan.casts.get(key)
        if casts is None:
            casts = plan.casts[key] = _casts_for(op, [*args, *tail])
        for i, np_dtype in casts:
            arrays[i] = arrays[i].astype(np_dtype)
    if tail:
        arrays.extend(tail)
    return _run_fast(op, plan, args, arrays, first, need_grad)


def _run_fast(op: OpDef, plan: _Plan, args: tuple, arrays: list, first, need_grad: bool):
    token = _ERR_VAR.set(_ERR_IGNORE)
    try:
        res = op.kernel(np, *arrays)
    except ValueError:
        _check_broadcast(op, args)
        raise
    finally:
        _ERR_VAR.reset(token)
    if type(res) is np.ndarray:
        out = _wrap(res, CPU)
        if plan.is_view and (res.base if res.base is not None else res) is (
                first._data.base if first._data.base is not None else first._data):
            _mark_view(out, first, op, args[1:] + plan.tails[len(args)], None)
    elif isinstance(res, np.generic):  # full reductions return numpy scalars
        out = _wrap(np.asarray(res), CPU)
    else:
        out = _wrap_result(op, res, np, CPU, first, [*args, *plan.tails[len(args)]])
    if need_grad and plan.grad_ok and grad_mode.STATE.enabled:
        _attach_grad(op, [*args, *plan.tails[len(args)]], out, CPU, plan, True)
    return out


def _casts_for(op: OpDef, vals: list) -> tuple:
    """Which promoted tensor inputs need a cast to the compute dtype (cached per dtype key)."""
    ct = compute_dtype(op, vals).np
    return tuple((i, ct) for i in op.promote_args
                 if isinstance(v := vals[i], _Tensor) and v._data.dtype != ct)


# --- the general path -------------------------------------------------------------------------
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
        if t._device is not dev and t._device != dev:
            raise DeviceError("Expected all tensors to be on the same device, but found at least "
                              f"two devices, {dev} and {t._device}!")
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
    token = _ERR_VAR.set(_ERR_IGNORE)
    try:
        res = op.kernel(xp, *arrays)
    except ValueError:
        _check_broadcast(op, tensors)
        raise
    finally:
        _ERR_VAR.reset(token)
    return _wrap_result(op, res, xp, dev, tensors[0] if tensors else None, vals)


def _check_broadcast(op: OpDef, args) -> None:
    """Turn numpy's broadcast failure in an elementwise kernel into PyTorch's ShapeError."""
    if op.kind is not OpKind.ELEMENTWISE:
        return
    shapes = [v._data.shape for v in args if isinstance(v, _Tensor)]
    n = max((len(s) for s in shapes), default=0)
    aligned = [(1,) * (n - len(s)) + tuple(s) for s in shapes]
    for dim in range(n):
        sizes = [s[dim] for s in aligned]
        for j, size in enumerate(sizes):
            for k in range(j):
                if size != sizes[k] and size != 1 and sizes[k] != 1:
                    names = "abcdefgh"
                    raise ShapeError(f"The size of tensor {names[k]} ({sizes[k]}) must match the "
                                     f"size of tensor {names[j]} ({size}) at non-singleton "
                                     f"dimension {dim}")


def _wrap_result(op: OpDef, res, xp, dev, first, vals=None):
    T = _Tensor
    if type(res) is tuple:
        return tuple(T._wrap(r if isinstance(r, xp.ndarray) else xp.asarray(r), dev) for r in res)
    if type(res) is list:
        outs = [T._wrap(r if isinstance(r, xp.ndarray) else xp.asarray(r), dev) for r in res]
        if op.kind is OpKind.VIEW and first is not None:  # split/unbind: every piece is a view
            for k, o in enumerate(outs):
                if _shares(o._data, first._data):
                    _mark_view(o, first, op, vals, k)
        return outs
    if not isinstance(res, xp.ndarray):
        res = xp.asarray(res)
    out = T._wrap(res, dev)
    if op.kind is OpKind.VIEW and first is not None and _shares(res, first._data):
        _mark_view(out, first, op, vals, None)
    return out


def _mark_view(out, first, op: OpDef, rest, k) -> None:
    """``out`` aliases ``first``: share its version counter and remember how it was made.

    ``out._view_fn`` is (chain, version): the view ops from the base (name, arguments after
    ``self``, output index) and the version counter's value when ``out``'s history was last
    derived from the base's. In-place writes through views (CopySlices) replay the chain.
    """
    out._vc = first._vc
    base = first._base
    if type(rest) is list:  # the general path passes the bound argument list
        rest = tuple(rest[1:])
    step = ((op.name, rest, k),)
    if base is None:
        out._base = first
        out._view_fn = (step, first._vc[0])
    else:
        out._base = base
        fn = first._view_fn
        # NOTE: a view of a detached alias has no replayable chain (no write-through then)
        out._view_fn = None if fn is None else (fn[0] + step, first._vc[0])


def _shares(a, b) -> bool:
    ra = a if a.base is None else a.base
    rb = b if b.base is None else b.base
    return ra is rb


def _attach_grad(op: OpDef, vals: list, out, device, plan=None, owned: bool = False) -> None:
    """Record ``op``'s backward node; ``owned``: ``vals`` is a fresh list nobody reads after."""
    T = _Tensor
    if plan is None:
        plan = _PLANS[op]
    # mask: bit i set when argument i requires grad (what the node's saves rule is evaluated on)
    if plan.one_edge:  # unary ops, the common case, spelled out
        v = vals[0]
        edges, mask = ((v._edge(),), 1) if isinstance(v, T) and v._rg else ((None,), 0)
    elif plan.two_edges:  # binary ops, likewise
        x, y = vals[0], vals[1]
        ex = x._edge() if isinstance(x, T) and x._rg else None
        ey = y._edge() if isinstance(y, T) and y._rg else None
        edges, mask = (ex, ey), (ex is not None) | (ey is not None) << 1
    else:
        edges, mask = _edges(op, vals)
    cls = plan.node_cls or node_class(op.backward_name(vals))
    if type(out) is T:
        if out._data.dtype.kind == "c":
            refuse_complex_grad(op.name)
        node = cls(op, vals, (out,), edges, device, mask, owned)
        if out._data.dtype.kind == "f":
            out._rg = True
            out.grad_fn = node
        return
    if any(o._data.dtype.kind == "c" for o in out):
        refuse_complex_grad(op.name)
    node = cls(op, vals, tuple(out), edges, device, mask, owned)
    for nr, o in enumerate(out):
        if o._data.dtype.kind == "f":
            o._rg = True
            o.grad_fn = node
            o._output_nr = nr


def _edges(op: OpDef, vals: list) -> tuple:
    """(edges, mask) of the general case: every edge argument, lists of tensors expanded."""
    T = _Tensor
    edges = []
    mask = 0
    if op.list_args:
        for i in op.edge_args:
            v = vals[i]
            if i in op.list_args:
                for t in v or ():
                    if isinstance(t, T) and t._rg:
                        edges.append(t._edge())
                        mask |= 1 << i
                    else:
                        edges.append(None)
            elif isinstance(v, T) and v._rg:
                edges.append(v._edge())
                mask |= 1 << i
            else:
                edges.append(None)
    else:
        for i in op.edge_args:
            v = vals[i]
            if v.__class__ is T or isinstance(v, T):
                if v._rg:
                    edges.append(v._edge())
                    mask |= 1 << i
                    continue
            edges.append(None)
    return tuple(edges), mask
