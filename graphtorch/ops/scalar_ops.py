"""Scalar (int/float/bool/str/list/dict) operations that graphs compute outside tensors.

One table from IR kind (``prim::add`` ...) to its Python semantics and a one-line meaning: the
tracer and the script compiler emit these kinds; the interpreter, constant folding and DCE read
them here, so running a loaded graph never needs a frontend. Semantics are Python's, except
where noted (TorchScript semantics): ``prim::div`` is true division, ``prim::int`` truncates.
"""

from __future__ import annotations

import cmath
import math
import operator
from collections.abc import Callable

from graphtorch import dtypes
from graphtorch.autograd import grad_mode
from graphtorch.device import device as Device
from graphtorch.dtypes import SCALAR_TYPE_NAMES
from graphtorch.ops.creation import tensor as _tensor


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


def _implicit_scalar(t, to_int: bool):
    """A 0-dim tensor where a number is declared (``annotate(float, t)``), as TorchScript
    converts it implicitly: no gradient, no dims, an integral dtype for an int."""
    if t.requires_grad:
        raise RuntimeError("Cannot input a tensor that requires grad as a scalar argument")
    if t.dim() != 0:
        raise RuntimeError("Cannot input a tensor of dimension other than 0 as a scalar argument")
    if to_int and (t.dtype.is_floating_point or t.dtype.is_complex or t.dtype.name == "bool"):
        name = SCALAR_TYPE_NAMES.get(t.dtype.name, t.dtype.name)
        raise RuntimeError(f"Cannot input a tensor of type {name} as an integral argument")
    return int(t.item()) if to_int else float(t.item())


def _index_tensor(lst: list, is_bool: bool):
    """A list of ints (or of bools) used as a tensor index: the index tensor eager makes of it
    (int64; a bool mask for bools; an empty list selects nothing)."""
    return _tensor(lst, dtype=dtypes.bool_ if is_bool else dtypes.int64)


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


def _list_remove(lst: list, v) -> None:
    try:
        lst.remove(v)
    except ValueError:
        raise ValueError("list.remove(x): x not in list") from None


def _list_index(lst: list, v) -> int:
    try:
        return lst.index(v)
    except ValueError:
        raise ValueError(f"{v!r} is not in list") from None


def _dict_popitem(d: dict):
    if not d:
        raise KeyError("popitem(): dictionary is empty")
    return d.popitem()


def _str_get(s: str, i: int) -> str:
    if not -len(s) <= i < len(s):
        _raise_index("string", len(s), i)
    return s[i]


def _tuple_item(t: tuple, i: int):
    if not -len(t) <= i < len(t):
        raise IndexError("tuple index out of range")
    return t[i]


def _chr(i: int) -> str:
    if not 0 <= i < 0x110000:
        raise ValueError("chr() arg not in range(0x110000)")
    return chr(i)


def _ord(c: str) -> int:
    if len(c) != 1:
        raise TypeError(f"ord() expected a character, but string of length {len(c)} found")
    return ord(c)


def _divmod(a, b) -> tuple:
    if b == 0:
        raise ZeroDivisionError("integer division or modulo by zero")
    return divmod(a, b)


def _percent(template: str, values: tuple) -> str:
    return template % values


# The str methods script compiles (a closed list: a name read from a file never reaches getattr).
STR_METHODS: dict[str, Callable] = {name: getattr(str, name) for name in (
    "upper", "lower", "strip", "lstrip", "rstrip", "split", "rsplit", "join", "startswith",
    "endswith", "find", "rfind", "replace", "count", "isdigit", "isalpha", "isalnum",
    "isspace", "islower", "isupper", "capitalize", "title", "swapcase", "center", "ljust",
    "rjust", "zfill", "partition", "rpartition", "splitlines", "index", "rindex",
    "expandtabs", "casefold", "istitle", "isdecimal", "isnumeric", "isidentifier",
    "isprintable")}


def _str_method(s: str, name: str, *args):
    fn = STR_METHODS.get(name)
    if fn is None:
        raise RuntimeError(f"str has no method {name!r} in script")
    return fn(s, *args)


_KIND_TESTS: dict[str, Callable] = {
    "int": lambda v: isinstance(v, int), "float": lambda v: isinstance(v, float),
    "complex": lambda v: isinstance(v, complex),
    "bool": lambda v: isinstance(v, bool), "str": lambda v: isinstance(v, str),
    "NoneType": lambda v: v is None, "list": lambda v: isinstance(v, list),
    "dict": lambda v: isinstance(v, dict), "tuple": lambda v: isinstance(v, tuple),
    "Any": lambda v: True, "Scalar": lambda v: isinstance(v, (int, float, complex)),
    "Tensor": lambda v: any(c.__name__ == "Tensor" for c in type(v).__mro__),
    "Device": lambda v: type(v).__name__ == "device",
    "ScalarType": lambda v: type(v).__name__ == "dtype",
}


def _as_device(v):
    """A ``device`` parameter's argument: a str is converted (as TorchScript does at the call)."""
    return Device(v) if isinstance(v, str) else v


def _broadcast_list(v, n: int, floats: bool):
    """A ``BroadcastingListN`` parameter's argument as a list: one value repeated ``n`` times,
    a tuple's items, a list itself (None stays None, for an Optional one); ``floats``: the
    items of a ``float`` one are floats (an int argument converted, as for a float parameter)."""
    if v is None:
        return v
    if floats and (not isinstance(v, list) or any(type(x) is int for x in v)):
        items = v if isinstance(v, (list, tuple)) else [v] * n
        return [float(x) if type(x) is int else x for x in items]
    if isinstance(v, list):
        return v
    return list(v) if isinstance(v, tuple) else [v] * n


def _class_test(kind: str) -> Callable | None:
    """``Enum<module.Qualname>``: the value's class has that module and qualified name."""
    if not (kind.startswith("Enum<") and kind.endswith(">")):
        return None
    name = kind[5:-1]
    return lambda v: f"{type(v).__module__}.{type(v).__qualname__}" == name


def _parse_spec(spec: str, i: int = 0) -> tuple[list, int]:
    """``int|list[tuple[str,Tensor]]`` -> alternatives, each (kind, [argument specs])."""
    alts = []
    while True:
        j = i
        while j < len(spec) and spec[j] not in "[],|":
            j += 1
        kind, args = spec[i:j], []
        if j < len(spec) and spec[j] == "[":
            j += 1
            while True:
                arg, j = _parse_spec(spec, j)
                args.append(arg)
                if spec[j] == "]":
                    j += 1
                    break
                j += 1   # ','
        alts.append((kind, args))
        if j < len(spec) and spec[j] == "|":
            i = j + 1
            continue
        return alts, j


def _conforms(v, alts: list) -> bool:
    for kind, args in alts:
        test = _KIND_TESTS.get(kind) or _class_test(kind)
        if test is None or not test(v):
            continue
        if not args:
            return True
        if kind == "list" and all(_conforms(x, args[0]) for x in v):
            return True
        if kind == "dict" and all(_conforms(k, args[0]) and _conforms(x, args[1])
                                  for k, x in v.items()):
            return True
        if kind == "tuple" and len(v) == len(args) and all(
                _conforms(x, a) for x, a in zip(v, args)):
            return True
    return False


def _isinstance(v, spec: str) -> bool:
    """isinstance(v, spec): ``spec`` names kinds of _KIND_TESTS joined by '|', containers with
    their item specs in brackets (``list[int]``, ``dict[str,Tensor]``, ``tuple[int,str]``);
    items are checked one by one, so an empty container passes."""
    return _conforms(v, _parse_spec(spec)[0])


def _checked_cast(v, spec: str):
    if not _isinstance(v, spec):
        raise TypeError(f"expected a value of type {spec}, but got {type(v).__name__}: {v!r}")
    return v


def _unwrap_optional(x, message: str):
    if x is None:
        raise AssertionError(message)
    return x


def _complex(real=0, imag=0) -> complex:
    """complex(a, b) of numbers or one-element tensors (their values)."""
    return complex(real.item() if hasattr(real, "item") else real,
                   imag.item() if hasattr(imag, "item") else imag)


def _grad_mode_set(enabled: bool) -> bool:
    prev = grad_mode.STATE.enabled
    grad_mode.STATE.enabled = bool(enabled)
    return prev


def _grad_mode_restore(prev: bool) -> None:
    grad_mode.STATE.enabled = prev


def _zip(*lists) -> list:
    return [tuple(t) for t in zip(*lists)]


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
    "prim::implicit_scalar": (_implicit_scalar, "a 0-dim tensor as an int (to_int) or float, "
                                                "checked as TorchScript's implicit conversion"),
    "prim::bool": (_bool, "bool(a)"),
    "prim::str": (str, "str(a)"),
    "prim::format": (_format, "template.format(*values): f-strings and str.format"),
    "prim::len": (len, "len(a): list, tuple, dict, str, or a tensor's first dim"),
    "prim::str_get": (_str_get, "s[i]: a one-character string"),
    "prim::tuple_item": (_tuple_item, "t[i] with i known at run time (items of one type)"),
    "prim::str_slice": (lambda s, lo, hi, st: s[lo:hi:st], "s[lo:hi:step]"),
    "prim::percent_format": (_percent, "template % (values...): printf-style formatting"),
    "prim::str_method": (_str_method, "s.<name>(...) for a str method of STR_METHODS"),
    "prim::isinstance_of": (_isinstance, "isinstance(a, kinds): kinds a '|'-joined list of int, "
                                      "float, bool, str, NoneType, Tensor, list, dict, tuple"),
    "prim::checked_cast": (_checked_cast, "v, checked against the spec of isinstance_of "
                                          "(TypeError when it does not conform)"),
    "prim::unwrap_optional": (_unwrap_optional, "x, or AssertionError(message) when None"),
    "prim::as_device": (_as_device, "a device parameter: a str naming one becomes the device"),
    "prim::broadcast_list": (_broadcast_list, "a BroadcastingListN parameter: a value, or a "
                                              "tuple, becomes a list (of N values)"),
    "prim::enum_name": (lambda e: e.name, "e.name of an Enum member"),
    "prim::dtype_name": (lambda d: d.name, "d.name of a dtype (graphtorch's: 'float32' ...)"),
    "prim::enum_value": (lambda e: e.value, "e.value of an Enum member"),
    "prim::complex": (_complex, "complex(real, imag) of numbers or one-element tensors"),
    "prim::complex_real": (lambda z: z.real, "z.real of a complex"),
    "prim::complex_imag": (lambda z: z.imag, "z.imag of a complex"),
    "prim::chr": (_chr, "chr(i)"),
    "prim::ord": (_ord, "ord(c)"),
    "prim::hash": (hash, "hash(a) of an int, float, bool or str"),
    "prim::bin": (bin, "bin(i)"),
    "prim::hex": (hex, "hex(i)"),
    "prim::oct": (oct, "oct(i)"),
    "prim::round": (round, "round(a) (an int) or round(a, ndigits)"),
    "prim::divmod": (_divmod, "divmod(a, b) as a (quotient, remainder) tuple"),
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
    "prim::list_count": (lambda lst, v: lst.count(v), "lst.count(v)"),
    "prim::list_sort": (lambda lst, reverse: lst.sort(reverse=reverse),
                        "lst.sort(reverse=r) (in place)"),
    "prim::list_remove": (_list_remove, "lst.remove(v) (in place; ValueError when absent)"),
    "prim::list_index": (_list_index, "lst.index(v) (ValueError when absent)"),
    "prim::sum": (sum, "sum(list) of ints/floats"),
    "prim::sum_start": (lambda lst, start: sum(lst, start), "sum(list, start)"),
    "prim::sorted": (lambda lst, reverse: sorted(lst, reverse=reverse),
                     "sorted(lst, reverse=r): a new sorted list"),
    "prim::reversed": (lambda lst: lst[::-1], "list(reversed(lst)): a new list"),
    "prim::any": (any, "any(lst)"),
    "prim::all": (all, "all(lst)"),
    "prim::zip": (_zip, "list(zip(a, b, ...)) as tuples"),
    "prim::enumerate": (lambda lst, start: list(enumerate(lst, start)),
                        "list(enumerate(lst, start)) as (int, item) tuples"),
    "prim::to_dict": (dict, "dict(pairs) from a list of (key, value) tuples"),
    # dicts
    "prim::dict_get": (_dict_get, "d[k]"),
    "prim::dict_get_default": (lambda d, k, default: d.get(k, default), "d.get(k, default)"),
    "prim::dict_set": (lambda d, k, v: d.__setitem__(k, v), "d[k] = v (in place)"),
    "prim::dict_pop": (lambda d, k: d.pop(k), "d.pop(k) (in place)"),
    "prim::dict_keys": (lambda d: list(d.keys()), "list(d.keys())"),
    "prim::dict_values": (lambda d: list(d.values()), "list(d.values())"),
    "prim::dict_items": (lambda d: list(d.items()), "list(d.items()) as (key, value) tuples"),
    "prim::dict_update": (lambda d, o: d.update(o), "d.update(o) (in place)"),
    "prim::dict_copy": (dict, "dict(d) / d.copy(): a shallow copy"),
    "prim::dict_clear": (lambda d: d.clear(), "d.clear() (in place)"),
    "prim::dict_popitem": (_dict_popitem, "d.popitem() (in place): the last (key, value)"),
    "prim::dict_setdefault": (lambda d, k, v: d.setdefault(k, v),
                              "d.setdefault(k, v) (in place)"),
    "prim::dict_pop_default": (lambda d, k, v: d.pop(k, v), "d.pop(k, default) (in place)"),
    # tensor introspection: reads metadata of an eager Tensor, never its data (except item)
    "prim::size": (_size, "t.size() as int[] or t.size(dim) as int"),
    "prim::dim": (lambda t: t.dim(), "t.dim()"),
    "prim::numel": (lambda t: t.numel(), "t.numel()"),
    "prim::dtype": (lambda t: t.dtype, "t.dtype"),
    "prim::device": (lambda t: t.device, "t.device"),
    "prim::device_type": (lambda d: d.type, "d.type of a device: 'cpu' or 'cuda'"),
    "prim::device_index": (lambda d: d.index, "d.index of a device (None for cpu)"),
    "prim::is_floating_point": (lambda t: t.is_floating_point(), "t.is_floating_point()"),
    "prim::is_complex": (lambda t: t.is_complex(), "t.is_complex()"),
    "prim::element_size": (lambda t: t.element_size(), "t.element_size(): bytes per element"),
    "prim::requires_grad": (lambda t: t.requires_grad, "t.requires_grad"),
    "prim::grad": (lambda t: t.grad, "t.grad (None until a backward fills it)"),
    "prim::detach": (lambda t: t.detach(), "t.detach() / t.data: the same storage, no gradient"),
    "prim::is_cuda": (lambda t: t.is_cuda, "t.is_cuda"),
    "prim::is_leaf": (lambda t: t.is_leaf, "t.is_leaf"),
    "prim::item": (lambda t: t.item(), "t.item() as a Python number"),
    "prim::tolist": (lambda t: t.tolist(), "t.tolist()"),
    "prim::index_tensor": (_index_tensor, "x[lst] with lst an int[] or bool[] known at run time: "
                                          "its index tensor (int64, or a bool mask)"),
    # grad mode (``with no_grad():`` in script; the caller restores it when the body raises)
    "prim::grad_mode_set": (_grad_mode_set, "set grad mode to a bool; returns the previous mode"),
    "prim::grad_mode_restore": (_grad_mode_restore, "restore the grad mode grad_mode_set saved"),
    "prim::is_grad_enabled": (grad_mode.is_grad_enabled, "is_grad_enabled(): the current mode"),
    # math module
    "prim::math_sqrt": (math.sqrt, "math.sqrt(a)"),
    "prim::math_exp": (math.exp, "math.exp(a)"),
    "prim::math_log": (math.log, "math.log(a)"),
    "prim::math_floor": (math.floor, "math.floor(a) (an int)"),
    "prim::math_ceil": (math.ceil, "math.ceil(a) (an int)"),
    "prim::math_tanh": (math.tanh, "math.tanh(a)"),
    "prim::math_sin": (math.sin, "math.sin(a)"),
    "prim::math_cos": (math.cos, "math.cos(a)"),
    # cmath module: complex results (phase: a float, isinf/isnan/isfinite: a bool)
    **{f"prim::cmath_{name}": (getattr(cmath, name), f"cmath.{name}(z)") for name in (
        "log", "log10", "sqrt", "exp", "sin", "cos", "tan", "asin", "acos", "atan", "sinh",
        "cosh", "tanh", "asinh", "acosh", "atanh", "phase", "isinf", "isnan", "isfinite")},
    "prim::cmath_rect": (cmath.rect, "cmath.rect(r, phi): r * (cos(phi) + 1j * sin(phi))"),
}

# Kinds that change one of their inputs: never CSE'd, folded or removed by DCE.
MUTATING = frozenset({
    "prim::list_set", "prim::list_append", "prim::list_extend", "prim::list_insert",
    "prim::list_pop", "prim::list_clear", "prim::list_reverse", "prim::dict_set",
    "prim::dict_pop", "prim::dict_update", "prim::list_sort", "prim::list_remove",
    "prim::dict_clear", "prim::dict_popitem", "prim::dict_setdefault", "prim::dict_pop_default",
    "prim::grad_mode_set", "prim::grad_mode_restore", "prim::is_grad_enabled",
})

DOCS: dict[str, str] = {kind: doc for kind, (_, doc) in _TABLE.items()}

SCALAR_OPS: dict[str, Callable] = {kind: fn for kind, (fn, _) in _TABLE.items()}
