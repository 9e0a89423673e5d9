"""Margin, embedding and likelihood losses vs PyTorch (values, gradients, reductions, errors)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn

pytestmark = pytest.mark.torch

REDUCTIONS = ["none", "sum", "mean"]


def _r(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _sign(*shape, seed=1):
    return np.where(np.random.default_rng(seed).random(shape) > 0.5, 1.0, -1.0)


def _compare(name, arrays, grads, kwargs, module_args=(), tol=1e-9):
    """F.<name> and its module on float64 arrays; ``grads`` marks which inputs need grad."""
    import torch
    import torch.nn.functional as tF

    gs = [gt.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    ts = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    out = getattr(nn.functional, name)(*gs, **kwargs)
    tout = getattr(tF, name)(*ts, **kwargs)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
    cot = np.random.default_rng(5).standard_normal(tuple(tout.shape))
    (out * gt.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    for g, t, need in zip(gs, ts, grads):
        if need:
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_and_hinge_and_soft_margin(reduction):
    x1, x2, y = _r(6), _r(6, seed=2), _sign(6)
    _compare("margin_ranking_loss", [x1, x2, y], [True, True, False],
             dict(margin=0.3, reduction=reduction))
    _compare("hinge_embedding_loss", [_r(3, 4), _sign(3, 4)], [True, False],
             dict(margin=0.7, reduction=reduction))
    _compare("soft_margin_loss", [_r(3, 4), _sign(3, 4)], [True, False],
             dict(reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(4, 5), (5,)])
def test_cosine_embedding(reduction, shape):
    y = _sign(shape[0]) if len(shape) == 2 else np.array(-1.0)
    _compare("cosine_embedding_loss", [_r(*shape), _r(*shape, seed=3), y], [True, True, False],
             dict(margin=0.2, reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [dict(), dict(p=1.0, swap=True), dict(margin=0.5, eps=1e-3)])
def test_triplet_margin(reduction, kw):
    _compare("triplet_margin_loss", [_r(4, 6), _r(4, 6, seed=2), _r(4, 6, seed=3)],
             [True, True, True], dict(reduction=reduction, **kw))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin(reduction, weighted):
    import torch
    import torch.nn.functional as tF

    x, y = _r(3, 5) * 3, (np.random.default_rng(1).random((3, 5)) > 0.5).astype(np.float64)
    w = np.abs(_r(5, seed=4))
    gx, tx = gt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = nn.functional.multilabel_soft_margin_loss(
        gx, gt.tensor(y), weight=gt.tensor(w) if weighted else None, reduction=reduction)
    tout = tF.multilabel_soft_margin_loss(
        tx, torch.tensor(y), weight=torch.tensor(w) if weighted else None, reduction=reduction)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-9)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-9)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input,full", [(True, False), (False, False), (True, True),
                                            (False, True)])
def test_poisson_nll(reduction, log_input, full):
    x = _r(3, 4) if log_input else np.abs(_r(3, 4)) + 0.1
    t = np.random.default_rng(2).poisson(2.0, (3, 4)).astype(np.float64)
    _compare("poisson_nll_loss", [x, t], [True, False],
             dict(log_input=log_input, full=full, reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape", [(3, 4), (3,), (3, 1)])
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll(reduction, var_shape, full):
    var = np.abs(_r(*var_shape, seed=4)) + 0.05
    var.flat[0] = 1e-9  # below eps: clamped, the gradient passing as if it were not
    _compare("gaussian_nll_loss", [_r(3, 4), _r(3, 4, seed=2), var], [True, True, True],
             dict(full=full, reduction=reduction), tol=1e-7)


def test_loss_modules_and_errors_like_pytorch():
    import torch

    for name, args in [("MarginRankingLoss", (0.1,)), ("HingeEmbeddingLoss", ()),
                       ("CosineEmbeddingLoss", (0.5,)), ("TripletMarginLoss", (2.0, 1.0)),
                       ("SoftMarginLoss", ()), ("MultiLabelSoftMarginLoss", ()),
                       ("PoissonNLLLoss", (False, True)), ("GaussianNLLLoss", ())]:
        assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))
    bad = [(lambda lib: lib.nn.functional.gaussian_nll_loss(lib.zeros(3, 4), lib.zeros(3, 4),
                                                           lib.ones(2)), ValueError),
           (lambda lib: lib.nn.functional.gaussian_nll_loss(lib.zeros(3, 4), lib.zeros(3, 4),
                                                           -lib.ones(3, 4)), ValueError),
           (lambda lib: lib.nn.functional.triplet_margin_loss(lib.zeros(2, 3), lib.zeros(2, 3),
                                                             lib.zeros(2, 3), margin=0.0),
            ValueError)]
    for build, exc in bad:
        with pytest.raises(exc) as t_err:
            build(torch)
        with pytest.raises(exc) as g_err:
            build(gt)
        assert str(g_err.value) == str(t_err.value)
