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
