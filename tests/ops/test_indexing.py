"""t[key] and t[key] = v: semantics vs numpy and PyTorch, views, autograd, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import AutogradError
from graphtorch.ops.indexing import decode_key, encode_key, index_shape
from graphtorch.ops.meta import meta_of

X = np.arange(4 * 5 * 6, dtype=np.float64).reshape(4, 5, 6)
IDX = [2, 0, 3]
J = [[1], [4]]

# (name, key builder) pairs; the builder gets a module (gt or torch) to make index tensors
KEYS = [
    ("int", lambda m: 1),
    ("negative_int", lambda m: -1),
    ("int_pair", lambda m: (2, -3)),
    ("slice", lambda m: slice(1, 3)),
    ("slice_step", lambda m: (slice(None), slice(None, None, 2))),
    ("slice_clamped", lambda m: slice(-10, 10)),
    ("empty_slice", lambda m: slice(3, 1)),
    ("none", lambda m: (None, 0)),
    ("ellipsis", lambda m: (Ellipsis, 1)),
    ("ellipsis_none", lambda m: (0, Ellipsis, None)),
    ("tensor", lambda m: m.tensor(IDX)),
    ("list", lambda m: [3, 1]),
    ("tensor_2d", lambda m: m.tensor([[0, 1], [2, 3]])),
    ("adjacent_pair", lambda m: (slice(None), m.tensor(J), m.tensor([0, 5, 2]))),
    ("separated_pair", lambda m: (m.tensor([0, 2]), slice(None), m.tensor([1, 5]))),
    ("int_then_tensor", lambda m: (0, slice(None), m.tensor([2, 0]))),
    ("slice_tensor_int", lambda m: (slice(None), m.tensor([4, 4]), 1)),
    ("none_and_tensor", lambda m: (None, m.tensor(IDX), slice(1, 3))),
    ("bool_mask_full", lambda m: m.tensor(X > 60)),
    ("bool_mask_rows", lambda m: m.tensor([True, False, True, True])),
    ("bool_mask_mid", lambda m: (slice(None), m.tensor([False, True, True, False, True]))),
    ("bool_scalar", lambda m: True),
    ("negative_tensor", lambda m: m.tensor([-1, -4])),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,make", KEYS, ids=[k[0] for k in KEYS])
def test_getitem_matches_pytorch(name, make):
    import torch

    x = gt.tensor(X)
    ours = x[make(gt)]
    theirs = torch.from_numpy(X.copy())[make(torch)]
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name,make", KEYS, ids=[k[0] for k in KEYS])
def test_meta_shape_of_every_key(name, make):
    key, idx = encode_key(make(gt))
    out = gt.tensor(X)[make(gt)]
    shape = index_shape(X.shape, key, [meta_of(t) for t in idx])
    assert len(shape) == len(out.shape)
    assert all(m is None or m == o for m, o in zip(shape, out.shape))
    if not name.startswith("bool"):
        assert shape == tuple(out.shape)


def test_key_encoding_is_plain_data_and_round_trips():
    key, idx = encode_key((1, slice(None, 4, 2), None, Ellipsis, gt.tensor([0, 1])))
    assert key == (("int", 1), ("slice", None, 4, 2), ("none",), ("ellipsis",), ("tensor", 0))
    assert json.loads(json.dumps(key)) == [list(e) for e in key]
    assert decode_key(key, idx)[:4] == (1, slice(None, 4, 2), None, Ellipsis)
    assert decode_key(key, idx)[4] is idx[0]


def test_symbolic_dims_in_meta():
    key, _ = encode_key((slice(None), 0, slice(1, None)))
    assert index_shape(("B", 3, "T"), key, []) == ("B", None)


def test_basic_indexing_is_a_view():
    base = gt.zeros(3, 4)
    row = base[1]
    col = base[:, ::2]
    row.add_(1.0)
    col.fill_(5.0)
    expected = np.zeros((3, 4))
    expected[1] += 1
    expected[:, ::2] = 5
    np.testing.assert_array_equal(base.numpy(), expected)
    assert row._base is base and col._base is base
    assert not np.shares_memory(base[gt.tensor([0, 1])].numpy(), base.numpy())


def test_version_counter_is_shared_with_views():
    base = gt.zeros(3, 4)
    view = base[1:]
    v0 = base._version
    view.add_(1.0)
    assert base._version == view._version == v0 + 1
    base[0, 0] = 3.0
    assert view._version == base._version == v0 + 2


def test_write_through_view_of_view():
    base = gt.zeros(4, 4)
    inner = base[1:3][:, 1:3]
    inner[0, 0] = 7.0
    assert base[1, 1].item() == 7.0


SET_KEYS = [
    ("int", lambda m: 1, (5, 6)),
    ("slice_step", lambda m: (slice(None), slice(None, None, 2)), (6,)),
    ("ellipsis", lambda m: (Ellipsis, 0), ()),
    ("tensor", lambda m: m.tensor([3, 0]), (5, 6)),
    ("separated", lambda m: (m.tensor([0, 2]), slice(None), m.tensor([1, 5])), (5,)),
    ("int_then_tensor", lambda m: (0, slice(None), m.tensor([2, 0])), (1,)),
    ("mask", lambda m: m.tensor(X > 100), ()),
    ("leading_one", lambda m: 2, (1, 5, 6)),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,make,vshape", SET_KEYS, ids=[k[0] for k in SET_KEYS])
def test_setitem_matches_pytorch(name, make, vshape):
    import torch

    v = np.random.default_rng(0).standard_normal(vshape)
    ours = gt.tensor(X)
    theirs = torch.from_numpy(X.copy())
    ours[make(gt)] = gt.tensor(v)
    theirs[make(torch)] = torch.from_numpy(v)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours[make(gt)] = -1.5
    theirs[make(torch)] = -1.5
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_setitem_casts_scalars_and_tensors_to_the_target_dtype():
    x = gt.zeros(3, dtype=gt.int64)
    x[0] = 2.7
    x[1:] = gt.tensor([5.9, -1.2])
    np.testing.assert_array_equal(x.numpy(), [2, 5, -1])
    assert x.dtype is gt.int64


@pytest.mark.torch
def test_setitem_with_autograd_on_non_leaf():
    import torch

    a_np = np.random.default_rng(1).standard_normal((3, 4))
    v_np = np.random.default_rng(2).standard_normal((2, 4))
    idx = [2, 0]

    a = gt.tensor(a_np, requires_grad=True)
    v = gt.tensor(v_np, requires_grad=True)
    y = a * 2
    y[gt.tensor(idx)] = v * 3
    y[1, 1:3] = 0.0
    (y * y).sum().backward()

    ta = torch.tensor(a_np, requires_grad=True)
    tv = torch.tensor(v_np, requires_grad=True)
    ty = ta * 2
    ty[torch.tensor(idx)] = tv * 3
    ty[1, 1:3] = 0.0
    (ty * ty).sum().backward()

    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy())
    np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy())
    assert y.grad_fn is not None


def test_setitem_broadcast_value_gets_reduced_gradient():
    a = gt.zeros(3, 4)
    v = gt.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    a[:2] = v
    a.sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [2.0, 2.0, 2.0, 2.0])


def test_setitem_on_leaf_requiring_grad_raises():
    a = gt.zeros(3, requires_grad=True)
    with pytest.raises(AutogradError, match="a leaf Variable that requires grad is being used "
                                            "in an in-place operation."):
        a[0] = 1.0
    with gt.no_grad():
        a[0] = 1.0
    assert a[0].item() == 1.0


def test_getitem_gradient_accumulates_duplicates():
    x = gt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[gt.tensor([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


@pytest.mark.torch
@pytest.mark.parametrize("key,exc,msg", [
    (5, IndexError, "index 5 is out of bounds for dimension 0 with size 4"),
    ((0, 0, 0, 0), IndexError, "too many indices for tensor of dimension 3"),
    (slice(None, None, -1), ValueError, "step must be greater than zero"),
    (1.5, IndexError, r"only integers, slices \(`:`\), ellipsis \(`...`\), None and long or "
                      r"byte Variables are valid indices \(got float\)"),
    ("tensor_float", IndexError, "tensors used as indices must be long, int, byte or bool "
                                 "tensors"),
    ("bad_mask", IndexError, r"The shape of the mask \[2\] at index 0 does not match the shape "
                             r"of the indexed tensor \[4, 5, 6\] at index 0"),
    ("tensor_oob", IndexError, "index 9 is out of bounds for dimension 0 with size 4"),
])
def test_index_errors_match_pytorch(key, exc, msg):
    import torch

    def make(m):
        return {"tensor_float": lambda: m.tensor([1.0]),
                "bad_mask": lambda: m.tensor([True, False]),
                "tensor_oob": lambda: m.tensor([9])}[key]() if isinstance(key, str) else key

    with pytest.raises(exc, match=msg):
        gt.tensor(X)[make(gt)]
    with pytest.raises(exc, match=msg):
        torch.from_numpy(X.copy())[make(torch)]


def test_setitem_shape_mismatch_message():
    x = gt.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"shape mismatch: value tensor of shape \[3\] cannot "
                                           r"be broadcast to indexing result of shape \[4\]"):
        x[0] = gt.ones(3)


@pytest.mark.torch
# --- gather / scatter / index_select / masked_fill / nonzero ---------------------------------
def test_gather_scatter_match_pytorch():
    import torch

    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 5))
    idx = np.array([[0, 4, 4], [1, 0, 2], [3, 3, 3]])
    src = rng.standard_normal((3, 3))
    tx, ti, ts = torch.from_numpy(x), torch.from_numpy(idx), torch.from_numpy(src)
    gx, gi, gs = gt.tensor(x), gt.tensor(idx), gt.tensor(src)
    np.testing.assert_allclose(gx.gather(1, gi).numpy(), tx.gather(1, ti).numpy())
    np.testing.assert_allclose(gx.scatter_add(1, gi, gs).numpy(),
                               tx.scatter_add(1, ti, ts).numpy())
    np.testing.assert_allclose(gx.index_select(1, gt.tensor([4, 0, 0])).numpy(),
                               tx.index_select(1, torch.tensor([4, 0, 0])).numpy())
    np.testing.assert_allclose(
        gx.index_add(0, gt.tensor([2, 2, 0]), gs.repeat(1, 2)[:, :5], alpha=2).numpy(),
        tx.index_add(0, torch.tensor([2, 2, 0]), ts.repeat(1, 2)[:, :5], alpha=2).numpy())


def test_inplace_variants_and_masked_fill():
    x = gt.zeros(2, 3)
    x.masked_fill_(gt.tensor([[True, False, True], [False, False, True]]), 4.0)
    x.scatter_(1, gt.tensor([[1], [0]]), 9.0)
    np.testing.assert_array_equal(x.numpy(), [[4, 9, 4], [9, 0, 4]])
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks, but got "
                                           "mask with dtype long"):
        x.masked_fill(gt.tensor([[1, 0, 0], [0, 0, 0]]), 1.0)


def test_gather_errors():
    x = gt.zeros(3, 4)
    with pytest.raises(RuntimeError, match="gather\\(\\): Expected dtype int64 for index"):
        x.gather(1, gt.tensor([[0]], dtype=gt.int32))
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 1 with size 4"):
        x.gather(1, gt.tensor([[4]]))
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.gather(2, gt.tensor([[0]]))


@pytest.mark.torch
def test_nonzero_and_where_single_argument():
    import torch

    a = np.array([[0, 1, 0], [2, 0, 3]])
    np.testing.assert_array_equal(gt.tensor(a).nonzero().numpy(),
                                  torch.tensor(a).nonzero().numpy())
    ours = gt.where(gt.tensor(a) > 0)
    theirs = torch.where(torch.tensor(a) > 0)
    assert len(ours) == len(theirs) == 2
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    rows, cols = gt.tensor(a).nonzero(as_tuple=True)
    np.testing.assert_array_equal(gt.tensor(a)[rows, cols].numpy(), [1, 2, 3])
