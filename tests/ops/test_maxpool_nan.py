"""max_pool values, indices and gradients equal PyTorch's with ties (the first maximum wins) and
NaNs (PyTorch's window scan takes every NaN it meets: the last one wins), every rank, cropped
edges, overlapping and padded windows."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("nd,shape,kernel", [(1, (2, 3, 9), 2), (2, (2, 3, 7, 6), 2),
                                             (2, (1, 2, 9, 9), 3), (2, (1, 1, 4, 6), (2, 3)),
                                             (3, (1, 2, 4, 5, 6), 2)])
@pytest.mark.parametrize("with_nan", [False, True])
def test_non_overlapping_max_pool_matches_pytorch(nd, shape, kernel, with_nan):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, shape).astype(np.float32)  # many ties: the first maximum wins
    if with_nan:
        x.reshape(-1)[rng.choice(x.size, 5, replace=False)] = np.nan
    ours = getattr(gt.nn.functional, f"max_pool{nd}d")(gt.tensor(x, requires_grad=True), kernel,
                                                       return_indices=True)
    theirs = getattr(torch.nn.functional, f"max_pool{nd}d")(torch.tensor(x), kernel,
                                                           return_indices=True)
    np.testing.assert_array_equal(ours[0].detach().numpy(), theirs[0].numpy())
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
    xt = torch.tensor(x, requires_grad=True)
    xg = gt.tensor(x, requires_grad=True)
    getattr(torch.nn.functional, f"max_pool{nd}d")(xt, kernel).sum().backward()
    getattr(gt.nn.functional, f"max_pool{nd}d")(xg, kernel).sum().backward()
    np.testing.assert_array_equal(xg.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("kernel,stride,padding", [(3, 2, 1), (2, 1, 0), (3, 3, 1)])
def test_overlapping_windows_pick_pytorchs_nan_index(kernel, stride, padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, (2, 2, 7, 7)).astype(np.float32)
    x.reshape(-1)[rng.choice(x.size, 20, replace=False)] = np.nan
    ours = gt.nn.functional.max_pool2d(gt.tensor(x), kernel, stride, padding,
                                       return_indices=True)
    theirs = torch.nn.functional.max_pool2d(torch.tensor(x), kernel, stride, padding,
                                            return_indices=True)
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
