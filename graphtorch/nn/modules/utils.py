"""``graphtorch.nn.modules.utils`` (``torch.nn.modules.utils``): the n-tuple helpers layers use
for their size arguments. In script each is a tuple of ``n`` copies of a number (a list or tuple
argument is passed through), as in eager code."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import repeat


def _ntuple(n: int, name: str = "parse"):
    def parse(x):
        if isinstance(x, Iterable) and not isinstance(x, str):
            return tuple(x)
        return tuple(repeat(x, n))

    parse.__name__ = parse.__qualname__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")

# the helpers the script compiler expands (function -> n)
NTUPLE_SIZES = {_single: 1, _pair: 2, _triple: 3, _quadruple: 4}


def _reverse_repeat_tuple(t, n: int) -> tuple:
    """``(a, b)`` with n=2 -> ``(b, b, a, a)``: the padding order of F.pad from a size tuple."""
    return tuple(x for x in reversed(t) for _ in range(n))


def _list_with_default(out_size, defaults) -> list:
    """``out_size`` with each None replaced by the matching trailing entry of ``defaults``."""
    if isinstance(out_size, int):
        return [out_size]
    if len(defaults) <= len(out_size):
        raise ValueError(f"Input dimension should be at least {len(out_size) + 1}")
    return [v if v is not None else d
            for v, d in zip(out_size, defaults[-len(out_size):])]
