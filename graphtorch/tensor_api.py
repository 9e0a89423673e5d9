"""Tensor's Python surface beyond one-op-one-method: operators, ``to``, casts, overloads.

Everything here forwards to registry ops through ``dispatch``.
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch import functions as _functions
from graphtorch.autograd.grad_mode import STATE, no_grad
from graphtorch.device import as_device, device
from graphtorch.errors import AutogradError, ShapeError
from graphtorch.ops import dispatch as _dispatch_mod
from graphtorch.ops.bindings import install_methods
from graphtorch.ops.creation import tensor
from graphtorch.ops.dispatch import dispatch
from graphtorch.ops.indexing import encode_key, write_at
from graphtorch.ops.meta import normalize_dim
from graphtorch.ops.registry import REGISTRY
from graphtorch.tensor import Tensor

R = REGISTRY


def _binop(name: str):
    op = R[name]

    def fwd(self, other):
        return dispatch(op, (self, other), None)

    def rev(self, other):
        return dispatch(op, (other, self), None)

    def inplace(self, other):
        return self._inplace(name, other)

    return fwd, rev, inplace


for _dunder, _name in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "div"),
                       ("floordiv", "floor_divide"), ("mod", "remainder"), ("pow", "pow"),
                       ("matmul", "matmul"), ("and", "bitwise_and"), ("or", "bitwise_or"),
                       ("xor", "bitwise_xor"), ("lshift", "bitwise_left_shift"),
                       ("rshift", "bitwise_right_shift")):
    _f, _r, _i = _binop(_name)
    setattr(Tensor, f"__{_dunder}__", _f)
    setattr(Tensor, f"__r{_dunder}__", _r)
    setattr(Tensor, f"__i{_dunder}__", _i)

for _dunder, _name in (("eq", "eq"), ("ne", "ne"), ("lt", "lt"), ("le", "le"), ("gt", "gt"),
                       ("ge", "ge")):
    setattr(Tensor, f"__{_dunder}__", _binop(_name)[0])

Tensor.__hash__ = lambda self: id(self)
Tensor.__neg__ = lambda self: dispatch(R["neg"], (self,), None)
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = lambda self: dispatch(R["abs"], (self,), None)


def _invert(self):
    if self.dtype is dtypes.bool_:
        return dispatch(R["logical_not"], (self,), None)
    return dispatch(R["bitwise_not"], (self,), None)


Tensor.__invert__ = _invert
Tensor.divide = Tensor.true_divide = lambda self, other, **kw: dispatch(R["div"], (self, other), kw)
Tensor.multiply = lambda self, other: dispatch(R["mul"], (self, other), None)
Tensor.subtract = lambda self, other, **kw: dispatch(R["sub"], (self, other), kw)


# --- casts and moves ------------------------------------------------------------------------------
def _parse_to(args, kwargs):
    dev = kwargs.pop("device", None)
    dt = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dev, dt = a.device, a.dtype
        elif isinstance(a, dtypes.dtype):
            dt = a
        elif isinstance(a, (str, device, int)):
            dev = as_device(a)
        elif isinstance(a, bool):
            copy = a
        elif a is not None:
            dt = dtypes.as_dtype(a)
    return (as_device(dev) if dev is not None else None), dt, copy


def _to(self, *args, **kwargs):
    dev, dt, copy = _parse_to(args, dict(kwargs))
    out = self
    if dt is not None and dt is not self.dtype:
        out = dispatch(R["to_dtype"], (out, dt), None)
        copy = False
    if dev is not None and dev != self.device:
        out = dispatch(R["to_device"], (out, dev), None)
        copy = False
    if copy and out is self:
        out = dispatch(R["clone"], (self,), None)
    return out


Tensor.to = _to
Tensor.cpu = lambda self: self.to("cpu")
Tensor.cuda = lambda self, device=None: self.to(as_device(
    "cuda" if device is None else device if not isinstance(device, int) else f"cuda:{device}"))
Tensor.type_as = lambda self, other: self.to(other.dtype)

for _meth, _dt in (("float", dtypes.float32), ("double", dtypes.float64),
                   ("half", dtypes.float16), ("int", dtypes.int32), ("long", dtypes.int64),
                   ("short", dtypes.int16), ("char", dtypes.int8), ("byte", dtypes.uint8),
                   ("bool", dtypes.bool_), ("cfloat", dtypes.complex64),
                   ("cdouble", dtypes.complex128)):
    setattr(Tensor, _meth, (lambda d: lambda self: self.to(d))(_dt))


def _type(self, dtype=None):
    if dtype is None:
        return f"graphtorch.{_TYPE_NAMES[self.dtype.name]}"
    return self.to(dtypes.as_dtype(dtype))


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
               "complex64": "ComplexFloatTensor", "complex128": "ComplexDoubleTensor"}
Tensor.type = _type


# --- shape sugar ----------------------------------------------------------------------------------
Tensor.T = property(lambda self: self.permute(list(range(self.ndim))[::-1]))
Tensor.mT = property(lambda self: self.transpose(-2, -1))
Tensor.H = property(lambda self: self.T.conj() if self.is_complex() else self.T)
Tensor.mH = property(lambda self: self.mT.conj() if self.is_complex() else self.mT)


def _t(self):
    """PyTorch's t(): transpose(0, 1) for 2-D, a no-op below, an error above."""
    if self.ndim > 2:
        raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
    return self.transpose(0, 1) if self.ndim == 2 else self


Tensor.t = _t
Tensor.swapaxes = Tensor.swapdims = lambda self, a, b: self.transpose(a, b)


def _view(self, *shape):
    if len(shape) == 1 and isinstance(shape[0], dtypes.dtype):
        raise NotImplementedError("view(dtype) is not supported by graphtorch; use .to(dtype)")
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    return dispatch(R["view"], (self, list(shape)), None)


Tensor.view = _view
Tensor.view_as = lambda self, other: self.view(*other.shape)
Tensor.reshape_as = lambda self, other: self.reshape(*other.shape)
Tensor.expand_as = lambda self, other: self.expand(*other.shape)


def _squeeze(self, dim=None):
    return dispatch(R["squeeze"], (self, dim), None)


Tensor.squeeze = _squeeze


def _check_leaf_inplace(self) -> None:
    if self._rg and self.grad_fn is None and _grad_enabled():
        raise AutogradError("a leaf Variable that requires grad is being used in an in-place "
                            "operation.")


def _recorded(self, value=None) -> bool:
    """Whether an overwrite of ``self`` must go through autograd/tracing (else: raw write)."""
    if _dispatch_mod.TRACE.tracer is not None:
        return True
    if not _grad_enabled():
        return False
    if self._rg or (isinstance(value, Tensor) and value._rg):
        return True
    base = self._base
    return base is not None and base._rg


def _zero_(self):
    return _fill_(self, 0)


def _fill_(self, value):
    _check_leaf_inplace(self)
    if _recorded(self, value):
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise RuntimeError("fill_ only supports 0-dimension value tensor but got tensor "
                                   f"with {value.ndim} dimensions.")
            new = value.to(self.dtype).expand(list(self.shape))
            if not new._rg:
                new = new.clone()
        else:
            new = dispatch(R["full"], (list(self.shape), value),
                           {"dtype": self.dtype, "device": self.device})
        self._assign_inplace(new, "fill_")
        return self
    v = value.item() if isinstance(value, Tensor) else value
    self._xp.copyto(self._data, v, casting="unsafe")
    self._vc[0] += 1
    return self


def _grad_enabled() -> bool:
    return STATE.enabled


def _copy_(self, src, non_blocking=False):
    if not isinstance(src, Tensor):
        src = tensor(src, dtype=self.dtype, device=self.device)
    _check_leaf_inplace(self)
    value = src.to(self.device)
    if value.shape != self.shape:
        value = value.expand(*self.shape)
    if value.dtype is not self.dtype:
        value = value.to(self.dtype)
    if _recorded(self, value):
        # NOTE: a node of its own, so a leaf source still receives its gradient
        self._assign_inplace(dispatch(R["clone"], (value,), None), "copy_")
    else:
        self._xp.copyto(self._data, value._data, casting="unsafe")
        self._vc[0] += 1
    return self


Tensor.zero_ = _zero_
Tensor.fill_ = _fill_
Tensor.copy_ = _copy_


def _new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)


Tensor.new_tensor = _new_tensor


def _new_factory(name):
    def method(self, *size, dtype=None, device=None, requires_grad=False, **kw):
        if len(size) == 1 and isinstance(size[0], (list, tuple)):
            size = tuple(size[0])
        args = (list(size),) + tuple(kw.pop(k) for k in ("fill_value",) if k in kw)
        return dispatch(R[name], args, {"dtype": dtype or self.dtype,
                                        "device": device or self.device,
                                        "requires_grad": requires_grad})

    return method


Tensor.new_zeros = _new_factory("zeros")
Tensor.new_ones = _new_factory("ones")
Tensor.new_empty = _new_factory("empty")


def _new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return dispatch(R["full"], (list(size), fill_value),
                    {"dtype": dtype or self.dtype, "device": device or self.device,
                     "requires_grad": requires_grad})


Tensor.new_full = _new_full


# --- indexing -------------------------------------------------------------------------------------
def _getitem(self, key):
    k, indices = encode_key(key)
    return dispatch(R["index"], (self, k, indices), None)


def _setitem(self, key, value):
    """``t[key] = value``: in place, through the functional ``index_put`` op when it must be
    recorded (autograd or tracing), directly into the array otherwise."""
    grad_on = _grad_enabled()
    if grad_on and self._rg and self.grad_fn is None:
        raise AutogradError("a leaf Variable that requires grad is being used in an in-place "
                            "operation.")
    k, indices = encode_key(key)
    if not isinstance(value, (Tensor, bool, int, float)):
        value = tensor(value, dtype=self.dtype, device=self.device)
    if isinstance(value, Tensor):
        value = value.to(self.device)
    recorded = (grad_on and (self._rg or (isinstance(value, Tensor) and value._rg))
                or _dispatch_mod.TRACE.tracer is not None)
    if recorded:
        if isinstance(value, Tensor) and value.dtype is not self.dtype:
            value = value.to(self.dtype)
        self._assign_inplace(dispatch(R["index_put"], (self, k, indices, value), None),
                             "index_put_")
        return
    arr = value._data if isinstance(value, Tensor) else value
    write_at(self._xp, self._data, k, [t._data for t in indices], arr, False)
    self._vc[0] += 1


Tensor.__getitem__ = _getitem


def _select(self, dim: int, index: int):
    """``x.select(dim, i)`` is ``x[:, ..., i]`` with ``i`` at ``dim`` (a view)."""
    d = normalize_dim(dim, self.ndim, "select")
    return _getitem(self, (slice(None),) * d + (index,))


Tensor.select = _select
Tensor.__setitem__ = _setitem


def _index_put_(self, indices, values, accumulate=False):
    key = tuple(("slice", None, None, None) if t is None else ("tensor", i)
                for i, t in enumerate(indices))
    return self._inplace("index_put", key, [t for t in indices if t is not None], values,
                         accumulate)


def _index_put(self, indices, values, accumulate=False):
    key = tuple(("slice", None, None, None) if t is None else ("tensor", i)
                for i, t in enumerate(indices))
    return dispatch(R["index_put"], (self, key, [t for t in indices if t is not None], values,
                                     accumulate), None)


Tensor.index_put_ = _index_put_
Tensor.index_put = _index_put
for _name in ("masked_fill", "scatter", "scatter_add", "index_add"):
    setattr(Tensor, _name + "_", (lambda n: lambda self, *a, **k: self._inplace(n, *a, **k))(_name))
Tensor.where = lambda self, condition, other: dispatch(R["where"], (condition, self, other), None)


# --- overloads shared with graphtorch.<name> ------------------------------------------------------
Tensor.max = lambda self, dim=None, keepdim=False: _functions.max(self, dim, keepdim)
Tensor.min = lambda self, dim=None, keepdim=False: _functions.min(self, dim, keepdim)
Tensor.var = lambda self, dim=None, unbiased=None, keepdim=False, *, correction=None: (
    _functions.var(self, dim, unbiased, keepdim, correction=correction))
Tensor.std = lambda self, dim=None, unbiased=None, keepdim=False, *, correction=None: (
    _functions.std(self, dim, unbiased, keepdim, correction=correction))
Tensor.norm = lambda self, p="fro", dim=None, keepdim=False, dtype=None: (
    _functions.norm(self, p, dim, keepdim, dtype))
Tensor.split = lambda self, split_size, dim=0: _functions.split(self, split_size, dim)
Tensor.chunk = lambda self, chunks, dim=0: _functions.chunk(self, chunks, dim)
Tensor.unbind = lambda self, dim=0: _functions.unbind(self, dim)
Tensor.movedim = Tensor.moveaxis = lambda self, source, destination: (
    _functions.movedim(self, source, destination))
Tensor.nonzero = lambda self, *, as_tuple=False: _functions.nonzero(self, as_tuple=as_tuple)
Tensor.sort = lambda self, dim=-1, descending=False, *, stable=False: (
    _functions.sort(self, dim, descending, stable=stable))
Tensor.topk = lambda self, k, dim=-1, largest=True, sorted=True: (  # noqa: A006
    _functions.topk(self, k, dim, largest, sorted))

install_methods(Tensor)

# --- Python-level composites as methods -----------------------------------------------------------
for _name in ("isclose", "allclose", "equal", "clip", "broadcast_to", "outer", "trace", "lerp",
              "addmm", "addcmul", "addcdiv", "take_along_dim", "argwhere"):
    setattr(Tensor, _name, getattr(_functions, _name))
Tensor.ger = Tensor.outer
Tensor.clip_ = lambda self, min=None, max=None: self._inplace("clamp", min, max)
Tensor.lerp_ = lambda self, end, weight: self.copy_(_functions.lerp(self, end, weight))
Tensor.addcmul_ = lambda self, t1, t2, *, value=1: self.copy_(
    _functions.addcmul(self, t1, t2, value=value))
Tensor.addcdiv_ = lambda self, t1, t2, *, value=1: self.copy_(
    _functions.addcdiv(self, t1, t2, value=value))
for _name in ("clamp_min", "clamp_max", "masked_select", "index_fill", "diff", "median",
              "kthvalue", "logaddexp", "nan_to_num", "diag"):
    setattr(Tensor, _name, getattr(_functions, _name))
Tensor.clamp_min_ = lambda self, min: self._inplace("clamp", min, None)
Tensor.clamp_max_ = lambda self, max: self._inplace("clamp", None, max)
Tensor.index_fill_ = lambda self, dim, index, value: self.copy_(
    _functions.index_fill(self, dim, index, value))
Tensor.baddbmm = lambda self, batch1, batch2, *, beta=1, alpha=1: _functions.baddbmm(
    self, batch1, batch2, beta=beta, alpha=alpha)


# --- in-place random fills ------------------------------------------------------------------------
def _random_fill(name: str, draw):
    def method(self, *args, generator=None, **kwargs):
        if self._rg and self.grad_fn is None and _grad_enabled():
            raise AutogradError("a leaf Variable that requires grad is being used in an in-place "
                                "operation.")
        values = draw(self, generator, *args, **kwargs)

        with no_grad():
            self.copy_(values)
        return self

    method.__name__ = method.__qualname__ = name
    return method


def _opts(t, generator, dtype=None):
    return {"generator": generator, "dtype": dtype or t.dtype, "device": t.device}


def _float_opts(t, generator):
    return _opts(t, generator, t.dtype if t.dtype.is_floating_point else dtypes.float64)


def _draw_uniform(t, gen, a=0.0, b=1.0):
    return dispatch(R["rand"], (list(t.shape),), _float_opts(t, gen)) * (b - a) + a


def _draw_normal(t, gen, mean=0.0, std=1.0):
    return dispatch(R["normal"], (mean, std, list(t.shape)), _float_opts(t, gen))


def _draw_bernoulli(t, gen, p=0.5):
    if isinstance(p, Tensor):
        return dispatch(R["bernoulli"], (p.expand(list(t.shape)).to(dtypes.float64),),
                        {"generator": gen})
    return _draw_uniform(t, gen) < p


def _draw_random(t, gen, low=None, high=None):
    if low is None:
        # NOTE: PyTorch's bounds: [0, 2^mantissa] for floats (every integer exactly
        # representable), the dtype's whole non-negative range for integers
        low, high = 0, _RANDOM_TOP[t.dtype.name] + 1
    elif high is None:
        low, high = 0, low
    return dispatch(R["randint"], (low, high, list(t.shape)), _opts(t, gen))


_RANDOM_TOP = {"float16": 2 ** 11, "float32": 2 ** 24, "float64": 2 ** 53, "uint8": 255,
               "int8": 127, "int16": 2 ** 15 - 1, "int32": 2 ** 31 - 1, "int64": 2 ** 63 - 1,
               "bool": 1}


def _draw_exponential(t, gen, lambd=1.0):
    return -(1 - _draw_uniform(t, gen)).log() / lambd


Tensor.uniform_ = _random_fill("uniform_", _draw_uniform)
Tensor.normal_ = _random_fill("normal_", _draw_normal)
Tensor.bernoulli_ = _random_fill("bernoulli_", _draw_bernoulli)
Tensor.random_ = _random_fill("random_", _draw_random)
Tensor.exponential_ = _random_fill("exponential_", _draw_exponential)


# --- composed_math.py functions as methods (names Tensor does not define yet) -----------------
for _name in ("true_divide", "absolute", "negative", "positive", "fix", "sgn", "signbit",
              "deg2rad", "rad2deg", "exp2", "hypot", "xlogy", "logit", "float_power", "heaviside",
              "isposinf", "isneginf", "isreal", "fliplr", "flipud", "ravel", "inner", "mv",
              "addmv", "addr", "kron", "dist", "nansum", "nanmean", "aminmax", "msort", "rot90",
              "repeat_interleave", "unfold", "ldexp", "sinc", "gcd", "lcm", "take", "tensor_split",
              "diag_embed", "diagflat", "is_nonzero", "is_same_size", "index_copy",
              "select_scatter", "slice_scatter", "copysign", "fmax", "fmin", "cov", "corrcoef"):
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, getattr(_functions, _name))
Tensor.tril_ = lambda self, diagonal=0: self.copy_(self.tril(diagonal))
Tensor.triu_ = lambda self, diagonal=0: self.copy_(self.triu(diagonal))
Tensor.true_divide_ = lambda self, other: self.div_(other)
Tensor.absolute_ = lambda self: self.abs_()
Tensor.negative_ = lambda self: self.neg_()
Tensor.fix_ = lambda self: self.trunc_()
Tensor.index_copy_ = lambda self, dim, index, source: self.copy_(
    _functions.index_copy(self, dim, index, source))


# --- copy.deepcopy ------------------------------------------------------------------------------
def _deepcopy(self, memo: dict) -> Tensor:
    """``copy.deepcopy``: a leaf gets its own data (and ``requires_grad`` and ``.grad``); a tensor
    computed by an autograd graph is refused, as in PyTorch."""
    if id(self) in memo:
        return memo[id(self)]
    if self.grad_fn is not None:
        raise RuntimeError("only tensors created explicitly by the user (graph leaves) support "
                           "the deepcopy protocol; call .detach() first")
    with no_grad():
        out = self.detach().clone()
    if self.requires_grad:
        out.requires_grad_(True)
    memo[id(self)] = out
    if self.grad is not None:
        out.grad = _deepcopy(self.grad, memo)
    return out


Tensor.__deepcopy__ = _deepcopy
