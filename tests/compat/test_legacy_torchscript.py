"""The deploy-seq2seq chatbot pattern: a traced GRU encoder and decoder held by a legacy
``jit.ScriptModule`` subclass (``@script_method``, ``__constants__``, ``jit.Attribute``) running
greedy search in a scripted loop, saved and loaded; the same program under PyTorch and
graphtorch."""

from __future__ import annotations

import os
import tempfile
from typing import List  # noqa: UP035 - the tutorial pattern spells it typing.List

import numpy as np
import pytest

import graphtorch
from tests.compat.harness import initial_state, load_state, run_both

pytestmark = [pytest.mark.torch,
              pytest.mark.filterwarnings("ignore:`torch.jit.*is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning")]

VOCAB, HIDDEN, LAYERS, SOS = 12, 8, 2, 1


def _models(torch):
    nn = torch.nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, HIDDEN)
            self.gru = nn.GRU(HIDDEN, HIDDEN, LAYERS)

        def forward(self, seq):
            out, hidden = self.gru(self.embedding(seq))
            return out, hidden

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, HIDDEN)
            self.gru = nn.GRU(HIDDEN, HIDDEN, LAYERS)
            self.concat = nn.Linear(2 * HIDDEN, HIDDEN)
            self.out = nn.Linear(HIDDEN, VOCAB)

        def forward(self, step, hidden, enc_out):
            rnn_out, hidden = self.gru(self.embedding(step), hidden)
            # dot attention over the encoder outputs
            scores = torch.sum(rnn_out * enc_out, dim=2).t()
            attn = torch.softmax(scores, dim=1).unsqueeze(1)
            context = attn.bmm(enc_out.transpose(0, 1)).squeeze(1)
            mixed = torch.tanh(self.concat(torch.cat((rnn_out.squeeze(0), context), 1)))
            return torch.softmax(self.out(mixed), dim=1), hidden

    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Encoder()
            self.decoder = Decoder()

    class GreedySearchDecoder(torch.jit.ScriptModule):
        __constants__ = ["_sos", "_n_layers"]

        def __init__(self, encoder, decoder):
            super().__init__()
            self.encoder = encoder
            self.decoder = decoder
            self._sos = SOS
            self._n_layers = LAYERS
            self.temperature = torch.jit.Attribute(1.0, float)

        @torch.jit.script_method
        def first_hidden(self, enc_hidden):
            return enc_hidden[:self._n_layers]

        @torch.jit.script_method
        def forward(self, seq, max_length: int):
            enc_out, enc_hidden = self.encoder(seq)
            hidden = self.first_hidden(enc_hidden)
            step = torch.ones(1, 1, dtype=torch.long) * self._sos
            tokens = torch.zeros([0], dtype=torch.long)
            scores = torch.zeros([0])
            for _ in range(max_length):
                probs, hidden = self.decoder(step, hidden, enc_out)
                score, token = torch.max(probs / self.temperature, dim=1)
                tokens = torch.cat((tokens, token), dim=0)
                scores = torch.cat((scores, score), dim=0)
                step = torch.unsqueeze(token, 0)
            return tokens, scores

    return Both, GreedySearchDecoder


def chatbot_program(torch, state, seq_data, path):
    Both, GreedySearchDecoder = _models(torch)
    both = load_state(torch, Both(), state).eval()
    seq = torch.tensor(seq_data)
    enc_out, enc_hidden = both.encoder(seq)
    step = torch.ones(1, 1, dtype=torch.long)
    traced_encoder = torch.jit.trace(both.encoder, (seq,))
    traced_decoder = torch.jit.trace(both.decoder, (step, enc_hidden[:LAYERS], enc_out))
    searcher = GreedySearchDecoder(traced_encoder, traced_decoder)
    tokens, scores = searcher(seq, 6)
    torch.jit.save(searcher, path)
    loaded = torch.jit.load(path)
    tokens2, scores2 = loaded(seq, 6)
    other = torch.tensor(seq_data[::-1].copy())
    return {"tokens": tokens, "scores": scores, "loaded_tokens": tokens2,
            "loaded_scores": scores2, "other": list(loaded(other, 4)),
            "is_script_module": isinstance(searcher, torch.jit.ScriptModule)}


def test_chatbot_greedy_search_equals_pytorch():
    state = initial_state(lambda t: _models(t)[0]())
    seq = np.random.default_rng(0).integers(2, VOCAB, (5, 1)).astype(np.int64)
    with tempfile.TemporaryDirectory() as d:
        expected, actual = run_both(lambda t: chatbot_program(
            t, state, seq, os.path.join(d, f"{t.__name__}.pt")))
    assert actual["tokens"].shape == (6,)


class Scaler(graphtorch.jit.ScriptModule):
    """Constants, an Attribute, a helper script method and a plain Python method."""

    __constants__ = ["factor"]

    def __init__(self, factor: int):
        super().__init__()
        self.factor = factor
        self.offset = graphtorch.jit.Attribute(0.25, float)
        self.names = graphtorch.jit.Attribute(["a", "b"], List[str])  # noqa: UP006
        self.linear = graphtorch.nn.Linear(3, 3)

    @graphtorch.jit.script_method
    def scale(self, x: graphtorch.Tensor) -> graphtorch.Tensor:
        return x * self.factor + self.offset

    @graphtorch.jit.script_method
    def forward(self, x: graphtorch.Tensor) -> graphtorch.Tensor:
        return self.scale(self.linear(x)).relu()

    def describe(self) -> str:
        return f"Scaler x{self.factor}"


def test_script_module_subclass_compiles_at_construction(tmp_path):
    m = Scaler(3)
    x = graphtorch.randn(4, 3)
    expected = ((m.linear(x) * 3 + 0.25).relu()).detach().numpy()
    assert isinstance(m, graphtorch.jit.ScriptModule)
    assert "forward" in m._gt_methods and "scale" in m._gt_methods
    np.testing.assert_allclose(m(x).detach().numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(m.scale(x).detach().numpy(),
                               (x * 3 + 0.25).numpy(), rtol=1e-6)
    assert m.describe() == "Scaler x3"      # plain Python methods stay Python
    assert m.names == ["a", "b"] and m.offset == 0.25
    assert "def forward" in m.code
    graphtorch.jit.save(m, tmp_path / "s.gt")
    loaded = graphtorch.jit.load(tmp_path / "s.gt")
    np.testing.assert_allclose(loaded(x).detach().numpy(), expected, rtol=1e-6)
    assert graphtorch.jit.script(m) is m


def test_script_method_calling_an_undecorated_method_is_refused():
    class Bad(graphtorch.jit.ScriptModule):
        def __init__(self):
            super().__init__()

        def helper(self, x):
            return x + 1

        @graphtorch.jit.script_method
        def forward(self, x: graphtorch.Tensor) -> graphtorch.Tensor:
            return self.helper(x)

    with pytest.raises(graphtorch.errors.ScriptError) as info:
        Bad()
    assert "helper" in str(info.value)


def test_attribute_of_the_wrong_type_is_refused():
    class Wrong(graphtorch.jit.ScriptModule):
        def __init__(self):
            super().__init__()
            self.k = graphtorch.jit.Attribute("three", int)

        @graphtorch.jit.script_method
        def forward(self, x: graphtorch.Tensor) -> graphtorch.Tensor:
            return x

    with pytest.raises(graphtorch.errors.ScriptError, match="Attribute 'k' is declared int"):
        Wrong()
