"""hoist_loop_linear: a loop's per-step ``linear(xs[t], W)`` becomes one guarded product before
the loop; every input gives the original's values (within BLAS rounding) or its exact error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch import nn
from graphtorch.nn import functional as F
from graphtorch.passes.manager import run_passes
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import plans_of
from graphtorch.runtime.interpreter import run_graph
from graphtorch.runtime.plan import PIPELINE, tolerance


def rnn(xs, w, h):
    for t in range(xs.size(0)):
        h = gt.tanh(F.linear(xs[t], w) + h)
    return h


def batching(xs, w, h):
    for t in range(xs.size(0)):
        x = xs[t]
        if x.dim() == 1:
            x = x.unsqueeze(0)
        h = gt.tanh(F.linear(x, w) + h)
    return h


def rnn_n(xs, w, h, n: int):
    for t in range(n):
        h = gt.tanh(F.linear(xs[t], w) + h)
    return h


def rnn_inplace(xs, w, h):
    for t in range(xs.size(0)):
        h = gt.tanh(F.linear(xs[t], w) + h)
        xs.mul_(1.0)
    return h


def graph_of(fn):
    return plans_of(gt.jit.script(fn)).graph.copy()


def hoisted(g) -> list:
    """The linear nodes at the graph's top level (in the guard's if) reading a graph input."""
    return [n for n in g.walk() if n.kind == "op::linear" and n.inputs[0] in g.inputs]


def outcome(g, inputs):
    try:
        return run_graph(g, inputs)[0].numpy()
    except gt.errors.GraphtorchError as e:
        return (type(e), str(e))
    except (IndexError, RuntimeError, ValueError) as e:  # NOTE: whatever the original raises
        return (type(e), str(e))


def same(a, b):
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert a == b
    else:
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_product_moves_before_the_loop_and_the_values_stay():
    g = graph_of(rnn)
    before = g.copy()
    assert run_passes(g, ["hoist_loop_linear"], verify=True)
    assert len(hoisted(g)) == 1
    assert not run_passes(g, ["hoist_loop_linear"], verify=True)  # a fixed point
    gt.manual_seed(0)
    xs, w, h = gt.randn(7, 3, 4), gt.randn(6, 4), gt.randn(3, 6)
    same(outcome(g, [xs, w, h]), outcome(before, [xs, w, h]))


@pytest.mark.parametrize("case", ["rows_are_vectors", "empty", "wrong_k", "one_dim",
                                  "zero_dim", "dtype", "narrow_weight"])
def test_every_input_gives_the_originals_value_or_error(case):
    g = graph_of(rnn)
    before = g.copy()
    assert run_passes(g, ["hoist_loop_linear"], verify=True)
    gt.manual_seed(1)
    w, h = gt.randn(6, 4), gt.randn(3, 6)
    xs = {"rows_are_vectors": gt.randn(5, 4), "empty": gt.randn(0, 3, 4),
          "wrong_k": gt.randn(5, 3, 5), "one_dim": gt.randn(4), "zero_dim": gt.randn(()),
          "dtype": gt.randn(5, 3, 4).double(), "narrow_weight": gt.randn(5, 3, 4)}[case]
    if case == "rows_are_vectors":
        h = gt.randn(6)
    if case == "narrow_weight":
        w = gt.randn(6, 4)[:, :3]
    got, want = outcome(g, [xs, w, h]), outcome(before, [xs, w, h])
    same(got, want)
    if case in ("wrong_k", "one_dim", "dtype", "narrow_weight", "zero_dim"):
        assert isinstance(want, tuple)  # the original raises, and so does the rewrite, alike


@pytest.mark.parametrize("shape", [(5, 4), (5, 3, 4)])
def test_an_lstm_cells_batching_if_is_applied_to_the_hoisted_rows(shape):
    g = graph_of(batching)
    before = g.copy()
    assert run_passes(g, ["hoist_loop_linear"], verify=True)
    assert len(hoisted(g)) == 1
    gt.manual_seed(2)
    xs, w = gt.randn(*shape), gt.randn(6, 4)
    h = gt.randn(1 if len(shape) == 2 else 3, 6)
    got = outcome(g, [xs, w, h])
    assert got.shape == h.shape
    same(got, outcome(before, [xs, w, h]))


@pytest.mark.parametrize("fn", [rnn_n, rnn_inplace])
def test_left_alone_without_the_proof(fn):
    g = graph_of(fn)
    text = str(g)
    assert not run_passes(g, ["hoist_loop_linear"], verify=True)
    assert str(g) == text


class LSTMLoop(nn.Module):
    def __init__(self, n_in, hidden):
        super().__init__()
        self.cell = nn.LSTMCell(n_in, hidden)
        self.hidden = hidden

    def forward(self, xs):
        h = xs.new_zeros(xs.shape[1], self.hidden)
        c = xs.new_zeros(xs.shape[1], self.hidden)
        for t in range(xs.shape[0]):
            h, c = self.cell(xs[t], (h, c))
        return h


def run_both(model, x):
    with gt.no_grad():
        set_executor("interpreter")
        want = model(x)
        set_executor(None)
        model(x)  # the profiling run
        got = model(x)
    plan = next(p for p in plans_of(model).plans.values() if p.calls)
    assert plan.mode == "compiled"
    return got, want, plan


@settings(max_examples=10, deadline=None)
@given(steps=st.integers(0, 7), batch=st.integers(1, 6), n_in=st.integers(1, 9),
       hidden=st.integers(1, 9), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**16))
def test_a_compiled_lstm_loop_equals_the_interpreter(steps, batch, n_in, hidden, dtype, seed):
    assert "hoist_loop_linear" in PIPELINE
    gt.manual_seed(seed)
    mod = LSTMLoop(n_in, hidden)
    if dtype == np.float64:
        mod = mod.double()
    model = gt.jit.script(mod)
    xs = gt.from_numpy(np.random.default_rng(seed).standard_normal((steps, batch, n_in))
                       .astype(dtype))
    got, want, plan = run_both(model, xs)
    assert len(hoisted(plan.graph)) == 1  # weight_ih's product, once per call
    rtol, atol = tolerance(np.dtype(dtype))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=rtol, atol=atol)
