"""The plan's inline C launches of fusion groups (plan_codegen ``fusion_launch``): looked up by
the arrays' shapes, strides and dtypes, checked against the reference interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.runtime import c_backend
from graphtorch.runtime.c_launch import address, launcher
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import plans_of
from graphtorch.runtime.plan import signature

needs_cc = pytest.mark.skipif(not c_backend.available(), reason="no C compiler")


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


BATCH = """
import json, graphtorch as gt, numpy as np
from graphtorch.runtime import c_backend
from graphtorch.runtime.c_launch import address, launcher
from graphtorch.runtime.executor import plans_of

def blocks(x):
    for i in range(4):   # fusion groups with their own constants: a kernel each
        x = (x * (1.5 + i / 10) + (i + 0.5)).tanh() - x.mean(-1, keepdim=True)
    return x

x = gt.randn(6, 7)
f = gt.jit.trace(blocks, x)
with gt.no_grad():
    f(x)
    got = f(x)   # builds the plan: its kernels compiled together
want = blocks(x)
np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
plan = next(iter(plans_of(f).plans.values()))
# NOTE: each block's group reads its mean: a reduction group with that epilogue
groups = [k for k in plan.kernels if k.name.startswith(("fusion group", "reduction group"))]
print(json.dumps({"groups": len(groups), "c": sum(k.backend == "c" for k in groups),
                  "mode": plan.mode}))
"""


@needs_cc
def test_a_cold_plan_compiles_its_kernels_in_one_batch(tmp_path):
    env = dict(os.environ, GT_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", BATCH], env=env, check=True,
                         capture_output=True, text=True).stdout
    first = json.loads(out.strip().splitlines()[-1])
    assert first["mode"] == "compiled" and first["c"] == first["groups"] >= 3
    kernels = tmp_path / "kernels"
    batches = list(kernels.glob("gt_batch_*.so"))
    refs = list(kernels.glob("*.ref"))
    assert len(batches) == 1 and len(refs) == first["groups"]
    # a second process finds every kernel in the batch library: nothing is compiled again
    before = {p.name: p.stat().st_mtime_ns for p in kernels.iterdir()}
    out = subprocess.run([sys.executable, "-c", BATCH], env=env, check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == first
    assert {p.name: p.stat().st_mtime_ns for p in kernels.iterdir()} == before


@needs_cc
def test_batch_members_keep_their_own_functions(tmp_path, monkeypatch):
    monkeypatch.setenv("GT_CACHE_DIR", str(tmp_path))
    head = "#include <stdint.h>\n"
    body = ("static double scale(double v) {{ return v * {k}; }}\n"
            "void kernel(void *const *P, const int64_t *I, const double *D) {{\n"
            "  ((double *)P[0])[0] = scale(D[0]) + (double)I[0];\n}}\n")
    sources = [head + body.format(k=k) for k in (2, 3, 5)]
    assert c_backend.load_many(sources, jobs=2, prelude=head) == 3
    for k, src in zip((2, 3, 5), sources):
        out = np.zeros(1)
        launcher()(address(c_backend.load(src)), [out], [1], [1.5])
        assert out[0] == 1.5 * k + 1
    assert c_backend.load_many(sources, jobs=2, prelude=head) == 0  # all cached now


# --- calls that record gradients (plan mode "autograd-codegen") ------------------------------
class Net(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = gt.nn.Linear(4, 6)
        self.b = gt.nn.Linear(6, 2)

    def forward(self, x, k: int):
        h = self.a(x).tanh()
        for _ in range(k):
            h = h * 0.5 + 1
        if k > 1:
            h = h.softmax(-1)
        return self.b(h).sum(), h


def grads_of(model, x, k):
    model.zero_grad()
    loss, h = model(x, k)
    loss.backward()
    return [loss.detach().numpy()] + [p.grad.numpy().copy() for p in model.parameters()]


def test_gradient_calls_run_generated_code_and_equal_the_interpreter():
    gt.manual_seed(0)
    net = Net()
    scripted = gt.jit.script(net)
    x = gt.randn(3, 4)
    for k in (0, 2, 3, 2):
        got = grads_of(scripted, x, k)
        set_executor("interpreter")
        want = grads_of(scripted, x, k)
        set_executor(None)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    plans = list(plans_of(scripted).plans.values())
    assert [p.mode for p in plans] == ["autograd-codegen"]
    assert "records gradients" in plans[0].explain()


def test_gradient_calls_with_in_place_effects_run_the_interpreter():
    @gt.jit.script
    def bump(x, y):
        y.add_(1)
        return (x * y).sum()

    x = gt.randn(3, requires_grad=True)
    y = gt.zeros(3)
    for _ in range(3):
        bump(x, y).backward()
    np.testing.assert_allclose(y.numpy(), [3, 3, 3])
    np.testing.assert_allclose(x.grad.numpy(), [6, 6, 6])  # 1 + 2 + 3
    plan = next(iter(plans_of(bump).plans.values()))
    assert plan.mode == "interpreter" and "prim::Inplace" in plan.reason


def test_gradient_call_errors_keep_the_interpreters_message():
    f = gt.jit.trace(lambda a, b: (a + b).sum(), (gt.ones(3), gt.ones(3)))
    a = gt.ones(3, requires_grad=True)
    f(a, gt.ones(3))
    f(a, gt.ones(3))
    set_executor("interpreter")
    with pytest.raises(Exception) as want:
        f(a, gt.ones(4))
    set_executor(None)
    with pytest.raises(type(want.value)) as got:
        f(a, gt.ones(4))
    assert str(got.value) == str(want.value)
    plan = next(iter(plans_of(f).plans.values()))
    assert plan.mode == "autograd-codegen"  # a user error is no reason to demote
