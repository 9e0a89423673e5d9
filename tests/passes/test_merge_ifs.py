"""merge_ifs: adjacent ifs on one condition become one (IR before/after, same outputs)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.ir import parse_graph, verify
from graphtorch.passes.manager import run_passes
from graphtorch.runtime.interpreter import run_graph

BEFORE = """graph(%c : bool, %x : Tensor):
  %a : Tensor = prim::If(%c)
    block0():
      %m : Tensor = op::exp(%x)
      -> (%m)
    block1():
      %u : Tensor = prim::Uninitialized()
      -> (%u)
  %b : Tensor = prim::If(%c)
    block0():
      %n : Tensor = op::neg(%a)
      -> (%n)
    block1():
      %s : Tensor = op::sin(%x)
      -> (%s)
  return (%b)
"""

AFTER = """graph(%c : bool, %x : Tensor):
  %b : Tensor = prim::If(%c)
    block0():
      %m : Tensor = op::exp(%x)
      %n : Tensor = op::neg(%m)
      -> (%n)
    block1():
      %s : Tensor = op::sin(%x)
      -> (%s)
  return (%b)
"""


@pytest.mark.parametrize("cond", [True, False])
def test_adjacent_ifs_on_one_condition_merge(cond):
    g = parse_graph(BEFORE)
    x = gt.rand(3)
    before = run_graph(g, [cond, x])[0]
    assert run_passes(g, ["merge_ifs", "dce"], verify=True)
    assert str(g) == str(parse_graph(AFTER))
    np.testing.assert_array_equal(run_graph(g, [cond, x])[0].numpy(), before.numpy())


def test_outputs_used_after_both_ifs_are_kept():
    text = """graph(%c : bool, %x : Tensor):
  %a : Tensor = prim::If(%c)
    block0():
      %m : Tensor = op::exp(%x)
      -> (%m)
    block1():
      -> (%x)
  %b : Tensor = prim::If(%c)
    block0():
      %n : Tensor = op::neg(%a)
      -> (%n)
    block1():
      -> (%a)
  %r : Tensor = op::add(%a, %b)
  return (%r)
"""
    for cond in (True, False):
        g = parse_graph(text)
        x = gt.rand(4)
        want = run_graph(g, [cond, x])[0].numpy()
        assert run_passes(g, ["merge_ifs"], verify=True)
        verify(g)
        assert str(g).count("prim::If") == 1
        np.testing.assert_allclose(run_graph(g, [cond, x])[0].numpy(), want)


def test_ifs_on_different_conditions_stay_apart():
    text = """graph(%c : bool, %d : bool, %x : Tensor):
  %a : Tensor = prim::If(%c)
    block0():
      %m : Tensor = op::exp(%x)
      -> (%m)
    block1():
      -> (%x)
  %b : Tensor = prim::If(%d)
    block0():
      %n : Tensor = op::neg(%a)
      -> (%n)
    block1():
      -> (%a)
  return (%b)
"""
    g = parse_graph(text)
    assert not run_passes(g, ["merge_ifs"])
    assert str(g).count("prim::If") == 2


def test_scripted_early_return_is_one_if():
    @gt.jit.script
    def gate(x):
        if x.mean() > 0:
            return x * 0.5
        return gt.relu(x)

    assert str(gate.graph).count("prim::If") == 1
    assert "prim::Uninitialized" not in str(gate.graph)
    for x in (gt.rand(5), -gt.rand(5)):
        want = x * 0.5 if float(x.mean()) > 0 else gt.relu(x)
        np.testing.assert_array_equal(gate(x).numpy(), want.numpy())
