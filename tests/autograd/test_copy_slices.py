"""In-place ops on views while recording gradients (PyTorch's CopySlices), against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import AutogradError

pytestmark = pytest.mark.torch


def _both(program):
    """Run ``program(lib)`` with graphtorch and torch; compare every returned array."""
    import torch

    ours, theirs = program(gt), program(torch)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)


def _x(lib, shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    return lib.tensor(rng.standard_normal(shape), dtype=lib.float64, requires_grad=True)


def test_column_scaled_in_place():
    def program(lib):
        x = _x(lib)
        out = x * 2
        out[:, 0] *= 0.5
        (out * out).sum().backward()
        return out.detach().numpy(), x.grad.numpy()

    _both(program)


def test_row_add_in_place():
    def program(lib):
        x = _x(lib)
        y = x.sin()  # sin keeps its input, not its output: writing into y is allowed
        y[0].add_(1)
        (y * x).sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    _both(program)


def test_recurrent_state_written_column_by_column():
    def program(lib):
        x = _x(lib, (2, 3))
        w = _x(lib, (2,), seed=1)
        h = lib.zeros(2, 4, dtype=lib.float64)
        for t in range(3):
            v = (x[:, t] * w).tanh()
            h[:, t + 1] += v + h[:, t]
        h.pow(2).sum().backward()
        return h.detach().numpy(), x.grad.numpy(), w.grad.numpy()

    _both(program)


def test_zero_through_a_transposed_view():
    def program(lib):
        x = _x(lib)
        y = x * x
        y.transpose(0, 1)[0].zero_()
        (y * 3).sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    _both(program)


def test_view_value_flows_into_base_and_view_history():
    def program(lib):
        x = _x(lib)
        w = _x(lib, (4,), seed=2)
        y = x * 1
        row = y[1]
        row.mul_(w)
        (row.sum() * 2 + y.sum()).backward()
        return x.grad.numpy(), w.grad.numpy()

    _both(program)


def test_sibling_view_sees_the_write():
    def program(lib):
        x = _x(lib)
        y = x * 1
        a, b = y[0], y[0:2]
        a.mul_(3)
        (b * b).sum().backward()  # b was created before the write: history re-derived
        return x.grad.numpy()

    _both(program)


def test_view_of_a_view_and_reshape():
    def program(lib):
        x = _x(lib, (2, 6))
        y = x.sin()
        y.view(2, 2, 3)[:, 1].copy_(x[:, :3] * 5)
        y.sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    _both(program)


def test_base_without_grad_receives_a_gradient_source():
    def program(lib):
        w = _x(lib, (3,))
        buf = lib.zeros(2, 3, dtype=lib.float64)
        buf[1].copy_(w * 2)
        assert buf.requires_grad
        (buf * buf).sum().backward()
        return buf.detach().numpy(), w.grad.numpy()

    _both(program)


def test_slice_assignment_after_slice_assignment():
    def program(lib):
        x = _x(lib, (2, 2))
        out = x * 1
        out[:, 0] = out[:, 0] * 0.5
        out[:, 1] = out[:, 1] * 2
        (out * out).sum().backward()
        return out.detach().numpy(), x.grad.numpy()

    _both(program)


def test_grad_fn_names():
    import torch

    for lib in (gt, torch):
        x = _x(lib)
        y = x * 1
        v = y[0]
        v.add_(1)
        assert type(y.grad_fn).__name__ == "CopySlices"
    assert "grad_fn=<CopySlices>" in repr(y)


def test_view_of_leaf_requiring_grad_raises_like_pytorch():
    import torch

    for lib, err in ((gt, AutogradError), (torch, RuntimeError)):
        x = _x(lib)
        with pytest.raises(err, match="a view of a leaf Variable that requires grad is being "
                                      "used in an in-place operation."):
            x[0].add_(1)
        with pytest.raises(err, match="a leaf Variable that requires grad"):
            x.add_(1)


def test_view_of_leaf_under_no_grad_is_allowed():
    x = gt.tensor([[1.0, 2.0]], requires_grad=True)
    with gt.no_grad():
        x[0].mul_(2)
    np.testing.assert_allclose(x.detach().numpy(), [[2.0, 4.0]])
    assert x.is_leaf and x.requires_grad


def test_higher_order_through_copy_slices():
    def program(lib):
        x = _x(lib, (3,))
        y = x * x
        y[1:].mul_(x[:2])
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        g.sum().backward()
        return g.detach().numpy(), x.grad.numpy()

    _both(program)


def _rnn_like(lib, x):
    out = x * 2
    out[:, 0] *= 0.5
    v = out.transpose(0, 1)[1]
    v.add_(1)
    return out * out


def test_traced_writes_through_views_match_eager_and_pytorch():
    import torch

    rng = np.random.default_rng(3)
    traced = gt.jit.trace(lambda x: _rnn_like(gt, x), (gt.randn(3, 4),))
    assert "op::view_scatter" in str(traced.graph)
    data = rng.standard_normal((3, 4))
    x = gt.tensor(data, dtype=gt.float32, requires_grad=True)
    traced(x).sum().backward()
    xt = torch.tensor(data, dtype=torch.float32, requires_grad=True)
    _rnn_like(torch, xt).sum().backward()
    np.testing.assert_allclose(traced(gt.tensor(data, dtype=gt.float32)).numpy(),
                               _rnn_like(torch, torch.tensor(data, dtype=torch.float32)).numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)
