"""Execution plans (runtime/plan.py): the default executor, checked against the interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch import nn
from graphtorch.runtime import c_backend
from graphtorch.runtime.autodiff_exec import set_autodiff
from graphtorch.runtime.cpu_codegen import get_executor, set_executor
from graphtorch.runtime.executor import plans_of

RTOL = {gt.float32: 1e-5, gt.float64: 1e-12}
ATOL = {gt.float32: 1e-6, gt.float64: 1e-12}
needs_cc = pytest.mark.skipif(not c_backend.available(), reason="no C compiler")


def close(got, want) -> None:
    got = got if isinstance(got, (tuple, list)) else [got]
    want = want if isinstance(want, (tuple, list)) else [want]
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
        if a.dtype.is_floating_point:
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=RTOL[a.dtype],
                                       atol=ATOL[a.dtype], equal_nan=True)
        else:
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def compiled_and_reference(fn, *args):
    """(the plan's output, the interpreter's output, the plan) for one input signature."""
    with gt.no_grad():
        set_executor("interpreter")
        want = fn(*args)
        set_executor(None)
        fn(*args)  # profiling run: the interpreter
        before = {id(p): p.calls for p in plans_of(fn).plans.values()}
        got = fn(*args)
    ran = [p for p in plans_of(fn).plans.values() if before.get(id(p)) != p.calls]
    assert len(ran) == 1
    return got, want, ran[0]


def test_compiled_is_the_default_executor():
    if os.environ.get("GT_EXECUTOR"):
        pytest.skip("GT_EXECUTOR is set in this environment")
    assert get_executor() == "compiled"


def test_gt_executor_selects_the_interpreter():
    code = ("import graphtorch as gt\n"
            "from graphtorch.runtime.executor import plans_of\n"
            "x = gt.ones(3)\n"
            "f = gt.jit.trace(lambda x: x * 2 + 1, (x,))\n"
            "f(x); f(x); f(x)\n"
            "print(gt.jit.get_executor(), len(plans_of(f).plans))\n")
    env = dict(os.environ, GT_EXECUTOR="interpreter")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["interpreter", "0"]


@gt.jit.script
def chain(x, y):
    return gt.sin(gt.exp(x * y + 1)) * 0.5 + x


def test_plan_built_once_per_signature_and_explained():
    x, y = gt.randn(64), gt.randn(64)
    got, want, plan = compiled_and_reference(chain, x, y)
    close(got, want)
    assert plan.mode == "compiled"
    text = plan.explain()
    assert "plan: compiled" in text and "fusion group [mul, add, exp, sin, mul, add]" in text
    assert ("[c]" in text) == c_backend.available()
    with gt.no_grad():
        chain(gt.randn(8), gt.randn(8))  # same dtypes and ranks: the same plan
        assert len(plans_of(chain).plans) == 1
        chain(gt.randn(8).double(), gt.randn(8).double())
        chain(gt.randn(8).double(), gt.randn(8).double())
    assert len(plans_of(chain).plans) == 2


def test_jit_explain_reports_the_plan():
    m = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 4))
    text = gt.jit.explain(m, gt.randn(2, 8))
    assert "plan: compiled" in text
    if c_backend.available():
        assert "linear + gelu epilogue" in text


def test_gradient_calls_run_tensor_level_code_and_train():
    set_autodiff(False)  # NOTE: the default trains through autodiff (test_autodiff_exec.py)
    gt.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    s = gt.jit.script(m)
    x = gt.randn(5, 4)
    for _ in range(2):
        s.zero_grad()
        s(x).sum().backward()
    got = [p.grad.numpy().copy() for p in s.parameters()]
    m.zero_grad()
    m(x).sum().backward()
    for g, p in zip(got, m.parameters()):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-6, atol=1e-7)
    plan = next(iter(plans_of(s).plans.values()))
    assert plan.mode == "autograd-codegen" and "gradients" in plan.reason


def loop(t):
    for _ in range(20):
        t = t * 1.0001 + 0.0001
    return t


def test_constant_loops_unroll_and_fuse():
    f = gt.jit.script(loop)
    got, want, plan = compiled_and_reference(f, gt.randn(100))
    close(got, want)
    kinds = [n.kind for n in plan.graph.walk()]
    assert "prim::Loop" not in kinds
    assert kinds.count("prim::FusionGroup") == 1


def loop_reads_outer(x, h):
    w = x * 2.0
    for _ in range(3):
        h = gt.tanh(w + h)
    return h


def test_unrolled_loop_bodies_read_values_defined_outside_the_loop():
    # the copies of the body read w from the enclosing scope: the pipeline failed on it and
    # the whole plan ran the interpreter
    f = gt.jit.script(loop_reads_outer)
    got, want, plan = compiled_and_reference(f, gt.randn(3, 4), gt.randn(3, 4))
    close(got, want)
    assert plan.mode == "compiled", plan.reason
    assert "prim::Loop" not in [n.kind for n in plan.graph.walk()]


def branchy(x, n: int):
    acc = x
    for _ in range(n):
        if bool(acc.sum() > 0):
            acc = acc - 1.5
        else:
            acc = acc * 2.0 + 1
    return acc


def test_paths_not_taken_when_recorded_still_run_correctly():
    f = gt.jit.script(branchy)
    x = gt.ones(4)
    with gt.no_grad():
        f(x, 0)
        f(x, 0)  # plan recorded with the loop never entered
        for n in (1, 3, 6):
            set_executor("interpreter")
            want = f(x, n)
            set_executor(None)
            close(f(x, n), want)
    assert next(iter(plans_of(f).plans.values())).mode == "compiled"


def test_a_returned_input_keeps_its_identity():
    x = gt.randn(3)
    f = gt.jit.trace(lambda x, y: (x, x + y), (x, x))
    with gt.no_grad():
        f(x, x)
        out = f(x, x)
    assert out[0] is x


@needs_cc
@pytest.mark.parametrize("shapes", [((4, 5), (4, 5)), ((4, 1), (1, 5)), ((4, 5), (5,)),
                                    ((4, 5), ()), ((2, 3, 4), (3, 1)), ((3, 4, 5), (4, 5))])
def test_broadcasting_layouts_in_c(shapes):
    a, b = gt.randn(*shapes[0]), gt.randn(*shapes[1])
    got, want, plan = compiled_and_reference(chain, a, b)
    close(got, want)
    assert plan.mode == "compiled"


@needs_cc
def test_strided_inputs_in_c():
    a = gt.randn(6, 5).t()  # a transposed (non-contiguous) input
    got, want, _ = compiled_and_reference(chain, a, gt.randn(5, 6))
    close(got, want)


def mixed(a, b, k: float):
    return (a * k + b) / 3, (a > b) & (b >= 0), a.float() * b


@needs_cc
def test_mixed_dtypes_promote_as_pytorch():
    f = gt.jit.script(mixed)
    a = gt.tensor([[1, -2, 3], [4, 5, -6]])
    b = gt.tensor([0.5, -1.5, 2.0])
    for k in (2.0, 0.5):
        got, want, _ = compiled_and_reference(f, a, b, k)
        close(got, want)


def rows(x, w, b):
    return (gt.softmax(x, -1), gt.log_softmax(x, -1), gt.softmax(x, 0),
            gt.nn.functional.layer_norm(x, [x.shape[-1]], w, b, 1e-5))


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64])
def test_row_kernels_equal_the_interpreter(dtype):
    f = gt.jit.script(rows)
    x = (gt.randn(7, 33) * 10).to(dtype)
    w, b = gt.randn(33).to(dtype), gt.randn(33).to(dtype)
    got, want, plan = compiled_and_reference(f, x, w, b)
    close(got, want)
    if c_backend.available():
        assert "softmax (row kernel)" in plan.explain()


def test_row_kernels_propagate_nan_and_inf():
    f = gt.jit.script(rows)
    x = gt.randn(5, 9)
    x[1, 3] = float("nan")
    x[2, 0] = float("inf")
    x[3, 4] = float("-inf")
    got, want, _ = compiled_and_reference(f, x, gt.ones(9), gt.zeros(9))
    close(got, want)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_linear_activation_epilogue(approximate):
    gt.manual_seed(1)
    m = gt.jit.script(nn.Sequential(nn.Linear(16, 32), nn.GELU(approximate=approximate),
                                    nn.Linear(32, 8), nn.ReLU()))
    got, want, plan = compiled_and_reference(m, gt.randn(5, 16) * 3)
    close(got, want)
    assert plan.mode == "compiled"


def test_a_failing_plan_is_demoted_and_the_answer_stays_right():
    x = gt.randn(4)
    f = gt.jit.trace(lambda x: x * 3 - 1, (x,))
    with gt.no_grad():
        f(x)
        f(x)
        plan = next(iter(plans_of(f).plans.values()))

        def broken(inputs):
            raise TypeError("a code generator bug")

        plan.runner = broken
        np.testing.assert_allclose(f(x).numpy(), (x * 3 - 1).numpy())
    assert plan.mode == "interpreter" and "a code generator bug" in plan.reason


def test_user_errors_keep_the_interpreters_message():
    f = gt.jit.trace(lambda x, y: x + y, (gt.ones(3), gt.ones(3)))
    with gt.no_grad():
        f(gt.ones(3), gt.ones(3))
        f(gt.ones(3), gt.ones(3))
        with pytest.raises(gt.errors.GraphtorchError, match="must match the size"):
            f(gt.ones(3), gt.ones(4))


@needs_cc
def test_fast_math_error_is_within_the_documented_bound():
    """docs/fusion.md: fast-math C changes float32 results by at most ~4 ulp per libm call."""
    x = gt.linspace(-3, 3, 10_001)
    y = gt.linspace(0.5, -0.5, 10_001)
    with gt.no_grad():
        chain(x, y)
        got = chain(x, y).numpy().astype(np.float64)
    xd, yd = x.numpy().astype(np.float64), y.numpy().astype(np.float64)
    exact = np.sin(np.exp(xd * yd + 1)) * 0.5 + xd
    assert np.max(np.abs(got - exact)) <= 1e-5 * np.max(np.abs(exact)) + 1e-6


@needs_cc
def test_kernels_are_cached_on_disk(tmp_path):
    code = ("import graphtorch as gt, time\n"
            "x = gt.randn(10)\n"
            "f = gt.jit.trace(lambda x: (x * 0.25 + 3).tanh() - x, (x,))\n"
            "with gt.no_grad():\n"
            "    f(x); f(x)\n")
    env = dict(os.environ, GT_CACHE_DIR=str(tmp_path))
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    libs = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "kernels").glob("*.so")}
    assert libs
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    again = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "kernels").glob("*.so")}
    assert again == libs  # nothing rebuilt


def test_numpy_backend_without_a_compiler():
    code = ("import graphtorch as gt, numpy as np\n"
            "from graphtorch.cli import environment\n"
            "from graphtorch.runtime.executor import plans_of\n"
            "x, y = gt.randn(4, 9), gt.randn(9)\n"
            "f = gt.jit.trace(lambda x, y: (gt.sin(x * y) + 1).softmax(-1), (x, y))\n"
            "with gt.no_grad():\n"
            "    want = f(x, y); got = f(x, y)\n"
            "np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)\n"
            "print(environment()['cpu_backend'], '[c]' in plans_of(f).explain())\n")
    env = dict(os.environ, GT_CPU_BACKEND="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["numpy", "False"]


# --- hypothesis: random elementwise / reduction DAGs --------------------------------------------
SHAPES = [(3, 4), (4,), (3, 1), (1, 4), ()]
DTYPES = [gt.float32, gt.float64, gt.int64, gt.int32]
UNARY = ["exp", "abs", "neg", "sin", "tanh", "sigmoid", "relu", "sqrt_abs", "floor"]
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "gt_where", "pow2"]
REDUCE = ["sum", "mean", "amax", "softmax"]


def _apply(step, vals):
    kind, name, i, j = step
    a, b = vals[i % len(vals)], vals[j % len(vals)]
    if kind == "u":
        if name == "sqrt_abs":
            return a.abs().sqrt() if a.dtype.is_floating_point else a.abs()
        if name in ("exp", "sin", "tanh", "sigmoid") and not a.dtype.is_floating_point:
            a = a.float()
        return {"exp": lambda t: (t * 0.1).exp(), "abs": gt.abs, "neg": gt.neg,
                "sin": gt.sin, "tanh": gt.tanh, "sigmoid": gt.sigmoid, "relu": gt.relu,
                "floor": gt.floor}[name](a)
    if kind == "b":
        if name == "gt_where":
            return gt.where(a > b, a, b)
        if name == "pow2":
            return a * a + b
        if name == "div" and not (a.dtype.is_floating_point or b.dtype.is_floating_point):
            return a * b
        return {"add": gt.add, "sub": gt.sub, "mul": gt.mul, "div": gt.div,
                "maximum": gt.maximum, "minimum": gt.minimum}[name](a, b)
    if a.ndim == 0:
        return a
    if not a.dtype.is_floating_point and name in ("mean", "softmax"):
        a = a.double()
    if name == "softmax":
        return gt.softmax(a, -1)
    return getattr(a, name)(-1, keepdim=True)


@st.composite
def programs(draw):
    n_in = draw(st.integers(1, 3))
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(n_in)]
    dts = [draw(st.sampled_from(DTYPES)) for _ in range(n_in)]
    steps = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["u", "u", "b", "b", "b", "r"]))
        name = draw(st.sampled_from({"u": UNARY, "b": BINARY, "r": REDUCE}[kind]))
        steps.append((kind, name, draw(st.integers(0, 20)), draw(st.integers(0, 20))))
    seed = draw(st.integers(0, 2**16))
    return shapes, dts, steps, seed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_fusion_graphs_equal_the_interpreter(program):
    shapes, dts, steps, seed = program
    rng = np.random.default_rng(seed)
    inputs = []
    for s, dt in zip(shapes, dts):
        a = rng.standard_normal(s) * 3
        inputs.append(gt.tensor(a).to(dt) if dt.is_floating_point else
                      gt.tensor(np.round(a)).to(dt))

    def fn(*xs):
        vals = list(xs)
        for step in steps:
            vals.append(_apply(step, vals))
        return vals[-1], vals[len(xs):][0]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = gt.jit.trace(fn, tuple(inputs), check_trace=False)
    got, want, plan = compiled_and_reference(traced, *inputs)
    assert plan.mode == "compiled", plan.explain()
    for a, b in zip(got, want):
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
        if a.dtype.is_floating_point:
            # sums reassociated by fast-math: relative to the magnitude of the values; a
            # float64 result computed through float32 values (a float32 exp added to a
            # float64 input) is as exact as float32 (docs/fusion.md "Tolerance")
            scale = max(1.0, float(np.nanmax(np.abs(np.nan_to_num(b.numpy(), posinf=0,
                                                                   neginf=0)), initial=0)))
            # (inputs not all float64 may make float32 values: a.float(), integer division)
            dt = gt.float64 if a.dtype is gt.float64 and all(d is gt.float64 for d in dts) \
                else gt.float32
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=RTOL[dt] * 10,
                                       atol=ATOL[dt] * 10 * scale, equal_nan=True)
        else:
            np.testing.assert_array_equal(a.numpy(), b.numpy())


@needs_cc
def test_the_ctypes_launcher_runs_the_same_kernels(monkeypatch):
    """Without Python/numpy headers the kernels are called through ctypes instead."""
    from graphtorch.runtime import c_launch

    monkeypatch.setitem(c_launch._STATE, "launch", c_launch._ctypes_launch)

    def fn(x, y):
        return gt.softmax(gt.sin(x * y) + 2, -1)

    x, y = gt.randn(6, 10), gt.randn(10)
    traced = gt.jit.trace(fn, (x, y))
    got, want, plan = compiled_and_reference(traced, x, y)
    close(got, want)
    assert "[c] fusion group" in plan.explain() and "softmax (row kernel)" in plan.explain()
