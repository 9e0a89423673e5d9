"""The Introduction-to-TorchScript tutorial flow (tracing, then scripting) under both."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.compat.harness import initial_state, load_state, run_both

pytestmark = [pytest.mark.torch,
              pytest.mark.filterwarnings("ignore:`torch.jit.*is deprecated:DeprecationWarning")]


def _classes(torch):
    class MyDecisionGate(torch.nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            else:
                return -x

    class MyCell(torch.nn.Module):
        def __init__(self, dg=None):
            super().__init__()
            self.dg = dg
            self.linear = torch.nn.Linear(4, 4)

        def forward(self, x, h):
            y = self.linear(x)
            if self.dg is not None:
                y = self.dg(y)
            new_h = torch.tanh(y + h)
            return new_h, new_h

    return MyDecisionGate, MyCell


def tutorial_program(torch, state, data):
    MyDecisionGate, MyCell = _classes(torch)
    x, h = torch.tensor(data[0]), torch.tensor(data[1])
    my_cell = load_state(torch, MyCell(), state)
    eager = my_cell(x, h)
    traced_cell = torch.jit.trace(my_cell, (x, h))
    out = {"print": str(traced_cell), "eager": list(eager), "traced": list(traced_cell(x, h))}
    graph, code = str(traced_cell.graph), traced_cell.code
    out["graph"] = [s in graph for s in ('prim::GetAttr[name="linear"]',
                                         'prim::CallMethod[name="forward"]', "::add(",
                                         "::tanh(", "prim::TupleConstruct")]
    out["code"] = ["def forward(self" in code, "torch.tanh(torch.add(" in code,
                   "-> Tuple[Tensor, Tensor]" in code]
    # A data-dependent branch: tracing warns and keeps the path taken.
    gated = load_state(torch, MyCell(MyDecisionGate()), state)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.jit.trace(gated, (x, h))
    out["tracer_warning"] = "TracerWarning" in [type(w.message).__name__ for w in caught]
    # Scripting keeps the branch; the scripted cell computes what eager does on both paths.
    scripted_gate = torch.jit.script(MyDecisionGate())
    out["gate_code"] = ["if " in scripted_gate.code, "else:" in scripted_gate.code,
                        "torch.neg(x)" in scripted_gate.code]
    scripted_cell = torch.jit.script(load_state(torch, MyCell(scripted_gate), state))
    out["scripted"] = [list(scripted_cell(x, h)), list(scripted_cell(-x * 4, h))]
    out["gated_eager"] = [list(gated(x, h)), list(gated(-x * 4, h))]
    return out


def test_torchscript_tutorial_tracing_and_scripting():
    rng = np.random.default_rng(11)
    data = (rng.random((3, 4), dtype=np.float32), rng.random((3, 4), dtype=np.float32))
    _, actual = run_both(tutorial_program, initial_state(lambda t: _classes(t)[1]()), data)
    assert all(actual["graph"]) and all(actual["code"]) and all(actual["gate_code"])
    assert actual["tracer_warning"]
