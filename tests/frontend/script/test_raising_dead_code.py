"""Issue 10: an unused expression that raises in Python raises in script too (DCE keeps anything
that may raise), and Tensor.where / Tensor.t() agree with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt


def unused_int_division_by_zero(a: int):
    b = 1 // 0  # noqa: F841 - unused on purpose: it must still raise
    return a


def unused_modulo_by_argument(a: int, d: int):
    b = a % d  # noqa: F841 - unused on purpose: it must still raise
    return a + 1


def unused_sum_over_missing_dim(x):
    y = x.sum(dim=99)  # noqa: F841 - unused on purpose: it must still raise
    return x + 1


def unused_list_index(a: int):
    xs = [1, 2, 3]
    y = xs[a]  # noqa: F841 - unused on purpose: it must still raise
    return a


def unused_item_of_a_big_tensor(x):
    y = x.item()  # noqa: F841 - unused on purpose: it must still raise
    return x


def _outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except Exception as e:  # noqa: BLE001 - the kind of failure is what is compared
        return "raised", type(e)


@pytest.mark.parametrize("fn,args", [
    (unused_int_division_by_zero, (3,)),
    (unused_modulo_by_argument, (7, 0)),
    (unused_modulo_by_argument, (7, 2)),
    (unused_sum_over_missing_dim, (gt.ones(2, 3),)),
    (unused_list_index, (1,)),
    (unused_list_index, (5,)),
    (unused_item_of_a_big_tensor, (gt.ones(2),)),
], ids=lambda a: getattr(a, "__name__", None))
def test_unused_failing_expression_still_raises(fn, args):
    want = _outcome(fn, *args)
    got = _outcome(gt.jit.script(fn), *args)
    assert got[0] == want[0], (got, want)
    if want[0] == "ok":
        assert np.allclose(np.asarray(got[1]), np.asarray(want[1]))
    else:
        assert issubclass(got[1], want[1]), (got, want)


def where_method(x, c, y):
    return x.where(c, y)


def t_method(x):
    return x.t()


def _where_inputs():
    x = gt.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    return x, x > 0, gt.full((2, 3), 10.0)


def test_where_method_takes_the_receiver_where_the_condition_holds():
    x, c, y = _where_inputs()
    want = np.where(c.numpy(), x.numpy(), y.numpy())
    np.testing.assert_array_equal(x.where(c, y).numpy(), want)
    np.testing.assert_array_equal(gt.jit.script(where_method)(x, c, y).numpy(), want)


@pytest.mark.torch
def test_where_method_matches_pytorch():
    torch = pytest.importorskip("torch")
    x, c, y = _where_inputs()
    want = torch.tensor(x.numpy()).where(torch.tensor(c.numpy()), torch.tensor(y.numpy()))
    np.testing.assert_array_equal(gt.jit.script(where_method)(x, c, y).numpy(), want.numpy())


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 4)])
def test_t_follows_pytorch_on_every_rank(shape):
    x = gt.randn(*shape)
    sf = gt.jit.script(t_method)
    if len(shape) > 2:
        with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
            x.t()
        with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
            sf(x)
        return
    want = x.numpy().T
    np.testing.assert_array_equal(x.t().numpy(), want)
    np.testing.assert_array_equal(sf(x).numpy(), want)


@pytest.mark.torch
def test_t_of_a_3d_tensor_raises_in_pytorch_too():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        torch.randn(2, 3, 4).t()
