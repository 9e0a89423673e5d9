"""register_hook, retain_grad and custom autograd.Function."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt


def _leaf(values):
    return gt.tensor(values, dtype=gt.float64, requires_grad=True)


def test_leaf_hook_sees_and_replaces_gradient():
    x = _leaf([1.0, 2.0])
    seen = []

    def hook(g):
        seen.append(g.numpy().copy())
        return g * 10

    x.register_hook(hook)
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])


def test_non_leaf_hook_modifies_gradient_flowing_upstream():
    x = _leaf([1.0, 2.0])
    y = x * 2
    y.register_hook(lambda g: g * 0.5)
    (y * y).sum().backward()
    # dL/dy = 2y = 4x, halved by the hook, times dy/dx = 2
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.array([1.0, 2.0]))


def test_hook_returning_none_keeps_gradient_and_handle_removes():
    x = _leaf([1.0])
    calls = []
    handle = x.register_hook(lambda g: calls.append(1))
    (x * 2).sum().backward()
    handle.remove()
    (x * 2).sum().backward()
    assert calls == [1]
    np.testing.assert_allclose(x.grad.numpy(), [4.0])


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't "
                                           "require gradient"):
        gt.tensor([1.0]).register_hook(lambda g: g)


def test_retain_grad_on_non_leaf():
    x = _leaf([1.0, -2.0])
    y = x * 3
    y.retain_grad()
    z = (y * y).sum()
    z.backward()
    assert y.retains_grad
    np.testing.assert_allclose(y.grad.numpy(), 2 * 3 * np.array([1.0, -2.0]))
    np.testing.assert_allclose(x.grad.numpy(), 18 * np.array([1.0, -2.0]))


def test_non_leaf_grad_is_none_without_retain_grad():
    x = _leaf([1.0])
    y = x * 3
    y.sum().backward()
    assert y.grad is None and not y.retains_grad


class Cube(gt.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x * ctx.scale, None


def test_function_save_for_backward():
    x = _leaf([1.0, 2.0])
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * np.array([1.0, 4.0]))


def test_function_forward_runs_without_recording():
    recorded = []

    class Probe(gt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x * 2
            recorded.append(out.requires_grad)
            return out

        @staticmethod
        def backward(ctx, g):
            return g * 2

    Probe.apply(_leaf([1.0]))
    assert recorded == [False]


def test_function_needs_input_grad():
    seen = {}

    class Mul(gt.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            seen["needs"] = ctx.needs_input_grad
            a, b = ctx.saved_tensors
            return (g * b if ctx.needs_input_grad[0] else None,
                    g * a if ctx.needs_input_grad[1] else None)

    a = _leaf([2.0])
    b = gt.tensor([5.0], dtype=gt.float64)
    Mul.apply(a, b).sum().backward()
    assert seen["needs"] == (True, False)
    np.testing.assert_allclose(a.grad.numpy(), [5.0])


def test_function_mark_non_differentiable():
    class SortWithIndex(gt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            doubled = x * 2
            mask = (x > 0).double()
            ctx.mark_non_differentiable(mask)
            return doubled, mask

        @staticmethod
        def backward(ctx, g, g_mask):
            return g * 2

    x = _leaf([1.0, -1.0])
    doubled, mask = SortWithIndex.apply(x)
    assert doubled.requires_grad and not mask.requires_grad
    doubled.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_function_saved_tensors_freed_after_backward():
    x = _leaf([1.0])
    y = Cube.apply(x, 1.0).sum()
    y.backward()
    with pytest.raises(Exception, match="backward through the graph a second time"):
        y.backward()


def test_function_in_a_larger_graph_with_create_graph():
    x = _leaf([0.5, 1.5])

    class Square(gt.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t * t

        @staticmethod
        def backward(ctx, g):
            (t,) = ctx.saved_tensors
            return 2 * t * g

    y = Square.apply(x.exp()).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * np.array([0.5, 1.5])))


@pytest.mark.torch
def test_hooks_and_retain_grad_match_pytorch():
    import torch

    def run(lib):
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = x.tanh() * 3
        y.retain_grad()
        y.register_hook(lambda g: g * 2)
        z = (y * y).sum()
        z.backward()
        return x.grad.numpy(), y.grad.numpy()

    for a, b in zip(run(gt), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
