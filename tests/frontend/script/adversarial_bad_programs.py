"""Programs the script compiler must refuse with a precise message (see test_adversarial.py):
each is valid Python whose scripted meaning would differ from eager, or is out of scope."""
# ruff: noqa: F841, B007, UP006, UP035, UP045, SIM108, PLW0120 - each program is odd on purpose

from __future__ import annotations

from typing import List, Optional

import graphtorch as torch


def or_returns_operand(x, a: int, b: int):
    return a or b


def and_with_tensor_operand(x, c: bool):
    ok = c and x.sum()
    return ok


def tuple_arity_differs(x, c: bool):
    if c:
        return x, x
    return x, x, x


def tuple_arity_differs_in_loop(x, n: int):
    for i in range(n):
        if i > 2:
            return x, i
    return x, 0, 0


def ternary_types_differ(x, c: bool):
    return 1 if c else "one"


def defined_in_branch_inside_loop(x, n: int):
    for i in range(n):
        if i > 1:
            y = x * i
    return y


def defined_in_one_branch_of_elif(x, a: int):
    if a > 0:
        y = x
    elif a < 0:
        y = -x
    return y


def defined_in_while_body(x, n: int):
    while n > 0:
        z = x * n
        n -= 1
    return z


def _ping(x, n: int):
    if n > 0:
        return _pong(x, n - 1)
    return x


def _pong(x, n: int):
    return _ping(x, n)


def mutual_recursion(x):
    return _ping(x, 3)


def map_builtin(x, a: float):
    return x + sum(map(abs, [a]))


def str_encode_method(x, parts: List[str]):
    return ",".encode("ascii")


def tensor_from_runtime_list(x, xs: List[float]):
    return torch.tensor(xs)


def bound_method_as_value(x):
    f = x.relu
    return f


def optional_used_unrefined(x, y: Optional[torch.Tensor]):
    return x + y


def isinstance_arity(x):
    if isinstance(x):
        return x
    return x


def enumerate_bad_keyword(x, xs: List[int]):
    s = 0
    for i, v in enumerate(xs, begin=1):
        s += i * v
    return x + s


def list_sort_order_type(x, xs: List[int]):
    ys = sorted(xs, key=abs)
    return x, ys


def tuple_indexed_by_variable(x, i: int):
    t = (1, "2", 3)
    return x + t[i]
