"""Constant folding: IR text before and after, numerics unchanged, and what must not fold."""

from __future__ import annotations

import numpy as np

import graphtorch as gt
from graphtorch.ir import parse_graph
from graphtorch.passes.constant_fold import MAX_FOLD_NUMEL
from graphtorch.passes.manager import PassContext, run_passes
from graphtorch.runtime.interpreter import run_graph


def same_outputs(got: list, want: list) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want):
        if isinstance(a, gt.Tensor):
            assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
        else:
            assert a == b and type(a) is type(b)


def rewrite(before: str, after: str, inputs: list, passes=("constant_fold", "dce"),
            options: dict | None = None):
    g = parse_graph(before)
    want = run_graph(g, inputs)
    ctx = PassContext(options=dict(options or {}))
    assert run_passes(g, list(passes), ctx, verify=True)
    assert str(g) == str(parse_graph(after))
    same_outputs(run_graph(g, inputs), want)
    assert not run_passes(g, list(passes), ctx, verify=True)
    return g


def unchanged(text: str, options: dict | None = None) -> None:
    g = parse_graph(text)
    ctx = PassContext(options=dict(options or {}))
    assert not run_passes(g, ["constant_fold"], ctx, verify=True)
    assert str(g) == str(parse_graph(text))


def test_fold_scalar_arithmetic_and_comparisons():
    rewrite("""graph(%n : int):
  %a : int = prim::Constant[value=3]()
  %b : int = prim::Constant[value=4]()
  %c : int = prim::mul(%a, %b)
  %d : float = prim::div(%c, %b)
  %e : bool = prim::lt(%d, %c)
  %f : int = prim::add(%n, %c)
  %r : (int, float, bool, int) = prim::TupleConstruct(%c, %d, %e, %f)
  return (%r)
""", """graph(%n : int):
  %0 : int = prim::Constant[value=12]()
  %1 : float = prim::Constant[value=3.0]()
  %2 : bool = prim::Constant[value=True]()
  %f : int = prim::add(%n, %0)
  %r : (int, float, bool, int) = prim::TupleConstruct(%0, %1, %2, %f)
  return (%r)
""", [5])


def test_fold_tuples_and_lists_of_constants():
    rewrite("""graph():
  %a : int = prim::Constant[value=2]()
  %b : float = prim::Constant[value=0.5]()
  %t : (int, float) = prim::TupleConstruct(%a, %b)
  %i : int = prim::Constant[value=1]()
  %x : float = prim::TupleIndex(%t, %i)
  %l : int[] = prim::ListConstruct(%a, %a)
  %p : int, %q : int = prim::ListUnpack(%l)
  %s : int = prim::add(%p, %q)
  %r : (float, int) = prim::TupleConstruct(%x, %s)
  return (%r)
""", """graph():
  %0 : (float, int) = prim::Constant[value=(0.5, 4)]()
  return (%0)
""", [])


def test_fold_tensor_ops_through_the_kernels():
    g = parse_graph("""graph(%x : Tensor(float32, [3])):
  %c : Tensor(float32, [3]) = prim::Constant[value=<tensor:w>]()
  %e : Tensor(float32, [3]) = op::exp(%c)
  %y : Tensor(float32, [3]) = op::mul(%x, %e)
  return (%y)
""")
    g.tensor_constants["w"] = gt.tensor([0.0, 1.0, 2.0])
    x = gt.randn(3)
    want = run_graph(g, [x])
    assert run_passes(g, ["constant_fold", "dce"], verify=True)
    assert str(g) == str(parse_graph("""graph(%x : Tensor(float32, [3])):
  %0 : Tensor(float32, [3], cpu) = prim::Constant[value=<tensor:c0>]()
  %y : Tensor(float32, [3]) = op::mul(%x, %0)
  return (%y)
"""))
    np.testing.assert_allclose(g.tensor_constants["c0"].numpy(), np.exp([0.0, 1.0, 2.0]),
                               rtol=1e-6)
    same_outputs(run_graph(g, [x]), want)


def test_fold_small_factories_but_not_large_ones_random_ones_or_graph_outputs():
    big = MAX_FOLD_NUMEL + 1
    g = parse_graph(f"""graph(%x : Tensor(float32, [4])):
  %n : int = prim::Constant[value=4]()
  %s : int[] = prim::ListConstruct(%n)
  %big : int = prim::Constant[value={big}]()
  %sb : int[] = prim::ListConstruct(%big)
  %z : Tensor(float32, [4]) = op::ones(%s)
  %r : Tensor(float32, [4]) = op::rand(%s)
  %b : Tensor(float32, [{big}]) = op::zeros(%sb)
  %o : Tensor(float32, [4]) = op::zeros(%s)
  %y : Tensor(float32, [4]) = op::add(%x, %z)
  %t : (Tensor(float32, [4]), Tensor(float32, [4]), Tensor(float32, [{big}]), Tensor(float32,
      [4])) = prim::TupleConstruct(%y, %r, %b, %o)
  return (%t)
""")
    assert run_passes(g, ["constant_fold", "dce"], verify=True)
    text = str(g)
    assert "op::ones" not in text and "op::rand" in text and "op::zeros(%" in text
    assert text.count("op::zeros") == 2   # the large one, and the one returned as an output
    assert len(g.tensor_constants) == 1
    x = gt.randn(4)
    y = run_graph(g, [x])[0][0]
    np.testing.assert_allclose(y.numpy(), x.numpy() + 1, rtol=1e-6)


def test_fold_if_with_constant_condition_inlines_the_taken_branch():
    rewrite("""graph(%x : Tensor(float32, [2])):
  %c : bool = prim::Constant[value=False]()
  %y : Tensor(float32, [2]) = prim::If(%c)
    block0():
      %a : Tensor(float32, [2]) = op::sin(%x)
      -> (%a)
    block1():
      %b : Tensor(float32, [2]) = op::cos(%x)
      %d : Tensor(float32, [2]) = op::neg(%b)
      -> (%d)
  return (%y)
""", """graph(%x : Tensor(float32, [2])):
  %b : Tensor(float32, [2]) = op::cos(%x)
  %d : Tensor(float32, [2]) = op::neg(%b)
  return (%d)
""", [gt.randn(2)])


def test_fold_condition_computed_from_constants_then_the_if():
    rewrite("""graph(%x : int):
  %a : int = prim::Constant[value=1]()
  %b : int = prim::Constant[value=2]()
  %c : bool = prim::lt(%a, %b)
  %y : int = prim::If(%c)
    block0():
      %p : int = prim::add(%x, %b)
      -> (%p)
    block1():
      -> (%x)
  return (%y)
""", """graph(%x : int):
  %b : int = prim::Constant[value=2]()
  %p : int = prim::add(%x, %b)
  return (%p)
""", [3])


def test_fold_loops_that_never_run():
    rewrite("""graph(%x : Tensor(float32, [2]), %n : int):
  %f : bool = prim::Constant[value=False]()
  %y : Tensor(float32, [2]) = prim::Loop(%n, %f, %x)
    block0(%i : int, %h : Tensor(float32, [2])):
      %h2 : Tensor(float32, [2]) = op::sin(%h)
      %t : bool = prim::Constant[value=True]()
      -> (%t, %h2)
  %z : int = prim::Constant[value=0]()
  %t2 : bool = prim::Constant[value=True]()
  %w : Tensor(float32, [2]) = prim::Loop(%z, %t2, %y)
    block0(%j : int, %g : Tensor(float32, [2])):
      %g2 : Tensor(float32, [2]) = op::cos(%g)
      -> (%t2, %g2)
  return (%w)
""", """graph(%x : Tensor(float32, [2]), %n : int):
  return (%x)
""", [gt.randn(2), 3])


def test_fold_keeps_loops_that_run_and_values_that_are_not_constant():
    unchanged("""graph(%x : Tensor(float32, [2]), %n : int, %c : bool):
  %t : bool = prim::Constant[value=True]()
  %y : Tensor(float32, [2]) = prim::Loop(%n, %t, %x)
    block0(%i : int, %h : Tensor(float32, [2])):
      %h2 : Tensor(float32, [2]) = op::sin(%h)
      -> (%t, %h2)
  %w : Tensor(float32, [2]) = prim::If(%c)
    block0():
      -> (%y)
    block1():
      -> (%x)
  return (%w)
""")


def test_fold_keeps_mutated_lists_and_failing_evaluations():
    text = """graph(%x : int):
  %a : int = prim::Constant[value=1]()
  %l : int[] = prim::ListConstruct(%a)
  %z : NoneType = prim::list_append(%l, %x)
  %n : int = prim::len(%l)
  %zero : int = prim::Constant[value=0]()
  %d : int = prim::floordiv(%a, %zero)
  %r : (int, int) = prim::TupleConstruct(%n, %d)
  return (%r)
"""
    unchanged(text)


def test_sizes_fold_only_with_static_shapes():
    text = """graph(%x : Tensor(float32, [3, 4])):
  %i : int = prim::Constant[value=1]()
  %s : int = prim::size(%x, %i)
  %m1 : int = prim::Constant[value=-1]()
  %l : int[] = prim::ListConstruct(%m1, %s)
  %y : Tensor(float32, [3, 4]) = op::view(%x, %l)
  return (%y)
"""
    unchanged(text)
    rewrite(text, """graph(%x : Tensor(float32, [3, 4])):
  %0 : int[] = prim::Constant[value=[-1, 4]]()
  %y : Tensor(float32, [3, 4]) = op::view(%x, %0)
  return (%y)
""", [gt.randn(3, 4)], options={"static_shapes": True})


def test_fold_keeps_constant_types_apart():
    # 1 + 1 stays an int, 1.0 + 1 a float, True and True a bool
    rewrite("""graph():
  %a : int = prim::Constant[value=1]()
  %b : float = prim::Constant[value=1.0]()
  %t : bool = prim::Constant[value=True]()
  %c : int = prim::add(%a, %a)
  %d : float = prim::add(%b, %a)
  %e : bool = prim::bitand(%t, %t)
  %r : (int, float, bool) = prim::TupleConstruct(%c, %d, %e)
  return (%r)
""", """graph():
  %0 : (int, float, bool) = prim::Constant[value=(2, 2.0, True)]()
  return (%0)
""", [])
