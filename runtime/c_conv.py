"""2-D convolutions with stride 1 and dilation 1 in C, for the compiled plans.

The eager kernels (``ops/conv_kernels.py``) are im2col + BLAS: right for wide layers, but a small
layer (LeNet's 1->6 and 6->16 5x5 convolutions) spends its time writing and re-reading the
column matrix (25x the input) and in GEMMs of 6 or 16 rows. Here the C source is generated per
layer geometry (channels, kernel, padded input and output sizes are constants, the batch is an
argument; cached on disk like every generated kernel) with GCC vector types of 64 bytes, and the
compiler unrolls the taps and keeps the sums in registers. Two layouts:

- **output channels across the lanes** (their number a multiple of the lanes, 16 float32 / 8
  float64): the forward keeps one output row's sums (WO positions x O channels) in registers,
  each weight vector (transposed to (C, KH, KW, O)) serving the whole row; the weight gradient
  keeps, per (input channel, kernel row), one vector per kernel column, summing ``x * g`` with
  the output gradient transposed to (N, HO, WO, O);
- **flat shift** (other channel counts): on a padded plane of width WP, tap (a, b) is a shift of
  the flattened plane by ``a * WP + b``, so positions ``f = i * WP + j`` run as long contiguous
  vectors (the columns WO..WP-1 are computed and dropped); the forward accumulates up to 8
  output channels per loaded input vector, the weight gradient up to 2, reading the output
  gradient zero-padded to width WP. Those padded zeros meet real inputs: a non-finite input
  makes NaN there, so a non-finite weight gradient is recomputed by the eager kernel.

The zero-padded input and output gradient live in scratch buffers kept per thread and layout:
only their interiors are rewritten at each call, so a training loop faults in no fresh pages
for them. The kernels sum every product the textbook definition has, in another order (float
rounding differs from BLAS's as BLAS's differs between builds). Other geometries (stride,
dilation, groups, 1-D/3-D, large layers, other dtypes, no compiler) run the eager kernels.
Registered as plan-local kernels (``plan_kernels.KERNELS``).
"""

from __future__ import annotations

import threading

import numpy as np

from graphtorch.ops.conv import _ConvArgs, pads_of
from graphtorch.ops.registry import REGISTRY
from graphtorch.runtime import c_backend
from graphtorch.runtime.c_elementwise import prelude
from graphtorch.runtime.c_launch import address, launcher

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
MAX_MACS_PER_ROW = 1 << 16  # larger layers keep BLAS (im2col amortizes there)

# Vectors of 64 bytes (GCC vector extensions: AVX-512 registers where the CPU has them, pairs
# or quads of narrower ones elsewhere); VL elements each, F = 2 vectors per chunk of positions.
_VECTORS = """
typedef {T} V __attribute__((vector_size(64)));
enum {{ VL = 64 / sizeof({T}) }};
static inline V ld(const {T}* p) {{ V v; __builtin_memcpy(&v, p, sizeof v); return v; }}
static inline void st({T}* p, V v) {{ __builtin_memcpy(p, &v, sizeof v); }}
"""

# The "flat shift": on a row-major padded plane of width WP the tap (a, b) is a shift of the
# flattened plane by a * WP + b, so output position f = i * WP + j (j < WO; the columns
# WO..WP-1 are computed and dropped) reads x[f + a * WP + b] for every f: long contiguous runs.
_FORWARD = _VECTORS + """
void kernel(void *const *P, const int64_t *I, const double *D) {{
  const long N = I[0];
  const {T}* restrict x = (const {T}*)P[0];   /* (N, C, HP * WP) padded input, plus slack */
  const {T}* restrict w = (const {T}*)P[1];   /* (O, C, KH, KW) */
  const {T}* restrict bias = (const {T}*)P[2];
  {T}* restrict y = ({T}*)P[3];               /* (N, O, HO, WO) */
  enum {{ C = {C}, O = {O}, KH = {KH}, KW = {KW}, HP = {HP}, WP = {WP}, HO = {HO}, WO = {WO},
         OB = {OB}, L = HO * WP, F = 2 * VL, LP = (L + F - 1) / F * F }};
  {T} tmp[OB][LP];
  for (long n = 0; n < N; n++) {{
    const {T}* xn = x + n * (long)C * HP * WP;
    for (int o0 = 0; o0 < O; o0 += OB) {{
      for (int f = 0; f < L; f += F) {{
        V acc[OB][2];
        _Pragma("GCC unroll 16")
        for (int ob = 0; ob < OB; ob++) {{
          {T} b0 = {bias_init};
          acc[ob][0] = (V){{}} + b0; acc[ob][1] = (V){{}} + b0;
        }}
        for (int c = 0; c < C; c++) {{
          const {T}* xc = xn + (long)c * HP * WP + f;
          const {T}* wc = w + ((long)o0 * C + c) * KH * KW;
          _Pragma("GCC unroll 8")
          for (int a = 0; a < KH; a++) {{
            _Pragma("GCC unroll 8")
            for (int b = 0; b < KW; b++) {{
              const V x0 = ld(xc + a * WP + b), x1 = ld(xc + a * WP + b + VL);
              _Pragma("GCC unroll 16")
              for (int ob = 0; ob < OB; ob++) {{
                const {T} wv = wc[(long)ob * C * KH * KW + a * KW + b];
                acc[ob][0] += wv * x0; acc[ob][1] += wv * x1;
              }}
            }}
          }}
        }}
        _Pragma("GCC unroll 16")
        for (int ob = 0; ob < OB; ob++) {{
          st(&tmp[ob][f], acc[ob][0]);
          st(&tmp[ob][f + VL], acc[ob][1]);
        }}
      }}
      for (int ob = 0; ob < OB; ob++) {{
        {T}* yo = y + (n * O + o0 + ob) * (long)HO * WO;
        for (int i = 0; i < HO; i++)
          for (int j = 0; j < WO; j++) yo[i * WO + j] = tmp[ob][i * WP + j];
      }}
    }}
  }}
}}
"""

# g is given zero-padded to width WP and to LP positions per (n, o) plane (``gz``), so the
# dropped columns and the chunk tail add 0 * x (finite inputs: the caller checks the result).
_WEIGHT_GRAD = _VECTORS + """
void kernel(void *const *P, const int64_t *I, const double *D) {{
  const long N = I[0];
  const {T}* restrict x = (const {T}*)P[0];   /* (N, C, HP * WP) padded input, plus slack */
  const {T}* restrict gz = (const {T}*)P[1];  /* (N, O, LP) zero-padded output gradient */
  {T}* restrict dw = ({T}*)P[2];              /* (O, C, KH, KW) */
  enum {{ C = {C}, O = {O}, KH = {KH}, KW = {KW}, HP = {HP}, WP = {WP}, HO = {HO}, WO = {WO},
         OB = {OB}, L = HO * WP, F = 2 * VL, LP = (L + F - 1) / F * F }};
  for (int o0 = 0; o0 < O; o0 += OB) {{
    for (int c = 0; c < C; c++) {{
      for (int a = 0; a < KH; a++) {{
        V acc[OB][KW];
        _Pragma("GCC unroll 16")
        for (int ob = 0; ob < OB; ob++)
          _Pragma("GCC unroll 16")
          for (int b = 0; b < KW; b++) acc[ob][b] = (V){{}};
        for (long n = 0; n < N; n++) {{
          const {T}* xr = x + (n * C + c) * (long)HP * WP + a * WP;
          const {T}* gn = gz + (n * O + o0) * (long)LP;
          for (int f = 0; f < LP; f += VL) {{
            V gv[OB];
            _Pragma("GCC unroll 16")
            for (int ob = 0; ob < OB; ob++) gv[ob] = ld(gn + (long)ob * LP + f);
            _Pragma("GCC unroll 16")
            for (int b = 0; b < KW; b++) {{
              const V xv = ld(xr + f + b);
              _Pragma("GCC unroll 16")
              for (int ob = 0; ob < OB; ob++) acc[ob][b] += gv[ob] * xv;
            }}
          }}
        }}
        for (int ob = 0; ob < OB; ob++)
          for (int b = 0; b < KW; b++) {{
            {T} s = 0;
            for (int l = 0; l < VL; l++) s += acc[ob][b][l];
            dw[(((long)(o0 + ob) * C + c) * KH + a) * KW + b] = s;
          }}
      }}
    }}
  }}
}}
"""

# Output channels across the vector lanes (O a multiple of VL): the weights are given
# transposed, (C, KH, KW, O), and each output position keeps its O sums in registers; a whole
# output row (WO positions) is one block, so every weight vector loaded serves WO positions.
_FORWARD_BY_CHANNEL = _VECTORS + """
void kernel(void *const *P, const int64_t *I, const double *D) {{
  const long N = I[0];
  const {T}* restrict x = (const {T}*)P[0];   /* (N, C, HP, WP) padded input */
  const {T}* restrict wt = (const {T}*)P[1];  /* (C, KH, KW, O) */
  const {T}* restrict bias = (const {T}*)P[2];
  {T}* restrict y = ({T}*)P[3];               /* (N, O, HO, WO) */
  enum {{ C = {C}, O = {O}, KH = {KH}, KW = {KW}, HP = {HP}, WP = {WP}, HO = {HO}, WO = {WO},
         OV = O / VL }};
  {T} tmp[WO][O];
  for (long n = 0; n < N; n++) {{
    for (int i = 0; i < HO; i++) {{
      V acc[WO][OV];
      _Pragma("GCC unroll 32")
      for (int j = 0; j < WO; j++)
        _Pragma("GCC unroll 8")
        for (int v = 0; v < OV; v++) acc[j][v] = {bias_init};
      for (int c = 0; c < C; c++) {{
        for (int a = 0; a < KH; a++) {{
          const {T}* xr = x + ((n * C + c) * (long)HP + i + a) * WP;
          const {T}* wr = wt + ((long)c * KH + a) * KW * O;
          _Pragma("GCC unroll 8")
          for (int b = 0; b < KW; b++) {{
            V wv[OV];
            _Pragma("GCC unroll 8")
            for (int v = 0; v < OV; v++) wv[v] = ld(wr + b * O + v * VL);
            _Pragma("GCC unroll 32")
            for (int j = 0; j < WO; j++) {{
              const {T} xv = xr[j + b];
              _Pragma("GCC unroll 8")
              for (int v = 0; v < OV; v++) acc[j][v] += xv * wv[v];
            }}
          }}
        }}
      }}
      _Pragma("GCC unroll 32")
      for (int j = 0; j < WO; j++)
        _Pragma("GCC unroll 8")
        for (int v = 0; v < OV; v++) st(&tmp[j][v * VL], acc[j][v]);
      for (int o = 0; o < O; o++) {{
        {T}* yr = y + ((n * O + o) * (long)HO + i) * WO;
        for (int j = 0; j < WO; j++) yr[j] = tmp[j][o];
      }}
    }}
  }}
}}
"""

# The weight gradient with output channels across the lanes: the output gradient is given
# transposed, (N, HO, WO, O); per (input channel, kernel row) one register vector per (kernel
# column, lane block) sums over the batch and every output position.
_WEIGHT_GRAD_BY_CHANNEL = _VECTORS + """
void kernel(void *const *P, const int64_t *I, const double *D) {{
  const long N = I[0];
  const {T}* restrict x = (const {T}*)P[0];   /* (N, C, HP, WP) padded input */
  const {T}* restrict gt = (const {T}*)P[1];  /* (N, HO, WO, O) */
  {T}* restrict dwt = ({T}*)P[2];             /* (C, KH, KW, O) */
  enum {{ C = {C}, O = {O}, KH = {KH}, KW = {KW}, HP = {HP}, WP = {WP}, HO = {HO}, WO = {WO},
         OV = O / VL }};
  for (int c = 0; c < C; c++) {{
    for (int a = 0; a < KH; a++) {{
      V acc[KW][OV];
      _Pragma("GCC unroll 8")
      for (int b = 0; b < KW; b++)
        _Pragma("GCC unroll 8")
        for (int v = 0; v < OV; v++) acc[b][v] = (V){{}};
      for (long n = 0; n < N; n++) {{
        for (int i = 0; i < HO; i++) {{
          const {T}* xr = x + ((n * C + c) * (long)HP + i + a) * WP;
          const {T}* gr = gt + ((n * HO) + i) * (long)WO * O;
          for (int j = 0; j < WO; j++) {{
            V gv[OV];
            _Pragma("GCC unroll 8")
            for (int v = 0; v < OV; v++) gv[v] = ld(gr + j * O + v * VL);
            _Pragma("GCC unroll 8")
            for (int b = 0; b < KW; b++) {{
              const {T} xv = xr[j + b];
              _Pragma("GCC unroll 8")
              for (int v = 0; v < OV; v++) acc[b][v] += xv * gv[v];
            }}
          }}
        }}
      }}
      _Pragma("GCC unroll 8")
      for (int b = 0; b < KW; b++)
        _Pragma("GCC unroll 8")
        for (int v = 0; v < OV; v++) st(dwt + ((long)(c * KH + a) * KW + b) * O + v * VL,
                                        acc[b][v]);
    }}
  }}
}}
"""
MAX_ACCUMULATORS = 24  # register vectors a by-channel kernel may keep (32 on AVX-512)


def _lanes(dt) -> int:
    return 64 // np.dtype(dt).itemsize


_FNS: dict = {}


def _block(o: int, most: int) -> int:
    """The largest divisor of ``o`` that is at most ``most`` (output channels per block)."""
    return max(d for d in range(1, min(o, most) + 1) if o % d == 0)


def _function(template: str, dt, bias: bool, dims: dict, most: int) -> int:
    key = (id(template), dt, bias, tuple(sorted(dims.items())))
    fn = _FNS.get(key)
    if fn is None:
        T = "float" if dt == np.float32 else "double"
        if template is _FORWARD_BY_CHANNEL:
            init = "ld(bias + v * VL)" if bias else "(V){}"
        else:
            init = "bias[o0 + ob]" if bias else "0"
        src = prelude() + template.format(T=T, OB=_block(dims["O"], most), bias_init=init,
                                          **dims)
        fn = _FNS[key] = address(c_backend.load(src))
    return fn


def _dims(c: int, hp: int, wp: int, o: int, kh: int, kw: int) -> dict:
    return {"C": c, "O": o, "KH": kh, "KW": kw, "HP": hp, "WP": wp, "HO": hp - kh + 1,
            "WO": wp - kw + 1}


def _small(dims: dict) -> bool:
    """Layers whose per-position work is small enough that the column matrix is the cost."""
    return dims["C"] * dims["KH"] * dims["KW"] * dims["WP"] <= MAX_MACS_PER_ROW and \
        dims["HO"] > 0 and dims["WO"] > 0


def _chunk(dt) -> int:
    return 2 * 64 // np.dtype(dt).itemsize  # F: positions per chunk (two 64-byte vectors)


_SCRATCH = threading.local()
MAX_SCRATCH = 8  # buffers kept per thread


def _zeroed(role: tuple, size: int, dtype) -> np.ndarray:
    """A flat zero-filled buffer of ``size`` elements for one layout (``role``: what is written
    where); its callers rewrite only the positions they wrote last time (padding and dropped
    columns stay zero). Kept per thread and layout, so a training loop does not fault in fresh
    pages for it at every call."""
    cache = getattr(_SCRATCH, "buffers", None)
    if cache is None:
        cache = _SCRATCH.buffers = {}
    key = (role, size, np.dtype(dtype))
    buf = cache.get(key)
    if buf is None:
        if len(cache) >= MAX_SCRATCH:
            cache.pop(next(iter(cache)))
        buf = cache[key] = np.zeros(size, dtype)
    return buf


def _padded(x, pads, slack: int):
    """``x`` (N, C, H, W) zero-padded by ``pads`` as a flat C-contiguous array with ``slack``
    zeros after it (the kernels read past the last plane's end into it), and (hp, wp). A
    scratch buffer: valid until the next call of this geometry on this thread."""
    n, c, h, w = x.shape
    hp, wp = h + sum(pads[0]), w + sum(pads[1])
    flat = _zeroed(("x", x.shape, tuple(map(tuple, pads))), n * c * hp * wp + slack, x.dtype)
    flat[:n * c * hp * wp].reshape(n, c, hp, wp)[:, :, pads[0][0]:pads[0][0] + h,
                                                 pads[1][0]:pads[1][0] + w] = x
    return flat, hp, wp


_CONV2D = REGISTRY["conv2d"].kernel
_WEIGHT_GRAD_KERNEL = REGISTRY["_conv_weight_grad"].kernel


def conv2d(xp, x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``conv2d`` (the registry kernel's arguments) in C where the geometry fits."""
    if (c_backend.available() and type(x) is np.ndarray and type(w) is np.ndarray
            and x.ndim == 4 and w.ndim == 4 and x.dtype in _FLOATS and w.dtype == x.dtype
            and (bias is None or (type(bias) is np.ndarray and bias.dtype == x.dtype
                                  and bias.shape == (w.shape[0],)))
            and groups == 1 and x.shape[1] == w.shape[1] and x.size):
        a = _ConvArgs("conv2d", 2, x, w, bias, stride, padding, dilation, groups)
        if all(s == 1 for s in a.stride) and all(d == 1 for d in a.dilation) and \
                all(lo >= 0 and hi >= 0 for lo, hi in a.pads):
            kh, kw = w.shape[2:]
            hp, wp = x.shape[2] + sum(a.pads[0]), x.shape[3] + sum(a.pads[1])
            dims = _dims(x.shape[1], hp, wp, w.shape[0], kh, kw)
            if _small(dims):
                xflat, hp, wp = _padded(x, a.pads, 2 * _chunk(x.dtype) + kh * wp + kw)
                n, o = x.shape[0], w.shape[0]
                y = np.empty((n, o, dims["HO"], dims["WO"]), x.dtype)
                lanes = _lanes(x.dtype)
                if o % lanes == 0 and o // lanes * dims["WO"] <= MAX_ACCUMULATORS:
                    fn = _function(_FORWARD_BY_CHANNEL, x.dtype, bias is not None, dims, 8)
                    wc = np.ascontiguousarray(w.transpose(1, 2, 3, 0))
                else:
                    fn = _function(_FORWARD, x.dtype, bias is not None, dims, 8)
                    wc = np.ascontiguousarray(w)
                launcher()(fn, (xflat, wc, bias if bias is not None else wc, y), (n,), ())
                return y
    return _CONV2D(xp, x, w, bias, stride, padding, dilation, groups)


def conv_weight_grad(xp, x, g, weight_size, stride, padding, dilation, groups):
    """``_conv_weight_grad`` (the registry kernel's arguments) in C where the geometry fits."""
    if (c_backend.available() and type(x) is np.ndarray and type(g) is np.ndarray
            and x.ndim == 4 and g.ndim == 4 and x.dtype in _FLOATS and g.dtype == x.dtype
            and groups == 1 and len(weight_size) == 2 and x.shape[0] == g.shape[0]
            and all(s == 1 for s in stride) and all(d == 1 for d in dilation) and x.size):
        pads = pads_of(padding)
        if all(lo >= 0 and hi >= 0 for lo, hi in pads):
            kh, kw = weight_size
            n, o = g.shape[:2]
            hp, wp = x.shape[2] + sum(pads[0]), x.shape[3] + sum(pads[1])
            dims = _dims(x.shape[1], hp, wp, o, kh, kw)
            lanes = _lanes(x.dtype)
            if _small(dims) and (dims["HO"], dims["WO"]) == g.shape[2:] and \
                    o % lanes == 0 and o // lanes * kw <= MAX_ACCUMULATORS:
                xflat, _, _ = _padded(x, pads, kw + lanes)
                gt = np.ascontiguousarray(g.transpose(0, 2, 3, 1))
                dwt = np.empty((x.shape[1], kh, kw, o), x.dtype)
                fn = _function(_WEIGHT_GRAD_BY_CHANNEL, x.dtype, False, dims, 1)
                launcher()(fn, (xflat, gt, dwt), (n,), ())
                return np.ascontiguousarray(dwt.transpose(3, 0, 1, 2))
            if _small(dims) and (dims["HO"], dims["WO"]) == g.shape[2:]:
                f = _chunk(x.dtype)
                length = dims["HO"] * wp
                lp = -(-length // f) * f
                xflat, _, _ = _padded(x, pads, lp - length + 2 * f + kh * wp + kw)
                gz = _zeroed(("g", g.shape, wp, lp), n * o * lp, x.dtype).reshape(n, o, lp)
                gz[:, :, :length].reshape(n, o, dims["HO"], wp)[..., :dims["WO"]] = g
                dw = np.empty((o, x.shape[1], kh, kw), x.dtype)
                fn = _function(_WEIGHT_GRAD, x.dtype, False, dims, 2)
                launcher()(fn, (xflat, gz, dw), (n,), ())
                # NOTE: the dropped columns add 0 * x: a non-finite input makes NaN there, so a
                # non-finite result is recomputed by the eager kernel (never forms those)
                if np.isfinite(dw).all():
                    return dw
    return _WEIGHT_GRAD_KERNEL(xp, x, g, weight_size, stride, padding, dilation, groups)


KERNELS = {_CONV2D: conv2d, _WEIGHT_GRAD_KERNEL: conv_weight_grad}
