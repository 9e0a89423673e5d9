"""Layers vs PyTorch on what ports break on: float64, strided inputs, tiny batches, modes."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn

pytestmark = pytest.mark.torch


def _twin(build):
    """The same layer from both libraries, PyTorch's weights copied into ours."""
    import torch

    torch.manual_seed(0)
    theirs = build(torch.nn)
    ours = build(nn)
    ours.load_state_dict({k: gt.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})
    return ours, theirs


def _run(ours, theirs, x: np.ndarray, view=lambda t: t, tol=1e-5, train=True):
    """Forward ``view(x)`` through both (grads w.r.t. x and parameters compared)."""
    import torch

    ours.train(train)
    theirs.train(train)
    gx, tx = gt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(view(gx)), theirs(view(tx))
    if isinstance(tout, tuple):
        out, tout = out[0], tout[0]
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
    assert out.dtype.name == str(tout.dtype).split(".")[1]
    cot = np.random.default_rng(1).standard_normal(tuple(tout.shape)).astype(x.dtype)
    (out * gt.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        if tp[name].grad is None:
            assert p.grad is None, name
            continue
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=tol, atol=tol,
                                   err_msg=name)
    return out, tout


def _x(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _same_error(f_ours, f_theirs, exc=Exception, upto: str | None = None):
    """Both raise ``exc``; our message contains PyTorch's (up to ``upto`` when given)."""
    with pytest.raises(exc) as theirs:
        f_theirs()
    with pytest.raises(exc) as ours:
        f_ours()
    expected = str(theirs.value).replace("torch.Size", "graphtorch.Size")
    if upto is not None:
        expected = expected[:expected.index(upto)]
    assert expected in str(ours.value), (str(ours.value), expected)


LAYERS = {
    "linear": (lambda m: m.Linear(6, 3), (4, 6)),
    "conv1d": (lambda m: m.Conv1d(6, 4, 3, padding=1), (2, 6, 7)),
    "conv2d": (lambda m: m.Conv2d(6, 4, 3, stride=2, padding=1), (2, 6, 6, 5)),
    "convT2d": (lambda m: m.ConvTranspose2d(6, 4, 3, stride=2, output_padding=1), (2, 6, 4, 3)),
    "bn1d": (lambda m: m.BatchNorm1d(6), (5, 6)),
    "bn2d": (lambda m: m.BatchNorm2d(6), (3, 6, 4, 2)),
    "ln": (lambda m: m.LayerNorm([4, 6]), (3, 4, 6)),
    "gn": (lambda m: m.GroupNorm(3, 6), (2, 6, 5)),
    "maxpool": (lambda m: m.MaxPool2d(2, ceil_mode=True), (2, 6, 5, 5)),
    "avgpool": (lambda m: m.AvgPool2d(3, 2, 1), (2, 6, 5, 5)),
    "adaptive": (lambda m: m.AdaptiveAvgPool2d((2, 3)), (2, 6, 5, 7)),
    "prelu": (lambda m: m.PReLU(6), (2, 6, 3)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_double_and_transposed_input(name, dtype):
    build, shape = LAYERS[name]
    ours, theirs = _twin(build)
    if dtype == np.float64:
        ours.double()
        theirs.double()
    # the input arrives as a transposed (non-contiguous) view of a differently-laid-out array
    rev = tuple(reversed(shape))
    x = _x(*rev, dtype=dtype)
    perm = list(reversed(range(len(shape))))
    tol = 1e-5 if dtype == np.float32 else 1e-10
    _run(ours, theirs, x, view=lambda t: t.permute(perm), tol=tol)


@pytest.mark.parametrize("name", ["linear", "conv2d", "ln", "gn", "bn2d", "maxpool"])
def test_layers_expanded_input(name):
    build, shape = LAYERS[name]
    ours, theirs = _twin(build)
    x = _x(1, *shape[1:])
    _run(ours, theirs, x, view=lambda t: t.expand(list(shape)))


@pytest.mark.parametrize("name", ["linear", "conv2d", "ln", "gn", "maxpool", "avgpool"])
def test_layers_single_sample(name):
    build, shape = LAYERS[name]
    ours, theirs = _twin(build)
    _run(ours, theirs, _x(1, *shape[1:]))


def test_layers_mixed_dtype_errors():
    import torch

    ours, theirs = _twin(lambda m: m.Linear(3, 2))
    _same_error(lambda: ours(gt.zeros((2, 3), dtype=gt.float64)),
                lambda: theirs(torch.zeros((2, 3), dtype=torch.float64)), RuntimeError)
    for build, shape in [(lambda m: m.LayerNorm(3), (2, 3)), (lambda m: m.BatchNorm1d(3), (2, 3)),
                         (lambda m: m.GroupNorm(1, 3), (2, 3)), (lambda m: m.PReLU(), (2, 3))]:
        ours, theirs = _twin(build)
        _same_error(lambda o=ours, s=shape: o(gt.zeros(s, dtype=gt.float64)),
                    lambda t=theirs, s=shape: t(torch.zeros(s, dtype=torch.float64)),
                    RuntimeError)
    ours, theirs = _twin(lambda m: m.Conv2d(3, 2, 1))
    with pytest.raises(RuntimeError):
        theirs(torch.zeros((1, 3, 2, 2), dtype=torch.float64))
    with pytest.raises(RuntimeError, match="float64.*float32"):
        ours(gt.zeros((1, 3, 2, 2), dtype=gt.float64))
    ours, theirs = _twin(lambda m: m.LSTM(3, 2))
    with pytest.raises(ValueError) as t_err:
        theirs(torch.zeros((4, 3), dtype=torch.float64))
    with pytest.raises(ValueError) as g_err:
        ours(gt.zeros((4, 3), dtype=gt.float64))
    assert str(t_err.value).replace("torch.", "graphtorch.") == str(g_err.value)


@pytest.mark.parametrize("name,shape", [("conv1d", (6, 7)), ("conv2d", (6, 6, 5)),
                                        ("maxpool", (6, 5, 5)), ("avgpool", (6, 5, 5)),
                                        ("adaptive", (6, 5, 7))])
def test_layers_unbatched_input(name, shape):
    ours, theirs = _twin(LAYERS[name][0])
    _run(ours, theirs, _x(*shape))


@pytest.mark.parametrize("name", ["linear", "conv2d", "ln", "maxpool", "avgpool"])
def test_layers_empty_batch(name):
    build, shape = LAYERS[name]
    ours, theirs = _twin(build)
    _run(ours, theirs, _x(0, *shape[1:]))


# --- batch norm -----------------------------------------------------------------------------------
def test_batchnorm_batch_of_one_in_training_raises_like_pytorch():
    import torch

    ours, theirs = _twin(lambda m: m.BatchNorm1d(3))
    _same_error(lambda: ours(gt.zeros((1, 3))), lambda: theirs(torch.zeros((1, 3))), ValueError)
    ours.eval()
    theirs.eval()
    _run(ours, theirs, _x(1, 3), train=False)
    # one sample with spatial extent is fine in training
    ours, theirs = _twin(lambda m: m.BatchNorm2d(3))
    _run(ours, theirs, _x(1, 3, 2, 2))


@pytest.mark.parametrize("kw", [{}, {"momentum": None}, {"momentum": 0.5},
                                {"track_running_stats": False}, {"affine": False},
                                {"affine": False, "track_running_stats": False}])
def test_batchnorm_modes_and_running_stats(kw):
    import torch

    ours, theirs = _twin(lambda m: m.BatchNorm2d(4, **kw))
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    for step in range(3):
        _run(ours, theirs, _x(3, 4, 2, 3, seed=step) * (step + 1) + step)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)
    _run(ours, theirs, _x(2, 4, 2, 3, seed=9), train=False)
    _run(ours, theirs, _x(2, 4, 2, 3, seed=10), train=True)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)
    _ = torch


def test_batchnorm_wrong_rank_errors():
    import torch

    ours, theirs = _twin(lambda m: m.BatchNorm2d(3))
    _same_error(lambda: ours(gt.zeros((2, 3))), lambda: theirs(torch.zeros((2, 3))), ValueError)
    ours, theirs = _twin(lambda m: m.BatchNorm1d(3))
    _same_error(lambda: ours(gt.zeros((2, 3, 1, 1))),
                lambda: theirs(torch.zeros((2, 3, 1, 1))), ValueError)


# --- layer norm, group norm -----------------------------------------------------------------------
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_layernorm_several_dims(affine, bias):
    ours, theirs = _twin(lambda m: m.LayerNorm((3, 4), elementwise_affine=affine, bias=bias))
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    _run(ours, theirs, _x(2, 5, 3, 4))


@pytest.mark.parametrize("groups,channels", [(6, 6), (1, 6), (2, 4)])
@pytest.mark.parametrize("affine", [False, True])
def test_groupnorm_groups(groups, channels, affine):
    ours, theirs = _twin(lambda m: m.GroupNorm(groups, channels, affine=affine))
    _run(ours, theirs, _x(3, channels, 2, 3))


def test_groupnorm_indivisible_error():
    import torch

    # (C, L) is read as (N, C): GroupNorm has no unbatched form
    ours, theirs = _twin(lambda m: m.GroupNorm(3, 6))
    _same_error(lambda: ours(gt.zeros((6, 5))), lambda: theirs(torch.zeros((6, 5))),
                RuntimeError)

    _same_error(lambda: nn.GroupNorm(4, 6), lambda: torch.nn.GroupNorm(4, 6), ValueError)


# --- embedding ------------------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding_padding_idx_gradients(padding_idx):
    import torch

    ours, theirs = _twin(lambda m: m.Embedding(5, 3, padding_idx=padding_idx))
    idx = np.array([[0, 4, 4], [2, 0, 1]])
    out, tout = ours(gt.tensor(idx)), theirs(torch.tensor(idx))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy())
    cot = _x(2, 3, 3)
    (out * gt.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm_renormalizes_in_place(norm_type):
    import torch

    ours, theirs = _twin(lambda m: m.Embedding(6, 4, max_norm=1.0, norm_type=norm_type))
    idx = np.array([[0, 2, 2], [5, 0, 3]])
    out, tout = ours(gt.tensor(idx)), theirs(torch.tensor(idx))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    cot = _x(2, 3, 4)
    (out * gt.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5,
                               atol=1e-6)


def test_embedding_from_pretrained_and_scale_grad_by_freq():
    import torch

    w = _x(5, 3)
    ours = nn.Embedding.from_pretrained(gt.tensor(w), freeze=False, scale_grad_by_freq=True)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(w), freeze=False,
                                                scale_grad_by_freq=True)
    idx = np.array([1, 1, 3, 1])
    ours(gt.tensor(idx)).sum().backward()
    theirs(torch.tensor(idx)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy())
    frozen = nn.Embedding.from_pretrained(gt.tensor(w))
    assert not frozen.weight.requires_grad


# --- convolution ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"])
def test_conv2d_padding_modes(mode, padding):
    ours, theirs = _twin(lambda m: m.Conv2d(2, 3, 3, padding=padding, padding_mode=mode))
    _run(ours, theirs, _x(2, 2, 5, 6))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv1d_padding_modes(mode):
    ours, theirs = _twin(lambda m: m.Conv1d(2, 3, 3, padding=2, padding_mode=mode))
    _run(ours, theirs, _x(2, 2, 6))


def test_conv2d_depthwise_dilation_stride():
    ours, theirs = _twin(lambda m: m.Conv2d(4, 8, 3, stride=2, dilation=2, groups=4, padding=1))
    _run(ours, theirs, _x(2, 4, 9, 8))
    ours, theirs = _twin(lambda m: m.Conv2d(4, 4, (3, 1), stride=(1, 2), dilation=(2, 1),
                                            groups=4, bias=False))
    _run(ours, theirs, _x(1, 4, 7, 6))


def test_conv_same_padding_errors_like_pytorch():
    import torch

    _same_error(lambda: nn.Conv2d(2, 2, 3, stride=2, padding="same"),
                lambda: torch.nn.Conv2d(2, 2, 3, stride=2, padding="same"), ValueError)
    _same_error(lambda: nn.Conv2d(2, 2, 3, padding="valid2"),
                lambda: torch.nn.Conv2d(2, 2, 3, padding="valid2"), ValueError, upto="{")
    # PyTorch prints the modes as a set (its order varies from run to run)
    _same_error(lambda: nn.Conv2d(2, 2, 3, padding_mode="mirror"),
                lambda: torch.nn.Conv2d(2, 2, 3, padding_mode="mirror"), ValueError, upto="{")
    _same_error(lambda: nn.Conv2d(3, 2, 3, groups=2), lambda: torch.nn.Conv2d(3, 2, 3, groups=2),
                ValueError)


def test_conv_same_padding_even_kernel_dilation():
    ours, theirs = _twin(lambda m: m.Conv2d(2, 3, (4, 2), padding="same", dilation=(1, 3)))
    _run(ours, theirs, _x(2, 2, 7, 8))


def test_conv_transpose_groups_dilation_output_size():
    import torch

    ours, theirs = _twin(lambda m: m.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2,
                                                     dilation=2))
    _run(ours, theirs, _x(2, 4, 3, 4))
    x = _x(1, 4, 3, 4)
    out = ours(gt.tensor(x), output_size=[8, 10])
    tout = theirs(torch.tensor(x), output_size=[8, 10])
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-5)


# --- pooling --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [dict(kernel_size=2, stride=2, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=2, stride=3, ceil_mode=True),
                                dict(kernel_size=3, stride=2, dilation=2, ceil_mode=True),
                                dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))])
@pytest.mark.parametrize("size", [5, 6, 7])
def test_maxpool_ceil_mode_corners(kw, size):
    ours, theirs = _twin(lambda m: m.MaxPool2d(**kw))
    _run(ours, theirs, _x(1, 2, size, size + 1))


@pytest.mark.parametrize("kw", [dict(kernel_size=2, stride=2, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                     count_include_pad=False),
                                dict(kernel_size=3, stride=2, padding=1, divisor_override=2)])
@pytest.mark.parametrize("size", [5, 6])
def test_avgpool_ceil_mode_corners(kw, size):
    ours, theirs = _twin(lambda m: m.AvgPool2d(**kw))
    _run(ours, theirs, _x(1, 2, size, size + 1))


def test_maxpool_return_indices_then_unpool():
    import torch

    pool = nn.MaxPool2d(2, stride=2, return_indices=True)
    tpool = torch.nn.MaxPool2d(2, stride=2, return_indices=True)
    x = _x(2, 3, 5, 4)
    out, idx = pool(gt.tensor(x))
    tout, tidx = tpool(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert idx.dtype == gt.int64
    unpool, tunpool = nn.MaxUnpool2d(2, stride=2), torch.nn.MaxUnpool2d(2, stride=2)
    gx = gt.tensor(out.numpy(), requires_grad=True)
    tx = torch.tensor(tout.numpy(), requires_grad=True)
    up = unpool(gx, idx, output_size=[5, 4])
    tup = tunpool(tx, tidx, output_size=[5, 4])
    np.testing.assert_allclose(up.detach().numpy(), tup.detach().numpy())
    cot = _x(2, 3, 5, 4, seed=3)
    (up * gt.tensor(cot)).sum().backward()
    (tup * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(unpool(out, idx).numpy(), tunpool(tout, tidx).numpy())


def test_max_unpool1d_unbatched_repr_and_errors():
    import torch
    import torch.nn.functional as tF

    x = _x(3, 9)
    out, idx = nn.functional.max_pool1d(gt.tensor(x), 3, 2, 1, return_indices=True)
    tout, tidx = tF.max_pool1d(torch.tensor(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    ours, theirs = nn.MaxUnpool1d(3, 2, 1), torch.nn.MaxUnpool1d(3, 2, 1)
    assert repr(ours) == repr(theirs)
    np.testing.assert_allclose(ours(out, idx).numpy(), theirs(tout, tidx).numpy())
    np.testing.assert_allclose(ours(out, idx, output_size=[10]).numpy(),
                               theirs(tout, tidx, output_size=[10]).numpy())
    _same_error(lambda: ours(out, idx, output_size=[20]),
                lambda: theirs(tout, tidx, output_size=[20]), ValueError)
    _same_error(lambda: ours(out, idx * 10), lambda: theirs(tout, tidx * 10), RuntimeError,
                upto=":")
    # (PyTorch's 1-d unpool runs its 2-d kernel: its shapes in the message end in 1)
    _same_error(lambda: ours(out, idx[:, :2]), lambda: theirs(tout, tidx[:, :2]),
                RuntimeError, upto="(")
    out, idx = nn.functional.max_pool2d(gt.tensor(_x(2, 4, 4)), 2, return_indices=True)
    tout, tidx = tF.max_pool2d(torch.tensor(_x(2, 4, 4)), 2, return_indices=True)
    _same_error(lambda: nn.functional.max_unpool2d(out, idx[:, :1], 2),
                lambda: tF.max_unpool2d(tout, tidx[:, :1], 2), RuntimeError)


def test_layer_argument_errors_like_pytorch():
    import torch

    cases = [
        (lambda lib: lib.nn.ConvTranspose2d(2, 3, 3, stride=2)(lib.ones(1, 2, 5, 6),
                                                               output_size=[20, 20]), ValueError),
        (lambda lib: lib.nn.AvgPool2d(2, divisor_override=0)(lib.ones(1, 1, 2, 2)), RuntimeError),
        (lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([-1])), IndexError),
        (lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([3])), IndexError),
        (lambda lib: lib.nn.functional.linear(lib.ones(2, 3), lib.ones(4, 3), lib.ones(3)),
         RuntimeError),
    ]
    for build, exc in cases:
        with pytest.raises(exc) as t_err:
            build(torch)
        with pytest.raises(exc) as g_err:
            build(gt)
        assert str(g_err.value) == str(t_err.value).replace("torch.", "graphtorch.")


@pytest.mark.parametrize("build,shape", [
    (lambda m: m.Conv3d(2, 4, 3, stride=(1, 2, 1), padding=1, dilation=(1, 1, 2)),
     (2, 2, 4, 5, 6)),
    (lambda m: m.Conv3d(4, 4, (2, 3, 1), groups=4, padding="same", padding_mode="replicate"),
     (1, 4, 3, 4, 5)),
    (lambda m: m.Conv3d(2, 3, 2, padding=1, padding_mode="circular", bias=False), (2, 3, 3, 4)),
    (lambda m: m.ConvTranspose3d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
     (1, 2, 2, 3, 2)),
])
def test_conv3d_layers(build, shape):
    ours, theirs = _twin(build)
    assert repr(ours) == repr(theirs)
    ours.double()
    theirs.double()
    _run(ours, theirs, _x(*shape, dtype=np.float64), tol=1e-10)


@pytest.mark.parametrize("build", [
    lambda m: m.MaxPool3d(2, ceil_mode=True), lambda m: m.MaxPool3d((3, 2, 2), 1, 1, dilation=1),
    lambda m: m.AvgPool3d(2, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda m: m.AvgPool3d(3, 2, 1, divisor_override=5), lambda m: m.AdaptiveAvgPool3d((2, 3, 1)),
    lambda m: m.AdaptiveMaxPool3d((2, None, 2)),
])
@pytest.mark.parametrize("shape", [(2, 3, 5, 4, 6), (3, 4, 5, 5)])
def test_pool3d_layers(build, shape):
    ours, theirs = _twin(build)
    assert repr(ours) == repr(theirs)
    _run(ours, theirs, _x(*shape))


def test_max_pool3d_indices_then_unpool3d():
    import torch

    x = _x(2, 2, 4, 5, 4)
    out, idx = nn.MaxPool3d(2, return_indices=True)(gt.tensor(x))
    tout, tidx = torch.nn.MaxPool3d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    up = nn.MaxUnpool3d(2)(out, idx, output_size=[4, 5, 4])
    tup = torch.nn.MaxUnpool3d(2)(tout, tidx, output_size=[4, 5, 4])
    np.testing.assert_allclose(up.numpy(), tup.numpy())


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("layout", ["2d", "offsets", "last_offset"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag(mode, layout, padding_idx):
    import torch

    ours, theirs = _twin(lambda m: m.EmbeddingBag(10, 3, mode=mode, padding_idx=padding_idx,
                                                  include_last_offset=layout == "last_offset"))
    assert repr(ours) == repr(theirs)
    if layout == "2d":
        idx, offsets = np.array([[1, 2, 2], [4, 2, 9]]), None
    else:
        idx = np.array([1, 2, 2, 4, 9, 2, 7])
        offsets = np.array([0, 0, 3, 5] + ([7] if layout == "last_offset" else []))
    args = (gt.tensor(idx),) + (() if offsets is None else (gt.tensor(offsets),))
    targs = (torch.tensor(idx),) + (() if offsets is None else (torch.tensor(offsets),))
    out, tout = ours(*args), theirs(*targs)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-6, atol=1e-7)
    cot = _x(*tout.shape, seed=2)
    (out * gt.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6,
                               atol=1e-7)


def test_embedding_bag_per_sample_weights_and_errors():
    import torch

    ours, theirs = _twin(lambda m: m.EmbeddingBag(10, 3, mode="sum"))
    idx, offsets, w = np.array([1, 2, 4, 5, 4]), np.array([0, 2]), _x(5, seed=3)
    gw, tw = gt.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    out = ours(gt.tensor(idx), gt.tensor(offsets), per_sample_weights=gw)
    tout = theirs(torch.tensor(idx), torch.tensor(offsets), per_sample_weights=tw)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(gw.grad.numpy(), tw.grad.numpy(), rtol=1e-6)
    mean, tmean = _twin(lambda m: m.EmbeddingBag(10, 3))
    for call in (lambda mod, lib: mod(lib.tensor([1, 2])),
                 lambda mod, lib: mod(lib.tensor([[1, 2]]), lib.tensor([0])),
                 lambda mod, lib: mod(lib.tensor([1, 2]), lib.tensor([0]),
                                      per_sample_weights=lib.ones(2))):
        with pytest.raises((ValueError, NotImplementedError)) as t_err:
            call(tmean, torch)
        with pytest.raises((ValueError, NotImplementedError)) as g_err:
            call(mean, gt)
        assert str(g_err.value).split(" of type")[0] == str(t_err.value).split(" of type")[0]


def test_softmax2d():
    ours, theirs = _twin(lambda m: m.Softmax2d())
    assert repr(ours) == repr(theirs)
    _run(ours, theirs, _x(2, 3, 4, 5))
    _run(ours, theirs, _x(3, 4, 5))
