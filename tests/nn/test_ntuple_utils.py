"""graphtorch.nn.modules.utils: the n-tuple helpers, eager and in script."""

from __future__ import annotations

import pytest

import graphtorch as gt
from graphtorch.errors import ScriptError
from graphtorch.nn.modules.utils import (
    _list_with_default,
    _pair,
    _quadruple,
    _reverse_repeat_tuple,
    _single,
    _triple,
)


def test_eager_helpers():
    assert _single(3) == (3,) and _pair(2.5) == (2.5, 2.5) and _triple(1) == (1, 1, 1)
    assert _quadruple(0) == (0, 0, 0, 0) and _pair([4, 5]) == (4, 5) and _pair((1, 2)) == (1, 2)
    assert _reverse_repeat_tuple((1, 2), 2) == (2, 2, 1, 1)
    assert _list_with_default([None, 3], [8, 5, 7]) == [5, 3]
    assert _list_with_default(4, [1, 2]) == [4]


def _ints():
    return _single(1), _pair(2), _triple(3), _quadruple(4)


def _floats(x: float):
    return _pair(x), _triple(2.5)


def _passes_lists(x: list[int]):
    return _pair(x)


def test_script_matches_eager():
    assert gt.jit.script(_ints)() == _ints()
    assert gt.jit.script(_floats)(1.5) == _floats(1.5)
    assert gt.jit.script(_passes_lists)([3, 4]) == [3, 4]


def _two_args():
    return _pair(1, 2)


def test_script_refuses_a_wrong_call():
    with pytest.raises(ScriptError, match=r"_pair\(\) takes one argument"):
        gt.jit.script(_two_args)
