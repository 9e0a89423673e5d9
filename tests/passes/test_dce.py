"""DCE: IR text before and after, plus the same outputs before and after."""

from __future__ import annotations

import numpy as np

import graphtorch as gt
from graphtorch.ir import parse_graph, verify
from graphtorch.passes.manager import run_passes
from graphtorch.runtime.interpreter import run_graph

BEFORE = """graph(%x : Tensor(float32, [2, 3])):
  %1 : Tensor(float32, [2, 3]) = op::exp(%x)
  %2 : Tensor(float32, [2, 3]) = op::tanh(%x)
  %3 : Tensor(float32, [2, 3]) = op::neg(%2)
  %4 : int = prim::Constant[value=3]()
  %5 : str = prim::Constant[value="kept"]()
  = prim::Print(%5)
  %6 : Tensor(float32, [3]) = op::rand(%4)
  return (%1)
"""

AFTER = """graph(%x : Tensor(float32, [2, 3])):
  %1 : Tensor(float32, [2, 3]) = op::exp(%x)
  %4 : int = prim::Constant[value=3]()
  %5 : str = prim::Constant[value="kept"]()
  = prim::Print(%5)
  %6 : Tensor(float32, [3]) = op::rand(%4)
  return (%1)
"""


def test_dce_removes_unused_pure_nodes_only(capsys):
    g = parse_graph(BEFORE)
    x = gt.rand(2, 3)
    before = run_graph(g, [x])[0]
    assert run_passes(g, ["dce"], verify=True)
    assert str(g) == str(parse_graph(AFTER))
    after = run_graph(g, [x])[0]
    np.testing.assert_array_equal(before.numpy(), after.numpy())
    assert "kept" in capsys.readouterr().out


def test_dce_inside_blocks():
    text = """graph(%c : bool, %x : Tensor):
  %y : Tensor = prim::If(%c)
    block0():
      %a : Tensor = op::exp(%x)
      %b : Tensor = op::sin(%x)
      -> (%a)
    block1():
      -> (%x)
  return (%y)
"""
    g = parse_graph(text)
    assert run_passes(g, ["dce"])
    verify(g)
    assert "op::sin" not in str(g) and "op::exp" in str(g)
    assert not run_passes(g, ["dce"])  # a fixed point: nothing more to remove
