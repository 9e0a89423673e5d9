"""Property test of ``out=`` in script: random straight-line tensor programs that mix ``out=``
writes (into fresh, aliased, viewed and constant-made tensors, into an operand of the same call,
with a resize), in-place updates, aliases and pure ops read before and after the writes, scripted
with graphtorch.jit.script and run by each executor, must give eager's values: every result and
the caller's tensors after the call (``out=`` writes into them too).
"""

from __future__ import annotations

import itertools
import linecache
import os
import random
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphtorch as gt
from graphtorch.errors import ScriptError

N_PROGRAMS = int(os.environ.get("GT_OUT_PROPERTY_PROGRAMS", "150"))
_COUNTER = itertools.count()
_BINARY = ["add", "sub", "mul", "maximum", "minimum"]
_UNARY = ["sin", "neg", "abs", "tanh"]
_OPERATORS = ["+", "-", "*"]


class _Program:
    """A random program over float tensors of shape (3,): ``readable`` names hold (3,) values;
    ``targets`` are names an out= may write (the readable ones, and fresh (5,) / (0,) tensors
    that the write resizes)."""

    def __init__(self, rnd: random.Random):
        self.r = rnd
        self.readable = ["a", "b"]
        self.waiting: list[str] = []      # made with another shape: readable once written
        self.lines: list[str] = []
        self.n = 0

    def fresh(self) -> str:
        self.n += 1
        return f"v{self.n}"

    def pick(self) -> str:
        return self.r.choice(self.readable)

    def statement(self) -> None:
        kind = self.r.choice(["op", "op", "operator", "out", "out", "out", "alias", "view",
                              "inplace", "factory", "resize_target"])
        if kind == "op":
            name = self.fresh()
            self.lines.append(f"{name} = gt.{self.r.choice(_BINARY)}({self.pick()}, "
                              f"{self.pick()})")
            self.readable.append(name)
        elif kind == "operator":
            name = self.fresh()
            self.lines.append(f"{name} = {self.pick()} {self.r.choice(_OPERATORS)} "
                              f"{self.pick()} {self.r.choice(_OPERATORS)} 0.5")
            self.readable.append(name)
        elif kind == "out":
            target = self.r.choice(self.readable + self.waiting)
            if self.r.random() < 0.5:
                call = f"gt.{self.r.choice(_BINARY)}({self.pick()}, {self.pick()}, out={target})"
            else:
                call = f"gt.{self.r.choice(_UNARY)}({self.pick()}, out={target})"
            if self.r.random() < 0.3:
                name = self.fresh()
                self.lines.append(f"{name} = {call}")
                self.readable.append(name)
            else:
                self.lines.append(call)
            if target in self.waiting:
                self.waiting.remove(target)
                self.readable.append(target)
        elif kind == "alias":
            name = self.fresh()
            self.lines.append(f"{name} = {self.pick()}")
            self.readable.append(name)
        elif kind == "view":
            name = self.fresh()
            self.lines.append(f"{name} = {self.pick()}.view(-1)")
            self.readable.append(name)
        elif kind == "inplace":
            self.lines.append(f"{self.pick()}.{self.r.choice(['add_', 'mul_'])}({self.pick()})")
        elif kind == "factory":
            name = self.fresh()
            self.lines.append(f"{name} = gt.{self.r.choice(['zeros', 'ones'])}(3)")
            self.readable.append(name)
        else:
            name = self.fresh()
            self.lines.append(f"{name} = gt.zeros({self.r.choice([5, 0])})")
            self.waiting.append(name)

    def source(self, fname: str) -> str:
        for _ in range(self.r.randint(3, 10)):
            self.statement()
        body = self.lines + [f"return ({', '.join(self.readable)},)"]
        return f"def {fname}(a, b):\n" + "".join(f"    {line}\n" for line in body)


def _build(seed: int):
    fname = f"out_program_{next(_COUNTER)}"
    src = _Program(random.Random(seed)).source(fname)
    filename = f"<out-property {fname}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    namespace = {"gt": gt}
    exec(compile(src, filename, "exec"), namespace)  # noqa: S102 - generated test program
    return namespace[fname], src


def _run(fn, a, b):
    a, b = gt.tensor(a), gt.tensor(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # out= resizes warn, in both
        try:
            out = fn(a, b)
        except Exception as e:  # noqa: BLE001 - the error itself is compared
            return ("raised", type(e).__name__)
    return [t.numpy().copy() for t in out] + [a.numpy().copy(), b.numpy().copy()]


def _same(got, want, src):
    assert type(got) is type(want), (src, got, want)
    if isinstance(want, tuple):
        assert got == want, src
        return
    assert len(got) == len(want), src
    for x, y in zip(got, want):
        assert x.shape == y.shape, src
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6, err_msg=src)


@pytest.mark.parametrize("executor", ["compiled", "interpreter", "codegen"])
@settings(max_examples=N_PROGRAMS, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1))
def test_out_writes_match_eager(executor, seed):
    fn, src = _build(seed)
    try:
        scripted = gt.jit.script(fn)
    except ScriptError as e:
        pytest.fail(f"refused:\n{src}\n{e}")
    gt.jit.set_executor(executor)
    try:
        rnd = np.random.default_rng(seed)
        for _ in range(3):     # the first call, then the plan built for the signature
            a = rnd.standard_normal(3).astype(np.float32)
            b = rnd.standard_normal(3).astype(np.float32)
            _same(_run(scripted, a, b), _run(fn, a, b), src)
    finally:
        gt.jit.set_executor(None)
