"""An ``op::`` node's inputs as the arguments of a call of its registry op.

A node lists every schema argument positionally, keyword-only ones included (``layer_norm``'s
``eps``, ``sum``'s ``dtype``); a call passes those by keyword. Every runner of op nodes (the
interpreter, the code generators, constant folding, decomposition, autodiff) splits the inputs
here, so they agree on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from graphtorch.ops.registry import OpDef

V = TypeVar("V")


def split_op_inputs(op: OpDef, values: Sequence[V]) -> tuple[tuple[V, ...], dict[str, V]]:
    """``(args, kwargs)`` for calling ``op`` with a node's input ``values`` (schema order):
    the positional schema arguments, then the keyword-only ones by name (empty when none)."""
    binder = op.binder
    npos = binder.n_positional
    names = binder.names
    return tuple(values[:npos]), {names[i]: values[i] for i in range(npos, len(values))}
