"""composed_math.py (aliases, elementwise math, NaN reductions, stacking, small products, rot90)
and Tensor.__deepcopy__, each against PyTorch on the same values."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import graphtorch as gt

A = np.array([[1.5, -2.0, 0.0], [-0.0, 4.25, -3.5]])
B = np.array([[0.5, 2.0, 3.0], [1.0, -1.0, 2.5]])
P = np.array([[0.1, 0.5, 0.9], [0.25, 0.75, 0.999]])
V = np.array([1.0, -2.0, 3.0])
W = np.array([0.5, 4.0])
N = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 2.0]])
INF = np.array([np.inf, -np.inf, 0.0, np.nan, -1.0])
INTS = np.array([[3, -1, 0], [7, 2, -5]])


def _both(data):
    import torch

    return gt.tensor(data), torch.tensor(data)


def _check(ours, theirs):
    import torch

    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _check(o, t)
        return
    assert isinstance(theirs, torch.Tensor)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-12,
                               equal_nan=True)


UNARY = [
    ("absolute", A), ("negative", A), ("positive", A), ("fix", A), ("sgn", A), ("signbit", A),
    ("signbit", INTS), ("deg2rad", A), ("deg2rad", INTS), ("rad2deg", A), ("exp2", A),
    ("exp2", INTS),
    ("logit", P), ("isposinf", INF), ("isneginf", INF), ("isreal", A), ("fliplr", A),
    ("flipud", A), ("ravel", A), ("msort", A), ("nansum", N), ("nanmean", N), ("rot90", A),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,data", UNARY, ids=[f"{n}-{i}" for i, (n, _) in enumerate(UNARY)])
def test_unary_function_and_method_match_pytorch(name, data):
    import torch

    x, tx = _both(data)
    _check(getattr(gt, name)(x), getattr(torch, name)(tx))
    _check(getattr(x, name)(), getattr(tx, name)())


@pytest.mark.torch
@pytest.mark.parametrize("call", [
    lambda m, a, b: m.true_divide(a, b),
    lambda m, a, b: m.hypot(a, b),
    lambda m, a, b: m.xlogy(a, b.abs()),
    lambda m, a, b: m.xlogy(a * 0, b * m.nan),
    lambda m, a, b: m.float_power(a, b),
    lambda m, a, b: m.float_power(a.abs(), 2),
    lambda m, a, b: m.heaviside(a, b),
    lambda m, a, b: m.logit(a.abs() / 5, eps=0.1),
    lambda m, a, b: m.dist(a, b),
    lambda m, a, b: m.dist(a, b, 1),
    lambda m, a, b: m.inner(a, b),
    lambda m, a, b: m.kron(a, b),
    lambda m, a, b: m.kron(a[0], b),
    lambda m, a, b: m.rot90(a, 2),
    lambda m, a, b: m.rot90(a, -1, [1, 0]),
    lambda m, a, b: m.rot90(a.reshape(1, 2, 3), 3, [1, 2]),
    lambda m, a, b: m.nansum(a, 1),
    lambda m, a, b: m.nanmean(a, 0, True),
    lambda m, a, b: m.aminmax(a),
    lambda m, a, b: m.aminmax(a, dim=1, keepdim=True),
    lambda m, a, b: m.addr(a, a[0, :2], b[0], beta=0.5, alpha=2),
    lambda m, a, b: m.addmv(a[0], b.t(), a[:, 0], alpha=3),
    lambda m, a, b: m.mv(a, b[0]),
    lambda m, a, b: m.hstack([a, b]),
    lambda m, a, b: m.hstack((a[0], b[1])),
    lambda m, a, b: m.vstack([a, b[0]]),
    lambda m, a, b: m.row_stack([a[0], b[0]]),
    lambda m, a, b: m.dstack([a, b]),
    lambda m, a, b: m.column_stack([a[0], b[0], a[1]]),
    lambda m, a, b: m.atleast_1d(a[0, 0]),
    lambda m, a, b: m.atleast_2d(a[0]),
    lambda m, a, b: m.atleast_3d(a),
    lambda m, a, b: m.atleast_3d(a[0], a[0, 0]),
    lambda m, a, b: m.broadcast_tensors(a, b[0], a[:, :1]),
    lambda m, a, b: m.swapaxes(a, 0, 1),
])
def test_binary_and_shape_functions_match_pytorch(call):
    import torch

    (a, ta), (b, tb) = _both(A), _both(B)
    _check(call(gt, a, b), call(torch, ta, tb))


@pytest.mark.torch
def test_broadcast_shapes_and_in_place_forms_match_pytorch():
    import torch

    assert tuple(gt.broadcast_shapes((2, 1), (3,), 1)) == tuple(
        torch.broadcast_shapes((2, 1), (3,), 1))
    for name, args in (("tril_", ()), ("triu_", (1,)), ("true_divide_", (2.0,)),
                       ("absolute_", ()), ("negative_", ()), ("fix_", ())):
        x, tx = _both(A)
        assert getattr(x, name)(*args) is x
        getattr(tx, name)(*args)
        _check(x, tx)


def test_gradients_flow_through_composites():
    x = gt.tensor([3.0, 4.0], requires_grad=True)
    y = gt.tensor([4.0, 3.0], requires_grad=True)
    gt.hypot(x, y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.6, 0.8])
    np.testing.assert_allclose(y.grad.numpy(), [0.8, 0.6])


def test_errors_are_precise():
    with pytest.raises(gt.errors.ShapeError, match="fliplr: input must be >= 2-d"):
        gt.fliplr(gt.ones(3))
    with pytest.raises(gt.errors.ShapeError, match="rotation dims to be different"):
        gt.rot90(gt.ones(2, 2), 1, (1, 1))
    with pytest.raises(gt.errors.ShapeError, match="last dimension must match"):
        gt.inner(gt.ones(2, 3), gt.ones(2))
    with pytest.raises(TypeError, match="different dtypes"):
        gt.heaviside(gt.ones(2), gt.ones(2, dtype=gt.float64))
    with pytest.raises(TypeError, match="floating point dtype"):
        gt.nanmean(gt.ones(2, dtype=gt.int64))


def test_deepcopy_of_a_leaf_is_independent_and_keeps_requires_grad():
    x = gt.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    pair = copy.deepcopy([x, x])
    assert pair[0] is pair[1] and pair[0] is not x
    assert pair[0].requires_grad and pair[0].grad_fn is None
    np.testing.assert_array_equal(pair[0].grad.numpy(), [3.0, 3.0])
    with gt.no_grad():
        pair[0].add_(1)
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])


def test_deepcopy_of_a_computed_tensor_is_refused():
    x = gt.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)


@pytest.mark.torch
@pytest.mark.parametrize("dims", [2, [[1, 0], [0, 1]], ([1, 0], [0, 1]), "t2", "t22"])
def test_tensordot_dims_forms_match_pytorch(dims):
    import torch

    a4, b4 = np.arange(120.0).reshape(2, 3, 4, 5), np.arange(840.0).reshape(4, 5, 6, 7)
    a3, b3 = np.arange(60.0).reshape(3, 4, 5), np.arange(24.0).reshape(4, 3, 2)
    a, b = (a4, b4) if dims in (2, "t2") else (a3, b3)
    if dims == "t2":
        ours, theirs = gt.tensor([2]), torch.tensor([2])
    elif dims == "t22":
        ours, theirs = gt.tensor([[1, 0], [0, 1]]), torch.tensor([[1, 0], [0, 1]])
    else:
        ours = theirs = dims
    _check(gt.tensordot(gt.tensor(a), gt.tensor(b), dims=ours),
           torch.tensordot(torch.tensor(a), torch.tensor(b), dims=theirs))


def test_tensordot_scripts_with_int_and_list_dims_and_checks_dims():
    a, b = gt.arange(60.0).reshape(3, 4, 5), gt.arange(24.0).reshape(4, 3, 2)

    def by_list(x, y, dims: list[list[int]]):
        return gt.tensordot(x, y, dims=dims)

    def by_int(x, y, dims: int):
        return gt.tensordot(x, y, dims=dims)

    np.testing.assert_array_equal(gt.jit.script(by_list)(a, b, [[1, 0], [0, 1]]).numpy(),
                                  by_list(a, b, [[1, 0], [0, 1]]).numpy())
    c = gt.arange(20.0).reshape(4, 5)
    np.testing.assert_array_equal(gt.jit.script(by_int)(a, c, 2).numpy(), by_int(a, c, 2).numpy())
    with pytest.raises(RuntimeError, match="tensordot expects dims >= 0, but got dims=-1"):
        gt.tensordot(a, b, -1)
    with pytest.raises(RuntimeError, match="dims < ndim_a or ndim_b, but got dims=5"):
        gt.tensordot(a, b, 5)


@pytest.mark.torch
@pytest.mark.parametrize("call", [
    lambda m, x: x.repeat_interleave(2),
    lambda m, x: x.repeat_interleave(3, dim=1),
    lambda m, x: x.repeat_interleave(m.tensor([1, 0, 2]), dim=0),
    lambda m, x: x.repeat_interleave(m.tensor([2]), dim=-1),
    lambda m, x: x.repeat_interleave(m.tensor(2)),
    lambda m, x: m.repeat_interleave(m.tensor([2, 1, 3])),
    lambda m, x: m.repeat_interleave(x, 2, 0),
    lambda m, x: x.unfold(1, 2, 1),
    lambda m, x: x.unfold(0, 2, 2),
    lambda m, x: x.unfold(-1, 4, 3),
    lambda m, x: x.reshape(2, 3, 2).unfold(1, 2, 1),
    lambda m, x: x[0, 0].unfold(0, 1, 1),
])
def test_repeat_interleave_and_unfold_match_pytorch(call):
    import torch

    data = np.arange(12.0).reshape(3, 4)
    _check(call(gt, gt.tensor(data)), call(torch, torch.tensor(data)))


def test_repeat_interleave_and_unfold_script_and_check_arguments():
    def repeat(x, counts):
        return x.repeat_interleave(counts)

    def windows(x):
        return x.unfold(0, 2, 1)

    x = gt.tensor([5, 7])
    np.testing.assert_array_equal(gt.jit.script(repeat)(x, gt.tensor([2, 1])).numpy(), [5, 5, 7])
    np.testing.assert_array_equal(gt.jit.script(windows)(gt.arange(3.0)).numpy(),
                                  [[0.0, 1.0], [1.0, 2.0]])
    with pytest.raises(RuntimeError, match="same size as input along dim 0"):
        x.repeat_interleave(gt.tensor([1, 2, 3]))
    with pytest.raises(RuntimeError, match="can not be negative"):
        x.repeat_interleave(-1)
    with pytest.raises(RuntimeError, match="maximum size for tensor at dimension 0 is 2"):
        x.unfold(0, 3, 1)
    with pytest.raises(RuntimeError, match="step is 0 but must be > 0"):
        x.unfold(0, 1, 0)


@pytest.mark.torch
@pytest.mark.parametrize("call", [
    lambda m, a, i: m.ldexp(a, i),
    lambda m, a, i: m.sinc(a),
    lambda m, a, i: m.sinc(i),
    lambda m, a, i: m.gcd(i * 6, i + 4),
    lambda m, a, i: m.lcm(i * 6, i + 4),
    lambda m, a, i: m.take(a, m.tensor([[0, 5], [3, 1]])),
    lambda m, a, i: m.tensor_split(a, 2, 1),
    lambda m, a, i: m.tensor_split(a, [1, 2], 1),
    lambda m, a, i: m.tensor_split(a, [1, 5], 1),
    lambda m, a, i: a.tensor_split(3, -1),
    lambda m, a, i: m.diag_embed(a),
    lambda m, a, i: m.diag_embed(a, 1),
    lambda m, a, i: m.diag_embed(a, -2, 0, 2),
    lambda m, a, i: m.diagflat(a),
    lambda m, a, i: m.diagflat(a[0], -1),
    lambda m, a, i: m.cartesian_prod(a[0], a[1, :2]),
    lambda m, a, i: m.cartesian_prod(a[0]),
    lambda m, a, i: m.block_diag(a, i[0], m.tensor(7)),
    lambda m, a, i: m.vander(a[0]),
    lambda m, a, i: m.vander(i[0], 4, True),
    lambda m, a, i: m.trapezoid(a),
    lambda m, a, i: m.trapezoid(a, dx=0.5, dim=0),
    lambda m, a, i: m.trapezoid(a, m.tensor([0.0, 1.0, 3.0])),
    lambda m, a, i: m.trapz(a, a),
    lambda m, a, i: m.cumulative_trapezoid(a),
    lambda m, a, i: m.cumulative_trapezoid(a, m.tensor([0.0, 1.0, 3.0])),
    lambda m, a, i: m.index_copy(a, 1, m.tensor([2, 0]), m.ones(2, 2, dtype=m.float64)),
    lambda m, a, i: m.select_scatter(a, m.zeros(3, dtype=m.float64), 0, -1),
    lambda m, a, i: m.slice_scatter(a, m.zeros(2, 2, dtype=m.float64), 1, 0, 3, 2),
])
def test_more_helpers_match_pytorch(call):
    import torch

    a = np.array([[1.5, -2.0, 0.0], [0.25, 4.0, -3.5]])
    i = np.array([[3, 0, -2], [7, 2, 5]])
    _check(call(gt, gt.tensor(a), gt.tensor(i)), call(torch, torch.tensor(a), torch.tensor(i)))


def test_more_helpers_predicates_and_errors():
    assert gt.is_nonzero(gt.tensor([2])) and not gt.tensor(0.0).is_nonzero()
    assert gt.is_same_size(gt.ones(2, 3), gt.zeros(2, 3)) and not gt.ones(2).is_same_size(
        gt.ones(3))
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        gt.is_nonzero(gt.ones(2))
    with pytest.raises(RuntimeError, match="2 or fewer dimensions"):
        gt.block_diag(gt.ones(1, 1, 1))
    with pytest.raises(RuntimeError, match="number of sections must be larger than 0"):
        gt.tensor_split(gt.ones(3), 0)
    with pytest.raises(TypeError, match="only implemented for integer tensors"):
        gt.gcd(gt.ones(2), gt.ones(2))
    x = gt.zeros(2, 3)
    assert x.index_copy_(0, gt.tensor([1]), gt.ones(1, 3)) is x
    np.testing.assert_array_equal(x.numpy(), [[0, 0, 0], [1, 1, 1]])


@pytest.mark.torch
@pytest.mark.parametrize("call", [
    lambda m, a, b: m.copysign(a, b),
    lambda m, a, b: m.copysign(a, -0.0),
    lambda m, a, b: m.fmax(a, b),
    lambda m, a, b: m.fmin(a, b),
    lambda m, a, b: m.isin(a, b),
    lambda m, a, b: m.isin(a, 4.0, invert=True),
    lambda m, a, b: m.logspace(0, 2, 5),
    lambda m, a, b: m.logspace(-1, 1, 3, base=2.0, dtype=m.float64),
    lambda m, a, b: m.cov(a.nan_to_num()),
    lambda m, a, b: m.cov(b, correction=0),
    lambda m, a, b: m.cov(b[0]),
    lambda m, a, b: m.cov(b, fweights=m.tensor([1, 2, 1]), aweights=m.tensor([0.5, 1.0, 2.0],
                                                                             dtype=m.float64)),
    lambda m, a, b: m.cov(b, fweights=m.tensor([1, 3, 1])),
    lambda m, a, b: m.corrcoef(b),
    lambda m, a, b: m.corrcoef(b[0]),
])
def test_extrema_membership_and_covariance_match_pytorch(call):
    import torch

    a = np.array([[1.5, np.nan, 0.0], [-0.0, 4.0, np.nan]])
    b = np.array([[0.5, 2.0, np.nan], [1.0, -1.0, 4.0]])
    b = np.nan_to_num(b, nan=3.0)
    _check(call(gt, gt.tensor(a), gt.tensor(b)), call(torch, torch.tensor(a), torch.tensor(b)))
