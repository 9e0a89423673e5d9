"""The last refusals of PyTorch's TorchScript cases (issue 10): each feature compared with eager
Python (and torch.jit.script where torch has it), and what stays refused as a ScriptError."""

from __future__ import annotations

import collections
from typing import Any, List, Optional, Tuple  # noqa: F401, UP035 - signature comments name them

import numpy as np
import pytest
import torch

import graphtorch as gt
from graphtorch import nn
from graphtorch._jit_internal import BroadcastingList2 as InternalList2
from graphtorch.errors import ScriptError
from graphtorch.jit.annotations import BroadcastingList2, BroadcastingList3
from graphtorch.nn import functional as F
from graphtorch.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
)


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


# -- BroadcastingListN[T] ----------------------------------------------------------------------
def bl_comment(x, y):
    # type: (float, BroadcastingList3[float]) -> List[float]
    return [v * x for v in y]


def bl_annotated(x: BroadcastingList2[int]) -> list[int]:
    return x


def bl_optional(x):
    # type: (Optional[BroadcastingList2[float]]) -> int
    if x is None:
        return -1
    return len(x)


def bl_mutates(x: BroadcastingList2[int]) -> list[int]:
    x.append(7)
    return x


@pytest.mark.parametrize("arg, want", [(1.5, [3.0, 3.0, 3.0]), ([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]),
                                       ((1.0, 0.5, 2.0), [2.0, 1.0, 4.0])])
def test_broadcasting_list_in_a_signature_comment(arg, want):
    got = gt.jit.script(bl_comment)(2.0, arg)
    assert got == want and got == torch.jit.script(bl_comment)(2.0, arg)


def bl_float_identity(y):
    # type: (BroadcastingList2[float]) -> List[float]
    return y


@pytest.mark.parametrize("arg", [2, [1, 2.5], (3, 4)])
def test_float_broadcasting_list_takes_ints_as_floats(arg):
    """Beyond TorchScript (which refuses an int here): ints become floats, as for a float
    parameter, so the list holds floats."""
    got = gt.jit.script(bl_float_identity)(arg)
    want = [float(v) for v in (arg if isinstance(arg, (list, tuple)) else [arg, arg])]
    assert got == want and all(type(v) is float for v in got)


@pytest.mark.parametrize("arg", [4, [4, 5], (6, 7)])
def test_broadcasting_list_annotation(arg):
    got = gt.jit.script(bl_annotated)(arg)
    assert got == torch.jit.script(bl_annotated)(arg)
    assert isinstance(got, list) and all(type(v) is int for v in got)
    assert bl_annotated(arg) == arg     # eager Python: the annotation changes nothing


def test_broadcasting_list_importable_where_torch_has_it():
    assert InternalList2 is BroadcastingList2
    assert gt.jit.annotations.BroadcastingList3 is BroadcastingList3


@pytest.mark.parametrize("arg, want", [(None, -1), (3.0, 2), ((1.0, 2.0), 2), ([1.0], 1)])
def test_optional_broadcasting_list(arg, want):
    assert gt.jit.script(bl_optional)(arg) == want == torch.jit.script(bl_optional)(arg)


def test_broadcast_list_is_a_fresh_list_per_scalar_call():
    f = gt.jit.script(bl_mutates)
    assert f(3) == [3, 3, 7] and f(3) == [3, 3, 7]


def bl_calls():
    # type: () -> Tuple[List[float], List[float], List[int], int, int]
    return (bl_comment(1.0, 2.0), bl_comment(1.0, (1.0, 2.0, 3.0)), bl_annotated(5),
            bl_optional((1.0, 2.0)), bl_optional(None))


def list_param(x):
    # type: (Optional[List[float]]) -> float
    return 0.0 if x is None else sum(x)


def tuple_to_list_caller(x):
    # type: (Tuple[float, float]) -> float
    return list_param(x) + bl_optional(x)


def test_broadcasting_list_calls_from_script():
    got = gt.jit.script(bl_calls)()
    assert got == torch.jit.script(bl_calls)()
    assert got == ([2.0, 2.0, 2.0], [1.0, 2.0, 3.0], [5, 5], 2, -1)


def test_tuple_argument_for_a_list_parameter():
    """A tuple passed to a List[E] parameter from script is a list of its items (TorchScript)."""
    assert gt.jit.script(tuple_to_list_caller)((2.0, 3.5)) == 7.5 == \
        torch.jit.script(tuple_to_list_caller)((2.0, 3.5))


def bl_wrong_item(x):
    # type: (BroadcastingList2[int]) -> List[int]
    return x


def test_broadcasting_list_rejects_another_item_type():
    with pytest.raises(Exception, match="BroadcastingList|int"):
        gt.jit.script(bl_wrong_item)("a")


# -- Tensor.data / Tensor.detach() ---------------------------------------------------------------
def t_data(x):
    return x.data


def t_detach(x):
    return x.detach()


def t_data_grad(x):
    return x.data * x + x.detach().sum()


def t_write_through_data(x):
    y = x * 2
    z = y.data
    z.add_(1.0)
    return y * x, z.requires_grad


@pytest.fixture(params=["compiled", "interpreter", "codegen"])
def executor(request):
    gt.jit.set_executor(request.param)
    yield request.param
    gt.jit.set_executor(None)


@pytest.mark.parametrize("fn", [t_data, t_detach])
@pytest.mark.parametrize("rg", [True, False])
def test_data_is_a_detached_alias(fn, rg, executor):
    x = gt.randn(3, 4, requires_grad=rg)
    out = gt.jit.script(fn)(x)
    same(out, fn(x))
    assert out.requires_grad is False
    with gt.no_grad():
        out.add_(1.0)      # the same storage: x sees the write
    same(x.detach(), out)


@pytest.mark.parametrize("fn", [t_data_grad, t_write_through_data])
def test_data_values_and_gradients_match_eager(fn, executor):
    x = gt.randn(5, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    got, want = gt.jit.script(fn)(x), fn(x2)
    same(got, want)
    first = (got[0] if isinstance(got, tuple) else got)
    first.sum().backward()
    (want[0] if isinstance(want, tuple) else want).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x2.grad.numpy(), rtol=1e-6)


def test_data_matches_torch_script():
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    got = gt.jit.script(t_data)(gt.tensor(data, requires_grad=True))
    want = torch.jit.script(t_data)(torch.tensor(data, requires_grad=True))
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert got.requires_grad == want.requires_grad


def saved_data_and_broadcast(x, k: BroadcastingList2[int]):
    return x.data * k[0] + x.detach() * k[1]


def test_data_and_broadcast_list_survive_save_and_load(tmp_path):
    s = gt.jit.script(saved_data_and_broadcast)
    gt.jit.save(s, tmp_path / "m.gt")
    loaded = gt.jit.load(tmp_path / "m.gt")
    x = gt.randn(3, requires_grad=True)
    for k in (3, (1, 2), [2, 5]):
        got = loaded(x, k)
        same(got, saved_data_and_broadcast(x, list(k) if not isinstance(k, int) else [k, k]))
        assert got.requires_grad is False


# -- graphtorch.autograd.grad in script -----------------------------------------------------------
def grad_simple(x, y):
    # type: (Tensor, Tensor) -> List[Optional[Tensor]]
    z = x * y + y.exp() * 2
    return gt.autograd.grad((z.sum(),), (x, y))


def grad_with_outputs(x, y):
    # type: (Tensor, Tensor) -> List[Optional[Tensor]]
    z = x.sin() * y
    seed = gt.jit.annotate(List[Optional[gt.Tensor]],  # noqa: UP006, UP045 - script's spelling
                           [gt.full((2, 3), 0.5)])
    return gt.autograd.grad((z,), (x, y), seed)


def grad_unused(x, y):
    # type: (Tensor, Tensor) -> List[Optional[Tensor]]
    z = y * 3
    return gt.autograd.grad([z.sum()], [x, y], allow_unused=True)


def grad_twice(x, y):
    # type: (Tensor, Tensor) -> Tensor
    z = (x * y).sum()
    a = gt.autograd.grad((z,), (x,), retain_graph=True)[0]
    b = gt.autograd.grad((z,), (y,))[0]
    assert a is not None and b is not None
    return a + b


def grad_then_compute(x, y):
    # type: (Tensor, Tensor) -> Tensor
    z = (x * x * y).sum()
    gx = gt.autograd.grad((z,), (x,), create_graph=True)[0]
    assert gx is not None
    return gx * 2


def _values(out):
    return [None if t is None else t.detach().numpy() for t in
            (out if isinstance(out, (list, tuple)) else [out])]


@pytest.mark.parametrize("autodiff", [None, True])
@pytest.mark.parametrize("fn", [grad_simple, grad_with_outputs, grad_unused, grad_twice,
                                grad_then_compute])
def test_autograd_grad_in_script_matches_eager(fn, autodiff, executor):
    gt.jit.set_autodiff(autodiff)
    try:
        s = gt.jit.script(fn)
        for _ in range(3):    # the profiling call, then the specialized ones
            x = gt.randn(2, 3, requires_grad=True)
            y = gt.randn(2, 3, requires_grad=True)
            got, want = s(x, y), fn(x, y)
            assert isinstance(got, list) == isinstance(want, tuple)
            for a, b in zip(_values(got), _values(want)):
                assert (a is None) == (b is None)
                if a is not None:
                    np.testing.assert_allclose(a, b, rtol=1e-6)
    finally:
        gt.jit.set_autodiff(None)


def test_autograd_grad_create_graph_gives_second_derivatives():
    x = gt.randn(4, requires_grad=True)
    y = gt.randn(4, requires_grad=True)
    out = gt.jit.script(grad_then_compute)(x, y)    # 4 * x * y
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * y.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), 4 * x.detach().numpy(), rtol=1e-6)


def test_autograd_grad_in_script_raises_as_eager():
    x, y = gt.randn(2, 3), gt.randn(2, 3, requires_grad=True)
    with pytest.raises(Exception, match="does not require grad") as eager:
        grad_simple(x, y)
    with pytest.raises(type(eager.value), match="does not require grad"):
        gt.jit.script(grad_simple)(x, y)


def test_autograd_grad_matches_torch_script():
    data = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    got = gt.jit.script(grad_unused)(gt.tensor(data, requires_grad=True),
                                     gt.tensor(data + 1, requires_grad=True))
    want = torch.jit.script(_torch_grad_unused)(torch.tensor(data, requires_grad=True),
                                                torch.tensor(data + 1, requires_grad=True))
    assert got[0] is None and want[0] is None
    np.testing.assert_allclose(got[1].numpy(), want[1].numpy())


def _torch_grad_unused(x, y):
    # type: (Tensor, Tensor) -> List[Optional[Tensor]]
    z = y * 3
    return torch.autograd.grad([z.sum()], [x, y], allow_unused=True)


def grad_of_made_leaf(x):
    # type: (Tensor) -> List[Optional[Tensor]]
    w = gt.ones(3, requires_grad=True)
    return gt.autograd.grad(((w * x).sum(),), (w,))


def test_autograd_grad_of_a_tensor_made_in_script(executor):
    """No input requires grad, a tensor made in the graph does: every call still runs on the
    eager tape (the plans and the codegen executor would otherwise run without one)."""
    s = gt.jit.script(grad_of_made_leaf)
    for k in range(3):
        x = gt.arange(3.0) + k
        same(s(x), list(grad_of_made_leaf(x)))
    with gt.no_grad(), pytest.raises(Exception, match="does not require grad"):
        s(gt.arange(3.0))


# -- out= arguments --------------------------------------------------------------------------------
def out_add(a, b):
    c = a + b
    e = 2 * a
    gt.add(c, b, out=e)
    return e


def out_reads_around(a, b):
    before = a * 2 + b
    gt.mul(a, b, out=a)
    after = a * 2 + b
    return before, after


def out_into_constant(a):
    z = gt.zeros(3)
    first = z.sum()
    gt.add(a, 1.0, out=z)
    return first, z


def out_in_loop(a, n: int):
    acc = gt.zeros(3)
    for _ in range(n):
        gt.add(acc, a, out=acc)
    return acc


def out_complex(real, imag, out):
    return gt.complex(real, imag, out=out)


@pytest.mark.parametrize("fn, make", [
    (out_add, lambda: (gt.rand(3), gt.rand(3))),
    (out_reads_around, lambda: (gt.rand(3), gt.rand(3))),
    (out_into_constant, lambda: (gt.rand(3),)),
    (out_in_loop, lambda: (gt.rand(3), 4)),
])
def test_out_argument_matches_eager(fn, make, executor):
    s = gt.jit.script(fn)
    for _ in range(3):   # a constant tensor written by out= must not carry over to the next call
        args = make()
        copies = [a.clone() if isinstance(a, gt.Tensor) else a for a in args]
        same(s(*args), fn(*copies))
        same([a for a in args if isinstance(a, gt.Tensor)],
             [a for a in copies if isinstance(a, gt.Tensor)])


def test_out_argument_returns_the_out_tensor_resized():
    real, imag = gt.tensor([1.0, 2.0]), gt.tensor([3.0, 4.0])
    out = gt.empty(3, 4, dtype=gt.complex64)
    with pytest.warns(UserWarning, match="resized"):
        got = gt.jit.script(out_complex)(real, imag, out)
    assert got is out and tuple(out.shape) == (2,)
    np.testing.assert_array_equal(out.numpy(), np.array([1 + 3j, 2 + 4j], dtype=np.complex64))


def test_out_add_matches_torch_script():
    want = torch.jit.script(_torch_out_add)(torch.ones(3), torch.full((3,), 2.0))
    same(gt.jit.script(out_add)(gt.ones(3), gt.full((3,), 2.0)), gt.tensor(want.numpy()))


def _torch_out_add(a, b):
    c = a + b
    e = 2 * a
    torch.add(c, b, out=e)
    return e


def out_needs_grad(a, b):
    e = gt.zeros(3)
    gt.mul(a, b, out=e)
    return e


def out_bad_cast(a):
    e = gt.zeros(3, dtype=gt.int64)
    gt.add(a, 0.5, out=e)
    return e


@pytest.mark.parametrize("fn, args, match", [
    (out_needs_grad, lambda: (gt.rand(3, requires_grad=True), gt.rand(3)),
     "don't support automatic differentiation"),
    (out_bad_cast, lambda: (gt.rand(3),), "can't be cast to the desired output type"),
])
def test_out_argument_raises_as_eager(fn, args, match):
    with pytest.raises(Exception, match=match) as eager:
        fn(*args())
    with pytest.raises(type(eager.value), match=match):
        gt.jit.script(fn)(*args())


def out_of_a_view(a, b):
    gt.transpose(a, 0, 0, out=b)
    return b


def test_out_argument_refused_for_views():
    with pytest.raises(ScriptError, match="out= arguments are not supported in script for an "
                                          "op that is a view") as info:
        gt.jit.script(out_of_a_view)
    assert "^" in str(info.value)


# -- *_like(memory_format=...) ------------------------------------------------------------------
def like_formats(x):
    # type: (Tensor) -> Tensor
    a = gt.zeros_like(x, memory_format=None) + gt.ones_like(x, memory_format=gt.preserve_format)
    b = gt.full_like(x, 2.0, dtype=gt.float64, memory_format=gt.contiguous_format)
    return a + b + gt.empty_like(x, memory_format=gt.channels_last).zero_()


def test_like_factories_take_a_memory_format():
    x = gt.rand(2, 3, 2, 2)
    got, want = gt.jit.script(like_formats)(x), like_formats(x)
    same(got, want)
    assert got.dtype == gt.float64 and tuple(got.shape) == (2, 3, 2, 2)
    np.testing.assert_array_equal(got.numpy(), np.full((2, 3, 2, 2), 3.0))
    assert gt.full_like(x, 3, dtype=gt.int32, memory_format=None).dtype == gt.int32


# -- a ternary whose branches differ, declared Any ---------------------------------------------
class TernaryReturnsAny(nn.Module):
    def forward(self) -> Any:
        return "out" if self.training else {}


class TernaryAssignsAny(nn.Module):
    def forward(self) -> Any:
        out: Any = "out" if self.training else {}
        return out


def ternary_any(x: int) -> Any:
    return "positive" if x > 0 else [x, x]


def ternary_undeclared(x: int):
    return "positive" if x > 0 else [x, x]


@pytest.mark.parametrize("cls", [TernaryReturnsAny, TernaryAssignsAny])
@pytest.mark.parametrize("training", [True, False])
def test_ternary_of_different_types_declared_any(cls, training):
    m = cls().train(training)
    assert gt.jit.script(m)() == m() == torch.jit.script(_torch_twin(cls, training))()


def _torch_twin(cls, training):
    twin = type(cls.__name__, (torch.nn.Module,), {"forward": cls.forward})()
    return twin.train(training)


@pytest.mark.parametrize("x", [3, -2])
def test_ternary_any_in_a_function(x):
    assert gt.jit.script(ternary_any)(x) == ternary_any(x)


def test_ternary_of_different_types_without_a_declaration_is_refused():
    with pytest.raises(ScriptError, match="this expression is str on one path and int"):
        gt.jit.script(ternary_undeclared)


# -- annotate(float / int, a 0-dim tensor) ------------------------------------------------------
def annotate_float(a):
    return gt.jit.annotate(float, a)


def annotate_int(a):
    return gt.jit.annotate(int, a)


def _torch_annotate_float(a):
    return torch.jit.annotate(float, a)


def test_annotate_number_of_a_zero_dim_tensor():
    got = gt.jit.script(annotate_float)(gt.tensor(0.25))
    want = torch.jit.script(_torch_annotate_float)(torch.tensor(0.25))
    assert got == want == 0.25 and type(got) is float
    assert gt.jit.script(annotate_int)(gt.tensor(7)) == 7


@pytest.mark.parametrize("fn, arg, match", [
    (annotate_float, lambda: gt.rand(2), "dimension other than 0"),
    (annotate_int, lambda: gt.tensor(2.0), "type Float as an integral argument"),
    (annotate_float, lambda: gt.rand((), requires_grad=True), "requires grad"),
])
def test_annotate_number_refuses_as_torchscript(fn, arg, match):
    with pytest.raises(RuntimeError, match=match):
        gt.jit.script(fn)(arg())


# -- a tensor indexed by a list known at run time -----------------------------------------------
def index_empty(x):
    empty_list: list[int] = []
    return x[empty_list, :, :]


def index_lists(x, idx: list[int]):
    return x[idx, 1:], x[:, idx]


def index_mask(x, mask: list[bool]):
    """A list of bools is a mask, as in eager (torch.jit.script takes the bools as the
    indices 0 and 1: it differs from eager PyTorch there)."""
    return x[mask]


def index_write(x, idx: list[int]):
    x[idx] = -1.0
    return x


@pytest.mark.parametrize("fn, extra", [
    (index_empty, ()), (index_lists, ([2, 0, 2],)), (index_write, ([0, 2],))])
def test_tensor_indexed_by_a_run_time_list(fn, extra, executor):
    data = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    s = gt.jit.script(fn)
    for _ in range(3):
        got = s(gt.tensor(data), *extra)
        want = fn(gt.tensor(data), *extra)
        same(got, want)
    twant = torch.jit.script(fn)(torch.tensor(data), *extra)   # no graphtorch name inside
    same(got, [gt.tensor(t.numpy()) for t in twant] if isinstance(twant, tuple)
         else gt.tensor(twant.numpy()))


@pytest.mark.parametrize("mask", [[True, False, True], [False, False, False]])
def test_tensor_indexed_by_a_run_time_bool_list_is_a_mask(mask, executor):
    data = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    got = gt.jit.script(index_mask)(gt.tensor(data), mask)
    np.testing.assert_array_equal(got.numpy(), data[np.array(mask)])
    same(got, index_mask(gt.tensor(data), mask))


# -- isinstance with nested tuples of classes ---------------------------------------------------
def isinstance_nested(a):
    # type: (Optional[List[int]]) -> int
    b = 0
    if isinstance(a, (int, (float, (str,)), list)):
        b += 1
    if isinstance(a, ((int,), str)):
        b += 10
    return b


@pytest.mark.parametrize("arg", [[3, 4], None])
def test_isinstance_nested_class_tuples(arg):
    assert gt.jit.script(isinstance_nested)(arg) == isinstance_nested(arg)


# -- collections.namedtuple (fields are Tensors) --------------------------------------------------
Pair = collections.namedtuple("Pair", ["first", "second"])


def namedtuple_in_comment(p):
    # type: (Pair) -> Tensor
    if isinstance(p, Pair):
        return p.first * 2 + p.second
    return p.first


def namedtuple_made(x):
    return Pair(x, x + 1)


def namedtuple_of_ints(a: int):
    return Pair(a, 2)


def test_collections_namedtuple_fields_are_tensors():
    p = Pair(gt.tensor([1.0, 2.0]), gt.tensor([0.5, 0.5]))
    same(gt.jit.script(namedtuple_in_comment)(p), namedtuple_in_comment(p))
    got = gt.jit.script(namedtuple_made)(gt.ones(2))
    assert isinstance(got, Pair)
    same(list(got), list(namedtuple_made(gt.ones(2))))
    with pytest.raises(ScriptError, match="field 'first' of Pair is declared as Tensor"):
        gt.jit.script(namedtuple_of_ints)


# -- an @unused method stands for its declared return type ---------------------------------------
class UnusedTuple(nn.Module):
    @gt.jit.unused
    def pair(self, x):
        # type: (Tensor) -> Tuple[Tensor, Tensor]
        return x, x

    def forward(self, x, use: bool):
        # type: (Tensor, bool) -> Tuple[Tensor, Tensor]
        if use:
            return self.pair(x)
        return x, x * 2


def test_unused_method_with_a_declared_tuple_result(tmp_path):
    s = gt.jit.script(UnusedTuple())
    x = gt.tensor([0.5])
    same(s(x, False), (x, x * 2))
    with pytest.raises(Exception, match="UnusedTuple.pair was marked @graphtorch.jit.unused"):
        s(x, True)
    gt.jit.save(s, tmp_path / "m.gt")
    same(gt.jit.load(tmp_path / "m.gt")(x, False), (x, x * 2))


# -- attributes of modules compiled earlier; tensor attributes -----------------------------------
class HoldsTensors(nn.Module):
    __constants__ = ["k"]

    def __init__(self):
        super().__init__()
        self.register_buffer("buf", gt.ones(1))
        self.plain = gt.full((1,), 2.0)
        self.k = 3

    def forward(self, x):
        return x + x


class UsesHeld(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x) + self.inner.buf + self.inner.plain + self.inner.k


@pytest.mark.parametrize("script_inner_first", [True, False])
def test_attributes_of_a_compiled_submodule(script_inner_first):
    inner = HoldsTensors()
    m = UsesHeld(gt.jit.script(inner) if script_inner_first else inner)
    x = gt.tensor([1.0, -1.0])
    same(gt.jit.script(m)(x), m(x))


class ScalesByAttribute(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.scale = gt.ones(2)

    def forward(self, x):
        return self.lin(x) * self.scale


def test_tensor_attribute_read_at_run_time(executor, tmp_path):
    m = ScalesByAttribute()
    s = gt.jit.script(m)
    x = gt.rand(3, 2)
    for _ in range(3):
        same(s(x), m(x))
    m.scale.mul_(4.0)                     # the same tensor: seen by the compiled module
    same(s(x), m(x))
    s.scale = gt.full((2,), -1.0)         # a new tensor for the compiled module
    same(s(x), m.lin(x) * -1.0)
    s.scale = gt.ones(2, requires_grad=True)
    s(x).sum().backward()
    np.testing.assert_allclose(s.scale.grad.numpy(), m.lin(x).sum(0).detach().numpy(),
                               rtol=1e-6)
    orig = ScalesByAttribute()
    gt.jit.save(gt.jit.script(orig), tmp_path / "s.gt")
    same(gt.jit.load(tmp_path / "s.gt")(x), orig(x))


# -- a global dict of constants read with a run-time key; dtype.name; F.prelu ----------------
CODES = {"a": 1, "b": 2}
MIXED = {"a": 1, "b": "two"}


def dict_lookup(k: str) -> int:
    return CODES[k] * 10


def mixed_lookup(k: str):
    return MIXED[k]


def dtype_name(x):
    return x.dtype.name


def prelu_both(x, w):
    return gt.nn.functional.prelu(x, w), F.prelu(x, w)


def test_global_constant_dict_read_at_run_time():
    s = gt.jit.script(dict_lookup)
    assert s("b") == dict_lookup("b") == 20
    with pytest.raises(KeyError):
        dict_lookup("z")
    with pytest.raises(Exception, match="z"):
        s("z")
    with pytest.raises(ScriptError, match="cannot use a Python dict object as a value"):
        gt.jit.script(mixed_lookup)


def test_dtype_name_and_prelu_in_script():
    assert gt.jit.script(dtype_name)(gt.ones(2, dtype=gt.int32)) == "int32"
    x, w = gt.arange(-3.0, 4.0), gt.tensor([0.25])
    same(gt.jit.script(prelu_both)(x, w), prelu_both(x, w))
    with pytest.raises(Exception, match="prelu: Type promoting not supported. Got Float and "
                                        "Double"):
        gt.jit.script(prelu_both)(x, w.double())


# -- nn.Module's generator methods (named_modules, buffers, parameters ...) -------------------
class Minus(nn.Module):
    def forward(self, t):
        return t - 2


class Twice(nn.Module):
    def forward(self, t):
        return t * 2


class Walks(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Minus()
        self.seq = nn.Sequential(nn.Sequential(Minus()), Twice())
        self.lin = nn.Linear(2, 2)
        self.register_buffer("x", gt.zeros(2))
        self.register_buffer("y", gt.ones(2))

    @gt.jit.export
    def walk(self, t):
        names = ""
        for name, _m in self.named_children():
            names = names + " " + name
        for name, m in self.named_modules():
            names = names + " " + name
            if name != "" and name != "lin":
                t = m(t)
        for m in self.children():
            if not isinstance(m, nn.Linear):
                t = m(t)
        return names, t

    @gt.jit.export
    def tensors(self):
        names: List[str] = []  # noqa: UP006 - script's spelling
        total = gt.zeros(2)
        for name, b in self.named_buffers():
            names.append(name)
            total = total + b
        for p in self.parameters():
            total = total + p.sum()
        for name, _p in self.named_parameters(prefix="top"):
            names.append(name)
        return names, total

    def forward(self, t):
        return self.lin(t)


def test_module_generator_methods_unrolled():
    m = Walks()
    s = gt.jit.script(m)
    t = gt.tensor([1.0, 5.0])
    same(s.walk(t), m.walk(t))
    same(s.tensors(), m.tensors())
    s.tensors()[1].sum().backward()      # the parameters are the module's: gradients reach them
    assert m.lin.weight.grad is not None


def test_module_generator_methods_need_constant_arguments():
    class NonConstant(nn.Module):
        def forward(self, t, r: bool):
            for p in self.parameters(r):
                t = t + p
            return t

    with pytest.raises(ScriptError, match="the arguments of parameters\\(\\) must be constants"):
        gt.jit.script(NonConstant())


class ChecksKinds(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.seq = nn.Sequential(nn.ReLU())

    def forward(self, t):
        a = isinstance(self.lin, nn.Linear)
        b = isinstance(self.seq, (nn.Linear, (nn.Conv2d,)))
        c = isinstance(self.seq, nn.Module)
        if isinstance(self.seq[0], nn.ReLU):
            t = t + 1
        return a, b, c, t


def test_isinstance_of_a_module_is_pythons_answer():
    """Regression: isinstance(self.lin, nn.Linear) was folded to False (a wrong value)."""
    m = ChecksKinds()
    t = gt.tensor([1.0, -1.0])
    same(gt.jit.script(m)(t), m(t))
    same(gt.jit.script(gt.jit.script(m))(t), m(t))     # a compiled module: its module's class


# -- nn.utils.rnn packing in script ------------------------------------------------------------
def pack_unpack(x, lengths):
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    out, lens = pad_packed_sequence(packed, total_length=4)
    return out, lens, packed.batch_sizes


def pack_list(seqs: List[gt.Tensor], enforce_sorted: bool):  # noqa: UP006 - script's spelling
    return pad_packed_sequence(pack_sequence(seqs, enforce_sorted))[0]


def returns_packed(x, lengths):
    return pack_padded_sequence(x, lengths)


def builds_packed(x, b):
    return PackedSequence(x, b)


def test_packing_functions_in_script(executor):
    x = gt.rand(4, 3, 2, requires_grad=True)
    lengths = gt.tensor([2, 4, 1])
    x2 = x.detach().clone().requires_grad_(True)
    got, want = gt.jit.script(pack_unpack)(x, lengths), pack_unpack(x2, lengths)
    same(got, want)
    got[0].sum().backward()
    want[0].sum().backward()
    same(x.grad, x2.grad)
    seqs = [gt.tensor([1, 2]), gt.tensor([3, 4, 5]), gt.tensor([6])]
    same(gt.jit.script(pack_list)(seqs, False), pack_list(seqs, False))
    packed = gt.jit.script(returns_packed)(gt.ones(3, 2, 1), gt.tensor([3, 1]))
    assert isinstance(packed, PackedSequence)
    same(list(packed), list(returns_packed(gt.ones(3, 2, 1), gt.tensor([3, 1]))))


def test_named_tuple_with_its_own_new_is_not_built_in_script():
    with pytest.raises(ScriptError, match="PackedSequence\\(\\) runs its own __new__"):
        gt.jit.script(builds_packed)
