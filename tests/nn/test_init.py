"""nn.init: gains, fans, distributions' bounds and moments, in-place and no_grad behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn
from graphtorch.nn import init


@pytest.mark.torch
@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_matches_pytorch(nonlinearity, param):
    import torch

    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param))


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope x not a valid number"):
        init.calculate_gain("leaky_relu", "x")


def test_fans():
    assert init._calculate_fan_in_and_fan_out(gt.empty(5, 3)) == (3, 5)
    assert init._calculate_fan_in_and_fan_out(gt.empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(gt.empty(3))


def _values(t):
    return t.detach().numpy().astype(np.float64).ravel()


def test_uniform_and_normal_in_place_on_parameters():
    gt.manual_seed(0)
    p = nn.Parameter(gt.empty(400, 50))
    out = init.uniform_(p, -2.0, 3.0)
    assert out is p and p.requires_grad and p.grad_fn is None
    v = _values(p)
    assert v.min() >= -2.0 and v.max() < 3.0 and abs(v.mean() - 0.5) < 0.05
    init.normal_(p, 1.0, 0.5)
    v = _values(p)
    assert abs(v.mean() - 1.0) < 0.02 and abs(v.std() - 0.5) < 0.02


def test_constant_zeros_ones_eye():
    t = gt.empty(3, 4)
    assert np.all(init.constant_(t, 2.5).numpy() == 2.5)
    assert np.all(init.zeros_(t).numpy() == 0)
    assert np.all(init.ones_(t).numpy() == 1)
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(3, 4, dtype=np.float32))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(gt.empty(2, 2, 2))


def test_xavier_and_kaiming_bounds_and_std():
    gt.manual_seed(1)
    w = gt.empty(300, 200)
    init.xavier_uniform_(w, gain=2.0)
    bound = 2.0 * math.sqrt(6.0 / 500)
    assert np.abs(_values(w)).max() <= bound and np.abs(_values(w)).max() > 0.95 * bound
    init.xavier_normal_(w)
    assert _values(w).std() == pytest.approx(math.sqrt(2.0 / 500), rel=0.03)
    init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = math.sqrt(6.0 / ((1 + 5) * 200))
    assert np.abs(_values(w)).max() <= bound
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert _values(w).std() == pytest.approx(math.sqrt(2.0 / 300), rel=0.03)
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(w, mode="fan_avg")


def test_trunc_normal_stays_in_bounds():
    gt.manual_seed(2)
    w = init.trunc_normal_(gt.empty(200, 100), mean=0.5, std=1.0, a=-0.5, b=1.0)
    v = _values(w)
    assert v.min() >= -0.5 and v.max() <= 1.0 and v.std() > 0.2


def test_orthogonal_rows_or_columns_are_orthonormal():
    gt.manual_seed(3)
    for shape in ((6, 4), (4, 6), (3, 2, 2)):
        w = init.orthogonal_(gt.empty(*shape), gain=2.0)
        m = w.numpy().reshape(shape[0], -1).astype(np.float64) / 2.0
        gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
        np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=1e-5)


def test_dirac_preserves_channels():
    w = init.dirac_(gt.empty(3, 3, 3, 3))
    x = gt.randn(1, 3, 5, 5)
    out = nn.functional.conv2d(x, w, padding=1)
    np.testing.assert_allclose(out.numpy(), x.numpy(), rtol=1e-6, atol=1e-6)


def test_generator_makes_draws_reproducible():
    a = init.normal_(gt.empty(5), generator=gt.Generator().manual_seed(4))
    b = init.normal_(gt.empty(5), generator=gt.Generator().manual_seed(4))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_linear_default_init_bounds_like_pytorch():
    gt.manual_seed(5)
    lin = nn.Linear(50, 40)
    bound = 1 / math.sqrt(50)
    assert np.abs(_values(lin.weight)).max() <= bound
    assert np.abs(_values(lin.bias)).max() <= bound
    assert _values(lin.weight).std() == pytest.approx(bound / math.sqrt(3), rel=0.08)


def test_zero_element_tensor_warns():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(gt.empty(0, 3))


def test_sparse_zeros_per_column_and_std():
    w = gt.empty(200, 30)
    nn.init.sparse_(w, 0.25, std=0.5, generator=gt.Generator().manual_seed(0))
    a = w.numpy()
    assert ((a == 0).sum(0) == 50).all()
    assert abs(a[a != 0].std() - 0.5) < 0.03
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        nn.init.sparse_(gt.empty(2, 2, 2), 0.1)
