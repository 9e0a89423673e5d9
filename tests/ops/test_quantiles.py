"""quantile and nanquantile: composites of sort/gather/lerp, checked against PyTorch: values,
gradients per interpolation mode, NaN handling, errors and tracing as one node."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

NAN = float("nan")


def _torch():
    import torch

    return torch


def _grads_match(fn_gt, fn_torch, arrays, cot_shape=None, rtol=1e-9):
    torch = _torch()
    ins = [gt.tensor(a, dtype=gt.float64, requires_grad=True) for a in arrays]
    tins = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, tout = fn_gt(*ins), fn_torch(*tins)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=rtol,
                               atol=1e-12)
    cot = np.random.default_rng(1).standard_normal(tuple(tout.shape))
    out.backward(gt.tensor(cot, dtype=gt.float64))
    tout.backward(torch.tensor(cot))
    for a, b in zip(ins, tins):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("p", [2.0, 1.0, float("inf"), 3.0, 0.5])
def test_cdist_values_and_gradients(p):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 4, 3)), rng.standard_normal((5, 3))
    _grads_match(lambda x, y: gt.cdist(x, y, p), lambda x, y: _torch().cdist(x, y, p), [a, b])


@pytest.mark.torch
def test_cdist_zero_distance_has_zero_gradient():
    a = np.array([[1.0, 2.0], [3.0, -1.0]])
    _grads_match(lambda x, y: gt.cdist(x, y), lambda x, y: _torch().cdist(x, y), [a, a.copy()])


@pytest.mark.torch
@pytest.mark.parametrize("p", [2.0, 1.0])
def test_pdist_values_and_gradients(p):
    a = np.random.default_rng(2).standard_normal((5, 3))
    _grads_match(lambda x: gt.pdist(x, p), lambda x: _torch().pdist(x, p), [a])


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




@pytest.mark.torch
@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_gradients_match_pytorch(interpolation):
    torch = _torch()
    a = np.random.default_rng(3).standard_normal((3, 6))
    q = np.array([0.1, 0.5, 0.8])
    _grads_match(lambda x: gt.quantile(x, gt.tensor(q, dtype=gt.float64), dim=1, keepdim=True,
                                       interpolation=interpolation),
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
