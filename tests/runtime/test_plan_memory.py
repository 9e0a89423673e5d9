"""The plan's memory plan, part two (runtime/plan_memory.py): a kernel writes its output into
an input array that dies there, only where legal; checked against the interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch.runtime import c_backend, plan_memory
from graphtorch.runtime.c_elementwise import generate
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import plans_of

needs_cc = pytest.mark.skipif(not c_backend.available(), reason="no C compiler")
N = 1 << 16          # float32 elements of the test arrays: 256 KiB each


def run_both(fn, *args):
    """(compiled outputs, interpreter outputs, the plan) with the inputs checked unchanged."""
    before = [a.numpy().copy() if isinstance(a, gt.Tensor) else a for a in args]
    with gt.no_grad():
        set_executor("interpreter")
        want = fn(*args)
        set_executor(None)
        fn(*args)       # the profiling call: the interpreter; the plan is built at the next
        got = fn(*args)
        got = fn(*args)  # NOTE: a second plan call: nothing left over from the first
    for a, b in zip(args, before):
        if isinstance(a, gt.Tensor):
            np.testing.assert_array_equal(a.numpy(), b)   # no input was written
    (plan,) = plans_of(fn).plans.values()
    assert plan.mode == "compiled", plan.explain()
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    for g, w in zip(got, want):
        assert g.dtype is w.dtype and tuple(g.shape) == tuple(w.shape)
        # NOTE: the documented tolerance (docs/fusion.md "Tolerance"), relative to the values'
        # magnitude as in test_plan.py's random fusion graphs
        rtol, atol = (1e-12, 1e-12) if g.dtype is gt.float64 else (1e-5, 1e-6)
        scale = max(1.0, float(np.max(np.abs(w.numpy()), initial=0)))
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=rtol * 10, atol=atol * 10 * scale)
    return got, want, plan


def peak(fn, *args) -> int:
    tracemalloc.start()
    try:
        with gt.no_grad():
            fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def in_place(plan) -> list[str]:
    return [k.detail for k in plan.kernels if "in place" in k.detail]


def chain(x):
    a = (x * 0.5).exp()
    s1 = a.mean()
    b = (a - s1).sin()
    s2 = b.amax()
    return (b - s2).cos()


@needs_cc
def test_a_fusion_group_writes_into_its_dead_input_and_halves_the_peak(monkeypatch):
    x = gt.randn(N)
    f = gt.jit.script(chain)
    _, _, plan = run_both(f, x)
    assert in_place(plan) == ["sub, sin; in place when dead: b into a",
                              "sub, cos; in place when dead: v into b"], plan.explain()
    assert "in place when dead: b into a" in gt.jit.explain(chain, x)
    with_reuse = peak(f, x)
    monkeypatch.setenv("GT_PLAN_REUSE", "0")
    g = gt.jit.script(chain)
    _, _, plan = run_both(g, x)
    assert not in_place(plan) and "_rc(" not in plan.source
    without = peak(g, x)
    # NOTE: one live array at a time instead of two (each N * 4 bytes)
    assert with_reuse < 1.3 * N * 4 <= 1.9 * N * 4 < without, (with_reuse, without)


def returned(x):
    a = (x * 0.5).exp()
    s = a.mean()
    return (a - s).sin(), a


def used_later(x):
    a = (x * 0.5).exp()
    s = a.mean()
    b = (a - s).sin()
    c = b.amax()
    return b * a + c


def graph_input(x):
    s = x.mean()
    return (x - s).sin()


def broadcast(x, y):
    a = (x * 0.5).exp()
    s = a.mean()
    return (a - s + y).sin()


@needs_cc
@pytest.mark.parametrize("fn, shapes", [(returned, [(N,)]), (used_later, [(N,)]),
                                        (graph_input, [(N,)]), (broadcast, [(64, 1), (64, N)])])
def test_no_reuse_where_the_input_lives_on(fn, shapes):
    """Returned, read by a later kernel, a graph input, broadcast to the output's shape: the
    array is never written (a value dying at the last kernel may be)."""
    args = [gt.randn(*s) for s in shapes]
    got, want, plan = run_both(gt.jit.script(fn), *args)
    protected = {"returned": "a", "used_later": "a", "graph_input": "x", "broadcast": "a"}
    assert not any(d.endswith(f" into {protected[fn.__name__]}") for d in in_place(plan)), \
        plan.explain()
    if fn is used_later:   # b dies at the last kernel (b * a + c): written in place
        assert in_place(plan) == ["mul, add; in place when dead: v into b"], plan.explain()


def viewed(x):
    a = (x * 0.5).exp()
    v = a.view(-1, 2)
    s = a.mean()
    return (a - s).sin(), v


@needs_cc
def test_an_array_a_live_view_shares_is_never_written():
    """Statically dead (the view is taken before the kernel); the view keeps the array
    referenced, so the plan's ownership test refuses at run time."""
    x = gt.randn(N)
    f = gt.jit.script(viewed)
    (b, v), (b0, v0), plan = run_both(f, x)
    assert in_place(plan) and "_rc(a) == " in plan.source, plan.source
    np.testing.assert_allclose(v.numpy(), (x * 0.5).exp().view(-1, 2).numpy(), rtol=1e-6)


def loop(x, n: int):
    t = x
    for _ in range(n):
        u = (t * 0.5).exp()
        s = u.mean()
        t = (u - s).tanh()
    return t


@needs_cc
def test_loop_carried_values_are_not_reused_but_body_values_are():
    x = gt.randn(N)
    f = gt.jit.script(loop)
    _, _, plan = run_both(f, x, 5)
    # u dies in the body at its last reader: reused; t (carried to the next iteration, the
    # input at the first) is never written
    assert in_place(plan) == ["sub, tanh; in place when dead: t_1 into u"], plan.explain()


def two_products(x, w1, w2):
    return x @ w1 + x @ w2


@needs_cc
def test_a_numpy_op_between_kernels_writes_with_out():
    x, w1, w2 = gt.randn(256, 64), gt.randn(64, 128), gt.randn(64, 128)
    f = gt.jit.script(two_products)
    _, _, plan = run_both(f, x, w1, w2)
    assert "out=" in plan.source and any(d.startswith("in place") for d in in_place(plan)), \
        plan.source


class Net(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = gt.nn.Parameter(gt.randn(N) * 0.1)

    def forward(self, x):
        a = (x * self.w).exp()
        s = a.mean()
        return (a - s).sin().sum()


@needs_cc
def test_training_calls_keep_what_backward_saves():
    """exp's backward reads its output a: the forward graph keeps it, nothing writes into it."""
    x = gt.randn(N)
    eager, m = Net(), Net()
    m.load_state_dict(eager.state_dict())
    compiled = gt.jit.script(m)
    for _ in range(3):
        compiled.zero_grad()
        compiled(x).backward()
    eager(x).backward()
    np.testing.assert_allclose(compiled.w.grad.numpy(), eager.w.grad.numpy(), rtol=1e-4,
                               atol=1e-6)
    text = gt.jit.explain(compiled, x)
    forward = text[text.index("forward graph plan: compiled"):]
    # NOTE: sub/sin reads a last, but the forward graph returns a (saved): never written
    assert "fusion group [sub, sin]: sub, sin\n" in forward and "into a" not in forward, text


def test_the_in_place_c_variant_never_aliases_two_restrict_pointers():
    class Spec:
        source = "def chunk(a, b, t0):\n    t0 = np.add(a, b, out=t0)\n"
        chunk = staticmethod(lambda: None)
        temps = []
        out_temps = ["t0"]
        out_dtypes = [np.dtype(np.float32)]

    Spec.chunk.__globals__["np"] = np
    kinds = [np.dtype(np.float32)] * 2
    plain = generate(Spec, kinds, ["1", "1"])
    inplace = generate(Spec, kinds, ["1", "1"], alias=((0, 1),))
    assert "float* restrict out0_p" in plain and "out0_p" not in inplace.split("void kernel")[0]
    assert "const float* restrict b_p" not in inplace and "float* restrict b_p" in inplace
    assert "b_r[j] = t0;" in inplace


@needs_cc
def test_the_in_place_variant_computes_what_the_allocating_one_does():
    def fn(x, y):
        a = (x * y).exp()
        s = a.amax()
        t = a.mean()
        return (a - s) * y + t

    x, y = gt.randn(64, 1000), gt.randn(64, 1000)
    f = gt.jit.script(fn)
    _, _, plan = run_both(f, x, y)
    assert in_place(plan) == ["sub, mul, add; in place when dead: v into a"], plan.explain()


# --- hypothesis: random chains of elementwise groups between reductions ----------------------
UNARY = ["exp", "sin", "tanh", "neg", "relu"]


@st.composite
def chains(draw):
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        steps.append((draw(st.sampled_from(UNARY)), draw(st.sampled_from(["sum", "amax", "mean",
                                                                           "none", "keep"])),
                      draw(st.integers(0, 9)), draw(st.booleans())))
    shape = draw(st.sampled_from([(7,), (3, 5), (4, 1), (2, 3, 4)]))
    dtype = draw(st.sampled_from([gt.float32, gt.float64]))
    return shape, dtype, steps, draw(st.integers(0, 2**16))


@needs_cc
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains())
def test_random_chains_with_reuse_equal_the_interpreter(program):
    """Values are reused, kept for a later step, returned or viewed at random: every result
    equals the interpreter's and no input changes."""
    shape, dtype, steps, seed = program
    rng = np.random.default_rng(seed)
    x = gt.tensor(rng.standard_normal(shape)).to(dtype)
    y = gt.tensor(rng.standard_normal(shape[-1:])).to(dtype)

    def fn(x, y):
        vals, kept = [x], []
        for unary, red, pick, keep in steps:
            a = vals[pick % len(vals)]
            v = getattr(gt, unary)(a * 0.5 + y)
            if red == "keep":
                kept.append(v.reshape(-1))
            elif red != "none":
                v = v - getattr(v, red)()
            if keep:
                kept.append(v)
            vals.append(v)
        return (vals[-1], *kept)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = gt.jit.trace(fn, (x, y), check_trace=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plan_memory, "MIN_BYTES", 0)   # NOTE: small arrays get C variants too
        run_both(traced, x, y)


def test_small_groups_get_no_in_place_variant():
    """Below plan_memory.MIN_BYTES a fresh array is cheap: no extra C variant to compile."""
    x = gt.randn(64, 128)
    _, _, plan = run_both(gt.jit.script(chain), x)
    assert not in_place(plan) and x.numel() * 4 < plan_memory.MIN_BYTES


CACHED = """
import json, sys, tracemalloc
import numpy as np
import graphtorch as gt
from graphtorch.runtime.executor import plans_of

def chain(x):
    a = (x * 0.5).exp()
    s1 = a.mean()
    b = (a - s1).sin()
    s2 = b.amax()
    return (b - s2).cos()

n = int(sys.argv[1])
x = gt.tensor(np.linspace(-2, 2, n, dtype=np.float32))
f = gt.jit.script(chain)
with gt.no_grad():
    f(x)
    f(x)   # the plan: built, or loaded from the disk cache
    tracemalloc.start()
    got = f(x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    y = gt.tensor(np.linspace(-1, 1, 2 * n, dtype=np.float32))
    f(y)   # another size: the group's runner adds its launches (a loaded plan's too)
    tracemalloc.start()
    got2 = f(y)
    peak2 = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert np.allclose(got2.numpy(), chain(y).numpy(), rtol=1e-5, atol=1e-5)
(plan,) = plans_of(f).plans.values()
print(json.dumps({"cache": plan.cache, "got": got.numpy().tolist(),
                  "want": chain(x).numpy().tolist(), "peak": peak, "peak2": peak2,
                  "in_place": [k.detail for k in plan.kernels if "in place" in k.detail]}))
"""


@needs_cc
def test_a_plan_loaded_from_the_disk_cache_keeps_writing_in_place(tmp_path):
    env = dict(os.environ, GT_CACHE_DIR=str(tmp_path / "cache"))
    program = tmp_path / "program.py"   # NOTE: a file: scripting reads the function's source
    program.write_text(CACHED)
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, str(program), str(N)], env=env, check=True,
                             capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["cache"] for r in runs] == ["saved to disk", "loaded from disk"]
    for r in runs:
        np.testing.assert_allclose(r["got"], r["want"], rtol=1e-5, atol=1e-5)
        assert r["in_place"] == ["sub, sin; in place when dead: b into a",
                                 "sub, cos; in place when dead: v into b"]
        assert r["peak"] < 1.3 * N * 4, r["peak"]   # one live array: the loaded launches too
        assert r["peak2"] < 1.3 * 2 * N * 4, r["peak2"]


@needs_cc
def test_a_new_geometry_gets_its_in_place_variant_too():
    """The plan was recorded at one size; another size (same signature) first runs through the
    group's runner, which adds that geometry's launches, in-place one included."""
    f = gt.jit.script(chain)
    run_both(f, gt.randn(N))
    y = gt.randn(2 * N)
    with gt.no_grad():
        got = f(y)   # the new geometry: launches added
    np.testing.assert_allclose(got.numpy(), chain(y).numpy(), rtol=1e-5, atol=1e-5)
    assert peak(f, y) < 1.3 * 2 * N * 4
    with gt.no_grad():
        np.testing.assert_allclose(f(y).numpy(), chain(y).numpy(), rtol=1e-5, atol=1e-5)


def two_outputs(x):
    a = (x * 0.5).exp()
    b = (x * 0.25).sin()
    s = a.mean() + b.amax()
    return (a - s).tanh(), b * s + a


@needs_cc
def test_a_group_of_two_outputs_writes_each_into_its_own_dead_input():
    x = gt.randn(N)
    f = gt.jit.script(two_outputs)
    _, _, plan = run_both(f, x)
    assert in_place(plan) == ["add, sub, tanh, mul, add; in place when dead: v_2 into a, "
                              "v_3 into b"], plan.explain()
    assert peak(f, x) < 2.3 * N * 4   # the two results, nothing more
