"""The C 2-D convolution kernels of the compiled plans (runtime/c_conv.py) against the eager
kernels, on hypothesis-generated layer geometries, and inside a compiled training step."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch.ops.registry import REGISTRY
from graphtorch.runtime import c_backend, c_conv
from graphtorch.runtime.plan import tolerance
from graphtorch.runtime.plan_kernels import KERNELS

needs_cc = pytest.mark.skipif(not c_backend.available(), reason="no C compiler")
CONV2D = REGISTRY["conv2d"].kernel
WEIGHT_GRAD = REGISTRY["_conv_weight_grad"].kernel


def _close(got, want, dtype) -> None:
    rtol, atol = tolerance(dtype)
    scale = max(1.0, float(np.abs(want).max()))  # sums of up to C * KH * KW * N * HO * WO terms
    np.testing.assert_allclose(got, want, rtol=rtol * 10, atol=atol * 10 * scale)


# output channels: multiples of the vector lanes (16 float32, 8 float64) take the kernels with
# channels across the lanes, others the flat-shift kernels
GEOMETRY = st.tuples(st.integers(1, 3), st.integers(1, 4), st.sampled_from([1, 3, 6, 8, 16, 32]),
                     st.integers(1, 5), st.integers(1, 5), st.integers(0, 2),
                     st.integers(0, 2), st.sampled_from([np.float32, np.float64]),
                     st.booleans())


def _case(geometry):
    n, c, o, kh, kw, ph, pw, dtype, bias = geometry
    rng = np.random.default_rng(n * 100 + c * 10 + o)
    h, w = kh + rng.integers(0, 9), kw + rng.integers(0, 9)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c, kh, kw)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    return x, wt, b, (ph, pw)


@needs_cc
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GEOMETRY)
def test_forward_equals_the_eager_kernel(geometry):
    x, w, b, pad = _case(geometry)
    want = CONV2D(np, x, w, b, [1, 1], list(pad), [1, 1], 1)
    got = c_conv.conv2d(np, x, w, b, [1, 1], list(pad), [1, 1], 1)
    assert got.shape == want.shape and got.dtype == want.dtype
    _close(got, want, x.dtype)


@needs_cc
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GEOMETRY)
def test_weight_gradient_equals_the_eager_kernel(geometry):
    x, w, _, (ph, pw) = _case(geometry)
    out = CONV2D(np, x, w, None, [1, 1], [ph, pw], [1, 1], 1)
    g = np.random.default_rng(1).standard_normal(out.shape).astype(x.dtype)
    args = (list(w.shape[2:]), [1, 1], [ph, ph, pw, pw], [1, 1], 1)
    want = WEIGHT_GRAD(np, x, g, *args)
    got = c_conv.conv_weight_grad(np, x, g, *args)
    assert got.shape == want.shape and got.dtype == want.dtype
    _close(got, want, x.dtype)


@needs_cc
def test_non_finite_inputs_keep_the_eager_semantics():
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    x[0, 0, 0, 5] = np.inf  # read by the dropped columns of the flat layout
    g = np.ones((2, 2, 4, 4), np.float32)
    args = ([3, 3], [1, 1], [0, 0, 0, 0], [1, 1], 1)
    w = np.ones((2, 1, 3, 3), np.float32)
    pairs = [(c_conv.conv_weight_grad(np, x, g, *args), WEIGHT_GRAD(np, x, g, *args)),
             (c_conv.conv2d(np, x, w, None, [1, 1], [0, 0], [1, 1], 1),
              CONV2D(np, x, w, None, [1, 1], [0, 0], [1, 1], 1))]
    for got, want in pairs:
        np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        _close(got, want, np.float32)


def test_other_geometries_take_the_eager_kernel():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9, 9)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    for stride, dilation, groups in (([2, 2], [1, 1], 1), ([1, 1], [2, 2], 1),
                                     ([1, 1], [1, 1], 2)):
        wg = w if groups == 2 else np.concatenate([w, w], axis=1)
        np.testing.assert_array_equal(
            c_conv.conv2d(np, x, wg, None, stride, [1, 1], dilation, groups),
            CONV2D(np, x, wg, None, stride, [1, 1], dilation, groups))


def test_registered_as_plan_kernels():
    assert KERNELS[CONV2D] is c_conv.conv2d
    assert KERNELS[WEIGHT_GRAD] is c_conv.conv_weight_grad


@needs_cc
def test_compiled_training_step_with_c_convolutions_equals_eager():
    gt.manual_seed(0)
    model = gt.nn.Sequential(gt.nn.Conv2d(2, 4, 3, padding=1), gt.nn.ReLU(),
                             gt.nn.Conv2d(4, 8, 3), gt.nn.Flatten(), gt.nn.Linear(8 * 6 * 6, 3))
    scripted = gt.jit.script(model)
    x, y = gt.randn(5, 2, 8, 8), gt.randint(0, 3, (5,))
    grads = []
    for m in (model, scripted, scripted):
        m.zero_grad()
        gt.nn.functional.cross_entropy(m(x), y).backward()
        grads.append([p.grad.numpy().copy() for p in m.parameters()])
    for got, want in zip(grads[2], grads[0]):
        _close(got, want, np.float32)


@needs_cc
def test_scratch_buffers_of_one_gradient_shape_and_other_layouts_stay_apart():
    rng = np.random.default_rng(3)
    g = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    # both gradients are (1, 2, 4, 4) in a 32-position plane; the padded widths differ (6, 7)
    cases = [(rng.standard_normal((1, 1, 6, 6)).astype(np.float32), [3, 3]),
             (rng.standard_normal((1, 1, 6, 7)).astype(np.float32), [3, 4])]
    for _ in range(2):
        for x, kernel in cases:
            args = (kernel, [1, 1], [0, 0, 0, 0], [1, 1], 1)
            _close(c_conv.conv_weight_grad(np, x, g, *args), WEIGHT_GRAD(np, x, g, *args),
                   np.float32)
