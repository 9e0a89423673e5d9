"""inv, det, slogdet, solve, cholesky, eigh, svd, cross, matrix_power: values and gradients vs
PyTorch on batches, the one-triangle gradient convention, sign normalization, errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import LinAlgError
from tests.ops.torch_grads import assert_matches_torch

RNG = np.random.default_rng(7)
WELL = RNG.uniform(-1, 1, (2, 3, 3)) + 3 * np.eye(3)
X = RNG.uniform(-1, 1, (2, 3, 4))


def _torch():
    import torch

    return torch


def _check(fn_gt, fn_torch, arrays, rtol=1e-9):
    assert_matches_torch(fn_gt, fn_torch, arrays, rtol=rtol, grad_atol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["inv", "det", "slogdet", "matrix_power"])
def test_square_functions_match_pytorch(name):
    torch = _torch()
    if name == "slogdet":
        _check(lambda a: gt.linalg.slogdet(a).logabsdet,
               lambda a: torch.linalg.slogdet(a).logabsdet, [WELL])
    elif name == "matrix_power":
        for n in (0, 1, 3, -2):
            _check(lambda a, n=n: gt.linalg.matrix_power(a, n),
                   lambda a, n=n: torch.linalg.matrix_power(a, n), [WELL])
    else:
        _check(getattr(gt.linalg, name), getattr(torch.linalg, name), [WELL])


@pytest.mark.torch
@pytest.mark.parametrize("b_shape,left", [((3,), True), ((2, 3), True), ((3, 5), True),
                                          ((2, 3, 2), True), ((4, 3), False)])
def test_solve_shapes_and_gradients_match_pytorch(b_shape, left):
    torch = _torch()
    b = np.random.default_rng(2).standard_normal(b_shape)
    _check(lambda a, y: gt.linalg.solve(a, y, left=left),
           lambda a, y: torch.linalg.solve(a, y, left=left), [WELL, b])


@pytest.mark.torch
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_and_eigh_gradients_through_symmetric_constructions(upper):
    torch = _torch()
    shift = 0.5 * np.eye(3)

    def spd(m, x):
        return x @ x.mT + m.tensor(shift, dtype=m.float64)

    _check(lambda x: gt.linalg.cholesky(spd(gt, x), upper=upper),
           lambda x: torch.linalg.cholesky(spd(torch, x), upper=upper), [X])
    _check(lambda x: gt.linalg.eigvalsh(spd(gt, x), "U" if upper else "L"),
           lambda x: torch.linalg.eigvalsh(spd(torch, x), "U" if upper else "L"), [X])
    # a loss that does not depend on the sign of each eigenvector
    _check(lambda x: (gt.linalg.eigh(spd(gt, x)).eigenvectors ** 2 * gt.arange(
        1.0, 4.0, dtype=gt.float64)).sum(-1),
           lambda x: (torch.linalg.eigh(spd(torch, x)).eigenvectors ** 2 * torch.arange(
               1.0, 4.0, dtype=torch.float64)).sum(-1), [X])


@pytest.mark.torch
def test_leaf_gradient_lands_in_the_triangle_read():
    # NOTE: PyTorch returns the symmetric gradient G; ours is tril(2 G) - diag(G), the derivative
    # of the function that reads the lower triangle only. Both give the same T + T^T.
    torch = _torch()
    a = (X @ np.swapaxes(X, -1, -2) + np.eye(3))[0]
    ours = gt.tensor(a, requires_grad=True)
    theirs = torch.tensor(a, requires_grad=True)
    gt.linalg.cholesky(ours).sum().backward()
    torch.linalg.cholesky(theirs).sum().backward()
    g = ours.grad.numpy()
    assert np.all(np.triu(g, 1) == 0)
    np.testing.assert_allclose(g + g.T, 2 * theirs.grad.numpy(), rtol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize("full_matrices", [True, False])
def test_svd_signs_reconstruction_and_gradients(full_matrices):
    torch = _torch()
    a = gt.tensor(X)
    u, s, vh = gt.linalg.svd(a, full_matrices=full_matrices)
    assert tuple(u.shape) == ((2, 3, 3)) and tuple(vh.shape) == ((2, 4, 4) if full_matrices
                                                                 else (2, 3, 4))
    k = 3
    np.testing.assert_allclose((u[..., :k] * s.unsqueeze(-2)) @ vh[..., :k, :], X, atol=1e-12)
    biggest = np.take_along_axis(u.numpy(), np.abs(u.numpy()).argmax(-2)[..., None, :], -2)
    assert np.all(biggest > 0)
    weights = np.random.default_rng(4).standard_normal((3, 4))

    def invariant(m, x):
        U, S, Vh = m.linalg.svd(x, full_matrices=False)   # noqa: N806
        return ((U * S.unsqueeze(-2)) @ Vh * m.tensor(weights)).sum(-1) + S

    _check(lambda x: invariant(gt, x), lambda x: invariant(torch, x), [X])
    _check(gt.linalg.svdvals, torch.linalg.svdvals, [X])


@pytest.mark.torch
def test_cross_default_dim_warns_and_broadcasts():
    torch = _torch()
    a, b = RNG.standard_normal((2, 1, 3)), RNG.standard_normal((4, 3))
    _check(gt.linalg.cross, torch.linalg.cross, [a, b[None]])
    m = RNG.standard_normal((3, 3))
    with pytest.warns(UserWarning, match="Using torch.cross without specifying the dim"):
        ours = gt.cross(gt.tensor(m), gt.tensor(m.T))
    with pytest.warns(UserWarning):
        theirs = torch.cross(torch.tensor(m), torch.tensor(m.T))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_singular_and_indefinite_matrices_raise_linalg_errors():
    with pytest.raises(LinAlgError, match=r"linalg.inv: The diagonal element 2 is zero, the "
                                          r"inversion could not be completed because the input "
                                          r"matrix is singular."):
        gt.linalg.inv(gt.tensor([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(gt.linalg.LinAlgError, match=r"\(Batch element 0\): The diagonal element "
                                                    r"1 is zero"):
        gt.zeros(2, 2, 2).inverse()
    with pytest.raises(RuntimeError, match=r"linalg.cholesky: The factorization could not be "
                                           r"completed because the input is not positive-definite "
                                           r"\(the leading minor of order 2 is not "
                                           r"positive-definite\)."):
        gt.linalg.cholesky(gt.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(LinAlgError, match="torch.linalg.solve: The solver failed because the "
                                          "input matrix is singular."):
        gt.linalg.solve(gt.tensor([[1.0, 2.0], [2.0, 4.0]]), gt.ones(2))


def test_shape_and_dtype_errors_use_pytorch_wording():
    with pytest.raises(RuntimeError, match="linalg.inv: A must be batches of square matrices, "
                                           "but they are 2 by 3 matrices"):
        gt.linalg.inv(gt.ones(2, 3))
    with pytest.raises(RuntimeError, match="linalg.det: The input tensor A must have at least "
                                           "2 dimensions."):
        gt.linalg.det(gt.ones(3))
    with pytest.raises(RuntimeError, match="linalg.svd: Expected a floating point or complex "
                                           "tensor as input. Got Long"):
        gt.linalg.svd(gt.ones(3, 2, dtype=gt.int64))
    with pytest.raises(RuntimeError, match=r"linalg.solve: Incompatible shapes of A and B for the "
                                           r"equation AX = B \(2x2 and 3x1\)"):
        gt.linalg.solve(gt.eye(2), gt.ones(3))
    with pytest.raises(RuntimeError, match=r"equation XA = B \(2x2 and 2x3\)"):
        gt.linalg.solve(gt.eye(2), gt.ones(2, 3), left=False)
    with pytest.raises(RuntimeError, match="linalg.solve: Expected A and B to have the same "
                                           "dtype, but found A of type Float and B of type "
                                           "Double instead"):
        gt.linalg.solve(gt.eye(2), gt.ones(2, dtype=gt.float64))
    with pytest.raises(RuntimeError, match="linalg.cross: inputs dimension -1 must have length "
                                           "3. Got 2 and 2"):
        gt.linalg.cross(gt.ones(2), gt.ones(2))
    with pytest.raises(RuntimeError, match="Expected UPLO argument to be 'L' or 'U', but got X"):
        gt.linalg.eigh(gt.eye(2), "X")


def test_int_matrix_power_and_tensor_methods():
    a = gt.tensor([[1, 2], [3, 4]])
    np.testing.assert_array_equal(a.matrix_power(3).numpy(),
                                  np.linalg.matrix_power(a.numpy(), 3))
    np.testing.assert_array_equal(gt.matrix_power(a, 0).numpy(), np.eye(2, dtype=np.int64))
    w = gt.tensor(WELL[0])
    np.testing.assert_allclose(w.det().item(), np.linalg.det(WELL[0]), rtol=1e-12)
    np.testing.assert_allclose(w.logdet().item(), np.log(np.linalg.det(WELL[0])), rtol=1e-12)
    sign, logabs = w.slogdet()
    assert sign.item() == np.sign(np.linalg.det(WELL[0]))
    np.testing.assert_allclose(gt.inverse(w).numpy(), np.linalg.inv(WELL[0]), rtol=1e-12)


def test_metas_keep_symbolic_sizes():
    from graphtorch.ops.meta import TensorMeta
    from graphtorch.ops.registry import REGISTRY

    f = gt.float32
    a, rhs = TensorMeta(f, ("B", "n", "n")), TensorMeta(f, ("B", "n"))
    assert REGISTRY["linalg_inv"].meta(a).shape == ("B", "n", "n")
    assert REGISTRY["linalg_det"].meta(a).shape == ("B",)
    assert REGISTRY["linalg_solve"].meta(a, rhs, True).shape == ("B", "n")
    assert [m.shape for m in REGISTRY["linalg_eigh"].meta(a)] == [("B", "n"), ("B", "n", "n")]
    u, s, vh = REGISTRY["linalg_svd"].meta(TensorMeta(f, ("B", "m", "n")), False)
    assert (u.shape, s.shape, vh.shape) == (("B", "m", None), ("B", None), ("B", None, "n"))
    assert REGISTRY["cdist"].meta(TensorMeta(f, ("B", "P", 3)), TensorMeta(f, ("R", 3))).shape \
        == ("B", "P", "R")
    q = REGISTRY["quantile"].meta(TensorMeta(f, ("B", 5)), TensorMeta(f, (3,)), 1, True)
    assert q.shape == (3, "B", 1)
    with pytest.raises(RuntimeError, match="must be batches of square matrices, but they are 2 "
                                           "by 3 matrices"):
        REGISTRY["linalg_inv"].meta(TensorMeta(f, ("B", 2, 3)))
