"""bitwise_left_shift / bitwise_right_shift and the ``<<`` / ``>>`` operators, against PyTorch
(shifts by the bit width or more included, where numpy alone depends on the machine)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

CASES = [
    ("int64", [1, 2, -8, 5], [1, 2, 64, 70]),
    ("int32", [1, -2, 7, -2**31], [31, 32, 0, 1]),
    ("int8", [1, -128, 5, 127], [7, 8, 1, 9]),
    ("uint8", [1, 128, 5, 255], [7, 8, 1, 9]),
]


@pytest.mark.torch
@pytest.mark.parametrize("dtype,a,b", CASES, ids=[c[0] for c in CASES])
def test_shifts_match_pytorch(dtype, a, b):
    import torch

    x, y = gt.tensor(a, dtype=getattr(gt, dtype)), gt.tensor(b, dtype=getattr(gt, dtype))
    tx, ty = torch.tensor(a, dtype=getattr(torch, dtype)), torch.tensor(b, dtype=getattr(torch,
                                                                                         dtype))
    for ours, theirs in ((x << y, tx << ty), (x >> y, tx >> ty), (x << 3, tx << 3),
                         (x >> 1, tx >> 1), (gt.bitwise_left_shift(x, y),
                                             torch.bitwise_left_shift(tx, ty)),
                         (gt.bitwise_right_shift(x, 2), torch.bitwise_right_shift(tx, 2))):
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_in_place_shift_and_float_refusal():
    x = gt.tensor([1, 2, 3])
    x <<= 2
    np.testing.assert_array_equal(x.numpy(), [4, 8, 12])
    x >>= 1
    np.testing.assert_array_equal(x.numpy(), [2, 4, 6])
    with pytest.raises(gt.errors.DTypeError, match="only implemented for integer tensors"):
        gt.tensor([1.5]) << 1
