"""LPPool1d / LPPool2d and F.lp_pool1d / lp_pool2d: values and gradients against PyTorch, and
the scripted modules against eager."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt


@pytest.mark.torch
@pytest.mark.parametrize("nd,args,kwargs", [
    (1, (2, 3), {}), (1, (3.0, 2), {"stride": 1}), (1, (1.5, 4), {"ceil_mode": True}),
    (2, (2, 3), {}), (2, (2, (3, 1)), {}), (2, (3, (2, 3)), {"stride": (1, 2)}),
    (2, (1.5, 3), {"stride": 2, "ceil_mode": True}),
])
def test_modules_match_pytorch_with_gradients(nd, args, kwargs):
    import torch

    rng = np.random.default_rng(nd)
    x = rng.uniform(0.1, 2.0, (2, 3) + (7,) * nd)
    ours_in = gt.tensor(x, requires_grad=True)
    theirs_in = torch.tensor(x, requires_grad=True)
    name = f"LPPool{nd}d"
    ours = getattr(gt.nn, name)(*args, **kwargs)(ours_in)
    theirs = getattr(torch.nn, name)(*args, **kwargs)(theirs_in)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=1e-10)


@pytest.mark.torch
def test_negative_windows_with_odd_p_are_nan_as_in_pytorch():
    import torch

    x = np.array([[[-1.0, -2.0, 3.0, 1.0]]])
    ours = gt.nn.functional.lp_pool1d(gt.tensor(x), 3, 2).numpy()
    theirs = torch.nn.functional.lp_pool1d(torch.tensor(x), 3, 2).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    assert np.isnan(ours).any()


class _Pools(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = gt.nn.LPPool2d(2, 3)
        self.b = gt.nn.LPPool2d(2, (7, 1))
        self.c = gt.nn.LPPool1d(3, 2, stride=1)

    def forward(self, x, y):
        return (self.a(x), self.b(x), gt.nn.functional.lp_pool2d(x, 2, 3),
                gt.nn.functional.lp_pool2d(x, float(2), (7, 1)), self.c(y),
                gt.nn.functional.lp_pool1d(y, 2.0, 3))


def test_scripted_matches_eager():
    m = _Pools()
    scripted = gt.jit.script(m)
    x, y = gt.rand(1, 3, 7, 7), gt.rand(2, 3, 9)
    for _ in range(3):
        for a, b in zip(scripted(x, y), m(x, y)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_repr():
    assert repr(gt.nn.LPPool2d(2, 3)) == \
        "LPPool2d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)"
