"""Matmul epilogues in C: ``act(x @ W.T + b)`` as a BLAS matmul, then one in-place C pass.

``linear`` followed by an activation (``gelu`` exact or tanh, ``relu``, ``silu``, ``sigmoid``,
``tanh``) whose only reader is that activation runs as: the eager kernel's product ``x @ W.T``
(numpy BLAS, no bias), then one C pass over the fresh product adding the bias row and applying
the activation in place — one pass over memory instead of three. An activation without a
``linear`` before it runs the same pass without bias. float32 and float64, C-contiguous; other
layouts take the eager kernels.
"""

from __future__ import annotations

import numpy as np

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

_FNS: dict = {}


def _function(key: tuple, dt: np.dtype, bias: bool) -> int:
    k = (key, dt, bias)
    fn = _FNS.get(k)
    if fn is None:
        T = "float" if dt == np.float32 else "double"
        f = "f" if dt == np.float32 else ""
        src = prelude() + _TEMPLATE.format(T=T, par=PARALLEL_MIN, bias=" + bs[j]" if bias else "",
                                           expr=ACTIVATIONS[key].format(T=T, f=f))
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
    product the plan owns) by C where it fits, else by the eager kernels."""

    def __init__(self, act_op, owns_input: bool):
        self.act = act_op
        self.owns = owns_input  # y is a temporary nobody else reads: write in place
        self.launch = launcher()
        self.backend = "c"

    def __call__(self, y, bias, *act_args):
        key = activation_key(self.act.name, [y, *act_args])
        if (key is not None and type(y) is np.ndarray and y.dtype in (np.float32, np.float64)
                and y.ndim >= 1 and y.flags.c_contiguous and y.size and
                (bias is None or (type(bias) is np.ndarray and bias.dtype == y.dtype
                                  and bias.shape == (y.shape[-1],)
                                  and bias.flags.c_contiguous))):
            out = y if self.owns else np.empty_like(y)
            if out is not y:
                np.copyto(out, y)
            n = y.shape[-1]
            fn = _function(key, y.dtype, bias is not None)
            self.launch(fn, (out, bias if bias is not None else out), (y.size // n, n), ())
            return out
        if bias is not None:
            y = y + bias if not self.owns else np.add(y, bias, out=y)
        return np.asarray(self.act.kernel(np, y, *act_args))


def available() -> bool:
    return c_backend.available()
