"""Kernels differing only in their value literals share one compiled body in a big batch
(runtime/c_backend.py ``_shared_bodies``): each keeps its own symbol and its own constants."""

from __future__ import annotations

import numpy as np
import pytest

from graphtorch.runtime import c_backend
from graphtorch.runtime.c_launch import address, launcher

needs_cc = pytest.mark.skipif(not c_backend.available(), reason="no C compiler")

PRELUDE = "#include <stdint.h>\n#include <math.h>\n"
# The shape of a generated elementwise kernel: one static rows helper called by kernel; a
# double argument (D[0]), value literals in operand positions, a divisor literal.
BODY = """
static void rows(long n, double s, const float* restrict a_p, float* restrict out_p) {{
  for (long j = 0; j < n; j++) {{
    float t1 = (float)((((float)a_p[j]) * ((float){scale})));
    float t2 = (float)((((float)t1) + ((float){shift})));
    out_p[j] = (float)((((float)t2) / ((float)2.0)) + ((float)s));
  }}
}}

void kernel(void *const *P, const int64_t *I, const double *D) {{
  double s = D[0];
  rows(I[0], s, (const float*)P[0], (float*)P[1]);
}}
"""
CONSTANTS = [("0.5", "3LL"), ("1.25", "-7LL"), ("2.0e-3", "1.5"), ("INFINITY", "0.0"),
             ("-0.75", "2.5e+2"), ("3.0", "NAN"), ("0.1", "0.2"), ("10.0", "-1.0"),
             ("0.5", "4LL")]


def _sources():
    return [PRELUDE + BODY.format(scale=a, shift=b) for a, b in CONSTANTS]


def test_literals_become_arguments_after_the_kernels_own():
    text, base, values = c_backend._canonical(BODY.format(scale="0.5", shift="3LL"))
    assert base == 1 and values == [(0.5).hex(), (3.0).hex()]
    assert "GT_K[0]" in text and "GT_K[1]" in text and "const double *GT_K = D + 1;" in text
    assert "((float)2.0)" in text        # a divisor stays a literal
    assert "static void rows(const double *restrict GT_K, long n" in text
    assert "rows(GT_K, I[0], s" in text
    other = c_backend._canonical(BODY.format(scale="1.25", shift="-7LL"))
    assert other[0] == text              # one body for both
    assert c_backend._canonical("void kernel(void) {}") is None  # not an elementwise kernel


def test_a_big_batch_shares_a_body_and_a_small_one_does_not(tmp_path, monkeypatch):
    monkeypatch.setenv("GT_CACHE_DIR", str(tmp_path))
    todo = {c_backend.cache_dir() / f"gt_{i:032x}.so": s for i, s in enumerate(_sources())}
    parts = c_backend._shared_bodies(todo, PRELUDE)
    assert len(parts) == 1 + len(CONSTANTS)
    assert sum("GT_K" in p for p in parts) == 1
    small = dict(list(todo.items())[:c_backend.SHARE_MIN_BATCH - 1])
    assert not any("GT_K" in p for p in c_backend._shared_bodies(small, PRELUDE))


def _run_all(sources) -> list[np.ndarray]:
    a = np.array([1.0, -2.5, 3.25, 0.0, 1e-3], np.float32)
    outs = []
    for src in sources:
        out = np.empty_like(a)
        launcher()(address(c_backend.load(src)), [a, out], [a.size], [0.25])
        outs.append(out)
    return outs


@needs_cc
def test_shared_kernels_compute_their_own_constants(tmp_path, monkeypatch):
    sources = _sources()
    monkeypatch.setenv("GT_CACHE_DIR", str(tmp_path / "shared"))
    assert c_backend.load_many(sources, jobs=2, prelude=PRELUDE) == len(sources)
    shared = _run_all(sources)
    monkeypatch.setenv("GT_CACHE_DIR", str(tmp_path / "alone"))
    monkeypatch.setattr(c_backend, "SHARE_MIN_BATCH", 10 ** 6)
    assert c_backend.load_many(sources, jobs=2, prelude=PRELUDE) == len(sources)
    alone = _run_all(sources)
    a = np.array([1.0, -2.5, 3.25, 0.0, 1e-3], np.float64)
    for (scale, shift), x, y in zip(CONSTANTS, shared, alone):
        k = {"INFINITY": np.inf, "NAN": np.nan}
        s, t = (k.get(v) if v in k else float(v.removesuffix("LL")) for v in (scale, shift))
        with np.errstate(invalid="ignore"):
            want = (a * s + t) / 2 + 0.25
        np.testing.assert_allclose(x, want.astype(np.float32), rtol=1e-6, equal_nan=True)
        np.testing.assert_allclose(x, y, rtol=1e-6, equal_nan=True)
