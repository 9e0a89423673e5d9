"""Compiled modules training through ONE autograd node (autodiff pass) vs eager autograd."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn
from graphtorch.errors import AutogradError
from graphtorch.runtime.autodiff_exec import CompiledGraphNode, explain_autodiff, set_autodiff
from graphtorch.runtime.cpu_codegen import set_executor
from graphtorch.runtime.executor import prepared_function_graph, prepared_graph

EXECUTORS = ["interpreter", "codegen"]


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(12, 16), nn.GELU(), nn.Linear(16, 16), nn.Tanh(),
                                 nn.Linear(16, 5))

    def forward(self, x):
        return self.net(x)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        h = self.pool(self.conv1(x).relu())
        h = self.conv2(h).sigmoid()
        return self.fc(h.flatten(1))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                                batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.layer(x).mean(1))


class LSTMLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(4, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, x):
        h = gt.zeros(x.shape[1], 6)
        c = gt.zeros(x.shape[1], 6)
        for t in range(x.shape[0]):  # unrolled by the trace: weights used at every step
            h, c = self.cell(x[t], (h, c))
        return self.out(h)


MODELS = {
    "mlp": (MLP, lambda: gt.randn(7, 12), lambda: gt.randint(0, 5, (7,))),
    "cnn": (CNN, lambda: gt.randn(3, 2, 8, 8), lambda: gt.randint(0, 3, (3,))),
    "transformer": (Encoder, lambda: gt.randn(2, 5, 8), lambda: gt.randint(0, 3, (2,))),
    "lstm": (LSTMLoop, lambda: gt.randn(4, 3, 4), lambda: gt.randint(0, 3, (3,))),
}


def _pair(name):
    gt.manual_seed(0)
    cls, make_x, make_y = MODELS[name]
    eager = cls()
    twin = copy.deepcopy(eager)
    x = make_x()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = gt.jit.trace(twin, (x,), check_trace=False)
    return eager, twin, traced, make_x, make_y


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("name", list(MODELS))
def test_model_grads_equal_eager(name, executor, autodiff_on):
    set_executor(executor)
    eager, twin, traced, make_x, _ = _pair(name)
    for _ in range(2):  # the second call runs the cached graphs
        x = make_x().requires_grad_()
        xe = x.detach().clone().requires_grad_()
        out = traced(x)
        assert isinstance(out.grad_fn, CompiledGraphNode)
        assert out.grad_fn.name() == "GraphBackward"
        want = eager(xe)
        _close(out, want)
        cot = gt.randn(*out.shape)
        out.backward(cot)
        want.backward(cot)
        _close(x.grad, xe.grad)
        for (pname, p), q in zip(twin.named_parameters(), eager.parameters()):
            assert p.grad is not None, pname
            _close(p.grad, q.grad)
            p.grad = q.grad = None
    assert "backward" in explain_autodiff(prepared_graph(traced, "forward").graph)


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_sgd_20_steps_same_losses_as_eager(name, executor, autodiff_on):
    set_executor(executor)
    eager, twin, traced, make_x, make_y = _pair(name)
    opt_e = gt.optim.SGD(eager.parameters(), lr=0.1, momentum=0.9)
    opt_t = gt.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    data = [(make_x(), make_y()) for _ in range(4)]
    losses_e, losses_t = [], []
    for step in range(20):
        x, y = data[step % 4]
        for model, opt, losses in ((eager, opt_e, losses_e), (traced, opt_t, losses_t)):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    np.testing.assert_allclose(losses_t, losses_e, rtol=1e-5, atol=1e-6)
    assert losses_t[-1] < losses_t[0]


def test_one_node_instead_of_a_tape(autodiff_on):
    _, _, traced, make_x, _ = _pair("mlp")
    out = traced(make_x())
    node = out.grad_fn
    # every edge leads straight to a parameter's AccumulateGrad: no per-op tape in between
    assert len(node.next_functions) == 6
    assert all(type(fn).__name__ == "AccumulateGrad" for fn, _ in node.next_functions)
    set_autodiff(False)
    assert not isinstance(traced(make_x()).grad_fn, CompiledGraphNode)


@pytest.mark.parametrize("executor", ["compiled", *EXECUTORS])
def test_create_graph_replays_through_the_eager_tape(executor, autodiff_on):
    set_executor(executor)
    eager, twin, traced, make_x, _ = _pair("mlp")
    x = make_x().requires_grad_()
    xe = x.detach().clone().requires_grad_()
    out = traced(x)
    assert isinstance(out.grad_fn, CompiledGraphNode)
    # a gradient penalty: d/dparams of |d loss / d x|^2 needs the second derivative
    (gx,) = gt.autograd.grad(out.pow(2).sum(), [x], create_graph=True)
    (gxe,) = gt.autograd.grad(eager(xe).pow(2).sum(), [xe], create_graph=True)
    _close(gx, gxe)
    gx.pow(2).sum().backward()
    gxe.pow(2).sum().backward()
    for (pname, p), q in zip(twin.named_parameters(), eager.parameters()):
        assert p.grad is not None, pname
        _close(p.grad, q.grad)


def test_second_backward_needs_retain_graph(autodiff_on):
    _, twin, traced, make_x, _ = _pair("mlp")
    out = traced(make_x()).sum()
    out.backward(retain_graph=True)
    g1 = twin.net[0].weight.grad.clone()
    out.backward()
    _close(twin.net[0].weight.grad, 2 * g1)
    with pytest.raises(AutogradError, match="Trying to backward through the graph a second time"):
        out.backward()


def test_saved_value_modified_in_place_raises(autodiff_on):
    def f(x, w):
        return (x * w).exp()

    x, w = gt.randn(3), gt.randn(3, requires_grad=True)
    traced = gt.jit.trace(f, (x, w))
    y = traced(x, w)
    y.add_(1)  # exp's vjp reads its output
    with pytest.raises(AutogradError, match="modified by an inplace operation"):
        y.sum().backward()


def reshaped_product(x, w):
    y = x.reshape(-1)
    return (y * w).sum()


def test_an_input_a_saved_view_shares_modified_in_place_raises(autodiff_on):
    """The plan's reshape of ``x`` is a numpy view with no Tensor view chain: the compiled node
    checks the input's version itself (it silently used the modified values before)."""
    scripted = gt.jit.script(reshaped_product)
    w = gt.randn(6, requires_grad=True)
    for _ in range(4):      # the profiling call, then the compiled forward/backward plans
        x = gt.randn(2, 3)
        out = scripted(x, w)
        x.add_(1.0)
        with pytest.raises(AutogradError, match="modified by an inplace operation"):
            out.backward()
    x = gt.randn(2, 3)
    out = scripted(x, w)
    out.backward()          # unmodified: the gradient is x's values
    _close(w.grad, x.reshape(-1))


def test_no_grad_and_inference_take_the_plain_path(autodiff_on):
    _, _, traced, make_x, _ = _pair("mlp")
    with gt.no_grad():
        assert traced(make_x()).grad_fn is None
    assert explain_autodiff(prepared_graph(traced, "forward").graph).startswith(
        "autodiff: not used yet")


def test_declined_graph_still_trains_on_the_eager_tape(autodiff_on):
    @gt.jit.script
    def f(x, w, flag: bool):
        if flag:
            y = x * w
        else:
            y = x - w
        return y.sum()

    w = gt.randn(3, requires_grad=True)
    loss = f(gt.ones(3), w, True)
    assert not isinstance(loss.grad_fn, CompiledGraphNode)
    loss.backward()
    _close(w.grad, gt.ones(3))
    report = explain_autodiff(prepared_function_graph(f))
    assert "declined: prim::If (control flow)" in report


def test_env_variable_turns_it_on():
    code = ("import graphtorch as gt\n"
            "f = gt.jit.trace(lambda x: (x * x).sum(), (gt.randn(3),))\n"
            "x = gt.randn(3, requires_grad=True)\n"
            "print(type(f(x).grad_fn).__name__, gt.jit.get_autodiff())\n")
    env = dict(os.environ, GT_AUTODIFF="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["CompiledGraphNode", "True"]
