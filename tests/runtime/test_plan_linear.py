"""The plan's ``linear`` on N-d inputs (runtime/plan_kernels.py): one 2-D GEMM, same answers."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn
from graphtorch.nn import functional as F
from graphtorch.ops.nn_ops import _linear_kernel
from graphtorch.runtime import plan_kernels
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import plans_of
from graphtorch.runtime.plan_kernels import linear_flat, writes_in_place


def run_both(fn, *args):
    """(compiled output, interpreter output); asserts the compiled plan ran."""
    with gt.no_grad():
        set_executor("interpreter")
        want = fn(*args)
        set_executor(None)
        fn(*args)  # profiling run
        got = fn(*args)
    assert any(p.mode == "compiled" and p.calls for p in plans_of(fn).plans.values())
    return got, want


def f64_linear(x, w, b=None):
    out = x.astype(np.float64) @ w.astype(np.float64).T
    return out if b is None else out + b


@pytest.mark.parametrize("bias", [True, False])
def test_linear_on_a_transposed_3d_input_equals_float64(bias, monkeypatch):
    seen = []

    def spy(xp, x, w, b=None):
        seen.append(x.shape)
        return linear_flat(xp, x, w, b)

    monkeypatch.setitem(plan_kernels.KERNELS, _linear_kernel, spy)
    gt.manual_seed(0)
    x, w, b = gt.randn(6, 5, 16), gt.randn(12, 16), gt.randn(12)

    def f(x, w, b):
        return F.linear(x.transpose(0, 1), w, b)

    def g(x, w):
        return F.linear(x.transpose(0, 1), w)

    fn = gt.jit.script(f if bias else g)
    args = (x, w, b) if bias else (x, w)
    got, want = run_both(fn, *args)
    ref = f64_linear(x.numpy().transpose(1, 0, 2), w.numpy(), b.numpy() if bias else None)
    assert tuple(got.shape) == (5, 6, 12) and seen == [(5, 6, 16)]  # the plan's call
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-5, atol=1e-5)


def test_linear_epilogue_on_4d_input():
    gt.manual_seed(1)
    m = gt.jit.script(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)))
    x = gt.randn(2, 3, 5, 8)
    got, want = run_both(m, x)
    assert tuple(got.shape) == (2, 3, 5, 4)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_linear_flat_falls_back_and_keeps_errors():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    w = rng.standard_normal((5, 4)).astype(np.float32)
    full_bias = rng.standard_normal((2, 3, 5)).astype(np.float32)  # not flattened: eager path
    np.testing.assert_allclose(linear_flat(np, x, w, full_bias), f64_linear(x, w) + full_bias,
                               rtol=1e-5, atol=1e-5)
    empty = np.zeros((0, 3, 4), np.float32)
    assert linear_flat(np, empty, w).shape == (0, 3, 5)
    with pytest.raises(gt.errors.GraphtorchError):
        linear_flat(np, x, rng.standard_normal((5, 3)).astype(np.float32))
    with pytest.raises(gt.errors.GraphtorchError):
        linear_flat(np, x, w, rng.standard_normal(4).astype(np.float32))


@pytest.mark.torch
def test_transformer_encoder_layer_compiled_equals_torch():
    torch = pytest.importorskip("torch")
    gt.manual_seed(0)
    m = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True).eval()
    tm = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True).eval()
    tm.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                        for k, v in m.state_dict().items()})
    x = gt.randn(3, 7, 32)
    got, want = run_both(gt.jit.script(m), x)
    with torch.no_grad():
        ref = tm(torch.from_numpy(x.numpy().copy())).numpy()
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-4, atol=1e-4)


class CellLoop(nn.Module):
    """An LSTM cell stepped over time: its weights are loop-invariant graph inputs."""

    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(8, 6)

    def forward(self, xs):
        h = xs.new_zeros(xs.shape[1], 6)
        c = xs.new_zeros(xs.shape[1], 6)
        for t in range(xs.shape[0]):
            h, c = self.cell(xs[t], (h, c))
        return h


def test_a_loops_weight_transpose_is_made_once_per_call():
    gt.manual_seed(2)
    m = gt.jit.script(CellLoop())
    xs = gt.randn(5, 3, 8)
    got, want = run_both(m, xs)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    plan = next(p for p in plans_of(m).plans.values() if p.mode == "compiled")
    # weight_hh's transpose before the loop; weight_ih's product over all steps is hoisted out
    # of the loop (passes/hoist_loop_linear.py), so its transpose is not needed
    assert plan.source.count("= _wt(") == 1 and "cell_weight_hh_t = _wt(" in plan.source
    with gt.no_grad():  # new weight values: the next call transposes them afresh
        m.cell.weight_hh.mul_(-2.0)
        m.cell.weight_ih.add_(0.5)
        set_executor("interpreter")
        want = m(xs)
        set_executor(None)
        got = m(xs)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def scale_in_place(x, w, n: int):
    for _ in range(n):
        x = F.linear(x, w)
        w.mul_(0.5)
    return x


def test_no_hoisting_when_the_graph_writes_in_place():
    x, w = gt.randn(4, 5), gt.randn(5, 5)
    fn = gt.jit.script(scale_in_place)
    assert writes_in_place(fn.graph)
    with gt.no_grad():
        set_executor("interpreter")
        want = fn(x, w.clone(), 3)
        set_executor(None)
        fn(x, w.clone(), 3)
        got = fn(x, w.clone(), 3)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    assert all("_wt(" not in p.source for p in plans_of(fn).plans.values())


def gates(x, n: int, d: int):
    a, b, c, e = (x * 2).chunk(4, 1)
    return a.sigmoid() * b.tanh() + c - e, x.chunk(n, d)


@pytest.mark.parametrize("n, d", [(4, 1), (3, -1), (7, 0), (1, 0)])
def test_chunk_runs_as_views_in_the_plan(n, d):
    f = gt.jit.script(gates)
    x = gt.randn(5, 12)
    got, want = run_both(f, x, n, d)
    np.testing.assert_allclose(got[0].numpy(), want[0].numpy(), rtol=1e-6)
    assert [tuple(t.shape) for t in got[1]] == [tuple(t.shape) for t in want[1]]
    for a, b in zip(got[1], want[1]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    kernels = [(k.name, k.backend) for p in plans_of(f).plans.values() for k in p.kernels]
    assert kernels.count(("chunk", "python")) == 2 and "eager" not in dict(kernels).values()


def test_chunk_in_the_plan_keeps_the_eager_errors():
    f = gt.jit.script(gates)
    x = gt.randn(5, 12)
    with gt.no_grad():
        f(x, 2, 1)
        f(x, 2, 1)
        with pytest.raises(RuntimeError, match="greater than 0"):
            f(x, 0, 1)
        with pytest.raises(IndexError):
            f(x, 2, 5)
