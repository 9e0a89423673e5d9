"""TorchScript's internal typing helpers that user code imports (``torch._jit_internal``):
``BroadcastingList1`` ... ``BroadcastingList6``.

``BroadcastingList2[int]`` annotates a parameter that takes an ``int`` or a list (or tuple) of
ints; in script a single value is broadcast to a list of 2 (``f(3)`` sees ``[3, 3]``), as the
``kernel_size`` / ``stride`` arguments of the functional API take them. In eager Python the
annotation changes nothing. The script compiler reads it (frontend/script/annotations.py): the
parameter's type is ``List[int]`` and the call converts the argument.
"""

from __future__ import annotations

_MAX_BROADCAST = 6


class _BroadcastingList:
    """``BroadcastingListN``: subscripted with an element type it gives a class (so typing's
    ``Optional[...]`` takes it) that carries ``(N, element type)`` as ``_gt_broadcast``."""

    def __init__(self, n: int):
        self.n = n
        self._made: dict = {}

    def __getitem__(self, elem):
        if elem not in self._made:
            name = f"BroadcastingList{self.n}[{getattr(elem, '__name__', elem)}]"
            self._made[elem] = type(name, (), {"_gt_broadcast": (self.n, elem)})
        return self._made[elem]

    def __repr__(self) -> str:
        return f"BroadcastingList{self.n}"


def broadcast_spec(obj) -> tuple[int, object] | None:
    """``(N, element type)`` of ``BroadcastingListN[T]``, else None."""
    spec = getattr(obj, "_gt_broadcast", None) if isinstance(obj, type) else None
    return spec if isinstance(spec, tuple) else None


BroadcastingList1 = _BroadcastingList(1)
BroadcastingList2 = _BroadcastingList(2)
BroadcastingList3 = _BroadcastingList(3)
BroadcastingList4 = _BroadcastingList(4)
BroadcastingList5 = _BroadcastingList(5)
BroadcastingList6 = _BroadcastingList(6)

BROADCASTING_LISTS = {f"BroadcastingList{n}": globals()[f"BroadcastingList{n}"]
                      for n in range(1, _MAX_BROADCAST + 1)}
