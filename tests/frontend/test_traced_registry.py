"""The registry matrix's "traced" column: every op's samples, traced and interpreted == eager."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import dtypes
from graphtorch.ops.registry import REGISTRY, OpKind
from tests.ops.registry_matrix import UNINITIALIZED, all_cases, case_id, outputs

CASES = [c for c in all_cases((dtypes.float32,))
         if REGISTRY[c[0]].kind is not OpKind.RANDOM and c[0] not in UNINITIALIZED]


def _split(args):
    """Tensor arguments become graph inputs; everything else is a constant of the trace."""
    tensors = [a for a in args if isinstance(a, gt.Tensor)]

    def rebuild(ts):
        it = iter(ts)
        return [next(it) if isinstance(a, gt.Tensor) else a for a in args]

    return tensors, rebuild


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_traced_op_matches_eager(case):
    name, _, _, sample = case
    op = REGISTRY[name]
    tensors, rebuild = _split(sample.args)
    kwargs = sample.kwargs

    def fn(*ts):
        return op(*rebuild(ts), **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = gt.jit.trace(fn, tuple(tensors), strict=False)
    text = str(traced.graph)
    assert f"op::{name}" in text or not tensors, text
    want = outputs(fn(*tensors))
    got = outputs(traced(*tensors))
    assert len(want) == len(got)
    for a, b in zip(got, want):
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-6)
