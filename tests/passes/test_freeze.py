"""Freezing folds module state into one flat graph that keeps computing the same thing."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import UnsupportedError
from graphtorch.ir import verify


def test_freeze_inlines_and_folds_parameters(tmp_path):
    gt.manual_seed(0)
    model = gt.nn.Sequential(gt.nn.Linear(4, 8), gt.nn.ReLU(), gt.nn.Linear(8, 2)).eval()
    traced = gt.jit.trace(model, gt.rand(3, 4))
    frozen = gt.jit.freeze(traced)
    text = str(frozen.graph)
    verify(frozen.graph)
    assert "prim::CallMethod" not in text and "prim::GetAttr" not in text
    assert list(frozen.parameters()) == []
    x = gt.rand(5, 4)
    want = model(x).detach().numpy()
    np.testing.assert_allclose(frozen(x).numpy(), want, rtol=1e-6)
    with gt.no_grad():  # later changes to the model do not reach the frozen graph
        model[0].weight.mul_(0)
    np.testing.assert_allclose(frozen(x).numpy(), want, rtol=1e-6)
    path = tmp_path / "frozen.gt"
    frozen.save(str(path))
    np.testing.assert_allclose(gt.jit.load(str(path))(x).numpy(), want, rtol=1e-6)


class _ScaledLinear(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = gt.nn.Linear(3, 2)

    def forward(self, x, scale: float = 2.0):
        return self.lin(x) * scale


def test_frozen_module_keeps_argument_defaults():
    gt.manual_seed(0)
    scripted = gt.jit.script(_ScaledLinear()).eval()
    frozen = gt.jit.freeze(scripted)
    x = gt.rand(4, 3)
    with gt.no_grad():
        want2, want3 = scripted(x).numpy(), scripted(x, 3.0).numpy()
        np.testing.assert_allclose(frozen(x).numpy(), want2, rtol=1e-6)
        np.testing.assert_allclose(frozen(x, 3.0).numpy(), want3, rtol=1e-6)
    np.testing.assert_allclose(want3, want2 * 1.5, rtol=1e-6)


def test_freeze_needs_eval_mode():
    traced = gt.jit.trace(gt.nn.Linear(2, 2), gt.rand(1, 2))
    with pytest.raises(UnsupportedError, match="eval mode"):
        gt.jit.freeze(traced)


class CountsCalls(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x * self.calls


def test_a_graph_that_assigns_attributes_is_not_frozen():
    """Its state changes between calls: folding it into constants would give wrong results."""
    sm = gt.jit.script(CountsCalls()).eval()
    with pytest.raises(UnsupportedError, match=r"cannot freeze forward: it assigns the "
                                               r"attribute self\.calls"):
        gt.jit.freeze(sm)
