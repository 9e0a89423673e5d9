"""Row reductions as C kernels: softmax, log_softmax and layer_norm over the last dimension.

Each kernel makes one or two passes over a row that stays in cache: softmax reads the row for
its max, writes ``exp(x - max)`` while summing, then scales; log_softmax subtracts
``max + log(sum)``; layer_norm computes mean and variance (two passes, as the eager kernel) and
writes ``(x - mean) * rstd * weight + bias`` in one pass (the epilogue fused). float32 and
float64, C-contiguous input, reduction over the last dimension only; anything else (another
``dim``, a ``dtype`` argument, strided input, a normalized shape over several dims) calls the
eager kernel. Rows are split between OpenMP threads when the tensor is large. float32's
``exp(x - max)`` is the prelude's inlined ``gt_expf`` (within about 1 ulp of exp).
"""

from __future__ import annotations

import numpy as np

from graphtorch.runtime import c_backend
from graphtorch.runtime.c_elementwise import PARALLEL_MIN, prelude
from graphtorch.runtime.c_launch import address, launcher

ROW_OPS = ("softmax", "log_softmax", "layer_norm")

_TEMPLATE = """
void kernel(void *const *P, const int64_t *I, const double *D) {{
  long rows = I[0], n = I[1];
  const {T}* restrict x = (const {T}*)P[0];
  {T}* restrict y = ({T}*)P[1];
  {extra}
  #pragma omp parallel for schedule(static) num_threads(GT_THREADS) \\
      if (GT_THREADS > 1 && rows * n >= {par})
  for (long r = 0; r < rows; r++) {{
    const {T}* restrict xr = x + r * n;
    {T}* restrict yr = y + r * n;
{body}
  }}
}}
"""

_SOFTMAX = """    {T} m = -INFINITY;
    int nan = 0;
    #pragma omp simd reduction(max:m) reduction(|:nan)
    for (long j = 0; j < n; j++) {{ {T} v = xr[j]; m = v > m ? v : m; nan |= (v != v); }}
    if (nan) m = NAN;
    {T} s = 0;
    for (long j = 0; j < n; j++) {{ {T} e = {exp}(xr[j] - m); yr[j] = e; s += e; }}
    {T} inv = 1 / s;
    for (long j = 0; j < n; j++) yr[j] *= inv;"""

_LOG_SOFTMAX = """    {T} m = -INFINITY;
    int nan = 0;
    #pragma omp simd reduction(max:m) reduction(|:nan)
    for (long j = 0; j < n; j++) {{ {T} v = xr[j]; m = v > m ? v : m; nan |= (v != v); }}
    if (nan) m = NAN;
    {T} s = 0;
    for (long j = 0; j < n; j++) s += {exp}(xr[j] - m);
    {T} c = m + log{f}(s);
    for (long j = 0; j < n; j++) yr[j] = xr[j] - c;"""

_LAYER_NORM = """    {T} s = 0;
    for (long j = 0; j < n; j++) s += xr[j];
    {T} mean = s / ({T})n;
    {T} v = 0;
    for (long j = 0; j < n; j++) {{ {T} d = xr[j] - mean; v += d * d; }}
    {T} rstd = 1 / sqrt{f}(v / ({T})n + ({T})eps);
    for (long j = 0; j < n; j++) yr[j] = (xr[j] - mean) * rstd{w}{b};"""

_LIBS: dict = {}


def _function(op_name: str, dt: np.dtype, affine: tuple[bool, bool]):
    key = (op_name, dt, affine)
    fn = _LIBS.get(key)
    if fn is not None:
        return fn
    T = "float" if dt == np.float32 else "double"
    f = "f" if dt == np.float32 else ""
    extra, w, b = "", "", ""
    if op_name == "softmax":
        body = _SOFTMAX
    elif op_name == "log_softmax":
        body = _LOG_SOFTMAX
    else:
        body = _LAYER_NORM
        extra = "double eps = D[0];"
        if affine[0]:
            extra += f" const {T}* restrict wt = (const {T}*)P[2];"
        if affine[1]:
            extra += f" const {T}* restrict bs = (const {T}*)P[{2 + affine[0]}];"
        w = " * wt[j]" if affine[0] else ""
        b = " + bs[j]" if affine[1] else ""
    exp = "gt_expf" if dt == np.float32 else "exp"    # NOTE: x - max <= 0: gt_expf's domain
    src = prelude() + _TEMPLATE.format(T=T, extra=extra, par=PARALLEL_MIN,
                                       body=body.format(T=T, f=f, w=w, b=b, exp=exp))
    fn = address(c_backend.load(src))
    _LIBS[key] = fn
    return fn


class RowKernel:
    """``kernel(*kernel_args) -> array``: C where the call fits, else the eager kernel."""

    def __init__(self, op):
        self.op = op
        self.launch = launcher()
        self.backend = "c"
        self.detail = "last-dim rows; other layouts call the eager kernel"

    def __call__(self, *vals):
        out = self._c(vals)
        if out is None:
            return np.asarray(self.op.kernel(np, *vals))
        return out

    def _c(self, vals):
        x = vals[0]
        if type(x) is not np.ndarray or x.dtype not in (np.float32, np.float64) or \
                x.ndim == 0 or not x.flags.c_contiguous or x.size == 0:
            return None
        n = x.shape[-1]
        rows = x.size // n
        if self.op.name in ("softmax", "log_softmax"):
            dim, dtype = vals[1], vals[2]
            if dtype is not None or type(dim) is not int or dim not in (-1, x.ndim - 1):
                return None
            y = np.empty_like(x)
            self.launch(_function(self.op.name, x.dtype, (False, False)), (x, y), (rows, n), ())
            return y
        shape, weight, bias, eps = vals[1], vals[2], vals[3], vals[4]
        if len(shape) != 1 or shape[0] != n:
            return None
        for t in (weight, bias):
            if t is not None and (type(t) is not np.ndarray or t.dtype != x.dtype
                                  or t.shape != (n,) or not t.flags.c_contiguous):
                return None
        y = np.empty_like(x)
        fn = _function("layer_norm", x.dtype, (weight is not None, bias is not None))
        arrays = [x, y] + [t for t in (weight, bias) if t is not None]
        self.launch(fn, arrays, (rows, n), (float(eps),))
        return y


def row_kernel(op, node, arg_kinds, first_args) -> RowKernel | None:
    """A row kernel for this op node, or None (not a row op, or no C compiler)."""
    if op.name not in ROW_OPS or not c_backend.available():
        return None
    x = arg_kinds[0] if arg_kinds else None
    if not (type(x) is tuple and x[0] == "T" and x[1] in (np.float32, np.float64) and not x[2]):
        return None
    try:
        _function(op.name, x[1], (True, True) if op.name == "layer_norm" else (False, False))
    except c_backend.CompileError:
        return None
    return RowKernel(op)
