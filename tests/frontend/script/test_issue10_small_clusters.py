"""Small clusters of PyTorch's TorchScript cases that script refused (issue 10): each feature
compared with eager Python and with torch.jit.script, and its refusals as ScriptErrors."""

from __future__ import annotations

from typing import Dict, Optional, Tuple  # noqa: F401, UP035 - signature comments name them

import numpy as np
import pytest
import torch

import graphtorch as gt
from graphtorch import nn
from graphtorch.errors import ScriptError
from graphtorch.nn.utils.rnn import pad_sequence


def same(a, b):
    """Equal values of the same structure (a graphtorch Tensor against a graphtorch or torch
    Tensor)."""
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), (a, b)
        for k in a:
            same(a[k], b[k])
    elif isinstance(a, gt.Tensor):
        other = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
        np.testing.assert_array_equal(a.detach().numpy(), other)
    else:
        assert a == b and type(a) is type(b), (a, b)


# -- Tensor.H / Tensor.mH (no complex dtype: the transposes) ---------------------------------
def conj_t(x):
    return x.H


def conj_mt(x):
    return x.mH


@pytest.mark.parametrize("fn", [conj_t, conj_mt])
def test_tensor_h_and_mh(fn):
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    got = gt.jit.script(fn)(gt.tensor(data))
    same(got, fn(gt.tensor(data)))
    same(got, torch.jit.script(fn)(torch.tensor(data)))


def batched_mh(x):
    return x.mH


def test_mh_of_a_batch_swaps_the_last_two_dims():
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    same(gt.jit.script(batched_mh)(gt.tensor(data)), torch.tensor(data).mH)


# -- Device in a signature comment; .type / .index of a device --------------------------------
def device_parts(x):
    # type: (Device) -> Tuple[str, Optional[int]]
    return x.type, x.index


def test_device_signature_comment_and_its_attributes():
    sfn = gt.jit.script(device_parts)
    d = gt.ones(2).device
    assert sfn(d) == device_parts(d) == ("cpu", None)
    assert sfn(d) == torch.jit.script(device_parts)(torch.ones(2).device)


# -- starred assignment targets: the starred name is a tuple, as in TorchScript ---------------
def star_nested():
    # type: () -> Tuple[int, int, Tuple[int, int], Tuple[int, int]]
    a, (b, *c), *d = 1, (2, 3, 4), 5, 6
    return a, b, c, d


def star_middle(x):
    first, *mid, last = x, x + 1, x + 2, x + 3
    *none, only = (x,)
    return first, mid, last, none, only


def test_starred_assignment_matches_torchscript():
    assert gt.jit.script(star_nested)() == torch.jit.script(star_nested)() == \
        (1, 2, (3, 4), (5, 6))
    got = gt.jit.script(star_middle)(gt.tensor([1.0]))
    same(got, torch.jit.script(star_middle)(torch.tensor([1.0])))
    assert isinstance(got[1], tuple) and len(got[1]) == 2 and got[3] == ()


def star_of_a_list(x: list[int]):
    a, *b = x
    return b


def too_few():
    a, b, *c = (1,)
    return a, b, c


def test_starred_assignment_refusals():
    with pytest.raises(ScriptError, match="starred unpacking of a value of type int") as info:
        gt.jit.script(star_of_a_list)
    assert info.value.hint and "tuple" in info.value.hint
    with pytest.raises(ScriptError, match="cannot unpack a tuple of 1 values into 2 or more"):
        gt.jit.script(too_few)


# -- pad_sequence called from script ----------------------------------------------------------
def pad_call(tensor_list, batch_first=False, padding_value=0.0):
    # type: (List[Tensor], bool, float) -> Tensor
    return pad_sequence(tensor_list, batch_first, padding_value)


@pytest.mark.parametrize("extra", [(), (True,), (True, 2.5), (False, -1.0)])
def test_pad_sequence_in_script(extra):
    shapes = [(3, 5), (4, 5), (2, 5)]
    arrays = [np.random.default_rng(i).standard_normal(s).astype(np.float32)
              for i, s in enumerate(shapes)]
    got = gt.jit.script(pad_call)([gt.tensor(a) for a in arrays], *extra)
    same(got, pad_call([gt.tensor(a) for a in arrays], *extra))
    same(got, torch.nn.utils.rnn.pad_sequence([torch.tensor(a) for a in arrays], *extra))


def test_pad_sequence_eager_left_padding_and_tensor_input():
    got = pad_sequence([gt.ones(2), gt.ones(1) * 2], batch_first=True, padding_side="left")
    same(got, torch.nn.utils.rnn.pad_sequence([torch.ones(2), torch.ones(1) * 2],
                                              batch_first=True, padding_side="left"))
    same(pad_sequence(gt.ones(2, 3)), torch.nn.utils.rnn.pad_sequence(torch.ones(2, 3)))


# -- keyword arguments to a function script leaves to Python (unique) -------------------------
def unique_flags(dim: int | None):
    ten = gt.unique(gt.tensor([[1, 3], [2, 3]], dtype=gt.long))
    a = gt.unique(ten, dim=dim)
    b = gt.unique(ten, return_counts=True, dim=dim)
    c = gt.unique(ten, return_inverse=True, dim=dim)
    d = gt.unique_consecutive(ten, return_counts=True, return_inverse=True, dim=dim)
    return a, b, c, d


def unique_unpacked(x):
    values, counts = gt.unique(x, return_counts=True)
    return values + 1, counts


def unique_flag_not_constant(x, flag: bool):
    return gt.unique(x, return_counts=flag)


def unique_bad_keyword(x):
    return gt.unique(x, nope=True)


@pytest.mark.parametrize("dim", [None, 0])
def test_unique_with_keyword_flags(dim):
    same(gt.jit.script(unique_flags)(dim), unique_flags(dim))


def test_unique_result_is_typed_by_its_flags():
    x = gt.tensor([3, 1, 3, 2])
    got = gt.jit.script(unique_unpacked)(x)
    same(got, unique_unpacked(x))
    same(got, (torch.tensor([2, 3, 4]), torch.tensor([1, 1, 2])))


def test_unique_refusals():
    with pytest.raises(ScriptError, match="'return_counts' must be a constant"):
        gt.jit.script(unique_flag_not_constant)
    with pytest.raises(ScriptError, match="unexpected keyword argument 'nope'"):
        gt.jit.script(unique_bad_keyword)


# -- dict() and dict([]) take the annotated type ----------------------------------------------
def dict_of_empty_list():
    return dict([])  # noqa: C406 - the form under test


def dict_annotated():
    x: Dict[str, int] = dict()  # noqa: C408, UP006 - the forms under test
    x["foo"] = 1
    return x


def test_empty_dict_calls():
    for fn in (dict_of_empty_list, dict_annotated):
        assert gt.jit.script(fn)() == fn() == torch.jit.script(fn)()


# -- a @staticmethod called as self.helper(x) gets no self ------------------------------------
class StaticCell(nn.Module):
    @staticmethod
    def step(x, h):
        new_h = gt.tanh(x + h)
        return new_h, new_h * 2

    def forward(self, x, h):
        return self.step(x, h)


def test_static_method_through_self():
    x, h = gt.rand(3, 4), gt.rand(3, 4)
    same(gt.jit.script(StaticCell())(x, h), StaticCell.step(x, h))


# -- tensordot with a Tensor dims (the parameter defaults to an int) --------------------------
def tensordot_tensor_dims(a, b, dims: gt.Tensor):
    return gt.tensordot(a, b, dims=dims)


def test_tensordot_with_tensor_dims():
    cases = [((2, 3, 4, 5), (4, 5, 6, 7), [2]), ((3, 4, 5), (4, 3, 2), [[1, 0], [0, 1]])]
    for sa, sb, dims in cases:
        a = np.arange(np.prod(sa), dtype=np.float32).reshape(sa)
        b = np.arange(np.prod(sb), dtype=np.float32).reshape(sb)
        got = gt.jit.script(tensordot_tensor_dims)(gt.tensor(a), gt.tensor(b), gt.tensor(dims))
        same(got, torch.tensordot(torch.tensor(a), torch.tensor(b), dims=torch.tensor(dims)))


# -- slice() outside brackets: a slice known while compiling -----------------------------------
def slice_variables(x: list[int]):
    a = slice(1)
    b = slice(2, None, 2)
    return x[a], x[b]


def slice_on_a_tensor(x):
    a = slice(1, 3)
    return x[a], x[a, 0]


def slice_of_a_runtime_bound(x: list[int], n: int):
    a = slice(n)
    return x[a]


def slice_returned():
    return slice(1)


def slice_rebound_in_a_loop(x: list[int]):
    a = slice(1)
    for _ in range(2):
        a = slice(3)
    return x[a]


def test_slice_variables():
    got = gt.jit.script(slice_variables)(list(range(10)))
    assert got == slice_variables(list(range(10))) == \
        torch.jit.script(slice_variables)(list(range(10)))
    data = np.arange(12).reshape(4, 3)
    same(gt.jit.script(slice_on_a_tensor)(gt.tensor(data)),
         torch.jit.script(slice_on_a_tensor)(torch.tensor(data)))


def test_slice_variable_refusals():
    with pytest.raises(ScriptError, match="integer bounds known while compiling") as info:
        gt.jit.script(slice_of_a_runtime_bound)
    assert info.value.hint and "x[a:b]" in info.value.hint
    with pytest.raises(ScriptError, match="cannot use a Python slice object as a value"):
        gt.jit.script(slice_returned)
    # it was compiled as slice(1) (the loop's rebinding lost): now refused
    with pytest.raises(ScriptError, match="'a' refers to a different object after an "
                                          "iteration"):
        gt.jit.script(slice_rebound_in_a_loop)


# -- hasattr on modules: known while compiling, and it prunes the branch it guards ------------
class WithA(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = 3


class WithB(nn.Module):
    def __init__(self):
        super().__init__()
        self.b = 4


class HasattrOverChildren(nn.Module):
    def __init__(self):
        super().__init__()
        self.mods = nn.ModuleList([WithA(), WithB()])

    def forward(self):
        out: list[int] = []
        for mod in self.mods:
            out.append(int(hasattr(mod, "a")))
            if hasattr(mod, "b"):
                out.append(mod.b)
        return out


class MaybeAttribute(nn.Module):
    def __init__(self, add: bool):
        super().__init__()
        if add:
            self.maybe = 7

    def forward(self):
        if not hasattr(self, "maybe") or False:
            return 0
        return self.maybe


def hasattr_of_a_tensor(x):
    return hasattr(x, "shape")


def test_hasattr_on_modules():
    m = HasattrOverChildren()
    assert gt.jit.script(m)() == m() == [1, 0, 4]
    for add in (True, False):
        assert gt.jit.script(MaybeAttribute(add))() == MaybeAttribute(add)() == (7 if add else 0)


def test_hasattr_of_a_runtime_value_is_refused():
    with pytest.raises(ScriptError, match="hasattr\\(\\) in script takes a module") as info:
        gt.jit.script(hasattr_of_a_tensor)
    assert info.value.hint
