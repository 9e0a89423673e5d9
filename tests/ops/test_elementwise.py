"""Elementwise ops beyond the registry matrix: PyTorch's errors, in-place forms, special values."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graphtorch as gt

pytestmark = pytest.mark.torch


def _both(fn_name, *arrays, **kwargs):
    import torch

    ours = getattr(gt, fn_name)(*[gt.tensor(a) if isinstance(a, np.ndarray) else a
                                  for a in arrays], **kwargs)
    theirs = getattr(torch, fn_name)(*[torch.tensor(a) if isinstance(a, np.ndarray) else a
                                       for a in arrays], **kwargs)
    return ours, theirs


def _same(ours, theirs):
    assert str(theirs.dtype) == f"torch.{ours.dtype.name}"
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)


def _same_error(call):
    import torch

    with pytest.raises(Exception) as ours:
        call(gt)
    with pytest.raises(Exception) as theirs:
        call(torch)
    assert str(ours.value) == str(theirs.value)


def test_integer_pow_with_negative_tensor_exponents():
    base = np.array([0, 1, -1, 2, -2, 3, -1, 5])
    exp = np.array([-1, -3, -3, -1, -2, 0, -2, 2])
    _same(*_both("pow", base, exp))


def test_integer_pow_with_negative_scalar_raises_like_pytorch():
    _same_error(lambda m: m.pow(m.tensor([2, 3]), -1))


def test_frac_on_integers_raises_like_pytorch():
    _same_error(lambda m: m.frac(m.tensor([1, 2])))


def test_add_alpha_rules_match_pytorch():
    _same(*_both("add", np.array([1, 2]), np.array([3, 4]), alpha=3))
    _same(*_both("sub", np.array([1.5, 2.0]), np.array([3, 4]), alpha=0.5))
    _same(*_both("add", np.array([True, False]), np.array([True, True])))
    _same_error(lambda m: m.add(m.tensor([1, 2]), m.tensor([1, 2]), alpha=2.5))
    _same_error(lambda m: m.sub(m.tensor([True]), m.tensor([True])))


@pytest.mark.parametrize("name", ["maximum", "minimum", "atan2", "logical_and", "logical_xor"])
def test_zero_dim_tensor_operand_promotes_like_pytorch(name):
    import torch

    a = np.array([[1.5, -2.0], [0.25, 3.0]], dtype=np.float32)
    ours = getattr(gt, name)(gt.tensor(a), gt.tensor(2.0, dtype=gt.float64))
    theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(2.0, dtype=torch.float64))
    _same(ours, theirs)


@pytest.mark.parametrize("fn", ["exp", "log", "sqrt", "sigmoid", "tanh", "relu", "erf",
                                "reciprocal", "abs", "floor", "sign"])
def test_special_values_match_pytorch(fn):
    vals = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-30, 88.0, -100.0],
                    dtype=np.float32)
    ours, theirs = _both(fn, vals)
    assert str(theirs.dtype) == f"torch.{ours.dtype.name}"
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-6, atol=1e-30)


def test_erf_float64_matches_math_erf():
    xs = np.linspace(-6, 6, 101)
    got = gt.erf(gt.tensor(xs, dtype=gt.float64)).numpy()
    np.testing.assert_allclose(got, [math.erf(x) for x in xs], rtol=0, atol=1e-15)
    assert gt.erf(gt.tensor(0.5, dtype=gt.float64)).item() == math.erf(0.5)


@pytest.mark.parametrize("op,args", [("add_", (2.0,)), ("mul_", (0.5,)), ("sub_", (1,)),
                                     ("div_", (4.0,)), ("pow_", (2,)), ("clamp_", (-0.5, 0.5)),
                                     ("exp_", ()), ("tanh_", ()), ("neg_", ())])
def test_inplace_methods_match_pytorch(op, args):
    import torch

    a = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.25]], dtype=np.float32)
    ours, theirs = gt.tensor(a), torch.tensor(a)
    r = getattr(ours, op)(*args)
    getattr(theirs, op)(*args)
    assert r is ours and ours._version == 1
    _same(ours, theirs)


def test_inplace_broadcast_shape_error():
    x = gt.zeros(3)
    with pytest.raises(RuntimeError, match="output with shape \\[3\\] doesn't match the "
                                           "broadcast shape \\[2, 3\\]"):
        x.add_(gt.zeros(2, 3))


def test_numpy_scalars_promote_like_python_numbers():
    x = gt.ones(2, dtype=gt.float32)
    assert (x * np.float64(2.0)).dtype is gt.float32
    assert (gt.ones(2, dtype=gt.int32) + np.int64(3)).dtype is gt.int32


@pytest.mark.parametrize("op", ["floor_divide", "remainder", "fmod"])
def test_division_family_with_negative_operands(op):
    a = np.array([7, -7, 7, -7, 5, -3])
    b = np.array([2, 2, -2, -2, 3, 4])
    _same(*_both(op, a, b))
    _same(*_both(op, a.astype(np.float32), b.astype(np.float32)))


def test_where_method_matches_pytorch():
    import torch

    x = np.array([[1.0, -2.0], [3.0, -4.0]], dtype=np.float32)
    ours = gt.tensor(x).where(gt.tensor(x) > 0, gt.tensor(0.5, dtype=gt.float64))
    theirs = torch.tensor(x).where(torch.tensor(x) > 0, torch.tensor(0.5, dtype=torch.float64))
    _same(ours, theirs)
