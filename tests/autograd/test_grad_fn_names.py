"""grad_fn classes are named like PyTorch's: ``type(t.grad_fn).__name__``, repr and name()."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt


def _programs(lib):
    F = lib.nn.functional
    rng = np.random.default_rng(0)

    def leaf(*shape):
        return lib.tensor(rng.standard_normal(shape), dtype=lib.float32, requires_grad=True)

    x, w, b = leaf(2, 4), leaf(3, 4), leaf(3)
    t = lib.tensor([1, 0])
    y = x.detach() * 0.5
    return {
        "mul": x * 2, "add": x + y, "exp": x.exp(), "matmul": x @ w.t(), "sum": x.sum(),
        "linear_2d": F.linear(x, w, b), "linear_no_bias": F.linear(x, w),
        "linear_3d": F.linear(x.unsqueeze(0), w, b),
        "cross_entropy": F.cross_entropy(x, t), "nll_loss": F.nll_loss(x, t),
        "mse_loss": F.mse_loss(x, y), "mse_none": F.mse_loss(x, y, reduction="none"),
        "smooth_l1": F.smooth_l1_loss(x, y), "huber": F.huber_loss(x, y),
        "bce": F.binary_cross_entropy(x.sigmoid(), y.sigmoid()),
        "bce_logits": F.binary_cross_entropy_with_logits(x, y.sigmoid()),
        "softmax": F.softmax(x, 1), "log_softmax": F.log_softmax(x, 1),
        "layer_norm": F.layer_norm(x, (4,)), "select": x[0], "slice": x[:, 1:],
        "advanced": x[lib.tensor([1, 0])], "unsqueeze": x[None], "view": x.view(8),
        "reshape": x.reshape(8), "clamp_scalars": x.clamp(0.0, 1.0), "to": x.to(lib.float64),
        "sum_dim": x.sum(1), "mean": x.mean(), "mean_dim": x.mean(0), "max_all": x.max(),
        "max_dim": x.max(1)[0], "cosine": F.cosine_similarity(x, y),
    }


@pytest.mark.torch
def test_grad_fn_class_names_match_pytorch():
    import torch

    ours, theirs = _programs(gt), _programs(torch)
    for key in ours:
        want = type(theirs[key].grad_fn).__name__
        got = type(ours[key].grad_fn).__name__
        assert got == want, f"{key}: {got} vs PyTorch {want}"
        assert ours[key].grad_fn.name() == got
        assert f"grad_fn=<{want}>" in repr(ours[key])


def test_node_classes_are_cached_subclasses():
    from graphtorch.autograd.node import OpNode

    a = gt.ones(2, requires_grad=True) * 2
    b = gt.ones(3, requires_grad=True) * 3
    assert type(a.grad_fn) is type(b.grad_fn)
    assert isinstance(a.grad_fn, OpNode)


def test_custom_function_node_name():
    class Double(gt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = Double.apply(gt.ones(2, requires_grad=True))
    assert type(y.grad_fn).__name__ == "DoubleBackward"
