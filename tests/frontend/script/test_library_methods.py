"""Tensor methods that are graphtorch Python functions (python_signatures.py,
composed_functions.py) compile as their function form: x.det() is graphtorch.det(x). Each is
compared with eager."""

from __future__ import annotations

import pytest

import graphtorch as torch
from graphtorch import Tensor
from graphtorch.testing import assert_close


def _spd(n: int = 3) -> Tensor:
    a = torch.randn(n, n, dtype=torch.float64)
    return a @ a.T + n * torch.eye(n, dtype=torch.float64)


def m_det(x: Tensor):
    return x.det(), torch.det(x)


def m_inverse(x: Tensor):
    return x.inverse(), x.inverse() @ x


def m_logdet(x: Tensor):
    sign, logabs = x.slogdet()
    return x.logdet(), sign, logabs


def m_cholesky(x: Tensor):
    return x.cholesky(), x.cholesky(upper=True)


def m_trace_outer(x: Tensor):
    return x.trace(), x[0].outer(x[1]), x[0].ger(x[2])


def m_addcmul(x: Tensor):
    return x.addcmul(x, x, value=0.5), x.addcdiv(x, x + 10.0), x.addmm(x, x, beta=2.0)


def m_clip(x: Tensor):
    return x.clip(-0.5, 0.5), x.clip(max=0.2), x.clamp_min(0.1), x.clamp_max(-0.1)


def m_lerp_diff(x: Tensor):
    return x.lerp(x * 2.0, 0.25), x.diff(), x.diff(dim=0), x.logaddexp(x.flip(0))


def m_median(x: Tensor):
    values, indices = x.median(1)
    k, ki = x.kthvalue(2, 0)
    return x.median(), values, indices, k, ki


def m_select(x: Tensor):
    order = torch.argsort(x, 1)
    return x.take_along_dim(order, 1), (x > 0).argwhere(), x.broadcast_to([2, 3, 3])


def m_index_fill(x: Tensor):
    return x.index_fill(1, torch.tensor([0, 2]), -1.0)


def m_unique(x: Tensor):
    return x.round().unique(), x.round().unique_consecutive()


def m_inplace_copy_back(x: Tensor, y: Tensor):
    x.lerp_(y, 0.5)
    x.addcmul_(y, y, value=2.0)
    x.addcdiv_(y, y.abs() + 1.0)
    x.clamp_min_(-1.0)
    x.clamp_max_(3.0)
    x.clip_(max=2.5)
    return x


CASES = {
    "det": (m_det, lambda: [_spd()]),
    "inverse": (m_inverse, lambda: [_spd()]),
    "logdet": (m_logdet, lambda: [_spd()]),
    "cholesky": (m_cholesky, lambda: [_spd()]),
    "trace_outer": (m_trace_outer, lambda: [torch.randn(3, 3)]),
    "addcmul": (m_addcmul, lambda: [torch.randn(3, 3)]),
    "clip": (m_clip, lambda: [torch.randn(3, 3)]),
    "lerp_diff": (m_lerp_diff, lambda: [torch.randn(4, 3)]),
    "median": (m_median, lambda: [torch.randn(3, 5)]),
    "select": (m_select, lambda: [torch.randn(3, 3)]),
    "index_fill": (m_index_fill, lambda: [torch.randn(2, 3)]),
    "unique": (m_unique, lambda: [torch.randn(6) * 2.0]),
    "inplace_copy_back": (m_inplace_copy_back, lambda: [torch.randn(4), torch.randn(4)]),
}


def _flat(v) -> list:
    if isinstance(v, (tuple, list)):
        return [x for item in v for x in _flat(item)]
    return [v]


@pytest.mark.parametrize("name", sorted(CASES))
def test_method_matches_eager(name):
    fn, make = CASES[name]
    torch.manual_seed(0)
    args = make()
    eager_args = [a.clone() for a in args]
    expected = _flat(fn(*eager_args))
    got = _flat(torch.jit.script(fn)(*args))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert_close(g, e, rtol=1e-5, atol=1e-6)
    for a, e in zip(args, eager_args):
        assert_close(a, e)


def test_method_and_function_forms_share_their_graph():
    def method(x: Tensor):
        return x.det()

    def function(x: Tensor):
        return torch.det(x)

    a = torch.jit.script(method).graph
    b = torch.jit.script(function).graph
    assert [n.kind for n in a.walk()] == [n.kind for n in b.walk()]


def test_specializations_save_and_load(tmp_path):
    """clip(x, -0.5, 0.5) and clip(x, max=0.2) are two compiled versions of one Python function
    (the None bound is known while compiling); both survive an archive round trip."""
    scripted = torch.jit.script(m_clip)
    called = sorted({n.attrs["name"] for n in scripted.graph.walk()
                     if n.kind == "prim::CallFunction"})
    assert len([c for c in called if c.endswith(tuple(f"clip__s{i}" for i in range(1, 99)))]) \
        == 2
    path = tmp_path / "clip.gt"
    torch.jit.save(scripted, str(path))
    loaded = torch.jit.load(str(path))
    x = torch.randn(3, 3)
    for g, e in zip(loaded(x), m_clip(x)):
        assert_close(g, e)


def test_method_without_function_form_is_refused():
    from graphtorch.errors import ScriptError

    def f(x: Tensor):
        return x.no_such_method()

    with pytest.raises(ScriptError, match="Tensor has no method 'no_such_method'"):
        torch.jit.script(f)


def test_python_function_of_a_method_reports_the_users_line():
    """A method whose function cannot be compiled names it, at the user's call."""
    from graphtorch.errors import ScriptError

    def f(x: Tensor):
        return x.nan_to_num()

    with pytest.raises(ScriptError) as info:
        torch.jit.script(f)
    assert ("graphtorch.composed_functions.nan_to_num cannot be compiled in script"
            in str(info.value))
    assert "return x.nan_to_num()" in str(info.value)
