"""The cache-chunked conv kernels (graphtorch.ops.conv_kernels) and the flat-shift gradients of
stride-1 2-D convs (graphtorch.ops.conv_flat) vs PyTorch and float64 finite differences, with the
batch split into one chunk, chunks of two with a remainder, and one sample per chunk; geometries
that take the flat paths (2-D, stride 1, dilation 1) and that skip them (strides, dilation, 1-D,
3-D, a cropping high pad for the input gradient), with (asymmetric) padding and groups."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.ops import conv as gconv
from graphtorch.ops import conv_kernels as ck

# (x shape, w shape, stride, (lo, hi) pads, dilation, groups)
GEOMETRIES = {
    "mnist_conv1": ((5, 1, 8, 8), (4, 1, 3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
    "mnist_conv2": ((5, 4, 6, 6), (6, 4, 3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
    "stride_pad_dil_groups": ((5, 4, 7, 6), (6, 2, 3, 3), (2, 1), ((1, 1), (0, 2)), (1, 2), 2),
    "crop_high": ((3, 2, 6, 5), (4, 2, 2, 3), (1, 2), ((1, -1), (2, 0)), (2, 1), 1),
    "flat_groups_asym": ((5, 4, 7, 6), (6, 2, 2, 3), (1, 1), ((1, 0), (2, 1)), (1, 1), 2),
    "flat_crop": ((3, 2, 6, 5), (4, 2, 3, 2), (1, 1), ((0, -1), (1, 0)), (1, 1), 1),
    "depthwise": ((4, 3, 5, 5), (3, 1, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 3),
    "conv1d": ((5, 3, 11), (4, 3, 3), (2,), ((1, 0),), (2,), 1),
    "conv3d": ((3, 2, 5, 4, 4), (2, 2, 2, 3, 2), (1, 1, 2), ((0, 1), (1, 1), (0, 0)),
               (1, 1, 1), 1),
    "empty_batch": ((0, 2, 5, 5), (3, 2, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
}
CHUNKINGS = ["one_chunk", "pairs", "single"]


def _out_size(x_shape, w_shape, stride, pads, dilation):
    return tuple((s + lo + hi - d * (k - 1) - 1) // st + 1 for s, k, st, (lo, hi), d in
                 zip(x_shape[2:], w_shape[2:], stride, pads, dilation))


@pytest.fixture(params=CHUNKINGS)
def chunking(request, monkeypatch):
    """Sets the chunk budget so a chunk holds the whole batch, two samples, or one."""
    def apply(x_shape, w_shape, out, itemsize):
        per_sample = x_shape[1] * math.prod(w_shape[2:]) * math.prod(out) * itemsize
        budget = {"one_chunk": 1 << 40, "pairs": 2 * per_sample, "single": 1}[request.param]
        monkeypatch.setattr(ck, "_CHUNK_BYTES", budget)
    return apply


def _case(name, dtype, seed=0):
    x_shape, w_shape, stride, pads, dilation, groups = GEOMETRIES[name]
    rng = np.random.default_rng(seed)
    out = _out_size(x_shape, w_shape, stride, pads, dilation)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    g = rng.standard_normal((x_shape[0], w_shape[0]) + out).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    return x, w, g, b, stride, pads, dilation, groups, out


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_chunked_kernels_match_torch(name, dtype, chunking):
    torch = pytest.importorskip("torch")
    x, w, g, b, stride, pads, dilation, groups, out = _case(name, dtype)
    chunking(x.shape, w.shape, out, np.dtype(dtype).itemsize)
    flat = gconv.pair_list(pads)
    tx, tw, tg = (torch.from_numpy(a) for a in (x, w, g))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)

    y = ck.conv_forward(np, x, w, stride, pads, dilation, groups, b)
    ty = gconv._torch_conv(torch, tx, tw, stride, flat, dilation, groups)
    ty = ty + torch.from_numpy(b).reshape((-1,) + (1,) * (x.ndim - 2))
    assert y.dtype == dtype and y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y, ty.numpy(), **tol)

    dx = ck.conv_input_grad(np, g, w, x.shape[2:], stride, pads, dilation, groups)
    tdx = gconv._torch_input_grad(torch, tg, tw, x.shape[2:], stride, flat, dilation, groups)
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, tdx.numpy(), **tol)

    dw = ck.conv_weight_grad(np, x, g, w.shape[2:], stride, pads, dilation, groups)
    tdw = gconv._torch_weight_grad(torch, tx, tg, w.shape[2:], stride, flat, dilation, groups)
    assert dw.dtype == dtype and dw.shape == w.shape
    np.testing.assert_allclose(dw, tdw.numpy(), **tol)


@pytest.mark.parametrize("name", [n for n in GEOMETRIES if n != "empty_batch"])
def test_chunked_gradients_match_finite_differences(name, chunking):
    """float64 central differences of <conv(x, w), g> along random directions of x and w."""
    x, w, g, _, stride, pads, dilation, groups, out = _case(name, np.float64, seed=1)
    chunking(x.shape, w.shape, out, 8)
    rng = np.random.default_rng(2)
    vx, vw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)

    def loss(xx, ww):
        return float(np.sum(ck.conv_forward(np, xx, ww, stride, pads, dilation, groups) * g))

    h = 1e-6
    fd_x = (loss(x + h * vx, w) - loss(x - h * vx, w)) / (2 * h)
    fd_w = (loss(x, w + h * vw) - loss(x, w - h * vw)) / (2 * h)
    dx = ck.conv_input_grad(np, g, w, x.shape[2:], stride, pads, dilation, groups)
    dw = ck.conv_weight_grad(np, x, g, w.shape[2:], stride, pads, dilation, groups)
    assert np.sum(dx * vx) == pytest.approx(fd_x, rel=1e-7, abs=1e-7)
    assert np.sum(dw * vw) == pytest.approx(fd_w, rel=1e-7, abs=1e-7)


def test_chunk_budget():
    assert ck._chunk(64, 288 * 576, 4) == 1          # mnist conv2: 663 KiB per sample
    assert ck._chunk(64, 9 * 676, 4) == 43           # mnist conv1: 24 KiB per sample
    assert ck._chunk(3, 1, 4) == 3                   # never more than the batch
    assert ck._chunk(0, 10, 4) == 1                  # an empty batch still steps
    assert ck._chunk(5, 0, 4) == 5                   # zero-sized positions


@pytest.mark.torch
def test_mnist_layers_step_float32_vs_torch(chunking):
    """The mnist net's conv -> relu -> conv -> relu -> max_pool path in float32 (batch 7, not a
    multiple of the chunk): forward values, every gradient, and no float64 upcast anywhere."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 1, 12, 12)).astype(np.float32)
    w1, b1 = rng.standard_normal((4, 1, 3, 3)).astype(np.float32), np.float32([.1, -.2, 0, .3])
    w2 = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    b2 = rng.standard_normal(6).astype(np.float32)
    chunking((7, 4, 10, 10), w2.shape, (8, 8), 4)

    def run(lib, arrays):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        F = lib.nn.functional  # noqa: N806 - PyTorch's convention
        h = F.relu(F.conv2d(ts[0], ts[1], ts[2]))
        h = F.max_pool2d(F.relu(F.conv2d(h, ts[3], ts[4])), 2)
        (h * lib.tensor(np.arange(h.numel(), dtype=np.float32).reshape(h.shape) % 5)).sum() \
            .backward()
        return [h.detach().numpy()] + [t.grad.numpy() for t in ts]

    ours = run(gt, [x, w1, b1, w2, b2])
    theirs = run(torch, [x, w1, b1, w2, b2])
    for a, b in zip(ours, theirs):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["mnist_conv2", "flat_groups_asym", "depthwise"])
def test_flat_paths_with_non_finite_operands_equal_generic(name, monkeypatch):
    """inf/NaN in the weight (input gradient) or the input (weight gradient): the flat paths
    must not add the padding's ``inf * 0`` products; values equal the generic kernels'."""
    x, w, g, _, stride, pads, dilation, groups, _ = _case(name, np.float64, seed=4)
    x[0, 0, 1, 1], x[-1, -1, 2, 0] = np.inf, np.nan
    w[0, 0, 0, 0] = -np.inf
    with np.errstate(invalid="ignore"):  # eager dispatch silences these as PyTorch does
        dx = ck.conv_input_grad(np, g, w, x.shape[2:], stride, pads, dilation, groups)
        dw = ck.conv_weight_grad(np, x, g, w.shape[2:], stride, pads, dilation, groups)
        monkeypatch.setattr(ck, "_flat_ok", lambda *args: False)
        ref_dx = ck.conv_input_grad(np, g, w, x.shape[2:], stride, pads, dilation, groups)
        ref_dw = ck.conv_weight_grad(np, x, g, w.shape[2:], stride, pads, dilation, groups)
    assert np.isnan(ref_dx).any() or np.isinf(ref_dx).any()
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, ref_dw, rtol=1e-12, atol=1e-12)


def test_flat_paths_taken_and_skipped(monkeypatch):
    """The geometry rule: 2-D, stride 1, dilation 1 (and, for the input gradient, no crop)."""
    calls = []
    real_in, real_w = ck.input_grad_flat, ck.weight_grad_flat
    monkeypatch.setattr(ck, "input_grad_flat", lambda *a: calls.append("in") or real_in(*a))
    monkeypatch.setattr(ck, "weight_grad_flat", lambda *a: calls.append("w") or real_w(*a))
    expect = {"mnist_conv2": ["in", "w"], "flat_groups_asym": ["in", "w"], "flat_crop": ["w"],
              "crop_high": [], "stride_pad_dil_groups": [], "conv1d": [], "conv3d": []}
    for name, taken in expect.items():
        calls.clear()
        x, w, g, _, stride, pads, dilation, groups, _ = _case(name, np.float32)
        ck.conv_input_grad(np, g, w, x.shape[2:], stride, pads, dilation, groups)
        ck.conv_weight_grad(np, x, g, w.shape[2:], stride, pads, dilation, groups)
        assert calls == taken, name
