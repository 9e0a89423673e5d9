"""The program table: every scripted program (functions and modules) equals eager Python on
several inputs. Programs live in programs_language.py, programs_tensors.py and
programs_modules.py."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import graphtorch as torch
from graphtorch.errors import GraphtorchError
from graphtorch.frontend.script import script_function, script_module
from tests.frontend.script.programs_language import LANGUAGE, LANGUAGE_INPUT
from tests.frontend.script.programs_modules import MODULES
from tests.frontend.script.programs_tensors import TENSORS


def _same(got, want):
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want), (got, want)
        for a, b in zip(got, want):
            _same(a, b)
    elif isinstance(want, dict):
        assert dict(got).keys() == want.keys()
        for k in want:
            _same(got[k], want[k])
    elif isinstance(want, torch.Tensor):
        assert isinstance(got, torch.Tensor), type(got)
        assert got.shape == want.shape and got.dtype == want.dtype, (got, want)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
    elif isinstance(want, float):
        assert got == pytest.approx(want)
    else:
        assert got == want and type(got) is type(want), (got, want)


def _fresh(args):
    """A copy of the arguments (programs may mutate lists; tensors are cloned)."""
    if isinstance(args, (list, tuple)):
        return type(args)(_fresh(a) for a in args)
    if isinstance(args, torch.Tensor):
        return args.clone()
    return copy.deepcopy(args)


@pytest.mark.parametrize("fn,cases", LANGUAGE, ids=[p[0].__name__ for p in LANGUAGE])
def test_language_program_matches_eager(fn, cases):
    sf = script_function(fn)
    for extra in cases:
        torch.manual_seed(len(extra))
        args = [torch.randn(*LANGUAGE_INPUT), *extra]
        _same(sf(*_fresh(args)), fn(*_fresh(args)))


@pytest.mark.parametrize("fn,cases", TENSORS, ids=[p[0].__name__ for p in TENSORS])
def test_tensor_program_matches_eager(fn, cases):
    sf = script_function(fn)
    for make in cases:
        args = make()
        _same(sf(*_fresh(args)), fn(*_fresh(args)))


@pytest.mark.parametrize("make,cases", MODULES, ids=[p[0].__name__ for p in MODULES])
def test_module_program_matches_eager(make, cases):
    torch.manual_seed(0)
    model = make()
    scripted = torch.jit.script(model)
    assert scripted is script_module(scripted)
    for args in cases():
        _same(scripted(*_fresh(args)), model(*_fresh(args)))


def test_table_size():
    assert len(LANGUAGE) + len(TENSORS) + len(MODULES) >= 100


def _assert_fails(x, n: int):
    assert n >= 0, "n must be non-negative"
    return x + n


def _raise(x, n: int):
    if n > 100:
        raise ValueError(f"n={n} is too large")
    return x


def test_assert_and_raise_are_runtime_errors_with_the_message():
    x = torch.randn(2)
    with pytest.raises((AssertionError, GraphtorchError), match="n must be non-negative"):
        script_function(_assert_fails)(x, -1)
    with pytest.raises((ValueError, GraphtorchError), match="n=101 is too large"):
        script_function(_raise)(x, 101)
