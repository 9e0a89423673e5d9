"""Replacing a submodule of a compiled module is refused: the compiled code (and what the runtime
prepared from it, inlined into enclosing modules) calls the submodule it was compiled with, so
the swap would silently run the old one (issue 10: never a wrong result)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn
from graphtorch.errors import UnsupportedError


class AddTwo(nn.Module):
    def forward(self, x):
        return x + 2


class TimesTen(nn.Module):
    def forward(self, x):
        return x * 10


class Top(nn.Module):
    def __init__(self):
        super().__init__()
        self.proxy = AddTwo()

    def forward(self, x):
        return self.proxy(x) + 1


@pytest.mark.parametrize("replacement", [lambda: gt.jit.script(AddTwo()),
                                         lambda: gt.jit.script(TimesTen()), TimesTen,
                                         lambda: None])
def test_replacing_a_submodule_is_refused_and_leaves_it(replacement):
    scripted = gt.jit.script(Top())
    x = gt.ones(2)
    before = scripted(x).numpy()
    old = scripted.proxy
    with pytest.raises(UnsupportedError, match="cannot replace the submodule 'proxy' of the "
                                               "compiled module Top"):
        scripted.proxy = replacement()
    assert scripted.proxy is old
    np.testing.assert_array_equal(scripted(x).numpy(), before)


def test_other_attributes_still_assign():
    scripted = gt.jit.script(Top())
    scripted.note = "kept in Python"
    assert scripted.note == "kept in Python"
    scripted.proxy = scripted.proxy     # the same module: nothing changes
