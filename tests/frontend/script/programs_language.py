"""Scripted programs, part 1: the Python language subset (scalars, control flow, containers,
strings, calls). Each entry: (function, list of argument tuples); ``R(*shape)`` is a fresh random
tensor. tests/frontend/script/test_programs.py runs each scripted and eager and compares."""
# ruff: noqa: UP006, UP035, UP045, UP032, B007 - typing's spellings and plain Python are what
# the compiler must accept, so the programs keep them

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import graphtorch as torch
from graphtorch.frontend.script import ignore


def R(*shape):
    return torch.randn(*shape)


# --- arithmetic and scalars -------------------------------------------------------------------
def int_arith(x, a: int, b: int):
    return x * (a + b * 2 - a // 3 + a % 4 - (-b) ** 2)


def float_arith(x, a: float):
    return x + a / 3.0 - a * 2.5 + a ** 2


def int_float_mix(x, a: int, b: float):
    c = a * b + a
    return x * c, c


def true_division_of_ints(x, a: int, b: int):
    return x + a / b


def bit_ops(x, a: int, b: int):
    return x + ((a & b) | (a ^ b)) + (a << 2) - (b >> 1) + (~a)


def bool_logic(x, a: bool, b: bool):
    if (a and not b) or (b and not a):
        return x + 1
    return x - 1


def unary_minus_plus(x, a: int):
    b = -a
    c = +a
    return x * b + c


def math_module(x, a: float):
    return x + math.sqrt(abs(a)) + math.exp(a / 10) + math.floor(a) + math.ceil(a) + math.pi


def builtins_min_max_abs(x, a: int, b: int):
    return x + min(a, b) * max(a, b) + abs(a - b)


def conversions(x, a: float):
    i = int(a)
    f = float(i)
    b = bool(i)
    return x + i + f + int(b), str(i)


def number_item(x):
    s = x.sum().item()
    return x - s


# --- if / elif / else -------------------------------------------------------------------------
def if_elif_else(x, a: int):
    if a < 0:
        y = x - 1
    elif a == 0:
        y = x
    elif a < 5:
        y = x + a
    else:
        y = x * a
    return y


def if_tensor_condition(x):
    if x.mean() > 0:
        y = x.relu()
    else:
        y = -x
    return y


def nested_if(x, a: int, b: int):
    if a > 0:
        if b > 0:
            return x + 1
        else:
            return x + 2
    else:
        if b > 0:
            return x + 3
    return x + 4


def early_return(x, a: int):
    if a > 2:
        return x * 2
    x = x + 1
    if a > 0:
        return x
    return -x


def ternary(x, a: int):
    return x + 1 if a > 0 else x - 1


def ternary_scalar(x, a: int):
    b = a * 2 if a % 2 == 0 else a * 3
    return x + b


def chained_comparison(x, a: int):
    if 0 <= a < 3:
        return x + 1
    elif a == 3:
        return x - 1
    else:
        return x * 0


def chained_comparison_three(x, a: int, b: int):
    if 0 < a <= b < 10:
        return x + a + b
    return x


def not_operator(x, a: int):
    if not a > 3:
        return x + 1
    return x


def short_circuit(x, items: List[int]):
    if len(items) > 0 and items[0] > 2:
        return x + items[0]
    return x


def optional_refine(x, y: Optional[int] = None):
    if y is not None:
        return x + y
    return x


def optional_refine_else(x, y: Optional[int] = None):
    if y is None:
        z = 0
    else:
        z = y * 2
    return x + z


def optional_and_refine(x, y: Optional[int] = None):
    if y is not None and y > 2:
        return x * y
    return x


def optional_tensor(x, bias: Optional[torch.Tensor] = None):
    out = x * 2
    if bias is not None:
        out = out + bias
    return out


def optional_default_return(x, a: int) -> Optional[int]:
    if a > 0:
        return a
    return None


def is_scripting_branch(x):
    if torch.jit.is_scripting():
        return x + 1
    return x + 1


def isinstance_check(x, a: int):
    if isinstance(a, int):
        return x + a
    return x


# --- loops ------------------------------------------------------------------------------------
def for_range(x, n: int):
    for i in range(n):
        x = x + i
    return x


def for_range_start_stop_step(x, a: int, b: int):
    s = 0
    for i in range(a, b, 2):
        s += i
    return x + s


def for_range_negative_step(x, a: int):
    s = []
    for i in range(a, 0, -1):
        s.append(i)
    return x + len(s), s


def while_loop(x, n: int):
    i = 0
    while i < n:
        x = x * 2
        i += 1
    return x


def while_tensor_condition(x):
    steps = 0
    while x.abs().max() > 1:
        x = x / 2
        steps += 1
    return x, steps


def loop_break_continue(x, n: int):
    s = 0
    for i in range(n):
        if i % 2 == 0:
            continue
        s += i
        if s > 10:
            break
    return x * s


def while_break(x, n: int):
    i = 0
    while True:
        i += 1
        if i >= n:
            break
    return x + i


def nested_loops(x, n: int, m: int):
    total = 0
    for i in range(n):
        for j in range(m):
            if j > i:
                break
            total += i * j
    return x + total


def loop_over_list(x, items: List[int]):
    for v in items:
        x = x + v
    return x


def loop_over_tuple(x):
    for t in (1, 2, 3):
        x = x * t
    return x


def loop_over_tensor(x):
    acc = torch.zeros(4)
    for row in x:
        acc = acc + row
    return acc


def enumerate_loop(x, items: List[float]):
    s = 0.0
    for i, v in enumerate(items):
        s += i * v
    return x + s


def zip_loop(x, a: List[int], b: List[int]):
    s = 0
    for u, v in zip(a, b):
        s += u * v
    return x + s


def loop_carried_tensor_and_int(x, n: int):
    h = torch.zeros(3, 4)
    count = 0
    for i in range(n):
        h = torch.tanh(h + x)
        count += 1
    return h, count


def return_inside_loop(x, n: int):
    for i in range(n):
        if x[i % 3].sum() > 0.5:
            return x * i
    return x


def return_inside_nested_loop(x, n: int):
    for i in range(n):
        for j in range(n):
            if i * j == 4:
                return x + i + j
    return x - 1


def return_inside_while(x, n: int):
    i = 0
    while i < n:
        if i == 3:
            return x * 3
        i += 1
    return x


def loop_zero_trips(x, n: int):
    y = x
    for i in range(n):
        y = y + 1
    return y


def fib(x, n: int):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return x + a, a


# --- unpacking and assignment -----------------------------------------------------------------
def tuple_unpack(x):
    a, (b, c) = x, (x + 1, x * 2)
    return a + b + c


def swap(x, a: int, b: int):
    a, b = b, a
    return x * a - b


def augmented_assign(x, a: int):
    y = x
    y += 1
    y *= 2
    y -= a
    y /= 2
    b = a
    b //= 2
    b %= 3
    b **= 2
    return y, b


def multiple_targets(x):
    a = b = x + 1
    return a * b


def annotated_locals(x, n: int):
    total: float = 0
    names: List[str] = []
    for i in range(n):
        total += i * 0.5
        names.append(str(i))
    return x + total, names


def tuple_index(x):
    t = (x, x + 1, 5)
    return t[1] * t[-1]


def return_tuple(x):
    return x, x * 2, 3


# --- lists, dicts, strings, comprehensions ----------------------------------------------------
def list_ops(x, n: int):
    xs: List[int] = []
    for i in range(n):
        xs.append(i * i)
    xs.insert(0, 7)
    xs.extend([1, 2])
    last = xs.pop()
    xs.reverse()
    return x + len(xs) + last, xs


def list_index_and_slice(x, items: List[int]):
    head = items[0]
    tail = items[1:]
    rev = items[::-1]
    return x + head + sum(tail), rev, items[-2:]


def list_set_item(x, items: List[int]):
    items[0] = 10
    items[-1] = items[-1] * 2
    return x + items[0], items


def list_contains(x, items: List[int], a: int):
    if a in items:
        return x + 1
    if a not in items:
        return x - 1
    return x


def list_concat_and_repeat(x, a: List[int]):
    b = a + [5, 6]
    c = [0] * 3
    return x + len(b) + len(c), b + c


def list_of_tensors(x, n: int):
    outs: List[torch.Tensor] = []
    for i in range(n):
        outs.append(x * i)
    total = torch.zeros(3, 4)
    for t in outs:
        total = total + t
    return total, len(outs)


def list_min_max_sum(x, items: List[int]):
    return x + min(items) + max(items) + sum(items)


def list_comprehension(x, n: int):
    xs = [i * 2 for i in range(n) if i != 1]
    return x + len(xs), xs


def nested_comprehension(x, n: int):
    pairs = [i * 10 + j for i in range(n) for j in range(i) if j % 2 == 0]
    return x + len(pairs), pairs


def comprehension_over_tensor_list(x, n: int):
    parts = [x * (i + 1) for i in range(n)]
    return torch.stack(parts).sum(0) if n > 0 else x


def dict_ops(x, n: int):
    d: Dict[str, int] = {}
    for i in range(n):
        d[str(i)] = i * i
    total = 0
    for k in d.keys():
        total += d[k]
    return x + total + len(d), d.get("1", -1)


def dict_literal_items(x):
    d = {"a": 1, "b": 2}
    s = 0
    for k, v in d.items():
        s += v * len(k)
    return x + s, sorted_keys(list(d.keys()))


def sorted_keys(keys: List[str]) -> List[str]:
    return keys


def dict_comprehension(x, n: int):
    d = {i: i * i for i in range(n)}
    return x + len(d), d


def dict_of_tensors(x):
    d: Dict[str, torch.Tensor] = {"double": x * 2, "neg": -x}
    return d["double"] + d["neg"]


def fstring(x, n: int):
    return x, f"n={n} half={n / 2} list={[n, n]}"


def string_format_method(x, name: str, n: int):
    return x, "{} has {} items".format(name, n)


def string_concat(x, a: str):
    b = a + "_suffix"
    return x + len(b), b


def string_compare(x, mode: str):
    if mode == "double":
        return x * 2
    elif mode != "neg":
        return x
    return -x


# --- errors become runtime raises -------------------------------------------------------------
def assert_passes(x, n: int):
    assert n >= 0, "n must be non-negative"
    return x + n


def raise_in_untaken_branch(x, n: int):
    if n > 100:
        raise ValueError("n is too large")
    return x + n


# --- calls ------------------------------------------------------------------------------------
def helper_add(a, b, scale: float = 1.0):
    return (a + b) * scale


def calls_helper(x):
    return helper_add(x, x) + helper_add(x, x * 0.5, scale=2.0)


def helper_loop(x, n: int):
    for _ in range(n):
        x = helper_add(x, x, 0.5)
    return x


def calls_helper_in_loop(x, n: int):
    return helper_loop(x, n) - 1


def helper_tuple(x) -> Tuple[torch.Tensor, int]:
    return x * 2, 3


def calls_tuple_helper(x):
    y, k = helper_tuple(x)
    return y + k


@ignore
def eager_only(x):
    return x * 3


def calls_ignored(x):
    return eager_only(x) + 1


def print_call(x, n: int):
    print("value of n:", n)
    return x + n


LANGUAGE = [
    (int_arith, [(3, 5), (7, 2), (0, 1)]),
    (float_arith, [(1.5,), (-2.0,)]),
    (int_float_mix, [(2, 0.5), (-3, 1.25)]),
    (true_division_of_ints, [(7, 2), (1, 4)]),
    (bit_ops, [(12, 10), (5, 3)]),
    (bool_logic, [(True, False), (True, True), (False, False)]),
    (unary_minus_plus, [(3,), (-4,)]),
    (math_module, [(2.5,), (-3.7,)]),
    (builtins_min_max_abs, [(3, 9), (-4, 2)]),
    (conversions, [(2.7,), (-1.2,), (0.0,)]),
    (number_item, [()]),
    (if_elif_else, [(-2,), (0,), (3,), (8,)]),
    (if_tensor_condition, [(), ()]),
    (nested_if, [(1, 1), (1, -1), (-1, 1), (-1, -1)]),
    (early_return, [(3,), (1,), (-1,)]),
    (ternary, [(1,), (-1,)]),
    (ternary_scalar, [(2,), (3,)]),
    (chained_comparison, [(1,), (3,), (9,)]),
    (chained_comparison_three, [(1, 2), (3, 2), (5, 12)]),
    (not_operator, [(1,), (5,)]),
    (short_circuit, [([],), ([1],), ([5, 1],)]),
    (optional_refine, [(None,), (4,)]),
    (optional_refine_else, [(None,), (3,)]),
    (optional_and_refine, [(None,), (1,), (5,)]),
    (optional_default_return, [(1,), (-1,)]),
    (is_scripting_branch, [()]),
    (isinstance_check, [(2,)]),
    (for_range, [(0,), (4,)]),
    (for_range_start_stop_step, [(1, 9), (4, 3), (-3, 6)]),
    (for_range_negative_step, [(5,), (0,)]),
    (while_loop, [(0,), (3,)]),
    (loop_break_continue, [(3,), (7,), (20,)]),
    (while_break, [(1,), (5,)]),
    (nested_loops, [(3, 3), (4, 2), (0, 5)]),
    (loop_over_list, [([1, 2, 3],), ([],)]),
    (loop_over_tuple, [()]),
    (enumerate_loop, [([1.0, 2.0, 3.5],), ([],)]),
    (zip_loop, [([1, 2, 3], [4, 5]), ([], [1])]),
    (loop_carried_tensor_and_int, [(0,), (3,)]),
    (return_inside_loop, [(0,), (3,), (6,)]),
    (return_inside_nested_loop, [(2,), (3,), (5,)]),
    (return_inside_while, [(2,), (5,)]),
    (loop_zero_trips, [(0,), (2,)]),
    (fib, [(0,), (1,), (10,)]),
    (tuple_unpack, [()]),
    (swap, [(1, 2), (5, -3)]),
    (augmented_assign, [(3,), (10,)]),
    (multiple_targets, [()]),
    (annotated_locals, [(0,), (3,)]),
    (tuple_index, [()]),
    (return_tuple, [()]),
    (list_ops, [(0,), (4,)]),
    (list_index_and_slice, [([1, 2, 3, 4],), ([9, 8],)]),
    (list_set_item, [([1, 2, 3],), ([5],)]),
    (list_contains, [([1, 2, 3], 2), ([1, 2, 3], 5)]),
    (list_concat_and_repeat, [([1],), ([],)]),
    (list_of_tensors, [(0,), (3,)]),
    (list_min_max_sum, [([3, 1, 2],), ([-5],)]),
    (list_comprehension, [(1,), (5,)]),
    (nested_comprehension, [(0,), (4,)]),
    (comprehension_over_tensor_list, [(0,), (3,)]),
    (dict_ops, [(0,), (3,)]),
    (dict_literal_items, [()]),
    (dict_comprehension, [(0,), (4,)]),
    (dict_of_tensors, [()]),
    (fstring, [(1,), (5,)]),
    (string_format_method, [("xs", 3)]),
    (string_concat, [("abc",), ("",)]),
    (string_compare, [("double",), ("neg",), ("other",)]),
    (assert_passes, [(0,), (3,)]),
    (raise_in_untaken_branch, [(5,)]),
    (calls_helper, [()]),
    (calls_helper_in_loop, [(0,), (3,)]),
    (calls_tuple_helper, [()]),
    (calls_ignored, [()]),
    (print_call, [(2,)]),
]

# the first argument of every language program is this tensor
LANGUAGE_INPUT = (3, 4)
