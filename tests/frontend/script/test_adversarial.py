"""Adversarial programs (adversarial_programs.py, adversarial_modules.py) scripted and compared
with eager Python: outputs on several inputs, gradients of float tensor arguments, a verified
graph, and a save/load round trip for a sample."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import graphtorch as torch
from graphtorch.frontend.script import script_function
from graphtorch.ir.verifier import verify
from tests.frontend.script.adversarial_modules import MODULES
from tests.frontend.script.adversarial_programs import PROGRAMS


def same(got, want) -> None:
    """Scripted output equals eager output: same structure, Python types and values."""
    if isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want), (got, want)
        for a, b in zip(got, want):
            same(a, b)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got.keys()) == list(want.keys()), (got, want)
        for k in want:
            same(got[k], want[k])
    elif isinstance(want, torch.Tensor):
        assert isinstance(got, torch.Tensor), type(got)
        assert got.shape == want.shape and got.dtype == want.dtype, (got, want)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
    elif isinstance(want, float) and want != want:
        assert isinstance(got, float) and got != got, (got, want)
    else:
        assert type(got) is type(want) and got == want, (got, want)


def fresh(args, grad: bool):
    """Copies of the arguments; float tensors require grad when ``grad``."""
    out = []
    for a in args:
        if isinstance(a, torch.Tensor):
            a = a.detach().clone()
            if grad and a.dtype.is_floating_point:
                a.requires_grad_(True)
        else:
            a = copy.deepcopy(a)
        out.append(a)
    return out


def tensors_of(value) -> list:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors_of(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_of(v)]
    return []


def grads_of(fn, args) -> list:
    """Gradients of sum(outputs * fixed weights) w.r.t. the float tensor arguments."""
    outs = [t for t in tensors_of(fn(*args)) if t.requires_grad]
    if not outs:
        return []
    loss = sum(((t * (k + 1.5)).sum() for k, t in enumerate(outs)), torch.zeros(()))
    loss.backward()
    return [a.grad for a in args if isinstance(a, torch.Tensor) and a.requires_grad]


def check_matches_eager(fn, scripted, cases) -> None:
    for args in cases:
        torch.manual_seed(0)
        want = fn(*fresh(args, False))
        torch.manual_seed(0)
        got = scripted(*fresh(args, False))
        same(got, want)
        want_args, got_args = fresh(args, True), None
        got_args = fresh([a.detach() if isinstance(a, torch.Tensor) else a for a in want_args],
                         True)
        want_g, got_g = grads_of(fn, want_args), grads_of(scripted, got_args)
        assert len(want_g) == len(got_g)
        for a, b in zip(got_g, want_g):
            if b is None:
                assert a is None or not a.detach().numpy().any()
            else:
                same(a, b)


@pytest.mark.parametrize("fn,cases", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_adversarial_program_matches_eager(fn, cases):
    scripted = script_function(fn)
    verify(scripted.graph)
    check_matches_eager(fn, scripted, cases())


def module_grads(model, out, args) -> list:
    outs = [t for t in tensors_of(out) if t.requires_grad]
    if not outs:
        return []
    loss = sum(((t * (k + 1.5)).sum() for k, t in enumerate(outs)), torch.zeros(()))
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    grads += [a.grad for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
    return grads


@pytest.mark.parametrize("make,cases", MODULES, ids=[m[0].__name__ for m in MODULES])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_adversarial_module_matches_eager(make, cases, training):
    torch.manual_seed(0)
    model = make()
    scripted = torch.jit.script(model)
    for m in scripted.modules():
        for meth in getattr(m, "_gt_methods", {}).values():
            verify(meth.graph)
    # NOTE: switched after scripting: the compiled code must read the live flag
    model.train(training)
    scripted.train(training)
    for args in cases():
        torch.manual_seed(1)
        want = model(*fresh(args, False))
        torch.manual_seed(1)
        got = scripted(*fresh(args, False))
        same(got, want)
        for p in model.parameters():
            p.grad = None
        eager_args = fresh(args, True)
        torch.manual_seed(2)
        want_g = [g.clone() if g is not None else None
                  for g in module_grads(model, model(*eager_args), eager_args)]
        for p in model.parameters():
            p.grad = None
        script_args = fresh(args, True)
        torch.manual_seed(2)
        got_g = module_grads(model, scripted(*script_args), script_args)
        assert len(got_g) == len(want_g)
        for a, b in zip(got_g, want_g):
            if b is None:
                assert a is None or not a.detach().numpy().any()
            else:
                same(a, b)
