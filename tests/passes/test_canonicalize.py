"""Canonicalize/peephole: IR text before and after, numerics unchanged, and what must stay."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.ir import parse_graph
from graphtorch.passes.manager import PassContext, run_passes
from graphtorch.runtime.interpreter import run_graph


def rewrite(before: str, after: str, inputs: list, options: dict | None = None,
            tensors: dict | None = None) -> None:
    g = parse_graph(before)
    g.tensor_constants.update(tensors or {})
    want = run_graph(g, inputs)
    ctx = PassContext(options=dict(options or {}))
    assert run_passes(g, ["canonicalize", "dce"], ctx, verify=True)
    assert str(g) == str(parse_graph(after))
    got = run_graph(g, inputs)
    for a, b in zip(got, want):
        if isinstance(a, gt.Tensor):
            assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape)
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
        else:
            assert a == b
    assert not run_passes(g, ["canonicalize"], ctx, verify=True)


def unchanged(text: str, options: dict | None = None, tensors: dict | None = None) -> None:
    g = parse_graph(text)
    g.tensor_constants.update(tensors or {})
    assert not run_passes(g, ["canonicalize"], PassContext(options=dict(options or {})),
                          verify=True)
    assert str(g) == str(parse_graph(text))


IDENTITY = """graph(%x : Tensor(float32, [2, 3])):
  %z : int = prim::Constant[value=0]()
  %o : float = prim::Constant[value=1.0]()
  %one : int = prim::Constant[value=1]()
  %a : Tensor(float32, [2, 3]) = op::add(%x, %z, %one)
  %b : Tensor(float32, [2, 3]) = op::sub(%a, %z)
  %c : Tensor(float32, [2, 3]) = op::mul(%b, %o)
  %d : Tensor(float32, [2, 3]) = op::div(%c, %one)
  %e : Tensor(float32, [2, 3]) = op::mul(%one, %d)
  %f : Tensor(float32, [2, 3]) = op::exp(%e)
  return (%f)
"""


def test_identity_arithmetic_on_float_tensors():
    rewrite(IDENTITY, """graph(%x : Tensor(float32, [2, 3])):
  %f : Tensor(float32, [2, 3]) = op::exp(%x)
  return (%f)
""", [gt.randn(2, 3)])


def test_identity_with_zero_and_one_tensor_constants():
    rewrite("""graph(%x : Tensor(float32, [2, 3], cpu)):
  %z : Tensor(float32, [3], cpu) = prim::Constant[value=<tensor:zeros>]()
  %o : Tensor(float64, [], cpu) = prim::Constant[value=<tensor:one>]()
  %a : Tensor(float32, [2, 3], cpu) = op::add(%z, %x)
  %b : Tensor(float32, [2, 3], cpu) = op::mul(%a, %o)
  return (%b)
""", """graph(%x : Tensor(float32, [2, 3], cpu)):
  return (%x)
""", [gt.randn(2, 3)], options={"static_shapes": True},
        tensors={"zeros": gt.zeros(3), "one": gt.tensor(1.0, dtype=gt.float64)})


def test_identity_arithmetic_keeps_dtype_and_shape_changes():
    unchanged("""graph(%i : Tensor(int64, [2, 3]), %x : Tensor(float32, [2, 3]), %u : Tensor):
  %one : int = prim::Constant[value=1]()
  %fz : float = prim::Constant[value=0.0]()
  %two : int = prim::Constant[value=2]()
  %z : Tensor(float32, [2, 3], cpu) = prim::Constant[value=<tensor:zeros>]()
  %a : Tensor(float32, [2, 3]) = op::div(%i, %one)
  %b : Tensor(float32, [2, 3]) = op::add(%i, %fz)
  %c : Tensor(float32, [2, 3]) = op::add(%x, %z)
  %d : Tensor(float32, [2, 3]) = op::add(%x, %one, %two)
  %e : Tensor = op::mul(%u, %one)
  %f : Tensor(float32, [2, 3]) = op::sub(%z, %x)
  %r : (Tensor(float32, [2, 3]), Tensor(float32, [2, 3]), Tensor(float32, [2, 3]),
      Tensor(float32, [2, 3]), Tensor, Tensor(float32, [2, 3])) = prim::TupleConstruct(%a, %b,
      %c, %d, %e, %f)
  return (%r)
""", tensors={"zeros": gt.zeros(2, 3)})


def test_broadcasting_zero_is_kept_without_static_shapes():
    # [1, 3] zeros may broadcast x : [2, 3] only if x's size really is 2 x 3 at run time
    unchanged("""graph(%x : Tensor(float32, [2, 3], cpu)):
  %z : Tensor(float32, [3], cpu) = prim::Constant[value=<tensor:zeros>]()
  %a : Tensor(float32, [2, 3], cpu) = op::add(%x, %z)
  return (%a)
""", tensors={"zeros": gt.zeros(3)})


def test_double_neg_and_double_transpose():
    rewrite("""graph(%x : Tensor(float32, [2, 3, 4])):
  %a : Tensor(float32, [2, 3, 4]) = op::neg(%x)
  %b : Tensor(float32, [2, 3, 4]) = op::neg(%a)
  %p : int = prim::Constant[value=0]()
  %q : int = prim::Constant[value=-1]()
  %r : int = prim::Constant[value=2]()
  %c : Tensor(float32, [4, 3, 2]) = op::transpose(%b, %p, %q)
  %d : Tensor(float32, [2, 3, 4]) = op::transpose(%c, %r, %p)
  %e : Tensor(float32, [2, 3, 4]) = op::sin(%d)
  return (%e)
""", """graph(%x : Tensor(float32, [2, 3, 4])):
  %e : Tensor(float32, [2, 3, 4]) = op::sin(%x)
  return (%e)
""", [gt.randn(2, 3, 4)])


def test_transposes_of_different_dims_stay():
    unchanged("""graph(%x : Tensor(float32, [2, 3, 4])):
  %p : int = prim::Constant[value=0]()
  %q : int = prim::Constant[value=1]()
  %r : int = prim::Constant[value=2]()
  %c : Tensor(float32, [3, 2, 4]) = op::transpose(%x, %p, %q)
  %d : Tensor(float32, [3, 4, 2]) = op::transpose(%c, %q, %r)
  return (%d)
""")


def test_tuple_and_list_construct_then_unpack_or_index():
    rewrite("""graph(%x : Tensor(float32, [2]), %n : int):
  %t : (Tensor(float32, [2]), int) = prim::TupleConstruct(%x, %n)
  %a : Tensor(float32, [2]), %b : int = prim::TupleUnpack(%t)
  %one : int = prim::Constant[value=1]()
  %c : int = prim::TupleIndex(%t, %one)
  %l : int[] = prim::ListConstruct(%n, %c)
  %p : int, %q : int = prim::ListUnpack(%l)
  %m : int = prim::Constant[value=-1]()
  %r : int = prim::ListIndex(%l, %m)
  %s : int = prim::add(%p, %r)
  %u : int = prim::add(%s, %b)
  %y : Tensor(float32, [2]) = op::mul(%a, %u)
  return (%y)
""", """graph(%x : Tensor(float32, [2]), %n : int):
  %s : int = prim::add(%n, %n)
  %u : int = prim::add(%s, %n)
  %y : Tensor(float32, [2]) = op::mul(%x, %u)
  return (%y)
""", [gt.randn(2), 3])


def test_list_unpack_stays_when_lists_are_mutated():
    text = """graph(%n : int):
  %l : int[] = prim::ListConstruct(%n)
  %z : NoneType = prim::list_set(%l, %n, %n)
  %p : int = prim::ListUnpack(%l)
  return (%p)
"""
    unchanged(text)


def test_view_to_its_own_size():
    rewrite("""graph(%x : Tensor(float32, [B, 4])):
  %zero : int = prim::Constant[value=0]()
  %b : int = prim::size(%x, %zero)
  %m : int = prim::Constant[value=-1]()
  %l : int[] = prim::ListConstruct(%b, %m)
  %y : Tensor(float32, [B, 4]) = op::view(%x, %l)
  %s : int[] = prim::size(%x)
  %w : Tensor(float32, [B, 4]) = op::reshape(%y, %s)
  %e : Tensor(float32, [B, 4]) = op::exp(%w)
  return (%e)
""", """graph(%x : Tensor(float32, [B, 4])):
  %e : Tensor(float32, [B, 4]) = op::exp(%x)
  return (%e)
""", [gt.randn(5, 4)])


def test_view_to_a_constant_size_needs_static_shapes():
    text = """graph(%x : Tensor(float32, [2, 4])):
  %l : int[] = prim::Constant[value=[2, 4]]()
  %y : Tensor(float32, [2, 4]) = op::view(%x, %l)
  %e : Tensor(float32, [2, 4]) = op::exp(%y)
  return (%e)
"""
    unchanged(text)
    rewrite(text, """graph(%x : Tensor(float32, [2, 4])):
  %e : Tensor(float32, [2, 4]) = op::exp(%x)
  return (%e)
""", [gt.randn(2, 4)], options={"static_shapes": True})


def test_views_that_change_the_shape_stay():
    unchanged("""graph(%x : Tensor(float32, [B, 4])):
  %zero : int = prim::Constant[value=0]()
  %b : int = prim::size(%x, %zero)
  %m : int = prim::Constant[value=-1]()
  %l : int[] = prim::ListConstruct(%m, %b)
  %y : Tensor(float32, [?, B]) = op::view(%x, %l)
  %l2 : int[] = prim::ListConstruct(%m, %m)
  %w : Tensor = op::view(%x, %l2)
  %r : (Tensor(float32, [?, B]), Tensor) = prim::TupleConstruct(%y, %w)
  return (%r)
""")


@pytest.mark.parametrize("copy, rewritten", [("False", True), ("True", False)])
def test_to_dtype_to_the_same_dtype(copy, rewritten):
    text = f"""graph(%x : Tensor(float32, [3]), %i : Tensor(int64, [3])):
  %d : ScalarType = prim::Constant[value=float32]()
  %c : bool = prim::Constant[value={copy}]()
  %y : Tensor(float32, [3]) = op::to_dtype(%x, %d, %c)
  %j : Tensor(float32, [3]) = op::to_dtype(%i, %d, %c)
  %s : Tensor(float32, [3]) = op::add(%y, %j)
  return (%s)
"""
    if not rewritten:
        unchanged(text)
        return
    rewrite(text, """graph(%x : Tensor(float32, [3]), %i : Tensor(int64, [3])):
  %d : ScalarType = prim::Constant[value=float32]()
  %c : bool = prim::Constant[value=False]()
  %j : Tensor(float32, [3]) = op::to_dtype(%i, %d, %c)
  %s : Tensor(float32, [3]) = op::add(%x, %j)
  return (%s)
""", [gt.randn(3), gt.tensor([1, 2, 3])])


def test_unchecked_cast_to_the_same_type():
    g = parse_graph("""graph(%x : Tensor, %o : Tensor?):
  %a : Tensor = prim::unchecked_cast(%x)
  %b : Tensor = prim::unchecked_cast(%o)
  %r : (Tensor, Tensor) = prim::TupleConstruct(%a, %b)
  return (%r)
""")
    assert run_passes(g, ["canonicalize"], verify=True)
    assert str(g) == str(parse_graph("""graph(%x : Tensor, %o : Tensor?):
  %b : Tensor = prim::unchecked_cast(%o)
  %r : (Tensor, Tensor) = prim::TupleConstruct(%x, %b)
  return (%r)
"""))
