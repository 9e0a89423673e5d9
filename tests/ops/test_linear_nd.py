"""Eager linear on N-d inputs runs one GEMM over the flattened rows: same values as float64."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt


@pytest.mark.parametrize("shape, transpose", [((8, 5, 6), True), ((2, 3, 4, 6), False),
                                              ((0, 3, 6), False), ((4, 6), False)])
@pytest.mark.parametrize("bias", [True, False])
def test_nd_linear_matches_float64(shape, transpose, bias):
    gt.manual_seed(0)
    x = gt.randn(*shape)
    if transpose:
        x = x.transpose(0, 1)
    w, b = gt.randn(7, 6), (gt.randn(7) if bias else None)
    y = gt.nn.functional.linear(x, w, b)
    ref = x.numpy().astype(np.float64) @ w.numpy().T.astype(np.float64)
    if bias:
        ref = ref + b.numpy()
    assert tuple(y.shape) == ref.shape
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5, atol=1e-5)


def _numeric_grad(f, arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(arr)
    for idx in np.ndindex(arr.shape):
        old = arr[idx]
        arr[idx] = old + eps
        hi = f()
        arr[idx] = old - eps
        lo = f()
        arr[idx] = old
        grad[idx] = (hi - lo) / (2 * eps)
    return grad


def test_nd_linear_gradients_match_float64_finite_differences():
    rng = np.random.default_rng(1)
    xa, wa, ba = rng.normal(size=(3, 2, 4)), rng.normal(size=(5, 4)), rng.normal(size=5)
    proj = rng.normal(size=(2, 3, 5))

    def value() -> float:
        out = np.swapaxes(xa, 0, 1) @ wa.T + ba
        return float((out * proj).sum())

    x = gt.tensor(xa, requires_grad=True)
    w = gt.tensor(wa, requires_grad=True)
    b = gt.tensor(ba, requires_grad=True)
    y = gt.nn.functional.linear(x.transpose(0, 1), w, b)
    (y * gt.tensor(proj)).sum().backward()
    for t, arr in ((x, xa), (w, wa), (b, ba)):
        np.testing.assert_allclose(t.grad.numpy(), _numeric_grad(value, arr), rtol=1e-6,
                                   atol=1e-8)
