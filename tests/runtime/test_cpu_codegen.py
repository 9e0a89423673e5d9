"""CPU codegen and fused chunks against the reference interpreter (registry samples, models)."""
# ruff: noqa: E501  (golden IR text lines are as the printer writes them)

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn
from graphtorch.ir import parse_graph
from graphtorch.ops.lowering import lowering_of
from graphtorch.ops.registry import REGISTRY, OpKind
from graphtorch.passes.fuse_elementwise import fusion_groups
from graphtorch.runtime import cpu_fused
from graphtorch.runtime.cpu_codegen import compile_graph, set_executor
from graphtorch.runtime.executor import prepared_function_graph
from graphtorch.runtime.interpreter import run_graph

FUSABLE = sorted(n for n, op in REGISTRY.items()
                 if op.kind is OpKind.ELEMENTWISE and lowering_of(op) is not None)


def _close(a, b):
    a, b = (x.numpy() if isinstance(x, gt.Tensor) else np.asarray(x) for x in (a, b))
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype.kind == "f":
        np.testing.assert_allclose(a, b, rtol=2e-6 if a.dtype == np.float32 else 1e-12,
                                   atol=1e-6, equal_nan=True)
    else:
        np.testing.assert_array_equal(a, b)


def _traced_chain(op, sample):
    def fn(*ts):
        it = iter(ts)
        args = [next(it) if isinstance(a, gt.Tensor) else a for a in sample.args]
        r = op(*args, **sample.kwargs)
        return r.logical_not() if r.dtype == gt.bool else r.abs()

    tensors = tuple(a for a in sample.args if isinstance(a, gt.Tensor))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gt.jit.trace(fn, tensors, check_trace=False), tensors


@pytest.mark.parametrize("name", FUSABLE)
def test_registry_samples_fused_equal_interpreter(name):
    op = REGISTRY[name]
    checked = 0
    for dtype in (gt.float32, gt.float64, gt.int64):
        for sample in op.samples(dtype):
            try:
                traced, tensors = _traced_chain(op, sample)
            except Exception:  # noqa: BLE001 - samples that raise eagerly are not graphs
                continue
            graph = prepared_function_graph(traced)
            ref = run_graph(graph, list(tensors))
            compiled = compile_graph(graph)
            # canonicalize may drop a no-op (a cast to the same dtype), leaving one node
            assert fusion_groups(compiled.graph) or len(compiled.graph.nodes()) < 2
            for a, b in zip(compiled(list(tensors)), ref):
                _close(a, b)
            checked += 1
    assert checked


@pytest.mark.parametrize("batch", [1, 7, 3000])
def test_gelu_chain_broadcast_batches(batch, monkeypatch):
    monkeypatch.setattr(cpu_fused, "CHUNK_ELEMENTS", 1000)  # several chunks at batch 3000
    g = parse_graph("""graph(%x : Tensor(float32, [B, 8]), %w : Tensor(float32, [8]), %b : Tensor(float32, [1, 8]), %y : Tensor(float32, [B, 1])):
  %one : int = prim::Constant[value=1]()
  %a : Tensor(float32, [B, 8]) = op::mul(%x, %w)
  %c : Tensor(float32, [B, 8]) = op::add(%a, %b, %one)
  %h : float = prim::Constant[value=0.5]()
  %d : Tensor(float32, [B, 8]) = op::mul(%c, %h)
  %e : Tensor(float32, [B, 8]) = op::tanh(%d)
  %s : Tensor(float32, [B, 1]) = op::sigmoid(%y)
  %o : Tensor(float32, [B, 8]) = op::mul(%e, %s)
  return (%o, %c)
""")
    compiled = compile_graph(g)
    assert len(fusion_groups(compiled.graph)) == 1
    args = [gt.randn(batch, 8), gt.randn(8), gt.randn(1, 8), gt.randn(batch, 1)]
    for a, b in zip(compiled(args), run_graph(g, args)):
        _close(a, b)


def test_mixed_dtypes_and_scalar_promotion():
    g = parse_graph("""graph(%i : Tensor(int32, [4]), %x : Tensor(float32, [4])):
  %one : int = prim::Constant[value=1]()
  %k : float = prim::Constant[value=2.5]()
  %a : Tensor(float32, [4]) = op::mul(%i, %k)
  %b : Tensor(float32, [4]) = op::add(%a, %x, %one)
  %c : Tensor(bool, [4]) = op::gt(%b, %i)
  return (%c, %a)
""")
    args = [gt.tensor([1, -2, 3, 4], dtype=gt.int32), gt.randn(4)]
    compiled = compile_graph(g)
    for a, b in zip(compiled(args), run_graph(g, args)):
        _close(a, b)


class _MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(6, 16), nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(nn.functional.gelu(self.fc1(x)) * x.sum(-1, keepdim=True).sigmoid())


class _CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        return (y * 0.5 + 1.0).relu().tanh()


class _Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x, n: int):
        for _ in range(n):
            x = self.fc(x).tanh() * 0.9 + x
        if n > 2:
            x = x.sigmoid() - 0.5
        else:
            x = -x
        return x


def _both_executors(model, *args):
    with gt.no_grad():
        set_executor("interpreter")
        ref = model(*args)
        set_executor("codegen")
        try:
            out = model(*args)
        finally:
            set_executor("interpreter")
    return out, ref


@pytest.mark.parametrize("make,shape", [(_MLP, (5, 6)), (_CNN, (2, 2, 5, 5))])
def test_traced_models_codegen_equals_interpreter(make, shape):
    model = make()
    x = gt.randn(*shape)
    traced = gt.jit.trace(model, (x,))
    out, ref = _both_executors(traced, x)
    _close(out, ref)


def test_transformer_block_codegen_equals_interpreter():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
    layer.eval()
    x = gt.randn(3, 2, 8)
    traced = gt.jit.trace(layer, (x,))
    out, ref = _both_executors(traced, x)
    _close(out, ref)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_scripted_control_flow_codegen_equals_interpreter(n):
    scripted = gt.jit.script(_Gated())
    x = gt.randn(2, 4)
    out, ref = _both_executors(scripted, x, n)
    _close(out, ref)


def test_grad_falls_back_to_interpreter_and_trains():
    model = _MLP()
    x = gt.randn(4, 6)
    traced = gt.jit.trace(model, (x,))
    set_executor("codegen")
    try:
        traced(x).sum().backward()
    finally:
        set_executor("interpreter")
    assert model.fc1.weight.grad is not None
    assert float(model.fc1.weight.grad.abs().sum()) > 0


def test_generated_source_is_in_linecache():
    import linecache

    g = parse_graph("""graph(%x : Tensor(float32, [3])):
  %a : Tensor(float32, [3]) = op::exp(%x)
  %b : Tensor(float32, [3]) = op::neg(%a)
  return (%b)
""")
    compiled = compile_graph(g)
    assert "_fused(" in compiled.source
    assert linecache.getline(compiled.filename, 1).startswith("def forward(")
    _close(compiled([gt.tensor([0.0, 1.0, 2.0])])[0], -np.exp(np.array([0, 1, 2], np.float32)))


def test_unknown_executor_is_refused():
    with pytest.raises(ValueError, match="unknown executor 'fast'"):
        set_executor("fast")
