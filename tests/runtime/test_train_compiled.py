"""Training through compiled graphs by default: with the default executor and settings, a call
that needs gradients runs the autodiff pass's forward and backward graphs as execution plans
(C fusion groups and reductions in the backward too), joined to eager autograd by one node.
Gradients are checked against eager autograd and against the reference interpreter's tape."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch import nn
from graphtorch.runtime import autodiff_exec, c_backend
from graphtorch.runtime.autodiff_exec import (
    CompiledGraphNode,
    explain_autodiff,
    set_autodiff,
    training_kernels,
)
from graphtorch.runtime.caches import AUTODIFF
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import plans_of, prepared_graph
from graphtorch.runtime.plan import tolerance

needs_cc = pytest.mark.skipif(not c_backend.available(), reason="no C compiler")


def close(got, want) -> None:
    rtol, atol = tolerance(np.float32)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol * 10,
                               atol=atol * 10)


def mlp():
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, 5))


def lenet():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(24, 12), nn.ReLU(), nn.Linear(12, 5))


MODELS = {"mlp": (mlp, (8, 20)), "lenet": (lenet, (8, 1, 12, 12))}


def step_grads(model, x, y) -> tuple:
    model.zero_grad()
    out = model(x)
    loss = nn.functional.cross_entropy(out, y)
    loss.backward()
    return out, loss, [p.grad.numpy().copy() for p in model.parameters()]


def _models(name):
    gt.manual_seed(0)
    make, shape = MODELS[name]
    eager = make()
    scripted = gt.jit.script(copy.deepcopy(eager))
    x, y = gt.randn(*shape), gt.randint(0, 5, (shape[0],))
    return eager, scripted, x, y


@pytest.mark.parametrize("name", list(MODELS))
def test_default_training_is_compiled_and_equals_eager_and_interpreter(name):
    eager, scripted, x, y = _models(name)
    _, _, want = step_grads(eager, x, y)
    out, _, _ = step_grads(scripted, x, y)  # the profiling call: eager tape
    assert not isinstance(out.grad_fn, CompiledGraphNode)
    for _ in range(2):
        out, loss, got = step_grads(scripted, x, y)
        assert isinstance(out.grad_fn, CompiledGraphNode)  # one node for the whole graph
        for g, w in zip(got, want):
            close(gt.from_numpy(g), gt.from_numpy(w))
    set_executor("interpreter")
    _, loss_i, ref = step_grads(scripted, x, y)
    set_executor(None)
    close(loss, loss_i)
    for g, r in zip(got, ref):
        close(gt.from_numpy(g), gt.from_numpy(r))
    report = explain_autodiff(prepared_graph(scripted, "forward").graph)
    assert "forward graph plan: compiled" in report
    assert "backward graph plan: compiled" in report
    assert "declined" not in report  # nn.Flatten's rank branch folds on the call's shapes


@needs_cc
def test_backward_graph_runs_c_kernels():
    _, scripted, x, y = _models("mlp")
    for _ in range(2):
        step_grads(scripted, x, y)
    report = explain_autodiff(prepared_graph(scripted, "forward").graph)
    assert "[c] fusion group [gt, mul]" in report  # relu backward: one pass
    assert "[c] sum (reduction kernel)" in report  # bias gradients
    assert "[c] linear + relu epilogue" in report  # the forward
    assert training_kernels(prepared_graph(scripted, "forward").graph)["c"] >= 5


def test_first_layer_input_gradient_is_not_computed():
    _, scripted, x, y = _models("mlp")
    for _ in range(2):
        step_grads(scripted, x, y)
    graph = prepared_graph(scripted, "forward").graph
    (spec,) = [s for s in AUTODIFF.get(graph).values() if hasattr(s, "graphs")]
    matmuls = [n for n in spec.graphs.backward.nodes() if n.kind == "op::matmul"]
    assert len(matmuls) == 5  # 3 weight gradients, 2 input gradients (not the data's)


def test_sgd_steps_equal_eager():
    eager, scripted, x, y = _models("lenet")
    losses = []
    for model in (eager, scripted):
        opt = gt.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        run = []
        for _ in range(8):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses.append(run)
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5, atol=1e-6)
    assert losses[1][-1] < losses[1][0]


def test_new_batch_size_gets_its_own_specialization():
    eager, scripted, _, _ = _models("mlp")
    for batch in (8, 8, 3, 3):
        x, y = gt.randn(batch, 20), gt.randint(0, 5, (batch,))
        _, _, want = step_grads(eager, x, y)
        out, _, got = step_grads(scripted, x, y)
        for g, w in zip(got, want):
            close(gt.from_numpy(g), gt.from_numpy(w))
    assert isinstance(out.grad_fn, CompiledGraphNode)
    assert explain_autodiff(prepared_graph(scripted, "forward").graph).count(
        "autodiff (compiled)") == 2


def test_autodiff_off_records_the_eager_tape():
    set_autodiff(False)
    _, scripted, x, y = _models("mlp")
    for _ in range(3):
        out, _, _ = step_grads(scripted, x, y)
    assert not isinstance(out.grad_fn, CompiledGraphNode)
    assert [p.mode for p in plans_of(scripted).plans.values()] == ["autograd-codegen"]


def test_declined_graph_trains_on_the_tape_and_says_why():
    @gt.jit.script
    def f(x, w):
        if bool(x.sum() > 0):
            y = x * w
        else:
            y = x - w
        return y.sum()

    w = gt.randn(3, requires_grad=True)
    for _ in range(3):
        w.grad = None
        loss = f(gt.ones(3), w)
        loss.backward()
    assert not isinstance(loss.grad_fn, CompiledGraphNode)
    np.testing.assert_allclose(w.grad.numpy(), np.ones(3))
    report = explain_autodiff(plans_of(f).graph)
    assert "autodiff (compiled): declined: prim::If (control flow)" in report


def test_an_output_that_is_saved_is_one_tensor():
    def f(x, w):
        return (x * w).exp()

    x, w = gt.randn(3), gt.randn(3, requires_grad=True)
    traced = gt.jit.trace(f, (x, w))
    traced(x, w)
    y = traced(x, w)
    assert isinstance(y.grad_fn, CompiledGraphNode)
    y.add_(1)  # exp's vjp reads its output: the compiled plan's output is that saved value
    with pytest.raises(gt.errors.AutogradError, match="modified by an inplace operation"):
        y.sum().backward()


UNARY = ["relu", "tanh", "sigmoid", "exp", "neg", "sin"]
BINARY = ["add", "mul", "sub"]


def _chain(ops):
    def f(x, w, b):
        h = x
        for kind, name in ops:
            if kind == "u":
                h = getattr(gt, name)(h) if name != "exp" else gt.exp(h.clamp(max=3.0))
            else:
                h = getattr(gt, name)(h, w if len(ops) % 2 else b)
        return (h * w + b).sum(-1)

    return f


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from("ub"), st.integers(0, 5)), min_size=2, max_size=5),
       st.sampled_from([gt.float32, gt.float64]))
def test_random_elementwise_chains_fused_in_backward_equal_eager(spec, dtype):
    ops = [(k, UNARY[i] if k == "u" else BINARY[i % 3]) for k, i in spec]
    f = _chain(ops)
    gt.manual_seed(len(ops))
    x = gt.randn(4, 6, dtype=dtype)
    w = gt.randn(6, dtype=dtype, requires_grad=True)  # broadcast: its gradient is reduced
    b = gt.randn(4, 1, dtype=dtype, requires_grad=True)
    traced = gt.jit.trace(f, (x, w, b))
    rtol, atol = tolerance(np.dtype(dtype.name))
    for call in range(2):
        w.grad = b.grad = None
        out = traced(x, w, b)
        cot = gt.randn(4, dtype=dtype)
        out.backward(cot)
        got = (w.grad.numpy().copy(), b.grad.numpy().copy())
        w.grad = b.grad = None
        f(x, w, b).backward(cot)
        assert isinstance(out.grad_fn, CompiledGraphNode) == (call == 1)
        for a, e in zip(got, (w.grad.numpy(), b.grad.numpy())):
            np.testing.assert_allclose(a, e, rtol=rtol * 10, atol=atol * 10)


def test_double_backward_replays_and_refuses_a_modified_input():
    eager, scripted, x, _ = _models("mlp")
    for _ in range(2):
        xs = x.clone().requires_grad_()
        out = scripted(xs)
    assert isinstance(out.grad_fn, CompiledGraphNode)
    xe = x.clone().requires_grad_()
    (g,) = gt.autograd.grad(out.tanh().sum(), [xs], create_graph=True)
    (ge,) = gt.autograd.grad(eager(xe).tanh().sum(), [xe], create_graph=True)
    close(g, ge)

    def f(a, w):
        return (a * 2 + w).tanh()  # tanh's vjp saves its output, not ``a``

    a, w = gt.randn(3), gt.randn(3, requires_grad=True)
    traced = gt.jit.trace(f, (a, w))
    traced(a, w)
    out = traced(a, w)
    assert isinstance(out.grad_fn, CompiledGraphNode)
    a.mul_(2)
    with pytest.raises(gt.errors.AutogradError, match="modified by an inplace operation since"):
        gt.autograd.grad(out.sum(), [w], create_graph=True)


CALLS = []


@gt.jit.ignore
def _count(x):
    CALLS.append(1)
    return x


def test_specialization_never_runs_python_code_an_extra_time():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            if x.dim() == 2:
                x = _count(x)
            return self.fc(x)

    scripted = gt.jit.script(Net())
    CALLS.clear()
    for _ in range(3):
        scripted(gt.randn(4, 3)).sum().backward()
    assert len(CALLS) == 3
    assert "declined" in explain_autodiff(prepared_graph(scripted, "forward").graph)


def test_rank_branch_folds_on_the_call_shapes():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            if x.dim() == 3:
                x = x.sum(0)
            return self.fc(x).tanh()

    gt.manual_seed(0)
    eager = Net()
    scripted = gt.jit.script(copy.deepcopy(eager))
    for shape in ((4, 3), (2, 4, 3)):
        for call in range(2):  # the first call of a signature profiles on the eager tape
            x = gt.randn(*shape)
            for m in (eager, scripted):
                m.zero_grad()
                out = m(x)
                out.sum().backward()
            assert isinstance(out.grad_fn, CompiledGraphNode) == (call == 1)
            for p, q in zip(scripted.parameters(), eager.parameters()):
                close(p.grad, q.grad)
    report = explain_autodiff(prepared_graph(scripted, "forward").graph)
    assert report.count("forward graph plan: compiled") == 2 and "declined" not in report


def test_a_failing_pass_leaves_the_call_on_the_eager_tape(monkeypatch):
    def broken(*args):
        raise RuntimeError("a bug in a vjp")

    monkeypatch.setattr(autodiff_exec, "try_differentiate", broken)
    eager, scripted, x, y = _models("mlp")
    _, _, want = step_grads(eager, x, y)
    for _ in range(3):
        out, _, got = step_grads(scripted, x, y)
    assert not isinstance(out.grad_fn, CompiledGraphNode)
    for g, w in zip(got, want):
        close(gt.from_numpy(g), gt.from_numpy(w))
    report = explain_autodiff(prepared_graph(scripted, "forward").graph)
    assert "declined: the autodiff pass failed (RuntimeError: a bug in a vjp)" in report


def _branchy(x, w):
    if bool(x.sum() > 0):
        return (x * w).sum()
    return (x - w).sum()


def test_jit_explain_reports_what_training_calls_run():
    text = gt.jit.explain(mlp(), gt.randn(4, 20))
    assert "training: autodiff (compiled): forward" in text
    assert "forward graph plan: compiled" in text
    assert "backward graph plan: not built yet" in text  # explain runs no backward
    text = gt.jit.explain(gt.jit.script(_branchy), gt.randn(3), gt.randn(3, requires_grad=True))
    assert "training: autodiff (compiled): declined: prim::If (control flow)" in text
    text = gt.jit.explain(gt.jit.script(_branchy), gt.randn(3), gt.randn(3))
    assert text.endswith("training: nothing requires grad (no parameter or example input)")
