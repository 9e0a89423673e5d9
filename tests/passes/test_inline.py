"""Inlining calls and lifting parameters on a traced module hierarchy."""

from __future__ import annotations

import numpy as np

import graphtorch as gt
from graphtorch.ir import verify
from graphtorch.passes.manager import PassContext, run_passes
from graphtorch.passes.prepare import prepare_method


class Inner(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = gt.nn.Linear(3, 3)

    def forward(self, x):
        return self.lin(x).relu()


class Outer(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Inner()
        self.b = Inner()

    def forward(self, x):
        return self.b(self.a(x)) * 2


def test_inline_then_lift_leaves_a_flat_graph():
    gt.manual_seed(0)
    m = Outer()
    traced = gt.jit.trace(m, gt.rand(2, 3))
    assert str(traced.graph).count("prim::CallMethod") == 2
    graph, paths = prepare_method(traced, "forward")
    verify(graph)
    text = str(graph)
    assert "prim::CallMethod" not in text and "prim::GetAttr" not in text
    assert text.count("op::linear") == 2
    assert paths == [("a", "lin", "weight"), ("a", "lin", "bias"), ("b", "lin", "weight"),
                     ("b", "lin", "bias")]
    x = gt.rand(4, 3)
    np.testing.assert_allclose(traced(x).detach().numpy(), m(x).detach().numpy(), rtol=1e-6)


def test_inline_pass_by_name_is_verified():
    m = Outer()
    traced = gt.jit.trace(m, gt.rand(2, 3))
    g = traced.graph.copy()
    assert run_passes(g, ["inline", "dce"], PassContext(module=traced), verify=True)
    assert "CallMethod" not in str(g)
    assert str(traced.graph).count("CallMethod") == 2  # the module's own graph is untouched
