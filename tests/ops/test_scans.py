"""cummax, cummin, logcumsumexp, scatter_reduce: ties, NaNs, extreme values and gradients vs
PyTorch (the registry matrix covers the samples and finite differences)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import UnsupportedError

NAN = float("nan")


def _torch():
    import torch

    return torch


@pytest.mark.torch
@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("values", [[1.0, 1.0, 3.0, 3.0, 0.0, 3.0],
                                    [1.0, NAN, 3.0, NAN, 0.0],
                                    [2, 2, -1, 5, 5, -1]])
def test_running_extremes_ties_and_nans_match_pytorch(name, values):
    torch = _torch()
    ours = getattr(gt, name)(gt.tensor(values), 0)
    theirs = getattr(torch, name)(torch.tensor(values), 0)
    assert type(ours).__name__ == name and ours.values is ours[0]
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    method = getattr(gt.tensor(values), name)(dim=0)
    np.testing.assert_array_equal(method.indices.numpy(), theirs.indices.numpy())


@pytest.mark.torch
def test_cummax_gradient_with_ties_goes_to_the_latest_max():
    torch = _torch()
    data = [[1.0, 3.0, 3.0, 2.0], [0.5, -1.0, 0.5, 4.0]]
    g = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]
    x = gt.tensor(data, requires_grad=True)
    gt.cummax(x, 1).values.backward(gt.tensor(g))
    tx = torch.tensor(data, requires_grad=True)
    torch.cummax(tx, 1).values.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.torch
def test_logcumsumexp_is_stable_and_differentiable():
    torch = _torch()
    data = [[1000.0, 1000.0, -1000.0], [-1e4, 0.0, 30.0]]
    ours = gt.tensor(data).logcumsumexp(1)
    np.testing.assert_allclose(ours.numpy(), torch.tensor(data).logcumsumexp(1).numpy(),
                               rtol=1e-6)
    x = gt.tensor(data, dtype=gt.float64, requires_grad=True)
    cot = [[0.5, -2.0, 1.0], [3.0, -1.0, 0.25]]
    gt.logcumsumexp(x, 1).backward(gt.tensor(cot, dtype=gt.float64))
    tx = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    torch.logcumsumexp(tx, 1).backward(torch.tensor(cot, dtype=torch.float64))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(UnsupportedError, match="\"logcumsumexp_out_cpu\" not implemented for "
                                              "'Long'"):
        gt.logcumsumexp(gt.tensor([1, 2]), 0)


@pytest.mark.torch
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_values_and_gradients_match_pytorch(reduce, include_self):
    torch = _torch()
    rng = np.random.default_rng(3)
    x0 = rng.uniform(0.5, 2.0, size=(3, 5))
    src0 = rng.uniform(0.5, 2.0, size=(2, 4))
    src0[0, 1] = src0[0, 0] = 3.0     # tied maxima scattered to [0, 2]
    if include_self:
        x0[0, 2] = 3.0
    idx = [[2, 2, 0, 4], [1, 1, 1, 0]]
    cot = rng.standard_normal((3, 5))
    x, src = (gt.tensor(a, requires_grad=True) for a in (x0, src0))
    out = x.scatter_reduce(1, gt.tensor(idx), src, reduce, include_self=include_self)
    out.backward(gt.tensor(cot))
    tx, tsrc = (torch.tensor(a, requires_grad=True) for a in (x0, src0))
    tout = tx.scatter_reduce(1, torch.tensor(idx), tsrc, reduce, include_self=include_self)
    tout.backward(torch.tensor(cot))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(src.grad.numpy(), tsrc.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_scatter_reduce_amax_tie_without_self_splits_among_sources():
    # NOTE: PyTorch also counts an equal (but excluded) self value here, so its source gradients
    # sum to 2/3 of g; graphtorch splits g among the values that were reduced.
    x = gt.tensor([3.0, 0.0], requires_grad=True)
    src = gt.tensor([3.0, 3.0], requires_grad=True)
    x.scatter_reduce(0, gt.tensor([0, 0]), src, "amax", include_self=False).sum().backward()
    np.testing.assert_array_equal(src.grad.numpy(), [0.5, 0.5])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])


@pytest.mark.torch
def test_scatter_reduce_integer_mean_floors_like_pytorch():
    torch = _torch()
    for include_self in (True, False):
        ours = gt.tensor([5, 5, 5]).scatter_reduce(0, gt.tensor([0, 0, 1]),
                                                   gt.tensor([-10, -1, 3]), "mean",
                                                   include_self=include_self)
        theirs = torch.tensor([5, 5, 5]).scatter_reduce(0, torch.tensor([0, 0, 1]),
                                                        torch.tensor([-10, -1, 3]), "mean",
                                                        include_self=include_self)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_scatter_reduce_errors():
    x = gt.zeros(3)
    with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean, "
                                           "amax or amin, got foo"):
        x.scatter_reduce(0, gt.tensor([0]), gt.ones(1), "foo")
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        x.scatter_reduce(0, gt.tensor([0]), gt.tensor([1]), "sum")
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x.scatter_reduce(0, gt.tensor([3]), gt.ones(1), "sum")


def test_diff_is_the_forward_difference_with_prepend():
    x = gt.tensor([1.0, 4.0, 9.0, 16.0])
    np.testing.assert_array_equal(gt.diff(x).numpy(), [3.0, 5.0, 7.0])
    np.testing.assert_array_equal(gt.diff(x, n=2, prepend=gt.tensor([0.0])).numpy(),
                                  [2.0, 2.0, 2.0])
