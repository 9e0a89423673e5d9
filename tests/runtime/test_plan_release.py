"""The plan's memory plan: intermediate arrays are released after their last use."""

from __future__ import annotations

import tracemalloc

import numpy as np

import graphtorch as gt
from graphtorch.runtime.executor import plans_of
from graphtorch.runtime.plan_release import _statements, release_dead_arrays

BODY = [
    "def plan(_inputs):",
    "    x, = _inputs",
    "    a = k(x)",
    "    if c:",
    "        b = k(a)",
    "    else:",
    "        b = k(x)",
    "    i = 0",
    "    while i < 3:",
    "        b = k(b, a)",
    "        i += 1",
    "    d = k(b)",
    "    e = k(d)",
]


def test_statements_keep_else_and_loop_bodies_with_their_statement():
    spans = _statements(BODY, 1)
    assert [BODY[a].strip() for a, _ in spans] == [
        "x, = _inputs", "a = k(x)", "if c:", "i = 0", "while i < 3:", "d = k(b)", "e = k(d)"]
    assert spans[2] == (3, 7) and spans[4] == (8, 11)


def test_a_name_is_released_after_the_statement_that_mentions_it_last():
    out = release_dead_arrays(BODY, 1, {"a", "b", "d", "e", "x"})
    # a is read inside the loop on every iteration: released after the whole loop, with x;
    # b after its last read; d and e are read by the last statements (the return follows)
    assert out[out.index("        i += 1") + 1] == "    a = None"
    assert out[out.index("    d = k(b)") + 1] == "    b = None"
    assert "    x = None" in out and out.index("    x = None") > out.index("    else:")
    assert not any(line.strip() in ("d = None", "e = None") for line in out)
    assert [line for line in out if "None" not in line] == BODY


def test_nothing_to_release_leaves_the_lines_alone():
    assert release_dead_arrays(BODY, 1, set()) is BODY


def chain(x):
    a = (x * 0.5).exp()
    s1 = a.mean()
    b = (a - s1).sin()
    s2 = b.amax()
    c = (b - s2).cos()
    s3 = c.mean()
    return (c * s3 + 1.0).tanh()


def _peak(fn, x) -> int:
    tracemalloc.start()
    try:
        fn(x)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_plan_frees_its_intermediates_and_computes_the_same():
    scripted = gt.jit.script(chain)
    x = gt.randn(1 << 18)           # 1 MiB per float32 array
    for _ in range(3):
        got = scripted(x)
    np.testing.assert_allclose(got.numpy(), chain(x).numpy(), rtol=1e-5, atol=1e-6)
    (plan,) = plans_of(scripted).plans.values()
    assert plan.mode == "compiled" and " = None" in plan.source, plan.source
    # NOTE: at most the input's size plus two live intermediates at a time (the chain has 4)
    assert _peak(scripted, x) < 3.5 * x.numel() * 4


LOOP = [
    "def plan(_inputs):",
    "    x, = _inputs",
    "    t, = x,",
    "    while i < n:",
    "        u = k(t)",
    "        s = r(u)",
    "        if c:",
    "            w = k(u, s)",
    "            t_1, = w,",
    "        else:",
    "            t_1, = u,",
    "        t, = t_1,",
    "        i += 1",
    "    y = k(t)",
    "    z = k(y)",
]


def test_arrays_local_to_a_loop_body_are_released_inside_it():
    out = release_dead_arrays(LOOP, 1, {"x", "t", "u", "s", "w", "t_1", "y", "z"})
    body = out[out.index("    while i < n:") + 1:out.index("        i += 1") + 1]
    # u, s, w: bound and read only in the body; t_1 after its last reader; t (carried: bound
    # before the loop) only after the whole loop, with the body's names again
    assert body[body.index("            t_1, = u,") + 1] == "        s = u = w = None"
    assert body[body.index("        t, = t_1,") + 1] == "        t_1 = None"
    assert not any("t = None" in line.split("=")[0] for line in body)
    assert out[out.index("    y = k(t)") + 1] == "    t = None"
    assert [line for line in out if "None" not in line] == LOOP


def loop(x, n: int):
    t = x
    for _ in range(n):
        u = (t * 0.5).exp()
        s = u.mean()
        v = (u - s).sin()
        m = v.amax()
        t = (v - m).cos()
    return t


def test_a_loop_iteration_frees_its_arrays_before_the_next(monkeypatch):
    """Outputs into dead inputs off (plan_memory.py): the last iteration's u and v are gone
    before the next u is made: 3 arrays live at most (t, u, v), not 4."""
    monkeypatch.setenv("GT_PLAN_REUSE", "0")
    scripted = gt.jit.script(loop)
    x = gt.randn(1 << 18)
    for _ in range(3):
        got = scripted(x, 4)
    np.testing.assert_allclose(got.numpy(), loop(x, 4).numpy(), rtol=1e-4, atol=1e-5)
    (plan,) = plans_of(scripted).plans.values()
    body = plan.source.split("    while ")[1]
    assert plan.mode == "compiled" and "        s = u = None" in body, plan.source
    assert _peak(lambda v: scripted(v, 4), x) < 3.5 * x.numel() * 4
