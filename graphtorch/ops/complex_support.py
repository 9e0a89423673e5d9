"""Which registry ops take complex tensors, and the errors for the others.

An op handles complex inputs only when its kernel computes PyTorch's complex result (numpy's
complex ufuncs, shape and data movement). Every other op refuses a complex tensor, or a complex
``dtype=``, with PyTorch's kind of error rather than a plausible-looking real answer (numpy orders
complex numbers lexicographically, so ``lt``/``max``/``relu`` would silently compute something).

Autograd does not reach complex tensors: a complex tensor cannot require grad, and an op that would
record a gradient node with a complex output is refused when it runs (never a wrong gradient).
"""

from __future__ import annotations

from graphtorch import dtypes
from graphtorch.errors import AutogradError, DTypeError

COMPLEX_OPS = frozenset({
    # arithmetic and math (numpy's complex ufuncs follow C99, as PyTorch's kernels do)
    "add", "sub", "rsub", "mul", "div", "neg", "reciprocal", "square", "pow", "abs",
    "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt",
    "sin", "cos", "tan", "sinh", "cosh", "tanh", "asin", "acos", "atan", "sigmoid",
    "eq", "ne", "isnan", "isinf", "isfinite",
    "logical_not", "logical_and", "logical_or", "logical_xor", "where", "masked_fill",
    # reductions and products without an ordering
    "sum", "mean", "prod", "cumsum", "cumprod", "all", "any", "count_nonzero",
    "matmul", "mm", "bmm", "dot",
    # views, shapes, copies and indexing
    "view", "reshape", "transpose", "permute", "expand", "squeeze", "unsqueeze", "flatten",
    "unflatten", "diagonal", "narrow", "narrow_copy", "movedim", "split", "split_with_sizes",
    "chunk", "unbind", "cat", "stack", "clone", "contiguous", "flip", "roll", "repeat", "tile",
    "index", "index_select", "gather", "tril", "triu", "index_put", "index_add", "scatter",
    "scatter_add", "view_scatter", "sum_to_size", "nonzero", "to_dtype", "to_device",
    # factories
    "zeros", "ones", "empty", "full", "eye", "zeros_like", "ones_like", "empty_like", "full_like",
    # complex_ops.py
    "complex", "polar", "view_as_real", "view_as_complex", "real", "imag", "conj",
    "conj_physical", "angle",
    # stft.py
    "stft", "istft",
})

# ops between real and complex tensors without a gradient (a complex result from real inputs;
# istft's real result from a complex input and a real window): refused when an input requires
# grad, rather than silently cutting the gradient
COMPLEX_RESULT_OPS = frozenset({"complex", "polar", "view_as_complex", "stft", "istft"})

_HINT = ("graphtorch's complex tensors support arithmetic, exp/log/sqrt/trigonometric functions, "
         "abs/angle/real/imag/conj, sum/mean/prod, matmul and view/shape/indexing ops "
         "(docs/differences.md, Complex numbers)")


def refuse_complex(op_name: str, dt: dtypes.dtype) -> None:
    """PyTorch's refusal of an op on a complex dtype (``"lt" not implemented for ...``)."""
    name = dtypes.SCALAR_TYPE_NAMES.get(dt.name, dt.name)
    raise DTypeError(f'"{op_name}" not implemented for \'{name}\'; {_HINT}')


def refuse_complex_grad(op_name: str) -> None:
    raise AutogradError(
        f"{op_name}(): autograd through complex tensors is not supported in graphtorch (an input "
        f"requires grad and the result is complex); compute it under graphtorch.no_grad(), or "
        f"differentiate the real and imaginary parts as real tensors")
