"""Programs the script compiler must refuse, each with one problem (see test_errors.py)."""
# ruff: noqa: F821, B018, UP031, F841, B007, UP045 - each program is wrong or odd on purpose

from __future__ import annotations

from typing import Optional

import graphtorch as torch


def branch_types_differ(x, c: bool):
    if c:
        y = 1
    else:
        y = "a"
    return y


def maybe_undefined(x, c: bool):
    if c:
        y = x
    return y


def defined_in_loop_only(x, n: int):
    for i in range(n):
        y = x * i
    return y


def unknown_name(x):
    return x + missing_name


def bad_operand(x, s: str):
    return s - 1


def tuple_variable_index(x, i: int):
    t = (x, i)
    return t[i]


def string_indexing(x, s: str):
    return s["0"]


def percent_format(x, n: int):
    return n % "%d"


def range_as_value(x, n: int):
    r = range(n)
    return x


def wrong_return_annotation(x) -> int:
    return "text"


def annotated_mismatch(x):
    n: int = "three"
    return x


def loop_type_change(x, n: int):
    y = 0
    for i in range(n):
        y = "s"
    return x


def unknown_keyword(x):
    return torch.sum(x, dimension=1)


def too_many_arguments(x):
    return torch.relu(x, 1, 2)


def missing_argument(x):
    return torch.transpose(x, 0)


def tensor_has_no_method(x):
    return x.frobnicate()


def unpack_count(x):
    a, b = (x, x, x)
    return a


def not_callable(x, n: int):
    return n(x)


def python_class_call(x):
    return set([1, 2])


def recursive(x, n: int):
    if n == 0:
        return x
    return recursive(x, n - 1)


def optional_misuse(x, y: Optional[int] = None):
    return x + y
