"""Legacy constructors, normal overloads, random_() bounds and out= tuples, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt


@pytest.mark.torch
def test_tensor_constructor_forms_match_pytorch():
    import torch

    for args in ((2, 3), (4,), ([1, 2],), ([[1.5, 2.0], [3.0, 4.0]],), ()):
        ours, theirs = gt.Tensor(*args), torch.Tensor(*args)
        assert tuple(ours.shape) == tuple(theirs.shape), args
        assert str(theirs.dtype) == f"torch.{ours.dtype.name}", args
        if args and isinstance(args[0], list):
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert tuple(gt.Tensor(gt.Size([2, 5])).shape) == (2, 5)
    assert gt.Tensor(2, 3).is_leaf and not gt.Tensor(2, 3).requires_grad


@pytest.mark.torch
@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor",
                                  "BoolTensor", "ByteTensor", "HalfTensor", "ShortTensor",
                                  "CharTensor"])
def test_typed_constructors_match_pytorch(name):
    import torch

    ours, theirs = getattr(gt, name), getattr(torch, name)
    a, b = ours([1, 0, 1]), theirs([1, 0, 1])
    assert str(b.dtype) == f"torch.{a.dtype.name}"
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert tuple(ours(2, 3).shape) == tuple(theirs(2, 3).shape) == (2, 3)
    assert isinstance(a, ours) and isinstance(a, gt.Tensor)
    assert a.type() == f"graphtorch.{name}"


@pytest.mark.torch
def test_isinstance_checks_follow_the_dtype_like_pytorch():
    import torch

    for lib in (gt, torch):
        x = lib.zeros(2)
        assert isinstance(x, lib.FloatTensor)
        assert not isinstance(x, lib.LongTensor)
        assert isinstance(x.long(), lib.LongTensor)
        assert not isinstance([1.0], lib.FloatTensor)


def test_negative_size_raises():
    with pytest.raises(RuntimeError, match="negative dimension"):
        gt.Tensor(2, -1)


@pytest.mark.torch
def test_normal_overload_shapes_and_dtypes_match_pytorch():
    import torch

    def calls(lib):
        return [lib.normal(lib.zeros(2, 3), lib.ones(3)), lib.normal(lib.zeros(4), 2.0),
                lib.normal(0.5, lib.ones(2, 2, dtype=lib.float64)), lib.normal(1.0, 2.0, (3, 1)),
                lib.normal(1.0, 2.0, size=(2,), dtype=lib.float64)]

    for a, b in zip(calls(gt), calls(torch)):
        assert tuple(a.shape) == tuple(b.shape)
        assert str(b.dtype) == f"torch.{a.dtype.name}"


def test_normal_statistics_and_generator():
    g1, g2 = gt.Generator().manual_seed(5), gt.Generator().manual_seed(5)
    mean = gt.full((20000,), 3.0)
    a = gt.normal(mean, 2.0, generator=g1)
    b = gt.normal(mean, 2.0, generator=g2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert abs(a.mean().item() - 3.0) < 0.1 and abs(a.std().item() - 2.0) < 0.1


@pytest.mark.torch
def test_normal_gradients_are_zero_like_pytorch():
    import torch

    for lib in (gt, torch):
        mean = lib.tensor([0.5, -1.0], dtype=lib.float64, requires_grad=True)
        std = lib.tensor([2.0, 3.0], dtype=lib.float64, requires_grad=True)
        y = lib.normal(mean, std)
        assert y.requires_grad
        (y * 2).sum().backward()
        np.testing.assert_array_equal(mean.grad.numpy(), [0.0, 0.0])
        np.testing.assert_array_equal(std.grad.numpy(), [0.0, 0.0])


@pytest.mark.torch
def test_normal_negative_std_raises_like_pytorch():
    import torch

    for lib in (gt, torch):
        with pytest.raises(RuntimeError, match="normal expects std >= 0.0"):
            lib.normal(lib.zeros(2), -1.0)


_TOP = {"float32": 2 ** 24, "float64": 2 ** 53, "int64": 2 ** 63 - 1, "int32": 2 ** 31 - 1,
        "uint8": 255, "int16": 2 ** 15 - 1, "bool": 1}


@pytest.mark.torch
@pytest.mark.parametrize("dtype", sorted(_TOP))
def test_random_without_bounds_draws_pytorch_range(dtype):
    """Both libraries draw from [0, top] and come close to top (PyTorch's documented range)."""
    import torch

    top = _TOP[dtype]
    for lib in (gt, torch):
        t = lib.empty(4000, dtype=getattr(lib, dtype)).random_()
        values = t.numpy().astype(np.float64)
        assert values.min() >= 0 and values.max() <= top, lib.__name__
        assert values.max() > top / 2, lib.__name__


@pytest.mark.torch
def test_out_tuple_for_max_min_sort_topk_matches_pytorch():
    import torch

    data = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], dtype=np.float32)
    for name, args in (("max", (1,)), ("min", (0,)), ("sort", (1,)), ("topk", (2,))):
        res = []
        for lib in (gt, torch):
            x = lib.tensor(data)
            v, i = lib.empty(0), lib.empty(0, dtype=lib.int64)
            r = getattr(lib, name)(x, *args, out=(v, i))
            assert r[0] is v and r[1] is i
            res.append((v.numpy(), i.numpy()))
        np.testing.assert_array_equal(res[0][0], res[1][0], err_msg=name)
        np.testing.assert_array_equal(res[0][1], res[1][1], err_msg=name)


def test_out_tuple_wrong_arity_raises():
    with pytest.raises(TypeError, match="must be tuple of 2 Tensors"):
        gt.max(gt.ones(2, 2), 1, out=(gt.empty(0),))
