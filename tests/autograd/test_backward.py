"""Tensor.backward and autograd.grad: gradient args, retain_graph, accumulation, grad modes."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import AutogradError


def _leaf(values, dtype=gt.float64):
    return gt.tensor(values, dtype=dtype, requires_grad=True)


def test_scalar_backward_matches_analytic():
    x = _leaf([1.0, -2.0, 3.0])
    (x * x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.array([1.0, 4.0, 9.0]))


def test_backward_with_gradient_argument():
    x = _leaf([1.0, 2.0, 3.0])
    y = x * 2
    y.backward(gt.tensor([1.0, 0.5, -1.0], dtype=gt.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 1.0, -2.0])


def test_non_scalar_backward_without_gradient_raises():
    x = _leaf([1.0, 2.0])
    with pytest.raises(AutogradError, match="grad can be implicitly created only for scalar"):
        (x * 2).backward()


def test_gradient_shape_mismatch_raises():
    x = _leaf([1.0, 2.0])
    with pytest.raises(AutogradError, match="Mismatch in shape"):
        (x * 2).backward(gt.ones(3, dtype=gt.float64))


def test_backward_twice_without_retain_graph_raises():
    x = _leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(AutogradError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward_and_accumulates():
    x = _leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * np.array([1.0, 2.0]))


def test_gradients_accumulate_across_calls_until_zeroed():
    x = _leaf([3.0])
    (x * 2).sum().backward()
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [7.0])
    x.grad = None
    (x * 4).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0])


def test_tensor_used_twice_gets_summed_gradient():
    x = _leaf([1.5, -0.5])
    y = x * x + x.exp()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy() + np.exp([1.5, -0.5]))


def test_broadcast_gradient_is_reduced():
    a = _leaf(np.ones((2, 3)))
    b = _leaf([1.0, 2.0, 3.0])
    (a * b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.tile([1.0, 2.0, 3.0], (2, 1)))
    np.testing.assert_allclose(b.grad.numpy(), [2.0, 2.0, 2.0])


def test_grad_returns_without_accumulating():
    x = _leaf([1.0, 2.0])
    (gx,) = gt.autograd.grad((x * x).sum(), x)
    np.testing.assert_allclose(gx.numpy(), [2.0, 4.0])
    assert x.grad is None


def test_grad_with_grad_outputs():
    x = _leaf([1.0, 2.0, 3.0])
    y = x * x
    (gx,) = gt.autograd.grad(y, x, grad_outputs=gt.tensor([1.0, 0.0, 2.0], dtype=gt.float64))
    np.testing.assert_allclose(gx.numpy(), [2.0, 0.0, 12.0])


def test_grad_allow_unused():
    x, z = _leaf([1.0]), _leaf([2.0])
    y = (x * 3).sum()
    with pytest.raises(AutogradError, match="appears to not have been used in the graph"):
        gt.autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = gt.autograd.grad(y, [x, z], allow_unused=True)
    np.testing.assert_allclose(gx.numpy(), [3.0])
    assert gz is None


def test_grad_of_input_not_requiring_grad_raises():
    x = _leaf([1.0])
    w = gt.tensor([2.0], dtype=gt.float64)
    with pytest.raises(AutogradError, match="does not require grad"):
        gt.autograd.grad((x * w).sum(), w)


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(AutogradError, match="does not require grad and does not have a grad_fn"):
        gt.tensor([1.0]).sum().backward()


def test_backward_inputs_argument_limits_accumulation():
    x, w = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    (x * w).sum().backward(inputs=[w])
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 2.0])
    assert x.grad is None


# --- grad modes -------------------------------------------------------------------------------
def test_no_grad_context_records_nothing():
    x = _leaf([1.0])
    with gt.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert gt.is_grad_enabled()


def test_no_grad_decorator_and_enable_grad_inside():
    x = _leaf([1.0])

    @gt.no_grad()
    def f():
        inner = x * 2
        with gt.enable_grad():
            enabled = x * 3
        return inner, enabled

    inner, enabled = f()
    assert not inner.requires_grad
    assert enabled.requires_grad and enabled.grad_fn is not None
    assert gt.is_grad_enabled()


def test_set_grad_enabled_function_context_and_decorator():
    x = _leaf([1.0])
    with gt.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    gt.set_grad_enabled(False)
    try:
        assert not gt.is_grad_enabled()
    finally:
        gt.set_grad_enabled(True)

    @gt.set_grad_enabled(False)
    def f():
        return x * 2

    assert not f().requires_grad
    assert gt.is_grad_enabled()


def test_enable_grad_decorator_inside_no_grad():
    x = _leaf([1.0])

    @gt.enable_grad()
    def f():
        return x * 2

    with gt.no_grad():
        assert f().requires_grad


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with gt.no_grad():
            raise ValueError("boom")
    assert gt.is_grad_enabled()


# --- detach / requires_grad_ ---------------------------------------------------------------------
def test_detach_shares_memory_and_stops_gradient():
    x = _leaf([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    y = (x * d).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 2.0])  # d is a constant
    d.add_(1.0)
    np.testing.assert_allclose(x.detach().numpy(), [2.0, 3.0])


def test_requires_grad_on_integer_tensor_raises():
    with pytest.raises(Exception, match="floating point"):
        gt.tensor([1, 2]).requires_grad_()


def test_requires_grad_false_on_non_leaf_raises():
    x = _leaf([1.0])
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf"):
        (x * 2).requires_grad_(False)


def test_requires_grad_switches_recording():
    x = gt.tensor([1.0, 2.0], dtype=gt.float64)
    assert not (x * 2).requires_grad
    x.requires_grad_()
    assert x.is_leaf and (x * 2).requires_grad
    x.requires_grad = False
    assert not (x * 2).requires_grad


def test_detach_inplace():
    x = _leaf([1.0])
    y = x * 2
    y.detach_()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def test_integer_outputs_do_not_require_grad():
    x = _leaf([1.5, -2.5])
    assert not (x > 0).requires_grad
    assert (x * 1).requires_grad


def test_grad_fn_names_and_next_functions():
    x = _leaf([1.0])
    y = (x * 2).exp()
    assert y.grad_fn.name() == "ExpBackward0"
    (mul_node, nr), = y.grad_fn.next_functions
    assert mul_node.name() == "MulBackward0" and nr == 0
    assert mul_node.next_functions[0][0].name() == "AccumulateGrad"
