"""searchsorted, bucketize, unique, unique_consecutive, bincount, histc: the Python signatures,
PyTorch's edge cases and error wording (the registry matrix covers the samples)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import UnsupportedError


def _torch():
    import torch

    return torch


def _same(ours, theirs):
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
        return
    assert str(theirs.dtype) == f"torch.{ours.dtype.name}"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


VALUES = [3, 1, 2, 3, 1, 5, 5, 0]


@pytest.mark.torch
@pytest.mark.parametrize("flags", [(False, False), (True, False), (False, True), (True, True)])
def test_unique_returns_what_the_flags_ask_for(flags):
    torch = _torch()
    inv, counts = flags
    ours = gt.unique(gt.tensor(VALUES), return_inverse=inv, return_counts=counts)
    theirs = torch.unique(torch.tensor(VALUES), return_inverse=inv, return_counts=counts)
    _same(ours, theirs)
    _same(gt.tensor(VALUES).unique(return_inverse=inv, return_counts=counts), theirs)


@pytest.mark.torch
def test_unique_dim_and_consecutive_match_pytorch():
    torch = _torch()
    rows = [[1, 2], [0, 5], [1, 2], [0, 5], [0, 4]]
    _same(gt.unique(gt.tensor(rows), dim=0, return_inverse=True, return_counts=True),
          torch.unique(torch.tensor(rows), dim=0, return_inverse=True, return_counts=True))
    _same(gt.unique(gt.tensor(rows), dim=1), torch.unique(torch.tensor(rows), dim=1))
    runs = [1, 1, 2, 2, 3, 1, 1, 2]
    _same(gt.unique_consecutive(gt.tensor(runs), return_inverse=True, return_counts=True),
          torch.unique_consecutive(torch.tensor(runs), return_inverse=True, return_counts=True))
    _same(gt.tensor(rows).unique_consecutive(dim=0),
          torch.tensor(rows).unique_consecutive(dim=0))


def test_unique_sorted_false_still_sorts_and_inverse_rebuilds_input():
    x = gt.tensor([[4.0, -1.0], [4.0, 2.5]])
    values, inverse = gt.unique(x, sorted=False, return_inverse=True)
    np.testing.assert_array_equal(values.numpy(), [-1.0, 2.5, 4.0])
    np.testing.assert_array_equal(values[inverse].numpy(), x.numpy())


def test_unique_in_script_runs_eagerly(tmp_path):
    @gt.jit.script
    def f(x):
        return gt.unique(x) * 2

    np.testing.assert_array_equal(f(gt.tensor([3, 1, 3])).numpy(), [2, 6])


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{}, {"right": True}, {"side": "right"}, {"out_int32": True}])
def test_searchsorted_batched_and_scalar(kwargs):
    torch = _torch()
    seq = [[1.0, 2.0, 2.0, 5.0], [-1.0, 0.0, 3.0, 3.0]]
    vals = [[2.0, 0.5, 6.0], [3.0, -2.0, 0.0]]
    _same(gt.searchsorted(gt.tensor(seq), gt.tensor(vals), **kwargs),
          torch.searchsorted(torch.tensor(seq), torch.tensor(vals), **kwargs))
    _same(gt.searchsorted(gt.tensor(seq[0]), 2.0, **kwargs),
          torch.searchsorted(torch.tensor(seq[0]), 2.0, **kwargs))
    _same(gt.bucketize(gt.tensor(vals), gt.tensor(seq[0]), right="right" in kwargs),
          torch.bucketize(torch.tensor(vals), torch.tensor(seq[0]), right="right" in kwargs))


def test_searchsorted_errors_use_pytorch_wording():
    seq = gt.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="side and right can't be set to opposites"):
        gt.searchsorted(seq, seq, side="left", right=True)
    with pytest.raises(RuntimeError, match="side can only be 'left' or 'right' but got x"):
        gt.searchsorted(seq, seq, side="x")
    with pytest.raises(RuntimeError, match=r"first N-1 dimensions .* boundaries tensor \[1, 2\] "
                                           r"and input value tensor \[2, 2\]"):
        gt.searchsorted(gt.tensor([[1.0, 2.0]]), gt.ones(2, 2))
    with pytest.raises(RuntimeError, match=r"boundaries tensor must be 1 dimension, but got "
                                           r"dim\(2\)"):
        gt.bucketize(seq, gt.ones(2, 2))


@pytest.mark.torch
def test_bincount_dtypes_and_errors():
    torch = _torch()
    idx = [1, 3, 3, 0]
    for w, dt in ((None, None), ([0.5, 1.0, 2.0, 4.0], "float32"), ([1.0, 2, 3, 4], "float64"),
                  ([1, 2, 3, 4], "int64")):
        weights = None if w is None else gt.tensor(w, dtype=getattr(gt, dt))
        tweights = None if w is None else torch.tensor(w, dtype=getattr(torch, dt))
        _same(gt.bincount(gt.tensor(idx), weights, minlength=6),
              torch.bincount(torch.tensor(idx), tweights, minlength=6))
    with pytest.raises(RuntimeError, match="bincount only supports 1-d non-negative integral"):
        gt.bincount(gt.tensor([-1, 2]))
    with pytest.raises(UnsupportedError, match="\"bincount_cpu\" not implemented for 'Float'"):
        gt.bincount(gt.tensor([1.0]))
    with pytest.raises(RuntimeError, match="weights should be 1-d and have the same length"):
        gt.bincount(gt.tensor([1, 2]), gt.ones(3))


@pytest.mark.torch
def test_histc_ranges_edges_and_errors():
    torch = _torch()
    data = [0.0, 1.0, 2.0, 2.0, 3.0, -5.0, 9.0]
    for kwargs in ({"bins": 3}, {"bins": 4, "min": 0, "max": 3}, {"bins": 2, "min": 1, "max": 1}):
        _same(gt.histc(gt.tensor(data), **kwargs), torch.histc(torch.tensor(data), **kwargs))
    _same(gt.histc(gt.tensor([2.0, 2.0]), bins=4), torch.histc(torch.tensor([2.0, 2.0]), bins=4))
    with pytest.raises(RuntimeError, match="torch.histc: max must be larger than min"):
        gt.histc(gt.tensor(data), 3, 3, 1)
    with pytest.raises(RuntimeError, match="bins must be > 0, but got 0"):
        gt.histc(gt.tensor(data), 0)
    with pytest.raises(UnsupportedError, match="'Long'"):
        gt.histc(gt.tensor([1, 2]))


def test_nondifferentiable_results_do_not_require_grad():
    x = gt.tensor([0.5, 1.5, 1.5], requires_grad=True)
    assert not gt.unique(x).requires_grad
    assert not gt.histc(x, bins=2).requires_grad
    assert not gt.bincount(gt.tensor([0, 1, 1]), x).requires_grad
