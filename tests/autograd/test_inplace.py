"""The version counter: in-place ops against saved tensors, leaves and non-leaves."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import AutogradError


def _leaf(values):
    return gt.tensor(values, dtype=gt.float64, requires_grad=True)


def test_inplace_counts_versions():
    x = gt.tensor([1.0, 2.0])
    assert x._version == 0
    x.add_(1)
    x.mul_(2)
    assert x._version == 2
    np.testing.assert_allclose(x.numpy(), [4.0, 6.0])


def test_views_share_the_version_counter():
    x = gt.zeros(6)
    v = x.view(2, 3)
    v.add_(1)
    assert x._version == 1 and v._version == 1
    np.testing.assert_allclose(x.numpy(), np.ones(6))


def test_modifying_a_tensor_saved_for_backward_raises():
    x = _leaf([1.0, 2.0])
    y = x * 1
    z = y * y  # saves y
    y.add_(1)
    with pytest.raises(AutogradError, match="one of the variables needed for gradient "
                                            "computation has been modified by an inplace "
                                            "operation"):
        z.sum().backward()


def test_modifying_a_saved_output_raises():
    x = _leaf([0.5])
    y = x.exp()  # exp saves its output
    y.mul_(2)
    with pytest.raises(AutogradError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_on_leaf_requiring_grad_raises():
    x = _leaf([1.0])
    with pytest.raises(AutogradError, match="a leaf Variable that requires grad is being used "
                                            "in an in-place operation"):
        x.mul_(2)


def test_inplace_on_leaf_under_no_grad_is_allowed():
    x = _leaf([1.0, 2.0])
    with gt.no_grad():
        x.mul_(3)
    assert x.requires_grad and x.is_leaf
    np.testing.assert_allclose(x.detach().numpy(), [3.0, 6.0])


def test_inplace_on_non_leaf_gives_correct_gradients():
    x = _leaf([1.0, 2.0])
    x2 = x * 1
    x2.mul_(3)
    assert x2.grad_fn.name() == "MulBackward0"
    (x2 * x2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 18 * np.array([1.0, 2.0]))


def test_chain_of_inplace_ops_on_non_leaf():
    x = _leaf([0.5, -1.0])
    y = x * 2
    y.add_(1)
    y.exp_()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * np.array([0.5, -1.0]) + 1))


def test_inplace_with_grad_operand_makes_result_require_grad():
    w = _leaf([2.0])
    buf = gt.tensor([3.0], dtype=gt.float64)
    buf.mul_(w)
    assert buf.requires_grad
    buf.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [3.0])


def test_inplace_result_cast_rules():
    x = gt.tensor([1, 2])
    with pytest.raises(Exception, match="can't be cast to the desired output type"):
        x.mul_(1.5)
    f = gt.tensor([1.0, 2.0])
    f.add_(gt.tensor([1, 1]))
    np.testing.assert_allclose(f.numpy(), [2.0, 3.0])


@pytest.mark.torch
def test_inplace_non_leaf_gradients_match_pytorch():
    import torch

    def run(lib):
        x = lib.tensor([0.3, -0.7, 1.1], dtype=lib.float64, requires_grad=True)
        y = x * 1
        y.mul_(3)
        y.add_(x)
        y.tanh_()
        (y * x).sum().backward()
        return x.grad.numpy()

    np.testing.assert_allclose(run(gt), run(torch), rtol=1e-12)


@pytest.mark.torch
def test_saved_tensor_error_matches_pytorch_condition():
    import torch

    for lib, err in ((gt, AutogradError), (torch, RuntimeError)):
        x = lib.tensor([1.0], requires_grad=True)
        y = x.sigmoid()
        y.add_(1)
        with pytest.raises(err, match="modified by an inplace operation"):
            y.backward()


def test_modifying_pow_output_raises_when_exponent_needs_grad():
    base = _leaf([2.0, 3.0])
    expo = _leaf([1.5, 0.5])
    y = base ** expo  # the exponent's gradient reads y
    y.add_(1)
    with pytest.raises(AutogradError, match="modified by an inplace operation"):
        y.sum().backward()
