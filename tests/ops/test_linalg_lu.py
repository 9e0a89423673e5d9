"""linalg.lu_factor / lu / lu_solve and lu_unpack: values, pivots and gradients vs PyTorch on
square, rectangular and batched inputs; singular inputs; errors; use from script."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import UnsupportedError
from tests.ops.torch_grads import assert_matches_torch

RNG = np.random.default_rng(11)
SHAPES = [(3, 3), (5, 3, 3), (4, 3), (3, 5), (2, 3, 4, 4), (1, 1)]


def _torch():
    return pytest.importorskip("torch")


@pytest.mark.torch
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lu_factor_and_unpack_match_pytorch(shape, dtype):
    torch = _torch()
    a = RNG.standard_normal(shape).astype(dtype)
    lu, piv = gt.linalg.lu_factor(gt.tensor(a))
    tlu, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    assert lu.dtype == getattr(gt, dtype) and piv.dtype == gt.int32
    np.testing.assert_allclose(lu.numpy(), tlu.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(piv.numpy(), tpiv.numpy())
    p, low, up = gt.lu_unpack(lu, piv)
    tp, tl, tu = torch.lu_unpack(tlu, tpiv)
    for ours, theirs in ((p, tp), (low, tl), (up, tu)):
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose((p @ low @ up).numpy(), a, rtol=1e-4, atol=1e-5)
    res = gt.linalg.lu(gt.tensor(a))
    assert res._fields == ("P", "L", "U")
    np.testing.assert_allclose(res.L.numpy(), tl.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.torch
def test_unpack_flags_give_empty_tensors_as_pytorch():
    torch = _torch()
    a = RNG.standard_normal((3, 3))
    lu, piv = gt.linalg.lu_factor(gt.tensor(a))
    tlu, tpiv = torch.linalg.lu_factor(torch.tensor(a))
    for data, pivots in ((False, True), (True, False)):
        ours = gt.lu_unpack(lu, piv, data, pivots)
        theirs = torch.lu_unpack(tlu, tpiv, data, pivots)
        assert [tuple(t.shape) for t in ours] == [tuple(t.shape) for t in theirs]


def test_singular_matrix_still_factors():
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    lu, piv = gt.linalg.lu_factor(gt.tensor(a))
    p, low, up = gt.lu_unpack(lu, piv)
    np.testing.assert_allclose((p @ low @ up).numpy(), a, atol=1e-12)
    assert up.numpy()[2, 2] == 0.0


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_lu_factor_gradient_matches_pytorch(shape):
    torch = _torch()
    a = RNG.standard_normal(shape) + 2 * np.eye(shape[-1])
    assert_matches_torch(lambda x: gt.linalg.lu_factor(x).LU,
                         lambda x: torch.linalg.lu_factor(x).LU, [a], rtol=1e-8,
                         grad_atol=1e-9)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 5), (2, 3, 3)])
def test_lu_gradient_matches_pytorch_through_l_and_u(shape):
    torch = _torch()
    a = RNG.standard_normal(shape)
    w = RNG.standard_normal(shape)
    if shape[-1] != shape[-2]:  # the non-square gradient: through lu_unpack only
        lu, piv = torch.linalg.lu_factor(torch.tensor(a))
        assert_matches_torch(lambda x: (gt.lu_unpack(x, gt.tensor(piv.numpy()))[1].sum(-1)),
                             lambda x: torch.lu_unpack(x, piv)[1].sum(-1), [lu.numpy()],
                             rtol=1e-8, grad_atol=1e-9)
        return
    assert_matches_torch(lambda x: (gt.linalg.lu(x).L @ gt.linalg.lu(x).U) * gt.tensor(w),
                         lambda x: (torch.linalg.lu(x).L @ torch.linalg.lu(x).U) *
                         torch.tensor(w), [a], rtol=1e-8, grad_atol=1e-9)


@pytest.mark.torch
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve_matches_pytorch(left, adjoint):
    torch = _torch()
    a = RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = RNG.standard_normal((2, 3, 2) if left else (2, 2, 3))

    def ours(x, y):
        lu, piv = gt.linalg.lu_factor(x)
        return gt.linalg.lu_solve(lu, piv, y, left=left, adjoint=adjoint)

    def theirs(x, y):
        lu, piv = torch.linalg.lu_factor(x)
        return torch.linalg.lu_solve(lu, piv, y, left=left, adjoint=adjoint)

    assert_matches_torch(ours, theirs, [a, b], rtol=1e-8, grad_atol=1e-9)


def test_errors_name_the_function():
    with pytest.raises(UnsupportedError, match="lu_factor: LU without pivoting"):
        gt.linalg.lu_factor(gt.ones(2, 2), pivot=False)
    with pytest.raises(RuntimeError, match="Expected a floating point"):
        gt.linalg.lu_factor(gt.ones(2, 2, dtype=gt.int64))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        gt.linalg.lu_factor(gt.ones(3))
    lu, _ = gt.linalg.lu_factor(gt.eye(3))
    with pytest.raises(UnsupportedError, match="LU_pivots of shape"):
        gt.lu_unpack(lu, gt.ones(2, dtype=gt.int32))
    with pytest.raises(RuntimeError, match="lu_solve: Expected B to have at least 2"):
        gt.linalg.lu_solve(lu, gt.tensor([1, 2, 3], dtype=gt.int32), gt.ones(3))


def _lu_roundtrip(x):
    lu, pivots = gt.linalg.lu_factor(x)
    return gt.lu_unpack(lu, pivots)


@pytest.mark.torch
def test_scripted_lu_factor_and_unpack_match_pytorch():
    torch = _torch()
    scripted = gt.jit.script(_lu_roundtrip)
    for shape in ((3, 3), (5, 3, 3), (7, 3, 5, 5)):
        a = RNG.standard_normal(shape)
        got = scripted(gt.tensor(a))
        want = torch.lu_unpack(*torch.linalg.lu_factor(torch.tensor(a)))
        for ours, theirs in zip(got, want):
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
