"""Layers vs PyTorch with the same weights copied in: forward outputs and every gradient."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn

pytestmark = pytest.mark.torch


def _copy_state(ours: nn.Module, theirs) -> None:
    import torch

    sd = {k: gt.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(sd)
    _ = torch


def _compare(ours, theirs, x: np.ndarray, tol=1e-5, train=True, int_input=False):
    """Run both modules on ``x``; compare outputs, input grads and parameter grads."""
    import torch

    ours.train(train)
    theirs.train(train)
    if int_input:
        gx, tx = gt.tensor(x), torch.tensor(x)
    else:
        gx = gt.tensor(x, requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
    out, tout = ours(gx), theirs(tx)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
    cot = np.random.default_rng(1).standard_normal(tout.shape).astype(x.dtype
                                                                      if not int_input
                                                                      else np.float32)
    (out * gt.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    if not int_input:
        np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        tp = theirs_params[name]
        if tp.grad is None:
            assert p.grad is None or float(p.grad.abs().sum()) == 0, name
            continue
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=tol, atol=tol,
                                   err_msg=name)
    return out, tout


def _x(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
def test_linear(bias, shape):
    import torch

    theirs = torch.nn.Linear(4, 3, bias=bias)
    ours = nn.Linear(4, 3, bias=bias)
    _copy_state(ours, theirs)
    _compare(ours, theirs, _x(*shape))


def test_bilinear():
    import torch

    theirs = torch.nn.Bilinear(3, 4, 2)
    ours = nn.Bilinear(3, 4, 2)
    _copy_state(ours, theirs)
    x1, x2 = _x(5, 3), _x(5, 4, seed=1)
    out = ours(gt.tensor(x1), gt.tensor(x2))
    tout = theirs(torch.tensor(x1), torch.tensor(x2))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("name,kwargs", [
    ("ReLU", {}), ("GELU", {}), ("GELU", {"approximate": "tanh"}), ("SiLU", {}), ("Tanh", {}),
    ("Sigmoid", {}), ("Softmax", {"dim": 1}), ("LogSoftmax", {"dim": -1}),
    ("LeakyReLU", {"negative_slope": 0.2}), ("ELU", {"alpha": 0.7}), ("Softplus", {}),
    ("Softplus", {"beta": 2.0, "threshold": 1.0}), ("Mish", {}), ("Hardtanh", {}),
    ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}), ("ReLU6", {}), ("PReLU", {}),
    ("Softmin", {"dim": 0}),
])
def test_activations(name, kwargs):
    import torch

    theirs = getattr(torch.nn, name)(**kwargs)
    ours = getattr(nn, name)(**kwargs)
    _copy_state(ours, theirs)
    x = _x(4, 5) * 3
    x[np.abs(x) < 0.05] = 0.5  # away from kinks
    _compare(ours, theirs, x)


def test_prelu_per_channel():
    import torch

    theirs = torch.nn.PReLU(3, init=0.1)
    ours = nn.PReLU(3, init=0.1)
    _compare(ours, theirs, _x(2, 3, 4))


@pytest.mark.parametrize("kwargs", [{}, {"elementwise_affine": False}, {"bias": False},
                                    {"eps": 1e-3}])
def test_layer_norm(kwargs):
    import torch

    theirs = torch.nn.LayerNorm([3, 4], **kwargs)
    ours = nn.LayerNorm([3, 4], **kwargs)
    if list(theirs.parameters()):
        with torch.no_grad():
            for p in theirs.parameters():
                p.normal_()
    _copy_state(ours, theirs)
    _compare(ours, theirs, _x(2, 3, 4))


def test_group_norm():
    import torch

    theirs = torch.nn.GroupNorm(2, 6)
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
    ours = nn.GroupNorm(2, 6)
    _copy_state(ours, theirs)
    _compare(ours, theirs, _x(3, 6, 2, 2))


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (2, 3, 4, 4))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_train_then_eval(cls, shape, momentum):
    import torch

    theirs = getattr(torch.nn, cls)(3, momentum=momentum)
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
    ours = getattr(nn, cls)(3, momentum=momentum)
    _copy_state(ours, theirs)
    for step in range(3):
        _compare(ours, theirs, _x(*shape, seed=step) + step)
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours, key).numpy(), getattr(theirs, key).numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=key)
    _compare(ours, theirs, _x(*shape, seed=9), train=False)


def test_batch_norm_without_running_stats_and_affine():
    import torch

    theirs = torch.nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    ours = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    _compare(ours, theirs, _x(5, 3), train=False)
    assert ours.running_mean is None and list(ours.state_dict()) == []


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        nn.BatchNorm2d(3)(gt.randn(2, 3))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(gt.randn(1, 3))


def test_dropout_train_eval_and_scaling():
    gt.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = gt.ones(200, 50)
    y = drop(x)
    vals = np.unique(y.numpy())
    np.testing.assert_allclose(vals, [0.0, 1 / 0.75], rtol=1e-6)
    frac = float((y == 0).to(gt.float32).mean())
    assert 0.22 < frac < 0.28
    drop.eval()
    assert drop(x) is x
    xr = gt.ones(4, 5, requires_grad=True)
    drop.train()
    out = drop(xr)
    out.sum().backward()
    np.testing.assert_array_equal(xr.grad.numpy(), out.detach().numpy())
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout2d_zeroes_whole_channels():
    gt.manual_seed(1)
    y = nn.Dropout2d(0.5)(gt.ones(8, 6, 3, 3)).numpy()
    per_channel = y.reshape(8, 6, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))


@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 1}, {"scale_grad_by_freq": True},
                                    {"padding_idx": -1}])
def test_embedding(kwargs):
    import torch

    theirs = torch.nn.Embedding(6, 4, **kwargs)
    ours = nn.Embedding(6, 4, **kwargs)
    _copy_state(ours, theirs)
    idx = np.array([[0, 1, 2, 1], [5, 5, 3, 1]], dtype=np.int64)
    _compare(ours, theirs, idx, int_input=True)
    assert repr(ours) == repr(theirs)


def test_embedding_padding_row_is_zero_and_from_pretrained():
    emb = nn.Embedding(5, 3, padding_idx=2)
    np.testing.assert_array_equal(emb.weight.detach().numpy()[2], np.zeros(3, np.float32))
    w = gt.randn(4, 2)
    pre = nn.Embedding.from_pretrained(w)
    assert not pre.weight.requires_grad
    np.testing.assert_array_equal(pre(gt.tensor([3, 0])).numpy(), w.numpy()[[3, 0]])
    with pytest.raises(IndexError, match="index out of range in self"):
        pre(gt.tensor([4]))


def test_embedding_max_norm_renormalizes_looked_up_rows():
    import torch

    theirs = torch.nn.Embedding(5, 3, max_norm=1.0)
    with torch.no_grad():
        theirs.weight.mul_(3)
    ours = nn.Embedding(5, 3, max_norm=1.0)
    _copy_state(ours, theirs)
    idx = np.array([0, 2, 2, 4])
    out = ours(gt.tensor(idx))
    tout = theirs(torch.tensor(idx))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_flatten_unflatten():
    import torch

    x = _x(2, 3, 4, 5)
    for s, e in ((1, -1), (0, 2), (2, 3)):
        np.testing.assert_array_equal(nn.Flatten(s, e)(gt.tensor(x)).numpy(),
                                      torch.nn.Flatten(s, e)(torch.tensor(x)).numpy())
    np.testing.assert_array_equal(nn.Unflatten(1, (3, 1))(gt.tensor(x)).numpy(),
                                  torch.nn.Unflatten(1, (3, 1))(torch.tensor(x)).numpy())


def test_mlp_training_step_matches_pytorch():
    import torch

    def build(lib):
        return lib.Sequential(lib.Linear(6, 16), lib.LayerNorm(16), lib.GELU(),
                              lib.Linear(16, 16), lib.BatchNorm1d(16), lib.SiLU(),
                              lib.Linear(16, 4))

    theirs, ours = build(torch.nn), build(nn)
    _copy_state(ours, theirs)
    x, y = _x(8, 6), np.random.default_rng(3).integers(0, 4, size=8)
    loss = nn.CrossEntropyLoss(label_smoothing=0.1)(ours(gt.tensor(x)), gt.tensor(y))
    tloss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(theirs(torch.tensor(x)),
                                                            torch.tensor(y))
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
    loss.backward()
    tloss.backward()
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)
