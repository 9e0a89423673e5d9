"""Language features TorchScript programs use: the ops they call (``tril_indices``,
``triu_indices``, ``rsub``, ``narrow_copy``, ``Tensor.layout``, memory formats).

Each scripted function is compared with calling the same Python function eagerly, and the eager
ops with real PyTorch where it is installed.
"""

from typing import NamedTuple

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import ScriptError


def same(fn, *cases):
    """``fn`` scripted gives what ``fn`` gives in Python, for each tuple of arguments."""
    sfn = gt.jit.script(fn)
    for args in cases:
        want, got = fn(*args), sfn(*args)
        if isinstance(want, gt.Tensor):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got.numpy(), want.numpy())
        else:
            assert got == want and type(got) is type(want), (args, got, want)
    return sfn


# -- ops -------------------------------------------------------------------------------------------

def tri(n: int, m: int, k: int):
    return gt.tril_indices(n, m, k), gt.triu_indices(n, m, k)


def test_tri_indices_scripted_match_eager_and_mask():
    sfn = gt.jit.script(tri)
    for n, m, k in [(3, 3, 0), (4, 2, 1), (2, 5, -1), (0, 3, 0), (3, 3, 7)]:
        lo, up = sfn(n, m, k)
        elo, eup = tri(n, m, k)
        np.testing.assert_array_equal(lo.numpy(), elo.numpy())
        np.testing.assert_array_equal(up.numpy(), eup.numpy())
        assert lo.dtype == gt.int64
        want_lo = np.stack(np.nonzero(np.tril(np.ones((n, m)), k)))
        want_up = np.stack(np.nonzero(np.triu(np.ones((n, m)), k)))
        np.testing.assert_array_equal(lo.numpy(), want_lo.reshape(2, -1))
        np.testing.assert_array_equal(up.numpy(), want_up.reshape(2, -1))


def rsub_narrow(x, y):
    return gt.rsub(x, y), gt.rsub(x, y, alpha=2), gt.rsub(x, 3.0), x.narrow_copy(1, 1, 2)


def test_rsub_and_narrow_copy_scripted_match_eager():
    x = gt.arange(12.0).reshape(3, 4)
    y = gt.ones(3, 4) * 5
    got, want = gt.jit.script(rsub_narrow)(x, y), rsub_narrow(x, y)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy())
    np.testing.assert_allclose(want[0].numpy(), 5 - np.arange(12.0).reshape(3, 4))
    np.testing.assert_allclose(want[1].numpy(), 5 - 2 * np.arange(12.0).reshape(3, 4))
    nc = want[3]
    nc.add_(1)  # a copy: the source is unchanged
    np.testing.assert_allclose(x.numpy(), np.arange(12.0).reshape(3, 4))


def test_rsub_gradients():
    x = gt.tensor([1.0, 2.0], requires_grad=True)
    y = gt.tensor([3.0, 4.0], requires_grad=True)
    gt.rsub(x, y, alpha=3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-3.0, -3.0])
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0])


def test_layout_and_memory_formats():
    x = gt.arange(24.0).reshape(1, 2, 3, 4)
    assert x.layout is gt.strided and repr(gt.strided) == "graphtorch.strided"
    for fmt in (gt.contiguous_format, gt.channels_last, gt.preserve_format):
        np.testing.assert_array_equal(x.contiguous(memory_format=fmt).numpy(), x.numpy())
    np.testing.assert_array_equal(x.to(memory_format=gt.channels_last).numpy(), x.numpy())


def formats(x):
    y = x.contiguous(memory_format=gt.contiguous_format)
    z = x.contiguous(memory_format=gt.channels_last)
    w = x.to(memory_format=gt.channels_last)
    return y + 1, z * 2, w - 1, x.layout == gt.strided, gt.strided == gt.strided


def test_layout_and_memory_formats_in_script():
    x = gt.arange(24.0).reshape(1, 2, 3, 4)
    got, want = gt.jit.script(formats)(x), formats(x)
    for g, w in zip(got[:3], want[:3]):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    assert got[3:] == want[3:] == (True, True)


@pytest.mark.torch
def test_ops_match_pytorch():
    torch = pytest.importorskip("torch")
    for n, m, k in [(3, 3, 0), (4, 2, 1), (2, 5, -1)]:
        np.testing.assert_array_equal(gt.tril_indices(n, m, k).numpy(),
                                      torch.tril_indices(n, m, k).numpy())
        np.testing.assert_array_equal(gt.triu_indices(n, m, k).numpy(),
                                      torch.triu_indices(n, m, k).numpy())
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(gt.rsub(gt.tensor(a), gt.tensor(a * 3), alpha=2).numpy(),
                               torch.rsub(torch.tensor(a), torch.tensor(a * 3), alpha=2).numpy())
    np.testing.assert_allclose(gt.tensor(a).narrow_copy(1, 1, 2).numpy(),
                               torch.tensor(a).narrow_copy(1, 1, 2).numpy())


# -- with: grad-mode contexts ----------------------------------------------------------------------

@pytest.fixture(params=["interpreter", "compiled", "codegen"])
def executor(request):
    before = gt.jit.get_executor()
    gt.jit.set_executor(request.param)
    yield request.param
    gt.jit.set_executor(before)


def grad_state(y):
    return y.requires_grad, y.grad_fn is not None


def nested_modes(x, flag: bool):
    with gt.no_grad():
        a = x * 2
        inner = gt.is_grad_enabled()
        with gt.enable_grad():
            b = x * 3
            mid = gt.is_grad_enabled()
        with gt.set_grad_enabled(flag):
            c = x * 4
    return a, b, c, inner, mid, gt.is_grad_enabled()


def early_return(x, flag: bool):
    with gt.no_grad():
        y = x * 2
        if flag:
            return y, gt.is_grad_enabled()
        y = y + 1
    return x * y, gt.is_grad_enabled()


def loop_exits(x, n: int):
    out = []
    for i in range(n):
        with gt.no_grad():
            if i == 1:
                continue
            if i == 3:
                break
            out.append(x * i)
        out.append(x + i)
    return out, gt.is_grad_enabled()


def raises_inside(x, flag: bool):
    with gt.no_grad():
        if flag:
            raise ValueError("boom")
        y = x * 2
    return y


def compare(fn, *args):
    got, want = gt.jit.script(fn)(*args), fn(*args)
    assert gt.is_grad_enabled()
    flat_g = got[0] if isinstance(got[0], list) else got
    flat_w = want[0] if isinstance(want[0], list) else want
    assert len(flat_g) == len(flat_w)
    for g, w in zip(flat_g, flat_w):
        if isinstance(w, gt.Tensor):
            np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy())
            assert grad_state(g) == grad_state(w)
        else:
            assert g == w
    assert got[-1] == want[-1]
    return got


def test_nested_grad_modes(executor):
    x = gt.ones(3, requires_grad=True)
    for flag in (True, False):
        got = compare(nested_modes, x, flag)
        assert got[3] is False and got[4] is True and got[5] is True
        assert got[0].requires_grad is False and got[1].requires_grad is True
        assert got[2].requires_grad is flag


def test_return_inside_with_restores(executor):
    x = gt.ones(3, requires_grad=True)
    for flag in (True, False):
        got = compare(early_return, x, flag)
        assert got[1] is (not flag)


def test_break_and_continue_inside_with_restore(executor):
    x = gt.ones(2, requires_grad=True)
    got = compare(loop_exits, x, 5)
    assert len(got[0]) == 4 and got[1] is True


def test_raise_inside_with_restores(executor):
    sfn = gt.jit.script(raises_inside)
    x = gt.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="boom"):
        raises_inside(x, True)
    assert gt.is_grad_enabled()
    with pytest.raises(Exception, match="boom"):
        sfn(x, True)
    assert gt.is_grad_enabled()
    assert sfn(x, False).requires_grad is False
    assert gt.is_grad_enabled()
    with gt.no_grad():   # the caller's mode is what comes back, not a hard-coded True
        with pytest.raises(Exception, match="boom"):
            sfn(x, True)
        assert not gt.is_grad_enabled()


class WithModule(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = gt.nn.Linear(3, 2)

    def forward(self, x):
        with gt.no_grad():
            frozen = self.lin(x)
        return frozen + self.lin(x)


def test_with_in_scripted_module(executor):
    m = WithModule()
    x = gt.ones(4, 3)
    sm = gt.jit.script(m)
    got, want = sm(x), m(x)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    got.sum().backward()
    w = m.lin.weight.grad.numpy().copy()
    m.lin.weight.grad = None
    want.sum().backward()
    np.testing.assert_allclose(w, m.lin.weight.grad.numpy(), rtol=1e-6)


def with_as(x):
    with gt.no_grad() as ctx:  # noqa: F841
        y = x * 2
    return y


def with_other(x):
    with open("f"):
        y = x * 2
    return y


class Timer:
    """A user context manager whose __exit__ takes *args: script refuses the parameter."""

    def __init__(self, label: str):
        self.label = label

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


TIMER = Timer("global")


def with_user_class(x):
    with Timer("t") as t:  # noqa: F841
        y = x * 2
    return y


def with_user_instance(x):
    with TIMER:
        y = x * 2
    return y


def test_with_refusals():
    with pytest.raises(ScriptError, match="'with ... as name' is not supported"):
        gt.jit.script(with_as)
    with pytest.raises(ScriptError, match="only grad-mode contexts and objects of classes with "
                                          "__enter__/__exit__ are supported"):
        gt.jit.script(with_other)


def test_user_context_manager_refusals_are_precise():
    """A context class is compiled (tests/frontend/script/test_classes_with.py); what script
    cannot compile in it is refused at that place, and a global object is refused at its use."""
    with pytest.raises(ScriptError) as info:
        gt.jit.script(with_user_class)
    err = info.value
    assert str(err).splitlines()[0] == "*args parameters are not supported in script"
    assert err.source_line.strip() == "def __exit__(self, *exc):"
    assert err.source_line[err.column - 1:].startswith("*exc")
    with pytest.raises(ScriptError) as info:
        gt.jit.script(with_user_instance)
    err = info.value
    assert str(err).splitlines()[0].startswith("cannot use the global object")
    assert err.source_line[err.column - 1:].startswith("TIMER")
    assert err.hint == "pass the object in as an argument"


# -- typing.NamedTuple -----------------------------------------------------------------------------

class Point(NamedTuple):
    a: gt.Tensor
    b: float = 2.0
    n: int = 3


def build_points(x, k: int):
    p = Point(x, 1.5)
    q = Point(a=x * 2, n=k)
    r = Point(x + 1, b=k * 0.5)
    a, b, n = p
    return p.a * p.b + q[0] + q.n, a, b + n, q, r.b, r[2]


def use_point(p: Point, scale: float):
    return p.a * p.b * scale + p[2], p.n


def assert_same_tree(got, want):
    if isinstance(want, gt.Tensor):
        np.testing.assert_allclose(got.numpy(), want.numpy())
    elif isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same_tree(g, w)
    else:
        assert got == want and type(got) is type(want), (got, want)


def test_named_tuple_construct_fields_index_unpack_defaults():
    x = gt.arange(3.0)
    sfn = gt.jit.script(build_points)
    for k in (1, 5):
        got, want = sfn(x, k), build_points(x, k)
        assert_same_tree(got, want)
        assert got[4] == k * 0.5 and got[5] == 3


def test_named_tuple_parameter_from_python():
    x = gt.arange(3.0)
    sfn = gt.jit.script(use_point)
    for p in (Point(x, 3.0, 1), Point(x)):
        assert_same_tree(sfn(p, 0.5), use_point(p, 0.5))


def missing_field(x):
    return Point(b=1.0)


def test_named_tuple_missing_field_is_a_script_error():
    with pytest.raises(ScriptError, match="missing field 'a'"):
        gt.jit.script(missing_field)
