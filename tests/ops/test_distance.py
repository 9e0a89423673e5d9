"""cdist and pdist: composites (a difference reduced by the norm op), checked against PyTorch:
values, gradients (zero at zero distance) and errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.ops.torch_grads import assert_matches_torch


def _torch():
    import torch

    return torch


@pytest.mark.torch
@pytest.mark.parametrize("p", [2.0, 1.0, float("inf"), 3.0, 0.5])
def test_cdist_values_and_gradients(p):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 4, 3)), rng.standard_normal((5, 3))
    assert_matches_torch(lambda x, y: gt.cdist(x, y, p), lambda x, y: _torch().cdist(x, y, p),
                         [a, b])


@pytest.mark.torch
def test_cdist_zero_distance_has_zero_gradient():
    a = np.array([[1.0, 2.0], [3.0, -1.0]])
    assert_matches_torch(lambda x, y: gt.cdist(x, y), lambda x, y: _torch().cdist(x, y),
                         [a, a.copy()])


@pytest.mark.torch
@pytest.mark.parametrize("p", [2.0, 1.0])
def test_pdist_values_and_gradients(p):
    a = np.random.default_rng(2).standard_normal((5, 3))
    assert_matches_torch(lambda x: gt.pdist(x, p), lambda x: _torch().pdist(x, p), [a])


def test_cdist_errors_use_pytorch_wording():
    with pytest.raises(RuntimeError, match="cdist only supports at least 2D tensors, X1 got: 1D"):
        gt.cdist(gt.ones(3), gt.ones(3, 3))
    with pytest.raises(RuntimeError, match="X1 and X2 must have the same number of columns. "
                                           "X1: 2 X2: 3"):
        gt.cdist(gt.ones(3, 2), gt.ones(3, 3))
    with pytest.raises(RuntimeError, match="cdist only supports floating-point dtypes, X1 got: "
                                           "Long"):
        gt.cdist(gt.ones(3, 2, dtype=gt.int64), gt.ones(3, 2, dtype=gt.int64))
    with pytest.raises(RuntimeError, match="cdist only supports non-negative p values"):
        gt.cdist(gt.ones(3, 2), gt.ones(3, 2), -1.0)
