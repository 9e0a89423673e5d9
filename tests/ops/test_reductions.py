"""Reductions beyond the registry matrix: overloads, tie gradients, dtypes and error messages."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

A = np.array([[3.0, 1.0, 3.0], [0.5, 2.0, -1.0]])


def _torch(a, requires_grad=False):
    import torch

    return torch.tensor(a, requires_grad=requires_grad)


@pytest.mark.torch
def test_max_min_overloads_match_pytorch():
    import torch

    x, tx = gt.tensor(A), _torch(A)
    assert gt.max(x).item() == torch.max(tx).item()
    for fn in ("max", "min"):
        ours = getattr(x, fn)(1)
        theirs = getattr(tx, fn)(1)
        assert type(ours).__name__ == fn and ours._fields == ("values", "indices")
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
        values, indices = getattr(gt, fn)(x, dim=0, keepdim=True)
        tv, ti = getattr(torch, fn)(tx, dim=0, keepdim=True)
        np.testing.assert_array_equal(values.numpy(), tv.numpy())
        np.testing.assert_array_equal(indices.numpy(), ti.numpy())
    other = gt.tensor([[0.0, 5.0, 0.0]])
    np.testing.assert_array_equal(x.max(other).numpy(), np.maximum(A, [[0.0, 5.0, 0.0]]))
    assert repr(x.max(1)).startswith("graphtorch.return_types.max(\nvalues=tensor(")


@pytest.mark.torch
@pytest.mark.parametrize("call", [
    lambda m, x: m.amax(x, 1),
    lambda m, x: m.amin(x, [0, 1]),
    lambda m, x: x.max(),
    lambda m, x: x.max(1).values,
    lambda m, x: x.min(0).values,
    lambda m, x: m.norm(x, float("inf"), 1),
])
def test_gradients_at_ties_match_pytorch(call):
    import torch

    a = np.array([[3.0, 1.0, 3.0], [-3.0, 2.0, 3.0]])
    x = gt.tensor(a, requires_grad=True)
    tx = _torch(a, requires_grad=True)
    call(gt, x).sum().backward()
    call(torch, tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("args,kwargs", [
    ((), {}), ((1,), {}), ((1, False), {}), ((False,), {}), (([0, 1],), {"keepdim": True}),
    ((0,), {"correction": 0}), ((), {"unbiased": False}),
])
def test_var_std_signatures_match_pytorch(args, kwargs):
    x, tx = gt.tensor(A), _torch(A)
    for fn in ("var", "std"):
        np.testing.assert_allclose(getattr(x, fn)(*args, **kwargs).numpy(),
                                   getattr(tx, fn)(*args, **kwargs).numpy(), rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("p,dim", [("fro", None), (2, 1), (1, None), (float("inf"), 0),
                                   (float("-inf"), 1), (0, None), (3, [0, 1]), (0.5, 1)])
def test_norm_matches_pytorch(p, dim):
    import torch

    a = np.array([[3.0, 0.0, -3.0], [0.5, 2.0, -1.0]])
    np.testing.assert_allclose(gt.norm(gt.tensor(a), p, dim).numpy(),
                               torch.norm(_torch(a), p, dim).numpy(), rtol=1e-12)


@pytest.mark.torch
def test_prod_gradient_with_zeros_is_exact():
    a = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]])
    for dim in (None, 1):
        x = gt.tensor(a, requires_grad=True)
        tx = _torch(a, requires_grad=True)
        (x.prod() if dim is None else x.prod(dim)).sum().backward()
        (tx.prod() if dim is None else tx.prod(dim)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_integer_reductions_promote_like_pytorch():
    x = gt.tensor([[1, 2], [3, 4]], dtype=gt.int32)
    assert x.prod().dtype is gt.int64 and x.prod().item() == 24
    assert x.cumsum(0).dtype is gt.int64
    assert x.amax().dtype is gt.int32
    assert x.argmax().item() == 3 and x.argmax(1, keepdim=True).shape == (2, 1)
    assert gt.logsumexp(x, 1).dtype is gt.float32
    assert x.count_nonzero().item() == 4
    assert x.all().dtype is gt.bool and bool(x.all()) and bool((x > 3).any())
    np.testing.assert_array_equal((x > 1).all(1).numpy(), [False, True])


@pytest.mark.torch
def test_logsumexp_is_stable():
    import torch

    a = np.array([[1000.0, 1000.0], [-1000.0, float("-inf")]])
    np.testing.assert_allclose(gt.logsumexp(gt.tensor(a), 1).numpy(),
                               torch.logsumexp(_torch(a), 1).numpy())


@pytest.mark.parametrize("call,exc,msg", [
    (lambda x: x.sum(2), IndexError,
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    (lambda x: x.amax(-3), IndexError,
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got -3\)"),
    (lambda x: x.max(5), IndexError, "Dimension out of range"),
    (lambda x: gt.zeros(0).max(), RuntimeError,
     "max\\(\\): Expected reduction dim to be specified for input.numel\\(\\) == 0"),
    (lambda x: gt.zeros(2, 0).amax(1), IndexError,
     "amax\\(\\): Expected reduction dim 1 to have non-zero size."),
    (lambda x: gt.tensor([1, 2]).var(), RuntimeError,
     "std and var only support floating point and complex dtypes"),
    (lambda x: gt.tensor([1, 2]).norm(), RuntimeError,
     "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda x: x.cumsum(2), IndexError, "Dimension out of range"),
])
def test_reduction_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call(gt.tensor(A))


@pytest.mark.torch
def test_cumprod_gradient_with_zeros_matches_pytorch():
    import torch

    a = np.array([[2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    g = np.random.default_rng(0).standard_normal(a.shape)
    x = gt.tensor(a, requires_grad=True)
    tx = _torch(a, requires_grad=True)
    x.cumprod(1).backward(gt.tensor(g))
    tx.cumprod(1).backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.torch
def test_sort_and_topk_match_pytorch():
    import torch

    a = np.array([[3.0, float("nan"), 1.0, 3.0, -2.0], [0.0, 0.0, 5.0, -1.0, 5.0]])
    x, tx = gt.tensor(a), _torch(a)
    for descending in (False, True):
        ours = x.sort(1, descending)
        theirs = tx.sort(dim=1, descending=descending, stable=True)
        assert type(ours).__name__ == "sort"
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
        theirs_order = torch.argsort(tx, dim=1, descending=descending, stable=True)
        np.testing.assert_array_equal(gt.argsort(x, 1, descending).numpy(), theirs_order.numpy())
    b = np.array([[4.0, 1.0, 7.0, 2.0], [9.0, -3.0, 0.5, 6.0]])
    values, indices = gt.topk(gt.tensor(b), 2)
    tv, ti = torch.topk(_torch(b), 2)
    np.testing.assert_array_equal(values.numpy(), tv.numpy())
    np.testing.assert_array_equal(indices.numpy(), ti.numpy())
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        gt.tensor(b).topk(5)
