"""Scripted programs run through the interpreter equal eager Python on several inputs."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as torch
from graphtorch import nn
from graphtorch.frontend.script import ignore, script_function, script_module
from graphtorch.runtime.interpreter import run_graph


def loop_break_continue(x, n: int):
    s = 0
    for i in range(n):
        if i % 2 == 0:
            continue
        s += i
        if s > 10:
            break
    return x * s


def optional_refine(x, y: int | None = None):
    if y is not None:
        return x + y
    return x


def while_loop(x, n: int):
    i = 0
    while i < n:
        x = x * 2
        i += 1
    return x


def comprehension_and_fstring(x, n: int):
    xs = [i * 2 for i in range(n) if i != 1]
    return x + len(xs), f"n={n} xs={xs}"


def chained_compare(x, a: int):
    if 0 <= a < 3:
        return x + 1
    elif a == 3:
        return x - 1
    else:
        return x * 0


def tuple_unpack(x):
    a, (b, c) = x, (x + 1, x * 2)
    return a + b + c


@ignore
def eager_only(x):
    return x * 3


def calls_ignored(x):
    return eager_only(x) + 1


PROGRAMS = [
    (loop_break_continue, [(3,), (7,), (20,)]),
    (optional_refine, [(None,), (4,)]),
    (while_loop, [(0,), (3,)]),
    (comprehension_and_fstring, [(1,), (5,)]),
    (chained_compare, [(1,), (3,), (9,)]),
    (tuple_unpack, [()]),
    (calls_ignored, [()]),
]


def _same(a, b):
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, torch.Tensor):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)
    else:
        assert a == b


@pytest.mark.parametrize("fn,cases", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_program_matches_eager(fn, cases):
    sf = script_function(fn)
    for extra in cases:
        x = torch.randn(3)
        out = run_graph(sf.graph, [x, *extra] + [None] * (len(sf.graph.inputs) - 1 - len(extra)))
        _same(out[0], fn(x, *extra))


class Gate(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


class Cell(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate = Gate()
        self.linear = nn.Linear(4, 4)
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])

    def forward(self, x, h):
        new_h = torch.tanh(self.gate(self.linear(x)) + h)
        for i in range(len(self.layers)):
            new_h = self.layers[i](new_h)
        for layer in self.layers:
            new_h = layer(new_h)
        return new_h, new_h


def test_module_with_submodules_and_modulelist_matches_eager():
    m = Cell()
    sm = script_module(m)
    for _ in range(3):
        x, h = torch.randn(3, 4), torch.randn(3, 4)
        _same(sm(x, h), m(x, h))
    assert "prim::CallMethod" in str(sm.graph)
