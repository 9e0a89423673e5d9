"""The last refusals of PyTorch's TorchScript cases (issue 10): each feature compared with eager
Python (and torch.jit.script where torch has it), and what stays refused as a ScriptError."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn
from graphtorch.errors import ScriptError


def same(a, b):
    """Equal values of the same structure (tensors compared element by element)."""
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, gt.Tensor):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    else:
        assert a == b and type(a) is type(b), (a, b)


# -- module container slices as values ------------------------------------------------------------
class Scale(nn.Module):
    def __init__(self, k: int):
        super().__init__()
        self.k = k
        self.tag = f"s{k}"

    def forward(self, x):
        return x * self.k + 1


class Holder(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.mods = kind(*[Scale(i + 2) for i in range(5)]) if kind is nn.Sequential else \
            kind([Scale(i + 2) for i in range(5)])


def _slice_loop(self, x):
    for m in self.mods[1:4]:
        x = m(x)
    return x


def _slice_len(self, x):
    return x + len(self.mods[::2]) + len(self.mods[-2:])


def _slice_index(self, x):
    return self.mods[1:][2](x) + self.mods[::-1][0](x)


def _slice_of_slice(self, x):
    part = self.mods[::-1]
    for m in part[1:3]:
        x = m(x)
    return x


def _slice_len_range(self, x):
    for i in range(len(self.mods[1:3])):
        x = x + i
    return x


@pytest.mark.parametrize("kind", [nn.ModuleList, nn.Sequential])
@pytest.mark.parametrize("fwd", [_slice_loop, _slice_len, _slice_index, _slice_of_slice,
                                 _slice_len_range])
def test_container_slice_matches_eager(kind, fwd):
    cls = type("M", (Holder,), {"forward": fwd})
    m = cls(kind)
    x = gt.tensor([1.0, -2.0, 3.5])
    same(gt.jit.script(m)(x), m(x))


class Named(nn.Module):
    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def forward(self):
        return 0


class ReturnsSlices(nn.Module):
    def __init__(self):
        super().__init__()
        self.items = nn.ModuleList([Named(c) for c in "VWXYZ"])

    def forward(self):
        return self.items[::-2], self.items[1:4:]


def test_container_slice_returned_as_tuple_of_modules():
    back, mid = gt.jit.script(ReturnsSlices())()
    assert [m.name for m in back] == ["Z", "X", "V"]
    assert [m.name for m in mid] == ["W", "X", "Y"]
    assert isinstance(back, tuple) and len(mid) == 3


class DictItems(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.ReLU()
        self.d = nn.ModuleDict({"a": self.first, "b": nn.Tanh()})

    def forward(self, x):
        n = 0
        for item in self.d.items():
            if item[0] == "a" and item[1] is self.first:
                n += 1
            x = item[1](x)
        return x + n


def test_moduledict_items_indexed():
    m = DictItems()
    x = gt.tensor([-1.0, 0.5, 2.0])
    same(gt.jit.script(m)(x), m(x))


def _call_slice(self, x):
    return self.mods[1:3](x)


def _run_time_bound(self, x, k: int):
    for m in self.mods[k:]:
        x = m(x)
    return x


def _out_of_range(self, x):
    return self.mods[1:3][5](x)


@pytest.mark.parametrize("fwd, msg", [
    (_call_slice, "a slice of a module container is not callable"),
    (_run_time_bound, "needs constant bounds"),
    (_out_of_range, "index 5 is out of range for 2"),
])
def test_container_slice_refusals(fwd, msg):
    cls = type("M", (Holder,), {"forward": fwd})
    with pytest.raises(ScriptError, match=msg) as info:
        gt.jit.script(cls(nn.Sequential))
    assert "^" in str(info.value)


class IgnoredReadsAttribute(nn.Module):
    def __init__(self, a: int, b: int):
        super().__init__()
        self.a = a
        self.b = b

    def forward(self) -> int:
        return self.b

    @gt.jit.ignore
    def ignored(self) -> int:
        return self.a * 10


def test_scripted_module_reads_plain_attributes_of_its_module():
    """Attributes the compiled code never read are still there from Python (an @ignore method
    bound to the compiled module sees them), as on a TorchScript RecursiveScriptModule."""
    s = gt.jit.script(IgnoredReadsAttribute(3, 4))
    assert s() == 4 and s.ignored() == 30 and s.a == 3
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        s.missing  # noqa: B018 - the attribute read is what is tested
