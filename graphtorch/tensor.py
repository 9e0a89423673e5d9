"""``graphtorch.Tensor``: an array of its device's array module plus dtype, device and autograd."""

from __future__ import annotations

import weakref

import numpy as np

from graphtorch import dtypes
from graphtorch.autograd import grad_mode
from graphtorch.autograd.node import AccumulateGrad
from graphtorch.device import CPU, array_module, as_device, device_of_array
from graphtorch.errors import ArgumentError, AutogradError, DTypeError
from graphtorch.ops import dispatch as _dispatch_mod
from graphtorch.ops.creation import _infer_dtype, _to_array
from graphtorch.ops.dispatch import active_tracer as _active_tracer
from graphtorch.ops.meta import normalize_dim
from graphtorch.ops.registry import REGISTRY
from graphtorch.ops.views import replay_view
from graphtorch.tensor_repr import tensor_repr

_BY_NP = dtypes._BY_NP


class Size(tuple):
    """``tensor.shape``: a tuple of ints that prints like PyTorch's ``torch.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"graphtorch.Size([{', '.join(str(d) for d in self)}])"

    def numel(self) -> int:
        n = 1
        for d in self:
            n *= d
        return n


class Tensor:
    __slots__ = ("_data", "_device", "_rg", "grad", "grad_fn", "_output_nr", "_vc", "_base",
                 "_accum", "_retains", "_name", "_leaf_hooks", "_view_fn",
                 "_unsaved", "__weakref__")
    __array_priority__ = 1000  # numpy defers to our reflected operators

    # -- construction ------------------------------------------------------------------------
    @staticmethod
    def _wrap(arr, device=CPU, requires_grad: bool = False, grad_fn=None, output_nr: int = 0):
        t = object.__new__(Tensor)
        t._data = arr
        t._device = device
        t._rg = requires_grad
        t.grad = None
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._vc = [0]
        t._base = None
        t._accum = None
        t._retains = False
        t._name = None
        t._leaf_hooks = None
        t._view_fn = None
        t._unsaved = None
        return t

    def __init__(self, *args, dtype=None, device=None, requires_grad: bool = False):
        """PyTorch's legacy constructor: ``Tensor(2, 3)`` is uninitialized of that shape,
        ``Tensor([1, 2])`` copies data, ``Tensor()`` is empty; the default float dtype."""
        dt = dtype or dtypes.get_default_dtype()
        dev = as_device(device)
        if not args:
            arr = _to_array([], dt, dev)
        elif len(args) == 1 and isinstance(args[0], Size) or all(
                type(a) is int or isinstance(a, np.integer) for a in args) and not (
                len(args) == 1 and isinstance(args[0], bool)):
            shape = tuple(int(a) for a in (args[0] if isinstance(args[0], Size) else args))
            if any(d < 0 for d in shape):
                raise RuntimeError(f"Trying to create tensor with negative dimension "
                                   f"{min(shape)}: {list(shape)}")
            arr = array_module(dev).empty(shape, dt.np)
        elif len(args) == 1:
            if dtype is None and isinstance(args[0], (list, tuple)) and \
                    _infer_dtype(args[0]).is_complex:
                raise TypeError("must be real number, not complex (the legacy Tensor() "
                                "constructor makes float tensors; use graphtorch.tensor)")
            arr = _to_array(args[0], dt, dev)
        else:
            raise TypeError(f"Tensor(): expected sizes (ints) or one sequence of data, got "
                            f"({', '.join(type(a).__name__ for a in args)})")
        self._data = arr
        self._device = dev
        self._rg = bool(requires_grad)
        self.grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._vc = [0]
        self._base = None
        self._accum = None
        self._retains = False
        self._name = None
        self._leaf_hooks = None
        self._view_fn = None
        self._unsaved = None

    # -- basic properties --------------------------------------------------------------------
    @property
    def dtype(self) -> dtypes.dtype:
        return _BY_NP[self._data.dtype]

    @property
    def shape(self) -> Size:
        tracer = _active_tracer()
        if tracer is not None:  # NOTE: sizes read while tracing stay graph values
            return Size(tracer.size_of(self, d) for d in range(self._data.ndim))
        return Size(self._data.shape)

    @property
    def device(self):
        return self._device

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def _xp(self):
        return np if self._device is CPU else array_module(self._device)

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    # NOTE: graphtorch tensors are dense, strided and unquantized: PyTorch's other layouts' flags
    is_sparse = is_sparse_csr = is_mkldnn = is_quantized = is_meta = False

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def data(self) -> Tensor:
        return self.detach()

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data
        self._device = value._device
        self._unsaved = None  # the metadata stand-in backward nodes share (autograd/saved.py)

    @property
    def _version(self) -> int:
        return self._vc[0]

    @property
    def is_floating_point_(self) -> bool:
        return self.dtype.is_floating_point

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    def is_conj(self) -> bool:
        return False  # NOTE: conj() makes a copy: no tensor carries PyTorch's lazy conjugate bit

    def resolve_conj(self) -> Tensor:
        return self

    @property
    def real(self) -> Tensor:
        return REGISTRY["real"](self)

    @property
    def imag(self) -> Tensor:
        return REGISTRY["imag"](self)

    def size(self, dim: int | None = None):
        if dim is None:
            return self.shape

        d = normalize_dim(dim, self._data.ndim)
        tracer = _active_tracer()
        if tracer is not None:
            return tracer.size_of(self, d)
        return self._data.shape[d]

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def stride(self, dim: int | None = None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[dim]

    def storage_offset(self) -> int:
        return 0

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    def data_ptr(self) -> int:
        if self._device is CPU:
            return self._data.__array_interface__["data"][0]
        return self._data.data.ptr

    def get_device(self) -> int:
        return -1 if self._device.type == "cpu" else (self._device.index or 0)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __hash__(self) -> int:
        return id(self)

    # -- leaving the graph -------------------------------------------------------------------
    def _host(self) -> np.ndarray:
        return self._data if self._device is CPU else self._data.get()

    def item(self):
        _warn_trace("item", "Converting a tensor to a Python number")
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        return self._host().reshape(()).item()

    def tolist(self):
        _warn_trace("tolist", "Converting a tensor to a Python list")
        return self._host().tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._rg and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        if self._device is not CPU and self._device.type != "cpu":
            if not force:
                raise TypeError(f"can't convert {self._device} device type tensor to numpy. "
                                "Use Tensor.cpu() to copy the tensor to host memory first.")
            return self._data.get()
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self._host()
        if dtype is not None:
            arr = arr.astype(dtype)
        return arr

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def __bool__(self) -> bool:
        _warn_trace("bool", "Converting a tensor to a Python boolean")
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._host().reshape(()).item())

    def __int__(self) -> int:
        _warn_trace("int", "Converting a tensor to a Python integer")
        return int(self.item())

    def __float__(self) -> float:
        _warn_trace("float", "Converting a tensor to a Python float")
        return float(self.item())

    def __complex__(self) -> complex:
        _warn_trace("complex", "Converting a tensor to a Python complex")
        return complex(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        _warn_trace("iter", "Iterating over a tensor")
        return iter(self.unbind(0))

    def __reduce__(self):
        raise TypeError("graphtorch tensors are not picklable; use graphtorch.save (safetensors)")

    # -- autograd ----------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if requires_grad and not self.dtype.is_floating_point:
            if self.dtype.is_complex:
                raise DTypeError("autograd for complex tensors is not supported in graphtorch "
                                 "(no Wirtinger derivatives); let real tensors require grad and "
                                 "build the complex one from them under graphtorch.no_grad(), "
                                 "or differentiate the real and imaginary parts separately")
            raise DTypeError("only Tensors of floating point dtype can require gradients")
        self._rg = bool(requires_grad)
        return self

    def _edge(self):
        vf = self._view_fn
        if vf is not None and vf[1] != self._vc[0]:
            _refresh_view_history(self)
        fn = self.grad_fn
        if fn is not None:
            return (fn, self._output_nr)
        # NOTE: the leaf holds its AccumulateGrad strongly and the node holds the leaf weakly: one
        # node per leaf for its whole life (no re-creation per op) and no reference cycle.
        acc = self._accum
        if acc is None:
            acc = self._accum = AccumulateGrad(self)
        return (acc, 0)

    def detach(self) -> Tensor:
        t = Tensor._wrap(self._data, self._device)
        t._vc = self._vc
        t._base = self._base if self._base is not None else self
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._rg = False
        return self

    def retain_grad(self) -> None:
        if self.grad_fn is None:
            return
        node = self.grad_fn
        if node.retain is None:
            node.retain = {}
        node.retain[self._output_nr] = weakref.ref(self)
        self._retains = True

    @property
    def retains_grad(self) -> bool:
        return self._retains

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._leaf_hooks is None:
                self._leaf_hooks = []
            hooks = self._leaf_hooks
        else:
            node = self.grad_fn
            if node.pre_hooks is None:
                node.pre_hooks = {}
            hooks = node.pre_hooks.setdefault(self._output_nr, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` on a leaf after backward has accumulated into its ``.grad``."""
        if not self._rg or self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors or tensors that don't require grad")
        acc = self._edge()[0]
        if acc.post_hooks is None:
            acc.post_hooks = []
        acc.post_hooks.append(hook)
        return _RemovableHandle(acc.post_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False,
                 inputs=None) -> None:
        # NOTE: graphtorch.autograd imports graphtorch.tensor: a module-level import cycles
        from graphtorch.autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # -- methods whose registry op does not take ``self`` first ----------------------------------
    def where(self, condition, other) -> Tensor:
        """``x.where(cond, y)`` is ``graphtorch.where(cond, x, y)``."""
        return _dispatch_mod.dispatch(REGISTRY["where"], (condition, self, other), None)

    # -- printing ----------------------------------------------------------------------------
    def __repr__(self) -> str:
        return tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)

    # -- in-place ----------------------------------------------------------------------------
    def _inplace(self, op_name: str, *args, **kwargs) -> Tensor:
        op = REGISTRY[op_name]
        grad_on = grad_mode.STATE.enabled
        if grad_on and self._rg and self.grad_fn is None:
            raise AutogradError("a leaf Variable that requires grad is being used in an in-place "
                                "operation.")
        result = op(self, *args, **kwargs)
        self._assign_inplace(result, op_name)
        return self

    def _assign_inplace(self, result: Tensor, what: str) -> None:
        """Write ``result`` (computed out of place) into ``self`` and give ``self`` its history."""
        if result.dtype is not self.dtype and not _can_cast(result.dtype, self.dtype):
            names = dtypes.SCALAR_TYPE_NAMES
            raise DTypeError(f"result type {names[result.dtype.name]} can't be cast to the desired "
                             f"output type {names[self.dtype.name]}")
        if result._data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast "
                               f"shape {list(result.shape)}")
        grad_on = grad_mode.STATE.enabled
        tracer = _active_tracer()
        base = self._base
        if base is not None and (grad_on and (result._rg or base._rg) or tracer is not None):
            if self._view_fn is not None:
                _write_through_view(self, result, grad_on, tracer)
                return
            if grad_on and result._rg:
                raise AutogradError(
                    f"in-place {what} on a detached alias of another tensor while recording "
                    "gradients is not supported by graphtorch; use out-of-place operations")
        if result.grad_fn is not None:
            _snapshot_if_saved(self, result.grad_fn)
        self._xp.copyto(self._data, result._data, casting="unsafe")
        self._vc[0] += 1
        if result._rg:
            self._rg = True
            self.grad_fn = result.grad_fn
            self._output_nr = result._output_nr
        elif grad_on and self.grad_fn is not None:
            # NOTE: overwritten by a value that needs no gradient (zero_, fill_, copy_ of a
            # constant): nothing flows back into the old history any more
            self.grad_fn = None
            self._rg = False
        if tracer is not None:
            tracer.rebind(self, result)


def _write_through_view(view: Tensor, result: Tensor, grad_on: bool, tracer) -> None:
    """An in-place op on a view while recording (PyTorch's CopySlices).

    The base's history becomes ``view_scatter(base, result, chain)``; the view's becomes the
    chain replayed on the new base. Only the view's region of memory is written.
    """

    base = view._base
    if grad_on and base._rg and base.grad_fn is None:
        raise AutogradError("a view of a leaf Variable that requires grad is being used in an "
                            "in-place operation.")
    chain = view._view_fn[0]
    src = result if result.dtype is view.dtype else result.to(view.dtype)
    new_base = _dispatch_mod.dispatch(REGISTRY["view_scatter"], (base, src, chain), None)
    if result.grad_fn is not None:
        _snapshot_if_saved(view, result.grad_fn)
    view._xp.copyto(view._data, src._data, casting="unsafe")
    view._vc[0] += 1
    if grad_on:  # NOTE: histories change only while recording (tracing may run under no_grad)
        base._rg = new_base._rg
        base.grad_fn = new_base.grad_fn
        base._output_nr = 0
    if tracer is not None:  # NOTE: before the replay, so that it reads the new base
        tracer.rebind(base, new_base)
    fresh = replay_view(base, chain) if new_base._rg or tracer is not None else None
    if grad_on:
        view._rg = fresh is not None and fresh._rg
        view.grad_fn = fresh.grad_fn if view._rg else None
        view._output_nr = fresh._output_nr if view._rg else 0
    view._view_fn = (chain, view._vc[0])
    if tracer is not None:
        tracer.rebind(view, fresh)


def _refresh_view_history(view: Tensor) -> None:
    """The base (or another view of it) was written in place since ``view``'s history was
    derived: derive it again from the base's current history, as PyTorch does."""
    chain = view._view_fn[0]
    base = view._base
    if base._rg and grad_mode.STATE.enabled:
        fresh = replay_view(base, chain)
        view._rg = fresh._rg
        view.grad_fn = fresh.grad_fn
        view._output_nr = fresh._output_nr
    view._view_fn = (chain, view._vc[0])


def _snapshot_if_saved(t: Tensor, node) -> None:
    """Give ``node`` a copy of ``t``'s value before an in-place op overwrites it.

    NOTE: ``x2.mul_(w)`` computes ``x2 * w`` and writes it back into ``x2``; the new node saved
    ``x2`` for its vjp, which needs the value from before the write (PyTorch's "original self").
    """
    saved = getattr(node, "saved", None)
    if not saved:
        return
    for k, (i, s, _) in enumerate(saved):
        if s is t:
            old = Tensor._wrap(t._data.copy(), t._device, t._rg, t.grad_fn, t._output_nr)
            old._accum = t._accum
            saved[k] = (i, old, 0)
            node.args[i] = old


def _can_cast(src: dtypes.dtype, dst: dtypes.dtype) -> bool:
    return src.category <= dst.category


class _RemovableHandle:
    def __init__(self, container: list, item):
        self._container, self._item = container, item

    def remove(self) -> None:
        if self._item in self._container:
            self._container.remove(self._item)


def _warn_trace(kind: str, what: str) -> None:
    tracer = _active_tracer()
    if tracer is not None:
        tracer.warn_python_value(kind, what)


_dispatch_mod.install_tensor_class(Tensor)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def _check_numpy_input(arr) -> None:
    if not isinstance(arr, np.ndarray):
        raise ArgumentError(f"expected a numpy.ndarray, got {type(arr).__name__}")
    dtypes.from_numpy(arr.dtype)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``arr`` (like ``torch.from_numpy``)."""
    _check_numpy_input(arr)
    return Tensor._wrap(arr, device_of_array(arr))
