"""The "Introduction to TorchScript" flow with graphtorch in place of torch: scripting a gate with
control flow, a cell using it, a scripted loop around a traced cell, a trace around the scripted
loop, ``.code``, and save/load -- every output equal to eager."""

from __future__ import annotations

import graphtorch as torch
from graphtorch.testing import assert_close


class MyDecisionGate(torch.nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        else:
            return -x


class MyCell(torch.nn.Module):
    def __init__(self, dg):
        super().__init__()
        self.dg = dg
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x, h):
        new_h = torch.tanh(self.dg(self.linear(x)) + h)
        return new_h, new_h


class MyRNNLoop(torch.nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, xs):
        h, y = torch.zeros(3, 4), torch.zeros(3, 4)
        for i in range(xs.size(0)):
            y, h = self.cell(xs[i], h)
        return y, h


class WrapRNN(torch.nn.Module):
    def __init__(self, loop):
        super().__init__()
        self.loop = loop

    def forward(self, xs):
        y, h = self.loop(xs)
        return torch.relu(y)


def _inputs():
    return torch.rand(3, 4) - 0.5, torch.rand(3, 4)


def test_script_function_decorator_and_call_form():
    @torch.jit.script
    def clamp_sum(x, limit: float):
        s = x.sum()
        if s > limit:
            return x - limit
        return x

    def plain(x, limit: float):
        return clamp_sum(x, limit) * 2

    called = torch.jit.script(plain)
    assert isinstance(clamp_sum, torch.jit.ScriptFunction)
    x = torch.rand(5)
    for limit in (0.0, 100.0):
        assert_close(called(x, limit), plain(x, limit))
        expected = x - limit if float(x.sum()) > limit else x
        assert_close(clamp_sum(x, limit), expected)
    assert torch.jit.script(called) is called


def test_scripted_gate_keeps_both_branches():
    gate = MyDecisionGate()
    scripted = torch.jit.script(gate)
    code = scripted.code
    assert "if " in code and "else:" in code and "torch.neg" in code
    x = torch.rand(3, 4)
    assert_close(scripted(x), x)
    assert_close(scripted(-x), x)


def test_scripted_cell_with_scripted_gate_equals_eager():
    gate = torch.jit.script(MyDecisionGate())
    cell = MyCell(gate)
    scripted = torch.jit.script(cell)
    assert "self.dg" in scripted.code and "torch.tanh" in scripted.code
    assert "prim::CallMethod" in str(scripted.graph)
    for _ in range(3):
        x, h = _inputs()
        for got, want in zip(scripted(x, h), cell(x, h)):
            assert_close(got, want)


def _rnn_loop():
    x, h = _inputs()
    traced_cell = torch.jit.trace(MyCell(torch.jit.script(MyDecisionGate())), (x, h))
    return MyRNNLoop(traced_cell)


def test_scripted_loop_around_traced_cell_equals_eager():
    eager = _rnn_loop()
    scripted = torch.jit.script(eager)
    code = scripted.code
    assert "for i in range(" in code
    assert "prim::Loop" in str(scripted.graph)
    for steps in (1, 4, 10):
        xs = torch.rand(steps, 3, 4) - 0.5
        for got, want in zip(scripted(xs), eager(xs)):
            assert_close(got, want)


def test_traced_wrapper_around_scripted_loop_and_save_load(tmp_path):
    loop = torch.jit.script(_rnn_loop())
    wrap = WrapRNN(loop)
    traced = torch.jit.trace(wrap, (torch.rand(10, 3, 4),))
    assert "relu" in traced.code
    xs = torch.rand(10, 3, 4) - 0.5
    assert_close(traced(xs), wrap(xs))
    path = tmp_path / "wrapped_rnn.gt"
    traced.save(str(path))
    loaded = torch.jit.load(str(path))
    assert "loop" in repr(loaded)
    assert loaded.code == traced.code
    assert_close(loaded(xs), wrap(xs))


def test_scripted_module_with_control_flow_round_trips(tmp_path):
    scripted = torch.jit.script(_rnn_loop())
    path = tmp_path / "rnn_loop.gt"
    torch.jit.save(scripted, str(path))
    loaded = torch.jit.load(str(path))
    for steps in (2, 5):
        xs = torch.rand(steps, 3, 4) - 0.5
        for got, want in zip(loaded(xs), scripted(xs)):
            assert_close(got, want)
