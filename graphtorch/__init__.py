"""graphtorch: PyTorch-style eager mode plus a TorchScript-like graph mode.

>>> import graphtorch as torch
>>> x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
"""

from __future__ import annotations

# --- The public API, assembled in this one place ------------------------------------------------
# Groups in import order; a later group overrides a name an earlier one defined:
#   1. core objects: autograd, errors, dtypes, device, Tensor, Size, tensor, random state (below);
#      legacy_tensors.py: FloatTensor, LongTensor ... ; tensor_api.py installs Tensor methods
#   2. every registry op with a public binding (ops/bindings.py `public_functions`), for names
#      group 1 does not define
#   3. functions.py: signatures that differ from one op (zeros, arange, cat ...), with
#      composed_functions.py (isclose, lerp, median ...) and einsum.py
#   4. this file: is_floating_point, is_complex, numel and the `cuda` namespace
#   5. linalg.py (graphtorch.linalg) and python_signatures.py (unique, cummax, det ...)
#   6. loaded on first use (__getattr__ at the bottom): checkpoint.py `load` / `save` and the
#      subpackages nn, optim, jit, distributed, utils, ...

__version__ = "0.1.0"

import importlib as _importlib

from graphtorch import autograd, errors
from graphtorch import dtypes as _dtypes
from graphtorch import ops as _ops
from graphtorch import tensor_api as _tensor_api  # installs operators and methods on Tensor
from graphtorch.autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from graphtorch.autograd import profiler as _autograd_profiler  # graphtorch.autograd.profiler
from graphtorch.device import _cupy, device, get_default_device, set_default_device
from graphtorch.dtypes import (
    bool_ as bool,  # noqa: A001 - PyTorch exposes graphtorch.bool
)
from graphtorch.dtypes import (
    can_cast,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    set_default_dtype,
    short,
    uint8,
)
from graphtorch.dtypes import float as float  # noqa: A001,PLC0414
from graphtorch.dtypes import int as int  # noqa: A001,PLC0414
from graphtorch.dtypes import tensor_result_type as result_type
from graphtorch.layout import (  # PyTorch's layout and memory-format tags
    channels_last,
    channels_last_3d,
    contiguous_format,
    layout,
    memory_format,
    preserve_format,
    strided,
)
from graphtorch.legacy_tensors import (  # PyTorch's legacy typed constructors
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
)
from graphtorch.malloc_tuning import tune_malloc as _tune_malloc
from graphtorch.ops import scalar_ops as _scalar_ops  # graphtorch.ops.scalar_ops
from graphtorch.ops.bindings import public_functions as _public_functions
from graphtorch.ops.creation import as_tensor, tensor
from graphtorch.ops.random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from graphtorch.tensor import Size, Tensor, from_numpy, is_tensor
from graphtorch.tensor_repr import set_printoptions

_tune_malloc()  # glibc: keep freed heap memory for the next step's arrays (malloc_tuning.py)
# group 2: registry ops
globals().update({k: v for k, v in _public_functions().items() if k not in globals()})

# group 3
from graphtorch.functions import *  # noqa: E402 - Python-level API built on the ops above

# group 4


def is_floating_point(t: Tensor) -> bool:
    return t.dtype.is_floating_point


def is_complex(t: Tensor) -> bool:
    return t.dtype.is_complex


def numel(t: Tensor) -> int:
    return t.numel()


class cuda:  # noqa: N801 - mirrors the torch.cuda namespace
    from graphtorch.device import cuda_is_available as _avail

    is_available = staticmethod(_avail)

    @staticmethod
    def device_count() -> int:
        cp = _cupy()
        return cp.cuda.runtime.getDeviceCount() if cp is not None else 0

    @staticmethod
    def manual_seed(value: int) -> None:
        manual_seed(value)

    manual_seed_all = manual_seed

    @staticmethod
    def synchronize() -> None:
        cp = _cupy()
        if cp is not None:
            cp.cuda.runtime.deviceSynchronize()


# group 5
from graphtorch import linalg  # noqa: E402 - light: registry ops only
from graphtorch.python_signatures import *  # noqa: E402,F403 - unique, cummax, det ...

# group 6: heavy subpackages load on first use (PEP 562), so `import graphtorch.ir` or an eager op
# call does not load nn, jit, the frontend or the runtime. `graphtorch.X` and
# `from graphtorch import X` work as before; none of these has an import-time side effect the core
# relies on.
_LAZY_SUBMODULES: frozenset[str] = frozenset({
    "_C",  # torch._C's helpers that PyTorch code imports (_infer_size, _get_tracing_state)
    "accelerator",
    "checkpoint",
    "distributed",  # torch.distributed; mpi4py loads only in init_process_group
    "frontend",
    "futures",
    "ir",
    "jit",
    "nn",
    "onnx",
    "optim",
    "passes",
    "profiler",  # torch.profiler (and torch.autograd.profiler)
    "runtime",
    "serialization",
    "serialization_pickle",
    "testing",
    "utils",
    "xpu",  # torch.xpu: no XPU device (is_available() is False)
})
# name -> module defining it, for the public functions that live in a lazily loaded module
_LAZY_ATTRIBUTES: dict[str, str] = {"load": "graphtorch.checkpoint",
                                    "save": "graphtorch.checkpoint"}


def __getattr__(name: str) -> object:
    if name in _LAZY_SUBMODULES:
        value = _importlib.import_module(f"graphtorch.{name}")
    elif name in _LAZY_ATTRIBUTES:
        value = getattr(_importlib.import_module(_LAZY_ATTRIBUTES[name]), name)
    else:
        raise AttributeError(f"module 'graphtorch' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY_SUBMODULES | set(_LAZY_ATTRIBUTES))
