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

import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

import graphtorch
from graphtorch.ops.dispatch import TracerWarning, active_tracer
from graphtorch.tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pack_sequence",
           "pad_packed_sequence", "pad_sequence", "unpack_sequence", "unpad_sequence"]

_LIST_WARNING = ("pack_padded_sequence has been called with a Python list of sequence lengths. "
                 "The tracer cannot track the data flow of Python values, and it will treat them "
                 "as constants, likely rendering the trace incorrect for any other combination "
                 "of lengths.")


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
    """The inverse of a permutation of ``0 .. n-1`` (``None`` stays ``None``); tensor ops
    only, so a trace keeps it a function of the permutation."""
    if permutation is None:
        return None
    return permutation.argsort()


def _as_int(t: Tensor) -> int:
    """``int(t)`` of a one-element tensor; while tracing, a graph int (``prim::int``) so the
    trace reads it at run time instead of freezing it."""
    tracer = active_tracer()
    value = int(np.asarray(t._data).reshape(-1)[0])
    if tracer is None or not tracer.recording():
        return value
    return tracer.record_scalar("prim::int", [t], value)


def _lengths_tensor(lengths) -> Tensor:
    if isinstance(lengths, Tensor):
        return lengths.to(graphtorch.int64)
    if active_tracer() is not None:
        warnings.warn(_LIST_WARNING, TracerWarning, stacklevel=3)
    return graphtorch.tensor(np.asarray(list(lengths), dtype=np.int64).reshape(-1))


def _check_lengths(lens: np.ndarray, steps: int, batch: int, enforce_sorted: bool) -> None:
    if lens.size != batch:
        raise ValueError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                         f"{lens.size} (batch_size={batch})")
    if enforce_sorted and np.any(lens[:-1] < lens[1:]):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                           "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                           "to pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    if lens.size and lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if lens.size and lens.max() > steps:
        raise RuntimeError(f"Length {int(lens.max())} is longer than the padded input's "
                           f"{int(steps)} steps")


def step_mask(lengths: Tensor, steps) -> Tensor:
    """``(steps, B)`` bool: step ``t`` of sequence ``b`` exists (``t < lengths[b]``)."""
    return graphtorch.arange(steps, device=lengths.device).unsqueeze(1) < lengths.unsqueeze(0)


def pack_padded_sequence(input: Tensor, lengths: Tensor | Sequence[int], batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences of
    the given ``lengths``; with ``enforce_sorted`` the lengths must be decreasing.

    Only tensor ops on ``lengths``: a trace keeps a lengths tensor as a graph input (a Python
    list of lengths is frozen into the trace, with a TracerWarning as in PyTorch)."""
    lengths = _lengths_tensor(lengths)
    batch_dim = 0 if batch_first else 1
    _check_lengths(np.asarray(lengths._data).reshape(-1), input._data.shape[1 - batch_dim],
                   input._data.shape[batch_dim], enforce_sorted)
    sorted_indices = None
    if not enforce_sorted:
        lengths, sorted_indices = graphtorch.sort(lengths, descending=True, stable=True)
        sorted_indices = sorted_indices.to(input.device)
        input = input.index_select(batch_dim, sorted_indices)
    if batch_first:
        input = input.transpose(0, 1)
    data, batch_sizes = pack_sorted(input, lengths)
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pack_sorted(input: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """``(data, batch_sizes)`` of a time-major ``(T, B, *)`` batch whose ``lengths`` decrease:
    the packed rows are the existing steps in (step, batch) order, one ``index_select``."""
    mask = step_mask(lengths, input.shape[0])
    rows = mask.flatten().nonzero().squeeze(1)
    data = input.flatten(0, 1).index_select(0, rows)
    batch_sizes = mask.sum(1)
    batch_sizes = batch_sizes.index_select(0, (batch_sizes > 0).nonzero().squeeze(1))
    return data, batch_sizes.to("cpu")


def pad_sorted(data: Tensor, batch_sizes: Tensor, padding_value: float,
                total_length: int | None) -> tuple[Tensor, Tensor]:
    """``(padded (T, B, *), lengths)`` in the packed (sorted) batch order."""
    batch = _as_int(batch_sizes[0])
    steps = batch_sizes.shape[0]
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {int(steps)}")
        if total_length > steps:
            batch_sizes = graphtorch.cat([batch_sizes, graphtorch.zeros(
                total_length - steps, dtype=batch_sizes.dtype, device=batch_sizes.device)])
        steps = total_length
    # (T, B): sequence b runs at step t when b < batch_sizes[t]
    mask = graphtorch.arange(batch, device=batch_sizes.device).unsqueeze(0) \
        < batch_sizes.unsqueeze(1)
    flat = mask.flatten()
    # the packed row of each present (t, b), in (step, batch) order; absent ones read padding
    n = data.shape[0]
    source = graphtorch.where(flat, flat.cumsum(0) - 1, graphtorch.full_like(flat, n,
                                                                             dtype=graphtorch.int64))
    feature = tuple(data.shape[1:])
    pad = graphtorch.full((1,) + feature, padding_value, dtype=data.dtype, device=data.device)
    rows = graphtorch.cat([data, pad]).index_select(0, source.to(data.device))
    return rows.reshape((steps, batch) + feature), mask.sum(0)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None
                        ) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`pack_padded_sequence`: ``(padded, lengths)`` in the original batch
    order, padded to ``total_length`` steps when given."""
    padded, lengths = pad_sorted(sequence.data, sequence.batch_sizes, padding_value,
                                  total_length)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths.index_select(0, sequence.unsorted_indices.to(lengths.device))
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, lengths


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
    # NOTE: written in the script subset (no generator expressions): graphtorch.jit.script
    # compiles it when a scripted function calls it with a List[Tensor]
    if isinstance(sequences, Tensor):
        seqs = sequences.unbind(0)
    else:
        seqs = list(sequences)
    if len(seqs) == 0:
        raise RuntimeError("received an empty list of sequences")
    longest = 0
    for s in seqs:
        longest = max(longest, s.shape[0])
    padded = []
    for s in seqs:
        missing = longest - s.shape[0]
        if missing > 0:
            fill = graphtorch.full([missing] + list(s.shape[1:]), padding_value, dtype=s.dtype,
                                   device=s.device)
            s = graphtorch.cat([s, fill] if padding_side == "right" else [fill, s])
        padded.append(s)
    return graphtorch.stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences ``(L_i, *)`` (decreasing lengths unless ``enforce_sorted`` is
    False)."""
    lengths = graphtorch.tensor([int(s.shape[0]) for s in sequences], dtype=graphtorch.int64)
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor | Sequence[int],
                   batch_first: bool = False) -> list[Tensor]:
    """The list of sequences ``padded[:length_i, i]`` of a padded batch."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lens = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    return [padded_sequences[i, :int(n)] for i, n in enumerate(lens)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences of a ``PackedSequence``, in the original batch order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
