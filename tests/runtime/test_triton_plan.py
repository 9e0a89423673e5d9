"""The execution plan's Triton backend (runtime/triton/device_plan.py) and the CUDA graph logic
(runtime/triton/cuda_graph.py), on the CPU: ``GT_FUSION_BACKEND=triton`` forces the plan that
CUDA tensors get onto CPU arrays, run through Triton's interpreter; CUDA graph capture runs with a
host stand-in for CuPy that re-runs the captured call from its static buffers on each replay."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graphtorch as gt
import graphtorch.nn.functional as F
from graphtorch.ir.graph import Graph
from graphtorch.ir.types import TensorType
from graphtorch.runtime.autodiff_exec import training_kernels
from graphtorch.runtime.executor import explain_plans, plans_of
from graphtorch.runtime.triton import cuda_graph, device_plan
from graphtorch.runtime.triton.selection import wanted


@pytest.fixture
def forced(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("GT_FUSION_BACKEND", "triton")
    monkeypatch.setenv("GT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "triton_plan"))


def model(x, w, b):
    y = gt.tanh(x * 2.0 + 1.0) * x
    s = F.softmax(y, dim=-1)
    ln = F.layer_norm(s, [x.shape[-1]], w, b)
    return ln.sum(-1), F.log_softmax(ln, dim=0), ln.amax(-1, keepdim=True)


def _inputs(rows=6, n=33):
    return gt.randn(rows, n), gt.randn(n), gt.randn(n)


def _run_compiled(fn, *args, calls=3):
    with gt.no_grad():
        for _ in range(calls):
            out = fn(*args)
    return out


def test_plan_picks_triton_kernels_per_node(forced):
    scripted = gt.jit.script(model)
    x, w, b = _inputs()
    got = _run_compiled(scripted, x, w, b)
    with gt.no_grad():
        want = model(x, w, b)
    for a, r in zip(got, want):
        assert a.shape == r.shape
        np.testing.assert_allclose(a.numpy(), r.numpy(), rtol=1e-5, atol=1e-5)
    text = explain_plans(scripted)
    assert "plan: compiled" in text
    assert "[triton] fusion group [mul, add, tanh, mul]" in text
    for row in ("softmax", "layer_norm", "sum", "amax"):
        assert f"[triton] {row} (row kernel)" in text
    # log_softmax over dim 0 is not a row op over the last dim: the eager kernel, said why
    assert "[eager] log_softmax: not a reduction over the last dim" in text
    # other shapes and rows longer than a block reuse the plan (one signature per rank/dtype)
    x2, w2, b2 = _inputs(3, 70)
    with gt.no_grad():
        for a, r in zip(scripted(x2, w2, b2), model(x2, w2, b2)):
            np.testing.assert_allclose(a.numpy(), r.numpy(), rtol=1e-5, atol=1e-5)


def test_explain_shows_backends(forced):
    x, w, b = _inputs()
    text = gt.jit.explain(model, x, w, b)
    assert "[triton] softmax (row kernel)" in text


def test_refused_group_runs_eagerly_with_its_reason(forced):
    def f(x):
        return (x * 3) ** 2 + 1   # integer pow: no Triton lowering

    scripted = gt.jit.script(f)
    x = gt.tensor([[1, 2, 3], [4, 5, 6]])
    got = _run_compiled(scripted, x)
    np.testing.assert_array_equal(got.numpy(), f(x).numpy())
    text = explain_plans(scripted)
    assert "[eager] fusion group" in text and "Triton refused: " in text and "pow" in text


def test_half_precision_rows_through_the_plan(forced):
    def f(x):
        return F.softmax(x * 0.5, dim=-1)

    scripted = gt.jit.script(f)
    x = gt.randn(4, 40).half()
    got = _run_compiled(scripted, x)
    np.testing.assert_allclose(got.numpy().astype(np.float32), f(x).numpy().astype(np.float32),
                               rtol=2e-3, atol=2e-3)
    assert got.dtype == gt.float16
    assert "[triton] softmax (row kernel)" in explain_plans(scripted)


def test_cpu_calls_keep_the_c_plan(monkeypatch):
    monkeypatch.delenv("GT_FUSION_BACKEND", raising=False)
    x, w, b = _inputs()
    assert not wanted([x, w, b])
    scripted = gt.jit.script(model)
    _run_compiled(scripted, x, w, b)
    assert "triton" not in explain_plans(scripted)
    monkeypatch.setenv("GT_FUSION_BACKEND", "interpreter")
    assert not wanted([x])
    monkeypatch.setenv("GT_FUSION_BACKEND", "triton")
    assert wanted([x]) and wanted([1.0])


def test_training_runs_the_autodiff_graphs_as_triton_plans(forced):
    # a call that records gradients goes through the autodiff pass; its forward and backward
    # graphs are plans of their own, so on CUDA (here: forced) they are Triton plans
    gt.manual_seed(0)
    nn = gt.nn
    eager = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 5))
    copy = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                         nn.Linear(16, 5))
    copy.load_state_dict(eager.state_dict())
    scripted = gt.jit.script(copy)
    x, y = gt.randn(8, 20), gt.randint(0, 5, (8,))
    for _ in range(4):
        for m in (eager, scripted):
            for p in m.parameters():
                p.grad = None
            F.cross_entropy(m(x), y).backward()
        for p, q in zip(eager.parameters(), scripted.parameters()):
            np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-6)
    counts = training_kernels(plans_of(scripted).graph)
    assert counts.get("triton", 0) >= 2, counts   # the backward's ReLU masks: fusion groups


# --- CUDA graphs: decision, guard, fallback -------------------------------------------------------
def _write(static, new) -> None:
    if isinstance(static, gt.Tensor):
        np.copyto(static._data, new._data)
    elif isinstance(static, (list, tuple)):
        for s, n in zip(static, new):
            _write(s, n)


class HostGraphs:
    """CuPy's part of GraphedCall on numpy: a "graph" re-runs the captured call, reading the
    static input buffers, as a CUDA graph replays its kernels on the same memory."""

    def __init__(self, fail: str | None = None):
        self.fail = fail

    def clone(self, array):
        return array.copy()

    def copy_in(self, static, array) -> None:
        np.copyto(static, array)

    def capture(self, run):
        if self.fail:
            raise RuntimeError(self.fail)
        outs = run()

        def graph():   # writes where the captured kernels wrote: the static outputs
            _write(outs, run())

        return graph, outs, None

    def replay(self, graph) -> None:
        graph()


def _runner(fn, *example):
    scripted = gt.jit.script(fn)
    _run_compiled(scripted, *example)
    plan = next(iter(plans_of(scripted).plans.values()))
    return plan.runner


def test_capture_decision(forced):
    def chain(x, y):
        return gt.sigmoid(x * y + 1.0) - y

    def branchy(x, y):
        if bool(x.sum() > 0):
            return x + y
        return x - y

    def draws(x, y):
        return x + gt.rand(3)

    x, y = gt.randn(3), gt.randn(3)
    runner = _runner(chain, x, y)
    assert cuda_graph.refusal(runner, [x, y]) == "tensors not all on a CUDA device"
    cuda = gt.device("cuda")
    fake = [gt.Tensor._wrap(t._data, cuda) for t in (x, y)]
    assert cuda_graph.refusal(runner, fake) is None
    assert "prim::If" in cuda_graph.refusal(_runner(branchy, x, y), fake)
    assert "draws random numbers" in cuda_graph.refusal(_runner(draws, x, y), fake)


def test_replay_and_guard():
    calls = []

    def runner(inputs):
        calls.append(1)
        x, s = inputs
        return [gt.Tensor._wrap(x._data * s + 1, x._device)]

    g = cuda_graph.GraphedCall(runner, None, backend=HostGraphs())
    x = gt.randn(4)
    out = g([x, 2.0])[0]
    np.testing.assert_allclose(out.numpy(), x.numpy() * 2 + 1)
    assert g.captures == 1 and g.replays == 1
    x2 = gt.randn(4)
    np.testing.assert_allclose(g([x2, 2.0])[0].numpy(), x2.numpy() * 2 + 1)
    assert g.captures == 1 and g.replays == 2          # same key: replayed on new data
    assert out.numpy() is not g([x2, 2.0])[0].numpy()  # outputs are copies
    g([gt.randn(5), 2.0])                              # another shape: a new capture
    g([x2, 3.0])                                       # another scalar: a new capture
    assert g.captures == 3
    np.testing.assert_allclose(g([x2, 3.0])[0].numpy(), x2.numpy() * 3 + 1)


def test_guard_sees_rebound_parameters():
    lin = gt.nn.Linear(3, 2)
    key = cuda_graph.guard_key([lin, gt.randn(2, 3)])
    with gt.no_grad():
        lin.weight.mul_(2.0)                        # in place: same memory, same graph
    assert cuda_graph.guard_key([lin, gt.randn(2, 3)]) == key
    lin.weight = gt.nn.Parameter(gt.randn(2, 3))    # rebound: the graph would read stale memory
    assert cuda_graph.guard_key([lin, gt.randn(2, 3)]) != key


def test_failed_capture_falls_back():
    def runner(inputs):
        return [inputs[0] + 1]

    g = cuda_graph.GraphedCall(runner, None, backend=HostGraphs(fail="operation not permitted "
                                                                     "when stream is capturing"))
    x = gt.randn(3)
    np.testing.assert_allclose(g([x])[0].numpy(), x.numpy() + 1)
    np.testing.assert_allclose(g([x])[0].numpy(), x.numpy() + 1)
    assert g.captures == 0 and "capture failed (RuntimeError: operation not permitted" in \
        g.explain()
    refused = cuda_graph.GraphedCall(runner, "tensors not all on a CUDA device")
    np.testing.assert_allclose(refused([x])[0].numpy(), x.numpy() + 1)
    assert refused.explain() == "CUDA graphs: not captured (tensors not all on a CUDA device)"


def test_cuda_graph_option_wraps_the_runner(forced, monkeypatch):
    monkeypatch.setitem(device_plan._SETTINGS, "cuda_graphs", True)
    def f(x):
        return gt.relu(x) * 2

    scripted = gt.jit.script(f)
    x = gt.randn(5)
    got = _run_compiled(scripted, x)
    np.testing.assert_allclose(got.numpy(), np.maximum(x.numpy(), 0) * 2)
    plan = next(iter(plans_of(scripted).plans.values()))
    assert isinstance(plan.runner, cuda_graph.GraphedCall)
    assert "CUDA graphs: not captured (tensors not all on a CUDA device)" in plan.source


def test_a_refused_group_runs_its_row_ops_as_row_kernels(forced):
    # a group the Triton backend cannot compile whole (here: one holding a softmax) runs its
    # subgraph, whose row ops still take row kernels
    t = TensorType()
    sub = Graph()
    x = sub.add_input("x")
    y = sub.emit("op::mul", [x, sub.constant(2.0)], [t]).output
    sub.set_outputs([sub.emit("op::softmax", [y, sub.constant(-1)], [t]).output])
    g = Graph()
    gx = g.add_input("x")
    node = g.emit("prim::FusionGroup", [gx], [t], attrs={"subgraph": sub})
    g.set_outputs([node.output])
    runner = device_plan.DeviceRunner(g)
    xs = gt.randn(3, 7)
    (got,) = runner([xs])
    np.testing.assert_allclose(got.numpy(), F.softmax(xs * 2.0, dim=-1).numpy(), rtol=1e-6)
    kinds = {(k.name, k.backend) for k in runner.kernels()}
    assert ("fusion group [mul, softmax]", "eager") in kinds
    assert ("softmax (row kernel)", "triton") in kinds and ("mul", "eager") in kinds


def test_gpu_benchmark_runs_its_graphtorch_side_on_cpu():
    # benchmarks/gpu.py --cpu-smoke: every graphtorch path of the GPU benchmark (compiled
    # chain, row kernels, CUDA-graph option, MLP step, eager op) on tiny CPU inputs; no timing
    # is checked
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu.py"
    run = subprocess.run([sys.executable, str(script), "--cpu-smoke", "--no-torch", "--iters",
                          "1", "--repeats", "1"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "[triton] softmax (row kernel)" in run.stdout
    assert "targets met:" in run.stdout


def test_replay_of_list_inputs_and_tuple_outputs():
    def runner(inputs):
        xs, scale = inputs
        total = xs[0]._data + xs[1]._data
        return [(gt.Tensor._wrap(total * scale, xs[0]._device), 3), xs[1]]

    g = cuda_graph.GraphedCall(runner, None, backend=HostGraphs())
    for _ in range(3):
        a, b = gt.randn(4), gt.randn(4)
        (got, three), second = g([[a, b], 2.0])
        np.testing.assert_allclose(got.numpy(), (a.numpy() + b.numpy()) * 2)
        np.testing.assert_array_equal(second.numpy(), b.numpy())
        assert three == 3 and second is not b        # a copy, not the static buffer
    assert g.captures == 1 and g.replays == 3
    assert cuda_graph.guard_key([object()]) is None   # an unknown object: never captured
    calls = []
    plain = cuda_graph.GraphedCall(lambda inputs: calls.append(1) or [inputs[0]], None,
                                   backend=HostGraphs())
    marker = object()
    assert plain([marker])[0] is marker and plain.captures == 0 and len(calls) == 1
