"""Triton helper functions for the lowering notation's functions that ``tl`` lacks.

Every helper is written with basic ``tl`` operations only (``exp``, ``log``, ``sqrt``, ``floor``,
``where`` ...): they exist in Triton 3.6 and 3.9 alike, and Triton's CPU interpreter runs them
(it has no libdevice), so the kernels CI checks are the kernels a GPU runs. Helpers are generated
per compute dtype (``float32`` or ``float64``) because Triton types a bare Python float literal
as float32: constants that float32 cannot hold exactly are materialized in the helper's dtype.
"""

from __future__ import annotations

import math
import struct

import numpy as np

TL_FLOAT = {"float32": "tl.float32", "float64": "tl.float64"}
_F32_TINY, _F32_MAX = 2.0**-126, float(np.finfo(np.float32).max)
_BITS = {"float32": ("tl.int32", "<f", "<i"), "float64": ("tl.int64", "<d", "<q")}


def constant(value: float | int | bool, tl_dtype: str) -> str:
    """Triton source for ``value`` as a scalar of ``tl_dtype`` (exact, inf and nan included)."""
    if tl_dtype == "tl.int1":
        return f"tl.full([], {int(bool(value))}, tl.int1)"
    if tl_dtype in ("tl.float32", "tl.float64"):
        value = float(value)
        if not math.isfinite(value):
            # NOTE: kernels cannot spell inf/nan as literals; a bitcast of the bit pattern can
            name = "float32" if tl_dtype == "tl.float32" else "float64"
            itype, ffmt, ifmt = _BITS[name]
            bits = struct.unpack(ifmt, struct.pack(ffmt, value))[0]
            return f"tl.full([], {bits}, {itype}).to({tl_dtype}, bitcast=True)"
        if tl_dtype == "tl.float32" and (value == 0 or _F32_TINY <= abs(value) <= _F32_MAX):
            # NOTE: Triton types a float literal in this range as float32 (outside: float64)
            return repr(value)
        return f"tl.full([], {value!r}, {tl_dtype})"
    return f"tl.full([], {int(value)}, {tl_dtype})"


def _k(value: float, dt: str) -> str:
    """A constant inside a helper: a bare literal where float32 holds it exactly (readable)."""
    if dt == "tl.float64" and float(np.float32(value)) == value:
        return repr(float(value))
    return constant(value, dt)


_EXPM1_TERMS = 13   # |x| < 0.5: the Taylor tail is below float64 rounding
_LOG1P_TERMS = 9    # |x| < 0.25: 2 atanh(x / (2 + x)) to s**17


def _expm1(dt: str) -> str:
    poly = _k(1.0 / math.factorial(_EXPM1_TERMS), dt)
    for k in range(_EXPM1_TERMS - 1, 0, -1):
        poly = f"({poly}) * xs + {_k(1.0 / math.factorial(k), dt)}"
    return f"""\
    # NOTE: exp(x) - 1 cancels near 0; a Taylor polynomial there, exp elsewhere
    small = tl.abs(x) < 0.5
    xs = tl.where(small, x, 0.0)
    series = ({poly}) * xs
    return tl.where(small, series, tl.exp(x) - 1.0)
"""


def _log1p(dt: str) -> str:
    poly = _k(1.0 / (2 * _LOG1P_TERMS - 1), dt)
    for k in range(_LOG1P_TERMS - 2, -1, -1):
        poly = f"({poly}) * s2 + {_k(1.0 / (2 * k + 1), dt)}"
    return f"""\
    # NOTE: log(1 + x) loses x's low bits near 0; there log1p(x) = 2 atanh(x / (2 + x))
    small = tl.abs(x) < 0.25
    xs = tl.where(small, x, 0.0)
    s = xs / (xs + 2.0)
    s2 = s * s
    series = 2.0 * s * ({poly})
    return tl.where(small, series, tl.log(1.0 + x))
"""


def _atan(dt: str) -> str:
    # Cephes atan: reduction to |t| <= 0.66 and a rational approximation
    p = [-8.750608600031904122785e-1, -1.615753718733365076637e1, -7.500855792314704667340e1,
         -1.228866684490136173410e2, -6.485021904942025371773e1]
    q = [2.485846490142306297962e1, 1.650270098316988542046e2, 4.328810604912902668951e2,
         4.853903996359136964868e2, 1.945506571482613964425e2]
    num = _k(p[0], dt)
    for c in p[1:]:
        num = f"({num}) * z + {_k(c, dt)}"
    den = f"z + {_k(q[0], dt)}"
    for c in q[1:]:
        den = f"({den}) * z + {_k(c, dt)}"
    more = 6.123233995736765886130e-17
    return f"""\
    ax = tl.abs(x)
    big = ax > {_k(2.41421356237309504880, dt)}
    mid = ax > 0.66   # only read where big is false
    t = tl.where(big, -1.0 / ax, tl.where(mid, (ax - 1.0) / (ax + 1.0), ax))
    base = tl.where(big, {_k(math.pi / 2, dt)}, tl.where(mid, {_k(math.pi / 4, dt)}, 0.0))
    tail = tl.where(big, {_k(more, dt)}, tl.where(mid, {_k(0.5 * more, dt)}, 0.0))
    z = t * t
    r = base + (t * (z * ({num}) / ({den})) + t + tail)
    return tl.where(x < 0, -r, r)
"""


def _tanh(dt: str) -> str:
    return """\
    # NOTE: tanh(|x|) = e / (e + 2) with e = expm1(2|x|): no cancellation near 0; 1.0 past 20
    ax = tl.abs(x)
    e = _gt_expm1_{s}(2.0 * tl.where(ax > 20.0, 20.0, ax))
    t = e / (e + 2.0)
    return tl.where(x < 0, -t, t)
"""


def _sinh(dt: str) -> str:
    return """\
    ax = tl.abs(x)
    e = _gt_expm1_{s}(tl.where(ax > 20.0, 20.0, ax))
    small = 0.5 * (e + e / (e + 1.0))
    # NOTE: exp(|x| / 2) squared: exp(|x|) would overflow before sinh does
    h = tl.exp(0.5 * ax)
    r = tl.where(ax > 20.0, (0.5 * h) * h, small)
    return tl.where(x < 0, -r, r)
"""


def _cosh(dt: str) -> str:
    return """\
    h = tl.exp(0.5 * tl.abs(x))
    return (0.5 * h) * h + 0.5 / (h * h)
"""


def _tan(dt: str) -> str:
    return """\
    return tl.sin(x) / tl.cos(x)
"""


def _asin(dt: str) -> str:
    return """\
    return _gt_atan_{s}(x / tl.sqrt((1.0 - x) * (1.0 + x)))
"""


def _acos(dt: str) -> str:
    return """\
    return 2.0 * _gt_atan_{s}(tl.sqrt((1.0 - x) / (1.0 + x)))
"""


def _sigmoid(dt: str) -> str:
    return """\
    # NOTE: split by sign so exp never overflows (the eager kernel's formula)
    e = tl.exp(-tl.abs(x))
    return tl.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
"""


def _log10(dt: str) -> str:
    return f"""\
    return tl.log(x) * {_k(1.0 / math.log(10.0), dt)}
"""


def _trunc(dt: str) -> str:
    return """\
    return tl.where(x < 0, tl.ceil(x), tl.floor(x))
"""


def _round(dt: str) -> str:
    return """\
    # NOTE: half to even, as torch.round and numpy.round
    f = tl.floor(x)
    d = x - f
    half = f * 0.5
    even = tl.where(half == tl.floor(half), f, f + 1.0)
    return tl.where(d > 0.5, f + 1.0, tl.where(d < 0.5, f, even))
"""


def _sign(dt: str) -> str:
    return """\
    return tl.where(x > 0, 1.0, tl.where(x < 0, -1.0, 0.0)).to(x.dtype)
"""


def _atan2(dt: str) -> str:
    return f"""\
    a = _gt_atan_{{s}}(y / x)
    pi = {_k(math.pi, dt)}
    half_pi = {_k(math.pi / 2, dt)}
    r = tl.where(x > 0, a, tl.where(x < 0, tl.where(y >= 0, a + pi, a - pi),
                                    tl.where(y > 0, half_pi, tl.where(y < 0, -half_pi, 0.0))))
    return tl.where(x != x, x, tl.where(y != y, y, r))
"""


def _pow(dt: str) -> str:
    return f"""\
    ax = tl.abs(x)
    r = tl.exp(y * tl.log(ax))
    odd = (y % 2.0) != 0
    neg = tl.where(tl.floor(y) == y, tl.where(odd, -r, r), {constant(float("nan"), dt)})
    r = tl.where(x < 0, neg, r)
    # NOTE: x ** 0 and 1 ** y are 1 even for nan operands (IEEE pow, PyTorch)
    return tl.where(y == 0, 1.0, tl.where(x == 1.0, 1.0, r))
"""


def _floordiv(dt: str) -> str:
    return """\
    # NOTE: numpy/PyTorch floor division of floats: fmod-based, then rounded to an integer
    m = x % y
    q = (x - m) / y
    q = tl.where(m != 0, tl.where((y < 0) != (m < 0), q - 1.0, q), q)
    f = tl.floor(q)
    f = tl.where(q - f > 0.5, f + 1.0, f)
    f = tl.where(q != 0, f, 0.0)
    return tl.where(y == 0, x / y, f)
"""


def _mod(dt: str) -> str:
    return """\
    m = x % y
    return tl.where(m != 0, tl.where((y < 0) != (m < 0), m + y, m), m)
"""


# NOTE: helpers combine conditions with nested tl.where, not & / | on bools: Triton 3.9's
# interpreter cannot apply bitwise ops to a broadcast 0-dim bool.
# name -> (parameters, body template, helpers it calls)
_FLOAT_HELPERS = {
    "expm1": ("x", _expm1, ()),
    "log1p": ("x", _log1p, ()),
    "atan": ("x", _atan, ()),
    "tanh": ("x", _tanh, ("expm1",)),
    "sinh": ("x", _sinh, ("expm1",)),
    "cosh": ("x", _cosh, ()),
    "tan": ("x", _tan, ()),
    "asin": ("x", _asin, ("atan",)),
    "acos": ("x", _acos, ("atan",)),
    "sigmoid": ("x", _sigmoid, ()),
    "log10": ("x", _log10, ()),
    "trunc": ("x", _trunc, ()),
    "round": ("x", _round, ()),
    "sign": ("x", _sign, ()),
    "atan2": ("y, x", _atan2, ("atan",)),
    "pow": ("x, y", _pow, ()),
    "floordiv": ("x, y", _floordiv, ()),
    "mod": ("x, y", _mod, ()),
}

# Integer helpers work for every integer width: Triton's // and % truncate like C.
_INT_HELPERS = {
    "floordiv": ("x, y", """\
    q = x // y
    r = x % y
    return q - tl.where(r != 0, tl.where((r < 0) != (y < 0), 1, 0), 0).to(q.dtype)
"""),
    "mod": ("x, y", """\
    r = x % y
    return tl.where(r != 0, tl.where((r < 0) != (y < 0), r + y, r), r)
"""),
    "sign": ("x", """\
    return (x > 0).to(x.dtype) - (x < 0).to(x.dtype)
"""),
}

FLOAT_HELPERS = frozenset(_FLOAT_HELPERS)
INT_HELPERS = frozenset(_INT_HELPERS)


def _suffix(dt: str | None) -> str:
    return {"tl.float32": "f32", "tl.float64": "f64", None: "int"}[dt]


def helper_name(name: str, tl_dtype: str | None) -> str:
    """The generated function name of helper ``name`` for a float ``tl_dtype`` (None: integer)."""
    return f"_gt_{name}_{_suffix(tl_dtype)}"


def helper_sources(wanted: set[tuple[str, str | None]]) -> str:
    """Source of the helpers in ``wanted`` ((name, float tl dtype or None)) and their callees."""
    order: list[tuple[str, str | None]] = []

    def visit(key):
        if key in order:
            return
        name, dt = key
        if dt is not None:
            for dep in _FLOAT_HELPERS[name][2]:
                visit((dep, dt))
        order.append(key)

    for key in sorted(wanted, key=lambda k: (k[0], k[1] or "")):
        visit(key)
    parts = []
    for name, dt in order:
        if dt is None:
            params, body = _INT_HELPERS[name]
        else:
            params, make, _ = _FLOAT_HELPERS[name]
            body = make(dt).replace("{s}", _suffix(dt))
        parts.append(f"@_gt_jit\ndef {helper_name(name, dt)}({params}):\n{body}")
    return "\n\n".join(parts)
