"""Complex tensors: building them (complex, polar, view_as_complex) and taking them apart (real,
imag, view_as_real, angle, conj). Which other ops accept complex inputs: ops/complex_support.py.

``real``/``imag``/``view_as_real``/``view_as_complex`` are views, as in PyTorch: numpy's ``.real``
and ``.imag`` of a complex array are strided views of its memory. ``conj`` is a copy (PyTorch's is a
lazy view with a conjugate bit; the values are the same).
"""

from __future__ import annotations

import math

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import DTypeError, ShapeError
from graphtorch.ops.meta import TensorMeta, broadcast_shapes
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import OpKind, SampleInput, Saves, register


def _complex_tensor(m: SampleMaker, shape, dtype):
    """A complex sample of ``dtype``'s precision (None when ``dtype`` has no complex form)."""
    # NOTE: graphtorch.tensor imports the ops package: a module-level import cycles
    from graphtorch.tensor import Tensor

    if dtype not in (dtypes.float32, dtypes.float64):
        return None
    real, imag = (m.tensor(shape, dtype)._data for _ in range(2))
    return Tensor._wrap((real + 1j * imag).astype(dtype.to_complex().np))


def _complex_samples(shapes):
    def samples(dtype=dtypes.float64):
        m = SampleMaker(41)
        made = [(_complex_tensor(m, s, dtype), name) for s, name in shapes]
        return [SampleInput((t,), name=name) for t, name in made if t is not None]

    return samples


def _real_samples(dtype=dtypes.float64):
    m = SampleMaker(42)
    return [SampleInput((m.tensor((2, 3), dtype),), name="matrix"),
            SampleInput((m.tensor((), dtype),), name="scalar")]


def _float_parts(name: str, *arrays) -> np.dtype:
    kinds = {a.dtype for a in arrays}
    if len(kinds) != 1 or next(iter(kinds)) not in (np.float32, np.float64):
        got = ", ".join(str(dtypes.from_numpy(a.dtype)) for a in arrays)
        raise DTypeError(f"{name}(): expected both inputs to be float32 or float64 tensors of "
                         f"the same dtype, got {got} (graphtorch has no complex32)")
    return dtypes.from_numpy(arrays[0].dtype).to_complex().np


# --- complex(real, imag) and polar(abs, angle) ------------------------------------------------
def _complex(xp, real, imag):
    out = xp.empty(np.broadcast_shapes(real.shape, imag.shape), _float_parts("complex", real, imag))
    out.real = real
    out.imag = imag
    return out


def _polar(xp, mag, angle):
    cdt = _float_parts("polar", mag, angle)
    out = xp.empty(np.broadcast_shapes(mag.shape, angle.shape), cdt)
    out.real = mag * xp.cos(angle)
    out.imag = mag * xp.sin(angle)
    return out


def _pair_meta(real, imag):
    return TensorMeta(real.dtype.to_complex(), broadcast_shapes(tuple(real.shape),
                                                                tuple(imag.shape)), real.device)


def _pair_samples(low=-3.0):
    def samples(dtype=dtypes.float64):
        if dtype not in (dtypes.float32, dtypes.float64):
            return []
        m = SampleMaker(43)
        return [SampleInput((m.tensor((2, 3), dtype, low), m.tensor((2, 3), dtype)), name="same"),
                SampleInput((m.tensor((3, 1), dtype, low), m.tensor((4,), dtype)),
                            name="broadcast")]

    return samples


# NOTE: differentiable=False: the result is complex, and autograd does not reach complex tensors;
# dispatch refuses the call when an input requires grad (complex_support.COMPLEX_RESULT_OPS).
register("complex(Tensor real, Tensor imag) -> Tensor", OpKind.OPAQUE, kernel=_complex,
         meta=_pair_meta, samples=_pair_samples(), differentiable=False, saves=Saves.NOTHING,
         doc="A complex tensor from its real and imaginary parts (float32 -> complex64).")
register("polar(Tensor abs, Tensor angle) -> Tensor", OpKind.OPAQUE, kernel=_polar,
         meta=_pair_meta, samples=_pair_samples(0.0), differentiable=False, saves=Saves.NOTHING,
         doc="``abs * (cos(angle) + 1j * sin(angle))``.")


# --- views between complex and real -------------------------------------------------------------
def _need_complex(name: str, x) -> None:
    if x.dtype.kind != "c":
        raise DTypeError(f"{name} is only supported for complex tensors, got "
                         f"{dtypes.from_numpy(x.dtype)}")


def _view_as_real(xp, x):
    _need_complex("view_as_real", x)
    # NOTE: a new axis of size 1 reinterpreted as the (real, imag) pair: a view for any strides
    return x[..., None].view(x.real.dtype)


def _view_as_complex(xp, x):
    if x.dtype not in (np.float32, np.float64):
        raise DTypeError("view_as_complex is only supported for float32 and float64 tensors, "
                         f"got {dtypes.from_numpy(x.dtype)}")
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ShapeError(f"Tensor must have a last dimension of size 2, got shape {x.shape}")
    if x.strides[-1] != x.itemsize:
        raise ShapeError("Tensor must have a last dimension with stride 1")
    if any(s % (2 * x.itemsize) for s in x.strides[:-1]):
        raise ShapeError("Tensor must have a stride divisible by 2 for all but last dimension")
    # NOTE: numpy reinterprets the contiguous last axis (the pair) as one complex element
    return x.view(dtypes.from_numpy(x.dtype).to_complex().np)[..., 0]


register("view_as_real(Tensor self) -> Tensor", OpKind.VIEW, kernel=_view_as_real,
         meta=lambda x: TensorMeta(x.dtype.to_real(), tuple(x.shape) + (2,), x.device),
         samples=_complex_samples((((2, 3), "matrix"), ((), "scalar"))), differentiable=False,
         saves=Saves.NOTHING, doc="The complex tensor's memory as real pairs (shape + [2]).")
register("view_as_complex(Tensor self) -> Tensor", OpKind.VIEW, kernel=_view_as_complex,
         meta=lambda x: TensorMeta(x.dtype.to_complex(), tuple(x.shape)[:-1], x.device),
         samples=lambda dtype=dtypes.float64: [] if not dtype.is_floating_point else [
             SampleInput((SampleMaker(44).tensor((3, 2), dtype),), name="pairs")],
         differentiable=False, saves=Saves.NOTHING,
         doc="Real pairs (last dimension 2) as a complex tensor sharing their memory.")


def _real(xp, x):
    return x.real


def _imag(xp, x):
    if x.dtype.kind != "c":
        raise DTypeError("imag is not implemented for tensors with non-complex dtypes.")
    return x.imag


def _part_meta(x):
    return TensorMeta(x.dtype.to_real(), tuple(x.shape), x.device)


register("real(Tensor self) -> Tensor", OpKind.VIEW, kernel=_real, meta=_part_meta,
         vjp=lambda ctx, g: (g,), saves=Saves.NOTHING, samples=_real_samples,
         doc="The real part (a view); a real tensor's real part is itself.")
register("imag(Tensor self) -> Tensor", OpKind.VIEW, kernel=_imag, meta=_part_meta,
         samples=_complex_samples((((2, 3), "matrix"),)), differentiable=False,
         saves=Saves.NOTHING, doc="The imaginary part of a complex tensor (a view).")


# --- conj and angle -----------------------------------------------------------------------------
def _conj(xp, x):
    return xp.conj(x) if x.dtype.kind == "c" else x.copy()


for _name in ("conj", "conj_physical"):
    register(f"{_name}(Tensor self) -> Tensor", OpKind.OPAQUE, kernel=_conj,
             meta=lambda x: TensorMeta(x.dtype, tuple(x.shape), x.device),
             vjp=lambda ctx, g: (g,), saves=Saves.NOTHING, samples=_real_samples,
             doc="The complex conjugate (a real tensor's values unchanged).")


def _angle(xp, x):
    if x.dtype.kind == "c":
        return xp.angle(x)
    out_dt = x.dtype if x.dtype.kind == "f" else dtypes.get_default_dtype().np
    # NOTE: PyTorch's angle of a real number: pi below zero, 0 otherwise (also for -0.0), nan kept
    out = xp.where(x < 0, math.pi, 0.0).astype(out_dt)
    return xp.where(xp.isnan(x), x, out).astype(out_dt) if x.dtype.kind == "f" else out


def _angle_meta(x):
    d = x.dtype
    return TensorMeta(d.to_real() if d.category >= dtypes.Category.FLOAT
                      else dtypes.get_default_dtype(), tuple(x.shape), x.device)


register("angle(Tensor self) -> Tensor", OpKind.OPAQUE, kernel=_angle, meta=_angle_meta,
         vjp=lambda ctx, g: (g * 0,), saves=Saves.NOTHING, samples=_real_samples,
         doc="The argument of each complex number (pi or 0 for real numbers).")
