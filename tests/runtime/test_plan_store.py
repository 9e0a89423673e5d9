"""Execution plans cached on disk (runtime/plan_store.py): a fresh process loads the plan a
previous one built; any change of graph, flags or code builds it again; a damaged entry is
rebuilt, never trusted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.runtime import c_backend, plan_store
from graphtorch.runtime.executor import plans_of

needs_cc = pytest.mark.skipif(not c_backend.available(), reason="no C compiler")

# A fresh process: trace a model of elementwise chains (C fusion groups) and products with a
# tensor constant (registry kernels), build its plan (the second call), run it on the recorded
# batch size and another, print what happened.
PROGRAM = r"""
import json, sys
import numpy as np
import graphtorch as gt
from graphtorch.runtime import c_backend, plan_store
from graphtorch.runtime.executor import plans_of

plan_store._FINGERPRINT[:] = ["pinned"]  # NOTE: an edit of the source tree meanwhile is no miss
SCALE = float(sys.argv[1])
gt.manual_seed(0)
W = gt.randn(16, 16) * 0.25

def model(x):
    for i in range(3):
        x = gt.tanh(x * (SCALE + i) + 0.5)
        x = gt.sigmoid(x) * 2.0 - x
        x = x @ W
    return x

x, y = gt.randn(8, 16), gt.randn(3, 16)
with gt.no_grad():
    f = gt.jit.trace(model, x)
    f(x)
    got = f(x)
    other = f(y)
    plan = next(iter(plans_of(f).plans.values()))
    nodes = sum(1 for _ in plan.graph.walk())
    print(json.dumps({"cache": plan.cache, "mode": plan.mode,
                      "err": float(np.abs(got.numpy() - model(x).numpy()).max()),
                      "err_other": float(np.abs(other.numpy() - model(y).numpy()).max()),
                      "nodes": nodes, "kernels": [k.backend for k in plan.kernels]}))
"""


def run(cache, scale: float = 1.0, **env) -> dict:
    full = dict(os.environ, GT_CACHE_DIR=str(cache), **env)
    full.pop("GT_EXECUTOR", None)
    out = subprocess.run([sys.executable, "-c", PROGRAM, str(scale)], env=full,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def entries(cache) -> list:
    return sorted((cache / "plans").glob("*.plan"))


@needs_cc
def test_a_fresh_process_loads_the_plan_and_computes_the_same(tmp_path):
    first = run(tmp_path)
    assert first["cache"] == "saved to disk" and first["mode"] == "compiled"
    assert len(entries(tmp_path)) == 1
    second = run(tmp_path)
    assert second["cache"] == "loaded from disk" and second["mode"] == "compiled"
    for r in (first, second):
        assert r["err"] < 1e-5 and r["err_other"] < 1e-5  # another batch size too
    # the same kernels; the loaded plan's graph (rerun on demand) is the optimized one
    assert second["kernels"] == first["kernels"] and "c" in second["kernels"]
    assert second["nodes"] == first["nodes"]


# A scripted encoder layer: its plan hands graph nodes to interpreter handlers (loaded by their
# position in the rebuilt graph, whose text is checked against the saved hash).
ENCODER = r"""
import json
import numpy as np
import graphtorch as gt
from graphtorch.runtime import plan_store
from graphtorch.runtime.executor import plans_of

plan_store._FINGERPRINT[:] = ["pinned"]
gt.manual_seed(0)
layer = gt.nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True).eval()
s = gt.jit.script(layer)
x = gt.randn(2, 5, 16)
with gt.no_grad():
    s(x)
    got = s(x)
    plan = next(iter(plans_of(s).plans.values()))
    err = float(np.abs(got.numpy() - layer(x).numpy()).max())
    print(json.dumps({"cache": plan.cache, "err": err, "handlers": "_interp, n_" in plan.source}))
"""


@needs_cc
def test_a_plan_with_handler_nodes_is_loaded(tmp_path):
    env = dict(os.environ, GT_CACHE_DIR=str(tmp_path))
    env.pop("GT_EXECUTOR", None)
    results = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", ENCODER], env=env, capture_output=True,
                             text=True, check=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert results[0]["handlers"] and results[0]["cache"] == "saved to disk"
    assert results[1]["cache"] == "loaded from disk"
    assert all(r["err"] < 1e-5 for r in results)


# Reductions of one value: a reduction group (one C sweep), then an elementwise group.
REDUCTIONS = r"""
import json
import numpy as np
import graphtorch as gt
from graphtorch.runtime import plan_store
from graphtorch.runtime.executor import plans_of

plan_store._FINGERPRINT[:] = ["pinned"]

x = gt.randn(8, 32)
f = gt.jit.trace(lambda t: t.sum(-1) * t.amax(-1) + t.mean(-1), x)
with gt.no_grad():
    f(x)
    got = f(x)
    plan = next(iter(plans_of(f).plans.values()))
    want = x.sum(-1) * x.amax(-1) + x.mean(-1)
    print(json.dumps({"cache": plan.cache, "err": float(np.abs(got.numpy() - want.numpy()).max()),
                      "group": any("reduction group" in k.name for k in plan.kernels)}))
"""


@needs_cc
def test_a_plan_with_a_reduction_group_is_loaded(tmp_path):
    env = dict(os.environ, GT_CACHE_DIR=str(tmp_path))
    env.pop("GT_EXECUTOR", None)
    results = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", REDUCTIONS], env=env, capture_output=True,
                             text=True, check=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert results[0]["group"] and results[0]["cache"] == "saved to disk"
    assert results[1]["cache"] == "loaded from disk"
    assert all(r["err"] < 1e-4 for r in results)


# Reductions with an epilogue (alone, and two of one value with a weight read in the row loop)
# and with a prologue: groups holding fusion groups, saved with their launches.
FUSED_REDUCTIONS = r"""
import json, sys
import numpy as np
import graphtorch as gt
from graphtorch.runtime import plan_store
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import plans_of

plan_store._FINGERPRINT[:] = ["pinned"]

def model(x, w, y):
    a = x - x.amax(1, keepdim=True)
    v = y.var(-1, keepdim=True, correction=0)
    b = (y - y.mean(-1, keepdim=True)) / (v + 1e-5).sqrt() * w
    c = ((x * y) + 1.5).sum(1)
    return a, b, c, (w - w.amax(0).unsqueeze(0)) * 2.0     # a keepdim view

def inputs(n, seed):
    g = np.random.default_rng(seed)
    x = gt.tensor(g.standard_normal((n, 24)).astype(np.float32))
    x[1, 2] = float("nan")
    return x, gt.tensor(g.standard_normal(24).astype(np.float32)), \
        gt.tensor(g.standard_normal((n, 24)).astype(np.float32))

def err(got, want):
    worst = 0.0
    for a, b in zip(got, want):
        assert np.array_equal(np.isnan(a.numpy()), np.isnan(b.numpy()))
        worst = max(worst, float(np.nanmax(np.abs(a.numpy() - b.numpy()))))
    return worst

x, other = inputs(16, 0), inputs(5, 1)
f = gt.jit.trace(model, x)
with gt.no_grad():
    set_executor("interpreter")
    want, want_other = f(*x), f(*other)
    set_executor(None)
    f(*x)
    got = f(*x)
    plan = next(iter(plans_of(f).plans.values()))
    rebuilt = getattr(plan, "_rebuild", None)
    piped = rebuilt is not None and rebuilt.__self__.graph is not None
    got_other = f(*other)   # another batch size: a loaded plan reruns the pipeline for it
    print(json.dumps({"cache": plan.cache, "err": err(got, want), "piped": piped,
                      "err_other": err(got_other, want_other),
                      "kernels": [k.name for k in plan.kernels]}))
"""


def run_fused(cache) -> dict:
    env = dict(os.environ, GT_CACHE_DIR=str(cache))
    env.pop("GT_EXECUTOR", None)
    out = subprocess.run([sys.executable, "-c", FUSED_REDUCTIONS], env=env, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@needs_cc
def test_reduction_groups_with_prologues_and_epilogues_are_loaded(tmp_path):
    first = run_fused(tmp_path)
    assert first["cache"] == "saved to disk", first
    names = " | ".join(first["kernels"])
    assert names.count("+ epilogue [") == 3 and names.count("+ prologue [") == 1, names
    assert "fusion group" not in names, names
    assert "reduction group [amax(1)] + epilogue [sub]" in names     # a reduction alone
    second = run_fused(tmp_path)
    assert second["cache"] == "loaded from disk" and second["kernels"] == first["kernels"]
    # the saved launches answer the calls of the saved geometry: no pipeline, no compile
    assert not second["piped"]
    for r in (first, second):     # float32 bounds of docs/fusion.md "Tolerance", x10
        assert r["err"] < 1e-4 and r["err_other"] < 1e-4, r


@needs_cc
@pytest.mark.parametrize("damage", ["sizes", "positions", "member"])
def test_a_group_entry_that_does_not_fit_is_rebuilt(tmp_path, damage):
    """A loaded group's launches are checked against what the group computes for their input
    geometry (sizes, outputs, argument kinds) and its members against the reductions: an entry
    that does not match, even under a valid digest, is built again."""
    run_fused(tmp_path)
    (entry,) = entries(tmp_path)
    payload = json.loads(entry.read_text().partition("\n")[2])
    groups = [j for j in payload["objects"].values() if "reduce_group" in j]
    epi = next(j for j in groups if "epilogue" in j and j["fused_layouts"])
    launch = next(e for e in epi["fused_layouts"] if e[1] is not False)
    if damage == "sizes":           # P rows of another input
        launch[2]["tuple"][0] += 1
    elif damage == "positions":     # an array argument's position moved
        launch[2]["tuple"][5]["list"].append(7)
    else:
        epi["reduce_group"][0][0] = "softmax"
    body = json.dumps(payload, sort_keys=True)
    entry.write_text(f"{plan_store._digest(body)}\n{body}")
    again = run_fused(tmp_path)
    assert again["cache"] == "saved to disk" and again["err"] < 1e-4, again
    assert run_fused(tmp_path)["cache"] == "loaded from disk"


@needs_cc
def test_another_graph_is_another_entry(tmp_path):
    run(tmp_path, scale=1.0)
    other = run(tmp_path, scale=3.0)  # another constant in the graph
    assert other["cache"] == "saved to disk"
    assert len(entries(tmp_path)) == 2


@needs_cc
def test_the_key_follows_signature_flags_and_code(monkeypatch):
    x = gt.randn(4)
    f = gt.jit.trace(lambda t: t * 2 + 1, x)
    graph = plans_of(f).graph
    key = (False, ((np.dtype(np.float32), 1, gt.device("cpu"), False),))
    base = plan_store.entry_key(graph, key)
    assert plan_store.entry_key(graph, key) == base
    assert plan_store.entry_key(graph, (True, key[1])) != base  # grad mode
    wider = (False, ((np.dtype(np.float64), 1, gt.device("cpu"), False),))
    assert plan_store.entry_key(graph, wider) != base
    monkeypatch.setattr(c_backend, "FLAGS", (*c_backend.FLAGS, "-fno-tree-vectorize"))
    assert plan_store.entry_key(graph, key) != base
    monkeypatch.undo()
    monkeypatch.setattr(plan_store, "_FINGERPRINT", ["another graphtorch"])
    assert plan_store.entry_key(graph, key) != base
    monkeypatch.undo()
    monkeypatch.setenv("GT_NUM_THREADS", "7")
    assert plan_store.entry_key(graph, key) != base


@needs_cc
def test_tensor_constants_are_part_of_the_key():
    w = gt.randn(4)
    f = gt.jit.trace(lambda t: t * w, gt.randn(4))
    graph = plans_of(f).graph
    assert len(graph.tensor_constants) == 1
    other = graph.copy()
    (name,) = other.tensor_constants
    other.tensor_constants[name] = gt.randn(4)  # the same text, other data
    assert str(other) == str(graph)
    key = (False, ((np.dtype(np.float32), 1, gt.device("cpu"), False),))
    assert plan_store.entry_key(graph, key) != plan_store.entry_key(other, key)


@needs_cc
@pytest.mark.parametrize("damage", ["truncate", "body", "digest", "garbage"])
def test_a_damaged_entry_is_rebuilt(tmp_path, damage):
    run(tmp_path)
    (entry,) = entries(tmp_path)
    text = entry.read_text()
    digest, _, body = text.partition("\n")
    if damage == "truncate":
        entry.write_text(text[: len(text) // 2])
    elif damage == "body":       # a changed body under the old digest
        entry.write_text(f"{digest}\n{body.replace('def plan', 'def plan_')}")
    elif damage == "digest":
        entry.write_text(f"{'0' * 64}\n{body}")
    else:
        entry.write_bytes(b"\xff\xfe not a plan \x00")
    again = run(tmp_path)
    assert again["cache"] == "saved to disk" and again["err"] < 1e-5
    assert run(tmp_path)["cache"] == "loaded from disk"  # rewritten whole


@needs_cc
def test_a_missing_kernel_library_rebuilds_the_plan(tmp_path):
    run(tmp_path)
    for lib in (tmp_path / "kernels").glob("gt_batch_*.so"):
        lib.unlink()
    again = run(tmp_path)
    assert again["cache"] == "saved to disk" and again["err"] < 1e-5


@needs_cc
def test_gt_plan_cache_0_turns_it_off(tmp_path):
    r = run(tmp_path, GT_PLAN_CACHE="0")
    assert r["cache"] == "" and not entries(tmp_path)


def test_values_round_trip():
    values = [None, True, 3, "s", 1.5, float("inf"), float("-inf"), 2 + 3j, (1, [2.0, None]),
              np.dtype(np.float32), gt.float64, gt.device("cpu"), int, np.float32(0.25),
              np.arange(6, dtype=np.int16).reshape(2, 3)]
    for v in values:
        back = plan_store._unvalue(json.loads(json.dumps(plan_store._value(v))))
        if isinstance(v, np.ndarray):
            assert back.dtype == v.dtype and np.array_equal(back, v)
        else:
            assert back == v and type(back) is type(v)
    nan = plan_store._unvalue(json.loads(json.dumps(plan_store._value(float("nan")))))
    assert nan != nan
    with pytest.raises(plan_store.Uncacheable):
        plan_store._value(object())
    with pytest.raises(plan_store.Uncacheable):
        plan_store._value(np.array([object()]))
