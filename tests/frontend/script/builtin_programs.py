# ruff: noqa: UP006, UP031, UP032, UP035, UP045 - TorchScript spellings (typing, % and format)
"""Programs for test_builtins_language.py: builtins, container methods, isinstance and the
graphtorch.jit typing helpers, each run eagerly and scripted (same inputs) and compared."""

# NOTE: no `from __future__ import annotations`: make_enclosed needs evaluated annotations
from typing import Any, Dict, List, Optional, Tuple

import graphtorch
import graphtorch.jit


def signature_comment(x, y=None):
    # type: (int, Optional[int]) -> int
    if y is None:
        return x * 10
    return x + y


def signature_comment_same_line(a, b):  # type: (List[int], float) -> float
    return a[0] * b


def per_argument_comments(n,  # type: int
                          s,  # type: str
                          ):
    # type: (...) -> str
    return s * n


def make_enclosed():
    from typing import Dict as D  # noqa: PLC0415 - the point: a name only this scope has

    def enclosed(d: D[str, int], k: str) -> int:
        return d[k] + 1

    return enclosed


def dict_keywords(x: int) -> Dict[str, int]:
    return dict(foo=1, bar=x)


def dict_from_pairs(keys: List[str], vals: List[int]) -> Dict[str, int]:
    d = dict(zip(keys, vals))
    e = dict(d, extra=7)
    d["only_d"] = 0
    return e


def isinstance_any(x: Any) -> Tuple[bool, bool, bool, bool]:
    return (isinstance(x, int), isinstance(x, float), isinstance(x, graphtorch.Tensor),
            isinstance(x, (str, int)))


def isinstance_scalar(t: graphtorch.Tensor) -> Tuple[bool, bool]:
    s = t.item()
    return isinstance(s, float), isinstance(s, int)


def isinstance_branch(x: Any) -> int:
    if isinstance(x, int):
        return 1
    elif isinstance(x, graphtorch.Tensor):
        return 2
    return 3


def jit_helpers(x: Optional[int]) -> Tuple[List[int], Dict[str, float], int, bool]:
    xs = graphtorch.jit.annotate(List[int], [])
    d = graphtorch.jit.annotate(Dict[str, float], {})
    xs.append(4)
    d["a"] = 1.5
    y = graphtorch.jit._unwrap_optional(x)
    return xs, d, y * 2, graphtorch.jit.isinstance(xs, List[int])


def number_builtins(i: int, f: float) -> Tuple[int, str, int, int, float, int, float]:
    return hash(i), chr(i + 60), ord("q"), pow(i, 2), pow(f, 0.5), round(f), round(f, 1)


def divmod_and_bases(i: int, j: int, f: float):
    return divmod(i, j), divmod(f, 0.75), bin(i), hex(i), oct(j)


def list_builtins(xs: List[int]) -> Tuple[List[int], List[int], bool, bool, int, int]:
    return sorted(xs), sorted(xs, reverse=True), any([x > 3 for x in xs]), \
        all([x > 0 for x in xs]), sum(xs), sum(xs, 100)


def zip_enumerate_tuple(xs: List[int], names: List[str]):
    pairs = list(zip(names, xs))
    numbered = list(enumerate(names, 1))
    return pairs, numbered, tuple((xs[0], names[0])), list("ab"), list(reversed(xs))


def list_methods(xs: List[int]) -> Tuple[List[int], int, int]:
    ys = xs.copy()
    ys.sort()
    ys.remove(2)
    ys.insert(1, 42)
    ys.reverse()
    return ys, ys.index(42), ys.count(5)


def list_sort_reverse(xs: List[float]) -> List[float]:
    xs.sort(reverse=True)
    return xs


def dict_methods(d: Dict[str, int]) -> Tuple[int, Tuple[str, int], int, int, Dict[str, int]]:
    e = d.copy()
    got = e.setdefault("z", 26)
    again = e.setdefault("z", 0)
    last = e.popitem()
    missing = e.pop("nope", -1)
    d.clear()
    return got + again, last, missing, len(d), e


def str_methods(s: str) -> Tuple[List[str], str, str, bool, int, str]:
    return s.split(","), s.upper(), "-".join(s.split(",")), s.startswith("a"), s.find("b"), \
        s.strip("a")


def dict_update(d: Dict[str, int], o: Dict[str, int]) -> Dict[str, int]:
    d.update(o)
    return d


def remove_missing(xs: List[int]) -> List[int]:
    xs.remove(99)
    return xs


def unwrap_none(x: Optional[int]) -> int:
    return graphtorch.jit._unwrap_optional(x)


def chr_out_of_range(i: int) -> str:
    return chr(i)


# --- refused, each with a caret and a hint --------------------------------------------------------

def abs_no_args(x: int) -> int:
    return abs()


def sum_no_args(x: int) -> int:
    return sum()


def sorted_key(xs: List[int]) -> List[int]:
    return sorted(xs, key=abs)


def tuple_of_list(xs: List[int]):
    return tuple(xs)


def signature_comment_wrong_count(a, b):
    # type: (int) -> int
    return a + b


def signature_comment_unknown_type(a):
    # type: (NoSuchType) -> int
    return a


def percent_format(i: int, s: str, f: float) -> Tuple[str, str, str]:
    return "%d and %s" % (i, s), "%.3f|%5d|%-4s|" % (f, i, s), "%x" % i


def str_format_specs(i: int, f: float, s: str) -> Tuple[str, str]:
    return "{:>6.2f}|{:04d}|{!r}".format(f, i, s), f"{f:.1e} {i:+d} {s:^7}"


def string_indexing(s: str, i: int) -> Tuple[str, str, str, str]:
    return s[i], s[-1], s[1:4], s[::-2]


def slice_builtin(xs: List[int], t: graphtorch.Tensor, n: int):
    return xs[slice(1, None)], xs[slice(n)], xs[slice(0, None, 2)], t[slice(1, 3)], \
        t[:, slice(0, 1)]


def tuple_by_variable(t: Tuple[int, int, int]) -> List[int]:
    out: List[int] = []
    for i in range(3):
        out.append(t[i] * 10)
    return out


def long_sum(x: int) -> int:
    return (x + 1 + x + 2 + x + 3 + x + 4 + x + 5 + x + 6 + x + 7 + x + 8 + x + 9 + x + 10 + x
            + 11 + x + 12 + x + 13 + x + 14 + x + 15 + x + 16 + x + 17 + x + 18 + x + 19 + x + 20
            + x + 21 + x + 22 + x + 23 + x + 24 + x + 25 + x + 26 + x + 27 + x + 28 + x + 29 + x
            + 30 + x + 31 + x + 32 + x + 33 + x + 34 + x + 35 + x + 36 + x + 37 + x + 38 + x + 39
            + x + 40 + x + 41 + x + 42 + x + 43 + x + 44 + x + 45 + x + 46 + x + 47 + x + 48 + x)


def string_index_out_of_range(s: str) -> str:
    return s[10]


def tuple_mixed_by_variable(t: Tuple[int, str], i: int):
    return t[i]


def isinstance_any_container(x: Any) -> Tuple[bool, bool, bool]:
    return graphtorch.jit.isinstance(x, List[int]), \
        graphtorch.jit.isinstance(x, Dict[str, Tuple[int, str]]), \
        graphtorch.jit.isinstance(x, Tuple[int, str])


def annotate_tolist(x: graphtorch.Tensor) -> List[List[float]]:
    return graphtorch.jit.annotate(List[List[float]], x.tolist())


def annotate_tolist_wrong(x: graphtorch.Tensor) -> List[int]:
    return graphtorch.jit.annotate(List[int], x.tolist())


def where_method(x: graphtorch.Tensor, y: graphtorch.Tensor) -> graphtorch.Tensor:
    return x.where(x > 0.0, y)


def tuple_slices(t: Tuple[int, str, float]):
    return t[1:], t[::-1], t[:-1]


def comment_without_return(flag, xs):
    # type: (bool, List[Tensor])
    if flag:
        return xs[0] + 1
    return xs[-1]


def list_and_ellipsis_index(x: graphtorch.Tensor) -> Tuple[graphtorch.Tensor, graphtorch.Tensor,
                                                           graphtorch.Tensor]:
    return x[:, :, [0, 1]], x[1, Ellipsis, 0], x[[True, False, True]]


def tuple_concat(t: Tuple[int, float], x: graphtorch.Tensor):
    return t + (3,) + (x, "s")


def string_iteration(s: str) -> Tuple[List[str], int]:
    out: List[str] = []
    vowels = 0
    for c in s:
        out.append(c.upper())
        if c in "aeiou":
            vowels += 1
    return out, vowels


def tensor_attributes(x: graphtorch.Tensor):
    return x.cpu() * 2, x.is_cuda, x.is_leaf, x.grad is None


def device_keywords():
    return graphtorch.device(type="cpu"), graphtorch.device(type="cuda", index=1)


def device_bad_keyword():
    return graphtorch.device(flavor="cpu")


def complex_scalars(r: int, i: float, b: bool, z: complex, zs: List[complex],
                    d: Dict[complex, complex]):
    c = complex(r, i) + complex(b, r) * z - 2j
    return c, c == z, c != z, z / (1 + 2j), abs(z), sum(zs), d[z], z.real, z.imag, \
        complex(2), -zs[0] ** 2


def complex_from_tensor(t: graphtorch.Tensor, y: float) -> complex:
    return complex(t, y) + complex(2)


def complex_ordering(a: complex, b: complex) -> complex:
    return a // b


def jit_isinstance_refines(x: Optional[int]) -> int:
    if graphtorch.jit.isinstance(x, int):
        return x + 1
    return 0
