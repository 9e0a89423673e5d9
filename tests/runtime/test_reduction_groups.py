"""Reduction groups (runtime/c_reduce_group.py): several reductions of one value in one sweep.

The group kernel is checked against the eager kernels on hypothesis-generated shapes, dims,
keepdim, corrections and NaNs; compiled plans holding groups (and reductions mixed with
elementwise prologues and epilogues, broadcast back over the reduced dims) against the
interpreter on hypothesis-generated programs; the fallbacks (integers, strided views, dims
without a common split, errors) against the interpreter and the eager errors.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch.ops.registry import REGISTRY
from graphtorch.runtime import c_backend
from graphtorch.runtime.c_elementwise import prelude
from graphtorch.runtime.c_reduce_epilogue import EpilogueGroup
from graphtorch.runtime.c_reduce_group import Member, ReduceGroup, find_groups, generate
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import plans_of

pytestmark = pytest.mark.skipif(not c_backend.available(), reason="no C compiler")

TOL = {np.dtype(np.float32): (1e-5, 1e-6), np.dtype(np.float64): (1e-12, 1e-12)}


def member(name: str, dim, keepdim: bool, correction=None) -> Member:
    if name in ("sum", "mean"):
        return Member(name, (dim, keepdim, None))
    if name == "var":
        return Member(name, (dim, correction, keepdim))
    return Member(name, ([] if dim is None else dim, keepdim))


def eager(m: Member, x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):     # the eager kernels run under PyTorch's silence
        return np.asarray(REGISTRY.get(m.op_name).kernel(np, x, *m.args))


def assert_close(got, want) -> None:
    assert type(got) is np.ndarray
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape)
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want)
        return
    rtol, atol = TOL[want.dtype]
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


@st.composite
def groups(draw):
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim)))
    k = draw(st.integers(0, ndim))
    members = []
    for _ in range(draw(st.integers(2, 6))):
        name = draw(st.sampled_from(["sum", "mean", "amax", "amin", "var"]))
        side = draw(st.sampled_from(["row", "col", "other"]))
        if side == "row":
            dim = list(range(k, ndim)) or None
        elif side == "col":
            dim = list(range(0, k)) or None
        else:       # any dims: no common split makes the group run its single kernels
            dim = sorted(set(draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=2))))
        if dim is not None and draw(st.booleans()):
            dim = [d - ndim for d in dim]                    # negative dims alike
        if dim is not None and len(dim) == 1 and draw(st.booleans()):
            dim = dim[0]                                     # an int dim
        members.append(member(name, dim, draw(st.booleans()),
                              draw(st.sampled_from([None, 0, 1, 2, 0.5]))))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return shape, members, dtype, draw(st.integers(0, 2**16)), draw(st.integers(0, 2))


@pytest.mark.filterwarnings("ignore:Degrees of freedom:RuntimeWarning")   # numpy's var
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=groups())
def test_a_group_equals_its_members_eager_kernels(case):
    shape, members, dtype, seed, nans = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[rng.integers(0, x.size, nans)] = np.nan      # NaN propagates (max/min too)
    got = ReduceGroup(members)(x)
    assert len(got) == len(members)
    for g, m in zip(got, members):
        assert_close(g, eager(m, x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_rows_and_columns_in_one_sweep_stay_within_the_tolerance(dtype):
    # sums of 1000 values: compared with the float64 result (eager float32 column sums
    # accumulate in float32), var in columns by Welford's update, inf/-inf/NaN in the columns
    x = (np.random.default_rng(1).standard_normal((1000, 1037)) * 3 + 5).astype(dtype)
    x[3, 5], x[7, 9], x[11, 13], x[17, 13] = np.inf, -np.inf, np.nan, np.inf
    x[21, 15], x[22, 15] = np.inf, -np.inf
    members = [member(n, d, keep, c) for n in ("sum", "mean", "amax", "amin", "var")
               for d, keep, c in ((0, False, None), (1, True, 0), ([0, 1], False, 2))]
    got = ReduceGroup(members)(x)
    for g, m in zip(got, members):
        want = eager(m, x.astype(np.float64)).astype(dtype)
        assert_close(g, want)


def test_the_kernel_source_has_one_sweep_and_the_welford_update():
    src = generate(np.dtype(np.float32), [member("sum", 0, False), member("var", 0, False),
                                          member("amax", 1, False)], ["col", "col", "row"])
    assert src.count("for (long p = 0; p < np_; p++)") == 1
    assert "acc[1 * nq + j] += d * r" in src and "reduction(max:mx)" in src


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")   # as eager
def test_calls_the_kernel_does_not_cover_run_the_single_kernels():
    g = ReduceGroup([member("sum", 1, False), member("amax", 0, True)])
    ints = np.arange(12).reshape(3, 4)
    s, m = g(ints)
    assert s.dtype == np.int64 and s.tolist() == [6, 22, 38] and m.tolist() == [[8, 9, 10, 11]]
    f = np.arange(12, dtype=np.float32).reshape(3, 4)
    s, m = g(f.T)                                                   # strided
    np.testing.assert_array_equal(s, f.T.sum(1))
    np.testing.assert_array_equal(m, f.T.max(0, keepdims=True))
    with pytest.raises(IndexError):
        ReduceGroup([member("sum", 2, False), member("mean", 2, False)])(f)
    with pytest.raises(IndexError, match="non-zero size"):          # amax of an empty slice
        ReduceGroup([member("sum", 1, False), member("amax", 1, False)])(
            np.zeros((2, 0), np.float32))
    s, m = ReduceGroup([member("sum", 1, False), member("mean", 1, False)])(
        np.zeros((2, 0), np.float32))
    assert s.tolist() == [0, 0] and np.isnan(m).all()


def reduce_fn(x):
    return (x.sum(0) + x.mean(1)) * x.var(1) + x.amax(1) - x.amin(0)


def softmax_by_hand(x):
    e = (x - x.amax(1, keepdim=True)).exp()
    return e / e.sum(1, keepdim=True), x.var(1, keepdim=True, correction=0), x.mean(1)


def partly_grouped(x):
    return x.sum(1) * 2, x.amax(0) + 1, x.sum()     # the total shares no split with them


def prologues(x, y, k: float, z):
    d = (x - y) * k
    return ((x * x).sum(1), (d.abs() + 1).amax(0), (d.abs() + 1).var(0),
            (x.exp() - y).mean(), (x * y + z).var(1, keepdim=True))


@pytest.mark.parametrize("case", ["full", "broadcast", "int", "float64", "strided"])
def test_prologues_are_computed_inside_the_sweep(case):
    f = gt.jit.script(prologues)
    x, y, z = gt.randn(30, 20) * 3, gt.randn(30, 20), gt.tensor(0.5)
    if case == "broadcast":        # y broadcasts: the prologue's group runs, then the sweep
        y = gt.randn(20)
    elif case == "int":
        x, y = (x * 3).long(), (y * 3).long()
    elif case == "float64":
        x, y, z = x.double(), y.double(), z.double()
    elif case == "strided":
        x = gt.randn(20, 30).t()
    x[1, 2] = float("nan") if x.dtype.is_floating_point else x[1, 2]
    got, want = run_both(f, x, y, 1.5, z)
    for a, b in zip(got, want):
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
        rtol, atol = TOL[np.dtype(np.float64 if a.dtype is gt.float64 else np.float32)]
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=rtol * 10, atol=atol * 10,
                                   equal_nan=True)
    text = plans_of(f).explain()
    # integers: (x * x).sum(1) sums int64 (the single kernels), its product a fusion group
    assert text.count("+ prologue [") == (3 if case == "int" else 4), text
    assert text.count("fusion group [mul]") == (case == "int"), text


def normalize(x, w, b, eps: float, z):
    m = x.mean(-1, keepdim=True)
    v = x.var(-1, keepdim=True, correction=0)
    return (x - m) / (v + eps).sqrt() * w + b + z, m


def normalize_3d(x, w, b, eps: float, z):
    m = x.mean([1, 2], keepdim=True)
    s = x.amax([1, 2], keepdim=True)
    return (x - m) / (s - x.amin([1, 2], keepdim=True) + eps) * w + b * z, s


def no_keepdim(x, w, b, eps: float, z):
    m, s = x.mean(-1), x.amax(-1)
    return (m - s) * eps + z, m


@pytest.mark.parametrize("case", ["rows", "weightless", "float64", "strided", "column w",
                                  "3d", "3d row w", "no keepdim"])
def test_epilogues_run_in_the_row_loop(case, monkeypatch):
    unfused = []     # calls that ran the group, then the epilogue's own kernel
    real = EpilogueGroup._reduce
    monkeypatch.setattr(EpilogueGroup, "_reduce", lambda self, x: unfused.append(1) or
                        real(self, x))
    fn = {"3d": normalize_3d, "3d row w": normalize_3d, "no keepdim": no_keepdim}.get(
        case, normalize)
    shape = (6, 5, 8) if fn is normalize_3d else (30, 20)
    x, z = gt.randn(*shape) * 3, gt.tensor(0.25)
    w, b = gt.randn(shape[-1]), gt.randn(shape[-1])
    if case == "weightless":
        w, b = gt.tensor(2.0), gt.tensor([0.5])
    elif case == "float64":
        x, w, b, z = x.double(), w.double(), b.double(), z.double()
    elif case == "strided":             # not C-contiguous: the group, then the epilogue group
        x = gt.randn(shape[1], shape[0]).t()
    elif case == "column w":            # w broadcasts over columns: not a row's values
        w = gt.randn(shape[0], 1)
    elif case == "3d row w":           # a row is (5, 8): w and b hold one row's values
        w, b = gt.randn(shape[1], shape[2]), gt.randn(1, shape[1], shape[2])
    x[1, 2] = float("nan")
    f = gt.jit.script(fn)
    got, want = run_both(f, x, w, b, 1e-3, z)
    for a, e in zip(got, want):
        assert a.dtype is e.dtype and tuple(a.shape) == tuple(e.shape)
        rtol, atol = TOL[np.dtype(np.float64 if a.dtype is gt.float64 else np.float32)]
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=rtol * 10, atol=atol * 10,
                                   equal_nan=True)
    text = plans_of(f).explain()
    # without keepdim the results do not broadcast back: the plan keeps the fusion group
    assert text.count("+ epilogue [") == (case != "no keepdim"), text
    assert ("fusion group" in text) == (case == "no keepdim"), text
    # "3d": w and b of shape (8,) repeat inside a (5, 8) row: the unfused path
    assert bool(unfused) == (case in ("strided", "column w", "3d")), unfused


def several_splits(x):
    return x.sum(-1), x.mean([1, 2]), x.amax(0), x.amin(-1, keepdim=True), x.var(1), x.sum()


def run_both(fn, *args):
    with gt.no_grad():
        set_executor("interpreter")
        want = fn(*args)
        set_executor(None)
        fn(*args)
        got = fn(*args)
    return got, want


@pytest.mark.parametrize("dtype", [gt.float32, gt.float64, gt.int64])
# softmax_by_hand: [amax, var, mean] in one sweep, then e.sum(1) alone with its epilogue (div)
@pytest.mark.parametrize("fn, groups", [(reduce_fn, 1), (softmax_by_hand, 2),
                                        (partly_grouped, 1), (several_splits, 2)])
def test_compiled_plans_run_groups_and_equal_the_interpreter(fn, groups, dtype):
    f = gt.jit.script(fn)
    x = (gt.randn(9, 9, 4) if fn is several_splits else gt.randn(9, 9) * 4).to(dtype)
    if dtype.is_floating_point:
        x[2, 3] = float("nan")
    elif fn is not partly_grouped:
        x = x.double()       # mean and var need floats
    got, want = run_both(f, x)
    for a, b in zip(got if isinstance(got, tuple) else [got],
                    want if isinstance(want, tuple) else [want]):
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
        assert_close(a.numpy(), b.numpy())
    text = plans_of(f).explain()
    assert text.count("reduction group [") == (groups if x.dtype.is_floating_point else 0), text


def test_groups_are_found_per_value_and_per_block():
    g = gt.jit.script(reduce_fn).graph
    found = find_groups(g.block, lambda n: 2)
    assert [[n.kind for n in nodes] for nodes in found] == \
        [["op::sum", "op::mean", "op::var", "op::amax", "op::amin"]]
    assert find_groups(g.block, lambda n: None if n.kind == "op::var" else 2)[0][2].kind == \
        "op::amax"
    # rank 3: sum(-1), amin(-1) share split 2; mean([1, 2]), amax(0) split 1; var(1) none
    g = gt.jit.script(several_splits).graph
    found = find_groups(g.block, lambda n: 3)
    assert [[n.kind for n in nodes] for nodes in found] == \
        [["op::mean", "op::amax"], ["op::sum", "op::amin"]]


# --- hypothesis: random elementwise / reduction DAGs ---------------------------------------------
UNARY = ["exp", "abs", "neg", "tanh", "relu"]
BINARY = ["add", "sub", "mul", "maximum"]
REDUCE = ["sum", "mean", "amax", "amin", "var"]


def _apply(step, vals):
    kind, name, i, j, dim, keep = step
    a, b = vals[i % len(vals)], vals[j % len(vals)]
    if kind == "u":
        return {"exp": lambda t: (t * 0.1).exp(), "abs": gt.abs, "neg": gt.neg,
                "tanh": gt.tanh, "relu": gt.relu}[name](a)
    if kind == "b":
        try:
            np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
        except ValueError:
            return a
        return {"add": gt.add, "sub": gt.sub, "mul": gt.mul, "maximum": gt.maximum}[name](a, b)
    if kind == "re":
        return _epilogue(name, a, b, dim, keep)
    if a.ndim < 2:
        return a
    if not a.dtype.is_floating_point and name in ("mean", "var"):
        a = a.double()
    r = getattr(a, name)(dim, keepdim=keep)
    # an epilogue broadcast back over the reduced dim (x - x.amax(1, keepdim=True))
    return a - r if keep and kind == "rb" else r


def _epilogue(name, a, b, dim, keep):
    """A row reduction kept over the reduced dims (the last, or the last two; by keepdim or
    through unsqueeze), then an
    elementwise expression of the row and that value with another value ``b`` (a whole tensor,
    a row of weights or a scalar; as float64 when ``keep`` is false: promotion): the plan runs
    it in the reduction's row loop (x - x.amax(-1, keepdim=True), (x - m) * w + m)."""
    if a.ndim == 0:
        return a
    if not a.dtype.is_floating_point and name in ("mean", "var"):
        a = a.double()
    dims = [-2, -1] if dim == 0 and a.ndim >= 2 else -1
    if dim == 1:        # without keepdim, then its keepdim view: x.amax(-1).unsqueeze(-1)
        r = getattr(a, name)(-1).unsqueeze(-1)
    else:
        r = getattr(a, name)(dims, keepdim=True)
    try:
        w = b if np.broadcast_shapes(tuple(b.shape), tuple(a.shape)) == tuple(a.shape) else 0.5
    except ValueError:
        w = 0.5
    if not keep:
        w = w.double() if isinstance(w, gt.Tensor) else 1.5
    out = (a - r) * w + r
    return out.tanh() if dim == -1 else out


@st.composite
def programs(draw):
    shape = draw(st.sampled_from([(3, 4), (5, 1), (1, 6), (2, 3, 4)]))
    dt = draw(st.sampled_from([gt.float32, gt.float64, gt.int64]))
    steps = []
    for _ in range(draw(st.integers(2, 9))):
        kind = draw(st.sampled_from(["u", "b", "r", "r", "rb", "re"]))
        name = draw(st.sampled_from({"u": UNARY, "b": BINARY}.get(kind, REDUCE)))
        steps.append((kind, name, draw(st.integers(0, 20)), draw(st.integers(0, 20)),
                      draw(st.sampled_from([0, 1, -1])), draw(st.booleans())))
    return shape, dt, steps, draw(st.integers(0, 2**16))


@pytest.mark.filterwarnings("ignore:Degrees of freedom:RuntimeWarning")   # eager var warns
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_reduction_graphs_equal_the_interpreter(program):
    shape, dt, steps, seed = program
    a = np.random.default_rng(seed).standard_normal(shape) * 3
    x = gt.tensor(a).to(dt) if dt.is_floating_point else gt.tensor(np.round(a)).to(dt)

    def fn(x):
        vals = [x, x * 2]
        for step in steps:
            vals.append(_apply(step, vals))
        # the reductions' results and the last value: elementwise values only reductions read
        # are computed inside the reductions' sweeps (prologues)
        return tuple(v for v, s in zip(vals[2:], steps) if s[0] != "u" and s[0] != "b") + \
            (vals[-1],)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = gt.jit.trace(fn, (x,), check_trace=False)
    got, want = run_both(traced, x)
    for a, b in zip(got, want):
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
        if a.dtype.is_floating_point:
            scale = max(1.0, float(np.nanmax(np.abs(np.nan_to_num(b.numpy(), posinf=0,
                                                                   neginf=0)), initial=0)))
            # fast-math bounds (docs/fusion.md "Tolerance") x10 as in test_plan.py; float32
            # values (a float32 exp of an integer input) bound a float64 result
            rtol, atol = TOL[np.dtype(np.float64 if dt is gt.float64 else np.float32)]
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=rtol * 10,
                                       atol=atol * 10 * scale, equal_nan=True)
        else:
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def lone_epilogues(x, y):
    return x - x.amax(1, keepdim=True) * 0.5, (y - y.mean(1, keepdim=True)) * 0.25


def test_group_kernels_compile_in_the_plans_batch(monkeypatch):
    """A plan compiles its groups' kernels with its fusion groups' in one batch (one compiler
    run, not one per group), and a group kernel has the shape whose literals a big batch
    shares (c_backend._shared_bodies): the epilogues' constants read from one body."""
    monkeypatch.setenv("GT_PLAN_CACHE", "0")
    batches = []
    real = c_backend.load_many
    monkeypatch.setattr(c_backend, "load_many", lambda sources, *a, **k:
                        batches.append(list(sources)) or real(sources, *a, **k))
    f = gt.jit.script(lone_epilogues)
    x, y = gt.randn(6, 9), gt.randn(4, 3).double()
    got, want = run_both(f, x, y)
    for a, b in zip(got, want):
        assert a.dtype is b.dtype
        assert_close(a.numpy(), b.numpy())
    assert plans_of(f).explain().count("+ epilogue [") == 2
    (batch,) = batches
    groups = [s for s in batch if "rowbuf" in s]
    assert len(groups) == 2
    shared = [c_backend._canonical(s[len(prelude()):]) for s in groups]
    assert all(c is not None for c in shared)
    # the two kernels read their constants (0.5, 0.25) through the shared-body argument
    assert [c[2] for c in shared] == [[(0.5).hex()], [(0.25).hex()]]


def kept_views(x, w):
    a = x - x.amax(-1).unsqueeze(-1)                            # the keepdim view of amax
    m = x.mean(1)
    b = (x - m.unsqueeze(1)) * w
    c = x.var(-1, correction=0).unsqueeze(-1) + x.amin(-1, keepdim=True)
    return a, b, c, m


def other_views(x, w):
    u = x.amax(-1).unsqueeze(-1)
    v = x.sum(0).unsqueeze(0)                                   # a column result
    return x - u, u * 2, x * v + w


@pytest.mark.parametrize("shape", [(7, 9), (9,), (3, 4, 5), "strided"])
@pytest.mark.parametrize("fn", [kept_views, other_views])
def test_keepdim_views_feed_epilogues(fn, shape):
    """``x.amax(-1).unsqueeze(-1)`` is ``x.amax(-1, keepdim=True)``: an epilogue reads it in the
    row loop like a kept result (a view read by anything else, a column result or a view at
    another dim keeps its own kernels); the values equal the interpreter's."""
    x = gt.randn(9, 7).t() if shape == "strided" else gt.randn(*shape) * 3
    x[(1,) * x.ndim] = float("nan")
    w = gt.randn(x.shape[-1]).double()
    if fn is kept_views and x.ndim == 1:
        return
    f = gt.jit.script(fn)
    got, want = run_both(f, x, w)
    for a, b in zip(got, want):
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
        # float64 results of float32 values (x - m, then * w): float32's bound (docs/fusion.md)
        rtol, atol = TOL[np.dtype(np.float32)]
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=rtol * 10, atol=atol * 10,
                                   equal_nan=True)
    text = plans_of(f).explain()
    if fn is kept_views:
        # [amax, mean, var, amin] in one sweep (3-D: mean(1) is no row reduction, alone), with
        # the first fusion group reading them (x - amax view: m is returned too, unchanged)
        assert text.count("reduction group [amax(-1)") == 1, text
        assert text.count("+ epilogue [sub]") == 1 and text.count("+ epilogue") == 1, text
    else:
        # 2-D: amax(-1) and the column sum(0) share one sweep: no epilogue (column result);
        # 1-D: both reduce the row, read through their views; 3-D: amax alone, its view read
        # by x - u (u * 2 runs as its own group)
        assert text.count("+ epilogue [sub]") == (x.ndim != 2), text
