"""FusionGroup kernels in C: the numpy chunk body of a group, translated line by line.

The numpy fused kernel (``cpu_fused.FusedKernel``) already fixes every dtype decision of a group
for one specialization: each member computes in its PyTorch-promoted dtype, operands are cast,
results are cast to what the eager kernel returns. Its body is straight-line ``tN = f(..., out=tN)``
calls whose operand and result dtypes are known. This module turns that body into one C loop:
each call becomes ``T tN = (T)(expression in numpy's loop dtype)``, so the C kernel computes what
numpy computed, in the same dtypes, with one pass over memory and no intermediates.

Broadcasting: the output is contiguous; the inputs' broadcast strides are collapsed to at most two
dimensions ``(n0, n1)`` (rows and a row); each input's inner stride is 0 (broadcast), 1
(contiguous) or general, fixed per compiled variant so the inner loop vectorizes. Layouts that
do not collapse to two dimensions, dtypes without a C type (float16, complex) and members that
call an eager kernel stay on the numpy chunk path (``None`` from :meth:`CKernel.__call__`).
Large outputs split into blocks run by OpenMP threads when ``GT_NUM_THREADS`` > 1 (default 1;
with one thread the parallel branches are not compiled at all: ~15% less compile time).
"""

from __future__ import annotations

import ast
import os

import numpy as np

from graphtorch.runtime import c_backend
from graphtorch.runtime.c_launch import address, launcher

C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double",
           np.dtype(np.int64): "int64_t", np.dtype(np.int32): "int32_t",
           np.dtype(np.int16): "int16_t", np.dtype(np.int8): "int8_t",
           np.dtype(np.uint8): "uint8_t", np.dtype(np.bool_): "uint8_t"}
# below this many output elements one thread runs the kernel (barrier waits cost more)
PARALLEL_MIN = 1 << 20
BLOCK = 1 << 14

_MVEC = ("exp", "log", "log2", "log10", "log1p", "expm1", "sin", "cos", "tan", "asin", "acos",
         "atan", "sinh", "cosh", "tanh", "erf")


def _libmvec() -> bool:
    try:
        name, version = os.confstr("CS_GNU_LIBC_VERSION").split()
        major, minor = (int(x) for x in version.split(".")[:2])
    except (ValueError, OSError, AttributeError):
        return False
    return name == "glibc" and (major, minor) >= (2, 35)


def threads() -> int:
    """Threads a large kernel may use: ``GT_NUM_THREADS`` (default 1). On a shared machine an
    OpenMP barrier can wait longer than the whole single-threaded kernel, so it is opt-in."""
    try:
        return max(1, int(os.environ.get("GT_NUM_THREADS", "1")))
    except ValueError:
        return 1


def prelude() -> str:
    """Headers, SIMD declarations of libm functions (libmvec) and exact numpy helpers."""
    lines = ["#include <math.h>", "#include <stdint.h>", "#include <stddef.h>",
             f"#define GT_THREADS {threads()}"]
    if _libmvec():
        # NOTE: glibc declares these SIMD variants only under full -ffast-math; we keep NaN and
        # inf semantics (-fno-finite-math-only) and declare them ourselves
        lines.append('#define GT_SIMD __attribute__((__simd__("notinbranch")))')
        for f in _MVEC:
            lines.append(f"GT_SIMD float {f}f(float); GT_SIMD double {f}(double);")
    lines.append(_HELPERS)
    return "\n".join(lines) + "\n"


_HELPERS = r"""
#define GT_MAX(a, b) (((a) != (a)) ? (a) : (((b) != (b)) ? (b) : ((a) > (b) ? (a) : (b))))
#define GT_MIN(a, b) (((a) != (a)) ? (a) : (((b) != (b)) ? (b) : ((a) < (b) ? (a) : (b))))
#define GT_IMAX(a, b) ((a) > (b) ? (a) : (b))
#define GT_IMIN(a, b) ((a) < (b) ? (a) : (b))
static inline double gt_floordiv(double a, double b) {
  if (b == 0) return a / b;
  double mod = fmod(a, b), div = (a - mod) / b;
  if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1.0;
  if (div == 0) return copysign(0.0, a / b);
  double fl = floor(div);
  return (div - fl > 0.5) ? fl + 1.0 : fl;
}
/* exp of a float32 in (-inf, 0] (x - max in softmax rows): Cody-Waite reduction by ln 2 and a
   degree-6 polynomial, inlined so the row loops vectorize without a libm call; within 1.02 ulp
   of exp on [-87.3, 0] (measured), 0 below -87.5 (exp's subnormal range), NaN stays NaN. */
static inline float gt_expf(float x) {
  float xc = x < -87.5f ? -87.5f : (x > 88.5f ? 88.5f : x);
  float n = __builtin_rintf(xc * 1.44269504088896341f);
  float r = __builtin_fmaf(n, -0.693145751953125f, xc);
  r = __builtin_fmaf(n, -1.428606765330187045e-06f, r);
  float p = 1.9875691500e-4f;
  p = __builtin_fmaf(p, r, 1.3981999507e-3f);
  p = __builtin_fmaf(p, r, 8.3334519073e-3f);
  p = __builtin_fmaf(p, r, 4.1665795894e-2f);
  p = __builtin_fmaf(p, r, 1.6666665459e-1f);
  p = __builtin_fmaf(p, r, 5.0000001201e-1f);
  p = __builtin_fmaf(p * r, r, r) + 1.0f;
  union { int32_t i; float f; } scale;
  scale.i = ((int32_t)n + 127) << 23;
  float y = p * scale.f;
  y = x < -87.5f ? 0.0f : y;
  return x > 88.5f ? INFINITY : y;
}
static inline float gt_floordivf(float a, float b) { return (float)gt_floordiv(a, b); }
static inline double gt_mod(double a, double b) {
  double mod = fmod(a, b);
  if (b == 0) return mod;
  if (mod != 0) { if ((b < 0) != (mod < 0)) mod += b; } else mod = copysign(0.0, b);
  return mod;
}
static inline float gt_modf(float a, float b) {
  float mod = fmodf(a, b);
  if (b == 0) return mod;
  if (mod != 0) { if ((b < 0) != (mod < 0)) mod += b; } else mod = copysignf(0.0f, b);
  return mod;
}
"""


class Unsupported(Exception):
    """This body cannot be C: the numpy chunk path runs it."""


# numpy callee -> (C template over operands already in the loop type, float only?)
_FLOAT_FNS = {"np.exp": "exp", "np.log": "log", "np.log2": "log2", "np.log10": "log10",
              "np.log1p": "log1p", "np.expm1": "expm1", "np.sqrt": "sqrt", "np.sin": "sin",
              "np.cos": "cos", "np.tan": "tan", "np.arcsin": "asin", "np.arccos": "acos",
              "np.arctan": "atan", "np.sinh": "sinh", "np.cosh": "cosh", "np.tanh": "tanh",
              "_erf": "erf"}
_ROUNDING = {"np.floor": "floor", "np.ceil": "ceil", "np.trunc": "trunc", "np.round": "nearbyint"}
_ARITH = {"np.add": "+", "np.subtract": "-", "np.multiply": "*"}
_COMPARE = {"np.equal": "==", "np.not_equal": "!=", "np.less": "<", "np.less_equal": "<=",
            "np.greater": ">", "np.greater_equal": ">="}
_BITWISE = {"np.bitwise_and": "&", "np.bitwise_or": "|", "np.bitwise_xor": "^"}


# eager kernels the numpy body calls on a chunk whose float meaning is one C expression
_EAGER_MAPS = {"K_relu": "({x} != {x} ? {x} : ({x} > 0 ? {x} : 0))"}


def _is_float(dt: np.dtype) -> bool:
    return dt.kind == "f"


class _Translator:
    """One chunk body -> the C statements of one element."""

    def __init__(self, spec, params: list[str], arg_kinds: list, ns: dict):
        self.ns = ns
        self.types: dict[str, np.dtype | type] = {}
        for name, kind in zip(params, arg_kinds):
            self.types[name] = kind
        for name, dt in spec.temps:
            self.types[name] = np.dtype(dt)
        for name, dt in zip(spec.out_temps, spec.out_dtypes):
            self.types[name] = np.dtype(dt)
        self.stmts: list[str] = []

    # -- operands ------------------------------------------------------------------------------
    def operand(self, node) -> tuple[str, object]:
        """(C expression, dtype or Python scalar type) of one argument of a call."""
        if isinstance(node, ast.Name):
            if node.id in self.types:
                return self.load(node.id), self.types[node.id]
            if node.id in ("inf", "nan"):
                return ("INFINITY" if node.id == "inf" else "NAN"), float
            v = self.ns.get(node.id)
            if isinstance(v, (bool, int, float)):
                return self.operand(ast.Constant(v))
            raise Unsupported(f"operand {node.id}")
        if isinstance(node, ast.Constant):
            v = node.value
            if v is None:
                return "None", type(None)
            if isinstance(v, bool):
                return str(int(v)), bool
            if isinstance(v, int):
                return f"{v}LL", int
            if isinstance(v, float):
                return _c_float(v), float
            raise Unsupported(f"literal {v!r}")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            c, t = self.operand(node.operand)
            if t not in (int, float):
                raise Unsupported("negated tensor operand")
            return f"(-{c})", t
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult,
                                                                  ast.Div)):
            (a, ta), (b, tb) = self.operand(node.left), self.operand(node.right)
            if ta not in (int, float, bool) or tb not in (int, float, bool):
                raise Unsupported("scalar expression over tensors")
            if isinstance(node.op, ast.Div):
                return f"((double){a} / (double){b})", float
            op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}[type(node.op)]
            t = float if float in (ta, tb) else int
            return f"({a} {op} {b})", t
        raise Unsupported(ast.dump(node))

    def load(self, name: str) -> str:
        return name  # temps and scalar params are C locals of the same name

    # -- statements ----------------------------------------------------------------------------
    def line(self, text: str) -> None:
        tree = ast.parse(text.split("  #", 1)[0].strip()).body[0]
        if not isinstance(tree, ast.Assign) or not isinstance(tree.value, ast.Call):
            raise Unsupported(text)
        target = tree.targets[0].id
        call = tree.value
        fn = ast.unparse(call.func)
        if fn == "_store" and isinstance(call.args[0], ast.Call):
            inner = ast.unparse(call.args[0].func)  # an eager kernel on the chunk: K_<op>(np, x)
            if inner not in _EAGER_MAPS:
                raise Unsupported(inner)
            (c, t), = [self.operand(a) for a in call.args[0].args[1:]]
            out_t = self.types[target]
            if not isinstance(t, np.dtype) or not _is_float(t):
                raise Unsupported(f"{inner} on {t}")
            expr = _EAGER_MAPS[inner].format(x=f"(({ctype(t)}){c})")
            self.stmts.append(f"{ctype(out_t)} {target} = ({ctype(out_t)})({expr});")
            return
        args = [self.operand(a) for a in (call.args[:1] if fn == "_cast" else call.args)]
        out_t = self.types[target]
        expr = self.expr(fn, args, out_t)
        ct = ctype(out_t)
        if out_t == np.bool_:
            expr = f"(({expr}) != 0)"
        self.stmts.append(f"{ct} {target} = ({ct})({expr});")

    def expr(self, fn: str, args: list, out_t: np.dtype) -> str:
        if fn == "_cast":
            return args[0][0]
        if fn == "_where":
            (c, _), (a, _), (b, _) = args
            ct = ctype(out_t)
            return f"({c} ? ({ct})({a}) : ({ct})({b}))"
        if fn == "_clamp":
            x = args[0][0]
            ct = ctype(out_t)
            mx, mn = ("GT_MAX", "GT_MIN") if _is_float(out_t) else ("GT_IMAX", "GT_IMIN")
            r = f"({ct})({x})"
            if args[1][0] != "None":
                r = f"{mx}({r}, ({ct})({args[1][0]}))"
            if args[2][0] != "None":
                r = f"{mn}({r}, ({ct})({args[2][0]}))"
            return r
        r = _loop_dtype(fn, [t for _, t in args])
        rc = ctype(r)
        ops = [f"(({rc}){c})" for c, _ in args]
        f = "f" if r == np.float32 else ""
        if fn in _ARITH:
            if r == np.bool_:
                raise Unsupported("bool arithmetic")
            return f"({ops[0]} {_ARITH[fn]} {ops[1]})"
        if fn == "np.true_divide":
            return f"({ops[0]} / {ops[1]})"
        if fn in _COMPARE:
            return f"({ops[0]} {_COMPARE[fn]} {ops[1]})"
        if fn == "np.logical_and":
            return f"(({ops[0]} != 0) && ({ops[1]} != 0))"
        if fn == "np.logical_or":
            return f"(({ops[0]} != 0) || ({ops[1]} != 0))"
        if fn == "np.logical_xor":
            return f"(({ops[0]} != 0) != ({ops[1]} != 0))"
        if fn == "np.logical_not":
            return f"({ops[0]} == 0)"
        if fn in _BITWISE:
            if _is_float(r):
                raise Unsupported("bitwise on floats")
            return f"({ops[0]} {_BITWISE[fn]} {ops[1]})"
        if fn == "np.invert":
            if _is_float(r):
                raise Unsupported("invert on floats")
            return f"(!{ops[0]})" if r == np.bool_ else f"(~{ops[0]})"
        if fn == "np.negative":
            if r == np.bool_:
                raise Unsupported("negative of bool")
            return f"(-{ops[0]})"
        if fn in ("np.maximum", "np.minimum"):
            name = {"np.maximum": "MAX", "np.minimum": "MIN"}[fn]
            return f"GT_{'' if _is_float(r) else 'I'}{name}({ops[0]}, {ops[1]})"
        if fn == "np.abs":
            if _is_float(r):
                return f"fabs{f}({ops[0]})"
            return ops[0] if r == np.bool_ else f"({ops[0]} < 0 ? -{ops[0]} : {ops[0]})"
        if fn in _ROUNDING:
            return f"{_ROUNDING[fn]}{f}({ops[0]})" if _is_float(r) else ops[0]
        if fn in ("np.isnan", "np.isinf", "np.isfinite"):
            if not _is_float(r):
                return "1" if fn == "np.isfinite" else "0"
            return {"np.isnan": f"({ops[0]} != {ops[0]})", "np.isinf": f"isinf({ops[0]})",
                    "np.isfinite": f"isfinite({ops[0]})"}[fn]
        if fn == "_sign":
            return f"(({ops[0]} > 0) - ({ops[0]} < 0))"
        if not _is_float(r):
            raise Unsupported(f"{fn} on {r}")
        if fn in _FLOAT_FNS:
            return f"{_FLOAT_FNS[fn]}{f}({ops[0]})"
        if fn == "np.sqrt":
            return f"sqrt{f}({ops[0]})"
        if fn == "_rsqrt":
            return f"(1 / sqrt{f}({ops[0]}))"
        if fn == "_sigmoid":
            return f"(1 / (1 + exp{f}(-{ops[0]})))"
        if fn == "np.power":
            return f"pow{f}({ops[0]}, {ops[1]})"
        if fn == "np.arctan2":
            return f"atan2{f}({ops[0]}, {ops[1]})"
        if fn == "np.fmod":
            return f"fmod{f}({ops[0]}, {ops[1]})"
        if fn == "np.floor_divide":
            return f"gt_floordiv{f}({ops[0]}, {ops[1]})"
        if fn == "np.remainder":
            return f"gt_mod{f}({ops[0]}, {ops[1]})"
        raise Unsupported(fn)


def _c_float(v: float) -> str:
    if v != v:
        return "NAN"
    if v in (float("inf"), float("-inf")):
        return "INFINITY" if v > 0 else "(-INFINITY)"
    return repr(float(v))


def ctype(t) -> str:
    if t is float:
        return "double"
    if t is int:
        return "int64_t"
    if t is bool:
        return "uint8_t"
    c = C_TYPES.get(np.dtype(t))
    if c is None:
        raise Unsupported(f"dtype {t}")
    return c


_REPR = {float: 1.5, int: 1, bool: True}


def _loop_dtype(fn: str, kinds: list) -> np.dtype:
    """The dtype numpy's ufunc loop computes in for these operands (NEP 50 weak scalars)."""
    probes = [_REPR[k] if k in _REPR else np.empty(1, k) for k in kinds]
    r = np.result_type(*probes)
    if fn == "np.true_divide" and r.kind in "biu":
        return np.dtype(np.float64)  # numpy divides integers in float64
    return r


# --- building and running one variant ------------------------------------------------------------
def element_code(spec, arg_kinds: list) -> tuple[list[str], list[str]]:
    """(the group's parameter names, the C statements of one element): each parameter is a C
    local of its name (a loaded tensor element or a scalar), ``spec.out_temps`` name the
    outputs. Raises :class:`Unsupported` for a body C cannot express."""
    body = spec.source.splitlines()[1:]
    head = spec.source.splitlines()[0]
    names = head[head.index("(") + 1:head.rindex(")")].split(", ")
    params = names[:len(arg_kinds)]
    tr = _Translator(spec, params, arg_kinds, spec.chunk.__globals__)
    for line in body:
        if line.strip() and line.strip() != "pass":
            tr.line(line.strip())
    return params, tr.stmts


def generate(spec, arg_kinds: list, inner: list[str], alias: tuple = ()) -> str:
    """C source of ``kernel(P, I, D)`` (``c_launch.py``'s ABI) for one spec; ``inner[i]``: '0',
    '1' or 'g' per tensor input. ``alias``: (output index, tensor input index) pairs whose
    output is stored into that input's array (the in-place variant, ``plan_memory.py``): the
    pair is one writable ``restrict`` pointer (the output's slot in ``P`` is not read), so no
    two ``restrict`` pointers ever alias; element ``j`` of the input is read only to store
    element ``j`` (the caller checks same shape, dtype and C-contiguous strides)."""
    params, stmts = element_code(spec, arg_kinds)
    into = {k: i for i, k in alias}  # tensor input index -> the output stored into it
    sig = ["long n0", "long n1"]
    unpack = ["long n0 = I[0], n1 = I[1];"]
    loads, ptr_setup = [], []
    k, ni, nd, npt = 0, 2, 0, 0
    for name, kind in zip(params, arg_kinds):
        if isinstance(kind, np.dtype):
            ct = ctype(kind)
            cq = "" if k in into else "const "   # NOTE: an aliased input is written through
            sig += [f"{cq}{ct}* restrict {name}_p", f"long {name}_s0", f"long {name}_s1"]
            unpack.append(f"{cq}{ct}* {name}_p = ({cq}{ct}*)P[{npt}]; "
                          f"long {name}_s0 = I[{ni}], {name}_s1 = I[{ni + 1}];")
            npt, ni = npt + 1, ni + 2
            ptr_setup.append(f"{cq}{ct}* restrict {name}_r = {name}_p + i * {name}_s0;")
            idx = {"0": "0", "1": "j", "g": f"j * {name}_s1"}[inner[k]]
            loads.append(f"{ct} {name} = {name}_r[{idx}];")
            k += 1
    for name, kind in zip(params, arg_kinds):
        if not isinstance(kind, np.dtype):
            if kind is float:
                sig.append(f"double {name}")
                unpack.append(f"double {name} = D[{nd}];")
                nd += 1
            else:
                sig.append(f"int64_t {name}")
                unpack.append(f"int64_t {name} = I[{ni}];")
                ni += 1
    outs = []
    stored = {i: [n for n, kd in zip(params, arg_kinds) if isinstance(kd, np.dtype)][k]
              for i, k in alias}
    for i, (name, dt) in enumerate(zip(spec.out_temps, spec.out_dtypes)):
        ct = ctype(dt)
        if i in stored:   # NOTE: stored through the input's row pointer; P's slot unused
            npt += 1
            outs.append(f"{stored[i]}_r[j] = {name};")
            continue
        sig.append(f"{ct}* restrict out{i}_p")
        unpack.append(f"{ct}* out{i}_p = ({ct}*)P[{npt}];")
        npt += 1
        outs.append(f"out{i}_p[i * n1 + j] = {name};")
    inner_body = "\n        ".join(loads + stmts + outs)
    setup = "\n      ".join(ptr_setup)
    unpacked = "\n  ".join(unpack)
    src = f"""{prelude()}
static void rows(long r0, long r1, long j0, long j1, {", ".join(sig)}) {{
  for (long i = r0; i < r1; i++) {{
      {setup}
      for (long j = j0; j < j1; j++) {{
        {inner_body}
      }}
  }}
}}

void kernel(void *const *P, const int64_t *I, const double *D) {{
  {unpacked}
  long total = n0 * n1;
  if (GT_THREADS == 1 || total < {PARALLEL_MIN}) {{
    rows(0, n0, 0, n1, {_call_args(sig)});
    return;
  }}
#if GT_THREADS > 1
  if (n0 == 1) {{
    long nb = (n1 + {BLOCK} - 1) / {BLOCK};
    #pragma omp parallel for schedule(static) num_threads(GT_THREADS)
    for (long b = 0; b < nb; b++) {{
      long j1 = (b + 1) * {BLOCK} < n1 ? (b + 1) * {BLOCK} : n1;
      rows(0, 1, b * {BLOCK}, j1, {_call_args(sig)});
    }}
  }} else {{
    #pragma omp parallel for schedule(static) num_threads(GT_THREADS)
    for (long i = 0; i < n0; i++) rows(i, i + 1, 0, n1, {_call_args(sig)});
  }}
#endif
}}
"""
    return src


def _call_args(sig: list[str]) -> str:
    return ", ".join(s.rsplit(" ", 1)[1] for s in sig)


def collapse(full: tuple, arrays: list) -> tuple[int, int, list] | None:
    """(n0, n1, [(outer stride, inner stride) per array]) in elements, or None."""
    nd = len(full)
    dims = []
    for d in range(nd):
        if full[d] == 1:
            continue
        strides = []
        for a in arrays:
            j = d - (nd - a.ndim)
            if j < 0 or a.shape[j] == 1:
                strides.append(0)
            else:
                s, r = divmod(a.strides[j], a.itemsize)
                if r:
                    return None
                strides.append(s)
        dims.append((full[d], strides))
    merged: list = []
    for size, strides in reversed(dims):
        if merged:
            msize, mstrides = merged[-1]
            if all(s == ms * msize for s, ms in zip(strides, mstrides)):
                merged[-1] = (msize * size, mstrides)
                continue
        merged.append((size, strides))
    merged.reverse()
    if len(merged) > 2:
        return None
    if not merged:
        return 1, 1, [(0, 0)] * len(arrays)
    if len(merged) == 1:
        size, strides = merged[0]
        return 1, size, [(0, s) for s in strides]
    (n0, s0), (n1, s1) = merged
    return n0, n1, list(zip(s0, s1))


def operand_kinds(args: list) -> list:
    """Each argument's dtype (arrays) or Python type; Unsupported for anything else."""
    kinds = []
    for a in args:
        if isinstance(a, np.ndarray):
            kinds.append(a.dtype)
        elif a is None:
            kinds.append(type(None))
        else:
            kinds.append(type(a))
    if any(k not in (float, int, bool) and not isinstance(k, np.dtype) for k in kinds):
        raise Unsupported("operand that is not a tensor or number")
    return kinds


class CKernel:
    """A FusionGroup as C: ``kernel(args) -> output arrays`` or None (run the numpy path)."""

    def __init__(self, fused):
        self.fused = fused
        self.variants: dict = {}
        self.sources: dict = {}  # variant -> the source pending_source generated
        self.failed: str | None = None

    def _geometry(self, args: list):
        """(spec, output shape, n0, n1, strides, inner kinds) of these arguments, or None."""
        spec = self.fused.spec(args)
        if spec is None:
            return None
        arrays = [args[i] for i in spec.tensor_inputs]
        try:
            full = np.broadcast_shapes(*[a.shape for a in arrays])
        except ValueError:
            return None
        if not self.fused._outputs_full(args, full):
            return None
        lay = collapse(full, arrays)
        if lay is None:
            return None
        n0, n1, strides = lay
        inner = tuple("0" if s1 == 0 else "1" if s1 == 1 else "g" for _, s1 in strides)
        return spec, full, n0, n1, strides, inner

    def pending_source(self, args: list) -> str | None:
        """The C source :meth:`layout` would compile for these arguments (None: nothing to
        compile), so that a plan can compile all its kernels in one go
        (``c_backend.load_many``)."""
        geo = self._geometry(args)
        if geo is None or (id(geo[0]), geo[5]) in self.variants:
            return None
        try:
            src = generate(geo[0], operand_kinds(args), list(geo[5]))
        except Exception:  # noqa: BLE001 - layout() records the failure when it retries
            return None
        self.sources[(id(geo[0]), geo[5], tuple(operand_kinds(args)))] = src  # NOTE: for _build
        return src

    def layout(self, args: list):
        """(kernel address, output shape, output dtypes, ints prefix, strides) for these
        arguments' dtypes, shapes and strides, or None (the numpy path runs them)."""
        geo = self._geometry(args)
        return None if geo is None else self._variant(args, geo, ())

    def inplace_layout(self, args: list, alias: tuple):
        """:meth:`layout` of the variant that stores output ``i`` into argument ``p`` for each
        ``(i, p)`` in ``alias`` (``generate``'s in-place variant), or None where these
        arguments do not allow it: each such argument must have the output's exact shape and
        dtype, C-contiguous strides, and not be empty (``plan_memory.py`` decides when the
        array is dead)."""
        geo = self._geometry(args)
        if geo is None:
            return None
        spec, full, n0, n1, strides, inner = geo
        tensor = {p: k for k, p in enumerate(i for i, a in enumerate(args)
                                             if isinstance(a, np.ndarray))}
        pairs = []
        for i, p in alias:
            a, k = args[p], tensor.get(p)
            if k is None or a.shape != tuple(full) or a.dtype != spec.out_dtypes[i] or \
                    not a.flags.c_contiguous or a.size == 0 or inner[k] != "1" or \
                    (n0 > 1 and strides[k][0] != n1):
                return None
            pairs.append((i, k))
        return self._variant(args, geo, tuple(pairs))

    def _variant(self, args: list, geo, pairs: tuple):
        """(the compiled variant for ``geo`` and in-place ``pairs``, full shape, output dtypes,
        the geometry's ints), or None when that variant cannot be built."""
        spec, full, n0, n1, strides, inner = geo
        key = (id(spec), inner, pairs) if pairs else (id(spec), inner)
        var = self.variants.get(key)
        if var is None:
            var = self.variants[key] = self._build(spec, args, inner, pairs)
        if var is False:
            return None
        ints = [n0, n1]
        for s0, s1 in strides:
            ints += [s0, s1]
        return var, full, list(spec.out_dtypes), tuple(ints)

    def pending_inplace_source(self, args: list, alias: tuple) -> str | None:
        """:meth:`pending_source` for :meth:`inplace_layout`'s variant."""
        geo = self._geometry(args)
        if geo is None:
            return None
        tensor = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]
        pairs = tuple((i, tensor.index(p)) for i, p in alias if p in tensor)
        if (id(geo[0]), geo[5], pairs) in self.variants:
            return None
        try:
            src = generate(geo[0], operand_kinds(args), list(geo[5]), pairs)
        except Exception:  # noqa: BLE001 - inplace_layout() records the failure on retry
            return None
        self.sources[(id(geo[0]), geo[5], tuple(operand_kinds(args)), pairs)] = src
        return src

    def __call__(self, args: list) -> list | None:
        lay = self.layout(args)
        if lay is None:
            return None
        addr, full, dts, ints = lay
        outs = [np.empty(full, dt) for dt in dts]
        arrays = [a for a in args if type(a) is np.ndarray] + outs
        ints = list(ints) + [int(a) for a in args if type(a) in (int, bool)]
        doubles = [a for a in args if type(a) is float]
        launcher()(addr, arrays, ints, doubles)
        return outs

    def _build(self, spec, args: list, inner: tuple, alias: tuple = ()):
        try:
            kinds = operand_kinds(args)
            key = (id(spec), inner, tuple(kinds), alias) if alias else \
                (id(spec), inner, tuple(kinds))
            src = self.sources.pop(key, None) or generate(spec, kinds, list(inner), alias)
            lib = c_backend.load(src)
        except Exception as e:  # noqa: BLE001 - any generator failure keeps the numpy path
            if not alias:   # NOTE: a failed in-place variant leaves the allocating one
                self.failed = str(e)[:200]
            return False
        if os.environ.get("GT_DEBUG") == "1":
            print(f"--- C kernel for {self.fused.name} ---\n{src}")
        return address(lib)
