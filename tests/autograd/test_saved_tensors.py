"""Saved tensors: a recorded op keeps only what its vjp reads for the gradients required."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import dtypes
from graphtorch.errors import AutogradError
from graphtorch.ops.registry import REGISTRY
from tests.ops.registry_matrix import all_cases, case_id, outputs

GRAD_CASES = all_cases((dtypes.float64,), differentiable_only=True)


def _float_positions(args) -> list:
    out = []
    for i, a in enumerate(args):
        if isinstance(a, gt.Tensor) and a.dtype.is_floating_point:
            out.append(i)
        elif isinstance(a, (list, tuple)):
            out.extend((i, j) for j, t in enumerate(a)
                       if isinstance(t, gt.Tensor) and t.dtype.is_floating_point)
    return out


def _with_grad(args, positions) -> tuple[list, list]:
    args = list(args)
    leaves = []
    for p in positions:
        if isinstance(p, int):
            args[p] = args[p].detach().clone().requires_grad_(True)
            leaves.append(args[p])
        else:
            lst = list(args[p[0]])
            lst[p[1]] = lst[p[1]].detach().clone().requires_grad_(True)
            args[p[0]] = lst
            leaves.append(lst[p[1]])
    return args, leaves


def _grads(op, sample, positions):
    args, leaves = _with_grad(sample.args, positions)
    outs = [o for o in outputs(op(*args, **sample.kwargs)) if o.dtype.is_floating_point]
    rng = np.random.default_rng(1)
    cots = [gt.tensor(rng.standard_normal(o.shape), dtype=gt.float64) for o in outs]
    return gt.autograd.grad(outs, leaves, cots, allow_unused=True)


@pytest.mark.parametrize("case", GRAD_CASES, ids=case_id)
def test_vjp_reads_only_what_saves_declares(case):
    """Each float input alone requiring grad: undeclared inputs are poison stand-ins
    (UnsavedInput) and undeclared outputs are absent, so a vjp reading them raises; the
    gradient must equal the one computed with every input requiring grad."""
    name, _, _, sample = case
    op = REGISTRY[name]
    positions = _float_positions(sample.args)
    full = _grads(op, sample, positions)
    for k, p in enumerate(positions):
        (alone,) = _grads(op, sample, [p])
        want = full[k]
        if want is None:
            assert alone is None or not alone.numpy().any(), f"{name}: input {p}"
            continue
        got = np.zeros(want.shape) if alone is None else alone.numpy()
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=f"{name}: input {p} alone")


def _leaf(values):
    return gt.tensor(values, dtype=gt.float64, requires_grad=True)


@pytest.mark.torch
def test_mul_by_python_scalar_saves_nothing_of_its_input():
    import torch

    def run(lib):
        x = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, requires_grad=True)
        y = x * 2
        z = y * 3
        y.add_(1)  # allowed: z's gradient does not read y
        z.sum().backward()
        return x.grad.numpy()

    np.testing.assert_allclose(run(gt), run(torch))


@pytest.mark.torch
def test_mul_by_constant_tensor_keeps_only_the_constant():
    import torch

    for lib, err in ((gt, AutogradError), (torch, RuntimeError)):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        c = lib.tensor([3.0, 4.0], dtype=lib.float64)
        y = x * 1
        z = y * c
        y.add_(1)  # y is not needed (c needs no grad)
        z.sum().backward(retain_graph=True)
        np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])
        c.add_(1)  # c is needed for y's gradient
        with pytest.raises(err, match="modified by an inplace operation"):
            z.sum().backward()


@pytest.mark.torch
def test_slice_write_after_slice_write_matches_pytorch():
    import torch

    def run(lib):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
        out = x * 1
        out[:, 0] = out[:, 0] * 0.5
        out[:, 1] = out[:, 1] * 2
        (out * out).sum().backward()
        return out.detach().numpy(), x.grad.numpy()

    for a, b in zip(run(gt), run(torch)):
        np.testing.assert_allclose(a, b)


@pytest.mark.torch
def test_backward_twice_without_saved_values_is_allowed_like_pytorch():
    import torch

    for lib, err in ((gt, AutogradError), (torch, RuntimeError)):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = (x + 1).sum()
        y.backward()
        y.backward()  # add and sum save nothing: PyTorch allows a second pass
        np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
        z = (x * 2).sum()  # mul keeps the scalar 2: a second pass raises in both
        z.backward()
        with pytest.raises(err, match="backward through the graph a second time"):
            z.backward()


def test_backward_twice_with_saved_values_still_raises():
    x = _leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(AutogradError, match="backward through the graph a second time"):
        y.backward()


def test_unneeded_inputs_are_not_kept_alive():
    x = _leaf([1.0, 2.0])
    big = gt.ones(1000, dtype=gt.float64)
    ref = weakref.ref(big)
    y = (x.sum() + big).exp()  # add reads neither input; exp keeps its output only
    del big
    gc.collect()
    assert ref() is None
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [y.detach().numpy().sum()] * 2)


def test_exp_keeps_its_output_not_its_input():
    x = _leaf([0.5])
    y = x * 1
    z = y.exp()
    y.add_(1)  # exp's vjp reads only its output
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5]))


def test_matmul_keeps_only_the_other_operand():
    w = _leaf([[1.0, 2.0], [3.0, 4.0]])
    a = gt.tensor([[1.0, 0.0], [2.0, 1.0]], dtype=gt.float64)
    h = w * 1
    out = a @ h  # h's gradient needs a only
    h.add_(1)
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), a.numpy().T @ np.ones((2, 2)))


def test_vjp_reading_undeclared_input_fails_loudly():
    from graphtorch.autograd.saved import UnsavedInput

    u = UnsavedInput(gt.zeros(2, 3))
    assert tuple(u.shape) == (2, 3) and u.dtype is gt.float32 and u.ndim == 2
    with pytest.raises(AutogradError, match="a vjp reads '_data' of an input"):
        _ = u._data
    with pytest.raises(Exception, match="UnsavedInput"):
        _ = gt.ones(2, 3) * u
