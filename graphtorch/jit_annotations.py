"""``graphtorch.jit.annotations`` (``torch.jit.annotations``): the names TorchScript code imports
for its annotations -- typing's ``Any``, ``List``, ``Dict``, ``Tuple``, ``Optional``, ``Union``
and the ``BroadcastingList1`` ... ``BroadcastingList6`` of graphtorch._jit_internal."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, Union  # noqa: UP035 - re-exported

from graphtorch._jit_internal import (
    BroadcastingList1,
    BroadcastingList2,
    BroadcastingList3,
    BroadcastingList4,
    BroadcastingList5,
    BroadcastingList6,
)

__all__ = ["Any", "Dict", "List", "Optional", "Tuple", "Union", "BroadcastingList1",
           "BroadcastingList2", "BroadcastingList3", "BroadcastingList4", "BroadcastingList5",
           "BroadcastingList6"]
