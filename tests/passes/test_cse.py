"""CSE: IR text before and after, the same outputs before and after, and what must stay."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.ir import parse_graph
from graphtorch.passes.manager import run_passes
from graphtorch.runtime.interpreter import run_graph


def rewrite(before: str, after: str, inputs: list, passes=("cse",)) -> None:
    """Run the passes on ``before``: the text must become ``after``, the outputs unchanged."""
    g = parse_graph(before)
    want = run_graph(g, inputs)
    assert run_passes(g, list(passes), verify=True)
    assert str(g) == str(parse_graph(after))
    got = run_graph(g, inputs)
    for a, b in zip(got, want):
        if isinstance(a, gt.Tensor):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
        else:
            assert a == b
    assert not run_passes(g, list(passes), verify=True)   # a fixed point


def unchanged(text: str, passes=("cse",)) -> None:
    g = parse_graph(text)
    assert not run_passes(g, list(passes), verify=True)
    assert str(g) == str(parse_graph(text))


def test_cse_merges_pure_ops_and_constants():
    rewrite("""graph(%x : Tensor(float32, [2, 3])):
  %a : Tensor(float32, [2, 3]) = op::exp(%x)
  %b : Tensor(float32, [2, 3]) = op::exp(%x)
  %one : int = prim::Constant[value=1]()
  %one2 : int = prim::Constant[value=1]()
  %c : Tensor(float32, [2, 3]) = op::add(%a, %b, %one)
  %d : Tensor(float32, [2, 3]) = op::add(%a, %b, %one2)
  %e : Tensor(float32, [2, 3]) = op::mul(%c, %d)
  return (%e)
""", """graph(%x : Tensor(float32, [2, 3])):
  %a : Tensor(float32, [2, 3]) = op::exp(%x)
  %one : int = prim::Constant[value=1]()
  %c : Tensor(float32, [2, 3]) = op::add(%a, %a, %one)
  %e : Tensor(float32, [2, 3]) = op::mul(%c, %c)
  return (%e)
""", [gt.randn(2, 3)])


def test_cse_scalar_ops_tuples_and_getattr_free_graph():
    rewrite("""graph(%x : Tensor(float32, [2, 3]), %n : int):
  %a : int = prim::mul(%n, %n)
  %b : int = prim::mul(%n, %n)
  %t : (int, Tensor(float32, [2, 3])) = prim::TupleConstruct(%a, %x)
  %u : (int, Tensor(float32, [2, 3])) = prim::TupleConstruct(%b, %x)
  %r : ((int, Tensor(float32, [2, 3])), (int, Tensor(float32, [2,
      3]))) = prim::TupleConstruct(%t, %u)
  return (%r)
""", """graph(%x : Tensor(float32, [2, 3]), %n : int):
  %a : int = prim::mul(%n, %n)
  %t : (int, Tensor(float32, [2, 3])) = prim::TupleConstruct(%a, %x)
  %r : ((int, Tensor(float32, [2, 3])), (int, Tensor(float32, [2,
      3]))) = prim::TupleConstruct(%t, %t)
  return (%r)
""", [gt.randn(2, 3), 3])


def test_cse_uses_outer_values_inside_blocks_but_not_sibling_blocks():
    rewrite("""graph(%c : bool, %x : Tensor(float32, [3])):
  %a : Tensor(float32, [3]) = op::sin(%x)
  %y : Tensor(float32, [3]) = prim::If(%c)
    block0():
      %b : Tensor(float32, [3]) = op::sin(%x)
      %p : Tensor(float32, [3]) = op::cos(%b)
      -> (%p)
    block1():
      %q : Tensor(float32, [3]) = op::cos(%a)
      -> (%q)
  %z : Tensor(float32, [3]) = op::cos(%a)
  %w : Tensor(float32, [3]) = op::add(%y, %z)
  return (%w)
""", """graph(%c : bool, %x : Tensor(float32, [3])):
  %a : Tensor(float32, [3]) = op::sin(%x)
  %y : Tensor(float32, [3]) = prim::If(%c)
    block0():
      %p : Tensor(float32, [3]) = op::cos(%a)
      -> (%p)
    block1():
      %q : Tensor(float32, [3]) = op::cos(%a)
      -> (%q)
  %z : Tensor(float32, [3]) = op::cos(%a)
  %w : Tensor(float32, [3]) = op::add(%y, %z)
  return (%w)
""", [True, gt.randn(3)])


def test_cse_keeps_random_ops():
    unchanged("""graph(%x : Tensor(float32, [4])):
  %p : float = prim::Constant[value=0.5]()
  %t : bool = prim::Constant[value=True]()
  %a : Tensor(float32, [4]) = op::dropout(%x, %p, %t)
  %b : Tensor(float32, [4]) = op::dropout(%x, %p, %t)
  %c : Tensor(float32, [4]) = op::bernoulli(%a)
  %d : Tensor(float32, [4]) = op::bernoulli(%a)
  %r : (Tensor(float32, [4]), Tensor(float32, [4]), Tensor(float32,
      [4])) = prim::TupleConstruct(%b, %c, %d)
  return (%r)
""")


def test_cse_keeps_constants_of_different_types():
    unchanged("""graph():
  %a : int = prim::Constant[value=1]()
  %b : float = prim::Constant[value=1.0]()
  %c : bool = prim::Constant[value=True]()
  %d : float = prim::Constant[value=-0.0]()
  %e : float = prim::Constant[value=0.0]()
  %f : Scalar = prim::Constant[value=1]()
  %r : (int, float, bool, float, float, Scalar) = prim::TupleConstruct(%a, %b, %c, %d, %e, %f)
  return (%r)
""")


def test_cse_tensor_constants_merge_only_for_the_same_tensor():
    g = parse_graph("""graph():
  %a : Tensor(float32, [2]) = prim::Constant[value=<tensor:c0>]()
  %b : Tensor(float32, [2]) = prim::Constant[value=<tensor:c1>]()
  %c : Tensor(float32, [2]) = prim::Constant[value=<tensor:c0>]()
  %r : (Tensor(float32, [2]), Tensor(float32, [2]), Tensor(float32,
      [2])) = prim::TupleConstruct(%a, %b, %c)
  return (%r)
""")
    g.tensor_constants.update(c0=gt.ones(2), c1=gt.ones(2))
    assert run_passes(g, ["cse"], verify=True)
    assert str(g) == str(parse_graph("""graph():
  %a : Tensor(float32, [2]) = prim::Constant[value=<tensor:c0>]()
  %b : Tensor(float32, [2]) = prim::Constant[value=<tensor:c1>]()
  %r : (Tensor(float32, [2]), Tensor(float32, [2]), Tensor(float32,
      [2])) = prim::TupleConstruct(%a, %b, %a)
  return (%r)
"""))


def test_cse_keeps_lists_when_the_graph_mutates_lists():
    text = """graph(%x : int):
  %a : int[] = prim::ListConstruct(%x)
  %b : int[] = prim::ListConstruct(%x)
  %z : NoneType = prim::list_append(%a, %x)
  %n : int = prim::len(%a)
  %m : int = prim::len(%b)
  %r : (int, int) = prim::TupleConstruct(%n, %m)
  return (%r)
"""
    unchanged(text)
    assert run_graph(parse_graph(text), [7]) == [(2, 1)]


def test_cse_merges_lists_when_nothing_mutates_them():
    rewrite("""graph(%x : Tensor(float32, [2, 3])):
  %s : int = prim::Constant[value=6]()
  %a : int[] = prim::ListConstruct(%s)
  %b : int[] = prim::ListConstruct(%s)
  %u : Tensor(float32, [6]) = op::reshape(%x, %a)
  %v : Tensor(float32, [6]) = op::reshape(%x, %b)
  %w : Tensor(float32, [6]) = op::add(%u, %v)
  return (%w)
""", """graph(%x : Tensor(float32, [2, 3])):
  %s : int = prim::Constant[value=6]()
  %a : int[] = prim::ListConstruct(%s)
  %u : Tensor(float32, [6]) = op::reshape(%x, %a)
  %w : Tensor(float32, [6]) = op::add(%u, %u)
  return (%w)
""", [gt.randn(2, 3)])


def test_cse_keeps_side_effects_and_getattr_after_setattr():
    unchanged("""graph(%self : __torch__.M, %x : Tensor):
  %a : Tensor = prim::GetAttr[name="w"](%self)
  = prim::SetAttr[name="w"](%self, %x)
  %b : Tensor = prim::GetAttr[name="w"](%self)
  %s : str = prim::Constant[value="hi"]()
  = prim::Print(%s)
  = prim::Print(%s)
  %r : (Tensor, Tensor) = prim::TupleConstruct(%a, %b)
  return (%r)
""")


def test_cse_merges_getattr_without_setattr():
    g = parse_graph("""graph(%self : __torch__.M):
  %a : Tensor = prim::GetAttr[name="w"](%self)
  %b : Tensor = prim::GetAttr[name="w"](%self)
  %c : Tensor = prim::GetAttr[name="v"](%self)
  %r : (Tensor, Tensor, Tensor) = prim::TupleConstruct(%a, %b, %c)
  return (%r)
""")
    assert run_passes(g, ["cse"], verify=True)
    assert str(g).count('GetAttr[name="w"]') == 1 and 'GetAttr[name="v"]' in str(g)


@pytest.mark.parametrize("op", ["zeros", "ones"])
def test_cse_keeps_factories_asked_for_fresh_leaves(op):
    unchanged(f"""graph():
  %n : int = prim::Constant[value=2]()
  %s : int[] = prim::ListConstruct(%n)
  %none : NoneType = prim::Constant[value=None]()
  %t : bool = prim::Constant[value=True]()
  %a : Tensor(float32, [2]) = op::{op}(%s, %none, %none, %t)
  %b : Tensor(float32, [2]) = op::{op}(%s, %none, %none, %t)
  %r : (Tensor(float32, [2]), Tensor(float32, [2])) = prim::TupleConstruct(%a, %b)
  return (%r)
""")
