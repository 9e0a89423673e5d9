"""The "compiled" column of the registry matrix: every op's samples, run through the default
executor's execution plan (optimizing pipeline, raw-array code, C / numpy kernels), equal the
reference interpreter within the documented tolerance (docs/fusion.md)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import dtypes
from graphtorch.ops.lowering import lowering_of
from graphtorch.ops.registry import REGISTRY, OpKind
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import prepared_function
from tests.ops.registry_matrix import (
    UNINITIALIZED,
    all_cases,
    case_id,
    graph_cases,
    outputs,
    split_tensors,
    trace_case,
)

# compiled vs interpreter: fast-math C (libmvec, reassociated sums) changes rounding only
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
ATOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}


def assert_close(got, want) -> None:
    got, want = outputs(got), outputs(want)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert isinstance(a, gt.Tensor) and isinstance(b, gt.Tensor)
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
        x, y = a.numpy(), b.numpy()
        if x.dtype.kind in "f":
            np.testing.assert_allclose(x, y, rtol=RTOL.get(x.dtype, 1e-3),
                                       atol=ATOL.get(x.dtype, 1e-3), equal_nan=True)
        else:
            np.testing.assert_array_equal(x, y)


def run_both(fn, args):
    """(compiled, reference) outputs; the compiled call is the plan's (the second call)."""
    with gt.no_grad():
        set_executor("interpreter")
        want = fn(*args)
        set_executor(None)
        fn(*args)  # the profiling run
        got = fn(*args)
    (plan,) = prepared_function(fn).plans.plans.values()
    return got, want, plan


@pytest.mark.parametrize("case", graph_cases(), ids=case_id)
def test_compiled_equals_interpreter(case):
    try:
        _, traced, tensors = trace_case(case)
    except Exception:  # noqa: BLE001 - samples that raise eagerly are not graphs
        pytest.skip("the sample raises eagerly: no graph to compile")
    got, want, plan = run_both(traced, tensors)
    assert plan.mode in ("compiled", "tensor-codegen"), plan.explain()
    assert_close(got, want)


FUSABLE = [c for c in all_cases((dtypes.float32, dtypes.float64, dtypes.int64),
                                kinds=(OpKind.ELEMENTWISE,))
           if lowering_of(REGISTRY[c[0]]) is not None and c[0] not in UNINITIALIZED]


@pytest.mark.parametrize("case", FUSABLE, ids=case_id)
def test_fused_chain_equals_interpreter(case):
    """The op inside a chain, so it joins a fusion group (a C kernel where a compiler exists)."""
    name, _, _, sample = case
    op = REGISTRY[name]
    tensors, rebuild = split_tensors(sample.args)
    if not tensors:
        pytest.skip("no tensor argument")

    def fn(*ts):
        r = op(*rebuild(ts), **sample.kwargs)
        return (r * 2 + ts[0]).abs() if r.dtype != gt.bool else r.logical_not()

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(*tensors)
            traced = gt.jit.trace(fn, tuple(tensors), strict=False)
    except Exception:  # noqa: BLE001 - samples that raise eagerly are not graphs
        pytest.skip("the sample raises eagerly: no graph to compile")
    got, want, plan = run_both(traced, tensors)
    assert plan.mode == "compiled", plan.explain()
    assert_close(got, want)
