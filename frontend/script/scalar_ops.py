"""Registers the scalar prim kinds (graphtorch.ops.scalar_ops) with their docs in the IR.

The table itself lives in ``graphtorch.ops.scalar_ops`` so that running or optimizing a loaded
graph never needs the script compiler.
"""

from __future__ import annotations

from graphtorch.ir.kinds import register_prim_kind
from graphtorch.ops.scalar_ops import DOCS, MUTATING, SCALAR_OPS

__all__ = ["DOCS", "MUTATING", "SCALAR_OPS"]

for _kind, _doc in DOCS.items():
    register_prim_kind(_kind, _doc, side_effects=_kind in MUTATING)
