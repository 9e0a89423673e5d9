"""Gradients through scripted models (control flow, loops, calls) equal eager autograd."""

from __future__ import annotations

import pytest

import graphtorch as torch
from graphtorch import nn
from graphtorch.testing import assert_close


class GatedLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(4, 4)
        self.rec = nn.Linear(4, 4)
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])

    def forward(self, xs, steps: int):
        h = torch.zeros(xs.size(1), 4)
        for t in range(steps):
            z = self.inp(xs[t]) + self.rec(h)
            if z.sum() > 0:
                h = torch.tanh(z)
            else:
                h = torch.sigmoid(z) * 2.0
        i = 0
        while i < len(self.layers):
            h = self.layers[i](h) if i == 0 else h + self.layers[1](h)
            i += 1
        return h


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.scale = nn.Parameter(torch.ones(3))

    def forward(self, x, mask: bool | None = None):
        y = self.fc(x) * self.scale
        if mask is not None and mask:
            y = y.relu()
        for k in range(2):
            y = y + x[:, k:k + 1] * (k + 1)
        return y.T.sum(1)


def _grads(module) -> dict:
    return {n: None if p.grad is None else p.grad.clone() for n, p in module.named_parameters()}


def _zero(module) -> None:
    for p in module.parameters():
        p.grad = None


def _check(module, *args):
    scripted = torch.jit.script(module)
    x = args[0].detach().requires_grad_(True)
    x2 = args[0].detach().requires_grad_(True)
    _zero(module)
    out = module(x, *args[1:])
    (out * out).sum().backward()
    want, want_x = _grads(module), x.grad
    _zero(module)
    got_out = scripted(x2, *args[1:])
    assert_close(got_out, out)
    (got_out * got_out).sum().backward()
    got = _grads(module)
    assert set(got) == set(want)
    for name in want:
        assert (got[name] is None) == (want[name] is None), name
        if want[name] is not None:
            assert_close(got[name], want[name], msg=f"gradient of {name}")
    assert (x2.grad is None) == (want_x is None)
    if want_x is not None:
        assert_close(x2.grad, want_x)


@pytest.mark.parametrize("steps", [0, 1, 3])
def test_gradients_through_loops_and_branches(steps):
    torch.manual_seed(steps)
    _check(GatedLoop(), torch.randn(3, 2, 4), steps)


@pytest.mark.parametrize("mask", [None, True, False])
def test_gradients_through_optional_and_indexing(mask):
    torch.manual_seed(7)
    _check(Residual(), torch.randn(5, 3), mask)


def test_gradients_through_scripted_function_call():
    def inner(a, b):
        if a.mean() > b.mean():
            return a * b
        return a - b

    @torch.jit.script
    def outer(a, b, n: int):
        acc = a
        for _ in range(n):
            acc = inner(acc, b).tanh()
        return acc.sum()

    for n in (0, 2, 3):
        a = torch.randn(4, requires_grad=True)
        b = torch.randn(4, requires_grad=True)
        outer(a, b, n).backward()
        ga, gb = a.grad.clone(), b.grad.clone() if b.grad is not None else torch.zeros(4)
        a2 = a.detach().requires_grad_(True)
        b2 = b.detach().requires_grad_(True)
        acc = a2
        for _ in range(n):
            acc = inner(acc, b2).tanh()
        acc.sum().backward()
        assert_close(ga, a2.grad)
        assert_close(gb, b2.grad if b2.grad is not None else torch.zeros(4))
