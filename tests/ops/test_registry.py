"""The registry matrix: every op's samples checked against references, metas and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import dtypes
from graphtorch.ops.meta import meta_of
from graphtorch.ops.registry import REGISTRY, OpKind
from tests.ops.registry_matrix import (
    NONDETERMINISTIC,
    UNINITIALIZED,
    all_cases,
    case_id,
    outputs,
    to_torch,
    torch_call,
)

CASES = all_cases()


def test_every_primitive_has_every_part():
    missing = []
    for name, op in REGISTRY.items():
        if op.is_composite and op.kernel is None:
            if op.meta is None or op.samples is None:
                missing.append(f"{name}: composite needs meta and samples")
            continue
        for part in ("kernel", "meta", "samples"):
            if getattr(op, part) is None:
                missing.append(f"{name}: no {part}")
        if op.differentiable and op.vjp is None:
            missing.append(f"{name}: differentiable but no vjp")
        if op.kind is OpKind.ELEMENTWISE and op.lowering is None:
            missing.append(f"{name}: elementwise without a lowering")
        if op.samples is not None and not any(op.samples(dt) for dt in
                                              (dtypes.float32, dtypes.float64, dtypes.int64)):
            missing.append(f"{name}: no sample inputs")
    assert not missing, "registry entries lack parts:\n" + "\n".join(missing)


def _as_metas(args):
    return [meta_of(a) if isinstance(a, gt.Tensor) else
            [meta_of(x) if isinstance(x, gt.Tensor) else x for x in a]
            if isinstance(a, (list, tuple)) and any(isinstance(x, gt.Tensor) for x in a) else a
            for a in args]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_meta_matches_kernel(case):
    name, _, _, sample = case
    op = REGISTRY[name]
    out = outputs(op(*sample.args, **sample.kwargs))
    bound = op.binder.bind(tuple(_as_metas(sample.args)),
                           {k: v for k, v in sample.kwargs.items()})
    metas = outputs(op.meta(*bound))
    assert len(metas) == len(out)
    for m, o in zip(metas, out):
        assert m.dtype is o.dtype, f"{name}: meta dtype {m.dtype} vs kernel {o.dtype}"
        # NOTE: None is an unknown (data-dependent) size, e.g. nonzero's row count
        assert len(m.shape) == len(o.shape) and all(
            md is None or md == od for md, od in zip(m.shape, o.shape)), \
            f"{name}: meta shape {m.shape} vs {o.shape}"


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_pytorch(case):
    import torch

    name, _, _, sample = case
    op = REGISTRY[name]
    ours = outputs(op(*sample.args, **sample.kwargs))
    theirs = outputs(torch_call(op, sample.args, sample.kwargs))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert str(b.dtype) == f"torch.{a.dtype.name}", f"{name}: dtype {a.dtype} vs {b.dtype}"
        assert tuple(a.shape) == tuple(b.shape), f"{name}: shape {a.shape} vs {b.shape}"
        if op.kind in NONDETERMINISTIC or name in UNINITIALIZED:
            continue
        tol = {"float32": 1e-5, "float64": 1e-10, "complex64": 1e-5,
               "complex128": 1e-10}.get(a.dtype.name, 0)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol,
                                   atol=tol, err_msg=name)
    _ = torch


GRAD_CASES = all_cases((dtypes.float64,), differentiable_only=True)


def _float_inputs(args):
    """Positions of float tensors: ``i`` for a tensor argument, ``(i, j)`` inside a Tensor[]."""
    out = []
    for i, a in enumerate(args):
        if isinstance(a, gt.Tensor) and a.dtype.is_floating_point:
            out.append(i)
        elif isinstance(a, (list, tuple)):
            out.extend((i, j) for j, t in enumerate(a)
                       if isinstance(t, gt.Tensor) and t.dtype.is_floating_point)
    return out


def _at(args, pos):
    return args[pos] if isinstance(pos, int) else args[pos[0]][pos[1]]


def _put(args: list, pos, value) -> None:
    if isinstance(pos, int):
        args[pos] = value
    else:
        lst = list(args[pos[0]])
        lst[pos[1]] = value
        args[pos[0]] = lst


@pytest.mark.parametrize("case", GRAD_CASES, ids=case_id)
def test_vjp_matches_finite_differences(case):
    name, _, _, sample = case
    op = REGISTRY[name]
    idx = _float_inputs(sample.args)
    if not idx:
        pytest.fail(f"{name}: differentiable op sample without float64 tensor inputs")
    args = list(sample.args)
    for p in idx:
        _put(args, p, _at(sample.args, p).detach().clone().requires_grad_(True))
    outs = [o for o in outputs(op(*args, **sample.kwargs)) if o.dtype.is_floating_point]
    rng = np.random.default_rng(0)
    cots = [gt.tensor(rng.standard_normal(o.shape), dtype=gt.float64) for o in outs]
    grads = gt.autograd.grad(outs, [_at(args, p) for p in idx], cots, allow_unused=True)

    def objective(arrays):
        vals = list(sample.args)
        for p, arr in zip(idx, arrays):
            _put(vals, p, gt.tensor(arr, dtype=gt.float64))
        res = [o for o in outputs(op(*vals, **sample.kwargs)) if o.dtype.is_floating_point]
        return sum(float((r.numpy() * c.numpy()).sum()) for r, c in zip(res, cots))

    base = [_at(sample.args, p).numpy().astype(np.float64).copy() for p in idx]
    # NOTE: a central difference's error is (output rounding) / eps: with float64 outputs eps=1e-6
    # leaves ~1e-10; an output rounded to float32 (a cast) needs eps=1e-3 and float32 tolerances.
    low_precision = any(o.dtype is not gt.float64 for o in outs)
    eps, tol = (1e-3, 1e-3) if low_precision else (1e-6, 1e-5)
    for k, (arr, g) in enumerate(zip(base, grads)):
        num = np.zeros_like(arr)
        for j in range(arr.size):
            plus = [b.copy() for b in base]
            minus = [b.copy() for b in base]
            plus[k].reshape(-1)[j] += eps
            minus[k].reshape(-1)[j] -= eps
            num.reshape(-1)[j] = (objective(plus) - objective(minus)) / (2 * eps)
        got = np.zeros_like(arr) if g is None else g.numpy()
        np.testing.assert_allclose(got, num, rtol=tol, atol=tol / 10,
                                   err_msg=f"{name}: gradient of input {idx[k]}")


def test_matrix_is_not_empty():
    assert len(CASES) > 100
    assert len(GRAD_CASES) > 40
    _ = to_torch


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_fast_dispatch_matches_general_path(case):
    """dispatch's fast path (positional CPU calls) gives what the general path gives."""
    from graphtorch.ops import dispatch as dispatch_mod

    name, _, _, sample = case
    op = REGISTRY[name]
    if op.kind in NONDETERMINISTIC or name in UNINITIALIZED:
        return
    fast = outputs(op(*sample.args, **sample.kwargs))
    plan = dispatch_mod._PLANS[op]
    was, plan.fast = plan.fast, False
    try:
        general = outputs(op(*sample.args, **sample.kwargs))
    finally:
        plan.fast = was
    assert len(fast) == len(general)
    for a, b in zip(fast, general):
        assert a.dtype is b.dtype and tuple(a.shape) == tuple(b.shape), name
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=name)
