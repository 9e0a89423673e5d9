"""Triton row kernels (runtime/triton/rows.py) under Triton's CPU interpreter, against numpy in
float64 and graphtorch's eager kernels: every op, every storage dtype, persistent rows (power of
2 or not, several rows per program), looped rows (forced by a small ``max_block``), strided
rows, NaN and -inf, and the refusals."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import graphtorch
import graphtorch.nn.functional as F
from graphtorch.errors import UnsupportedError
from graphtorch.runtime.triton import source_cache
from graphtorch.runtime.triton.row_source import OPS, RowSpec, generate
from graphtorch.runtime.triton.rows import plan_launch, run_rows

BF16 = np.dtype(ml_dtypes.bfloat16)
DTYPES = [np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16), BF16]
TOL = {"float32": 2e-5, "float64": 1e-12, "float16": 2e-3, "bfloat16": 1.6e-2}
SHAPES = [((5, 37), None), ((3, 100), 16), ((4, 64), None), ((1, 1), None), ((7,), None),
          ((2, 3, 33), 8)]   # (shape, max_block): a max_block below the row forces the loop


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "triton_rows"))


def reference(op, x, w=None, b=None, eps=1e-5):
    """``op`` in float64 numpy."""
    x = x.astype(np.float64)
    if op == "sum":
        return x.sum(-1)
    if op == "mean":
        return x.mean(-1)
    if op == "amax":
        return x.max(-1)
    if op in ("softmax", "log_softmax"):
        m = x.max(-1, keepdims=True)
        e = np.exp(x - m)
        s = e.sum(-1, keepdims=True)
        return e / s if op == "softmax" else x - m - np.log(s)
    if op == "layer_norm":
        mu = x.mean(-1, keepdims=True)
        y = (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps)
    else:
        y = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
    if w is not None:
        y = y * w.astype(np.float64)
    if b is not None:
        y = y + b.astype(np.float64)
    return y


def _inputs(op, shape, dt, rng):
    x = (rng.standard_normal(shape) * 3).astype(dt)
    w = rng.standard_normal(shape[-1]).astype(dt) if op in ("layer_norm", "rms_norm") else None
    b = rng.standard_normal(shape[-1]).astype(dt) if op == "layer_norm" else None
    return x, w, b


def _check(got, want, dt) -> None:
    assert got.dtype == dt
    assert got.shape == want.shape
    tol = TOL[dt.name]
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("op", OPS)
def test_row_kernel_matches_numpy(op, dt):
    rng = np.random.default_rng(hash((op, dt.name)) % 2**32)
    for shape, max_block in SHAPES:
        x, w, b = _inputs(op, shape, dt, rng)
        got = run_rows(op, x, w, b, max_block=max_block)
        _check(got, reference(op, x, w, b), dt)


@pytest.mark.parametrize("op", OPS)
def test_persistent_and_looped_kernels_agree(op):
    x, w, b = _inputs(op, (6, 300), np.float32, np.random.default_rng(1))
    assert plan_launch(op, x.shape, "float32", "interpreter")[0].persistent
    assert not plan_launch(op, x.shape, "float32", "interpreter", max_block=32)[0].persistent
    whole = run_rows(op, x, w, b)
    looped = run_rows(op, x, w, b, max_block=32)   # 300 = 9 chunks of 32 + a partial one
    np.testing.assert_allclose(looped, whole, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("max_block", [None, 4])
def test_strided_rows_and_no_weight(max_block):
    base = np.random.default_rng(2).standard_normal((8, 20)).astype(np.float32)
    view = base[::2, 3:17]   # rows 40 elements apart, last dim contiguous
    for op in ("softmax", "layer_norm", "sum"):
        got = run_rows(op, view, max_block=max_block)
        _check(got, reference(op, view), np.dtype(np.float32))
    t = base.T   # last dim strided: copied first
    _check(run_rows("mean", t, max_block=max_block), reference("mean", t), np.dtype(np.float32))


@pytest.mark.parametrize("max_block", [None, 4])
def test_nan_and_infinities(max_block):
    x = np.array([[1.0, np.nan, 3.0, 0.5, 2.0],
                  [-np.inf, -np.inf, -np.inf, -np.inf, -np.inf],
                  [np.inf, 1.0, 2.0, 3.0, 4.0],
                  [0.0, -np.inf, 1.0, -np.inf, 2.0]], dtype=np.float32)
    amax = run_rows("amax", x, max_block=max_block)
    assert np.isnan(amax[0]) and amax[1] == -np.inf and amax[2] == np.inf and amax[3] == 2.0
    sm = run_rows("softmax", x, max_block=max_block)
    assert np.isnan(sm[0]).all() and np.isnan(sm[1]).all()  # PyTorch: nan rows, 0/0 rows
    np.testing.assert_allclose(sm[3], reference("softmax", x[3:])[0], rtol=1e-6, atol=1e-7)
    eager = F.softmax(graphtorch.tensor(x[3:]), dim=-1).numpy()
    np.testing.assert_allclose(sm[3:], eager, rtol=1e-6, atol=1e-7)
    lsm = run_rows("log_softmax", x, max_block=max_block)
    assert lsm[3, 1] == -np.inf and np.isfinite(lsm[3, [0, 2, 4]]).all()


def test_half_inputs_accumulate_in_float32():
    # 4096 values of 1.0 + 1/1024: a float16 running sum stalls at 2048 (spacing 2 there)
    x = np.full((2, 4096), 1 + 2**-10, dtype=np.float16)
    got = run_rows("sum", x)
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float64), 4096 * (1 + 2**-10), rtol=1e-3)
    bf = np.full((1, 3000), 1.0, dtype=BF16)
    assert float(run_rows("mean", bf, max_block=256)[0]) == 1.0


def test_matches_graphtorch_eager_ops():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((9, 129)).astype(np.float32)
    w, b = rng.standard_normal(129).astype(np.float32), rng.standard_normal(129).astype(np.float32)
    t = graphtorch.tensor(x)
    eager = {
        "softmax": F.softmax(t, dim=-1), "log_softmax": F.log_softmax(t, dim=-1),
        "layer_norm": F.layer_norm(t, [129], graphtorch.tensor(w), graphtorch.tensor(b)),
        "sum": t.sum(-1), "mean": t.mean(-1), "amax": t.amax(-1),
    }
    for op, want in eager.items():
        args = (w, b) if op == "layer_norm" else ()
        for max_block in (None, 32):
            got = run_rows(op, x, *args, max_block=max_block)
            np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5)


def test_refusals():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(UnsupportedError, match="no Triton row kernel for 'cumsum'"):
        run_rows("cumsum", x)
    with pytest.raises(UnsupportedError, match="not int64"):
        run_rows("sum", np.ones((2, 3), np.int64))
    with pytest.raises(UnsupportedError, match="empty last dim"):
        run_rows("softmax", np.ones((2, 0), np.float32))
    with pytest.raises(UnsupportedError, match="weight must be a float32 vector of 3"):
        run_rows("layer_norm", x, np.ones(4, np.float32))
    with pytest.raises(UnsupportedError, match="takes no weight or bias"):
        run_rows("softmax", x, np.ones(3, np.float32))


def test_source_is_cached_on_disk_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("GT_CACHE_DIR", str(tmp_path))
    spec = RowSpec("layer_norm", "float16", True, weight=True, bias=True, eps=1e-6)
    text = generate(spec)
    assert "tl.float16" in text and "_SUM = tl.standard._sum_combine" in text
    run_rows("layer_norm", np.ones((2, 5), np.float16), np.ones(5, np.float16),
             np.zeros(5, np.float16), eps=1e-6)
    files = list(source_cache.cache_dir().glob("row_layer_norm_float16_persistent_w_b_*.py"))
    assert len(files) == 1 and files[0].read_text() == text
    # another eps is another kernel (a constant baked into the source)
    assert generate(RowSpec("layer_norm", "float16", True, True, True, 1e-5)) != text


def test_launch_shapes():
    spec, grid, consts, warps = plan_launch("softmax", (8192, 8192), "float32", "cuda")
    assert spec.persistent and grid == (8192,) and consts == {"BLOCK_R": 1, "BLOCK_N": 8192}
    assert warps == 16
    spec, grid, consts, _ = plan_launch("sum", (1000, 100), "float32", "cuda")
    assert consts == {"BLOCK_R": 16, "BLOCK_N": 128} and grid == (63,)
    spec, grid, consts, _ = plan_launch("softmax", (4, 100_000), "float32", "cuda")
    assert not spec.persistent and grid == (4,) and consts == {"BLOCK_N": 2048, "N_CHUNKS": 49}
    assert not plan_launch("sum", (2, 8192), "float64", "cuda")[0].persistent
