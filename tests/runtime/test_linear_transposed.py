"""``linear -> activation -> linear`` with the first product transposed (runtime/c_epilogue.py):
the epilogue works on ``W @ x.T`` in place, the next linear reads the F-ordered result as a
plain matrix; results equal the interpreter, every returned array is C-ordered, and anything
else reading the activation keeps the ordinary path."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch import nn
from graphtorch.ops.registry import REGISTRY
from graphtorch.runtime import c_backend, c_epilogue
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import plans_of
from graphtorch.runtime.plan import tolerance
from graphtorch.runtime.plan_kernels import linear_flat

needs_cc = pytest.mark.skipif(not c_backend.available(), reason="no C compiler")

ACTIVATIONS = {"gelu": lambda: nn.GELU(), "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
               "relu": lambda: nn.ReLU(), "silu": lambda: nn.SiLU(),
               "sigmoid": lambda: nn.Sigmoid(), "tanh": lambda: nn.Tanh()}


def run_both(model, x):
    """(compiled output, interpreter output, the plan that ran)."""
    with gt.no_grad():
        set_executor("interpreter")
        want = model(x)
        set_executor(None)
        model(x)  # the profiling run
        got = model(x)
    plan = next(p for p in plans_of(model).plans.values() if p.calls)
    assert plan.mode == "compiled"
    return got, want, plan


def check(got, want, dtype):
    rtol, atol = tolerance(np.dtype(dtype))
    assert got.numpy().flags.c_contiguous and got.is_contiguous()
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=rtol, atol=atol)


@needs_cc
@settings(max_examples=15, deadline=None)
@given(rows=st.integers(1, 40), n_in=st.integers(1, 40), hidden=st.integers(1, 40),
       n_out=st.integers(1, 40), act=st.sampled_from(sorted(ACTIVATIONS)),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_mlp_with_a_transposed_product_equals_the_interpreter(rows, n_in, hidden, n_out, act,
                                                              dtype, seed):
    gt.manual_seed(seed)
    mlp = nn.Sequential(nn.Linear(n_in, hidden), ACTIVATIONS[act](), nn.Linear(hidden, n_out))
    if dtype == np.float64:
        mlp = mlp.double()
    model = gt.jit.script(mlp.eval())
    x = gt.from_numpy(np.random.default_rng(seed).standard_normal((rows, n_in)).astype(dtype))
    got, want, plan = run_both(model, x)
    assert ".product(" in plan.source  # the plan asks for the transposed product ...
    check(got, want, dtype)  # ... which applies from MIN_SIDE rows and features up


@needs_cc
def test_a_chain_transposes_every_product_feeding_a_linear():
    gt.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(48, 64), nn.GELU(), nn.Linear(64, 32), nn.ReLU(),
                        nn.Linear(32, 24), nn.Tanh())
    model = gt.jit.script(mlp.eval())
    x = gt.randn(40, 48)
    got, want, plan = run_both(model, x)
    assert plan.source.count(".product(") == 2  # the last activation is returned: not
    check(got, want, np.float32)
    with gt.no_grad():
        check(got, mlp(x), np.float32)


class TwoReaders(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(32, 32), nn.Linear(32, 32)

    def forward(self, x):
        h = gt.relu(self.a(x))
        return self.b(h) + h


@needs_cc
def test_an_activation_read_twice_keeps_the_ordinary_product():
    gt.manual_seed(1)
    model = gt.jit.script(TwoReaders().eval())
    x = gt.randn(20, 32)
    got, want, plan = run_both(model, x)
    assert ".product(" not in plan.source
    check(got, want, np.float32)


@needs_cc
@pytest.mark.parametrize("shape", [(16, 24), (33, 17), (64, 100)])
def test_the_epilogue_on_a_transposed_product_and_the_next_linear(shape):
    rng = np.random.default_rng(0)
    rows, n = shape
    x = rng.standard_normal((rows, 20)).astype(np.float32)
    w = rng.standard_normal((n, 20)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    w2 = rng.standard_normal((18, n)).astype(np.float32)
    b2 = rng.standard_normal(18).astype(np.float32)
    epi = c_epilogue.Epilogue(REGISTRY["gelu"], owns_input=True)
    p = epi.product(np, x, w, None)
    assert p.flags.f_contiguous and not p.flags.c_contiguous
    y = epi(p, b, "none")
    ref = REGISTRY["gelu"].kernel(np, x @ w.T + b, "none")
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    out = linear_flat(np, y, w2, b2)
    assert out.flags.c_contiguous
    np.testing.assert_allclose(out, ref.astype(np.float64) @ w2.T.astype(np.float64) + b2,
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(c_epilogue.linear_of_transposed(y, w2, None) + b2, out)


def test_linear_of_transposed_declines_what_it_does_not_cover():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((24, 20)).astype(np.float32)
    f = np.asfortranarray(rng.standard_normal((30, 20)).astype(np.float32))
    assert c_epilogue.linear_of_transposed(np.ascontiguousarray(f), w, None) is None  # C rows
    assert c_epilogue.linear_of_transposed(f, w.astype(np.float64), None) is None
    assert c_epilogue.linear_of_transposed(f, w, np.zeros(23, np.float32)) is None
    assert c_epilogue.linear_of_transposed(f[:8], w, None) is None  # fewer than MIN_SIDE rows
    # the plan's linear still answers, through its usual path
    np.testing.assert_allclose(linear_flat(np, f[:8], w, None), f[:8] @ w.T, rtol=1e-6)


LOADED = r"""
import json
import numpy as np
import graphtorch as gt
from graphtorch.runtime import plan_store
from graphtorch.runtime.executor import plans_of

plan_store._FINGERPRINT[:] = ["pinned"]
gt.manual_seed(0)
mlp = gt.nn.Sequential(gt.nn.Linear(32, 64), gt.nn.GELU(), gt.nn.Linear(64, 16)).eval()
s = gt.jit.script(mlp)
x = gt.randn(24, 32)
with gt.no_grad():
    s(x)
    got = s(x)
    plan = next(iter(plans_of(s).plans.values()))
    err = float(np.abs(got.numpy() - mlp(x).numpy()).max())
    print(json.dumps({"cache": plan.cache, "err": err, "mode": plan.mode,
                      "c": bool(got.numpy().flags.c_contiguous)}))
"""


@needs_cc
def test_a_plan_with_a_transposed_product_is_saved_and_loaded(tmp_path):
    env = dict(os.environ, GT_CACHE_DIR=str(tmp_path))
    env.pop("GT_EXECUTOR", None)
    runs = [json.loads(subprocess.run([sys.executable, "-c", LOADED], env=env, check=True,
                                      capture_output=True, text=True).stdout.splitlines()[-1])
            for _ in range(2)]
    assert [r["cache"] for r in runs] == ["saved to disk", "loaded from disk"]
    for r in runs:
        assert r["mode"] == "compiled" and r["c"] and r["err"] < 1e-5
