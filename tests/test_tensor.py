"""The Tensor surface against PyTorch: leaving the graph, factories, seeds, error messages."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import DeviceError, DTypeError, ShapeError


def _torch_str(t) -> str:
    return str(t.dtype).replace("torch.", "")


# --- leaving the graph ------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("data", [[1.5, -2.0], [[1, 2], [3, 4]], [True, False], 3.25, 7, [[]]])
def test_item_and_tolist_match_pytorch(data):
    import torch

    ours, theirs = gt.tensor(data), torch.tensor(data)
    assert ours.tolist() == theirs.tolist()
    assert type(ours.tolist()) is type(theirs.tolist())
    if theirs.numel() == 1:
        assert ours.item() == theirs.item() and type(ours.item()) is type(theirs.item())


def test_item_on_many_elements_raises():
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to "
                                           "Scalar"):
        gt.tensor([1.0, 2.0]).item()


def test_numpy_shares_memory_and_refuses_grad():
    t = gt.tensor([1.0, 2.0])
    a = t.numpy()
    a[0] = 5.0
    assert t[0].item() == 5.0
    r = gt.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        r.numpy()
    np.testing.assert_array_equal(r.detach().numpy(), [1.0])


def test_array_protocol():
    t = gt.tensor([[1, 2], [3, 4]], dtype=gt.int32)
    a = np.asarray(t)
    assert a.dtype == np.int32 and a.shape == (2, 2)
    np.testing.assert_array_equal(np.asarray(t, dtype=np.float64), [[1.0, 2.0], [3.0, 4.0]])


def test_dlpack_round_trip_shares_memory():
    t = gt.arange(6, dtype=gt.float32).view(2, 3)
    a = np.from_dlpack(t)
    assert a.shape == (2, 3) and a.dtype == np.float32
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0


@pytest.mark.torch
def test_dlpack_to_torch():
    import torch

    t = gt.tensor([1.0, 2.0, 3.0])
    tt = torch.from_dlpack(t)
    assert tt.tolist() == [1.0, 2.0, 3.0]


def test_python_number_conversions():
    assert float(gt.tensor(2.5)) == 2.5 and int(gt.tensor(7)) == 7
    assert bool(gt.tensor([True])) is True
    assert [1, 2, 3][gt.tensor(1)] == 2
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value "
                                           "is ambiguous"):
        bool(gt.tensor([1, 2]))
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        [1, 2][gt.tensor(1.0)]


def test_len_and_iteration():
    t = gt.tensor([[1, 2], [3, 4], [5, 6]])
    assert len(t) == 3
    assert [row.tolist() for row in t] == [[1, 2], [3, 4], [5, 6]]
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(gt.tensor(1))


def test_shape_stride_and_properties():
    t = gt.zeros(2, 3, dtype=gt.float64)
    assert t.shape == (2, 3) and t.size() == (2, 3) and t.size(-1) == 3
    assert t.dim() == 2 and t.ndim == 2 and t.numel() == 6 and t.element_size() == 8
    assert t.stride() == (3, 1) and t.is_contiguous()
    assert t.device == gt.device("cpu") and not t.is_cuda and t.get_device() == -1
    assert t.is_floating_point() and not gt.zeros(1, dtype=gt.int8).is_floating_point()
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.size(2)


# --- factories --------------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("data", [
    [1, 2, 3], [1.0, 2], [True, False], [[1, 2], [3, 4.5]], 5, 2.5, True, [], [[True, 2]],
    [np.float64(1.5)], np.arange(3, dtype=np.int16), np.ones((2, 2), dtype=np.float64),
])
def test_tensor_dtype_inference_matches_pytorch(data):
    import torch

    ours, theirs = gt.tensor(data), torch.tensor(data)
    assert ours.dtype.name == _torch_str(theirs)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_tensor_copies_and_as_tensor_shares():
    a = np.array([1.0, 2.0])
    copied, shared, from_np = gt.tensor(a), gt.as_tensor(a), gt.from_numpy(a)
    a[0] = 9.0
    assert copied[0].item() == 1.0
    assert shared[0].item() == 9.0 and from_np[0].item() == 9.0
    assert gt.as_tensor(a, dtype=gt.float32)[0].item() == 9.0  # a cast copies
    a[1] = -1.0
    assert gt.as_tensor(a, dtype=gt.float32)[1].item() == -1.0


def test_from_numpy_rejects_unsupported():
    with pytest.raises(DTypeError, match="has no graphtorch equivalent"):
        gt.from_numpy(np.array(["2026-01-01"], dtype="datetime64[D]"))


def test_ragged_nested_list_raises():
    with pytest.raises(Exception, match="sequence|shape|inhomogeneous"):
        gt.tensor([[1, 2], [3]])


@pytest.mark.torch
@pytest.mark.parametrize("call", [
    "zeros(2, 3)", "ones((2, 3), dtype={m}.int32)", "full((2, 2), 7)", "full((2,), 1.5)",
    "full((2,), True)", "arange(5)", "arange(1, 4, 0.5)", "arange(0, 1, 0.25, dtype={m}.float64)",
    "arange(2.0, 5)", "linspace(0, 1, 5)", "linspace(-2, 2, 4, dtype={m}.float64)", "eye(3)",
    "eye(2, 4)", "zeros_like({m}.ones(2, 2, dtype={m}.int64))",
    "ones_like({m}.zeros(3), dtype={m}.float64)", "full_like({m}.zeros(2), 3.0)",
    "empty(2, 3).shape", "empty_like({m}.zeros(4, dtype={m}.int8)).dtype",
])
def test_factories_match_pytorch(call):
    import torch

    ours = eval("gt." + call.format(m="gt"), {"gt": gt})  # noqa: S307 - fixed strings above
    theirs = eval("torch." + call.format(m="torch"), {"torch": torch})  # noqa: S307
    if isinstance(ours, gt.Tensor):
        assert ours.dtype.name == _torch_str(theirs), call
        assert tuple(ours.shape) == tuple(theirs.shape), call
        if "empty" not in call:
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, err_msg=call)
    else:
        assert str(ours).replace("graphtorch.", "") == str(theirs).replace("torch.", ""), call


def test_factory_requires_grad_and_device():
    z = gt.zeros(2, requires_grad=True)
    assert z.requires_grad and z.is_leaf
    assert gt.ones(2, device="cpu").device == gt.device("cpu")


def test_manual_seed_reproducibility():
    gt.manual_seed(123)
    a, b = gt.rand(4), gt.randn(2, 2)
    gt.manual_seed(123)
    np.testing.assert_array_equal(gt.rand(4).numpy(), a.numpy())
    np.testing.assert_array_equal(gt.randn(2, 2).numpy(), b.numpy())
    assert not np.array_equal(gt.rand(4).numpy(), a.numpy())


def test_generator_objects_are_independent():
    g1, g2 = gt.Generator().manual_seed(7), gt.Generator().manual_seed(7)
    gt.manual_seed(0)
    x = gt.randn(5, generator=g1)
    gt.randn(3)  # draws from the default generator do not disturb g2
    np.testing.assert_array_equal(gt.randn(5, generator=g2).numpy(), x.numpy())
    assert g1.initial_seed() == 7


def test_rng_state_round_trip():
    gt.manual_seed(5)
    state = gt.get_rng_state()
    a = gt.rand(3)
    gt.set_rng_state(state)
    np.testing.assert_array_equal(gt.rand(3).numpy(), a.numpy())


def test_random_distributions_are_plausible():
    gt.manual_seed(0)
    u = gt.rand(20000).numpy()
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.01
    n = gt.randn(20000).numpy()
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1.0) < 0.03
    r = gt.randint(3, 7, (1000,))
    assert r.dtype is gt.int64 and set(r.numpy().tolist()) == {3, 4, 5, 6}
    assert sorted(gt.randperm(6).tolist()) == list(range(6))


@pytest.mark.torch
def test_random_integer_dtype_errors_match_pytorch():
    import torch

    for name in ("rand", "randn"):
        with pytest.raises(Exception) as ours:
            getattr(gt, name)(2, dtype=gt.int64)
        with pytest.raises(Exception) as theirs:
            getattr(torch, name)(2, dtype=torch.int64)
        assert str(ours.value) == str(theirs.value)


# --- error messages ---------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("a_shape,b_shape", [
    ((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (2,)), ((5,), (4, 2)), ((2, 2, 3), (4, 5)),
    ((4, 2, 3), (4, 5, 2)), ((4, 2, 3), (4,)), ((3,), (4, 5, 2)), ((2, 1, 2, 3), (5, 4, 2)),
    ((4, 2, 3), (5, 3, 2)),
])
def test_matmul_shape_errors_match_pytorch(a_shape, b_shape):
    import torch

    with pytest.raises(ShapeError) as ours:
        gt.zeros(a_shape) @ gt.zeros(b_shape)
    with pytest.raises(RuntimeError) as theirs:
        torch.zeros(a_shape) @ torch.zeros(b_shape)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.torch
@pytest.mark.parametrize("other", ["float16", "float64", "int64", "int32", "int16", "int8",
                                   "uint8", "bool"])
def test_matmul_dtype_error_matches_pytorch(other):
    import torch

    with pytest.raises(DTypeError) as ours:
        gt.zeros(2, 2) @ gt.zeros(2, 2, dtype=getattr(gt, other))
    with pytest.raises(RuntimeError) as theirs:
        torch.zeros(2, 2) @ torch.zeros(2, 2, dtype=getattr(torch, other))
    assert str(ours.value) == str(theirs.value)


def test_matmul_zero_dim_error():
    with pytest.raises(ShapeError, match="both arguments to matmul need to be at least 1D"):
        gt.tensor(1.0) @ gt.zeros(2)


@pytest.mark.torch
@pytest.mark.parametrize("a_shape,b_shape", [((3,), (4,)), ((2, 3), (4, 1, 5)), ((2, 1), (3, 4))])
def test_broadcast_errors_match_pytorch(a_shape, b_shape):
    import torch

    with pytest.raises(ShapeError) as ours:
        gt.zeros(a_shape) + gt.zeros(b_shape)
    with pytest.raises(RuntimeError) as theirs:
        torch.zeros(a_shape) + torch.zeros(b_shape)
    assert str(ours.value) == str(theirs.value)


def test_device_mismatch_message():
    from graphtorch.ops.dispatch import dispatch
    from graphtorch.ops.registry import REGISTRY
    from graphtorch.tensor import Tensor

    # a tensor that claims another device: the check runs before any kernel touches its data
    fake = Tensor._wrap(np.zeros(2, dtype=np.float32), gt.device("cuda:0"))
    with pytest.raises(DeviceError, match="^Expected all tensors to be on the same device, but "
                                          "found at least two devices, cpu and cuda:0!$"):
        dispatch(REGISTRY["add"], (gt.zeros(2), fake), None)


def test_unknown_keyword_and_wrong_type_messages():
    with pytest.raises(TypeError, match="add\\(\\) got an unexpected keyword argument 'beta'"):
        gt.add(gt.zeros(1), gt.zeros(1), beta=2)
    with pytest.raises(TypeError, match="must be Tensor, not str"):
        gt.add(gt.zeros(1), "x")


def test_rand_like_and_randn_like():
    x = gt.zeros(3, 4, dtype=gt.float64)
    gt.manual_seed(3)
    a = gt.rand_like(x)
    b = gt.randn_like(x, dtype=gt.float32)
    assert a.dtype is gt.float64 and tuple(a.shape) == (3, 4)
    assert b.dtype is gt.float32 and tuple(b.shape) == (3, 4)
    gt.manual_seed(3)
    np.testing.assert_array_equal(gt.rand_like(x).numpy(), a.numpy())
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        gt.rand_like(gt.zeros(2, dtype=gt.int64))


@pytest.mark.torch
@pytest.mark.parametrize("call", [
    "m.tensor([1, 2]).requires_grad_()",
    "m.tensor([1, 2]).mul_(1.5)",
    "m.tensor([True]).add_(1)",
    "m.tensor([1, 2], dtype=m.int32).add_(m.tensor([1.0]))",
    "m.zeros(3).add_(m.zeros(2, 3))",
    "m.tensor([1.0]).sum().backward()",
    "m.zeros(2, 3).view(4)",
    "m.zeros(2, 3).t().view(6)",
    "m.tensor([1.0, 2.0]).item()",
    "m.zeros(2, 3).size(2)",
])
def test_error_messages_match_pytorch(call):
    import torch

    with pytest.raises(Exception) as ours:
        eval(call, {"m": gt})  # noqa: S307 - fixed strings above
    with pytest.raises(Exception) as theirs:
        eval(call, {"m": torch})  # noqa: S307
    assert str(ours.value) == str(theirs.value)
