"""The plan's inline C launches of fusion groups (plan_codegen ``fusion_launch``): looked up by
the arrays' shapes, strides and dtypes, checked against the reference interpreter."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.runtime import c_backend
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import plans_of
from graphtorch.runtime.plan import signature

needs_cc = pytest.mark.skipif(not c_backend.available(), reason="no C compiler")


@pytest.fixture(autouse=True)
def _default_executor():
    set_executor(None)
    yield
    set_executor(None)


def reference(fn, *args):
    set_executor("interpreter")
    try:
        with gt.no_grad():
            return fn(*args)
    finally:
        set_executor(None)


def same(got, want) -> None:
    assert got.dtype is want.dtype and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def the_plan(fn, *args):
    with gt.no_grad():
        return plans_of(fn).plans[signature(list(args))]


@gt.jit.script
def scaled(x, y, k: float, n: int, flag: bool):
    return (x * k + y * n).exp() * 0.5 + flag


@needs_cc
def test_fusion_groups_launch_inline_for_every_geometry():
    x, y = gt.randn(4, 5), gt.randn(4, 5)
    with gt.no_grad():
        scaled(x, y, 0.5, 2, True)
        scaled(x, y, 0.5, 2, True)
    plan = the_plan(scaled, x, y, 0.5, 2, True)
    assert plan.mode == "compiled" and "_launch(" in plan.source
    cases = [(x, y, 0.5, 2, True), (x, y, -1.5, 3, False),
             (gt.randn(7, 3), gt.randn(7, 3), 0.25, 1, True),   # a new shape: a new variant
             (gt.randn(5, 4).t(), y, 1.0, 0, False),          # strided: another variant
             (x, gt.randn(5), 2.0, -1, True)]                  # broadcasting
    for args in cases:
        with gt.no_grad():
            got = scaled(*args)
        same(got, reference(scaled, *args))
    assert plan.mode == "compiled"  # no call was demoted to the interpreter


@gt.jit.script
def branchy(x, wide: bool):
    if wide:
        y = x.double()
    else:
        y = x.float()
    return (y * 3 + 1).tanh()


@needs_cc
def test_a_dtype_the_recording_never_saw_is_not_launched_as_another():
    x = gt.randn(64, dtype=gt.float16)
    with gt.no_grad():
        branchy(x, True)
        branchy(x, True)   # the plan, recorded with float64 reaching the group
        got = branchy(x, False)   # float32 reaches it now: same shape, another dtype
    want = reference(branchy, x, False)
    assert got.dtype is gt.float32
    same(got, want)
    assert the_plan(branchy, x, True).mode == "compiled"
    with gt.no_grad():
        same(branchy(x, True), reference(branchy, x, True))
