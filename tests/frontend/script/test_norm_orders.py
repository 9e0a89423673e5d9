"""norm(p='fro' | 'nuc'), eager against PyTorch and scripted against eager."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import ScriptError


@pytest.mark.torch
@pytest.mark.parametrize("p,dim,keepdim", [("fro", None, False), ("fro", [0, 2], True),
                                           ("nuc", None, False), ("nuc", [1, 2], False),
                                           ("nuc", [0, 2], True)])
def test_eager_matches_pytorch(p, dim, keepdim):
    import torch

    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    if p == "nuc" and dim is None:
        x = x[0]
    ours = gt.norm(gt.tensor(x), p=p, dim=dim, keepdim=keepdim)
    theirs = torch.norm(torch.tensor(x), p=p, dim=dim, keepdim=keepdim)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gt.tensor(x).norm(p, dim, keepdim).numpy(), theirs.numpy(),
                               rtol=1e-12)


def _orders(c: gt.Tensor):
    return (gt.norm(c, p="fro"), gt.norm(c, "nuc"), gt.norm(c), gt.norm(c, p=0.5),
            gt.norm(c, "fro", [0, 1], True), c.norm(p="nuc", dim=[0, 1]), c.norm("fro"))


def test_script_matches_eager():
    scripted = gt.jit.script(_orders)
    c = gt.tensor([[1.0, 2.0, 3.0], [-1.0, 1.0, 4.0]])
    for _ in range(3):
        for a, b in zip(scripted(c), _orders(c)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def _bad(c: gt.Tensor):
    return gt.norm(c, p="max")


def test_script_refuses_an_unknown_order():
    with pytest.raises(ScriptError, match="p='max' is not a norm order"):
        gt.jit.script(_bad)
