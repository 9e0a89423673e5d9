"""CUDA graph capture and replay of a whole compiled call (CuPy stream capture).

A compiled call of many small kernels costs one launch each, ~3-25 us of host work apiece; a
CUDA graph replays all of them for one launch. :class:`GraphedCall` wraps a plan's runner:

* **decision** — :func:`refusal` says why a call cannot be captured (None: it can): its
  tensors are not all on a CUDA device, it has control flow or effects (a branch taken on a
  value read back, an in-place write into the caller's tensors, Python code), it draws random
  numbers (a replay would draw the same ones), or an op runs eagerly that may read a value
  back to the host (only elementwise, reduction, view and product ops are trusted);
* **guard** — a capture is valid for one key: every tensor input's shape, strides, dtype and
  device (inside lists and tuples too), every number's, string's or None's type and value, and
  the device address of every parameter and buffer of a module input (rebinding a parameter,
  ``load_state_dict`` into new arrays, invalidates it; an optimizer's in-place update does
  not, the graph reads the same memory); a call with any other kind of input is not captured;
  a new key captures again (at most ``MAX_GRAPHS`` per call site, then the oldest goes);
* **capture** — the inputs are copied into static buffers, the runner runs once to warm up
  (kernels compiled, allocator primed), then once under stream capture with its allocations in
  a private memory pool that lives as long as the graph (so no other allocation reuses the
  addresses the graph writes);
* **replay** — the new inputs are copied into the static buffers, the graph is launched on the
  current stream, and the outputs are copied out (a later replay overwrites the static ones);
* **fallback** — a capture that fails (an operation that synchronizes, an unsupported call)
  marks its key as not capturable and the call runs the runner as before.

The CUDA side goes through a small backend object (:class:`CupyGraphs`); tests run the
decision, the guard and the fallback with a host stand-in.
"""

from __future__ import annotations

from collections.abc import Callable

from graphtorch.ops.registry import REGISTRY, OpKind
from graphtorch.tensor import Tensor

MAX_GRAPHS = 8
# opaque ops whose eager CuPy kernels are device work only (cuBLAS products, row ops)
_ASYNC = frozenset({"linear", "matmul", "mm", "bmm", "addmm", "softmax", "log_softmax",
                    "layer_norm", "contiguous", "clone"})
_EFFECT_KINDS = ("prim::If", "prim::Loop", "prim::Inplace", "prim::SetAttr", "prim::PythonOp",
                 "prim::CallMethod", "prim::CallFunction", "prim::RaiseException")


def _tensors(v) -> list:
    if isinstance(v, Tensor):
        return [v]
    if type(v) in (list, tuple):
        return [t for x in v for t in _tensors(x)]
    return []


def refusal(runner, inputs: list) -> str | None:
    """Why a call of ``runner`` (a DeviceRunner) on ``inputs`` is not captured (None: it is)."""
    tensors = [t for v in inputs for t in _tensors(v)]
    if not tensors or any(t._device.type != "cuda" for t in tensors):
        return "tensors not all on a CUDA device"
    for node in runner.graph.walk():
        if node.kind in _EFFECT_KINDS:
            return f"{node.kind} in the graph (control flow or effects)"
        op = REGISTRY.get(node.kind[4:]) if node.kind.startswith("op::") else None
        if op is not None and op.kind is OpKind.RANDOM:
            return f"op::{op.name} draws random numbers (a replay would repeat them)"
        if op is not None and not _async(op):
            return f"op::{op.name} runs eagerly and may read a value back to the host"
    return None


def _async(op) -> bool:
    """Whether ``op``'s eager CuPy kernel only enqueues device work (capturable)."""
    return op.kind in (OpKind.ELEMENTWISE, OpKind.REDUCTION, OpKind.VIEW) or op.name in _ASYNC


def _address(array) -> int:
    data = getattr(array, "data", None)
    ptr = getattr(data, "ptr", None)   # a CuPy array's device address
    return ptr if ptr is not None else array.ctypes.data


def _key(v):
    if isinstance(v, Tensor):
        d = v._data
        return ("T", d.shape, d.strides, d.dtype.str, str(v._device))
    if type(v) in (list, tuple):
        parts = tuple(_key(x) for x in v)
        return None if None in parts else (type(v), parts)
    if hasattr(v, "parameters") and hasattr(v, "buffers"):
        state = [*v.parameters(), *v.buffers()]
        return ("M", id(v), tuple(_address(t._data) for t in state))
    if type(v) in (int, float, bool, str) or v is None:
        return (type(v), v)
    return None


def guard_key(inputs: list) -> tuple | None:
    """What a captured graph is valid for (see the module docstring); None when an input is
    of a kind no key describes (an arbitrary object): such a call is not captured."""
    key = tuple(_key(v) for v in inputs)
    return None if None in key else key


def _map_tensors(fn, v):
    if isinstance(v, Tensor):
        return fn(v)
    if type(v) in (list, tuple):
        return type(v)(_map_tensors(fn, x) for x in v)
    return v


def _pairs(static, v):
    """(static tensor, new tensor) pairs of two inputs of the same structure."""
    if isinstance(v, Tensor):
        yield static, v
    elif type(v) in (list, tuple):
        for s, x in zip(static, v):
            yield from _pairs(s, x)


def _plain_outputs(v) -> bool:
    """Outputs a replay can give back: tensors (copied) and constants, in lists and tuples."""
    if isinstance(v, Tensor) or type(v) in (int, float, bool, str) or v is None:
        return True
    return type(v) in (list, tuple) and all(_plain_outputs(x) for x in v)


class CupyGraphs:
    """Capture, replay and copies on CuPy (the device side of :class:`GraphedCall`)."""

    def __init__(self):
        import cupy  # NOTE: an optional dependency (the cuda12/cuda13 extras): CUDA only

        self.cp = cupy

    def clone(self, array):
        return array.copy()

    def copy_in(self, static, array) -> None:
        self.cp.copyto(static, array)

    def capture(self, run: Callable[[], list]):
        """(graph, outputs, keep-alive) of ``run`` captured on a fresh stream."""
        cp = self.cp
        pool = cp.cuda.MemoryPool()
        stream = cp.cuda.Stream(non_blocking=True)
        with cp.cuda.using_allocator(pool.malloc), stream:
            run()                       # warm-up: compiles, primes the private pool
            stream.synchronize()
            stream.begin_capture()
            try:
                outs = run()
            finally:
                graph = stream.end_capture()
        stream.synchronize()
        return graph, outs, (pool, stream)

    def replay(self, graph) -> None:
        graph.launch(self.cp.cuda.get_current_stream())


class _Captured:
    __slots__ = ("graph", "static", "outs", "keep")

    def __init__(self, graph, static, outs, keep):
        self.graph, self.static, self.outs, self.keep = graph, static, outs, keep


class GraphedCall:
    """``runner(inputs)`` through captured CUDA graphs (see the module docstring)."""

    def __init__(self, runner, why: str | None, backend=None):
        self.runner = runner
        self.why = why                 # why not captured (None: captured when the key allows)
        self.backend = backend
        self.graphs: dict = {}         # guard key -> _Captured, or the reason its capture failed
        self.captures = self.replays = 0

    def __call__(self, inputs: list) -> list:
        if self.why is not None:
            return self.runner(inputs)
        key = guard_key(inputs)
        if key is None:
            return self.runner(inputs)
        hit = self.graphs.get(key)
        if hit is None:
            if len(self.graphs) >= MAX_GRAPHS:
                self.graphs.pop(next(iter(self.graphs)))
            hit = self.graphs[key] = self._capture(inputs)
        if isinstance(hit, str):
            return self.runner(inputs)
        return self._replay(hit, inputs)

    def _capture(self, inputs: list):
        try:
            backend = self.backend = self.backend or CupyGraphs()
            static = [_map_tensors(lambda t: Tensor._wrap(backend.clone(t._data), t._device), v)
                      for v in inputs]
            graph, outs, keep = backend.capture(lambda: self.runner(static))
        except Exception as e:  # noqa: BLE001 - any capture failure: run uncaptured
            return f"capture failed ({type(e).__name__}: {e})"
        if not _plain_outputs(outs):
            return "an output is neither a tensor nor a constant"
        self.captures += 1
        return _Captured(graph, static, outs, keep)

    def _replay(self, hit: _Captured, inputs: list) -> list:
        backend = self.backend
        for s, v in _pairs(hit.static, inputs):
            backend.copy_in(s._data, v._data)
        backend.replay(hit.graph)
        self.replays += 1
        return _map_tensors(lambda t: Tensor._wrap(backend.clone(t._data), t._device), hit.outs)

    def explain(self) -> str:
        if self.why is not None:
            return f"CUDA graphs: not captured ({self.why})"
        failed = [v for v in self.graphs.values() if isinstance(v, str)]
        text = f"CUDA graphs: {self.captures} captured, {self.replays} replays"
        return text + (f"; {failed[0]}" if failed else "")
