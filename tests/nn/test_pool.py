"""Pooling layers and functionals vs PyTorch: values, indices, gradients, reprs, errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.nn import pooling as P


def _compare(ours, theirs, x_np, tuple_out=False):
    import torch

    x = gt.tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    if tuple_out:
        np.testing.assert_array_equal(y[1].numpy(), ty[1].numpy())
        y, ty = y[0], ty[0]
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-7)
    cot = np.random.default_rng(1).standard_normal(ty.shape)
    y.backward(gt.tensor(cot))
    ty.backward(torch.tensor(cot))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-7)


MAX2D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
         dict(kernel_size=(2, 3), stride=(2, 1), ceil_mode=True),
         dict(kernel_size=2, stride=1, dilation=2, padding=1),
         dict(kernel_size=3, stride=3, ceil_mode=True, return_indices=True)]


@pytest.mark.torch
@pytest.mark.parametrize("cfg", MAX2D, ids=str)
def test_max_pool2d_matches_pytorch(cfg):
    import torch

    x = np.random.default_rng(0).standard_normal((2, 3, 8, 7))
    _compare(P.MaxPool2d(**cfg), torch.nn.MaxPool2d(**cfg), x, cfg.get("return_indices", False))
    assert repr(P.MaxPool2d(**cfg)) == repr(torch.nn.MaxPool2d(**cfg))


@pytest.mark.torch
def test_max_pool2d_ties_pick_the_first_maximum_like_pytorch():
    import torch

    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = 1.0
    ours = P.max_pool2d(gt.tensor(x), 3, 1, 1, return_indices=True)[1]
    theirs = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 1, 1, return_indices=True)[1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


AVG2D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
         dict(kernel_size=3, stride=2, padding=1, count_include_pad=False, ceil_mode=True),
         dict(kernel_size=(2, 3), divisor_override=5)]


@pytest.mark.torch
@pytest.mark.parametrize("cfg", AVG2D, ids=str)
def test_avg_pool2d_matches_pytorch(cfg):
    import torch

    x = np.random.default_rng(2).standard_normal((2, 2, 7, 8))
    _compare(P.AvgPool2d(**cfg), torch.nn.AvgPool2d(**cfg), x)
    assert repr(P.AvgPool2d(**cfg)) == repr(torch.nn.AvgPool2d(**cfg))


@pytest.mark.torch
@pytest.mark.parametrize("size", [1, 3, (2, 5), (None, 2), 7])
def test_adaptive_pools_match_pytorch(size):
    import torch

    x = np.random.default_rng(3).standard_normal((2, 3, 7, 9))
    _compare(P.AdaptiveAvgPool2d(size), torch.nn.AdaptiveAvgPool2d(size), x)
    _compare(P.AdaptiveMaxPool2d(size, return_indices=True),
             torch.nn.AdaptiveMaxPool2d(size, return_indices=True), x, tuple_out=True)
    assert repr(P.AdaptiveAvgPool2d(size)) == repr(torch.nn.AdaptiveAvgPool2d(size))


@pytest.mark.torch
def test_1d_pools_match_pytorch():
    import torch

    x = np.random.default_rng(4).standard_normal((2, 3, 11))
    _compare(P.MaxPool1d(3, 2, 1), torch.nn.MaxPool1d(3, 2, 1), x)
    _compare(P.MaxPool1d(2, return_indices=True, ceil_mode=True),
             torch.nn.MaxPool1d(2, return_indices=True, ceil_mode=True), x, tuple_out=True)
    _compare(P.AvgPool1d(3, 2, 1, count_include_pad=False),
             torch.nn.AvgPool1d(3, 2, 1, count_include_pad=False), x)
    _compare(P.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4), x)
    _compare(P.AdaptiveMaxPool1d(4), torch.nn.AdaptiveMaxPool1d(4), x)
    for ours, theirs in [(P.MaxPool1d(3, 2), torch.nn.MaxPool1d(3, 2)),
                         (P.AvgPool1d(3), torch.nn.AvgPool1d(3)),
                         (P.AdaptiveMaxPool1d(4), torch.nn.AdaptiveMaxPool1d(4))]:
        assert repr(ours) == repr(theirs)


@pytest.mark.torch
def test_unbatched_pooling_matches_pytorch():
    import torch

    x = np.random.default_rng(5).standard_normal((3, 6, 6))
    _compare(P.MaxPool2d(2), torch.nn.MaxPool2d(2), x)
    _compare(P.AvgPool2d(3, 1, 1), torch.nn.AvgPool2d(3, 1, 1), x)


def test_pooling_errors_use_pytorch_wording():
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        P.max_pool2d(gt.zeros(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        P.avg_pool2d(gt.zeros(1, 1, 2, 2), 3)
    with pytest.raises(RuntimeError, match="Expected 3D or 4D input"):
        P.max_pool2d(gt.zeros(4, 4), 2)


def test_max_pool_gradient_goes_to_the_maximum_only():
    x = gt.tensor([[[[1.0, 5.0], [3.0, 2.0]]]], requires_grad=True)
    P.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0.0, 1.0], [0.0, 0.0]]]])
