"""create_graph and gradients of gradients, checked against calculus and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

X = [0.3, -1.2, 2.0]


def _leaf(values=X):
    return gt.tensor(values, dtype=gt.float64, requires_grad=True)


def test_second_derivative_of_cube():
    x = _leaf()
    (g,) = gt.autograd.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.square(X))
    assert g.requires_grad
    (h,) = gt.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * np.array(X))


def test_third_derivative_of_cube():
    x = _leaf()
    (g,) = gt.autograd.grad((x ** 3).sum(), x, create_graph=True)
    (h,) = gt.autograd.grad(g.sum(), x, create_graph=True)
    (k,) = gt.autograd.grad(h.sum(), x)
    np.testing.assert_allclose(k.numpy(), [6.0, 6.0, 6.0])


def test_backward_create_graph_leaves_differentiable_grad():
    x = _leaf()
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (h,) = gt.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * np.array(X))


def _second_derivatives(fn, values):
    x = _leaf(values)
    (g,) = gt.autograd.grad(fn(x).sum(), x, create_graph=True)
    (h,) = gt.autograd.grad(g.sum(), x)
    return g.detach().numpy(), h.numpy()


@pytest.mark.parametrize("name,fn,d1,d2", [
    ("tanh", lambda x: x.tanh(), lambda v: 1 - np.tanh(v) ** 2,
     lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2)),
    ("sigmoid", lambda x: x.sigmoid(), lambda v: _sig(v) * (1 - _sig(v)),
     lambda v: _sig(v) * (1 - _sig(v)) * (1 - 2 * _sig(v))),
    ("exp", lambda x: x.exp(), np.exp, np.exp),
    ("sin", lambda x: x.sin(), np.cos, lambda v: -np.sin(v)),
    ("log", lambda x: (x * x + 1).log(), lambda v: 2 * v / (v * v + 1),
     lambda v: (2 - 2 * v * v) / (v * v + 1) ** 2),
])
def test_grad_of_grad_matches_calculus(name, fn, d1, d2):
    g, h = _second_derivatives(fn, X)
    np.testing.assert_allclose(g, d1(np.array(X)), rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(h, d2(np.array(X)), rtol=1e-10, atol=1e-12, err_msg=name)


def _sig(v):
    return 1 / (1 + np.exp(-v))


def test_grad_of_grad_through_matmul():
    rng = np.random.default_rng(0)
    a_np, w_np = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    a = gt.tensor(a_np, requires_grad=True)
    w = gt.tensor(w_np, requires_grad=True)
    y = ((a @ w) ** 2).sum()
    (gw,) = gt.autograd.grad(y, w, create_graph=True)
    np.testing.assert_allclose(gw.detach().numpy(), 2 * a_np.T @ (a_np @ w_np))
    (ga,) = gt.autograd.grad(gw.sum(), a)
    # d/da sum_ij 2 (a^T a w)_ij = 2 (a w 1 1^T... ) computed in closed form:
    ones = np.ones((4, 2))
    expected = 2 * (a_np @ (w_np @ ones.T) + a_np @ (ones @ w_np.T))
    np.testing.assert_allclose(ga.numpy(), expected, rtol=1e-10)


@pytest.mark.torch
@pytest.mark.parametrize("expr", ["tanh", "sigmoid", "exp", "matmul", "pow"])
def test_hessian_vector_products_match_pytorch(expr):
    import torch

    rng = np.random.default_rng(1)
    x_np, v_np, m_np = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal((4, 4))

    def f(lib, x, m):
        if expr == "matmul":
            return ((m @ x).tanh() * x).sum()
        if expr == "pow":
            return (x * x + 1) ** 1.5
        return getattr(x, expr)().pow(2) * x

    def hvp(lib, make):
        x = make(x_np)
        m = make(m_np, False)
        y = f(lib, x, m).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad((g * make(v_np, False)).sum(), x)
        return g.detach().numpy(), h.detach().numpy()

    ours = hvp(gt, lambda a, rg=True: gt.tensor(a, requires_grad=rg))
    theirs = hvp(torch, lambda a, rg=True: torch.tensor(a, requires_grad=rg))
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-12)
