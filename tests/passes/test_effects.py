"""The effects query DCE asks (ir/effects.py): unused nodes that may raise are kept, nodes known
total for their input types go."""

from __future__ import annotations

from graphtorch.ir import parse_graph, verify
from graphtorch.ir.effects import has_effects
from graphtorch.passes.manager import run_passes

GRAPH = """graph(%x : Tensor(float32, [2, 3]), %t : Tensor, %a : int, %b : int, %f : float):
  %zero : int = prim::Constant[value=0]()
  %two : int = prim::Constant[value=2]()
  %big : int = prim::Constant[value=99]()
  %div0 : int = prim::floordiv(%a, %zero)
  %divb : int = prim::floordiv(%a, %b)
  %modb : int = prim::mod(%a, %b)
  %div2 : int = prim::floordiv(%a, %two)
  %mul : int = prim::mul(%a, %b)
  %fadd : float = prim::add(%f, %f)
  %cmp : bool = prim::lt(%a, %b)
  %size99 : int = prim::size(%x, %big)
  %size0 : int = prim::size(%x, %zero)
  %sumdim : Tensor = op::sum(%t, %big)
  %sumall : Tensor = op::sum(%t)
  %exp : Tensor(float32, [2, 3]) = op::exp(%x)
  %sin : Tensor = op::sin(%t)
  %addxt : Tensor = op::add(%x, %t)
  %addxx : Tensor(float32, [2, 3]) = op::add(%x, %x)
  %tr : Tensor(float32, [3, 2]) = op::transpose(%x, %zero, %big)
  %tr01 : Tensor(float32, [3, 2]) = op::transpose(%x, %zero, %two)
  return (%x)
"""

MAY_RAISE = {"div0", "divb", "modb", "size99", "sumdim", "addxt", "tr", "tr01"}
TOTAL = {"div2", "mul", "fadd", "cmp", "size0", "sumall", "exp", "sin", "addxx"}


def test_effects_query_names_what_may_raise():
    g = parse_graph(GRAPH)
    verdict = {n.outputs[0].name: has_effects(n) for n in g.block.nodes
               if n.outputs and n.kind != "prim::Constant"}
    assert {k for k, v in verdict.items() if v} == MAY_RAISE
    assert {k for k, v in verdict.items() if not v} == TOTAL


def test_dce_keeps_what_may_raise_and_removes_the_rest():
    g = parse_graph(GRAPH)
    assert run_passes(g, ["dce"], verify=True)
    verify(g)
    left = {n.outputs[0].name for n in g.block.nodes if n.outputs}
    assert MAY_RAISE <= left
    assert not TOTAL & left


def test_while_loop_without_uses_is_kept_for_loop_is_not():
    text = """graph(%n : int):
  %big : int = prim::Constant[value=9223372036854775807]()
  %go : bool = prim::Constant[value=True]()
  = prim::Loop(%big, %go)
    block0(%i : int):
      -> (%go)
  = prim::Loop(%n, %go)
    block0(%j : int):
      %k : int = prim::add(%j, %n)
      -> (%go)
  return (%n)
"""
    g = parse_graph(text)
    run_passes(g, ["dce"], verify=True)
    loops = [n for n in g.block.nodes if n.kind == "prim::Loop"]
    assert len(loops) == 1 and loops[0].inputs[0].is_constant
