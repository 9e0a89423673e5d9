# ruff: noqa: E501  (golden IR text lines are as the printer writes them)
"""The autodiff pass: forward + backward graphs from the registry's vjps, equal to eager autograd.

Every registry op's differentiable float64 samples are traced; the graphs are recorded at the
sample values and evaluated at perturbed values (so nothing value-dependent may be baked in),
through the executor's one-node path, and compared with eager autograd.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import dtypes
from graphtorch.ir import parse_graph
from graphtorch.ir.verifier import verify
from graphtorch.ops.registry import REGISTRY, OpKind
from graphtorch.runtime.autodiff import Declined, differentiate, try_differentiate
from graphtorch.runtime.autodiff_exec import CompiledGraphNode
from graphtorch.runtime.executor import prepared_function_graph
from graphtorch.runtime.interpreter import run_graph
from tests.ops.registry_matrix import UNINITIALIZED, all_cases, case_id

# The reasons the pass may give for a registry op (docs/autodiff.md, "Limits").
DOCUMENTED = [
    r"draws random numbers",
    r"updates an input in place",
    r"reads tensor values in Python",
    r"is computed from tensor data",
    r"takes a tensor list and has no vjp",
]


def _differentiable(name: str) -> bool:
    op = REGISTRY[name]
    return (op.differentiable and (op.vjp is not None or op.decomposition is not None)
            and op.kind is not OpKind.RANDOM and name not in UNINITIALIZED)


CASES = [c for c in all_cases((dtypes.float64,)) if _differentiable(c[0])]


def _split(args):
    """Tensor arguments (also inside lists) become graph inputs; the rest trace as constants."""
    tensors = []
    for a in args:
        if isinstance(a, gt.Tensor):
            tensors.append(a)
        elif isinstance(a, (list, tuple)) and a and all(isinstance(t, gt.Tensor) for t in a):
            tensors.extend(a)

    def rebuild(ts):
        it = iter(ts)
        out = []
        for a in args:
            if isinstance(a, gt.Tensor):
                out.append(next(it))
            elif isinstance(a, (list, tuple)) and a and all(isinstance(t, gt.Tensor) for t in a):
                out.append(type(a)(next(it) for _ in a))
            else:
                out.append(a)
        return out

    return tensors, rebuild


def _leaves(x) -> list:
    if isinstance(x, gt.Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return [t for e in x for t in _leaves(e)]
    return []


def _perturbed(t: gt.Tensor, rng) -> gt.Tensor:
    if not t.dtype.is_floating_point:
        return t.clone()
    a = t.numpy()
    return gt.tensor(a * (1 + 0.01 * rng.standard_normal(a.shape)) + 0.001, dtype=t.dtype)


def _grads(fn, tensors, rng_seed, check_node=False):
    """Outputs and input gradients of ``fn`` (float inputs require grad) for fixed cotangents."""
    ins = [t.detach().clone().requires_grad_(t.dtype.is_floating_point) for t in tensors]
    outs = [o for o in _leaves(fn(*ins)) if o.requires_grad]
    if check_node:  # one node behind every output (an input returned as is stays a leaf)
        assert all(isinstance(o.grad_fn, CompiledGraphNode) or any(o is t for t in ins)
                   for o in outs), [o.grad_fn for o in outs]
    rng = np.random.default_rng(rng_seed)
    cots = [gt.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype) for o in outs]
    wrt = [t for t in ins if t.requires_grad]
    if not outs:
        return outs, [None] * len(wrt)
    grads = gt.autograd.grad(outs, wrt, cots, allow_unused=True)
    return outs, list(grads)


def _close(a, b):
    if a is None or b is None:
        za = a is None or not np.any(a.numpy())
        zb = b is None or not np.any(b.numpy())
        assert za and zb, (a, b)
        return
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-9,
                               equal_nan=True)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_registry_op_grads_equal_eager(case, autodiff_on):
    name, _, _, sample = case
    op = REGISTRY[name]
    tensors, rebuild = _split(sample.args)
    if not any(t.dtype.is_floating_point for t in tensors):
        return  # NOTE: no float tensor argument: nothing to differentiate in this sample

    def fn(*ts):
        return op(*rebuild(ts), **sample.kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = gt.jit.trace(fn, tuple(tensors), strict=False, check_trace=False)
    graph = prepared_function_graph(traced)
    rg = [t.dtype.is_floating_point for t in tensors]
    result = try_differentiate(graph, rg, list(tensors))
    if isinstance(result, Declined):
        assert any(re.search(p, result.reason) for p in DOCUMENTED), result.reason
        return
    verify(result.forward)
    verify(result.backward)
    _grads(traced, tensors, 0)  # records the graphs at the sample values
    moved = [_perturbed(t, np.random.default_rng(1)) for t in tensors]
    got_outs, got = _grads(traced, moved, 2, check_node=True)
    want_outs, want = _grads(fn, moved, 2)
    assert len(got_outs) == len(want_outs)
    for a, b in zip(got_outs, want_outs):
        _close(a, b)
    for a, b in zip(got, want):
        _close(a, b)


def test_golden_sin_mul():
    g = parse_graph("""graph(%x : Tensor(float64, [3]), %y : Tensor(float64, [3])):
  %s : Tensor(float64, [3]) = op::sin(%x)
  %m : Tensor(float64, [3]) = op::mul(%s, %y)
  return (%m)""")
    r = differentiate(g, [True, False])
    assert str(r.forward) == """graph(%x : Tensor(float64, [3]), %y : Tensor(float64, [3])):
  %s : Tensor(float64, [3]) = op::sin(%x)
  %m : Tensor(float64, [3]) = op::mul(%s, %y)
  return (%m, %m, %y, %x)
"""
    assert re.sub(r"  # .*", "", str(r.backward)) == """graph(%grad_m : Tensor(float64, [3], cpu), %saved_y : Tensor(float64, [3]), %saved_x : Tensor(float64, [3])):
  %0 : Tensor(float64, [3], cpu) = op::mul(%grad_m, %saved_y)
  %1 : Tensor(float64, [3], cpu) = op::cos(%saved_x)
  %2 : Tensor(float64, [3], cpu) = op::mul(%0, %1)
  return (%2)
"""
    x, y = gt.randn(3, dtype=gt.float64), gt.randn(3, dtype=gt.float64)
    gm = gt.randn(3, dtype=gt.float64)
    fwd = run_graph(r.forward, [x, y])
    (gx,) = run_graph(r.backward, [gm] + fwd[2:])
    np.testing.assert_allclose(gx.numpy(), (gm * y * x.cos()).numpy(), rtol=1e-12)


def test_used_twice_accumulates_and_unreached_input_gets_none():
    g = parse_graph("""graph(%x : Tensor(float64, [2, 3]), %b : Tensor(float64, [3]), %z : Tensor(float64, [3])):
  %a : Tensor(float64, [2, 3]) = op::mul(%x, %x)
  %one : int = prim::Constant[value=1]()
  %c : Tensor(float64, [2, 3]) = op::add(%a, %b, %one)
  return (%c)""")
    r = differentiate(g, [True, True, True])
    x, b, z = (gt.randn(2, 3, dtype=gt.float64), gt.randn(3, dtype=gt.float64),
               gt.randn(3, dtype=gt.float64))
    fwd = run_graph(r.forward, [x, b, z])
    gc = gt.randn(2, 3, dtype=gt.float64)
    gx, gb, gz = run_graph(r.backward, [gc] + fwd[r.n_outputs + r.n_grad_outputs:])
    np.testing.assert_allclose(gx.numpy(), (2 * x * gc).numpy(), rtol=1e-12)
    np.testing.assert_allclose(gb.numpy(), gc.sum(0).numpy(), rtol=1e-12)  # broadcast reduced
    assert gz is None
    assert r.grad_inputs == [0, 1, 2]


@pytest.mark.parametrize("src, reason", [
    ("""graph(%x : Tensor(float64, [3]), %c : bool):
  %y : Tensor(float64, [3]) = prim::If(%c)
    block0():
      -> (%x)
    block1():
      %z : Tensor(float64, [3]) = op::neg(%x)
      -> (%z)
  return (%y)""", r"prim::If \(control flow\)"),
    ("""graph(%x : Tensor(float64, [3])):
  %n : Tensor(float64, [3]) = op::rand_like(%x)
  %y : Tensor(float64, [3]) = op::mul(%x, %n)
  return (%y)""", r"op::rand_like .* draws random numbers"),
])
def test_declines_with_reason(src, reason):
    g = parse_graph(src)
    r = try_differentiate(g, [True] + [False] * (len(g.inputs) - 1),
                          [gt.randn(3, dtype=gt.float64)] + [True] * (len(g.inputs) - 1))
    assert isinstance(r, Declined) and re.search(reason, r.reason), r
    assert differentiate(g, [True] + [False] * (len(g.inputs) - 1),
                         [gt.randn(3, dtype=gt.float64)] + [True] * (len(g.inputs) - 1)) is None


def test_batch_norm_training_declines_without_touching_stats_twice():
    """batch_norm updates running stats in place: declined, the caller keeps the eager tape."""
    bn = gt.nn.BatchNorm1d(3)
    bn.train()
    x = gt.randn(4, 3)
    traced = gt.jit.trace(bn, (x,), check_trace=False)
    from graphtorch.runtime.executor import prepared_graph

    prep = prepared_graph(traced, "forward")
    inputs = [traced, x] + [getattr(bn, p[0]) for p in prep.param_paths]
    rg = [False, False] + [getattr(bn, p[0]).requires_grad for p in prep.param_paths]
    before = bn.running_mean.clone()
    r = try_differentiate(prep.graph, rg, inputs)
    assert isinstance(r, Declined) and "in place" in r.reason, r
    np.testing.assert_array_equal(bn.running_mean.numpy(), before.numpy())  # the pass only looks


@pytest.mark.parametrize("x_shape, reshapes", [((4, 3), 0), ((2, 4, 3), 2)])
def test_reshapes_to_the_same_shape_are_dropped_from_the_backward(x_shape, reshapes):
    """linear's vjp flattens its gradient and input to 2-D: a no-op on 2-D tensors (dropped: the
    backward graph is specialized to the recorded sizes), a real reshape on 3-D ones (kept)."""
    dims = ", ".join(map(str, x_shape))
    out = ", ".join(map(str, x_shape[:-1] + (5,)))
    g = parse_graph(f"""graph(%x : Tensor(float64, [{dims}]), %w : Tensor(float64, [5, 3]), %b : Tensor(float64, [5])):
  %y : Tensor(float64, [{out}]) = op::linear(%x, %w, %b)
  return (%y)""")
    r = differentiate(g, [True, True, True])
    assert str(r.backward).count("op::reshape") == reshapes
    rng = np.random.default_rng(0)
    x, w, b = (gt.tensor(rng.standard_normal(s)) for s in (x_shape, (5, 3), (5,)))
    gy = gt.tensor(rng.standard_normal(x_shape[:-1] + (5,)))
    fwd = run_graph(r.forward, [x, w, b])
    got = run_graph(r.backward, [gy] + fwd[r.n_outputs + r.n_grad_outputs:])
    leaves = [t.detach().requires_grad_() for t in (x, w, b)]
    gt.nn.functional.linear(*leaves).backward(gy)
    for a, t in zip(got, leaves):
        np.testing.assert_allclose(a.numpy(), t.grad.numpy(), rtol=1e-12)
