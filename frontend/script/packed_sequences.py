"""``nn.utils.rnn``'s packing functions called from script.

``pack_padded_sequence``, ``pack_sequence``, ``pad_packed_sequence``, ``unpack_sequence`` and
``unpad_sequence`` work on NumPy lengths and Python lists: script calls them as they are (a
``prim::PythonOp``: eager's values, and its gradients through the eager tape), typed as TorchScript
types them. A ``PackedSequence`` is the NamedTuple ``(data, batch_sizes, sorted_indices?,
unsorted_indices?)``; the objects these functions make are passed between them unchanged.
"""

from __future__ import annotations

from graphtorch.ir import types as T
from graphtorch.nn.utils import rnn


def packing_result_types(packed: T.Type) -> dict:
    """The function -> result type table (``packed``: the PackedSequence type)."""
    return {rnn.pack_padded_sequence: packed, rnn.pack_sequence: packed,
            rnn.pad_packed_sequence: T.TupleType((T.TENSOR, T.TENSOR)),
            rnn.unpack_sequence: T.ListType(T.TENSOR),
            rnn.unpad_sequence: T.ListType(T.TENSOR)}
