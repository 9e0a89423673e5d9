"""``graphtorch.return_types``: the named tuples of ops returning (values, indices), as in PyTorch.

``x.max(dim)`` returns ``graphtorch.return_types.max(values=..., indices=...)``; it unpacks and
indexes like a tuple and exposes ``.values`` / ``.indices``.
"""

from __future__ import annotations

from collections import namedtuple

__all__ = ["max", "min", "sort", "topk", "kthvalue", "mode", "median", "aminmax"]


def _make(name: str, fields: tuple[str, ...]) -> type:
    base = namedtuple(name, fields)

    def __repr__(self) -> str:  # noqa: N807 - the namedtuple protocol
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"graphtorch.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                               "__module__": "graphtorch.return_types"})
    return cls


max = _make("max", ("values", "indices"))  # noqa: A001 - PyTorch's name
min = _make("min", ("values", "indices"))  # noqa: A001 - PyTorch's name
sort = _make("sort", ("values", "indices"))
topk = _make("topk", ("values", "indices"))
kthvalue = _make("kthvalue", ("values", "indices"))
mode = _make("mode", ("values", "indices"))
median = _make("median", ("values", "indices"))
aminmax = _make("aminmax", ("min", "max"))
