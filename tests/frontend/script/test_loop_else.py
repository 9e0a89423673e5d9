"""``for ... else`` / ``while ... else``: the else clause runs when the loop ends without
``break`` (also after zero iterations), never after a ``return``; a ``break`` / ``continue``
inside it belongs to the enclosing loop. Each scripted function is compared with Python on every
input (the random programs of test_control_flow_property.py add else clauses too)."""

from __future__ import annotations

import pytest

import graphtorch as gt
from graphtorch.errors import ScriptError
from graphtorch.ir.verifier import verify


def check(fn, inputs):
    sfn = gt.jit.script(fn)
    verify(sfn.graph)
    for args in inputs:
        got, want = sfn(*args), fn(*args)
        assert got == want and type(got) is type(want), (fn.__name__, args, got, want)
    return sfn


def for_range_else(n: int) -> int:
    t = 0
    for i in range(n):
        if i == 3:
            break
        t += i
    else:
        t += 100
    return t


def while_else_returns(n: int) -> int:
    i = 0
    while i < n:
        i += 1
        if i * i > 10:
            break
    else:
        return -1
    return i


def for_list_return_in_body_and_else(xs: list[int]) -> int:
    for x in xs:
        if x < 0:
            return x
    else:
        return 0


def nested_else_continues_outer(n: int) -> str:
    s = ""
    for i in range(n):
        for j in (1, 2, 3):          # unrolled: a tuple
            if j == i:
                break
        else:
            s += "e"
            continue
        s += str(i)
    return s


def else_breaks_outer(n: int) -> int:
    t = 0
    while t < 100:
        t += 1
        k = 0
        while k < t:
            k += 2
            if k == n:
                break
        else:
            break
    return t * 1000 + n


def else_without_break(n: int) -> int:
    t = 0
    for i in range(n):
        t += i
    else:
        t = -t
    return t


def else_assigns_new_name(n: int) -> int:
    for i in range(n):
        if i == 2:
            found = i * 10
            break
    else:
        found = -1
    return found


def enumerate_zip_else(xs: list[int], ys: list[int]) -> int:
    for k, (a, b) in enumerate(zip(xs, ys)):
        if a == b:
            return k
    else:
        if len(xs) > 2:
            return 100
    return -1


def while_true_break_else(n: int) -> int:
    i = 0
    while True:
        i += 1
        if i >= n:
            break
    else:
        i = -5      # never: a while True ends only by break
    return i


def test_for_range_else():
    check(for_range_else, [(0,), (2,), (3,), (5,)])


def test_while_else_returns():
    check(while_else_returns, [(0,), (3,), (4,), (9,)])


def test_return_in_body_and_else():
    check(for_list_return_in_body_and_else, [([],), ([1, 2],), ([1, -2, 3],)])


def test_else_continue_and_break_belong_to_the_enclosing_loop():
    check(nested_else_continues_outer, [(0,), (1,), (3,), (6,)])
    check(else_breaks_outer, [(0,), (2,), (3,), (6,), (8,)])


def test_else_without_break_always_runs():
    sfn = check(else_without_break, [(0,), (1,), (4,)])
    # no break: nothing is tracked, the else is straight-line code after the loop
    assert "prim::If" not in str(sfn.graph)


def test_name_first_assigned_before_break_is_refused_with_the_reason():
    # Python reads 'found' only on paths that assigned it; script, as for any name first
    # assigned inside a loop, does not carry it out of the loop
    with pytest.raises(ScriptError) as info:
        gt.jit.script(else_assigns_new_name)
    err = info.value
    assert str(err).splitlines()[0] == ("'found' may be undefined here: it is first assigned "
                                        "inside a loop, which may run zero times")
    assert err.source_line.strip() == "return found"
    assert "assign it before" in err.hint


def test_enumerate_zip_else():
    check(enumerate_zip_else, [([], []), ([1, 2], [3, 2]), ([1, 2, 3], [0, 0, 0]),
                               ([1, 2], [0, 0])])


def test_while_true_break_else():
    check(while_true_break_else, [(0,), (1,), (4,)])
