"""Shape propagation: types before and after as IR text, checked against real run-time shapes."""

from __future__ import annotations

import graphtorch as gt
import graphtorch.nn as nn
from graphtorch.ir import TensorType, parse_graph
from graphtorch.passes.manager import PassContext, run_passes
from graphtorch.passes.prepare import prepare_method
from graphtorch.runtime.interpreter import run_graph


def propagate(before: str, after: str, options: dict | None = None):
    g = parse_graph(before)
    ctx = PassContext(options=dict(options or {}))
    assert run_passes(g, ["shape_prop"], ctx, verify=True)
    assert str(g) == str(parse_graph(after))
    assert not run_passes(g, ["shape_prop"], PassContext(), verify=True)   # a fixed point
    return g


def fits(t, x) -> bool:
    """Whether the eager tensor ``x`` has the dtype and shape ``t`` claims (symbols bound)."""
    if not isinstance(t, TensorType):
        return True
    if t.dtype is not None and x.dtype is not t.dtype:
        return False
    if t.shape is None:
        return True
    if len(t.shape) != x.dim():
        return False
    return all(d is None or isinstance(d, str) or d == s for d, s in zip(t.shape, x.shape))


def test_ops_get_their_meta_types_with_symbols():
    g = propagate("""graph(%x : Tensor(float32, [B, 4]), %w : Tensor(float32, [4, 8])):
  %a : Tensor = op::matmul(%x, %w)
  %b : Tensor = op::relu(%a)
  %one : int = prim::Constant[value=1]()
  %s : Tensor = op::sum(%b, %one)
  %i : int = prim::Constant[value=0]()
  %n : int = prim::size(%x, %i)
  %m : int = prim::Constant[value=-1]()
  %l : int[] = prim::ListConstruct(%n, %m)
  %v : Tensor = op::view(%b, %l)
  %t : (Tensor, Tensor) = prim::TupleConstruct(%s, %v)
  return (%t)
""", """graph(%x : Tensor(float32, [B, 4]), %w : Tensor(float32, [4, 8])):
  %a : Tensor(float32, [B, 8]) = op::matmul(%x, %w)
  %b : Tensor(float32, [B, 8]) = op::relu(%a)
  %one : int = prim::Constant[value=1]()
  %s : Tensor(float32, [B]) = op::sum(%b, %one)
  %i : int = prim::Constant[value=0]()
  %n : int = prim::size(%x, %i)
  %m : int = prim::Constant[value=-1]()
  %l : int[] = prim::ListConstruct(%n, %m)
  %v : Tensor(float32, [B, ?]) = op::view(%b, %l)
  %t : (Tensor(float32, [B]), Tensor(float32, [B, ?])) = prim::TupleConstruct(%s, %v)
  return (%t)
""")
    s, v = run_graph(g, [gt.randn(5, 4), gt.randn(4, 8)])[0]
    assert tuple(s.shape) == (5,) and tuple(v.shape) == (5, 8)


def test_if_outputs_join_both_branches():
    propagate("""graph(%c : bool, %x : Tensor(float32, [2, 3]), %y : Tensor(float32, [4, 3])):
  %r : Tensor = prim::If(%c)
    block0():
      %a : Tensor = op::exp(%x)
      -> (%a)
    block1():
      %b : Tensor = op::neg(%y)
      -> (%b)
  return (%r)
""", """graph(%c : bool, %x : Tensor(float32, [2, 3]), %y : Tensor(float32, [4, 3])):
  %r : Tensor(float32, [?, 3]) = prim::If(%c)
    block0():
      %a : Tensor(float32, [2, 3]) = op::exp(%x)
      -> (%a)
    block1():
      %b : Tensor(float32, [4, 3]) = op::neg(%y)
      -> (%b)
  return (%r)
""")


def test_loop_carried_types_reach_a_fixed_point():
    g = propagate("""graph(%x : Tensor(float32, [2, 3]), %n : int):
  %t : bool = prim::Constant[value=True]()
  %zero : int = prim::Constant[value=0]()
  %y : Tensor, %h : Tensor = prim::Loop(%n, %t, %x, %x)
    block0(%i : int, %acc : Tensor, %keep : Tensor):
      %l : Tensor[] = prim::ListConstruct(%acc, %x)
      %acc2 : Tensor = op::cat(%l, %zero)
      %keep2 : Tensor = op::tanh(%keep)
      -> (%t, %acc2, %keep2)
  %r : (Tensor, Tensor) = prim::TupleConstruct(%y, %h)
  return (%r)
""", """graph(%x : Tensor(float32, [2, 3]), %n : int):
  %t : bool = prim::Constant[value=True]()
  %zero : int = prim::Constant[value=0]()
  %y : Tensor(float32, [?, 3]), %h : Tensor(float32, [2, 3]) = prim::Loop(%n, %t, %x, %x)
    block0(%i : int, %acc : Tensor(float32, [?, 3]), %keep : Tensor(float32, [2, 3])):
      %l : Tensor(float32, [?, 3])[] = prim::ListConstruct(%acc, %x)
      %acc2 : Tensor(float32, [?, 3]) = op::cat(%l, %zero)
      %keep2 : Tensor(float32, [2, 3]) = op::tanh(%keep)
      -> (%t, %acc2, %keep2)
  %r : (Tensor(float32, [?, 3]), Tensor(float32, [2, 3])) = prim::TupleConstruct(%y, %h)
  return (%r)
""")
    (y, h), = run_graph(g, [gt.randn(2, 3), 3])
    assert tuple(y.shape) == (8, 3) and tuple(h.shape) == (2, 3)


def test_generalize_batch_on_a_traced_mlp():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    traced = gt.jit.trace(model, (gt.randn(3, 4),))
    g, paths = prepare_method(traced, "forward")
    ctx = PassContext(module=traced, options={"generalize_batch": True, "lifted_paths": paths})
    assert run_passes(g, ["shape_prop"], ctx, verify=True)
    want = parse_graph("""graph(%self : __torch__.nn.Sequential, %input : Tensor(float32, [B,
      4], cpu),
      %0_weight : Tensor(float32, [8, 4], cpu), %0_bias : Tensor(float32, [8], cpu),
      %2_weight : Tensor(float32, [2, 8], cpu), %2_bias : Tensor(float32, [2], cpu)):
  %0 : Tensor(float32, [B, 8], cpu) = op::linear(%input, %0_weight, %0_bias)
  %1 : Tensor(float32, [B, 8], cpu) = op::relu(%0)
  %2 : Tensor(float32, [B, 2], cpu) = op::linear(%1, %2_weight, %2_bias)
  return (%2)
""")
    without_locations = "\n".join(line.split("  # ")[0] for line in str(g).splitlines())
    assert without_locations + "\n" == str(want)
    params = [p.detach() for p in (model[0].weight, model[0].bias, model[2].weight,
                                   model[2].bias)]
    out = run_graph(g, [traced, gt.randn(7, 4)] + params)[0]
    assert fits(g.outputs[0].type, out) and tuple(out.shape) == (7, 2)


def test_generalize_batch_gives_other_first_sizes_their_own_symbol():
    propagate("""graph(%x : Tensor(float32, [3, 4]), %y : Tensor(float32, [3, 4]),
      %z : Tensor(float32, [5]), %s : Tensor(float32, [])):
  %a : Tensor(float32, [3, 4]) = op::add(%x, %y)
  return (%a)
""", """graph(%x : Tensor(float32, [B, 4]), %y : Tensor(float32, [B, 4]), %z : Tensor(float32,
      [B1]), %s : Tensor(float32, [])):
  %a : Tensor(float32, [B, 4]) = op::add(%x, %y)
  return (%a)
""", options={"generalize_batch": True})


def test_stale_sizes_are_dropped_when_a_rule_cannot_decide():
    # the view's size list is computed at run time: its output keeps dtype and rank only
    propagate("""graph(%x : Tensor(float32, [3, 4]), %k : int):
  %m : int = prim::Constant[value=-1]()
  %l : int[] = prim::ListConstruct(%k, %m)
  %v : Tensor(float32, [3, 4]) = op::view(%x, %l)
  return (%v)
""", """graph(%x : Tensor(float32, [B, 4]), %k : int):
  %m : int = prim::Constant[value=-1]()
  %l : int[] = prim::ListConstruct(%k, %m)
  %v : Tensor(float32, [?, ?]) = op::view(%x, %l)
  return (%v)
""", options={"generalize_batch": True})


def test_tuples_pass_element_types_through():
    propagate("""graph(%x : Tensor(float32, [2])):
  %a : Tensor = op::exp(%x)
  %t : (Tensor, Tensor) = prim::TupleConstruct(%a, %x)
  %p : Tensor, %q : Tensor = prim::TupleUnpack(%t)
  %i : int = prim::Constant[value=0]()
  %r : Tensor = prim::TupleIndex(%t, %i)
  %s : Tensor = op::mul(%p, %r)
  return (%s)
""", """graph(%x : Tensor(float32, [2])):
  %a : Tensor(float32, [2]) = op::exp(%x)
  %t : (Tensor(float32, [2]), Tensor(float32, [2])) = prim::TupleConstruct(%a, %x)
  %p : Tensor(float32, [2]), %q : Tensor(float32, [2]) = prim::TupleUnpack(%t)
  %i : int = prim::Constant[value=0]()
  %r : Tensor(float32, [2]) = prim::TupleIndex(%t, %i)
  %s : Tensor(float32, [2]) = op::mul(%p, %r)
  return (%s)
""")
