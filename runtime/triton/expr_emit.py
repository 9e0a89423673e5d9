"""One op's lowering (an :data:`~graphtorch.ops.lowering.Expr`) -> a typed Triton expression.

Every emitted expression carries its graphtorch dtype; Triton computes it in the *compute* dtype
(float16 in float32, bool as ``tl.int1``). Python numbers stay weak (untyped) until they meet a
typed operand, then take its dtype, as PyTorch's wrapped numbers do. Tensor arguments the op
promotes are converted to the op's promoted dtype before the template reads them, as dispatch
casts them before an eager kernel runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphtorch import dtypes
from graphtorch.errors import UnsupportedError
from graphtorch.ops.lowering import Arg, BinOp, Call, Const, Expr, UnaryOp

from .math_lib import FLOAT_HELPERS, INT_HELPERS, constant, helper_name

_COMPUTE = {"bool": "tl.int1", "uint8": "tl.uint8", "int8": "tl.int8", "int16": "tl.int16",
            "int32": "tl.int32", "int64": "tl.int64", "float16": "tl.float32",
            "float32": "tl.float32", "float64": "tl.float64"}
# how each dtype lies in memory (bool as uint8 bytes: Triton's i1 pointers differ by version)
_STORAGE = dict(_COMPUTE, bool="tl.uint8", float16="tl.float16")


def compute_tl(dt: dtypes.dtype) -> str:
    return _tl(_COMPUTE, dt)


def storage_tl(dt: dtypes.dtype) -> str:
    return _tl(_STORAGE, dt)


def _tl(table: dict, dt: dtypes.dtype) -> str:
    try:
        return table[dt.name]
    except KeyError:   # complex: the group's ops run instead
        raise UnsupportedError(f"Triton kernels have no {dt.name} type") from None


@dataclass(frozen=True)
class Val:
    """An emitted value: ``code`` of ``dtype``. ``dtype`` None marks a weak Python number (or
    None / a dtype argument): a constant ``value`` when ``code`` is None, else the kernel scalar
    ``code`` with ``value`` a stand-in of its Python type (0.0, 0 or False) for promotion."""

    code: str | None
    dtype: dtypes.dtype | None = None
    value: object = None


def convert(v: Val, dt: dtypes.dtype) -> str:
    """Code of ``v`` as a value of ``dt`` (in ``dt``'s compute dtype)."""
    target = compute_tl(dt)
    if v.dtype is None:
        if v.code is None:
            return constant(v.value, target)
        return f"tl.cast({v.code}, {target})" if dt.name != "bool" else f"({v.code} != 0)"
    if v.dtype is dt:
        return v.code
    if dt.name == "bool":
        return f"({v.code} != 0)"
    if dt.name == "float16":
        # NOTE: round through float16 as eager's cast does, then compute in float32
        return f"{v.code}.to(tl.float16).to(tl.float32)"
    if compute_tl(v.dtype) == target:
        return v.code
    return f"{v.code}.to({target})"


class ExprEmitter:
    """Emits the lowering of one node; collects the helpers the expression calls."""

    def __init__(self, helpers: set):
        self.helpers = helpers

    def emit(self, expr: Expr, args: list[Val]) -> Val:
        if isinstance(expr, Arg):
            return args[expr.index]
        if isinstance(expr, Const):
            return Val(None, None, expr.value)
        if isinstance(expr, UnaryOp):
            return self._unary(expr.op, self.emit(expr.a, args))
        if isinstance(expr, BinOp):
            return self._binary(expr.op, self.emit(expr.a, args), self.emit(expr.b, args))
        assert isinstance(expr, Call)
        if expr.fn == "cast":
            x, dt = self.emit(expr.args[0], args), self.emit(expr.args[1], args)
            return self._typed(convert(x, dt.value), dt.value)
        return self._call(expr.fn, [self.emit(a, args) for a in expr.args])

    # -- typing --------------------------------------------------------------------------------
    @staticmethod
    def _typed(code: str, dt: dtypes.dtype) -> Val:
        return Val(code, dt)

    @staticmethod
    def _unify(*vals: Val) -> tuple[dtypes.dtype, list[str]]:
        typed = [v.dtype for v in vals if v.dtype is not None]
        if not typed:
            # two weak numbers: float if either is a float (the template's own literals)
            is_float = any(isinstance(v.value, float) for v in vals)
            dt = dtypes.get_default_dtype() if is_float else dtypes.int64
        else:
            dt = typed[0]
            for t in typed[1:]:
                dt = dtypes.promote_types(dt, t)
        return dt, [convert(v, dt) for v in vals]

    def _bool(self, v: Val) -> str:
        return convert(v, dtypes.bool_)

    # -- operators -----------------------------------------------------------------------------
    def _unary(self, op: str, a: Val) -> Val:
        if op == "!":
            return self._typed(f"({self._bool(a)} == 0)", dtypes.bool_)
        dt, (x,) = self._unify(a)
        if op == "-":
            return self._typed(f"(-{x})", dt)
        if dt.name == "bool":  # "~": bitwise not of a bool is logical not
            return self._typed(f"({x} == 0)", dt)
        if dt.is_floating_point:
            raise UnsupportedError("bitwise_not is only defined for integer and bool tensors")
        return self._typed(f"(~{x})", dt)

    def _binary(self, op: str, a: Val, b: Val) -> Val:
        if op in ("&&", "||", "^^"):
            sym = {"&&": "&", "||": "|", "^^": "^"}[op]
            return self._bool_bitwise(sym, self._bool(a), self._bool(b))
        dt, (x, y) = self._unify(a, b)
        if op in ("&", "|", "^") and dt.name == "bool":
            return self._bool_bitwise(op, x, y)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return self._typed(f"({x} {op} {y})", dtypes.bool_)
        if op == "/":
            if not dt.is_floating_point:
                dt = dtypes.get_default_dtype()
                x, y = convert(a, dt), convert(b, dt)
            return self._typed(f"({x} / {y})", dt)
        if op in ("&", "|", "^") and dt.is_floating_point:
            raise UnsupportedError(f"bitwise operator {op!r} is not defined for floating tensors")
        if op in ("+", "-", "*") and dt.name == "bool":
            # NOTE: PyTorch's add/mul of bools is or/and (sub of bools raises before lowering)
            return self._bool_bitwise({"+": "|", "*": "&", "-": "^"}[op], x, y)
        return self._typed(f"({x} {op} {y})", dt)

    def _bool_bitwise(self, sym: str, x: str, y: str) -> Val:
        # NOTE: on int8, not int1: Triton 3.9's interpreter splats a 0-dim int1 into float data,
        # which numpy's bitwise ufuncs reject; the GPU compiles both forms alike
        return self._typed(f"(({x}).to(tl.int8) {sym} ({y}).to(tl.int8) != 0)", dtypes.bool_)

    # -- functions -----------------------------------------------------------------------------
    def _helper(self, name: str, dt: dtypes.dtype, codes: list[str]) -> Val:
        key = (name, compute_tl(dt) if dt.is_floating_point else None)
        self.helpers.add(key)
        return self._typed(f"{helper_name(*key)}({', '.join(codes)})", dt)

    def _float_args(self, vals: list[Val]) -> tuple[dtypes.dtype, list[str]]:
        dt, codes = self._unify(*vals)
        if not dt.is_floating_point:
            dt = dtypes.get_default_dtype()
            codes = [convert(v, dt) for v in vals]
        return dt, codes

    def _call(self, fn: str, vals: list[Val]) -> Val:
        if fn in ("where",):
            cond = self._bool(vals[0])
            dt, (x, y) = self._unify(vals[1], vals[2])
            return self._typed(f"tl.where({cond}, {x}, {y})", dt)
        if fn == "clamp":
            x = vals[0]
            lo, hi = (v if not (v.dtype is None and v.code is None and v.value is None)
                      else None for v in vals[1:])
            if lo is None and hi is None:
                # NOTE: eager raises; refusing lets the caller's fallback raise the same error
                raise UnsupportedError("clamp with neither min nor max has no lowering")
            out = x
            if lo is not None:
                out = self._call("max", [out, lo])
            if hi is not None:
                out = self._call("min", [out, hi])
            return out
        if fn in ("max", "min"):
            dt, (x, y) = self._unify(*vals)
            cmp = ">" if fn == "max" else "<"
            pick = f"({x} {cmp} {y})"
            if dt.is_floating_point:  # NOTE: nan-propagating, like PyTorch
                pick = self._bool_bitwise("|", pick, f"({x} != {x})").code
            return self._typed(f"tl.where({pick}, {x}, {y})", dt)
        if fn in ("isnan", "isinf", "isfinite"):
            dt, (x,) = self._unify(*vals)
            if not dt.is_floating_point:
                return self._typed(f"({x} != {x})" if fn != "isfinite" else f"({x} == {x})",
                                   dtypes.bool_)
            # NOTE: x - x is 0 for finite x and nan for inf and nan; no inf literal needed
            code = {"isnan": f"({x} != {x})",
                    "isinf": self._bool_bitwise("&", f"({x} == {x})", f"(({x} - {x}) != 0)").code,
                    "isfinite": f"(({x} - {x}) == 0)"}[fn]
            return self._typed(code, dtypes.bool_)
        if fn in ("floor", "ceil", "trunc", "round", "abs", "relu", "sign"):
            dt, (x,) = self._unify(*vals)
            return self._rounding(fn, dt, x)
        if fn in ("floordiv", "mod", "fmod"):
            dt, codes = self._unify(*vals)
            if fn == "fmod":
                return self._typed(f"({codes[0]} % {codes[1]})", dt)
            if dt.is_floating_point or fn in INT_HELPERS:
                return self._helper(fn, dt, codes)
        if fn == "pow":
            dt, codes = self._unify(*vals)
            if not dt.is_floating_point:
                raise UnsupportedError("the Triton backend has no integer pow; it runs eagerly")
            return self._helper("pow", dt, codes)
        dt, codes = self._float_args(vals)
        if fn in FLOAT_HELPERS:
            return self._helper(fn, dt, codes)
        direct = {"exp": "tl.exp", "log": "tl.log", "log2": "tl.log2", "sqrt": "tl.sqrt",
                  "rsqrt": "tl.math.rsqrt", "sin": "tl.sin", "cos": "tl.cos", "erf": "tl.erf"}
        if fn in direct:
            return self._typed(f"{direct[fn]}({codes[0]})", dt)
        raise UnsupportedError(f"the Triton backend has no lowering for {fn}()")

    def _rounding(self, fn: str, dt: dtypes.dtype, x: str) -> Val:
        if fn == "relu":
            return self._typed(f"tl.where({x} < 0, {constant(0, compute_tl(dt))}, {x})", dt)
        if dt.name == "bool" or (dt.name == "uint8" and fn in ("abs", "sign")):
            return self._typed(x, dt)
        if not dt.is_floating_point:
            if fn == "abs":
                return self._typed(f"tl.abs({x})", dt)
            if fn == "sign":
                return self._helper("sign", dt, [x])
            return self._typed(x, dt)   # floor/ceil/trunc/round of integers: identity
        if fn in ("floor", "ceil", "abs"):
            return self._typed(f"tl.{fn}({x})", dt)
        return self._helper(fn, dt, [x])
