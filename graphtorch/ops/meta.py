"""Meta values: what an op knows about a tensor without its data (dtype, shape, device).

Shape entries are ``int`` (known), ``str`` (a symbol such as ``"B"``, the same size wherever it
appears) or ``None`` (unknown). Meta rules take TensorMeta where the op takes tensors and return
TensorMeta (or a tuple of them).
"""

from __future__ import annotations

from dataclasses import dataclass

from graphtorch import dtypes
from graphtorch.device import CPU, device
from graphtorch.errors import ShapeError

Dim = int | str | None


@dataclass(frozen=True)
class TensorMeta:
    dtype: dtypes.dtype
    shape: tuple[Dim, ...]
    device: device = CPU

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def with_(self, dtype=None, shape=None) -> TensorMeta:
        return TensorMeta(dtype or self.dtype, self.shape if shape is None else tuple(shape),
                          self.device)


def meta_of(x) -> TensorMeta:
    """The TensorMeta of an eager Tensor (or a TensorMeta itself)."""
    if isinstance(x, TensorMeta):
        return x
    return TensorMeta(x.dtype, tuple(x.shape), x.device)


def broadcast_dims(a: Dim, b: Dim) -> Dim:
    if a == 1:
        return b
    if b == 1 or a == b:
        return a
    if isinstance(a, int) and isinstance(b, int):
        raise ShapeError(f"size {a} and size {b} cannot be broadcast together")
    if isinstance(a, int):
        return a
    if isinstance(b, int):
        return b
    return None


def broadcast_shapes(*shapes) -> tuple[Dim, ...]:
    """PyTorch broadcasting over shapes that may hold symbols or unknown sizes."""
    n = max((len(s) for s in shapes), default=0)
    out: list[Dim] = [1] * n
    for s in shapes:
        off = n - len(s)
        for i, d in enumerate(s):
            try:
                out[off + i] = broadcast_dims(out[off + i], d)
            except ShapeError:
                shown = ", ".join(str(list(x)) for x in shapes)
                raise ShapeError(f"shapes {shown} cannot be broadcast: size {out[off + i]} vs "
                                 f"{d} at dimension {off + i - n}") from None
    return tuple(out)


def normalize_dim(dim: int, ndim: int, op: str = "") -> int:
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= dim <= hi:
        where = f"{op}: " if op else ""
        raise IndexError(f"{where}Dimension out of range (expected to be in range of [{lo}, {hi}],"
                         f" but got {dim})")
    return dim % max(ndim, 1)


def normalize_dims(dims, ndim: int, op: str = "") -> tuple[int, ...]:
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, int):
        dims = (dims,)
    out = tuple(normalize_dim(d, ndim, op) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {list(dims)} appears multiple times in the list of dims")
    return out


def numel(shape) -> int | None:
    n = 1
    for d in shape:
        if not isinstance(d, int):
            return None
        n *= d
    return n
