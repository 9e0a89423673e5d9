"""Tracing a module that holds an RNN / LSTM / GRU: the layer is recorded as one call to its
scripted form (a PackedSequence input: the padding traced, the masked recurrence scripted), so
the loop over time steps stays a loop and the trace runs at lengths and batch sizes other than
the traced ones, trains like eager and saves / loads."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import TracingError
from graphtorch.frontend.script_module import ScriptModule, TracedModule
from graphtorch.jit import TracerWarning

nn = gt.nn
KINDS = ["RNN", "LSTM", "GRU"]
# how the model feeds its recurrent layer: a padded tensor, or a PackedSequence (sorted or not)
INPUTS = ["tensor", "packed", "packed_unsorted"]
LENGTHS = [2, 5, 10, 17]
BATCHES = [1, 3]


class Encoder(nn.Module):
    def __init__(self, kind: str, feed: str, batch_first: bool = False, layers: int = 2):
        super().__init__()
        self.feed = feed
        self.embed = nn.Embedding(20, 5)
        self.rnn = getattr(nn, kind)(5, 4, layers, bidirectional=True, batch_first=batch_first)

    def forward(self, tokens, lengths, hx=None):
        x = self.embed(tokens)
        if self.feed == "tensor":
            return self.rnn(x, hx)
        packed = nn.utils.rnn.pack_padded_sequence(
            x, lengths, batch_first=self.rnn.batch_first,
            enforce_sorted=self.feed == "packed")
        out, hidden = self.rnn(packed, hx)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=self.rnn.batch_first)
        return out, hidden


def _inputs(steps: int, batch: int, seed: int, feed: str, batch_first: bool = False):
    rng = np.random.default_rng(seed)
    lengths = sorted(rng.integers(1, steps + 1, batch).tolist(), reverse=True)
    lengths[0] = steps
    if feed == "packed_unsorted":
        lengths = lengths[1:] + lengths[:1]
    shape = (batch, steps) if batch_first else (steps, batch)
    return gt.tensor(rng.integers(0, 20, shape)), gt.tensor(lengths)


def _flat(x) -> list[np.ndarray]:
    if isinstance(x, (tuple, list)):
        return [a for v in x for a in _flat(v)]
    return [x.detach().numpy()]


def _assert_close(expected, actual, tol: float = 1e-5) -> None:
    e, a = _flat(expected), _flat(actual)
    assert len(e) == len(a)
    for x, y in zip(e, a):
        assert x.shape == y.shape
        np.testing.assert_allclose(y, x, rtol=tol, atol=tol)


def _trace(model, feed: str, batch_first: bool = False):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TracerWarning)     # nothing is unrolled or frozen
        return gt.jit.trace(model, _inputs(7, 3, 0, feed, batch_first))


@pytest.mark.parametrize("feed", INPUTS)
@pytest.mark.parametrize("kind", KINDS)
def test_traced_recurrent_layer_runs_at_other_lengths_and_batches(kind, feed):
    gt.manual_seed(0)
    model = Encoder(kind, feed).eval()
    traced = _trace(model, feed)
    for steps in LENGTHS:
        for batch in BATCHES:
            args = _inputs(steps, batch, steps * 10 + batch, feed)
            _assert_close(model(*args), traced(*args))


@pytest.mark.parametrize("feed", INPUTS)
def test_batch_first_and_a_given_hidden_state(feed):
    gt.manual_seed(1)
    model = Encoder("LSTM", feed, batch_first=True).eval()
    tokens, lengths = _inputs(7, 3, 0, feed, batch_first=True)
    traced = gt.jit.trace(model, (tokens, lengths, (gt.randn(4, 3, 4), gt.randn(4, 3, 4))))
    for steps in (2, 11):
        tokens, lengths = _inputs(steps, 2, steps, feed, batch_first=True)
        hx = (gt.randn(4, 2, 4), gt.randn(4, 2, 4))
        _assert_close(model(tokens, lengths, hx), traced(tokens, lengths, hx))


@pytest.mark.parametrize("feed", ["tensor", "packed"])
def test_the_layer_is_one_call_to_a_scripted_module_with_a_loop(feed):
    gt.manual_seed(0)
    model = Encoder("GRU", feed)
    traced = _trace(model, feed)
    assert isinstance(traced.rnn, ScriptModule) and not isinstance(traced.rnn, TracedModule)
    assert "prim::Loop" in str(traced.rnn.inlined_graph)
    calls = [line for line in str(traced.graph).splitlines() if "prim::CallMethod" in line]
    assert len(calls) == 2                                  # the embedding and the GRU
    assert list(traced.state_dict()) == list(model.state_dict())
    for p, q in zip(traced.parameters(), model.parameters()):
        assert p is q


@pytest.mark.parametrize("feed", INPUTS)
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_traced_recurrent_layer_trains_like_eager(kind, feed):
    gt.manual_seed(2)
    model = Encoder(kind, feed)
    traced = _trace(model, feed)
    args = _inputs(9, 3, 5, feed)

    def grads(fn):
        model.zero_grad()
        sum((t * t).sum() for t in _tensors(fn(*args))).backward()
        return {k: p.grad.numpy().copy() for k, p in model.named_parameters()}

    want, got = grads(model), grads(traced)
    assert list(want) == list(got)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-4, atol=1e-5, err_msg=k)


def _tensors(x) -> list:
    if isinstance(x, (tuple, list)):
        return [t for v in x for t in _tensors(v)]
    return [x]


@pytest.mark.parametrize("feed", INPUTS)
def test_traced_recurrent_layer_saves_and_loads(tmp_path, feed):
    gt.manual_seed(3)
    model = Encoder("GRU", feed).eval()
    path = tmp_path / "encoder.pt"
    gt.jit.save(_trace(model, feed), str(path))
    loaded = gt.jit.load(str(path))
    for steps in (2, 17):
        args = _inputs(steps, 3, steps, feed)
        _assert_close(model(*args), loaded(*args))


def test_one_layer_fed_a_packed_sequence_and_a_tensor_is_refused():
    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 4)

        def forward(self, x, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths)
            return self.rnn(x)[0].sum() + self.rnn(packed)[0].data.sum()

    with pytest.raises(TracingError, match="called both with a PackedSequence and with a tensor"):
        gt.jit.trace(Both(), (gt.randn(5, 2, 3), gt.tensor([5, 3])))


def test_a_subclass_with_its_own_forward_is_traced_into():
    class Doubled(nn.GRU):
        def forward(self, input, hx=None):
            out, h = super().forward(input, hx)
            return out * 2, h

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = Doubled(3, 4)

        def forward(self, x):
            return self.rnn(x)

    gt.manual_seed(4)
    model = Holder()
    x = gt.randn(4, 2, 3)
    with pytest.warns(TracerWarning, match="unrolls"):
        traced = gt.jit.trace(model, (x,))
    assert isinstance(traced.rnn, TracedModule)          # its own forward, traced
    _assert_close(model(x), traced(x))


@pytest.mark.parametrize("kind", KINDS)
def test_a_recurrent_layer_traced_on_its_own_keeps_its_loop(kind):
    gt.manual_seed(5)
    layer = getattr(nn, kind)(3, 4, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TracerWarning)
        traced = gt.jit.trace(layer, (gt.randn(6, 2, 3),))
    assert "prim::Loop" in str(traced.inlined_graph)
    for steps, batch in ((1, 1), (13, 3)):
        x = gt.randn(steps, batch, 3)
        _assert_close(layer(x), traced(x))
