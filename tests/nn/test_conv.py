"""Conv layers vs PyTorch with identical weights: forward, input/weight/bias grads, repr, init."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.nn import conv as gconv

nn = gconv  # the layers live in graphtorch.nn.conv (re-exported by graphtorch.nn)


def _load_from_torch(ours, theirs) -> None:
    state = {k: gt.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)


def _check_module(ours, theirs, x_np, rtol=1e-5, atol=1e-6, **fwd_kwargs):
    import torch

    _load_from_torch(ours, theirs)
    x = gt.tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    y, ty = ours(x, **fwd_kwargs), theirs(tx, **fwd_kwargs)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    cot = np.random.default_rng(1).standard_normal(ty.shape).astype(x_np.dtype)
    y.backward(gt.tensor(cot))
    ty.backward(torch.tensor(cot))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


CONV2D_CONFIGS = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=3, out_channels=6, kernel_size=(3, 2), stride=2, padding=1),
    dict(in_channels=4, out_channels=6, kernel_size=3, dilation=2, groups=2, bias=False),
    dict(in_channels=4, out_channels=4, kernel_size=4, padding="same", groups=4),
    dict(in_channels=2, out_channels=3, kernel_size=(2, 3), padding="valid", stride=(1, 2)),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding=1, padding_mode="zeros"),
]


@pytest.mark.torch
@pytest.mark.parametrize("cfg", CONV2D_CONFIGS, ids=str)
def test_conv2d_matches_pytorch(cfg):
    import torch

    x = np.random.default_rng(0).standard_normal((2, cfg["in_channels"], 9, 8))
    _check_module(nn.Conv2d(**cfg).double(), torch.nn.Conv2d(**cfg).double(), x)


@pytest.mark.torch
@pytest.mark.parametrize("cfg", [dict(in_channels=3, out_channels=4, kernel_size=3),
                                 dict(in_channels=4, out_channels=2, kernel_size=2, stride=3,
                                      padding=1, dilation=2, groups=2)], ids=str)
def test_conv1d_matches_pytorch(cfg):
    import torch

    x = np.random.default_rng(0).standard_normal((3, cfg["in_channels"], 11)).astype(np.float32)
    _check_module(nn.Conv1d(**cfg), torch.nn.Conv1d(**cfg), x, rtol=1e-4, atol=1e-5)


@pytest.mark.torch
@pytest.mark.parametrize("cfg", [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1, output_padding=1,
         groups=2),
    dict(in_channels=2, out_channels=3, kernel_size=(2, 3), stride=(2, 1), dilation=2,
         bias=False),
], ids=str)
def test_conv_transpose2d_matches_pytorch(cfg):
    import torch

    x = np.random.default_rng(2).standard_normal((2, cfg["in_channels"], 5, 4))
    _check_module(nn.ConvTranspose2d(**cfg).double(), torch.nn.ConvTranspose2d(**cfg).double(),
                  x)


@pytest.mark.torch
def test_conv_transpose2d_output_size_matches_pytorch():
    import torch

    cfg = dict(in_channels=2, out_channels=3, kernel_size=3, stride=2, padding=1)
    x = np.random.default_rng(3).standard_normal((1, 2, 4, 4))
    _check_module(nn.ConvTranspose2d(**cfg).double(), torch.nn.ConvTranspose2d(**cfg).double(),
                  x, output_size=[8, 8])
    with pytest.raises(ValueError, match="valid sizes range from"):
        nn.ConvTranspose2d(**cfg)(gt.zeros(1, 2, 4, 4), output_size=[10, 10])


@pytest.mark.torch
def test_conv_transpose1d_matches_pytorch():
    import torch

    cfg = dict(in_channels=2, out_channels=4, kernel_size=3, stride=2, output_padding=1)
    x = np.random.default_rng(4).standard_normal((2, 2, 6))
    _check_module(nn.ConvTranspose1d(**cfg).double(), torch.nn.ConvTranspose1d(**cfg).double(),
                  x)


@pytest.mark.torch
def test_unbatched_conv2d_matches_pytorch():
    import torch

    x = np.random.default_rng(5).standard_normal((3, 7, 7))
    _check_module(nn.Conv2d(3, 2, 3, stride=2).double(), torch.nn.Conv2d(3, 2, 3, stride=2)
                  .double(), x)


@pytest.mark.torch
@pytest.mark.parametrize("make", [
    lambda m: m.Conv2d(3, 8, 3),
    lambda m: m.Conv2d(4, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=2, groups=2,
                       bias=False),
    lambda m: m.Conv2d(4, 4, 3, padding="same", padding_mode="zeros"),
    lambda m: m.Conv1d(2, 3, 5, padding="valid"),
    lambda m: m.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1),
    lambda m: m.ConvTranspose1d(4, 2, 3, groups=2, dilation=3),
])
def test_repr_and_parameter_shapes_match_pytorch(make):
    import torch

    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]


def test_initialisation_bounds_follow_kaiming_uniform():
    gt.manual_seed(0)
    m = nn.Conv2d(6, 16, 5)
    bound = 1 / np.sqrt(6 * 25)  # kaiming_uniform_(a=sqrt(5)) reduces to U(-1/sqrt(fan_in), ...)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound and abs(w.mean()) < 0.1 * bound


def test_invalid_configurations_raise_pytorch_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="expected input\\[2, 2, 5, 5\\] to have 3 channels"):
        gt.conv2d(gt.zeros(2, 2, 5, 5), gt.zeros(4, 3, 3, 3))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input"):
        gt.conv2d(gt.zeros(1, 1, 2, 2), gt.zeros(1, 1, 3, 3))
    with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D"):
        gt.conv2d(gt.zeros(2, 3), gt.zeros(1, 1, 3, 3))


def test_functional_entry_points_are_the_registry_ops():
    x, w = gt.randn(1, 2, 5, 5), gt.randn(3, 2, 3, 3)
    np.testing.assert_allclose(gconv.conv2d(x, w, padding=1).numpy(),
                               gt.conv2d(x, w, None, 1, 1).numpy())


def test_weight_grad_skipped_inputs_do_not_change_results():
    # the first layer of a net: input without grad, only weight/bias grads are produced
    x = gt.randn(2, 1, 8, 8)
    m = nn.Conv2d(1, 2, 3)
    m(x).sum().backward()
    assert x.grad is None and m.weight.grad is not None
    expected = np.zeros((2, 1, 3, 3))
    xn = x.numpy()
    for i in range(3):
        for j in range(3):
            expected[:, 0, i, j] = xn[:, 0, i:i + 6, j:j + 6].sum()
    np.testing.assert_allclose(m.weight.grad.numpy(), expected, rtol=1e-4)
