"""Shape ops beyond the registry matrix: Python signatures, views, dtypes, error messages."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

A = np.arange(24, dtype=np.float64).reshape(2, 3, 4)


@pytest.mark.torch
@pytest.mark.parametrize("call", [
    lambda m, x: x.flatten(),
    lambda m, x: x.flatten(1),
    lambda m, x: m.flatten(x, 0, 1),
    lambda m, x: x.unflatten(2, (2, 2)),
    lambda m, x: x.repeat(2, 1, 1, 2),
    lambda m, x: x.tile((2,)),
    lambda m, x: m.cat([x, x * 2], -1),
    lambda m, x: m.cat((x, x), 1),
    lambda m, x: m.concat([x, m.zeros(0)]),
    lambda m, x: m.stack([x, x + 1], 2),
    lambda m, x: x.narrow(2, 1, 2),
    lambda m, x: x.flip(0, 2),
    lambda m, x: x.roll(1),
    lambda m, x: x.roll((1, -1), (0, 2)),
    lambda m, x: x.movedim(0, -1),
    lambda m, x: m.moveaxis(x, (0, 1), (2, 0)),
    lambda m, x: x.tril(),
    lambda m, x: x.triu(1),
])
def test_shape_ops_match_pytorch(call):
    import torch

    ours = call(gt, gt.tensor(A))
    theirs = call(torch, torch.from_numpy(A.copy()))
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("call", [
    lambda m, x: x.split(2, 2),
    lambda m, x: x.split([1, 2], 1),
    lambda m, x: m.split(x, [3, 1], -1),
    lambda m, x: x.chunk(3, 2),
    lambda m, x: m.chunk(x, 2, 1),
    lambda m, x: x.unbind(1),
    lambda m, x: m.unbind(x),
])
def test_multi_output_shape_ops_match_pytorch(call):
    import torch

    ours = call(gt, gt.tensor(A))
    theirs = call(torch, torch.from_numpy(A.copy()))
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.numpy(), t.numpy())


def test_cat_promotes_dtypes_like_pytorch():
    out = gt.cat([gt.tensor([1, 2]), gt.tensor([0.5], dtype=gt.float32)])
    assert out.dtype is gt.float32
    out = gt.stack([gt.tensor([True]), gt.tensor([3], dtype=gt.int8)])
    assert out.dtype is gt.int8


def test_cat_and_stack_gradients_flow_to_every_input():
    a = gt.tensor([[1.0, 2.0]], requires_grad=True)
    b = gt.tensor([[3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    (gt.cat([a, b]) * gt.tensor([[1.0], [2.0], [3.0]])).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[1, 1]])
    np.testing.assert_array_equal(b.grad.numpy(), [[2, 2], [3, 3]])
    c = gt.tensor([1.0, 2.0], requires_grad=True)
    (gt.stack([c, c * 3], 1) ** 2).sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), 2 * c.detach().numpy() * 10)


def test_split_and_unbind_gradients():
    x = gt.tensor(A, requires_grad=True)
    first, second = x.split([1, 3], 2)
    (first.sum() * 2 + second.sum()).backward()
    expected = np.ones_like(A)
    expected[..., 0] = 2
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    x.grad = None
    rows = x.unbind(1)
    rows[2].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[:, 2], np.ones((2, 4)))
    assert x.grad.numpy()[:, :2].sum() == 0


def test_views_alias_their_input():
    x = gt.tensor(A)
    flat = x.flatten()
    part = x.narrow(1, 1, 1)
    piece = x.split(2, 2)[1]
    flat[0] = -1.0
    part.fill_(7.0)
    piece.zero_()
    assert x[0, 0, 0].item() == -1.0
    assert (x[:, 1, :2] == 7.0).all().item()
    assert (x[..., 2:] == 0).all().item()
    assert flat._base is x and part._version == x._version


def test_copies_do_not_alias():
    x = gt.tensor(A)
    for y in (x.flip(0), x.roll(1), x.repeat(1, 1, 1), x.tril(), gt.cat([x])):
        assert not np.shares_memory(y.numpy(), x.numpy())


@pytest.mark.parametrize("call,exc,msg", [
    (lambda x: gt.cat([x, gt.zeros(2, 4, 4)]), RuntimeError,
     r"Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for "
     r"tensor number 1 in the list."),
    (lambda x: gt.cat([x, gt.zeros(2, 3)]), RuntimeError,
     "Tensors must have same number of dimensions: got 3 and 2"),
    (lambda x: gt.cat([]), RuntimeError, r"torch.cat\(\): expected a non-empty list of Tensors"),
    (lambda x: gt.cat([x], 3), IndexError,
     r"Dimension out of range \(expected to be in range of \[-3, 2\], but got 3\)"),
    (lambda x: gt.stack([x, x[0]]), RuntimeError,
     r"stack expects each tensor to be equal size, but got \[2, 3, 4\] at entry 0 and \[3, 4\] "
     r"at entry 1"),
    (lambda x: x.split([1, 1], 1), RuntimeError,
     r"split_with_sizes expects split_sizes to sum exactly to 3 \(input tensor's size at "
     r"dimension 1\), but got split_sizes=\[1, 1\]"),
    (lambda x: x.split(0), RuntimeError,
     "split_size can only be 0 if dimension size is 0, but got dimension size of 2"),
    (lambda x: x.chunk(0), RuntimeError, "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda x: x.narrow(2, 3, 2), RuntimeError,
     r"start \(3\) \+ length \(2\) exceeds dimension size \(4\)."),
    (lambda x: x.flatten(2, 1), RuntimeError,
     "flatten\\(\\) has invalid args: start_dim cannot come after end_dim"),
    (lambda x: x.unflatten(1, (2, 2)), RuntimeError,
     r"unflatten: Provided sizes \[2, 2\] don't multiply up to the size of dim 1 \(3\) in the "
     r"input tensor"),
    (lambda x: x.repeat(2, 2), RuntimeError,
     "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
     "tensor"),
    (lambda x: x.flip(0, 0), RuntimeError, "appears multiple times in the list of dims"),
    (lambda x: x.roll((1, 2), (0,)), RuntimeError,
     "shifts and dimensions must align. shifts: 2, dims:1"),
    (lambda x: x[0, 0].tril(), RuntimeError, "tril: input tensor must have at least 2 dimensions"),
    (lambda x: x.movedim([0], [1, 0]), RuntimeError, "movedim: Invalid source or destination"),
    (lambda x: x.unbind(3), IndexError, "Dimension out of range"),
])
def test_shape_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call(gt.tensor(A))


@pytest.mark.torch
@pytest.mark.parametrize("call", [
    lambda m, x: m.cat([x, m.zeros(2, 4, 4)]),
    lambda m, x: m.stack([x, x[0]]),
    lambda m, x: x.split([1, 1], 1),
    lambda m, x: x.narrow(2, 3, 2),
    lambda m, x: x.unflatten(1, (2, 2)),
])
def test_shape_error_types_match_pytorch(call):
    import torch

    with pytest.raises(RuntimeError) as ours:
        call(gt, gt.tensor(A))
    with pytest.raises(RuntimeError) as theirs:
        call(torch, torch.from_numpy(A.copy()))
    assert str(ours.value).split("\n")[0] == str(theirs.value).split("\n")[0]


def test_split_and_unbind_pieces_share_the_version_counter():
    x = gt.zeros(4, 3)
    top, bottom = x.split(2)
    rows = x.unbind(0)
    bottom.add_(1.0)
    assert top._version == x._version == rows[3]._version == 1
    assert rows[3]._base is x and (rows[3] == 1).all().item()


def test_diagonal_is_a_writable_view():
    x = gt.zeros(3, 4)
    d = x.diagonal(1)
    d.fill_(2.0)
    expected = np.zeros((3, 4))
    expected[[0, 1, 2], [1, 2, 3]] = 2.0
    np.testing.assert_array_equal(x.numpy(), expected)
    assert d._base is x and d._version == x._version
    with pytest.raises(RuntimeError, match="diagonal dimensions cannot be identical 1, -1"):
        x.diagonal(0, 1, -1)
