"""Regressions from issue 10: early return / break / continue used to give wrong results (or
hang); each scripted function must equal plain Python on every input."""

from __future__ import annotations

import pytest

import graphtorch as torch
from graphtorch.ir.verifier import verify


def nested_if_return(x: int):
    s = ""
    if x > 3:
        if x > 4:
            return 1, s
        s += "a"
    s += "b"
    return 7, s


def break_in_both_branches(n: int):
    a = 0
    for i in range(n):
        if i % 2 == 0:
            a += 1
            break
        else:
            a += 2
            break
        a += 100
    return a


def break_then_break(n: int):
    a = 0
    for i in range(n):
        a += 3
        if i == 4:
            a += 10
            break
        a -= 1
        break
    return a


def break_after_if_in_loop(n: int):
    a = 0
    for i in range(n):
        if i == 4:
            a += 10
            break
        a -= 1
    return a


def return_in_outer_loop_after_inner(n: int):
    a = 0
    for i in range(n):
        for j in range(i):
            a += j
            if a > 7:
                break
        if a > 3:
            return a, i
    return -1, n


def while_return_or_break(x: int):
    y = 0
    while x > 0:
        y += 1
        if y > 2:
            return y
        else:
            x -= 1
            break
    return -y


def while_return_or_break_loops(x: int):
    y = 0
    while x > 0:
        y += 1
        if x % 3 == 0:
            return y
        elif x % 3 == 1:
            x -= 2
            continue
        else:
            x -= 1
            if y > 5:
                break
        y += 10
    return -y


def continue_in_nested_if(n: int):
    s = ""
    for i in range(n):
        if i % 2 == 0:
            if i % 4 == 0:
                continue
            s += "x"
        s += str(i)
    return s


def return_in_while_in_for(n: int):
    t = 0
    for i in range(n):
        j = 0
        while j < i:
            j += 1
            t += j
            if t > 10:
                return t, i, j
    return t, n, -1


def return_from_both_branches_then_dead_code(x: int):
    if x > 0:
        return x
    else:
        return -x


CASES = [nested_if_return, break_in_both_branches, break_then_break, break_after_if_in_loop,
         return_in_outer_loop_after_inner, while_return_or_break, while_return_or_break_loops,
         continue_in_nested_if, return_in_while_in_for, return_from_both_branches_then_dead_code]


@pytest.mark.parametrize("fn", CASES, ids=[f.__name__ for f in CASES])
def test_early_exits_match_python(fn):
    sf = torch.jit.script(fn)
    verify(sf.graph)
    for x in range(-2, 12):
        assert sf(x) == fn(x), (fn.__name__, x)


def exits_in_unrolled_tuple_loops(x: int):
    a = 0
    s = ""
    for v in (x, x - 3, 3):
        if v == 2:
            continue
        a += v
        for k in (1, 2):
            if a > 5:
                break
            s += str(k)
        if a > 8:
            return a, s
        if v < 0:
            break
        s += "v"
    return -a, s


def test_exits_in_unrolled_tuple_loops_match_python():
    sf = torch.jit.script(exits_in_unrolled_tuple_loops)
    verify(sf.graph)
    for x in range(-4, 12):
        assert sf(x) == exits_in_unrolled_tuple_loops(x), x


def fall_off_the_end(x: int):
    for i in range(x):
        if i > 2:
            return i


def test_a_path_that_falls_off_the_end_returns_none():
    sf = torch.jit.script(fall_off_the_end)
    assert [sf(x) for x in range(6)] == [fall_off_the_end(x) for x in range(6)]


def loops_forever_unless_it_returns(n: int):
    i = 0
    while True:
        i += 3
        if i > n:
            return i


def test_while_true_without_break_never_falls_through():
    sf = torch.jit.script(loops_forever_unless_it_returns)
    assert "int?" not in str(sf.graph)          # no None path: the result stays int
    assert [sf(n) for n in range(8)] == [loops_forever_unless_it_returns(n) for n in range(8)]
