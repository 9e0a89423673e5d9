"""Scalar (int/float/bool/str/list/dict) operations that graphs compute outside tensors.

One table from IR kind (``prim::add`` ...) to its Python semantics and a one-line meaning: the
tracer and the script compiler emit these kinds; the interpreter, constant folding and DCE read
them here, so running a loaded graph never needs a frontend. Semantics are Python's, except
where noted (TorchScript semantics): ``prim::div`` is true division, ``prim::int`` truncates.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable


def _raise_index(kind: str, n: int, i: int):
    raise IndexError(f"{kind} index {i} out of range for length {n}")


def _list_get(lst: list, i: int):
    if not -len(lst) <= i < len(lst):
        _raise_index("list", len(lst), i)
    return lst[i]


def _list_set(lst: list, i: int, v) -> None:
    if not -len(lst) <= i < len(lst):
        _raise_index("list assignment", len(lst), i)
    lst[i] = v


def _dict_get(d: dict, k):
    try:
        return d[k]
    except KeyError:
        raise KeyError(f"key {k!r} is not in the dict") from None


def _range_length(start: int, stop: int, step: int) -> int:
    if step == 0:
        raise ValueError("range() arg 3 must not be zero")
    return len(range(start, stop, step))


def _int(x) -> int:
    return int(x.item()) if hasattr(x, "item") else int(x)


def _float(x) -> float:
    return float(x.item()) if hasattr(x, "item") else float(x)


def _bool(x) -> bool:
    if hasattr(x, "numel") and x.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(x.item()) if hasattr(x, "item") else bool(x)


def _format(template: str, *values) -> str:
    return template.format(*values)


def _size(t, dim: int | None = None):
    return list(t.shape) if dim is None else t.shape[dim]


def _floordiv(a, b):
    if b == 0:
        raise ZeroDivisionError("integer division or modulo by zero")
    return a // b


def _div(a, b) -> float:
    if b == 0:
        raise ZeroDivisionError("float division by zero")
    return a / b


def _list_pop(lst: list, i: int = -1):
    if not lst:
        raise IndexError("pop from empty list")
    return lst.pop(i)


# kind -> (function, one-line meaning)
_TABLE: dict[str, tuple[Callable, str]] = {
    # arithmetic on int / float (and bool as int); str and list concatenation for add/mul
    "prim::add": (operator.add, "a + b"),
    "prim::sub": (operator.sub, "a - b"),
    "prim::mul": (operator.mul, "a * b"),
    "prim::div": (_div, "a / b (true division: always float)"),
    "prim::floordiv": (_floordiv, "a // b"),
    "prim::mod": (operator.mod, "a % b (Python's sign rule)"),
    "prim::pow": (operator.pow, "a ** b"),
    "prim::neg": (operator.neg, "-a"),
    "prim::abs": (abs, "abs(a)"),
    "prim::min": (min, "min(a, b) or min(list)"),
    "prim::max": (max, "max(a, b) or max(list)"),
    "prim::bitand": (operator.and_, "a & b"),
    "prim::bitor": (operator.or_, "a | b"),
    "prim::bitxor": (operator.xor, "a ^ b"),
    "prim::lshift": (operator.lshift, "a << b"),
    "prim::rshift": (operator.rshift, "a >> b"),
    "prim::invert": (operator.invert, "~a"),
    # comparisons and logic
    "prim::eq": (operator.eq, "a == b"),
    "prim::ne": (operator.ne, "a != b"),
    "prim::lt": (operator.lt, "a < b"),
    "prim::le": (operator.le, "a <= b"),
    "prim::gt": (operator.gt, "a > b"),
    "prim::ge": (operator.ge, "a >= b"),
    "prim::not": (operator.not_, "not a"),
    "prim::is": (operator.is_, "a is b (used with None)"),
    "prim::is_not": (operator.is_not, "a is not b (used with None)"),
    "prim::in": (lambda a, b: a in b, "a in b (list, dict keys, str)"),
    "prim::not_in": (lambda a, b: a not in b, "a not in b"),
    # conversions and strings
    "prim::int": (_int, "int(a): truncates floats; a one-element tensor gives its value"),
    "prim::float": (_float, "float(a)"),
    "prim::bool": (_bool, "bool(a)"),
    "prim::str": (str, "str(a)"),
    "prim::format": (_format, "template.format(*values): f-strings and str.format"),
    "prim::len": (len, "len(a): list, tuple, dict, str, or a tensor's first dim"),
    "prim::range_length": (_range_length, "len(range(start, stop, step))"),
    # lists
    "prim::list_get": (_list_get, "lst[i]"),
    "prim::list_slice": (lambda lst, lo, hi, st: lst[lo:hi:st], "lst[lo:hi:step] (new list)"),
    "prim::list_copy": (list, "list(lst): a shallow copy"),
    "prim::list_set": (_list_set, "lst[i] = v (in place)"),
    "prim::list_append": (lambda lst, v: lst.append(v), "lst.append(v) (in place)"),
    "prim::list_extend": (lambda lst, v: lst.extend(v), "lst.extend(v) (in place)"),
    "prim::list_insert": (lambda lst, i, v: lst.insert(i, v), "lst.insert(i, v) (in place)"),
    "prim::list_pop": (_list_pop, "lst.pop(i) (in place)"),
    "prim::list_clear": (lambda lst: lst.clear(), "lst.clear() (in place)"),
    "prim::list_reverse": (lambda lst: lst.reverse(), "lst.reverse() (in place)"),
    "prim::list_index": (lambda lst, v: lst.index(v), "lst.index(v)"),
    "prim::list_count": (lambda lst, v: lst.count(v), "lst.count(v)"),
    "prim::sum": (sum, "sum(list) of ints/floats"),
    # dicts
    "prim::dict_get": (_dict_get, "d[k]"),
    "prim::dict_get_default": (lambda d, k, default: d.get(k, default), "d.get(k, default)"),
    "prim::dict_set": (lambda d, k, v: d.__setitem__(k, v), "d[k] = v (in place)"),
    "prim::dict_pop": (lambda d, k: d.pop(k), "d.pop(k) (in place)"),
    "prim::dict_keys": (lambda d: list(d.keys()), "list(d.keys())"),
    "prim::dict_values": (lambda d: list(d.values()), "list(d.values())"),
    "prim::dict_items": (lambda d: list(d.items()), "list(d.items()) as (key, value) tuples"),
    "prim::dict_update": (lambda d, o: d.update(o), "d.update(o) (in place)"),
    # tensor introspection: reads metadata of an eager Tensor, never its data (except item)
    "prim::size": (_size, "t.size() as int[] or t.size(dim) as int"),
    "prim::dim": (lambda t: t.dim(), "t.dim()"),
    "prim::numel": (lambda t: t.numel(), "t.numel()"),
    "prim::dtype": (lambda t: t.dtype, "t.dtype"),
    "prim::device": (lambda t: t.device, "t.device"),
    "prim::is_floating_point": (lambda t: t.is_floating_point(), "t.is_floating_point()"),
    "prim::requires_grad": (lambda t: t.requires_grad, "t.requires_grad"),
    "prim::item": (lambda t: t.item(), "t.item() as a Python number"),
    "prim::tolist": (lambda t: t.tolist(), "t.tolist()"),
    # math module
    "prim::math_sqrt": (math.sqrt, "math.sqrt(a)"),
    "prim::math_exp": (math.exp, "math.exp(a)"),
    "prim::math_log": (math.log, "math.log(a)"),
    "prim::math_floor": (math.floor, "math.floor(a) (an int)"),
    "prim::math_ceil": (math.ceil, "math.ceil(a) (an int)"),
    "prim::math_tanh": (math.tanh, "math.tanh(a)"),
    "prim::math_sin": (math.sin, "math.sin(a)"),
    "prim::math_cos": (math.cos, "math.cos(a)"),
}

# Kinds that change one of their inputs: never CSE'd, folded or removed by DCE.
MUTATING = frozenset({
    "prim::list_set", "prim::list_append", "prim::list_extend", "prim::list_insert",
    "prim::list_pop", "prim::list_clear", "prim::list_reverse", "prim::dict_set",
    "prim::dict_pop", "prim::dict_update",
})

DOCS: dict[str, str] = {kind: doc for kind, (_, doc) in _TABLE.items()}

SCALAR_OPS: dict[str, Callable] = {kind: fn for kind, (fn, _) in _TABLE.items()}
