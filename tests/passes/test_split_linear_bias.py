"""split_linear_bias: a linear's bias moves into the add/sub reading it, where the types prove
both forms agree; compiled plans with the split equal the interpreter and eager."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch import nn
from graphtorch.ir import parse_graph
from graphtorch.passes.manager import run_passes
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import plans_of
from graphtorch.runtime.interpreter import run_graph
from graphtorch.runtime.plan import PIPELINE, tolerance

SUM_OF_LINEARS = """graph(%x : Tensor, %h : Tensor, %w1 : Tensor(float32, [6, 4]),
      %b1 : Tensor(float32, [6]), %w2 : Tensor(float32, [6, 5]), %b2 : Tensor(float32, [6])):
  %p : Tensor = op::linear(%x, %w1, %b1)
  %q : Tensor = op::linear(%h, %w2, %b2)
  %s : Tensor = op::{reader}(%p, %q)
  return (%s)"""


def _inputs(rng, x_dtype=np.float32):
    arr = lambda *s: gt.from_numpy(rng.standard_normal(s).astype(np.float32))  # noqa: E731
    x = gt.from_numpy(rng.standard_normal((3, 4)).astype(x_dtype))
    return [x, arr(3, 5), arr(6, 4), arr(6), arr(6, 5), arr(6)]


@pytest.mark.parametrize("reader", ["add", "sub"])
def test_both_biases_move_into_the_reader_with_the_same_bits(reader):
    g = parse_graph(SUM_OF_LINEARS.format(reader=reader))
    inputs = _inputs(np.random.default_rng(0))
    want = run_graph(g, inputs)[0].numpy()
    assert run_passes(g, ["split_linear_bias"], verify=True)
    linears = [n for n in g.walk() if n.kind == "op::linear"]
    assert len(linears) == 2 and all(n.inputs[2].is_constant for n in linears)
    adds = [n for n in g.walk() if n.kind == "op::add"]
    assert [n.inputs[1] for n in adds[:2]] == [g.inputs[3], g.inputs[5]]
    np.testing.assert_array_equal(run_graph(g, inputs)[0].numpy(), want)
    assert not run_passes(g, ["split_linear_bias"], verify=True)  # a fixed point


def test_a_dtype_error_is_the_same_after_the_split():
    g = parse_graph(SUM_OF_LINEARS.format(reader="add"))
    inputs = _inputs(np.random.default_rng(1), x_dtype=np.float64)
    with pytest.raises(gt.errors.DTypeError) as before:
        run_graph(g, inputs)
    assert run_passes(g, ["split_linear_bias"], verify=True)
    with pytest.raises(gt.errors.DTypeError) as after:
        run_graph(g, inputs)
    assert str(after.value) == str(before.value)


@pytest.mark.parametrize("text", [
    # the bias's size is unknown: linear's bias check could fail where add would broadcast
    """graph(%x : Tensor, %w : Tensor(float32, [6, 4]), %b : Tensor(float32, [None]),
          %y : Tensor):
  %p : Tensor = op::linear(%x, %w, %b)
  %s : Tensor = op::add(%p, %y)
  return (%s)""",
    # bias dtype differs from the weight's: linear raises, add would promote
    """graph(%x : Tensor, %w : Tensor(float32, [6, 4]), %b : Tensor(float64, [6]),
          %y : Tensor):
  %p : Tensor = op::linear(%x, %w, %b)
  %s : Tensor = op::add(%p, %y)
  return (%s)""",
    # two readers: the product with its bias is needed as it is
    """graph(%x : Tensor, %w : Tensor(float32, [6, 4]), %b : Tensor(float32, [6]),
          %y : Tensor):
  %p : Tensor = op::linear(%x, %w, %b)
  %s : Tensor = op::add(%p, %y)
  %t : Tensor = op::mul(%p, %s)
  return (%t)""",
    # the reader is not an add (a linear + activation keeps its epilogue)
    """graph(%x : Tensor, %w : Tensor(float32, [6, 4]), %b : Tensor(float32, [6])):
  %p : Tensor = op::linear(%x, %w, %b)
  %s : Tensor = op::relu(%p)
  return (%s)""",
    # the product is the add's alpha
    """graph(%x : Tensor, %w : Tensor(float32, [1, 4]), %b : Tensor(float32, [1]),
          %y : Tensor):
  %p : Tensor = op::linear(%x, %w, %b)
  %s : Tensor = op::add(%y, %y, %p)
  return (%s)""",
])
def test_left_alone_where_the_forms_could_differ(text):
    g = parse_graph(text)
    assert not run_passes(g, ["split_linear_bias"], verify=True)
    assert str(g) == str(parse_graph(text))


class Cell(nn.Module):
    """An LSTM cell's gate sum, a residual and a plain linear (left alone)."""

    def __init__(self, n_in, n_hid, reader, swap):
        super().__init__()
        self.ih, self.hh = nn.Linear(n_in, n_hid), nn.Linear(n_hid, n_hid)
        self.out = nn.Linear(n_hid, n_hid)
        self.reader, self.swap = reader, swap

    def forward(self, x, h):
        a, b = self.ih(x), self.hh(h)
        if self.swap:
            a, b = b, a
        s = a + b if self.reader == "add" else a - b
        return self.out(s.relu()) + h, self.out(s)


def _run(model, x, h):
    with gt.no_grad():
        set_executor("interpreter")
        want = model(x, h)
        set_executor(None)
        model(x, h)  # the profiling run
        got = model(x, h)
    return got, want


@settings(max_examples=12, deadline=None)
@given(batch=st.integers(1, 9), n_in=st.integers(1, 12), n_hid=st.integers(1, 12),
       reader=st.sampled_from(["add", "sub"]), swap=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_compiled_plans_with_the_split_equal_the_interpreter(batch, n_in, n_hid, reader, swap,
                                                             dtype, seed):
    assert "split_linear_bias" in PIPELINE
    gt.manual_seed(seed)
    cell = Cell(n_in, n_hid, reader, swap)
    if dtype == np.float64:
        cell = cell.double()
    model = gt.jit.script(cell)
    rng = np.random.default_rng(seed)
    x = gt.from_numpy(rng.standard_normal((batch, n_in)).astype(dtype))
    h = gt.from_numpy(rng.standard_normal((batch, n_hid)).astype(dtype))
    got, want = _run(model, x, h)
    plan = next(p for p in plans_of(model).plans.values() if p.calls)
    assert plan.mode == "compiled"
    split = [n for n in plan.graph.walk() if n.kind == "op::linear" and n.inputs[2].is_constant]
    assert len(split) == 3  # ih, hh, and the residual's out; the second out call keeps its bias
    rtol, atol = tolerance(np.dtype(dtype))  # fast-math C groups (docs/fusion.md)
    with gt.no_grad():
        eager = cell(x, h)
    for g, w, e in zip(got, want, eager):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=rtol, atol=atol)
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=rtol, atol=atol)
