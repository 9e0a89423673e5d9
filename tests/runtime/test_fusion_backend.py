"""The interpreter runs FusionGroups as Triton kernels when asked (GT_FUSION_BACKEND)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.passes.manager import run_passes
from graphtorch.runtime.interpreter import run_graph


def _fused_graph():
    def f(x, w, b):
        return gt.tanh(x * w + b) * gt.sigmoid(x)

    traced = gt.jit.trace(f, (gt.rand(4, 8), gt.rand(8), gt.rand(8)))
    g = traced.graph.copy()
    run_passes(g, ["fuse_elementwise"], verify=True)
    assert "prim::FusionGroup" in str(g)
    return f, g


@pytest.mark.parametrize("mode", ["triton", "interpreter", "auto"])
def test_fusion_group_backends_agree(monkeypatch, mode):
    import graphtorch.runtime.triton as triton_backend

    launches = []
    real = triton_backend.run_fusion_group
    monkeypatch.setattr(triton_backend, "run_fusion_group",
                        lambda *a: launches.append(1) or real(*a))
    monkeypatch.setenv("GT_FUSION_BACKEND", mode)
    f, g = _fused_graph()
    x, w, b = gt.rand(6, 8), gt.rand(8), gt.rand(8)
    with gt.no_grad():
        got = run_graph(g, [x, w, b])[0]
    np.testing.assert_allclose(got.numpy(), f(x, w, b).numpy(), rtol=1e-5, atol=1e-6)
    # CPU tensors: only the forced "triton" mode launches kernels (under Triton's interpreter)
    assert bool(launches) == (mode == "triton")


def test_gradients_bypass_the_kernels(monkeypatch):
    monkeypatch.setenv("GT_FUSION_BACKEND", "triton")
    f, g = _fused_graph()
    x = gt.rand(3, 8, requires_grad=True)
    w, b = gt.rand(8), gt.rand(8)
    run_graph(g, [x, w, b])[0].sum().backward()
    got = x.grad.numpy().copy()
    x.grad = None
    f(x, w, b).sum().backward()
    np.testing.assert_allclose(got, x.grad.numpy(), rtol=1e-6)
