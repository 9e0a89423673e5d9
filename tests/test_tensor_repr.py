"""Tensor printing: our repr must equal PyTorch's with "torch." replaced by "graphtorch."."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

pytestmark = pytest.mark.torch

_RNG = np.random.default_rng(0)

VALUES = {
    "int_vector": (np.array([1, -2, 300]), "int64"),
    "int32": (np.array([[1, 2], [3, 4]]), "int32"),
    "uint8": (np.array([0, 7, 255]), "uint8"),
    "int8": (np.array([-128, 0, 127]), "int8"),
    "int16": (np.array([5, -6]), "int16"),
    "bool": (np.array([True, False, True]), "bool"),
    "bool_matrix": (np.array([[True, False], [False, True]]), "bool"),
    "float_plain": (np.array([1.5, -2.25, 3.0]), "float32"),
    "float_int_valued": (np.array([1.0, 2.0, -3.0]), "float32"),
    "float64": (np.array([0.1, 0.2, 0.3]), "float64"),
    "float16": (np.array([0.5, 1.25, -2.0]), "float16"),
    "sci_large": (np.array([1e10, 1.0, 2.0]), "float32"),
    "sci_small": (np.array([1e-5, 1.0]), "float32"),
    "sci_ratio": (np.array([0.001, 100.0, 5.0]), "float32"),
    "int_valued_huge": (np.array([1e9, 2.0]), "float32"),
    "nan_inf": (np.array([np.nan, np.inf, -np.inf, 1.5]), "float32"),
    "all_nan": (np.array([np.nan, np.nan]), "float32"),
    "nan_wider_than_ints": (np.array([np.nan, 1.0, -np.inf]), "float32"),
    "int_valued_spread": (np.array([1.0, 2000.0]), "float32"),
    "tiny_only": (np.array([1e-6, -3e-7]), "float64"),
    "sci_with_zero": (np.array([0.0, 1e-5, 2.0]), "float32"),
    "negative_ints": (np.array([[-1000, 2], [3, -4]]), "int64"),
    "negative_zero": (np.array([-0.0, 1.0]), "float32"),
    "zeros": (np.zeros(3), "float32"),
    "matrix": (_RNG.standard_normal((3, 4)), "float32"),
    "cube": (_RNG.standard_normal((2, 3, 2)), "float32"),
    "4d": (_RNG.standard_normal((2, 2, 1, 3)), "float64"),
    "scalar_float": (np.array(2.5), "float32"),
    "scalar_int": (np.array(7), "int64"),
    "scalar_bool": (np.array(True), "bool"),
    "scalar_float64": (np.array(-0.125), "float64"),
    "empty": (np.zeros((0,)), "float32"),
    "empty_2d": (np.zeros((2, 0)), "float32"),
    "empty_int": (np.zeros((0, 3)), "int64"),
    "long_row": (np.arange(40) * 1.5, "float32"),
    "wide_ints": (np.arange(30) * 1000, "int64"),
    "summarized_vector": (np.arange(2000, dtype=np.float64) / 7, "float32"),
    "summarized_matrix": (np.arange(1200 * 3).reshape(1200, 3) * 0.5, "float32"),
    "summarized_both": (np.arange(40 * 40).reshape(40, 40), "int64"),
    "summarized_3d": (np.arange(12 * 10 * 10).reshape(12, 10, 10) / 3, "float64"),
}


def _pair(values, dtype):
    import torch

    return (gt.tensor(values, dtype=getattr(gt, dtype)),
            torch.tensor(values, dtype=getattr(torch, dtype)))


def _same(ours, theirs) -> None:
    assert repr(ours) == repr(theirs).replace("torch.", "graphtorch."), (
        f"\nours:   {ours!r}\ntorch:  {theirs!r}")


@pytest.mark.parametrize("name", sorted(VALUES))
def test_repr_matches_pytorch(name):
    ours, theirs = _pair(*VALUES[name])
    _same(ours, theirs)


def test_repr_requires_grad_and_grad_fn():
    import torch

    ours = gt.tensor([1.0, 2.0], requires_grad=True)
    theirs = torch.tensor([1.0, 2.0], requires_grad=True)
    _same(ours, theirs)
    _same(ours * 2, theirs * 2)
    _same((ours * 2).sum(), (theirs * 2).sum())
    _same(ours.exp(), theirs.exp())
    _same(gt.tensor(3.0, dtype=gt.float64, requires_grad=True),
          torch.tensor(3.0, dtype=torch.float64, requires_grad=True))


def test_repr_follows_default_dtype():
    import torch

    prev = gt.get_default_dtype()
    gt.set_default_dtype(gt.float64)
    torch.set_default_dtype(torch.float64)
    try:
        _same(gt.tensor([1.5, 2.0]), torch.tensor([1.5, 2.0]))
        _same(gt.tensor([1.5], dtype=gt.float32), torch.tensor([1.5], dtype=torch.float32))
    finally:
        gt.set_default_dtype(prev)
        torch.set_default_dtype(torch.float32)


def test_print_options_precision_and_sci_mode():
    import torch

    try:
        for kwargs in ({"precision": 2}, {"sci_mode": True}, {"sci_mode": False},
                       {"threshold": 5, "edgeitems": 2}):
            gt.set_printoptions(**kwargs)
            torch.set_printoptions(**kwargs)
            _same(*_pair(np.array([1.23456, 1e-3, 20.0, 3.0, 4.0, 5.0, 6.0]), "float32"))
    finally:
        gt.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


def test_size_repr():
    assert repr(gt.zeros(2, 3).shape) == "graphtorch.Size([2, 3])"
    assert repr(gt.zeros(()).shape) == "graphtorch.Size([])"
