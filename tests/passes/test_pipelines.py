"""The O1 pipeline: a fixed point of canonicalize/constant_fold/cse/dce that never changes what a
graph computes — on IR text, on every registry op's traced samples, on traced models and on a
scripted function with control flow."""

from __future__ import annotations

import pytest

import graphtorch as gt
import graphtorch.nn as nn
from graphtorch.ir import parse_graph
from graphtorch.passes.manager import PIPELINES, PassContext, run_passes
from graphtorch.passes.prepare import prepare_method
from graphtorch.runtime.interpreter import run_graph
from tests.ops.registry_matrix import assert_same_outputs, case_id, graph_cases, trace_case

CASES = graph_cases()


def assert_same(got, want) -> None:
    assert_same_outputs(got, want, rtol=1e-5)


def test_o1_is_the_cleanup_list():
    assert PIPELINES["O1"] == ["canonicalize", "constant_fold", "cse", "dce"]
    assert PIPELINES["O2"][:4] == PIPELINES["O1"]


def test_o1_repeats_until_nothing_changes():
    # folding exposes x * 1, whose removal makes the two exps equal, whose merge leaves dead code
    g = parse_graph("""graph(%x : Tensor(float32, [2, 3])):
  %a : int = prim::Constant[value=3]()
  %b : int = prim::Constant[value=2]()
  %c : int = prim::sub(%a, %b)
  %y : Tensor(float32, [2, 3]) = op::mul(%x, %c)
  %e1 : Tensor(float32, [2, 3]) = op::exp(%y)
  %e2 : Tensor(float32, [2, 3]) = op::exp(%x)
  %s : Tensor(float32, [2, 3]) = op::sub(%e1, %e2)
  %t : bool = prim::gt(%a, %b)
  %r : Tensor(float32, [2, 3]) = prim::If(%t)
    block0():
      -> (%s)
    block1():
      -> (%x)
  return (%r)
""")
    x = gt.randn(2, 3)
    want = run_graph(g, [x])
    assert run_passes(g, "O1", verify=True)
    assert str(g) == str(parse_graph("""graph(%x : Tensor(float32, [2, 3])):
  %e1 : Tensor(float32, [2, 3]) = op::exp(%x)
  %s : Tensor(float32, [2, 3]) = op::sub(%e1, %e1)
  return (%s)
"""))
    assert_same(run_graph(g, [x]), want)
    assert not run_passes(g, "O1", verify=True)


def test_gt_debug_prints_the_graph_after_each_pass(monkeypatch, capsys):
    monkeypatch.setenv("GT_DEBUG", "1")
    g = parse_graph("""graph(%x : Tensor(float32, [2])):
  %a : Tensor(float32, [2]) = op::neg(%x)
  %b : Tensor(float32, [2]) = op::neg(%a)
  return (%b)
""")
    run_passes(g, ["canonicalize", "cse"], verify=True)
    out = capsys.readouterr().out
    assert "--- after canonicalize (changed) ---" in out and "--- after cse (unchanged) ---" in out


# NOTE: the tracer records a Tensor[] return as one output per tensor, which the verifier
# rejects against the schema (a tracer/verifier issue, not a pass one): numerics still checked.
TRACED_UNVERIFIABLE = {"chunk"}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_o1_on_traced_registry_samples(case):
    name = case[0]
    fn, traced, tensors = trace_case(case)
    g = traced.graph.copy()
    run_passes(g, "O1", verify=name not in TRACED_UNVERIFIABLE)
    got = run_graph(g, list(tensors))
    assert_same(got[0] if len(got) == 1 else got, fn(*tensors))


class _CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        y = gt.relu(self.bn(self.conv(x)))
        y = gt.nn.functional.max_pool2d(y, 2)
        y = y.view(y.size(0), -1)
        return self.fc(y * 1.0 + 0.0)


@pytest.mark.parametrize("make", [
    lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(),
                          nn.Linear(8, 2)),
    _CNN,
], ids=["mlp", "cnn"])
def test_o1_on_traced_models(make):
    gt.manual_seed(0)
    model = make().eval()
    example = gt.randn(2, 4) if isinstance(model, nn.Sequential) else gt.randn(2, 3, 8, 8)
    traced = gt.jit.trace(model, (example,))
    g, paths = prepare_method(traced, "forward")
    before = str(g)
    run_passes(g, "O1", PassContext(module=traced), verify=True)
    after = str(g)
    if isinstance(model, _CNN):   # * 1.0 + 0.0 gone, the batch-generic view kept
        assert "op::mul" not in after and "op::add" not in after and "op::view" in after
        assert before.count("value=(1, 1)") == 3 and after.count("value=(1, 1)") == 1
    params = [traced]
    for path in paths:
        obj = model
        for part in path:
            obj = getattr(obj, part)
        params.append(obj)
    x = gt.randn(5, *example.shape[1:])   # another batch size: nothing was specialized
    with gt.no_grad():
        assert_same(run_graph(g, [traced, x] + params[1:]), model(x))


def _scripted(x: gt.Tensor, n: int) -> gt.Tensor:
    y = x * 1
    k = 2 * 3
    for i in range(n):
        if i % 2 == 0:
            y = y + x.sin() + x.sin()
        else:
            y = y - 1.0
    if k > 5:
        y = y.view(x.size(0), -1)
    else:
        y = y * 2.0
    return y.neg().neg()


def test_o1_on_a_scripted_function_with_control_flow():
    fn = gt.jit.script(_scripted)
    g = fn.graph.copy()
    before = str(g)
    assert run_passes(g, "O1", verify=True)
    after = str(g)
    assert after.count("prim::If") == before.count("prim::If") - 1   # k > 5 is known
    assert after.count("op::sin") == 1 and before.count("op::sin") == 2
    for n in (0, 1, 4):
        x = gt.randn(3, 2)
        assert_same(run_graph(g, [x, n]), _scripted(x, n))
