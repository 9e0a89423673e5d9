"""fuse_elementwise, decompose and the lowering notation: IR text before/after plus numerics."""
# ruff: noqa: E501  (golden IR text lines are as the printer writes them)

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import GraphError
from graphtorch.ir import parse_graph, verify
from graphtorch.ops.lowering import BinOp, Call, Const, format_expr, lowering_of, parse_lowering
from graphtorch.ops.registry import REGISTRY
from graphtorch.passes.fuse_elementwise import fusion_groups
from graphtorch.passes.manager import run_passes
from graphtorch.runtime.interpreter import run_graph

CHAIN = """graph(%x : Tensor(float32, [B, 4]), %w : Tensor(float32, [4]), %y : Tensor(float32, [B, 4])):
  %one : int = prim::Constant[value=1]()
  %a : Tensor(float32, [B, 4]) = op::mul(%x, %w)
  %b : Tensor(float32, [B, 4]) = op::add(%a, %w, %one)
  %c : Tensor(float32, [B, 4]) = op::tanh(%b)
  %m : Tensor(float32, []) = op::sum(%c)
  %s : Tensor(float32, [B, 4]) = op::sigmoid(%y)
  %d : Tensor(float32, [B, 4]) = op::mul(%c, %s)
  return (%d, %m)
"""

CHAIN_FUSED = """graph(%x : Tensor(float32, [B, 4]), %w : Tensor(float32, [4]), %y : Tensor(float32, [B, 4])):
  %c : Tensor(float32, [B, 4]) = prim::FusionGroup[subgraph=graph(%x : Tensor(float32, [B, 4]), %w : Tensor(float32, [4])):
      %a : Tensor(float32, [B, 4]) = op::mul(%x, %w)
      %0 : int = prim::Constant[value=1]()
      %b : Tensor(float32, [B, 4]) = op::add(%a, %w, %0)
      %c : Tensor(float32, [B, 4]) = op::tanh(%b)
      return (%c)
    ](%x, %w)
  %m : Tensor(float32, []) = op::sum(%c)
  %d : Tensor(float32, [B, 4]) = prim::FusionGroup[subgraph=graph(%y : Tensor(float32, [B, 4]), %c : Tensor(float32, [B, 4])):
      %s : Tensor(float32, [B, 4]) = op::sigmoid(%y)
      %d : Tensor(float32, [B, 4]) = op::mul(%c, %s)
      return (%d)
    ](%y, %c)
  return (%d, %m)
"""


@pytest.mark.parametrize("batch", [1, 5])
def test_fuse_chain_before_after(batch):
    g = parse_graph(CHAIN)
    args = [gt.randn(batch, 4), gt.randn(4), gt.randn(batch, 4)]
    before = run_graph(g, args)
    assert run_passes(g, ["fuse_elementwise", "dce"], verify=True)
    assert str(g) == str(parse_graph(CHAIN_FUSED))
    after = run_graph(g, args)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


LONE = """graph(%x : Tensor(float32, [3, 4])):
  %one : int = prim::Constant[value=1]()
  %sq : Tensor(float32, [3, 4]) = op::mul(%x, %x)
  %s : Tensor(float32, [3]) = op::sum(%sq, %one)
  %m : Tensor(float32, [3]) = op::amax(%sq, %one)
  %e : Tensor(float32, [3, 4]) = op::exp(%x)
  %t : Tensor(float32, [3]) = op::sum(%e, %one)
  return (%s, %m, %e, %t)
"""

LONE_FUSED = """graph(%x : Tensor(float32, [3, 4])):
  %one : int = prim::Constant[value=1]()
  %sq : Tensor(float32, [3, 4]) = prim::FusionGroup[subgraph=graph(%x : Tensor(float32, [3, 4])):
      %sq : Tensor(float32, [3, 4]) = op::mul(%x, %x)
      return (%sq)
    ](%x)
  %s : Tensor(float32, [3]) = op::sum(%sq, %one)
  %m : Tensor(float32, [3]) = op::amax(%sq, %one)
  %e : Tensor(float32, [3, 4]) = op::exp(%x)
  %t : Tensor(float32, [3]) = op::sum(%e, %one)
  return (%s, %m, %e, %t)
"""


def test_a_lone_node_only_reductions_read_is_a_group_of_one():
    # x * x feeds reductions only (the plan computes it inside their sweep); exp(x) is also
    # returned, so it stays a plain node
    g = parse_graph(LONE)
    x = gt.randn(3, 4)
    before = run_graph(g, [x])
    assert run_passes(g, ["fuse_elementwise", "dce"], verify=True)
    assert str(g) == str(parse_graph(LONE_FUSED))
    for a, b in zip(before, run_graph(g, [x])):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_no_fusion_across_blocks_effects_or_random():
    text = """graph(%c : bool, %x : Tensor(float32, [3])):
  %a : Tensor(float32, [3]) = op::exp(%x)
  %msg : str = prim::Constant[value="between"]()
  = prim::Print(%msg)
  %b : Tensor(float32, [3]) = op::neg(%a)
  %y : Tensor(float32, [3]) = prim::If(%c)
    block0():
      %i : Tensor(float32, [3]) = op::sin(%b)
      -> (%i)
    block1():
      -> (%b)
  %p : float = prim::Constant[value=0.5]()
  %t : bool = prim::Constant[value=True]()
  %r : Tensor(float32, [3]) = op::dropout(%y, %p, %t)
  %z : Tensor(float32, [3]) = op::cos(%r)
  return (%z)
"""
    g = parse_graph(text)
    assert not run_passes(g, ["fuse_elementwise"], verify=True)
    assert str(g) == str(parse_graph(text))


def test_fusion_inside_a_block_and_unfusable_rounding_mode():
    g = parse_graph("""graph(%c : bool, %x : Tensor(float32, [3])):
  %m : str = prim::Constant[value="floor"]()
  %q : Tensor(float32, [3]) = op::div(%x, %x, %m)
  %y : Tensor(float32, [3]) = prim::If(%c)
    block0():
      %i : Tensor(float32, [3]) = op::sin(%q)
      %j : Tensor(float32, [3]) = op::exp(%i)
      -> (%j)
    block1():
      -> (%q)
  return (%y)
""")
    x = gt.tensor([1.5, -2.0, 3.0])
    before = run_graph(g, [True, x])[0]
    assert run_passes(g, ["fuse_elementwise"], verify=True)
    groups = fusion_groups(g)
    assert len(groups) == 1 and groups[0].owning_node.kind == "prim::If"
    assert any(n.kind == "op::div" for n in g.nodes())
    np.testing.assert_allclose(run_graph(g, [True, x])[0].numpy(), before.numpy())


def test_decompose_then_fuse_matches_interpreter():
    g = parse_graph("""graph(%x : Tensor(float32, [3, 4]), %w : Tensor(float32, [5, 4]), %b : Tensor(float32, [5])):
  %n : NoneType = prim::Constant[value=None]()
  %l : Tensor(float32, [3, 5]) = op::linear(%x, %w, %b)
  %t : str = prim::Constant[value="tanh"]()
  %y : Tensor(float32, [3, 5]) = op::gelu(%l, %t)
  %s : int[] = prim::Constant[value=[5]]()
  %z : Tensor(float32, [3, 5]) = op::layer_norm(%y, %s, %n, %n)
  return (%z)
""")
    args = [gt.randn(3, 4), gt.randn(5, 4), gt.randn(5)]
    ref = run_graph(g, args)[0].numpy()
    assert run_passes(g, ["decompose", "dce"], verify=True)
    kinds = {n.kind for n in g.walk()}
    assert not kinds & {"op::linear", "op::gelu", "op::layer_norm"}
    assert {"op::matmul", "op::tanh", "op::mean", "op::rsqrt"} <= kinds
    run_passes(g, ["fuse_elementwise", "dce"], verify=True)
    assert len(fusion_groups(g)) >= 2
    np.testing.assert_allclose(run_graph(g, args)[0].numpy(), ref, rtol=1e-5, atol=1e-6)


def test_decompose_keeps_symbolic_shapes_composite():
    g = parse_graph("""graph(%x : Tensor(float32, [B, 4])):
  %t : str = prim::Constant[value="none"]()
  %y : Tensor(float32, [B, 4]) = op::gelu(%x, %t)
  return (%y)
""")
    assert not run_passes(g, ["decompose"], verify=True)


def test_every_registry_lowering_parses_and_round_trips():
    n = 0
    for op in REGISTRY.values():
        e = lowering_of(op)
        if e is not None:
            assert parse_lowering(op, format_expr(e)) == e, op.name
            n += 1
    assert n >= 60
    assert parse_lowering("t", "{0} + 2 * {1} > 1.5") == BinOp(
        ">", BinOp("+", parse_lowering("t", "{0}"), BinOp("*", Const(2), parse_lowering(
            "t", "{1}"))), Const(1.5))
    assert isinstance(parse_lowering("t", "where({0}, {1}, 0)"), Call)


@pytest.mark.parametrize("bad,msg", [("foo({0})", "unknown function 'foo'"),
                                     ("exp({0}, {1})", "exp() takes 1 argument"),
                                     ("({0} + ", "expected 'an expression', got the end"),
                                     ("{0} $ 1", "cannot read")])
def test_lowering_errors_name_the_op(bad, msg):
    with pytest.raises(GraphError, match="lowering of op 'myop'") as e:
        parse_lowering("myop", bad)
    assert msg in str(e.value)


def test_fused_group_verifies_after_o2():
    g = parse_graph(CHAIN)
    run_passes(g, "O2", verify=True)
    verify(g)
    assert len(fusion_groups(g)) == 2
