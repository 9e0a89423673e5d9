"""Matmul epilogues in C: ``act(x @ W.T + b)`` as a BLAS matmul, then one in-place C pass.

``linear`` followed by an activation (``gelu`` exact or tanh, ``relu``, ``silu``, ``sigmoid``,
``tanh``) whose only reader is that activation runs as: the eager kernel's product ``x @ W.T``
(numpy BLAS, no bias), then one C pass over the fresh product adding the bias row and applying
the activation in place — one pass over memory instead of three. An activation without a
``linear`` before it runs the same pass without bias. float32 and float64, C-contiguous; other
layouts take the eager kernels.

When the activation's result is read only by another ``linear`` (an MLP's hidden layer), the
product is computed transposed, ``W @ x.T`` (OpenBLAS runs that form 3-8% faster than
``x @ W.T`` on these shapes): the epilogue pass works on it in place with the bias indexed by
row and hands the next ``linear`` an F-ordered matrix, whose product ``W2 @ h.T`` is then a
plain product of two C-ordered matrices, written back row-major with its bias by one tiled C
pass (:func:`linear_of_transposed`). Only those two kernels ever see the F-ordered array; what
the plan returns is C-ordered. GELU-MLP 256x512 -> 2048 -> 512: 12.9 -> 12.2 ms (one thread).
"""

from __future__ import annotations

import numpy as np

from graphtorch.ops.nn_ops import _linear_kernel
from graphtorch.runtime import c_backend
from graphtorch.runtime.c_elementwise import PARALLEL_MIN, prelude
from graphtorch.runtime.c_launch import address, launcher

# activation op -> C expression over x (type T, suffix f for float math)
ACTIVATIONS = {
    ("gelu", "none"): "(({T})0.5 * x * (1 + erf{f}(x * ({T})0.70710678118654752440)))",
    ("gelu", "tanh"): "(({T})0.5 * x * (1 + tanh{f}((x + ({T})0.044715 * x * x * x) * "
                      "({T})0.79788456080286535588)))",
    ("relu", None): "(x != x ? x : (x > 0 ? x : 0))",
    ("silu", None): "(x / (1 + exp{f}(-x)))",
    ("sigmoid", None): "(1 / (1 + exp{f}(-x)))",
    ("tanh", None): "tanh{f}(x)",
}
_BIAS_ONLY = (None, None)  # a linear without activation: its bias only (a transposed product)

_TEMPLATE = """
void kernel(void *const *P, const int64_t *I, const double *D) {{
  long rows = I[0], n = I[1];
  {T}* restrict y = ({T}*)P[0];
  const {T}* restrict bs = (const {T}*)P[1];
  #pragma omp parallel for schedule(static) num_threads(GT_THREADS) \\
      if (GT_THREADS > 1 && rows * n >= {par})
  for (long r = 0; r < rows; r++) {{
    {T}* restrict yr = y + r * n;
    for (long j = 0; j < n; j++) {{ {T} x = yr[j]{bias}; yr[j] = {expr}; }}
  }}
}}
"""

# The product arrives transposed (``W @ x.T``: OpenBLAS runs that 3-8% faster than ``x @ W.T``
# on these shapes): the pass reads it in square tiles (one tile in L1), writes ``y`` row by row.
_TRANSPOSED_TEMPLATE = """
#define TB 32
void kernel(void *const *P, const int64_t *I, const double *D) {{
  long m = I[0], n = I[1];
  {T}* restrict y = ({T}*)P[0];
  const {T}* restrict s = (const {T}*)P[1];
  const {T}* restrict bs = (const {T}*)P[2];
  #pragma omp parallel for schedule(static) num_threads(GT_THREADS) \\
      if (GT_THREADS > 1 && m * n >= {par})
  for (long i0 = 0; i0 < m; i0 += TB) {{
    long i1 = i0 + TB < m ? i0 + TB : m;
    {T} tile[TB][TB];
    for (long j0 = 0; j0 < n; j0 += TB) {{
      long j1 = j0 + TB < n ? j0 + TB : n;
      for (long j = j0; j < j1; j++) {{
        const {T}* restrict sr = s + j * m;
        for (long i = i0; i < i1; i++) tile[i - i0][j - j0] = sr[i];
      }}
      for (long i = i0; i < i1; i++) {{
        {T}* restrict yr = y + i * n + j0;
        const {T}* restrict tr = tile[i - i0];
        for (long j = 0; j < j1 - j0; j++) {{ {T} x = tr[j]{bias}; yr[j] = {expr}; }}
      }}
    }}
  }}
}}
"""

_FNS: dict = {}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
MIN_SIDE = 16  # narrower products (a 10-class head) run slower transposed


def _function(key: tuple, dt: np.dtype, bias: bool, transposed: bool = False,
              row_bias: bool = False) -> int:
    k = (key, dt, bias, transposed, row_bias)
    fn = _FNS.get(k)
    if fn is None:
        T = "float" if dt == np.float32 else "double"
        f = "f" if dt == np.float32 else ""
        bias_j = " + bs[j0 + j]" if transposed else " + bs[r]" if row_bias else " + bs[j]"
        src = prelude() + (_TRANSPOSED_TEMPLATE if transposed else _TEMPLATE).format(
            T=T, par=PARALLEL_MIN, bias=bias_j if bias else "",
            expr="x" if key == _BIAS_ONLY else ACTIVATIONS[key].format(T=T, f=f))
        fn = _FNS[k] = address(c_backend.load(src))
    return fn


def activation_key(op_name: str, args: list) -> tuple | None:
    """The ACTIVATIONS key of an activation call (``gelu``'s approximate picks the formula)."""
    if op_name == "gelu":
        approx = args[1] if len(args) > 1 else "none"
        return ("gelu", approx) if approx in ("none", "tanh") else None
    return (op_name, None) if (op_name, None) in ACTIVATIONS else None


class Epilogue:
    """``epilogue(y, bias, *activation_args)``: ``act(y + bias)`` written into ``y`` (a fresh
    product the plan owns) by C where it fits, else by the eager kernels.

    ``product(xp, x, w, None)`` is the BLAS product for an epilogue whose result only feeds another
    ``linear`` (the plan's code asks for it there): ``(w @ x.T).T``, the F-ordered view of a
    fresh C-ordered ``(out, rows)`` array (OpenBLAS computes that form 3-8% faster than
    ``x @ w.T`` here, and the next product reads the result as a plain matrix). The epilogue
    then works in place on that array, the bias indexed by row, and returns the F-ordered
    view; :func:`linear_of_transposed` takes it from there."""

    def __init__(self, act_op, owns_input: bool):
        self.act = act_op
        self.owns = owns_input  # y is a temporary nobody else reads: write in place
        self.launch = launcher()
        self.backend = "c"

    def product(self, xp, x, w, b=None):
        if b is None and _fits_product(x, w):
            return (w @ x.T).T
        return _linear_kernel(xp, x, w, b)

    def __call__(self, y, bias, *act_args):
        key = activation_key(self.act.name, [y, *act_args])
        if (key is not None and type(y) is np.ndarray and y.dtype in _FLOATS
                and y.ndim >= 1 and y.size and
                (bias is None or (type(bias) is np.ndarray and bias.dtype == y.dtype
                                  and bias.shape == (y.shape[-1],)
                                  and bias.flags.c_contiguous))):
            if y.flags.c_contiguous:
                out = y if self.owns else np.empty_like(y)
                if out is not y:
                    np.copyto(out, y)
                n = y.shape[-1]
                fn = _function(key, y.dtype, bias is not None)
                self.launch(fn, (out, bias if bias is not None else out), (y.size // n, n), ())
                return out
            if self.owns and y.ndim == 2 and y.T.flags.c_contiguous:  # a product's F view
                fn = _function(key, y.dtype, bias is not None, row_bias=True)
                self.launch(fn, (y.T, bias if bias is not None else y.T), y.T.shape, ())
                return y
        if bias is not None:
            y = y + bias if not self.owns else np.add(y, bias, out=y)
        out = np.asarray(self.act.kernel(np, y, *act_args))
        return np.ascontiguousarray(out) if self.owns else out  # NOTE: a product is C-ordered


def feeds_linear(act) -> bool:
    """Whether activation node ``act``'s result is read by nothing but one ``linear`` of its
    block, as that linear's input (then the product before ``act`` may be transposed)."""
    uses = act.outputs[0].uses if len(act.outputs) == 1 else ()
    return (len(uses) == 1 and uses[0].index == 0 and uses[0].node.kind == "op::linear"
            and uses[0].node.block is act.block)


def _fits_product(x, w) -> bool:
    """``x`` a matrix (C- or F-ordered), ``w`` a C-ordered matrix, one float dtype, both sides
    at least ``MIN_SIDE``."""
    return (type(x) is np.ndarray and type(w) is np.ndarray and x.ndim == 2 and w.ndim == 2
            and x.dtype in _FLOATS and w.dtype == x.dtype and x.shape[1] == w.shape[1]
            and (x.flags.c_contiguous or x.flags.f_contiguous) and w.flags.c_contiguous
            and x.shape[0] >= MIN_SIDE and w.shape[0] >= MIN_SIDE and x.shape[1] > 0)


def linear_of_transposed(x, w, b):
    """``linear(x, w, b)`` for an F-ordered matrix ``x`` (an epilogue's result, above): the
    product ``w @ x.T`` of two C-ordered matrices, then one tiled C pass writing its transpose
    plus the bias into a fresh C-ordered array. None where that does not fit (the caller runs
    its usual path)."""
    if not (_fits_product(x, w) and not x.flags.c_contiguous and available()
            and (b is None or (type(b) is np.ndarray and b.dtype == x.dtype
                               and b.shape == (w.shape[0],) and b.flags.c_contiguous))):
        return None
    p = w @ x.T
    out = np.empty((p.shape[1], p.shape[0]), p.dtype)
    fn = _function(_BIAS_ONLY, p.dtype, b is not None, transposed=True)
    launcher()(fn, (out, p, b if b is not None else out), out.shape, ())
    return out


def available() -> bool:
    return c_backend.available()
