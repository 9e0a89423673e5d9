"""Padding layers, interpolate/Upsample, PixelShuffle and InstanceNorm vs PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn

pytestmark = pytest.mark.torch


def _x(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _both(f_ours, f_theirs, x, tol=1e-5):
    """Values and input gradients of ``f(x)`` (x possibly viewed non-contiguously)."""
    import torch

    gx, tx = gt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = f_ours(gx), f_theirs(tx)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
    cot = _x(*tout.shape, seed=3, dtype=x.dtype)
    (out * gt.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name,args,shape", [
    ("ZeroPad1d", (2,), (2, 3, 5)), ("ZeroPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)),
    ("ZeroPad3d", (1,), (1, 2, 3, 4, 5)), ("ConstantPad1d", ((1, 2), 3.5), (3, 5)),
    ("ConstantPad2d", (1, -1.0), (2, 3, 4, 5)), ("ReflectionPad1d", (2,), (2, 3, 5)),
    ("ReflectionPad2d", ((1, 0, 2, 1),), (2, 3, 4, 5)), ("ReplicationPad1d", (3,), (3, 5)),
    ("ReplicationPad2d", (2,), (2, 3, 4, 5)), ("ReplicationPad3d", (1,), (1, 2, 3, 4, 5)),
    ("CircularPad1d", (2,), (2, 3, 5)), ("CircularPad2d", ((1, 2, 2, 1),), (2, 3, 4, 5)),
])
def test_padding_layers(name, args, shape):
    import torch

    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding
    x = _x(*reversed(shape))
    perm = list(reversed(range(len(shape))))
    _both(lambda t: ours(t.permute(perm)), lambda t: theirs(t.permute(perm)), x)


@pytest.mark.parametrize("mode,align", [("nearest", None), ("nearest-exact", None),
                                        ("bilinear", False), ("bilinear", True)])
@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(scale_factor=1.7),
                                dict(scale_factor=(0.6, 2.5)), dict(size=(7, 3)),
                                dict(size=(2, 9)),
                                dict(scale_factor=1.7, recompute_scale_factor=True)])
def test_interpolate_2d(mode, align, kw):
    import torch
    import torch.nn.functional as tF

    x = _x(2, 3, 4, 5)
    _both(lambda t: nn.functional.interpolate(t, mode=mode, align_corners=align, **kw),
          lambda t: tF.interpolate(t, mode=mode, align_corners=align, **kw), x)
    _ = torch


@pytest.mark.parametrize("mode,align", [("nearest", None), ("linear", False), ("linear", True)])
def test_interpolate_1d_and_3d(mode, align):
    import torch.nn.functional as tF

    x = _x(2, 3, 6)
    _both(lambda t: nn.functional.interpolate(t, scale_factor=1.5, mode=mode,
                                              align_corners=align),
          lambda t: tF.interpolate(t, scale_factor=1.5, mode=mode, align_corners=align), x)
    x3 = _x(1, 2, 3, 4, 2, dtype=np.float64)
    m3 = "trilinear" if mode == "linear" else mode
    _both(lambda t: nn.functional.interpolate(t, size=(5, 3, 4), mode=m3, align_corners=align),
          lambda t: tF.interpolate(t, size=(5, 3, 4), mode=m3, align_corners=align), x3,
          tol=1e-10)


def test_upsample_modules_and_errors():
    import torch
    import torch.nn.functional as tF

    for build in (lambda m: m.Upsample(scale_factor=2),
                  lambda m: m.Upsample(size=(3, 4), mode="bilinear", align_corners=True),
                  lambda m: m.UpsamplingNearest2d(scale_factor=2),
                  lambda m: m.UpsamplingBilinear2d(scale_factor=2)):
        ours, theirs = build(nn), build(torch.nn)
        assert repr(ours) == repr(theirs)
        _both(ours, theirs, _x(1, 2, 3, 3))
    for kw in (dict(), dict(size=2, scale_factor=2), dict(size=(2, 2, 2)),
               dict(scale_factor=2, mode="nearest", align_corners=True)):
        with pytest.raises(ValueError) as t_err:
            tF.interpolate(torch.zeros(1, 1, 3, 3), **kw)
        with pytest.raises(ValueError) as g_err:
            nn.functional.interpolate(gt.zeros(1, 1, 3, 3), **kw)
        assert str(g_err.value) == str(t_err.value)


@pytest.mark.parametrize("shape,r", [((2, 8, 3, 4), 2), ((18, 2, 3), 3), ((1, 2, 4, 3, 2), 1)])
def test_pixel_shuffle_round_trip(shape, r):
    import torch

    ours, theirs = nn.PixelShuffle(r), torch.nn.PixelShuffle(r)
    assert repr(ours) == repr(theirs)
    _both(ours, theirs, _x(*shape))
    un, tun = nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r)
    up_shape = list(shape[:-3]) + [shape[-3] // (r * r), shape[-2] * r, shape[-1] * r]
    _both(un, tun, _x(*up_shape))
    for bad in (lambda lib, m: m.PixelShuffle(3)(lib.zeros(2, 8, 3, 4)),
                lambda lib, m: m.PixelUnshuffle(2)(lib.zeros(2, 8, 3, 4)),
                lambda lib, m: m.PixelShuffle(2)(lib.zeros(8, 4))):
        with pytest.raises(RuntimeError) as t_err:
            bad(torch, torch.nn)
        with pytest.raises(RuntimeError) as g_err:
            bad(gt, nn)
        assert str(g_err.value) == str(t_err.value)


@pytest.mark.parametrize("name,shape", [("InstanceNorm1d", (3, 4, 6)), ("InstanceNorm1d", (4, 6)),
                                        ("InstanceNorm2d", (2, 4, 3, 5)),
                                        ("InstanceNorm3d", (2, 4, 2, 3, 2))])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("track", [False, True])
def test_instance_norm(name, shape, affine, track):
    import torch

    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(4, affine=affine, track_running_stats=track, momentum=0.3)
    ours = getattr(nn, name)(4, affine=affine, track_running_stats=track, momentum=0.3)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if affine:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.uniform_(-1, 1)
        ours.load_state_dict({k: gt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    for step in range(2):
        _both(ours, theirs, _x(*shape, seed=step) * (step + 2))
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)
    ours.eval()
    theirs.eval()
    _both(ours, theirs, _x(*shape, seed=7))
