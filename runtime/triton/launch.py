"""Run a FusionGroup as generated Triton kernels: the entry point the executor calls.

Numpy inputs run under Triton's interpreter (no GPU, no TRITON_INTERPRET needed: the kernel
functions are wrapped in the interpreter directly); CuPy inputs are launched through the
CuPy-backed driver (Triton's own launch the first time per specialization, then the thin
launcher of :mod:`.thin_launch`). Kernels are specialized by input dtypes, access kinds
(contiguous, scalar, strided), collapsed rank and index width, and cached per process (source
files on disk).
"""

from __future__ import annotations

import hashlib
import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from graphtorch import dtypes
from graphtorch.device import CPU, array_module, device_of_array
from graphtorch.errors import GraphError, UnsupportedError
from graphtorch.ir.graph import Graph, Node
from graphtorch.ops.meta import broadcast_shapes
from graphtorch.tensor import Tensor

from . import source_cache
from .codegen import (
    ConstIn,
    KernelSource,
    ScalarIn,
    Specialization,
    TensorIn,
    dependencies,
    fusion_inputs,
    generate,
    graph_key,
)
from .cupy_driver import CupyArg, install
from .layout import Access, element_strides, plan_layout
from .numpy_adapter import NumpyArg
from .thin_launch import Launch

GPU_BLOCK, GPU_WARPS = 1024, 4
INTERPRETER_MAX_BLOCK = 1 << 16   # one interpreted program per 64K elements: numpy does the work


@dataclass
class _GraphInfo:
    key: str
    deps: list[frozenset[int]]
    n_inputs: int


@dataclass
class CompiledKernel:
    source: KernelSource
    path: str
    fn: object          # a triton JITFunction or an interpreter InterpretedFunction
    launch: Launch      # launches ``fn`` (thin precompiled launches on a GPU)


_INFO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_KERNELS: dict[tuple, CompiledKernel] = {}
_PLANS: dict[tuple, tuple] = {}
_MAX_PLANS = 4096
_SCALAR_BUFFERS: dict[tuple, object] = {}
_MAX_SCALAR_BUFFERS = 256


def _info(sub: Graph) -> _GraphInfo:
    info = _INFO.get(sub)
    if info is None:
        info = _INFO[sub] = _GraphInfo(graph_key(sub), dependencies(sub), len(fusion_inputs(sub)))
    return info


def compile_kernel(sub: Graph, spec: Specialization, backend: str) -> CompiledKernel:
    """The kernel of ``sub`` for ``spec`` on ``backend`` ("interpreter" or "cuda"), cached."""
    info = _info(sub)
    cache_key = (info.key, spec, backend, str(source_cache.cache_dir()))
    kernel = _KERNELS.get(cache_key)
    if kernel is not None:
        return kernel
    spec_hash = hashlib.sha256(repr(spec).encode()).hexdigest()[:10]
    stem = f"fg_{info.key[:16]}_{spec_hash}"
    src = generate(sub, spec, f"fused_{info.key[:12]}")
    path = source_cache.write_source(stem, src.text)
    # NOTE: triton takes ~0.35 s to import and is a Linux-only dependency: loaded on first compile
    if backend == "interpreter":
        from triton.runtime.interpreter import InterpretedFunction as jit
    else:
        import triton

        jit = triton.jit
    mod = source_cache.load_module(path, jit, backend)
    fn = getattr(mod, src.name)
    kernel = CompiledKernel(src, str(path), fn, Launch(fn, backend, str(path)))
    _KERNELS[cache_key] = kernel
    return kernel


def run_fusion_group(node_or_subgraph: Node | Graph, inputs: Sequence) -> list:
    """Evaluate a ``prim::FusionGroup`` (or its subgraph) on ``inputs`` with Triton kernels.

    ``inputs`` are graphtorch Tensors, numpy or CuPy arrays and Python numbers, one per subgraph
    input; the outputs are new contiguous tensors (Tensors when any input is one, else arrays).
    Raises UnsupportedError for subgraphs the backend cannot compile (the caller runs those with
    the interpreter). No autograd is recorded.
    """
    sub = node_or_subgraph.attrs["subgraph"] if isinstance(node_or_subgraph, Node) \
        else node_or_subgraph
    info = _info(sub)
    if len(inputs) != len(sub.block.inputs):
        raise GraphError(f"FusionGroup expects {len(sub.block.inputs)} inputs, got {len(inputs)}")
    values, device, wrap = _unwrap(inputs)
    for v in fusion_inputs(sub)[len(inputs):]:   # tensor constants of the subgraph
        values.append(_array_of(sub.tensor_constants[v.node.attrs["value"].name], device))
    backend = "cuda" if device is not None and device.type == "cuda" else "interpreter"
    shapes = []
    for j, dep in enumerate(info.deps):
        tens = [tuple(values[i].shape) for i in dep if hasattr(values[i], "shape")]
        if not tens:
            raise UnsupportedError(f"FusionGroup output {j} reads no tensor input; the Triton "
                                   "backend cannot give it a shape")
        shapes.append(tuple(broadcast_shapes(*tens)))
    results: list = [None] * len(info.deps)
    for shape in dict.fromkeys(shapes):
        outs = tuple(j for j, s in enumerate(shapes) if s == shape)
        for j, arr in zip(outs, _launch(sub, info, values, shape, outs, backend)):
            results[j] = arr
    if not wrap:
        return results
    return [Tensor._wrap(r, device or CPU) for r in results]


def _unwrap(inputs: Sequence) -> tuple[list, object, bool]:
    """Arrays and Python numbers of ``inputs``, their device (None: host) and whether any input
    was a Tensor (then outputs are Tensors too)."""
    values, device, wrap = [], None, False
    for x in inputs:
        if isinstance(x, Tensor):
            wrap = True
            device = device or x.device
            x = x._data
        elif isinstance(x, np.generic):
            x = x.item()
        if hasattr(x, "shape") and not isinstance(x, np.ndarray) and device is None:
            device = device_of_array(x)
        values.append(x)
    return values, device, wrap


def _array_of(t, device):
    data = getattr(t, "_data", t)
    if device is not None and device.type != "cpu" and isinstance(data, np.ndarray):
        return array_module(device).asarray(data)
    return data


def _scalar_kind(v) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    raise UnsupportedError(f"a FusionGroup input of type {type(v).__name__} cannot be passed to "
                           "a Triton kernel")


def _launch(sub: Graph, info: _GraphInfo, values: list, shape: tuple, outs: tuple,
            backend: str) -> list:
    used = frozenset().union(*(info.deps[j] for j in outs))
    # NOTE: the plan depends only on metadata; memoizing it keeps per-call host work to a few
    # dict lookups (what dominates small GPU launches)
    key = (info.key, backend, shape, outs) + tuple(
        (v.shape, v.strides, v.dtype) if hasattr(v, "shape")
        else v if v is None or isinstance(v, dtypes.dtype) else type(v)
        for i, v in enumerate(values) if i in used)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        plan = _PLANS[key] = _plan(sub, values, used, shape, outs, backend)
    layout, strides, kernel = plan
    src = kernel.source
    xp = np if backend == "interpreter" else _cupy()
    arrays = [xp.empty(shape, dtype=np.uint8 if dt is dtypes.bool_ else dt.np)
              for dt in src.out_dtypes]
    if layout.numel:
        wrap = NumpyArg if backend == "interpreter" else CupyArg
        ptrs = [wrap(values[i]) for i in src.tensor_args] + [wrap(a) for a in arrays]
        if src.float_args:
            ptrs.append(wrap(_scalar_buffer(xp, tuple(values[i] for i in src.float_args))))
        ints = [int(values[i]) for i in src.int_args] + [layout.numel]
        if src.strided_args:
            ints += list(layout.sizes)
            ints += [s for i in src.strided_args for s in strides[i]]
        if backend == "interpreter":
            block = min(INTERPRETER_MAX_BLOCK, 1 << max(layout.numel - 1, 0).bit_length())
        else:
            install()
            block = GPU_BLOCK
        kernel.launch((math.ceil(layout.numel / block),), ptrs, ints, {"BLOCK": block},
                      GPU_WARPS)
    return [a.view(np.bool_) if dt is dtypes.bool_ else a
            for a, dt in zip(arrays, src.out_dtypes)]


def _scalar_buffer(xp, floats: tuple):
    """The float64 buffer of a launch's run-time float scalars. On a GPU the buffers of the
    first ``_MAX_SCALAR_BUFFERS`` distinct tuples are kept (never freed: a captured CUDA graph
    may read one), so a repeated call uploads nothing (an upload inside a CUDA graph capture
    would break it)."""
    if xp is np:
        return np.array(floats, dtype=np.float64)
    key = tuple(map(float, floats))
    buf = _SCALAR_BUFFERS.get(key)
    if buf is None:
        buf = xp.asarray(np.array(key, dtype=np.float64))
        if len(_SCALAR_BUFFERS) < _MAX_SCALAR_BUFFERS:
            _SCALAR_BUFFERS[key] = buf
    return buf


def _plan(sub: Graph, values: list, used: frozenset, shape: tuple, outs: tuple,
          backend: str) -> tuple:
    """The layout, the strides of each tensor input and the kernel of one launch."""
    tensor_pos = [i for i in sorted(used) if hasattr(values[i], "shape")]
    layout = plan_layout(shape, [(tuple(values[i].shape),
                                  element_strides(tuple(values[i].shape), values[i].strides,
                                                  values[i].itemsize)) for i in tensor_pos])
    access = dict(zip(tensor_pos, layout.access))
    spec_inputs = []
    for i, v in enumerate(values):
        if i not in used:
            spec_inputs.append(None)
        elif i in access:
            spec_inputs.append(TensorIn(dtypes.from_numpy(v.dtype), access[i], v.ndim == 0))
        elif v is None or isinstance(v, dtypes.dtype):
            spec_inputs.append(ConstIn(v))
        else:
            spec_inputs.append(ScalarIn(_scalar_kind(v)))
    any_strided = any(a is Access.STRIDED for a in layout.access)
    spec = Specialization(tuple(spec_inputs), outs, len(layout.sizes) if any_strided else 0,
                          layout.wide_index)
    kernel = compile_kernel(sub, spec, backend)
    return layout, dict(zip(tensor_pos, layout.strides)), kernel


def _cupy():
    import cupy  # NOTE: an optional dependency (the cuda12/cuda13 extras): CUDA inputs only

    return cupy
