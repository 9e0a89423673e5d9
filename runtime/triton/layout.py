"""How a kernel reads each input: broadcast strides, collapsed dims and an access kind.

The kernel walks the flattened (C-order) broadcast output. Each tensor input gets its strides in
the output's dims (0 where it broadcasts); dims of size 1 are dropped and neighbours that every
operand steps through contiguously are merged, so most inputs end up as a plain ``offs`` load (or
one scalar load) and only genuinely strided ones pay for index arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from graphtorch.errors import ShapeError


class Access(Enum):
    CONTIGUOUS = "c"   # element i of the output reads element i of the input
    SCALAR = "s"       # one element broadcast everywhere
    STRIDED = "g"      # anything else: unravel the flat index over the collapsed dims


@dataclass(frozen=True)
class Layout:
    sizes: tuple[int, ...]                  # collapsed output dims
    strides: tuple[tuple[int, ...], ...]    # per tensor input, in elements, over ``sizes``
    access: tuple[Access, ...]
    numel: int
    wide_index: bool                        # int64 offsets (an extent reaches 2**31)


def element_strides(shape: tuple[int, ...], byte_strides: tuple[int, ...],
                    itemsize: int) -> tuple[int, ...]:
    out = []
    for n, s in zip(shape, byte_strides):
        if s % itemsize:
            raise ShapeError(f"strides {byte_strides} are not multiples of the item size "
                             f"{itemsize}; copy the array first")
        out.append(0 if n == 1 else s // itemsize)
    return tuple(out)


def plan_layout(out_shape: tuple[int, ...], inputs: list[tuple[tuple[int, ...],
                tuple[int, ...]]]) -> Layout:
    """``inputs``: (shape, element strides) of each tensor input, broadcastable to out_shape."""
    nd = len(out_shape)
    full = []
    for shape, strides in inputs:
        if len(shape) > nd:
            raise ShapeError(f"input of shape {list(shape)} has more dims than the output "
                             f"{list(out_shape)}")
        pad = nd - len(shape)
        st = [0] * pad + [0 if n == 1 else s for n, s in zip(shape, strides)]
        for d, n in enumerate(shape):
            if n not in (1, out_shape[pad + d]):
                raise ShapeError(f"input of shape {list(shape)} does not broadcast to "
                                 f"{list(out_shape)}")
        full.append(st)
    keep = [d for d in range(nd) if out_shape[d] != 1]
    sizes = [out_shape[d] for d in keep]
    strides = [[st[d] for d in keep] for st in full]
    # merge dim d into d + 1 when every input steps through both as one (the output always does)
    d = len(sizes) - 2
    while d >= 0:
        if all(st[d] == st[d + 1] * sizes[d + 1] for st in strides):
            sizes[d] *= sizes[d + 1]
            del sizes[d + 1]
            for st in strides:
                st[d] = st[d + 1]
                del st[d + 1]
        d -= 1
    contiguous, acc = [], 1
    for n in reversed(sizes):
        contiguous.insert(0, acc)
        acc *= n
    access = []
    for st in strides:
        if all(s == 0 for s in st):
            access.append(Access.SCALAR)
        elif st == contiguous:
            access.append(Access.CONTIGUOUS)
        else:
            access.append(Access.STRIDED)
    numel = math.prod(out_shape)
    extent = max([numel] + [sum(abs(s) * (n - 1) for s, n in zip(st, sizes)) + 1
                            for st in strides])
    return Layout(tuple(sizes), tuple(tuple(st) for st in strides), tuple(access), numel,
                  extent >= 2**31 - 2**16)
