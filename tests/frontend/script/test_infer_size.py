"""graphtorch._C helpers (_infer_size, _get_tracing_state): eager against PyTorch, and from
script."""

from __future__ import annotations

import pytest

import graphtorch as gt
from graphtorch._C import _infer_size

SHAPES = [([2, 4, 2], [2, 4, 2]), ([2, 1, 4], [3, 1]), ([], [5]), ([1], [0]), ([3, 1], [1, 1, 7])]


@pytest.mark.torch
@pytest.mark.parametrize("a,b", SHAPES)
def test_matches_pytorch(a, b):
    import torch

    assert _infer_size(a, b) == list(torch._C._infer_size(torch.Size(a), torch.Size(b)))


def _sizes(x: gt.Tensor, y: gt.Tensor) -> list[int]:
    return _infer_size(x.size(), y.size())


def test_scripted_matches_eager_and_raises_alike():
    scripted = gt.jit.script(_sizes)
    for a, b in SHAPES:
        x, y = gt.ones(*a), gt.ones(*b)
        assert scripted(x, y) == _sizes(x, y) == list(gt.broadcast_shapes(a, b))
    with pytest.raises(Exception, match=r"size of tensor a \(3\) must match the size of tensor "
                                        r"b \(4\) at non-singleton dimension 1"):
        scripted(gt.ones(2, 3), gt.ones(4))


def _branch_on_tracing(x: gt.Tensor) -> gt.Tensor:
    if gt._C._get_tracing_state():
        return x + 1
    return x - 1


def test_get_tracing_state_is_false_in_script_and_true_while_tracing():
    x = gt.ones(2)
    assert not gt._C._get_tracing_state()
    assert gt.jit.script(_branch_on_tracing)(x).tolist() == [0.0, 0.0]
    assert gt.jit.trace(_branch_on_tracing, (x,))(x).tolist() == [2.0, 2.0]
