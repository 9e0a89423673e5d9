"""C reduction kernels (runtime/c_reduce.py): sum/mean/amax/amin/var over dims, cross_entropy.

Checked against the eager kernels (what the interpreter runs) on hypothesis-generated shapes,
dims and NaNs, end to end through compiled plans against the interpreter, and against PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt
import graphtorch.nn.functional as F
from graphtorch.ops.dispatch import dispatch
from graphtorch.ops.registry import REGISTRY
from graphtorch.runtime import c_backend
from graphtorch.runtime.c_elementwise import prelude
from graphtorch.runtime.c_launch import address, launcher
from graphtorch.runtime.c_reduce import BLOCK, ReduceKernel
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import plans_of

pytestmark = pytest.mark.skipif(not c_backend.available(), reason="no C compiler")

TOL = {np.dtype(np.float32): (1e-5, 1e-6), np.dtype(np.float64): (1e-12, 1e-12)}
OPS = ("sum", "mean", "amax", "amin", "var")


def kernel_args(name: str, x, dim, keepdim: bool, correction=None) -> tuple:
    if name in ("sum", "mean"):
        return (x, dim, keepdim, None)
    if name == "var":
        return (x, dim, correction, keepdim)
    return (x, [] if dim is None else dim, keepdim)


def eager(name: str, vals: tuple) -> np.ndarray:
    return np.asarray(REGISTRY.get(name).kernel(np, *vals))


def assert_same(got, want, dtype) -> None:
    assert type(got) is np.ndarray
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape)
    rtol, atol = TOL[np.dtype(dtype)]
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


@st.composite
def reductions(draw):
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim)))
    kind = draw(st.sampled_from(["run", "all", "any"]))
    if kind == "all":
        dim = draw(st.sampled_from([None, []]))
    else:
        a = draw(st.integers(0, ndim - 1))
        b = draw(st.integers(a, ndim - 1)) if kind == "run" else a
        dim = list(range(a, b + 1))
        if kind == "any":       # any dims, adjacent or not (non-adjacent: the eager kernel)
            dim = sorted(set(draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=3))))
        dim = [d - ndim if draw(st.booleans()) else d for d in dim]   # negative dims alike
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    seed = draw(st.integers(0, 2**16))
    nans = draw(st.integers(0, 2))
    keepdim = draw(st.booleans())
    correction = draw(st.sampled_from([None, 0, 1, 2, 0.5]))
    return shape, dim, dtype, seed, nans, keepdim, correction


@pytest.mark.filterwarnings("ignore:Degrees of freedom:RuntimeWarning")   # numpy's var
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=reductions(), name=st.sampled_from(OPS))
def test_reductions_match_the_eager_kernels(case, name):
    shape, dim, dtype, seed, nans, keepdim, correction = case
    if name == "var" and dim == []:
        dim = None
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[rng.integers(0, x.size, nans)] = np.nan      # NaN propagates (max/min too)
    vals = kernel_args(name, x, dim, keepdim, correction)
    assert_same(ReduceKernel(REGISTRY.get(name))(*vals), eager(name, vals), dtype)


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dim", [[0], [1], [2], [0, 1], [1, 2]])
def test_reductions_over_wide_inner_blocks(name, dim):
    # inner extents beyond one accumulator block, and inf/-inf/NaN in the columns
    x = np.random.default_rng(3).standard_normal((3, 4, BLOCK + 37)).astype(np.float32)
    x[0, 1, 5], x[1, 2, BLOCK + 3], x[2, 0, 7] = np.inf, -np.inf, np.nan
    vals = kernel_args(name, x, dim, False)
    assert_same(ReduceKernel(REGISTRY.get(name))(*vals), eager(name, vals), np.float32)


def test_unsupported_calls_run_the_eager_kernel():
    k = ReduceKernel(REGISTRY.get("sum"))
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(k(x.T, [0], False, None), x.T.sum(0))        # strided
    ints = np.arange(6).reshape(2, 3)
    got = k(ints, [1], False, None)
    assert got.dtype == np.int64 and got.tolist() == [3, 12]
    assert k(x, [1], False, gt.float64).dtype == np.float64                     # dtype=
    with pytest.raises(IndexError):
        k(x, [2], False, None)
    with pytest.raises(RuntimeError, match="multiple times"):
        k(x, [1, -1], False, None)
    with pytest.raises(IndexError, match="non-zero size"):     # amax of an empty slice
        ReduceKernel(REGISTRY.get("amax"))(np.zeros((2, 0), np.float32), [1], False)


EXP_KERNEL = """
void kernel(void *const *P, const int64_t *I, const double *D) {
  const float* restrict x = (const float*)P[0];
  float* restrict y = (float*)P[1];
  #pragma omp simd
  for (long j = 0; j < I[0]; j++) y[j] = gt_expf(x[j]);
}
"""


def test_gt_expf_is_within_its_documented_ulp_bound():
    # the softmax-row exp (x - max <= 0) of cross_entropy, softmax and log_softmax
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-87.3, 0, 200_001, dtype=np.float32),
                        -np.abs(rng.standard_normal(100_000)).astype(np.float32)])
    y = np.empty_like(x)
    launcher()(address(c_backend.load(prelude() + EXP_KERNEL)), (x, y), (x.size,), ())
    want = np.exp(x.astype(np.float64))
    ulps = np.abs(y - want) / np.spacing(want.astype(np.float32)).astype(np.float64)
    assert ulps.max() <= 1.05, ulps.max()
    edges = np.array([-np.inf, -100.0, np.nan, 0.0, -0.0, np.inf], np.float32)
    out = np.empty_like(edges)
    launcher()(address(c_backend.load(prelude() + EXP_KERNEL)), (edges, out), (6,), ())
    assert out[0] == 0 and out[1] == 0 and np.isnan(out[2]) and out[3] == 1 and out[4] == 1
    assert out[5] == np.inf


def ce_reference(x, t, reduction, ignore_index, weight=None, label_smoothing=0.0):
    args = (gt.from_numpy(x), gt.from_numpy(t), weight, reduction, ignore_index, label_smoothing)
    with gt.no_grad():
        return dispatch(REGISTRY.get("cross_entropy"), args, None).numpy()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 9), c=st.integers(1, 40), seed=st.integers(0, 2**16),
       reduction=st.sampled_from(["none", "sum", "mean"]), ignored=st.integers(0, 3),
       ignore_index=st.sampled_from([-100, 0, 2]), nan=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_cross_entropy_matches_log_softmax_nll(n, c, seed, reduction, ignored, ignore_index,
                                               nan, dtype):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c)) * 4).astype(dtype)
    t = rng.integers(0, c, n)
    t[rng.integers(0, n, ignored)] = ignore_index      # may be >= c: ignored all the same
    if nan:
        x[rng.integers(0, n), rng.integers(0, c)] = np.nan
    k = ReduceKernel(REGISTRY.get("cross_entropy"))
    got = k(x, t, None, reduction, ignore_index, 0.0)
    assert_same(got, ce_reference(x, t, reduction, ignore_index), dtype)


def test_cross_entropy_out_of_range_target_raises_like_eager():
    k = ReduceKernel(REGISTRY.get("cross_entropy"))
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(IndexError, match="out of bounds"):
        k(x, np.array([0, 4, 1]), None, "mean", -100, 0.0)
    w = np.array([1.0, 2.0, 0.5, 1.0], np.float32)     # weight: the eager path
    t = np.array([0, 3, 1])
    got = k(x + np.arange(4, dtype=np.float32), t, gt.from_numpy(w), "mean", -100, 0.0)
    want = ce_reference(x + np.arange(4, dtype=np.float32), t, "mean", -100, gt.from_numpy(w))
    np.testing.assert_allclose(got, want, rtol=1e-6)


def losses(x, t):
    return (x.sum(-1), x.mean([1, 2]), x.amax(0), x.amin(-1, keepdim=True), x.var(1),
            x.sum())


def ce(x, t, w):
    return F.cross_entropy(x, t), F.cross_entropy(x, t, reduction="none"), \
        F.cross_entropy(x, t, w)


def run_both(fn, *args):
    with gt.no_grad():
        set_executor("interpreter")
        want = fn(*args)
        set_executor(None)
        fn(*args)
        got = fn(*args)
    return got, want


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64])
def test_compiled_plans_use_the_kernels_and_match_the_interpreter(dtype):
    f = gt.jit.script(losses)
    x = gt.randn(4, 5, 6, dtype=dtype)
    x[1, 2, 3] = float("nan")
    got, want = run_both(f, x, gt.zeros(1))
    for a, b in zip(got, want):
        assert_same(a.numpy(), b.numpy(), a.numpy().dtype)
    text = plans_of(f).explain()
    # each reduction in C: its own kernel, or a member of a reduction group (c_reduce_group)
    assert "[c] reduction group [sum(-1), amin(-1)]" in text, text
    assert "[c] reduction group [mean([1, 2]), amax(0)]" in text, text
    for name in ("sum", "var"):
        assert f"[c] {name} (reduction kernel)" in text, text


def test_compiled_cross_entropy_is_one_kernel_and_errors_like_the_interpreter():
    f = gt.jit.script(ce)
    x, t, w = gt.randn(16, 10), gt.randint(0, 10, (16,)), gt.rand(10)
    got, want = run_both(f, x, t, w)
    for a, b in zip(got, want):
        assert_same(a.numpy(), b.numpy(), np.float32)
    text = plans_of(f).explain()
    assert text.count("[c] cross_entropy (reduction kernel)") == 3, text
    bad = gt.tensor([0] * 15 + [10])
    with gt.no_grad(), pytest.raises(IndexError, match="out of bounds"):
        f(x, bad, w)


@pytest.mark.torch
def test_reductions_and_cross_entropy_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 7, 9))
    x[2, 3, 4] = np.nan
    tx = torch.from_numpy(x)
    cases = [("sum", [1], torch.sum(tx, 1)), ("mean", [0, 1], torch.mean(tx, (0, 1))),
             ("amax", [2], torch.amax(tx, 2)), ("amin", [0], torch.amin(tx, 0)),
             ("var", [2], torch.var(tx, 2)), ("sum", None, torch.sum(tx))]
    for name, dim, want in cases:
        got = ReduceKernel(REGISTRY.get(name))(*kernel_args(name, x, dim, False))
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-12, atol=1e-12, equal_nan=True)
    var0 = ReduceKernel(REGISTRY.get("var"))(x, [1], 0, True)
    np.testing.assert_allclose(var0, torch.var(tx, 1, correction=0, keepdim=True).numpy(),
                               rtol=1e-12, equal_nan=True)
    logits = rng.standard_normal((12, 5)).astype(np.float32)
    t = rng.integers(0, 5, 12)
    t[3] = -100
    for reduction in ("none", "sum", "mean"):
        got = ReduceKernel(REGISTRY.get("cross_entropy"))(logits, t, None, reduction, -100, 0.0)
        want = torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(t),
                                                 reduction=reduction)
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-6)
