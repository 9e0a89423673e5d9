"""A call the compiler cannot see into (an ``@ignore``'d Python function) may change in place what
it is handed: reads of that tensor or list before and after the call are different values.

Before the fix, CSE merged ``e.sum()`` before and after ``mutate(e, ...)`` and constant folding
turned ``len(l)`` after ``push(l, 3)`` into the length before it: right on the first (profiling)
call, wrong from the second call on, once the optimized plan ran."""

from __future__ import annotations

import pytest

import graphtorch as gt
from graphtorch.passes.cse import mutates_containers, mutates_tensors


@gt.jit.ignore
def mutate(x: gt.Tensor, y: gt.Tensor) -> gt.Tensor:
    x.copy_(y)
    return x


@gt.jit.ignore
def push(values: list[int], v: int) -> None:
    values.append(v)


def sums_around_the_call(a, b):
    e = a.exp() * 2
    g = e.sum()
    mutate(e, a * b)
    return e.sin() + g, e.sum()


def the_same_expression_around_the_call(a, b):
    e = a.exp() * 2
    f = e.sin()
    mutate(e, a * b)
    return e.sin() + f


def list_length_around_the_call(a, b):
    values = [1, 2]
    n = len(values)
    push(values, 3)
    return a * n + len(values) + b


def in_place_in_script(a, b):
    e = a.exp() * 2
    g = e.sum()
    e.copy_(a * b)
    return e.sin() + g, e.sum()


@pytest.mark.parametrize("fn", [sums_around_the_call, the_same_expression_around_the_call,
                                list_length_around_the_call, in_place_in_script])
def test_reads_around_an_opaque_call_see_its_writes(fn):
    scripted = gt.jit.script(fn)
    gt.manual_seed(0)
    a, b = gt.rand(3), gt.rand(3)
    for _ in range(4):              # the first calls profile; later ones run the optimized plan
        got, want = scripted(a, b), fn(a, b)
        got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
        for x, y in zip(got, want, strict=True):
            assert gt.allclose(x, y), (fn.__name__, x, y)


def pure(a, b):
    return a.exp().sum() + b.sum()


def test_an_opaque_call_handed_a_tensor_or_list_counts_as_a_mutation():
    assert mutates_tensors(gt.jit.script(sums_around_the_call).graph)
    assert not mutates_containers(gt.jit.script(sums_around_the_call).graph)
    assert mutates_containers(gt.jit.script(list_length_around_the_call).graph)


def test_a_graph_without_writes_or_opaque_calls_mutates_nothing():
    g = gt.jit.script(pure).graph
    assert not mutates_tensors(g)
    assert not mutates_containers(g)
