"""Variable-length sequences (``torch.nn.utils.rnn``): ``PackedSequence``,
``pack_padded_sequence``, ``pad_packed_sequence``, ``pad_sequence``, ``pack_sequence``,
``unpad_sequence`` and ``unpack_sequence``.

A ``PackedSequence`` holds the steps of a batch of sequences sorted by decreasing length,
time-major: ``data`` rows ``[offset_t, offset_t + batch_sizes[t])`` are step ``t`` of the
``batch_sizes[t]`` sequences still running. ``sorted_indices[j]`` is the original batch position
of sorted sequence ``j``; ``unsorted_indices`` is its inverse. Packing and unpacking are one
``index_select`` each, so autograd flows through them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

import graphtorch
from graphtorch.tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pack_sequence",
           "pad_packed_sequence", "pad_sequence", "unpack_sequence", "unpad_sequence"]


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedFields):
    """``PackedSequence(data, batch_sizes, sorted_indices=None, unsorted_indices=None)``; build
    it with :func:`pack_padded_sequence` or :func:`pack_sequence`."""

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None, unsorted_indices: Tensor | None = None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            raise ValueError("PackedSequence needs batch_sizes; build it with "
                             "pack_padded_sequence or pack_sequence")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data`` converted by ``Tensor.to``; the index tensors follow its device."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        dev = data.device
        move = (lambda t: t if t is None else t.to(dev))
        return type(self)(data, self.batch_sizes, move(self.sorted_indices),
                          move(self.unsorted_indices))

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, device: Any = None) -> PackedSequence:
        return self.to("cuda" if device is None else device)

    def double(self) -> PackedSequence:
        return self.to(graphtorch.float64)

    def float(self) -> PackedSequence:
        return self.to(graphtorch.float32)

    def half(self) -> PackedSequence:
        return self.to(graphtorch.float16)

    def long(self) -> PackedSequence:
        return self.to(graphtorch.int64)

    def int(self) -> PackedSequence:
        return self.to(graphtorch.int32)

    @property
    def is_cuda(self) -> bool:
        return self.data.device.type == "cuda"

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation of ``0 .. n-1`` (``None`` stays ``None``)."""
    if permutation is None:
        return None
    perm = np.asarray(permutation.tolist(), dtype=np.int64)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size, dtype=np.int64)
    return graphtorch.tensor(inverse, device=permutation.device)


def _lengths_array(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        lengths = lengths.tolist()
    return np.asarray(list(lengths), dtype=np.int64).reshape(-1)


def packed_rows(batch_sizes: np.ndarray, order: np.ndarray, batch: int) -> np.ndarray:
    """Row of each packed step in the (T * B) flattening of the padded (T, B, *) tensor."""
    steps = np.repeat(np.arange(batch_sizes.size, dtype=np.int64), batch_sizes)
    starts = np.repeat(np.cumsum(batch_sizes) - batch_sizes, batch_sizes)
    within = np.arange(steps.size, dtype=np.int64) - starts
    return steps * batch + order[within]


def pack_padded_sequence(input: Tensor, lengths: Tensor | Sequence[int], batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences of
    the given ``lengths``; with ``enforce_sorted`` the lengths must be decreasing."""
    lens = _lengths_array(lengths)
    if enforce_sorted:
        if np.any(lens[:-1] < lens[1:]):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        order = np.arange(lens.size, dtype=np.int64)
        sorted_indices = None
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = graphtorch.tensor(order, device=input.device)
    if batch_first:
        input = input.transpose(0, 1)
    steps, batch = input.shape[0], input.shape[1]
    if lens.size != batch:
        raise ValueError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                         f"{lens.size} (batch_size={batch})")
    if lens.size and lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if lens.max() > steps:
        raise RuntimeError(f"Length {int(lens.max())} is longer than the padded input's "
                           f"{steps} steps")
    sorted_lens = lens[order]
    batch_sizes = (sorted_lens[None, :] > np.arange(int(sorted_lens[0]))[:, None]).sum(1)
    flat = packed_rows(batch_sizes, order, batch)
    rows = input.reshape((steps * batch,) + tuple(input.shape[2:]))
    data = rows.index_select(0, graphtorch.tensor(flat, device=input.device))
    return PackedSequence(data, graphtorch.tensor(batch_sizes.astype(np.int64)), sorted_indices,
                          invert_permutation(sorted_indices))


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None
                        ) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`pack_padded_sequence`: ``(padded, lengths)`` in the original batch
    order, padded to ``total_length`` steps when given."""
    data = sequence.data
    batch_sizes = np.asarray(sequence.batch_sizes.tolist(), dtype=np.int64)
    batch = int(batch_sizes[0])
    steps = batch_sizes.size
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
        steps = total_length
    order = (np.asarray(sequence.sorted_indices.tolist(), dtype=np.int64)
             if sequence.sorted_indices is not None else np.arange(batch, dtype=np.int64))
    flat = packed_rows(batch_sizes, order, batch)
    source = np.full(steps * batch, flat.size, dtype=np.int64)  # flat.size: the padding row
    source[flat] = np.arange(flat.size, dtype=np.int64)
    feature = tuple(data.shape[1:])
    pad = graphtorch.full((1,) + feature, padding_value, dtype=data.dtype, device=data.device)
    rows = graphtorch.cat([data, pad]).index_select(0, graphtorch.tensor(source,
                                                                          device=data.device))
    padded = rows.reshape((steps, batch) + feature)
    sorted_lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(1)
    lengths = np.empty(batch, dtype=np.int64)
    lengths[order] = sorted_lengths
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, graphtorch.tensor(lengths)


def pad_sequence(sequences: Sequence[Tensor] | Tensor, batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack ``sequences`` (each ``(L_i, *)``) into ``(max L, B, *)`` (``(B, max L, *)`` with
    ``batch_first``), filling with ``padding_value`` on ``padding_side``.

    >>> import graphtorch
    >>> from graphtorch.nn.utils.rnn import pad_sequence
    >>> pad_sequence([graphtorch.ones(2), graphtorch.ones(1)], batch_first=True)
    tensor([[1., 1.],
            [1., 0.]])
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    sequences = list(sequences.unbind(0) if isinstance(sequences, Tensor) else sequences)
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            fill = graphtorch.full([missing] + list(s.shape[1:]), padding_value, dtype=s.dtype,
                                   device=s.device)
            s = graphtorch.cat([s, fill] if padding_side == "right" else [fill, s])
        padded.append(s)
    return graphtorch.stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences ``(L_i, *)`` (decreasing lengths unless ``enforce_sorted`` is
    False)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor | Sequence[int],
                   batch_first: bool = False) -> list[Tensor]:
    """The list of sequences ``padded[:length_i, i]`` of a padded batch."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[i, :int(n)] for i, n in enumerate(_lengths_array(lengths))]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences of a ``PackedSequence``, in the original batch order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
