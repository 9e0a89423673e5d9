"""``typing.NamedTuple`` classes in scripted code beyond construction (test_language_features.py):
field names that survive branches, loops and calls, NamedTuples nested in NamedTuples, lists and
Optionals of them, and results returned as instances of the class (as TorchScript does).
Compared with Python, and with ``torch.jit.script`` where PyTorch is installed."""

# NOTE: no `from __future__ import annotations`: torch.jit.script cannot resolve the string
# field annotations of a NamedTuple it makes
from typing import NamedTuple

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import ScriptError
from graphtorch.ir.verifier import verify

# NOTE: torch.jit.script is deprecated upstream (a DeprecationWarning per call)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Pair(NamedTuple):
    a: int
    b: float = 2.0


class Labeled(NamedTuple):
    pair: Pair
    name: str


class Stats(NamedTuple):
    mean: gt.Tensor
    count: int


def make(n: int) -> Pair:
    return Pair(n, 3.0)


def through_call(n: int) -> int:
    return make(n).a + 1


def through_branches(n: int, c: bool) -> float:
    if c:
        p = Pair(n)
    else:
        p = Pair(n + 1, 5.0)
    return p.b + p.a


def through_loop(n: int) -> Pair:
    p = Pair(n)
    for i in range(3):
        p = Pair(p.a + i, p.b * 2)
    return p


def nested(n: int):
    q = Labeled(Pair(n), "x")
    return q.pair.a, q.name, q[0].b, q


def list_of(ps: list[Pair]) -> int:
    s = 0
    for p in ps:
        s += p.a
    return s


def optional_of(p: Pair | None) -> int:
    if p is None:
        return -1
    return p.a


def in_a_tuple(n: int) -> tuple[Pair, int]:
    return Pair(n), n


def returns_a_list(n: int) -> list[Pair]:
    return [Pair(i, i * 0.5) for i in range(n)]


def tensor_fields(x: gt.Tensor) -> Stats:
    return Stats(x.mean(), x.numel())


def same(got, want) -> None:
    assert type(got) is type(want), (got, want)
    if isinstance(want, gt.Tensor):
        np.testing.assert_allclose(got.numpy(), want.numpy())
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            same(g, w)
    else:
        assert got == want, (got, want)


def check(fn, cases, torch_too: bool = True):
    sfn = gt.jit.script(fn)
    verify(sfn.graph)
    for args in cases:
        same(sfn(*args), fn(*args))
    if torch_too:
        torch = pytest.importorskip("torch")
        tfn = torch.jit.script(fn)
        for args in cases:
            assert sfn(*args) == tfn(*args), (fn.__name__, args)
    return sfn


def test_fields_of_a_called_functions_result():
    check(through_call, [(2,), (-1,)])


def test_fields_survive_branches_and_loops():
    check(through_branches, [(1, True), (1, False)])
    check(through_loop, [(0,), (4,)])


def test_nested_named_tuples():
    check(nested, [(3,)])


def test_lists_optionals_and_tuples_of_named_tuples():
    check(list_of, [([],), ([Pair(1), Pair(5, 1.0)],)])
    check(optional_of, [(None,), (Pair(7),)])
    check(in_a_tuple, [(2,)])
    check(returns_a_list, [(0,), (3,)], torch_too=False)   # TorchScript: list comprehension types


def test_results_are_instances_of_the_class():
    assert type(gt.jit.script(make)(1)) is Pair
    got = gt.jit.script(tensor_fields)(gt.arange(4.0))
    assert type(got) is Stats and got.count == 4 and float(got.mean) == 1.5


def test_a_module_returns_a_named_tuple():
    class Summary(gt.nn.Module):
        def forward(self, x: gt.Tensor) -> Stats:
            return Stats(x.sum() / x.numel(), x.numel())

    x = gt.arange(6.0)
    got = gt.jit.script(Summary())(x)
    same(got, Summary()(x))


def field_lost_in_merge(n: int, c: bool) -> int:
    p = Pair(n) if c else (n, 1.0)
    return p.a


def test_a_field_of_a_tuple_merged_with_a_plain_tuple_is_refused():
    with pytest.raises(ScriptError) as info:
        gt.jit.script(field_lost_in_merge)
    assert "has no attribute 'a'" in str(info.value).splitlines()[0]
    assert info.value.source_line.strip() == "return p.a"
