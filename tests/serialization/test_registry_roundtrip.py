"""The registry matrix's "save/load" column: every op's float32 samples, traced, saved to a .gt
archive, loaded and run == eager; the archive's bytes are deterministic."""

from __future__ import annotations

import io

import pytest

from graphtorch.archive import load, save
from graphtorch.archive.source_paths import portable_graph
from tests.ops.registry_matrix import assert_same_outputs, case_id, graph_cases, trace_case

CASES = graph_cases()


def _traced(case):
    # NOTE: every case traces a function of the same qualified name; archives hold the name
    return trace_case(case, qualname=f"roundtrip_{case[0]}")


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
    want = fn(*tensors)
    assert_same_outputs(loaded(*tensors), want)
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
