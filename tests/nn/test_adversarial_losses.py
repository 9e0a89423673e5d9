"""Losses vs PyTorch on the cases ports break on: reductions, weights, ignore_index, smoothing."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.nn.functional as F

pytestmark = pytest.mark.torch


def _pair(a: np.ndarray, grad: bool = True):
    import torch

    return gt.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _check(out, tout, leaves, tol=1e-5):
    """Compare values and, when the output is differentiable, every leaf's gradient."""
    import torch

    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=tol, atol=tol,
                               equal_nan=True)
    if not tout.requires_grad:
        return
    cot = np.random.default_rng(7).standard_normal(tuple(tout.shape)).astype(
        tout.detach().numpy().dtype)
    (out * gt.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    for ours, theirs in leaves:
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=tol, atol=tol,
                                   equal_nan=True)


def _r(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


REDUCTIONS = ["none", "sum", "mean"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_indices_nd(reduction, weighted, smoothing):
    import torch
    import torch.nn.functional as tF

    x, tx = _pair(_r(2, 4, 3, 5))
    t = np.random.default_rng(1).integers(0, 4, (2, 3, 5))
    t[0, 0, :2] = -100
    w = np.array([0.3, 1.0, 2.0, 0.5]) if weighted else None
    gw = None if w is None else gt.tensor(w)
    tw = None if w is None else torch.tensor(w)
    out = F.cross_entropy(x, gt.tensor(t), weight=gw, reduction=reduction,
                          label_smoothing=smoothing)
    tout = tF.cross_entropy(tx, torch.tensor(t), weight=tw, reduction=reduction,
                            label_smoothing=smoothing)
    _check(out, tout, [(x, tx)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_all_targets_ignored(reduction, weighted):
    import torch
    import torch.nn.functional as tF

    x, tx = _pair(_r(3, 4))
    t = np.full(3, 2)
    w = np.array([0.3, 1.0, 2.0, 0.5]) if weighted else None
    kw = dict(reduction=reduction, ignore_index=2)
    out = F.cross_entropy(x, gt.tensor(t), weight=None if w is None else gt.tensor(w), **kw)
    tout = tF.cross_entropy(tx, torch.tensor(t), weight=None if w is None else torch.tensor(w),
                            **kw)
    _check(out, tout, [(x, tx)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_all_targets_ignored(reduction):
    import torch
    import torch.nn.functional as tF

    x, tx = _pair(_r(3, 4))
    t = np.full(3, -100)
    out = F.nll_loss(x, gt.tensor(t), reduction=reduction)
    tout = tF.nll_loss(tx, torch.tensor(t), reduction=reduction)
    _check(out, tout, [(x, tx)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_probability_targets(reduction, weighted, smoothing):
    import torch
    import torch.nn.functional as tF

    x, tx = _pair(_r(2, 3, 4))
    p = np.random.default_rng(2).random((2, 3, 4))
    p = p / p.sum(1, keepdims=True)
    w = np.array([0.3, 1.0, 2.0]) if weighted else None
    out = F.cross_entropy(x, gt.tensor(p), weight=None if w is None else gt.tensor(w),
                          reduction=reduction, label_smoothing=smoothing)
    tout = tF.cross_entropy(tx, torch.tensor(p), weight=None if w is None else torch.tensor(w),
                            reduction=reduction, label_smoothing=smoothing)
    _check(out, tout, [(x, tx)])


def test_cross_entropy_unbatched_and_empty():
    import torch
    import torch.nn.functional as tF

    x, tx = _pair(_r(5))
    _check(F.cross_entropy(x, gt.tensor(np.array(3))), tF.cross_entropy(tx, torch.tensor(3)),
           [(x, tx)])
    for reduction in REDUCTIONS:
        x, tx = _pair(_r(0, 5))
        t = np.zeros(0, dtype=np.int64)
        _check(F.cross_entropy(x, gt.tensor(t), reduction=reduction),
               tF.cross_entropy(tx, torch.tensor(t), reduction=reduction), [(x, tx)])


def test_cross_entropy_non_contiguous_float32():
    import torch
    import torch.nn.functional as tF

    a = _r(5, 3, dtype=np.float32)
    x, tx = _pair(a)
    t = np.array([0, 4, 2])
    _check(F.cross_entropy(x.t(), gt.tensor(t)), tF.cross_entropy(tx.t(), torch.tensor(t)),
           [(x, tx)])


def test_cross_entropy_errors_like_pytorch():
    import torch
    import torch.nn.functional as tF

    for xs, ts in [((3, 4), (4,)), ((3, 4, 2), (3, 2, 2))]:
        with pytest.raises(Exception) as theirs:
            tF.cross_entropy(torch.zeros(xs), torch.zeros(ts, dtype=torch.long))
        with pytest.raises(Exception) as ours:
            F.cross_entropy(gt.zeros(xs), gt.zeros(ts, dtype=gt.long))
        assert str(theirs.value).split("\n")[0] in str(ours.value)
    with pytest.raises(IndexError, match="out of bounds|Target 7 is out of bounds"):
        F.cross_entropy(gt.zeros((2, 4)), gt.tensor([1, 7]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("wshape", [None, (4,), (3, 1), (3, 4)])
@pytest.mark.parametrize("pshape", [None, (4,), (1, 4)])
def test_bce_with_logits_weight_pos_weight_broadcast(reduction, wshape, pshape):
    import torch
    import torch.nn.functional as tF

    x, tx = _pair(_r(3, 4) * 3)
    t = np.random.default_rng(3).random((3, 4))
    w = None if wshape is None else np.abs(_r(*wshape, seed=4))
    pw = None if pshape is None else np.abs(_r(*pshape, seed=5)) + 0.5
    # PyTorch refuses gradients for weight and pos_weight: plain tensors on both sides
    gw, tw = (None, None) if w is None else _pair(w, grad=False)
    gp, tp = (None, None) if pw is None else _pair(pw, grad=False)
    out = F.binary_cross_entropy_with_logits(x, gt.tensor(t), weight=gw, reduction=reduction,
                                             pos_weight=gp)
    tout = tF.binary_cross_entropy_with_logits(tx, torch.tensor(t), weight=tw,
                                               reduction=reduction, pos_weight=tp)
    _check(out, tout, [(x, tx)])


def test_bce_with_logits_extreme_logits_stable():
    import torch
    import torch.nn.functional as tF

    x, tx = _pair(np.array([-200.0, -30.0, 0.0, 30.0, 200.0], dtype=np.float32))
    t = np.array([1.0, 0.0, 0.5, 1.0, 0.0], dtype=np.float32)
    pw = np.array([2.0], dtype=np.float32)
    out = F.binary_cross_entropy_with_logits(x, gt.tensor(t), pos_weight=gt.tensor(pw),
                                             reduction="none")
    tout = tF.binary_cross_entropy_with_logits(tx, torch.tensor(t), pos_weight=torch.tensor(pw),
                                               reduction="none")
    _check(out, tout, [(x, tx)], tol=1e-4)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_weight_broadcast_and_clamped_log(reduction):
    import torch
    import torch.nn.functional as tF

    p = np.array([[0.0, 0.3, 1.0], [0.5, 1.0, 0.0]])
    t = np.array([[1.0, 0.0, 0.0], [0.5, 1.0, 0.0]])
    w = np.array([0.5, 2.0, 1.0])
    x, tx = _pair(p)
    out = F.binary_cross_entropy(x, gt.tensor(t), weight=gt.tensor(w), reduction=reduction)
    tout = tF.binary_cross_entropy(tx, torch.tensor(t), weight=torch.tensor(w),
                                   reduction=reduction)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    import torch.nn.functional as tF

    x, tx = _pair(np.log(np.random.default_rng(0).dirichlet(np.ones(4), 3)))
    t = np.random.default_rng(1).dirichlet(np.ones(4), 3)
    t[0, 1] = 0.0  # a zero target contributes 0 (not nan) without log_target
    t = np.log(t) if log_target else t
    tt, gtt = _pair(t)[1], _pair(t)[0]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = F.kl_div(x, gtt, reduction=reduction, log_target=log_target)
        tout = tF.kl_div(tx, tt, reduction=reduction, log_target=log_target)
    # NOTE: at a zero target PyTorch's target gradient is nan (xlogy's 0/0); ours is finite, so
    # the target gradient is compared only where every target is positive (log_target)
    _check(out, tout, [(x, tx)] + ([(gtt, tt)] if log_target else []))


def test_kl_div_target_gradient_positive_targets():
    import torch.nn.functional as tF

    x, tx = _pair(np.log(np.random.default_rng(0).dirichlet(np.ones(4), 3)))
    t, tt = _pair(np.random.default_rng(1).dirichlet(np.ones(4), 3))
    _check(F.kl_div(x, t, reduction="batchmean"), tF.kl_div(tx, tt, reduction="batchmean"),
           [(x, tx), (t, tt)])


@pytest.mark.parametrize("beta", [0.0, 1e-3, 1.0, 2.5])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_smooth_l1_and_huber_edges(beta, reduction):
    import torch
    import torch.nn.functional as tF

    a = np.array([-3.0, -1.0, -0.5, 0.0, 0.0005, 0.5, 1.0, 2.5, 3.0])
    x, tx = _pair(a)
    t = np.zeros_like(a)
    _check(F.smooth_l1_loss(x, gt.tensor(t), reduction=reduction, beta=beta),
           tF.smooth_l1_loss(tx, torch.tensor(t), reduction=reduction, beta=beta), [(x, tx)])
    if beta > 0:
        x, tx = _pair(a)
        _check(F.huber_loss(x, gt.tensor(t), reduction=reduction, delta=beta),
               tF.huber_loss(tx, torch.tensor(t), reduction=reduction, delta=beta), [(x, tx)])


def test_smooth_l1_negative_beta_and_huber_zero_delta_errors():
    import torch
    import torch.nn.functional as tF

    for fn, tfn, kw in [(F.smooth_l1_loss, tF.smooth_l1_loss, {"beta": -1.0}),
                        (F.huber_loss, tF.huber_loss, {"delta": 0.0})]:
        with pytest.raises(RuntimeError) as theirs:
            tfn(torch.zeros(3), torch.zeros(3), **kw)
        with pytest.raises(RuntimeError) as ours:
            fn(gt.zeros(3), gt.zeros(3), **kw)
        assert str(theirs.value) in str(ours.value)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_pointwise_losses_broadcast_target_and_transposed(name):
    import warnings

    import torch
    import torch.nn.functional as tF

    x, tx = _pair(_r(4, 3))
    t = _r(3, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = getattr(F, name)(x.t(), gt.tensor(t).unsqueeze(1))
        tout = getattr(tF, name)(tx.t(), torch.tensor(t).unsqueeze(1))
    _check(out, tout, [(x, tx)])


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
                                  "binary_cross_entropy_with_logits"])
def test_pointwise_losses_empty_mean_is_nan(name):
    import torch
    import torch.nn.functional as tF

    out = getattr(F, name)(gt.zeros((0, 3)), gt.zeros((0, 3)))
    tout = getattr(tF, name)(torch.zeros((0, 3)), torch.zeros((0, 3)))
    np.testing.assert_allclose(out.numpy(), tout.numpy(), equal_nan=True)


def test_loss_modules_with_weight_buffers_double():
    import torch

    w = np.array([1.0, 2.0, 0.5])
    ours = gt.nn.CrossEntropyLoss(weight=gt.tensor(w, dtype=gt.float32), label_smoothing=0.1)
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(w, dtype=torch.float32),
                                       label_smoothing=0.1)
    assert [k for k, _ in ours.named_buffers()] == [k for k, _ in theirs.named_buffers()]
    ours.double()
    theirs.double()
    x, tx = _pair(_r(4, 3))
    t = np.array([0, 2, 1, 1])
    _check(ours(x, gt.tensor(t)), theirs(tx, torch.tensor(t)), [(x, tx)])


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_target_dtypes_like_pytorch(fn):
    import torch
    import torch.nn.functional as tF

    x, tx = _pair(_r(4, 3))
    t = np.array([0, 1, 2, 1])
    _check(getattr(F, fn)(x, gt.tensor(t, dtype=gt.uint8)),
           getattr(tF, fn)(tx, torch.tensor(t, dtype=torch.uint8)), [(x, tx)])
    for g_dt, t_dt in [(gt.int32, torch.int32), (gt.int16, torch.int16)]:
        with pytest.raises(RuntimeError) as t_err:
            getattr(tF, fn)(tx, torch.tensor(t, dtype=t_dt))
        with pytest.raises(RuntimeError) as g_err:
            getattr(F, fn)(x, gt.tensor(t, dtype=g_dt))
        assert str(g_err.value) == str(t_err.value)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_zero_total_weight_gradients_like_pytorch(smoothing):
    """Rows with a zero-weight target get nan gradients, ignored rows zero (PyTorch's rule)."""
    import torch
    import torch.nn.functional as tF

    x, tx = _pair(_r(3, 4))
    w = np.array([1.0, 0.0, 0.0, 1.0])
    t = np.array([2, 0, 2])
    kw = dict(ignore_index=0, label_smoothing=smoothing, reduction="mean")
    out = F.cross_entropy(x, gt.tensor(t), weight=gt.tensor(w), **kw)
    tout = tF.cross_entropy(tx, torch.tensor(t), weight=torch.tensor(w), **kw)
    _check(out, tout, [(x, tx)])
    assert np.isnan(x.grad.numpy()[0]).all() and not x.grad.numpy()[1].any()


def test_mixed_dtype_loss_errors_like_pytorch():
    import torch
    import torch.nn.functional as tF

    x = _r(4, 3)
    t = np.array([0, 2, 1, 1])
    cases = [("cross_entropy", lambda lib, dt: (lib.tensor(x), lib.tensor(t)),
              lambda lib: {"weight": lib.ones(3)}),
             ("nll_loss", lambda lib, dt: (lib.tensor(x).float(), lib.tensor(t)),
              lambda lib: {"weight": lib.ones(3, dtype=lib.float64)}),
             ("binary_cross_entropy", lambda lib, dt: (lib.tensor(x).float().sigmoid(),
                                                       lib.tensor(x).sigmoid()),
              lambda lib: {})]
    for name, args, kw in cases:
        with pytest.raises(RuntimeError) as t_err:
            getattr(tF, name)(*args(torch, None), **kw(torch))
        with pytest.raises(RuntimeError) as g_err:
            getattr(F, name)(*args(gt, None), **kw(gt))
        assert str(g_err.value) == str(t_err.value)
    # probability targets and BCE weights promote, as in PyTorch
    p = _r(4, 3)
    out = F.cross_entropy(gt.tensor(x), gt.tensor(p).softmax(1), weight=gt.ones(3))
    tout = tF.cross_entropy(torch.tensor(x), torch.tensor(p).softmax(1), weight=torch.ones(3))
    assert out.dtype == gt.float64 and tout.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=1e-6)
