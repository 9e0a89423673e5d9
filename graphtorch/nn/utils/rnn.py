"""``pad_sequence``: batch variable-length sequences into one padded tensor."""

from __future__ import annotations

from collections.abc import Sequence

import graphtorch
from graphtorch.tensor import Tensor


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
