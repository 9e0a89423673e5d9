"""Tracing packed sequences (the deploy_seq2seq tutorial's encoder pattern): a lengths tensor
stays a graph input through ``pack_padded_sequence`` / ``pad_packed_sequence``, so a trace made
at one sentence length runs at others, equal to eager and to PyTorch's own trace. A recurrent
layer inside a trace (packed input or not) is one call to its scripted form, so its loop over
time steps stays a loop and the trace runs at any length, as PyTorch's does."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch
from graphtorch.jit import TracerWarning
from tests.compat.harness import assert_same, initial_state, load_state, to_numpy

# (steps, lengths): the traced length, then shorter and longer ones
TRACED = (7, [7, 4, 2])
OTHERS = [(5, [5, 3, 1]), (9, [9, 6, 2])]


def _packer(torch, enforce_sorted: bool):
    nn = torch.nn

    class Packer(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(20, 6)
            self.step = nn.Linear(6, 4)

        def forward(self, tokens, lengths):
            rnn = nn.utils.rnn
            packed = rnn.pack_padded_sequence(self.embed(tokens), lengths,
                                              enforce_sorted=enforce_sorted)
            mapped = rnn.PackedSequence(self.step(packed.data).tanh(), packed.batch_sizes,
                                        packed.sorted_indices, packed.unsorted_indices)
            padded, out_lengths = rnn.pad_packed_sequence(mapped)
            return padded, out_lengths, packed.batch_sizes

    return Packer()


def _inputs(torch, steps: int, lengths: list[int], seed: int):
    tokens = np.random.default_rng(seed).integers(0, 20, (steps, len(lengths)))
    return torch.tensor(tokens), torch.tensor(lengths)


def _traced_runs(torch, state, enforce_sorted: bool, order):
    model = load_state(torch, _packer(torch, enforce_sorted), state).eval()
    steps, lengths = TRACED
    traced = torch.jit.trace(model, _inputs(torch, steps, order(lengths), 0))
    results = []
    for i, (steps, lengths) in enumerate(OTHERS + [TRACED]):
        args = _inputs(torch, steps, order(lengths), i + 1)
        results.append((traced(*args), model(*args)))
    return results


@pytest.mark.parametrize("enforce_sorted,order", [
    (True, list), (False, lambda ls: [ls[1], ls[2], ls[0]])])
def test_traced_packing_runs_at_other_lengths_like_eager(enforce_sorted, order):
    state = initial_state(lambda torch: _packer(torch, enforce_sorted)) \
        if _has_torch() else _own_state(enforce_sorted)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TracerWarning)   # the trace freezes nothing
        runs = _traced_runs(graphtorch, state, enforce_sorted, order)
    for (steps, _), (traced, eager) in zip(OTHERS + [TRACED], runs):
        assert tuple(traced[0].shape)[0] == steps
        assert_same(to_numpy(eager), to_numpy(traced), rtol=1e-6, atol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("enforce_sorted,order", [
    (True, list), (False, lambda ls: [ls[1], ls[2], ls[0]])])
def test_traced_packing_matches_pytorchs_trace(enforce_sorted, order):
    torch = pytest.importorskip("torch")
    state = initial_state(lambda t: _packer(t, enforce_sorted))
    expected = to_numpy([t for t, _ in _traced_runs(torch, state, enforce_sorted, order)])
    actual = to_numpy([t for t, _ in _traced_runs(graphtorch, state, enforce_sorted, order)])
    assert_same(expected, actual)


def test_lengths_as_a_python_list_warn_while_tracing():
    model = _packer(graphtorch, True).eval()
    tokens, _ = _inputs(graphtorch, 7, [7, 4, 2], 0)
    with pytest.warns(TracerWarning, match="Python list of sequence lengths"):
        graphtorch.jit.trace(lambda t: model(t, [7, 4, 2]), (tokens,))


def _encoder(torch):
    nn = torch.nn

    class Encoder(nn.Module):    # deploy_seq2seq's EncoderRNN pattern
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(20, 6)
            self.gru = nn.GRU(6, 6, 2, bidirectional=True)

        def forward(self, tokens, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths)
            out, hidden = self.gru(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out)
            return out[:, :, :6] + out[:, :, 6:], hidden

    return Encoder()


# (steps, lengths) other than the traced one: shorter and longer, batch sizes 1 and 3
RECURRENT_RUNS = [(n, lengths) for n in (2, 5, 10, 17)
                  for lengths in ([n], [n, max(n - 1, 1), 1])]


def _encoder_runs(torch, state):
    """The encoder traced at TRACED, then (traced, eager) at each of RECURRENT_RUNS."""
    model = load_state(torch, _encoder(torch), state).eval()
    steps, lengths = TRACED
    traced = torch.jit.trace(model, _inputs(torch, steps, lengths, 0))
    return [(traced(*args), model(*args)) for args in
            (_inputs(torch, n, lengths, i + 1) for i, (n, lengths) in enumerate(RECURRENT_RUNS))]


def _encoder_state():
    if _has_torch():
        return initial_state(_encoder)
    graphtorch.manual_seed(0)
    return {k: v.detach().numpy().copy() for k, v in _encoder(graphtorch).state_dict().items()}


def test_traced_recurrent_layer_runs_at_other_lengths_like_eager():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TracerWarning)   # the time loop is not unrolled
        runs = _encoder_runs(graphtorch, _encoder_state())
    for (steps, lengths), (traced, eager) in zip(RECURRENT_RUNS, runs):
        assert tuple(traced[0].shape) == (steps, len(lengths), 6)
        assert tuple(traced[1].shape) == (4, len(lengths), 6)
        assert_same(to_numpy(eager), to_numpy(traced), rtol=1e-5, atol=1e-6)


@pytest.mark.torch
def test_traced_recurrent_layer_matches_pytorchs_trace():
    torch = pytest.importorskip("torch")
    state = initial_state(_encoder)
    expected = to_numpy([t for t, _ in _encoder_runs(torch, state)])
    actual = to_numpy([t for t, _ in _encoder_runs(graphtorch, state)])
    assert_same(expected, actual)


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401 - only whether it is installed
    except ImportError:
        return False
    return True


def _own_state(enforce_sorted: bool) -> dict[str, np.ndarray]:
    graphtorch.manual_seed(0)
    return {k: v.detach().numpy().copy()
            for k, v in _packer(graphtorch, enforce_sorted).state_dict().items()}
