"""Elementwise primitives: one block per op (schema, kernel, vjp, lowering, samples).

Meta rules and kinds come from the family helpers ``unary``/``binary``: broadcast shapes and PyTorch
type promotion. Lowerings are expression templates over argument positions (``{0}``, ``{1}``) in
the neutral math notation the fused code generators translate (see ``ops/lowering.py``).
"""

from __future__ import annotations

import math

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import DTypeError
from graphtorch.ops.op_helpers import (
    SampleMaker,
    binary_samples,
    division_samples,
    elementwise_meta,
    pow_samples,
    quiet,
    reduce_grad,
    unary_samples,
)
from graphtorch.ops.registry import ANY, OpKind, Promotion, SampleInput, Saves, register, saved
from graphtorch.ops.special import erf_array

_LN2, _LN10 = math.log(2.0), math.log(10.0)


_quiet = quiet


def elementwise(schema: str, kernel, vjp=None, **parts):
    """Register an elementwise op; its meta rule is broadcasting plus the op's promotion."""
    op = register(schema, OpKind.ELEMENTWISE, kernel=kernel, vjp=vjp, **parts)
    op.meta = elementwise_meta(op)
    return op


def unary(name: str, kernel, vjp=None, *, lower=None, float_only=False, saves=Saves.INPUTS,
          samples=None, differentiable=True, promotion=None, torch_name=None, doc=""):
    promo = promotion or (Promotion.INT_TO_FLOAT if float_only else Promotion.DEFAULT)
    return elementwise(f"{name}(Tensor self) -> Tensor", kernel, vjp, lowering=lower,
                       promotion=promo, samples=samples or unary_samples(), saves=saves,
                       differentiable=differentiable, torch_name=torch_name, doc=doc)


def binary(schema: str, kernel, vjp=None, *, lower=None, promotion=Promotion.DEFAULT,
           saves=Saves.INPUTS, samples=None, differentiable=True, torch_name=None, doc="",
           promote_args=None):
    return elementwise(schema, kernel, vjp, lowering=lower, promotion=promotion,
                       samples=samples or binary_samples(), saves=saves,
                       differentiable=differentiable, torch_name=torch_name, doc=doc,
                       promote_args=promote_args)


# --- unary: math ------------------------------------------------------------------------------
unary("exp", lambda xp, x: xp.exp(x), lambda ctx, g: (g * ctx.out,),
      lower="exp({0})", float_only=True, saves=Saves.OUTPUTS)
unary("log", _quiet(lambda xp, x: xp.log(x)), lambda ctx, g: (g / ctx.args[0],),
      lower="log({0})", float_only=True, samples=unary_samples(0.1, 4.0))
unary("log2", _quiet(lambda xp, x: xp.log2(x)), lambda ctx, g: (g / (ctx.args[0] * _LN2),),
      lower="log2({0})", float_only=True, samples=unary_samples(0.1, 4.0))
unary("log10", _quiet(lambda xp, x: xp.log10(x)),
      lambda ctx, g: (g / (ctx.args[0] * _LN10),),
      lower="log10({0})", float_only=True, samples=unary_samples(0.1, 4.0))
unary("log1p", _quiet(lambda xp, x: xp.log1p(x)), lambda ctx, g: (g / (ctx.args[0] + 1),),
      lower="log1p({0})", float_only=True, samples=unary_samples(-0.5, 3.0))
unary("expm1", lambda xp, x: xp.expm1(x), lambda ctx, g: (g * (ctx.out + 1),),
      lower="expm1({0})", float_only=True, saves=Saves.OUTPUTS)
unary("sqrt", _quiet(lambda xp, x: xp.sqrt(x)), lambda ctx, g: (g / (2 * ctx.out),),
      lower="sqrt({0})", float_only=True, saves=Saves.OUTPUTS, samples=unary_samples(0.1, 4.0))
unary("rsqrt", _quiet(lambda xp, x: 1 / xp.sqrt(x)),
      lambda ctx, g: (-0.5 * g * ctx.out * ctx.out * ctx.out,),
      lower="rsqrt({0})", float_only=True, saves=Saves.OUTPUTS, samples=unary_samples(0.1, 4.0))
unary("sin", lambda xp, x: xp.sin(x), lambda ctx, g: (g * ctx.args[0].cos(),),
      lower="sin({0})", float_only=True)
unary("cos", lambda xp, x: xp.cos(x), lambda ctx, g: (-g * ctx.args[0].sin(),),
      lower="cos({0})", float_only=True)
unary("tan", lambda xp, x: xp.tan(x), lambda ctx, g: (g * (1 + ctx.out * ctx.out),),
      lower="tan({0})", float_only=True, saves=Saves.OUTPUTS, samples=unary_samples(-1.2, 1.2))
unary("asin", _quiet(lambda xp, x: xp.arcsin(x)),
      lambda ctx, g: (g * (1 - ctx.args[0] * ctx.args[0]).rsqrt(),),
      lower="asin({0})", float_only=True, samples=unary_samples(-0.9, 0.9))
unary("acos", _quiet(lambda xp, x: xp.arccos(x)),
      lambda ctx, g: (-g * (1 - ctx.args[0] * ctx.args[0]).rsqrt(),),
      lower="acos({0})", float_only=True, samples=unary_samples(-0.9, 0.9))
unary("atan", lambda xp, x: xp.arctan(x), lambda ctx, g: (g / (1 + ctx.args[0] * ctx.args[0]),),
      lower="atan({0})", float_only=True)
unary("sinh", lambda xp, x: xp.sinh(x), lambda ctx, g: (g * ctx.args[0].cosh(),),
      lower="sinh({0})", float_only=True)
unary("cosh", lambda xp, x: xp.cosh(x), lambda ctx, g: (g * ctx.args[0].sinh(),),
      lower="cosh({0})", float_only=True)
unary("tanh", lambda xp, x: xp.tanh(x), lambda ctx, g: (g * (1 - ctx.out * ctx.out),),
      lower="tanh({0})", float_only=True, saves=Saves.OUTPUTS)


def _sigmoid(xp, x):
    if x.dtype.kind == "c":   # no ordering to split by: PyTorch's 1 / (1 + exp(-z))
        return 1 / (1 + xp.exp(-x))
    # NOTE: split by sign so exp never overflows (no warnings, exact at the tails).
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


unary("sigmoid", _sigmoid, lambda ctx, g: (g * ctx.out * (1 - ctx.out),),
      lower="sigmoid({0})", float_only=True, saves=Saves.OUTPUTS)
_ZEROS: dict = {}  # 0-d zeros per (module, dtype): the cheapest second operand for maximum


def _relu(xp, x):
    zero = _ZEROS.get((xp, x.dtype))
    if zero is None:
        zero = _ZEROS[(xp, x.dtype)] = xp.zeros((), x.dtype)
    return xp.maximum(x, zero)


unary("relu", _relu,
      lambda ctx, g: (g * (ctx.out > 0),), lower="relu({0})", saves=Saves.OUTPUTS)
unary("neg", lambda xp, x: xp.negative(x), lambda ctx, g: (-g,), lower="(-{0})",
      saves=Saves.NOTHING)
_abs = unary("abs", lambda xp, x: xp.abs(x), lambda ctx, g: (g * ctx.args[0].sign(),),
             lower="abs({0})")
_abs_broadcast_meta = _abs.meta
_abs.meta = lambda *vals: (m := _abs_broadcast_meta(*vals)).with_(dtype=m.dtype.to_real())
def _sign(xp, x):
    out = xp.sign(x)
    if x.dtype.kind == "f":
        out = xp.where(xp.isnan(x), x.dtype.type(0), out)  # PyTorch: sign(nan) is 0
    return out


unary("sign", _sign, lambda ctx, g: (g * 0,), lower="sign({0})", saves=Saves.NOTHING)
unary("floor", lambda xp, x: xp.floor(x) if x.dtype.kind == "f" else x.copy(),
      lambda ctx, g: (g * 0,), lower="floor({0})", saves=Saves.NOTHING)
unary("ceil", lambda xp, x: xp.ceil(x) if x.dtype.kind == "f" else x.copy(),
      lambda ctx, g: (g * 0,), lower="ceil({0})", saves=Saves.NOTHING)
unary("trunc", lambda xp, x: xp.trunc(x) if x.dtype.kind == "f" else x.copy(),
      lambda ctx, g: (g * 0,), lower="trunc({0})", saves=Saves.NOTHING)
def _frac(xp, x):
    if x.dtype.kind != "f":
        # NOTE: PyTorch has no integer frac kernel (it raises rather than returning zeros)
        name = dtypes.SCALAR_TYPE_NAMES[x.dtype.name]
        raise RuntimeError(f'"frac_cpu" not implemented for {name!r}')
    return x - xp.trunc(x)


unary("frac", _frac, lambda ctx, g: (g,), lower="({0} - trunc({0}))", saves=Saves.NOTHING,
      samples=unary_samples(int_ok=False))
unary("reciprocal", _quiet(lambda xp, x: 1 / x), lambda ctx, g: (-g * ctx.out * ctx.out,),
      lower="(1 / {0})", float_only=True, saves=Saves.OUTPUTS, samples=unary_samples(0.5, 3.0))
unary("square", lambda xp, x: x * x, lambda ctx, g: (2 * g * ctx.args[0],), lower="({0} * {0})")
unary("erf", lambda xp, x: _erf(xp, x),
      lambda ctx, g: (g * (2 / np.sqrt(np.pi)) * (-(ctx.args[0] * ctx.args[0])).exp(),),
      lower="erf({0})", float_only=True)
unary("logical_not", lambda xp, x: xp.logical_not(x), lower="(!{0})",
      promotion=Promotion.ALWAYS_BOOL, differentiable=False, saves=Saves.NOTHING)
unary("bitwise_not", lambda xp, x: xp.invert(x), lower="(~{0})", differentiable=False,
      saves=Saves.NOTHING, samples=unary_samples(-5, 5, float_ok=False))
unary("isnan", lambda xp, x: xp.isnan(x), lower="isnan({0})", promotion=Promotion.ALWAYS_BOOL,
      differentiable=False, saves=Saves.NOTHING)
unary("isinf", lambda xp, x: xp.isinf(x), lower="isinf({0})", promotion=Promotion.ALWAYS_BOOL,
      differentiable=False, saves=Saves.NOTHING)
unary("isfinite", lambda xp, x: xp.isfinite(x), lower="isfinite({0})",
      promotion=Promotion.ALWAYS_BOOL, differentiable=False, saves=Saves.NOTHING)


def _erf(xp, x):
    # NOTE: numpy has no erf; this is W. J. Cody's rational approximation split in three ranges,
    # accurate to float64 rounding (checked against math.erf in tests/ops/test_special.py).

    return erf_array(xp, x)


# --- unary with an extra argument -------------------------------------------------------------
def _round(xp, x, decimals):
    if x.dtype.kind != "f":
        return x.copy()
    return xp.round(x, decimals)


elementwise("round(Tensor self, *, int decimals=0) -> Tensor", _round, lambda ctx, g: (g * 0,),
            lowering="round({0})", promotion=Promotion.DEFAULT, samples=unary_samples(),
            saves=Saves.NOTHING)


# --- binary arithmetic --------------------------------------------------------------------------
def _add_vjp(ctx, g):
    a, b, alpha = ctx.args
    return reduce_grad(g, a), reduce_grad(g if alpha == 1 else g * alpha, b)


def _sub_vjp(ctx, g):
    a, b, alpha = ctx.args
    return reduce_grad(g, a), reduce_grad(-g if alpha == 1 else -g * alpha, b)


def _check_alpha(a, b, alpha) -> None:
    kind = a.dtype.kind if hasattr(a, "dtype") else b.dtype.kind
    if isinstance(alpha, bool) and kind != "b":
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if isinstance(alpha, float) and kind in "iub":
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")


def _add(xp, a, b, alpha):
    if type(alpha) is int and alpha == 1:  # the default (True and 1.0 take the checks below)
        return a + b
    _check_alpha(a, b, alpha)
    return a + alpha * b


def _sub(xp, a, b, alpha):
    if getattr(a, "dtype", None) == np.bool_ and getattr(b, "dtype", None) == np.bool_:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if type(alpha) is int and alpha == 1:
        return a - b
    _check_alpha(a, b, alpha)
    return a - alpha * b


# NOTE: alpha scales ``other`` but takes no part in type promotion (as in PyTorch)
binary("add(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", _add, _add_vjp,
       lower="({0} + {2} * {1})", saves=Saves.NOTHING, promote_args=(0, 1))
binary("sub(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor", _sub, _sub_vjp,
       lower="({0} - {2} * {1})", saves=Saves.NOTHING, promote_args=(0, 1))
def _mul_vjp(ctx, g):
    a, b = ctx.args
    return (reduce_grad(g * b, a) if ctx.needs_input_grad(0) else None,
            reduce_grad(g * a, b) if ctx.needs_input_grad(1) else None)


binary("mul(Tensor self, Tensor other) -> Tensor", lambda xp, a, b: a * b, _mul_vjp,
       lower="({0} * {1})", saves=saved(self="other", other="self"))


@quiet
def _div(xp, a, b, rounding_mode):
    if rounding_mode is None:
        return xp.true_divide(a, b)
    if rounding_mode == "floor":
        return xp.floor_divide(a, b)
    if rounding_mode == "trunc":
        q = xp.true_divide(a, b)
        return xp.trunc(q).astype(q.dtype if hasattr(a, "dtype") and a.dtype.kind == "f"
                                  else np.result_type(a, b), copy=False)
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                     f"found {rounding_mode!r}")


def _div_vjp(ctx, g):
    a, b, mode = ctx.args
    if mode is not None:
        return g * 0, None
    return (reduce_grad(g / b, a) if ctx.needs_input_grad(0) else None,
            reduce_grad(-g * a / (b * b), b) if ctx.needs_input_grad(1) else None)


binary("div(Tensor self, Tensor other, *, str? rounding_mode=None) -> Tensor", _div, _div_vjp,
       lower="({0} / {1})", promotion=Promotion.INT_TO_FLOAT,
       saves=saved(self="other", other=("self", "other")),
       samples=binary_samples(rhs_low=0.5, rhs_high=3.0))
binary("floor_divide(Tensor self, Tensor other) -> Tensor",
       _quiet(lambda xp, a, b: xp.floor_divide(a, b)),
       lambda ctx, g: (reduce_grad(g * 0, ctx.args[0]), None),
       lower="floordiv({0}, {1})", samples=division_samples(), saves=Saves.NOTHING)
def _quotient_vjp(rounding_mode: str):
    """remainder/fmod: a - q * b with q piecewise constant, so d/da = 1 and d/db = -q."""

    def vjp(ctx, g):
        a, b = ctx.args
        gb = None
        if ctx.needs_input_grad(1):
            gb = reduce_grad(-g * a.div(b, rounding_mode=rounding_mode), b)
        return reduce_grad(g, a), gb

    return vjp


binary("remainder(Tensor self, Tensor other) -> Tensor",
       _quiet(lambda xp, a, b: xp.remainder(a, b)),
       _quotient_vjp("floor"),
       lower="mod({0}, {1})", samples=division_samples(),
       saves=saved(self="other", other="other"))
binary("fmod(Tensor self, Tensor other) -> Tensor", _quiet(lambda xp, a, b: xp.fmod(a, b)),
       _quotient_vjp("trunc"),
       lower="fmod({0}, {1})", samples=division_samples(),
       saves=saved(self="other", other="other"))


@quiet
def _pow(xp, a, b):
    if hasattr(a, "dtype") and a.dtype.kind in "iu" and not isinstance(b, float):
        if isinstance(b, int):
            if b < 0:
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            return xp.power(a, b)
        if b.dtype.kind in "iu":
            return _int_pow(xp, a, b)
    return xp.power(a, b)


def _int_pow(xp, a, b):
    # NOTE: a tensor of negative integer exponents is allowed in PyTorch: 1 and -1 keep their
    # magnitude, every other base truncates to 0 (numpy raises instead).
    neg = b < 0
    if not neg.any():
        return xp.power(a, b)
    out = xp.power(a, xp.where(neg, 0, b))
    odd = (b % 2) != 0
    unit = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0)).astype(out.dtype)
    return xp.where(neg, unit, out)


def _pow_vjp(ctx, g):
    a, b = ctx.args
    ga = gb = None
    if ctx.needs_input_grad(0):
        ga = reduce_grad(g * b * a ** (b - 1), a)
    if hasattr(b, "shape") and ctx.needs_input_grad(1):
        out = ctx.out
        if hasattr(a, "shape"):
            log_a = a.where(a > 0, 1).log().where(a > 0, 0)
        else:  # a Python number as the base: 2 ** x
            log_a = math.log(a) if a > 0 else (0.0 if a == 0 else math.nan)
        gb = reduce_grad(g * out * log_a, b)
    return ga, gb


binary("pow(Tensor self, Tensor exponent) -> Tensor", _pow, _pow_vjp, lower="pow({0}, {1})",
       saves=saved(self=ANY, exponent="self", result="exponent"),
       samples=pow_samples)


def _minmax_vjp(pick_left):
    def vjp(ctx, g):
        a, b = ctx.args
        left = pick_left(a, b)
        tie = (a == b)
        ga = g * left.where(~tie, False) + g * 0.5 * tie
        gb = g * (~left).where(~tie, False) + g * 0.5 * tie
        return reduce_grad(ga, a), reduce_grad(gb, b)

    return vjp


binary("maximum(Tensor self, Tensor other) -> Tensor", lambda xp, a, b: xp.maximum(a, b),
       _minmax_vjp(lambda a, b: a > b), lower="max({0}, {1})",
       samples=binary_samples(tensor_other_only=True))
binary("minimum(Tensor self, Tensor other) -> Tensor", lambda xp, a, b: xp.minimum(a, b),
       _minmax_vjp(lambda a, b: a < b), lower="min({0}, {1})",
       samples=binary_samples(tensor_other_only=True))
binary("atan2(Tensor self, Tensor other) -> Tensor", lambda xp, a, b: xp.arctan2(a, b),
       lambda ctx, g: (reduce_grad(g * ctx.args[1] / (ctx.args[0] ** 2 + ctx.args[1] ** 2),
                                   ctx.args[0]),
                       reduce_grad(-g * ctx.args[0] / (ctx.args[0] ** 2 + ctx.args[1] ** 2),
                                   ctx.args[1])),
       lower="atan2({0}, {1})", promotion=Promotion.INT_TO_FLOAT,
       samples=binary_samples(tensor_other_only=True))

# --- comparisons and logic (not differentiable) -------------------------------------------------
for _name, _fn, _sym in (("eq", np.equal, "=="), ("ne", np.not_equal, "!="), ("lt", np.less, "<"),
                         ("le", np.less_equal, "<="), ("gt", np.greater, ">"),
                         ("ge", np.greater_equal, ">=")):
    binary(f"{_name}(Tensor self, Tensor other) -> Tensor",
           (lambda f: lambda xp, a, b: getattr(xp, f.__name__)(a, b))(_fn),
           lower=f"({{0}} {_sym} {{1}})", promotion=Promotion.ALWAYS_BOOL, saves=Saves.NOTHING,
           differentiable=False)

for _name, _sym in (("logical_and", "&&"), ("logical_or", "||"), ("logical_xor", "^^")):
    binary(f"{_name}(Tensor self, Tensor other) -> Tensor",
           (lambda n: lambda xp, a, b: getattr(xp, n)(a, b))(_name),
           lower=f"({{0}} {_sym} {{1}})", promotion=Promotion.ALWAYS_BOOL, saves=Saves.NOTHING,
           differentiable=False, samples=binary_samples(tensor_other_only=True))

for _name, _np, _sym in (("bitwise_and", "bitwise_and", "&"), ("bitwise_or", "bitwise_or", "|"),
                         ("bitwise_xor", "bitwise_xor", "^")):
    binary(f"{_name}(Tensor self, Tensor other) -> Tensor",
           (lambda n: lambda xp, a, b: getattr(xp, n)(a, b))(_np),
           lower=f"({{0}} {_sym} {{1}})", saves=Saves.NOTHING, differentiable=False,
           samples=binary_samples(0, 8, scalar=3, float_ok=False))



def _shift_kernel(left: bool):
    """PyTorch's integer shifts: a shift by the bit width or more gives 0 (left) or the sign
    fill (right), where numpy's result would depend on the machine."""
    def kernel(xp, a, b):
        a, b = xp.asarray(a), xp.asarray(b)
        if a.dtype.kind not in "iu" or b.dtype.kind not in "iu":
            raise DTypeError(f"{'left' if left else 'right'} shift is only implemented for "
                             f"integer tensors, got {a.dtype} and {b.dtype}")
        bits = a.dtype.itemsize * 8
        big = (b >= bits) | (b < 0)
        amount = xp.where(big, 0, b).astype(a.dtype)
        if left:
            return xp.where(big, 0, xp.left_shift(a, amount)).astype(a.dtype)
        fill = xp.right_shift(a, bits - 1) if a.dtype.kind == "i" else xp.zeros_like(a)
        return xp.where(big, fill, xp.right_shift(a, amount)).astype(a.dtype)

    return kernel


for _name, _left in (("bitwise_left_shift", True), ("bitwise_right_shift", False)):
    # OPAQUE, not ELEMENTWISE: the fused code generators have no shift whose result is defined
    # for shifts by the bit width or more, so these are never fused (no lowering)
    _op = register(f"{_name}(Tensor self, Tensor other) -> Tensor", OpKind.OPAQUE,
                   kernel=_shift_kernel(_left), promotion=Promotion.DEFAULT,
                   saves=Saves.NOTHING, differentiable=False,
                   samples=binary_samples(0, 9, scalar=3, float_ok=False),
                   doc=f"Elementwise {'left' if _left else 'right'} shift of an integer tensor "
                       f"(``{'<<' if _left else '>>'}``).")
    _op.meta = elementwise_meta(_op)

# --- ternary --------------------------------------------------------------------------------------
def _where_samples(dtype=dtypes.float64):
    m = SampleMaker(3)
    return [SampleInput((m.tensor((3, 4), dtypes.bool_), m.tensor((3, 4), dtype),
                         m.tensor((4,), dtype)), name="broadcast"),
            SampleInput((m.tensor((5,), dtypes.bool_), m.tensor((5,), dtype), 0.0),
                        name="scalar_other")]


def _where_vjp(ctx, g):
    cond, a, b = ctx.args
    zero = g * 0
    return None, reduce_grad(g.where(cond, zero), a), reduce_grad(zero.where(cond, g), b)


elementwise("where(Tensor condition, Tensor self, Tensor other) -> Tensor",
            lambda xp, c, a, b: xp.where(c, a, b), _where_vjp, lowering="where({0}, {1}, {2})",
            saves=saved(condition=ANY),
            promotion=Promotion.DEFAULT, promote_args=(1, 2), samples=_where_samples)


def _clamp(xp, x, lo, hi):
    if lo is not None and hi is not None:
        return xp.minimum(xp.maximum(x, lo), hi)
    if lo is not None:
        return xp.maximum(x, lo)
    if hi is not None:
        return xp.minimum(x, hi)
    raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")


def _clamp_vjp(ctx, g):
    x, lo, hi = ctx.args
    keep = x == x
    if lo is not None:
        keep = keep & (x >= lo)
    if hi is not None:
        keep = keep & (x <= hi)
    gx = g * keep
    glo = reduce_grad(g * (x < lo), lo) if hasattr(lo, "shape") else None
    ghi = reduce_grad(g * (x > hi), hi) if hasattr(hi, "shape") else None
    return reduce_grad(gx, x), glo, ghi


def _clamp_samples(dtype=dtypes.float64):
    m = SampleMaker(4)
    return [SampleInput((m.tensor((6,), dtype), -1.0, 1.0), name="both"),
            SampleInput((m.tensor((2, 3), dtype), None, 0.5), name="max_only"),
            SampleInput((m.tensor((2, 3), dtype), m.tensor((3,), dtype, -2, 0), None),
                        name="tensor_min")]


elementwise("clamp(Tensor self, Tensor? min=None, Tensor? max=None) -> Tensor", _clamp,
            _clamp_vjp, lowering="clamp({0}, {1}, {2})", promotion=Promotion.DEFAULT,
            backward_name=lambda a: "ClampBackward0" if hasattr(a[1], "shape")
            or hasattr(a[2], "shape") else "ClampBackward1",
            saves=Saves.INPUTS,
            promote_args=(0, 1, 2), samples=_clamp_samples)
