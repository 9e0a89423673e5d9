"""Public functions whose Python signature differs from one registry op (overloads, varargs).

Each forwards to registry ops; nothing here computes on arrays.
"""

from __future__ import annotations

import builtins
import os
import warnings

import numpy as np

from graphtorch import dtypes
from graphtorch.autograd.grad_mode import STATE, no_grad
from graphtorch.errors import AutogradError, DTypeError, UnsupportedError
from graphtorch.ops import return_types
from graphtorch.ops.dispatch import dispatch
from graphtorch.ops.meta import broadcast_shapes
from graphtorch.ops.registry import REGISTRY as _R
from graphtorch.ops.registry import OpKind
from graphtorch.tensor import Tensor

__all__ = ["zeros", "ones", "empty", "rand", "randn", "full", "arange"]


def _size_args(size):
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        return list(size[0])
    return list(size)


def _factory(name):
    op = _R[name]

    def fn(*size, **kwargs):
        if "size" in kwargs:
            return dispatch(op, (), kwargs)
        return dispatch(op, (_size_args(size),), kwargs)

    fn.__name__ = name
    fn.__doc__ = f"schema: ``{op.schema}``"
    return fn


zeros = _factory("zeros")
ones = _factory("ones")
empty = _factory("empty")
rand = _factory("rand")
randn = _factory("randn")


def full(size, fill_value, **kwargs):
    return dispatch(_R["full"], (list(size), fill_value), kwargs)


def arange(start, end=None, step=1, **kwargs):
    return dispatch(_R["arange"], (start, end, step), kwargs)


# --- reductions with overloads --------------------------------------------------------------------
def _extreme(name: str):
    op_full, op_dim, op_pair = _R[name], _R[name + "_dim"], _R[name + "imum"]

    def fn(input, dim=None, keepdim=False, *, out=None):
        if isinstance(dim, Tensor):
            result = dispatch(op_pair, (input, dim), None)
        elif dim is None:
            if keepdim:
                raise TypeError(f"{name}() received an invalid combination of arguments: "
                                "keepdim=True needs a dim")
            result = dispatch(op_full, (input,), None)
        else:
            result = getattr(return_types, name)(*dispatch(op_dim, (input, dim, keepdim), None))
        if out is None:
            return result
        return write_outs(name, result, out, (input, dim))

    fn.__name__ = name
    fn.__doc__ = (f"``{name}(input)`` reduces everything; ``{name}(input, dim, keepdim=False)`` "
                  f"returns ``graphtorch.return_types.{name}(values, indices)``; "
                  f"``{name}(input, other)`` is ``{name}imum``.")
    return fn


max = _extreme("max")  # noqa: A001 - PyTorch's name
min = _extreme("min")  # noqa: A001 - PyTorch's name


def _variance(name: str):
    op = _R[name]

    def fn(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        if unbiased is not None:
            if correction is not None:
                raise TypeError(f"{name}(): pass either unbiased or correction, not both")
            correction = 1 if unbiased else 0
        if isinstance(dim, int):
            dim = [dim]
        return dispatch(op, (input, dim), {"correction": correction, "keepdim": keepdim})

    fn.__name__ = name
    fn.__doc__ = f"``{name}(input, dim=None, unbiased=True, keepdim=False, *, correction=1)``"
    return fn


var = _variance("var")
std = _variance("std")


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector norms (``p`` a number, ``inf``/``-inf``, or ``'fro'``) over ``dim`` (all if None);
    ``'nuc'``: the nuclear norm (sum of singular values) over ``dim`` (the last two if None)."""
    if p is None or p == "fro":
        p = 2
    elif p == "nuc":
        return dispatch(_R["linalg_matrix_norm"], (input, "nuc", [-2, -1] if dim is None else
                                                   list(dim), keepdim), {"dtype": dtype})
    elif isinstance(p, str):
        raise UnsupportedError(f"norm(): p={p!r} is not supported by graphtorch; use a number, "
                               "inf, -inf, 'fro' or 'nuc'")
    if isinstance(dim, int):
        dim = [dim]
    return dispatch(_R["norm"], (input, p, dim, keepdim), {"dtype": dtype})


# --- shape functions ------------------------------------------------------------------------------
def split(tensor, split_size_or_sections, dim=0):
    """Split into pieces of ``split_size`` (an int) or of the listed sizes, along ``dim``."""
    if isinstance(split_size_or_sections, (list, tuple)):
        return tuple(dispatch(_R["split_with_sizes"], (tensor, list(split_size_or_sections),
                                                      dim), None))
    return tuple(dispatch(_R["split"], (tensor, split_size_or_sections, dim), None))


def chunk(input, chunks, dim=0):
    return tuple(dispatch(_R["chunk"], (input, chunks, dim), None))


def unbind(input, dim=0):
    return tuple(dispatch(_R["unbind"], (input, dim), None))


def concat(tensors, dim=0):
    return dispatch(_R["cat"], (tensors, dim), None)


concatenate = concat


def movedim(input, source, destination):
    if isinstance(source, int):
        source = [source]
    if isinstance(destination, int):
        destination = [destination]
    return dispatch(_R["movedim"], (input, list(source), list(destination)), None)


moveaxis = movedim


def nonzero(input, *, as_tuple=False):
    """Indices of the non-zero elements: an ``(n, ndim)`` tensor, or one tensor per dim."""
    out = dispatch(_R["nonzero"], (input,), None)
    if not as_tuple:
        return out
    if input.ndim == 0:
        return (out.reshape([-1]),)
    return tuple(dispatch(_R["unbind"], (out, 1), None))


def where(condition, input=None, other=None):
    """``where(condition, input, other)`` selects elementwise; ``where(condition)`` is
    ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    return dispatch(_R["where"], (condition, input, other), None)


def sort(input, dim=-1, descending=False, *, stable=False, out=None):
    """``graphtorch.return_types.sort(values, indices)``; ties keep their order (always stable)."""
    result = return_types.sort(*dispatch(_R["sort"], (input, dim, descending),
                                         {"stable": stable}))
    return result if out is None else write_outs("sort", result, out, (input,))


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim`` with their indices."""
    result = return_types.topk(*dispatch(_R["topk"], (input, k, dim, largest, sorted), None))
    return result if out is None else write_outs("topk", result, out, (input,))


__all__ += ["sort", "topk"]
__all__ += ["return_types", "max", "min", "var", "std", "norm", "split", "chunk", "unbind",
            "concat", "concatenate", "movedim", "moveaxis", "nonzero", "where"]


# --- random *_like --------------------------------------------------------------------------------
def _random_like(name: str):
    op = _R[name]

    def fn(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
        opts = {"dtype": dtype if dtype is not None else input.dtype,
                "device": device if device is not None else input.device,
                "requires_grad": requires_grad}
        return dispatch(op, (list(input.shape),), opts)

    fn.__name__ = name + "_like"
    fn.__doc__ = (f"``{name}`` with the shape, dtype and device of ``input`` (each dtype/device "
                  "may be overridden).")
    return fn


rand_like = _random_like("rand")
randn_like = _random_like("randn")


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False,
                 memory_format=None):
    """Integers in ``[low, high)`` (``randint_like(input, high)`` means ``low=0``), shaped and
    typed like ``input``."""
    if high is None:
        low, high = 0, low
    opts = {"dtype": dtype if dtype is not None else input.dtype,
            "device": device if device is not None else input.device,
            "requires_grad": requires_grad}
    return dispatch(_R["randint"], (low, high, list(input.shape)), opts)


__all__ += ["rand_like", "randn_like", "randint_like"]


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, pin_memory=False, requires_grad=False):
    """PyTorch's overloads: ``normal(mean, std, size)`` with numbers; ``normal(mean, std)`` with
    a tensor mean and/or std (broadcast together). As in PyTorch, the draw is not
    reparameterized: gradients to mean and std are zero (use ``mean + std * randn`` for that)."""
    t_mean, t_std = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not t_mean and not t_std:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments: with float "
                            "mean and std, pass a size: normal(mean, std, size)")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        result = dispatch(_R["normal"], (float(mean), float(std), list(size)),
                          {"generator": generator, "dtype": dtype, "device": device,
                           "requires_grad": requires_grad})
    else:
        if size is not None:
            raise TypeError("normal() received an invalid combination of arguments: size is "
                            "only taken with float mean and std")
        if t_std and bool((std.detach() < 0).any()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        if not t_std and std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        ref = mean if t_mean else std
        shape = _broadcast_shape(mean, std)
        z = dispatch(_R["randn"], (list(shape),), {"generator": generator, "dtype": ref.dtype,
                                                   "device": ref.device})

        with no_grad():
            result = mean + std * z
        # NOTE: still a function of mean and std (zero gradient), like PyTorch's NormalBackward
        from graphtorch import dtypes

        keep = dispatch(_R["ones"], (list(shape),), {"dtype": dtypes.bool_, "device": ref.device})
        for v in (mean, std):
            if isinstance(v, Tensor) and v.requires_grad:
                result = dispatch(_R["where"], (keep, result, v), None)
    return result if out is None else write_out("normal", result, out, (mean, std))


def _broadcast_shape(*values) -> tuple:
    return broadcast_shapes(*(tuple(v.shape) for v in values if hasattr(v, "shape")))


__all__ += ["normal"]


# --- out= -----------------------------------------------------------------------------------------
def write_out(name: str, result, out, inputs):
    """Write ``result`` into ``out`` as PyTorch's ``out=`` does: resize when the shape differs,
    cast to ``out``'s dtype when allowed, never record gradients. Returns ``out``."""

    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if STATE.enabled and (out.requires_grad or builtins.any(
            isinstance(t, Tensor) and t.requires_grad for t in inputs)):
        raise AutogradError(f"{name}(): functions with out=... arguments don't support automatic "
                            "differentiation, but one of the arguments requires grad.")
    if not dtypes.can_cast(result.dtype, out.dtype):
        raise DTypeError(f"result type {_torch_type_name(result.dtype)} can't be cast to the "
                         f"desired output type {_torch_type_name(out.dtype)}")
    if out.device != result.device:
        raise RuntimeError(f"Expected out tensor to have device {result.device}, but got "
                           f"{out.device} instead")
    with no_grad():
        if tuple(out.shape) != tuple(result.shape):
            if out.numel() != 0:
                warnings.warn(
                    f"An output with one or more elements was resized since it had shape "
                    f"{list(out.shape)}, which does not match the required output shape "
                    f"{list(result.shape)}. This behavior is deprecated, and in a future PyTorch "
                    "release outputs will not be resized unless they have zero elements. You can "
                    "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                    "with t.resize_(0).", UserWarning, stacklevel=3)
            out.data = result.to(out.dtype).clone()
        else:
            out.copy_(result)
    return out




def write_outs(name: str, result, out, inputs):
    """``out=`` for one result or a tuple of results (``max(x, 1, out=(values, indices))``)."""
    if not isinstance(result, tuple):
        return write_out(name, result, out, inputs)
    if not isinstance(out, (tuple, list)) or len(out) != len(result):
        raise TypeError(f"{name}(): argument 'out' must be tuple of {len(result)} Tensors")
    written = [write_out(name, r, o, inputs) for r, o in zip(result, out)]
    return type(result)(*written) if hasattr(result, "_fields") else tuple(written)


def _torch_type_name(dt) -> str:
    return dtypes.SCALAR_TYPE_NAMES.get(dt.name, dt.name)


def _with_out(op):
    def fn(*args, out=None, **kwargs):
        result = dispatch(op, args, kwargs)
        if out is None:
            return result
        return write_out(op.name, result, out, args + tuple(kwargs.values()))

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = f"{op.doc}\n\nschema: ``{op.schema}`` (also takes ``out=``)".strip()
    fn.op = op
    return fn


def _out_functions() -> dict:
    # NOTE: ops computing from tensors and returning one tensor; factories and views keep their
    # own bindings (a view written through out= would lose its aliasing)

    made = {}
    for name, op in _R.items():
        args = op.schema.args
        if (name.startswith("_") or name in globals() or op.schema.returns != ("Tensor",)
                or op.kind in (OpKind.VIEW, OpKind.FACTORY, OpKind.RANDOM) or not args
                or not args[0].type.startswith("Tensor")):
            continue
        made[name] = _with_out(op)
    return made


# NOTE: several of these shadow builtins (any, all, sum, abs, round, pow) in this module, as
# max/min above do: code below this line must use builtins.<name>
_OUT = _out_functions()
globals().update(_OUT)
__all__ += sorted(_OUT)


# --- constants and process settings ---------------------------------------------------------------
inf, nan, pi, e = float("inf"), float("nan"), 3.141592653589793, 2.718281828459045
_NUM_THREADS: list = []


def set_num_threads(n: int) -> None:
    """Record the intra-op thread count. NOTE: numpy's BLAS reads its thread count at start-up
    (OMP_NUM_THREADS); graphtorch does not change it at run time (docs/differences.md)."""
    if not isinstance(n, int) or n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _NUM_THREADS[:] = [n]


def get_num_threads() -> int:
    """The value given to :func:`set_num_threads`, else the number of CPUs."""
    return _NUM_THREADS[0] if _NUM_THREADS else (os.cpu_count() or 1)


class finfo:  # noqa: N801 - PyTorch's name
    """Machine limits of a floating dtype, as Python numbers (``eps``, ``max``, ``min``,
    ``tiny`` = ``smallest_normal``, ``resolution``, ``bits``, ``dtype``)."""

    def __init__(self, type=None):  # noqa: A002 - PyTorch's argument name
        dt = dtypes.get_default_dtype() if type is None else type
        dt = dt.to_real()   # a complex dtype: the limits of its parts (complex64: float32)
        if not dt.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo "
                            "to handle 'torch.finfo'")
        info = np.finfo(dt.np)
        self.bits, self.dtype = int(info.bits), dt.name
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = float(info.resolution)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:  # noqa: N801 - PyTorch's name
    """Machine limits of an integer dtype (``min``, ``max``, ``bits``, ``dtype``)."""

    def __init__(self, type):  # noqa: A002 - PyTorch's argument name
        if type.is_floating_point:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        info = np.iinfo(type.np) if type.name != "bool" else np.iinfo(np.uint8)
        self.bits, self.min, self.max, self.dtype = int(info.bits), int(info.min), int(
            info.max), type.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


_DETERMINISTIC = [False]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record the flag. NOTE: graphtorch's kernels are deterministic already (numpy on the CPU,
    no atomics in generated kernels), so the flag changes nothing."""
    _DETERMINISTIC[0] = bool(mode)


def are_deterministic_algorithms_enabled() -> bool:
    return _DETERMINISTIC[0]


class backends:  # noqa: N801 - mirrors the torch.backends namespace
    """The ``torch.backends`` flags scripts set as boilerplate; graphtorch has no cuDNN, so they
    are accepted and have no effect (``is_available()`` is False)."""

    class cudnn:  # noqa: N801
        enabled, deterministic, benchmark = True, False, False
        is_available = staticmethod(lambda: False)

    class mps:  # noqa: N801
        is_available = staticmethod(lambda: False)
        is_built = staticmethod(lambda: False)


__all__ += ["inf", "nan", "pi", "e", "set_num_threads", "get_num_threads", "finfo", "iinfo",
            "use_deterministic_algorithms", "are_deterministic_algorithms_enabled", "backends"]


# NOTE: at the bottom: both modules build on the functions above
from graphtorch.composed_functions import *  # noqa: E402,F403
from graphtorch.composed_functions import __all__ as _composed_all  # noqa: E402
from graphtorch.einsum import einsum  # noqa: E402

__all__ += _composed_all + ["einsum"]

from graphtorch.composed_math import *  # noqa: E402,F403
from graphtorch.composed_math import __all__ as _math_all  # noqa: E402

__all__ += _math_all
