"""``graphtorch.jit.interface``: module and class interfaces as parameter types (calls dispatched
at run time to whichever module is passed, results checked against the declared type) and as
the class annotation of a submodule (only declared methods may be called). Compared with eager
Python; refusals are ScriptErrors with a caret and a hint."""

# NOTE: no `from __future__ import annotations`: the class-body annotation `proxy: Swappable` is
# read as the interface class itself

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import Tensor, nn
from graphtorch.errors import ScriptError, UnsupportedError


@gt.jit.interface
class OneTwo(nn.Module):
    def one(self, x, y):
        # type: (Tensor, Tensor) -> Tensor
        pass

    def two(self, x: Tensor) -> Tensor:
        pass

    def forward(self, x: Tensor) -> Tensor:
        pass


@gt.jit.interface
class Counter:
    def count(self, x: Tensor, k: int) -> int:
        pass


class Foo(nn.Module):
    def one(self, x, y):
        return x + y

    def two(self, x):
        return 2 * x

    def forward(self, x):
        return self.one(self.two(x), x)


class Bar(nn.Module):
    def one(self, x, y):
        return x * y

    def two(self, x):
        return x - 3

    def forward(self, x):
        return self.two(self.one(x, x))

    def count(self, x: Tensor, k: int) -> int:
        return x.numel() + k


class BadCount(nn.Module):
    def forward(self, x):
        return x

    def count(self, x: Tensor, k: int):
        return "not an int"


def use_modules(mods: list[OneTwo], x: Tensor) -> Tensor:
    return mods[0].forward(x) + mods[1](x) + mods[0].one(x, mods[1].two(x))


def use_counter(c: Counter, x: Tensor) -> int:
    return c.count(x, k=2) * 10


def same(a, b):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_module_interface_parameter_dispatches_at_run_time():
    sfn = gt.jit.script(use_modules)
    x = gt.arange(1.0, 5.0)
    for mods in ([Foo(), Bar()], [Bar(), Foo()], [gt.jit.script(Foo()), gt.jit.script(Bar())]):
        same(sfn(mods, x), use_modules(mods, x))


def test_class_interface_parameter():
    sfn = gt.jit.script(use_counter)
    x = gt.ones(2, 3)
    assert sfn(Bar(), x) == use_counter(Bar(), x) == 80


def test_result_is_checked_against_the_declared_type():
    sfn = gt.jit.script(use_counter)
    with pytest.raises(TypeError, match="expected a value of type int"):
        sfn(BadCount(), gt.ones(2))


def calls_undeclared(m: OneTwo, x: Tensor) -> Tensor:
    return m.three(x)


def test_undeclared_method_is_refused():
    with pytest.raises(ScriptError) as info:
        gt.jit.script(calls_undeclared)
    err = info.value
    assert str(err).splitlines()[0] == "'three' is not a method of the interface OneTwo"
    assert err.source_line[err.column - 1:].startswith("m.three(x)")
    assert err.hint == "the interface declares: one, two, forward"


@gt.jit.interface
class Swappable(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        pass


class Holder(nn.Module):
    proxy: Swappable

    def __init__(self, inner):
        super().__init__()
        self.proxy = inner

    def forward(self, x):
        return self.proxy.forward(x) + self.proxy(x)


class HolderCallsOther(Holder):
    def forward(self, x):
        return self.proxy.two(x)


def test_submodule_annotated_with_an_interface():
    m = Holder(Foo())
    sm = gt.jit.script(m)
    x = gt.arange(3.0)
    same(sm(x), m(x))
    with pytest.raises(UnsupportedError, match="cannot replace the submodule 'proxy'"):
        sm.proxy = gt.jit.script(Bar())


def test_submodule_interface_limits_the_methods():
    with pytest.raises(ScriptError, match="'two' is not a method of the interface Swappable"):
        gt.jit.script(HolderCallsOther(Foo()))


def test_interface_inheritance_is_refused():
    with pytest.raises(ScriptError, match="interfaces do not support inheritance"):
        @gt.jit.interface
        class FromReLU(nn.ReLU):
            def three(self, x: Tensor) -> Tensor:
                pass


def test_interface_values_are_not_saved(tmp_path):
    with pytest.raises(UnsupportedError, match="interface values are not archived"):
        gt.jit.save(gt.jit.script(use_counter), str(tmp_path / "f.pt"))
