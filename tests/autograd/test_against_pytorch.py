"""Gradients of small programs, graphtorch vs PyTorch, through the public API only."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

pytestmark = pytest.mark.torch

_RNG = np.random.default_rng(7)
A = _RNG.standard_normal((3, 4))
B = _RNG.standard_normal((4,))
W = _RNG.standard_normal((4, 2))

PROGRAMS = {
    "broadcast_mul_add": lambda m, a, b, w: (a * b + b).sum(),
    "matmul_tanh": lambda m, a, b, w: (a @ w).tanh().sum(),
    "div_pow": lambda m, a, b, w: ((a / (b * b + 1)) ** 2).mean(),
    "exp_log": lambda m, a, b, w: (a.exp() + 1).log().sum(),
    "sigmoid_reuse": lambda m, a, b, w: (a.sigmoid() * a - a.relu()).sum(),
    "where_clamp": lambda m, a, b, w: m.where(a > 0, a * b, (a - b).clamp(-0.5, 0.5)).sum(),
    "reductions": lambda m, a, b, w: a.sum(1).mul(a.mean(1)).sum() + a.amax() * 2,
    "views": lambda m, a, b, w: (a.view(2, 6).t() @ a.reshape(2, 6)).transpose(0, 1).sum(),
    "maximum_abs": lambda m, a, b, w: m.maximum(a, b).abs().sqrt().sum(),
    "scalar_ops": lambda m, a, b, w: (2.0 - a * 3 + 1 / (a * a + 1)).sum(),
    "sub_alpha": lambda m, a, b, w: m.sub(a, b, alpha=2.5).pow(2).sum(),
    "atan2_sin": lambda m, a, b, w: m.atan2(a, b.cos() + 2).sin().sum(),
}


def _run(lib, program):
    a, b, w = (lib.tensor(x, requires_grad=True) for x in (A, B, W))
    out = program(lib, a, b, w)
    out.backward()
    return float(out.detach().numpy()), [t.grad.numpy() if t.grad is not None else None
                                         for t in (a, b, w)]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_gradients_match_pytorch(name):
    import torch

    ours_val, ours = _run(gt, PROGRAMS[name])
    theirs_val, theirs = _run(torch, PROGRAMS[name])
    assert ours_val == pytest.approx(theirs_val, rel=1e-12, abs=1e-12)
    for g, tg in zip(ours, theirs):
        if tg is None:
            assert g is None or not np.any(g), name
        else:
            np.testing.assert_allclose(g, tg, rtol=1e-10, atol=1e-12, err_msg=name)
