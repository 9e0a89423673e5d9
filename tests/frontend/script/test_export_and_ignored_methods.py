"""``@graphtorch.jit.export`` methods are compiled with the module and callable on it (and on a
saved and loaded copy); ``@graphtorch.jit.ignore`` methods stay Python, callable on the compiled
module, which they see as ``self`` (its attributes, as scripted code changes them)."""

from __future__ import annotations

import types

import pytest

import graphtorch as gt
from graphtorch import nn


class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.x: int = 0

    @gt.jit.export
    def setx(self, x: int):
        self.x = x

    @gt.jit.export
    def getx(self) -> int:
        return self.x

    @gt.jit.ignore
    def ignored_getx(self) -> int:
        return self.x

    def forward(self, t: gt.Tensor) -> gt.Tensor:
        return t + self.x


class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(gt.tensor([2.0, 3.0]))

    @gt.jit.export
    def scaled(self, t: gt.Tensor) -> gt.Tensor:
        return t * self.w

    def forward(self, t: gt.Tensor) -> gt.Tensor:
        return t + self.w


class ScaleTwice(Scale):
    @gt.jit.export
    def twice(self, t: gt.Tensor) -> gt.Tensor:
        return self.scaled(self.scaled(t))


def test_exported_methods_are_compiled_and_callable():
    m = Counter()
    m.setx(123)
    s = gt.jit.script(m)
    assert set(s._gt_methods) >= {"forward", "setx", "getx"}
    assert s.getx() == 123
    s.setx(456)
    assert s.getx() == 456
    assert s(gt.zeros(2)).tolist() == [456.0, 456.0]
    assert m.x == 123   # the compiled module holds its own copy, as in TorchScript


def test_ignored_methods_run_python_on_the_compiled_module():
    m = Counter()
    m.setx(123)
    s = gt.jit.script(m)
    assert s.ignored_getx() == 123
    s.setx(456)
    assert s.ignored_getx() == 456


def test_exported_methods_of_base_classes_and_calls_between_them(tmp_path):
    m = ScaleTwice()
    s = gt.jit.script(m)
    t = gt.tensor([1.0, 1.0])
    assert s.scaled(t).tolist() == [2.0, 3.0]
    assert s.twice(t).tolist() == [4.0, 9.0]
    gt.jit.save(s, tmp_path / "m.gt")
    loaded = gt.jit.load(tmp_path / "m.gt")
    assert loaded.twice(t).tolist() == [4.0, 9.0]
    assert loaded(t).tolist() == [3.0, 4.0]


def test_methods_neither_compiled_nor_ignored_are_not_on_the_compiled_module():
    class Plain(nn.Module):
        def helper(self) -> int:
            return 1

        def forward(self, t: gt.Tensor) -> gt.Tensor:
            return t

    s = gt.jit.script(Plain())
    with pytest.raises(AttributeError, match="helper"):
        s.helper()


def test_an_ignored_method_bound_to_the_instance_overrides_the_class_one():
    class M(nn.Module):
        @gt.jit.ignore
        def which(self) -> str:
            return "class"

        def forward(self, t: gt.Tensor) -> gt.Tensor:
            return t

    @gt.jit.ignore
    def which(self) -> str:
        return "instance"

    m = M()
    m.which = types.MethodType(which, m)
    assert gt.jit.script(m).which() == "instance"
