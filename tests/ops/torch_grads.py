"""One check shared by the composite-op tests: same values and same input gradients (for a
random cotangent) as PyTorch, in float64."""

from __future__ import annotations

import numpy as np

import graphtorch as gt


def assert_matches_torch(fn_gt, fn_torch, arrays, rtol: float = 1e-9,
                         grad_atol: float = 1e-12) -> None:
    """Run ``fn_gt`` and ``fn_torch`` on float64 leaves made from ``arrays``; compare the
    outputs, backpropagate one random cotangent through both and compare the input gradients."""
    import torch

    ins = [gt.tensor(a, dtype=gt.float64, requires_grad=True) for a in arrays]
    tins = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, tout = fn_gt(*ins), fn_torch(*tins)
    assert tuple(out.shape) == tuple(tout.shape)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=rtol,
                               atol=1e-12)
    cot = np.random.default_rng(1).standard_normal(tuple(tout.shape))
    out.backward(gt.tensor(cot, dtype=gt.float64))
    tout.backward(torch.tensor(cot))
    for a, b in zip(ins, tins):
        if b.grad is None:  # ord=0 counts: PyTorch leaves no gradient, graphtorch a zero one
            assert a.grad is None or not a.grad.numpy().any()
            continue
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=grad_atol)
