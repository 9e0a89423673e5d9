"""The registry matrix's "save/load" column: every op's float32 samples, traced, saved to a .gt
archive, loaded and run == eager; the archive's bytes are deterministic."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import dtypes
from graphtorch.archive import load, save
from graphtorch.archive.source_paths import portable_graph
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


def _traced(case):
    name, _, _, sample = case
    op = REGISTRY[name]
    tensors, rebuild = _split(sample.args)
    kwargs = sample.kwargs

    def fn(*ts):
        return op(*rebuild(ts), **kwargs)

    # NOTE: every case traces a function of the same qualified name; archives hold the name
    fn.__qualname__ = f"roundtrip_{name}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = gt.jit.trace(fn, tuple(tensors), strict=False)
    return fn, traced, tensors


def _save(obj) -> bytes:
    buf = io.BytesIO()
    save(obj, buf)
    return buf.getvalue()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_saved_and_loaded_op_matches_eager(case):
    fn, traced, tensors = _traced(case)
    data = _save(traced)
    loaded = load(io.BytesIO(data))
    assert str(loaded.graph) == str(portable_graph(traced.graph))
    want = outputs(fn(*tensors))
    got = outputs(loaded(*tensors))
    assert len(want) == len(got)
    for a, b in zip(got, want):
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-6)
    assert _save(loaded) == data   # save(load(save(f))) is byte-identical


def _first_sample_per_op():
    seen, out = set(), []
    for c in CASES:
        if c[0] not in seen:
            seen.add(c[0])
            out.append(c)
    return out


def test_fresh_traces_save_to_identical_bytes():
    """Tracing the same sample again gives the same archive, for one sample of every op."""
    for case in _first_sample_per_op():
        first = _save(_traced(case)[1])
        assert _save(_traced(case)[1]) == first, case_id(case)
