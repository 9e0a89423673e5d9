"""``nn.utils.rnn``'s packing functions called from script.

``pack_padded_sequence``, ``pack_sequence``, ``pad_packed_sequence``, ``unpack_sequence`` and
``unpad_sequence`` work on NumPy lengths and Python lists: script calls them as they are (a
``prim::PythonOp``: eager's values, and its gradients through the eager tape), typed as TorchScript
types them. A ``PackedSequence`` is the NamedTuple ``(data, batch_sizes, sorted_indices?,
unsorted_indices?)``; the objects these functions make are passed between them unchanged.
"""

from __future__ import annotations

import functools

from graphtorch.frontend.script.annotations import type_from_python
from graphtorch.ir import types as T
from graphtorch.nn.utils import rnn

_PACKED = (rnn.pack_padded_sequence, rnn.pack_sequence)
_TENSOR_PAIR = (rnn.pad_packed_sequence,)
_TENSOR_LISTS = (rnn.unpack_sequence, rnn.unpad_sequence)
PACKING_FUNCTIONS = frozenset(_PACKED + _TENSOR_PAIR + _TENSOR_LISTS)


@functools.cache
def _packed_type() -> T.Type:
    return type_from_python(rnn.PackedSequence)


def packing_result_type(fn) -> T.Type:
    """The result type of ``fn``, one of :data:`PACKING_FUNCTIONS`."""
    if fn in _PACKED:
        return _packed_type()
    if fn in _TENSOR_PAIR:
        return T.TupleType((T.TENSOR, T.TENSOR))
    return T.ListType(T.TENSOR)
