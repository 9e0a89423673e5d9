"""graphtorch.linalg: norm dispatch rules, matrix/vector norms with gradients, pinv, multi_dot,
vecdot, named results, and the namespace in traced and scripted code, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from tests.ops.torch_grads import assert_matches_torch

INF = float("inf")
A = np.random.default_rng(11).standard_normal((2, 3, 4))


def _torch():
    import torch

    return torch


def _check(fn_gt, fn_torch, arrays, rtol=1e-9):
    assert_matches_torch(fn_gt, fn_torch, arrays, rtol=rtol, grad_atol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, INF, -INF])
@pytest.mark.parametrize("dim,keepdim", [((-2, -1), False), ((2, 0), True)])
def test_matrix_norm_values_and_gradients(ord, dim, keepdim):
    torch = _torch()
    _check(lambda a: gt.linalg.matrix_norm(a, ord, dim, keepdim),
           lambda a: torch.linalg.matrix_norm(a, ord, dim, keepdim), [A])


@pytest.mark.torch
@pytest.mark.parametrize("args,kwargs", [((), {}), (("fro",), {}), (("nuc",), {}), ((2,), {}),
                                         ((None, 1), {}), ((3, 2), {}), ((-1, (0, 2)), {}),
                                         ((INF, (1, 2)), {"keepdim": True}), ((0.5, -1), {})])
def test_norm_chooses_vector_or_matrix_norm_like_pytorch(args, kwargs):
    torch = _torch()
    data = A if len(args) > 1 else A[0]
    _check(lambda a: gt.linalg.norm(a, *args, **kwargs),
           lambda a: torch.linalg.norm(a, *args, **kwargs), [data])


@pytest.mark.torch
@pytest.mark.parametrize("ord,dim", [(2, None), (1, 1), (INF, (0, 2)), (3.0, -1), (0, None)])
def test_vector_norm_matches_pytorch(ord, dim):
    torch = _torch()
    _check(lambda a: gt.linalg.vector_norm(a, ord, dim),
           lambda a: torch.linalg.vector_norm(a, ord, dim), [A])


@pytest.mark.torch
def test_pinv_multi_dot_vecdot_matmul():
    torch = _torch()
    _check(gt.linalg.pinv, torch.linalg.pinv, [A])
    rank_one = np.outer([1.0, 2.0, 3.0], [1.0, -1.0])
    np.testing.assert_allclose(gt.linalg.pinv(gt.tensor(rank_one)).numpy(),
                               torch.linalg.pinv(torch.tensor(rank_one)).numpy(), rtol=1e-10)
    b, c = A[0].T, A[1]
    _check(lambda x, y, z: gt.linalg.multi_dot([x, y, z]),
           lambda x, y, z: torch.linalg.multi_dot([x, y, z]), [A[0], b, c])
    _check(gt.linalg.vecdot, torch.linalg.vecdot, [A, A[::-1].copy()])
    _check(gt.linalg.matmul, torch.linalg.matmul, [A, A[0].T.copy()])


def test_named_results():
    w = gt.tensor([[2.0, 1.0], [1.0, 3.0]])
    res = gt.linalg.eigh(w)
    assert type(res).__name__ == "linalg_eigh" and res.eigenvalues is res[0]
    assert type(gt.linalg.svd(w)).__name__ == "linalg_svd" and gt.linalg.svd(w).Vh.shape == (2, 2)
    assert type(gt.linalg.slogdet(w)).__name__ == "linalg_slogdet"
    assert type(gt.slogdet(w)).__name__ == "slogdet"
    q, r = gt.linalg.qr(w)
    np.testing.assert_allclose((q @ r).numpy(), w.numpy(), atol=1e-6)
    assert gt.return_types.linalg_eigh is type(res)


def test_matrix_norm_errors():
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: Order foo not supported."):
        gt.linalg.matrix_norm(gt.ones(3, 3), "foo")
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: Order 3 not supported."):
        gt.linalg.matrix_norm(gt.ones(3, 3), 3)
    with pytest.raises(RuntimeError, match=r"linalg.matrix_norm: dims must be different. Got "
                                           r"\(1, 1\)"):
        gt.linalg.matrix_norm(gt.ones(3, 3, 3), dim=(1, 1))
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: The input tensor A must have at "
                                           "least 2 dimensions."):
        gt.linalg.matrix_norm(gt.ones(3))
    with pytest.raises(RuntimeError, match="If dim is not specified but ord is, the input must "
                                           "be 1D or 2D. Got 3D."):
        gt.linalg.norm(gt.ones(2, 2, 2), 2)


def _solve_then_invert(a, b):
    x = gt.linalg.solve(a, b)
    return gt.linalg.inv(a) @ x + gt.det(a) + gt.linalg.matrix_norm(a, "nuc")


def _running(x):
    v, i = gt.cummax(x, 0)
    return v + gt.quantile(x, 0.5) + gt.cdist(x.unsqueeze(1), x.unsqueeze(1)).sum(1), i


def test_linalg_functions_trace_and_script_to_their_ops():
    a = gt.tensor([[4.0, 1.0], [1.0, 3.0]])
    b = gt.tensor([[1.0], [2.0]])
    scripted = gt.jit.script(_solve_then_invert)
    text = str(scripted.graph)
    for op in ("op::linalg_solve", "op::linalg_inv", "op::linalg_det", "op::linalg_matrix_norm"):
        assert op in text, text
    np.testing.assert_allclose(scripted(a, b).numpy(), _solve_then_invert(a, b).numpy(),
                               rtol=1e-6)
    traced = gt.jit.trace(_solve_then_invert, (a, b))
    np.testing.assert_allclose(traced(a, b).numpy(), _solve_then_invert(a, b).numpy(), rtol=1e-6)
    x = gt.tensor([1.0, 3.0, 2.0, 5.0])
    got, want = gt.jit.script(_running)(x), _running(x)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6)
