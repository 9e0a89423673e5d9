"""@graphtorch.jit.ignore runs eagerly through prim::PythonOp (and blocks save, naming the
function); @graphtorch.jit.unused raises when reached; defaults fill omitted arguments."""

from __future__ import annotations

import pytest

import graphtorch as torch
from graphtorch import nn
from graphtorch.errors import GraphtorchError
from graphtorch.testing import assert_close


class WithIgnored(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    @torch.jit.ignore
    def debug(self, x):
        try:        # not scriptable: fine, it stays Python
            return x * 2
        except RuntimeError:
            return x

    @torch.jit.unused
    def never(self, x):
        return x

    def forward(self, x, use_unused: bool = False):
        if use_unused:
            return self.never(x)
        return self.debug(self.fc(x))


def test_ignored_method_runs_eagerly_and_unused_raises(tmp_path):
    m = WithIgnored()
    s = torch.jit.script(m)
    assert "prim::PythonOp" in str(s.graph)
    x = torch.randn(2, 3)
    assert_close(s(x), m(x))
    with pytest.raises((RuntimeError, GraphtorchError), match="marked @graphtorch.jit.unused"):
        s(x, True)
    with pytest.raises(GraphtorchError, match="WithIgnored.debug"):
        torch.jit.save(s, str(tmp_path / "m.gt"))


def test_is_scripting_is_false_in_python_and_true_in_script():
    def f(x):
        if torch.jit.is_scripting():
            return x + 1
        return x - 1

    x = torch.zeros(2)
    assert_close(f(x), x - 1)
    assert_close(torch.jit.script(f)(x), x + 1)


class WithUnusedProperty(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)

    @torch.jit.unused
    @property
    def width(self) -> int:
        return self.fc.in_features

    def forward(self, x):
        return self.fc(x)


def test_unused_property_stays_a_property_and_the_module_scripts():
    m = WithUnusedProperty()
    assert m.width == 3  # eager: an ordinary property
    assert WithUnusedProperty.width.fget._gt_unused
    x = torch.randn(2, 3)
    assert_close(torch.jit.script(m)(x), m(x))
