"""The registry matrix's "traced" column: every op's samples, traced and interpreted == eager."""

from __future__ import annotations

import pytest

from tests.ops.registry_matrix import assert_same_outputs, case_id, graph_cases, trace_case

CASES = graph_cases()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_traced_op_matches_eager(case):
    fn, traced, tensors = trace_case(case)
    text = str(traced.graph)
    assert f"op::{case[0]}" in text or not tensors, text
    want = fn(*tensors)
    assert_same_outputs(traced(*tensors), want)
