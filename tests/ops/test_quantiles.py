"""quantile and nanquantile: composites of sort/gather/lerp, checked against PyTorch: values,
gradients per interpolation mode, NaN handling, errors and tracing as one node."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.ops.torch_grads import assert_matches_torch

NAN = float("nan")


def _torch():
    import torch

    return torch


@pytest.mark.torch
@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_gradients_match_pytorch(interpolation):
    torch = _torch()
    a = np.random.default_rng(3).standard_normal((3, 6))
    q = np.array([0.1, 0.5, 0.8])
    assert_matches_torch(lambda x: gt.quantile(x, gt.tensor(q, dtype=gt.float64), dim=1,
                                               keepdim=True, interpolation=interpolation),
                         lambda x: torch.quantile(x, torch.tensor(q), dim=1, keepdim=True,
                                                  interpolation=interpolation), [a])


@pytest.mark.torch
def test_nanquantile_skips_nans_and_quantile_propagates_them():
    torch = _torch()
    data = [[1.0, NAN, 3.0, 0.0], [NAN, NAN, NAN, NAN], [2.0, 5.0, -1.0, 4.0]]
    for name in ("quantile", "nanquantile"):
        for q in (0.3, [0.0, 0.25, 1.0]):
            ours = getattr(gt, name)(gt.tensor(data), q if isinstance(q, float) else gt.tensor(q),
                                     dim=1)
            theirs = getattr(torch, name)(torch.tensor(data), q if isinstance(q, float) else
                                          torch.tensor(q), dim=1)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    flat = gt.nanquantile(gt.tensor(data), 0.5)
    assert flat.item() == pytest.approx(torch.nanquantile(torch.tensor(data), 0.5).item())


def test_quantile_errors_use_pytorch_wording():
    x = gt.ones(3)
    with pytest.raises(RuntimeError, match=r"quantile\(\) q must be in the range \[0, 1\] but "
                                           r"got 1.5"):
        gt.quantile(x, 1.5)
    with pytest.raises(RuntimeError, match=r"quantile\(\) q values must be in the range"):
        gt.quantile(x, gt.tensor([0.5, -0.1]))
    with pytest.raises(RuntimeError, match="input tensor must be either float or double dtype"):
        gt.quantile(gt.ones(3, dtype=gt.int64), 0.5)
    with pytest.raises(RuntimeError, match="q tensor must be same dtype as the input tensor"):
        gt.quantile(x, gt.tensor([0.5], dtype=gt.float64))
    with pytest.raises(RuntimeError, match="interpolation must be one of linear, lower, higher, "
                                           "midpoint or nearest, but got foo"):
        x.quantile(0.5, interpolation="foo")
    with pytest.raises(RuntimeError, match=r"nanquantile\(\) q must be a scalar or 1D tensor"):
        gt.nanquantile(x, gt.ones(2, 2))


def test_quantile_traces_as_one_node():
    x = gt.tensor([[1.0, 4.0, 2.0], [0.0, -1.0, 5.0]])
    traced = gt.jit.trace(lambda t: gt.quantile(t, 0.25, dim=1), (x,))
    assert "op::quantile" in str(traced.graph) and "op::sort" not in str(traced.graph)
    np.testing.assert_allclose(traced(x).numpy(), [1.5, -0.5])
