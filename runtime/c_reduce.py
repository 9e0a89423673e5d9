"""Reductions over dimensions as C kernels: sum, mean, amax, amin, var and cross_entropy.

A reduction over a run of adjacent dimensions of a C-contiguous array views it as
``(outer, n, inner)``: with ``inner == 1`` (the last dimensions) each output is one row of
``n`` contiguous values, reduced with SIMD accumulators; otherwise blocks of up to 256
adjacent outputs accumulate together while the ``n`` rows stream through (the accesses stay
contiguous and vectorize). The epilogue — mean's division, var's second pass and its
``correction``, the cast back to the input dtype — happens in the same kernel.

Semantics kept exact: sums accumulate in double (the result is rounded once to the input
dtype: closer to the exact sum than numpy's or PyTorch's float32 sums, within the documented
tolerance of both); amax/amin return NaN for a slice holding a NaN (PyTorch propagates NaN);
var divides by ``max(n - correction, 0)`` like the eager kernel (0/0 is NaN, x/0 inf).
``cross_entropy`` fuses log_softmax and nll over ``(N, C)`` logits and int64 class targets
(``reduction`` none/sum/mean, ``ignore_index``; mean over the targets not ignored, NaN when all
are); a target out of range makes the call run the eager path, which raises PyTorch's error.
A row's ``sum(exp(x - max))`` accumulates in the input dtype in SIMD lanes, float32's exp is
the prelude's inlined ``gt_expf`` (within about 1 ulp; the row loop vectorizes without libm
calls); the loss itself is formed in double.

float32 and float64 C-contiguous inputs only, no ``dtype=`` argument, non-empty reduced
slices; anything else (integers, strided views, ``weight``/``label_smoothing`` in
cross_entropy, an out-of-range or repeated dim) runs the eager kernel, which also raises the
errors.
"""

from __future__ import annotations

import numpy as np

from graphtorch.device import CPU
from graphtorch.ops.dispatch import dispatch
from graphtorch.ops.meta import normalize_dims
from graphtorch.runtime import c_backend
from graphtorch.runtime.c_elementwise import PARALLEL_MIN, prelude
from graphtorch.runtime.c_launch import address, launcher
from graphtorch.tensor import Tensor

REDUCE_OPS = ("sum", "mean", "amax", "amin", "var", "cross_entropy")
COMPOSITES = ("cross_entropy",)  # kept whole by the plan's decompose pass (one C kernel here)
BLOCK = 2048

_TEMPLATE = """
void kernel(void *const *P, const int64_t *I, const double *D) {{
  long outer = I[0], n = I[1], inner = I[2];
  const {T}* restrict x = (const {T}*)P[0];
  {T}* restrict y = ({T}*)P[1];
  double corr = D[0];
  (void)corr;
  if (inner == 1) {{
    #pragma omp parallel for schedule(static) num_threads(GT_THREADS) \\
        if (GT_THREADS > 1 && outer * n >= {par})
    for (long o = 0; o < outer; o++) {{
      const {T}* restrict xr = x + o * n;
{row}
    }}
    return;
  }}
  #pragma omp parallel for schedule(static) num_threads(GT_THREADS) \\
      if (GT_THREADS > 1 && outer * n * inner >= {par})
  for (long o = 0; o < outer; o++) {{
    for (long k0 = 0; k0 < inner; k0 += {B}) {{
      long m = inner - k0 < {B} ? inner - k0 : {B};
      const {T}* restrict xb = x + o * n * inner + k0;
      {T}* restrict yb = y + o * inner + k0;
{col}
    }}
  }}
}}
"""

_SUM_ROW = """      double s = 0;
      #pragma omp simd reduction(+:s)
      for (long j = 0; j < n; j++) s += xr[j];
      y[o] = ({T})(s{epi});"""

_SUM_COL = """      double acc[{B}];
      for (long k = 0; k < m; k++) acc[k] = 0;
      for (long j = 0; j < n; j++) {{
        const {T}* restrict xj = xb + j * inner;
        #pragma omp simd
        for (long k = 0; k < m; k++) acc[k] += xj[k];
      }}
      for (long k = 0; k < m; k++) yb[k] = ({T})(acc[k]{epi_k});"""

_VAR_ROW = """      double s = 0;
      #pragma omp simd reduction(+:s)
      for (long j = 0; j < n; j++) s += xr[j];
      double mean = s / (double)n, ss = 0;
      #pragma omp simd reduction(+:ss)
      for (long j = 0; j < n; j++) {{ double d = xr[j] - mean; ss += d * d; }}
      double denom = (double)n - corr;
      y[o] = ({T})(ss / (denom > 0 ? denom : 0.0));"""

_VAR_COL = """      double mean[{B}], ss[{B}];
      for (long k = 0; k < m; k++) {{ mean[k] = 0; ss[k] = 0; }}
      for (long j = 0; j < n; j++) {{
        const {T}* restrict xj = xb + j * inner;
        #pragma omp simd
        for (long k = 0; k < m; k++) mean[k] += xj[k];
      }}
      for (long k = 0; k < m; k++) mean[k] /= (double)n;
      for (long j = 0; j < n; j++) {{
        const {T}* restrict xj = xb + j * inner;
        #pragma omp simd
        for (long k = 0; k < m; k++) {{ double d = xj[k] - mean[k]; ss[k] += d * d; }}
      }}
      double denom = (double)n - corr;
      denom = denom > 0 ? denom : 0.0;
      for (long k = 0; k < m; k++) yb[k] = ({T})(ss[k] / denom);"""

_EXT_ROW = """      {T} v0 = {init};
      int nan = 0;
      #pragma omp simd reduction({red}:v0) reduction(|:nan)
      for (long j = 0; j < n; j++) {{ {T} v = xr[j]; v0 = v {cmp} v0 ? v : v0; nan |= (v != v); }}
      y[o] = nan ? ({T})NAN : v0;"""

_EXT_COL = """      for (long k = 0; k < m; k++) yb[k] = {init};
      for (long j = 0; j < n; j++) {{
        const {T}* restrict xj = xb + j * inner;
        #pragma omp simd
        for (long k = 0; k < m; k++) {{
          {T} v = xj[k], a = yb[k]; yb[k] = (v {cmp} a || v != v) ? v : a; }}
      }}"""  # NOTE: once NaN, neither test replaces it: NaN propagates

_CROSS_ENTROPY = """
void kernel(void *const *P, const int64_t *I, const double *D) {{
  long rows = I[0], c = I[1], ignore = I[2], mode = I[3];
  const {T}* restrict x = (const {T}*)P[0];
  const int64_t* restrict t = (const int64_t*)P[1];
  {T}* restrict y = ({T}*)P[2];
  int64_t* restrict bad = (int64_t*)P[3];
  double total = 0;
  long count = 0;
  bad[0] = 0;
  (void)D;
  for (long r = 0; r < rows; r++) {{
    long k = t[r];
    if (k == ignore) {{ if (mode == 0) y[r] = 0; continue; }}
    if (k < 0 || k >= c) {{ bad[0] = 1; return; }}
    const {T}* restrict xr = x + r * c;
    {T} mx = -INFINITY;
    int nan = 0;
    #pragma omp simd reduction(max:mx) reduction(|:nan)
    for (long j = 0; j < c; j++) {{ {T} v = xr[j]; mx = v > mx ? v : mx; nan |= (v != v); }}
    if (nan) mx = NAN;
    {T} s = 0;
    #pragma omp simd reduction(+:s)
    for (long j = 0; j < c; j++) s += {exp}(xr[j] - mx);
    double loss = (double)mx + log(s) - (double)xr[k];
    if (mode == 0) y[r] = ({T})loss; else {{ total += loss; count++; }}
  }}
  if (mode == 1) y[0] = ({T})total;
  if (mode == 2) y[0] = ({T})(total / (double)count);
}}
"""

_LIBS: dict = {}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_MODES = {"none": 0, "sum": 1, "mean": 2}


def _function(op_name: str, dt: np.dtype) -> int:
    key = (op_name, dt)
    fn = _LIBS.get(key)
    if fn is not None:
        return fn
    T = "float" if dt == np.float32 else "double"
    if op_name == "cross_entropy":
        exp = "gt_expf" if dt == np.float32 else "exp"
        src = prelude() + _CROSS_ENTROPY.format(T=T, exp=exp)
    else:
        if op_name in ("sum", "mean"):
            epi = " / (double)n" if op_name == "mean" else ""
            row = _SUM_ROW.format(T=T, epi=epi)
            col = _SUM_COL.format(T=T, B=BLOCK, epi_k=epi)
        elif op_name == "var":
            row, col = _VAR_ROW.format(T=T), _VAR_COL.format(T=T, B=BLOCK)
        else:
            sub = {"T": T, "B": BLOCK, "init": "-INFINITY" if op_name == "amax" else "INFINITY",
                   "red": "max" if op_name == "amax" else "min",
                   "cmp": ">" if op_name == "amax" else "<"}
            row, col = _EXT_ROW.format(**sub), _EXT_COL.format(**sub)
        src = prelude() + _TEMPLATE.format(T=T, par=PARALLEL_MIN, B=BLOCK, row=row, col=col)
    fn = _LIBS[key] = address(c_backend.load(src))
    return fn


def _layout(x: np.ndarray, dim) -> tuple[tuple, tuple[int, int, int]] | None:
    """(output shape without keepdim's ones, (outer, n, inner)) for reducing ``dim`` of ``x``,
    or None when the dims are not one run of adjacent dims (or invalid: eager raises)."""
    shape = x.shape
    if dim is None or (type(dim) in (list, tuple) and len(dim) == 0):
        dims = list(range(x.ndim))
    else:
        try:
            dims = sorted(normalize_dims(dim, x.ndim))
        except Exception:  # noqa: BLE001 - the eager kernel raises PyTorch's error
            return None
        if len(set(dims)) != len(dims) or dims != list(range(dims[0], dims[-1] + 1)):
            return None
    a, b = dims[0], dims[-1] + 1
    outer = int(np.prod(shape[:a], dtype=np.int64))
    n = int(np.prod(shape[a:b], dtype=np.int64))
    inner = int(np.prod(shape[b:], dtype=np.int64))
    return (a, b), (outer, n, inner)


class ReduceKernel:
    """``kernel(*kernel_args) -> array``: C where the call fits, else the eager path."""

    def __init__(self, op):
        self.op = op
        self.launch = launcher()
        self.backend = "c"
        self.detail = ("fused log_softmax + nll over (N, C) rows" if op.name == "cross_entropy"
                       else "adjacent dims of C-contiguous float arrays")

    def __call__(self, *vals):
        out = self._c(vals)
        if out is not None:
            return out
        if self.op.kernel is not None:
            return np.asarray(self.op.kernel(np, *vals))
        args = tuple(Tensor._wrap(v, CPU) if type(v) is np.ndarray else v for v in vals)
        return dispatch(self.op, args, None)._data

    def _c(self, vals):
        x = vals[0]
        if type(x) is not np.ndarray or x.dtype not in _FLOATS or x.ndim == 0 or \
                not x.flags.c_contiguous or x.size == 0:
            return None
        name = self.op.name
        if name == "cross_entropy":
            return self._cross_entropy(x, *vals[1:])
        if name in ("sum", "mean"):
            dim, keepdim, dtype = vals[1], vals[2], vals[3]
            corr = 0.0
            if dtype is not None:
                return None
        elif name == "var":
            dim, correction, keepdim = vals[1], vals[2], vals[3]
            if correction is not None and type(correction) not in (int, float):
                return None
            corr = 1.0 if correction is None else float(correction)
        else:
            dim, keepdim, corr = vals[1], vals[2], 0.0
        lay = _layout(x, dim)
        if lay is None or lay[1][1] == 0:
            return None
        (a, b), sizes = lay
        kept = x.shape[:a] + ((1,) * (b - a) if keepdim else ()) + x.shape[b:]
        y = np.empty(kept, x.dtype)
        self.launch(_function(name, x.dtype), (x, y), sizes, (corr,))
        return y

    def _cross_entropy(self, x, target, weight=None, reduction="mean", ignore_index=-100,
                       label_smoothing=0.0):
        if (x.ndim != 2 or type(target) is not np.ndarray or target.dtype != np.int64
                or target.shape != (x.shape[0],) or not target.flags.c_contiguous
                or weight is not None or label_smoothing != 0.0 or type(ignore_index) is not int
                or reduction not in _MODES):
            return None
        mode = _MODES[reduction]
        y = np.empty(x.shape[0] if mode == 0 else (), x.dtype)
        bad = np.zeros(1, np.int64)
        self.launch(_function("cross_entropy", x.dtype), (x, target, y, bad),
                    (x.shape[0], x.shape[1], ignore_index, mode), ())
        return None if bad[0] else y


def reduce_kernel(op, arg_kinds) -> ReduceKernel | None:
    """A C reduction kernel for this op node, or None (another op, or no C compiler)."""
    if op.name not in REDUCE_OPS or not c_backend.available():
        return None
    x = arg_kinds[0] if arg_kinds else None
    if not (type(x) is tuple and x[0] == "T" and x[1] in _FLOATS and not x[2]):
        return None
    try:
        _function(op.name, x[1])
    except c_backend.CompileError:
        return None
    return ReduceKernel(op)


def handles(op) -> bool:
    """Whether the plan may call ``op`` (a composite without an eager kernel) on arrays."""
    return op.name in COMPOSITES and c_backend.available()
