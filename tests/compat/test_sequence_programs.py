"""Programs in the style of the nlp tutorials and time_sequence_prediction, run under PyTorch and
graphtorch from the same weights: a packed-sequence LSTM classifier trained with SGD, and an
LSTMCell sequence model trained with LBFGS (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.compat.harness import initial_state, load_state, run_both

pytestmark = pytest.mark.torch


def _classifier(torch):
    nn = torch.nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(20, 6, padding_idx=0)
            self.rnn = nn.LSTM(6, 8, num_layers=2, batch_first=True, bidirectional=True)
            self.head = nn.Linear(16, 3)

        def forward(self, tokens, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths,
                                                       batch_first=True, enforce_sorted=False)
            out, (h, _) = self.rnn(packed)
            padded, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
            summary = torch.cat([h[-2], h[-1]], dim=1)
            return self.head(summary), padded

    return Classifier()


def _packed_training(torch, state):
    model = load_state(torch, _classifier(torch), state)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    rng = np.random.default_rng(0)
    lengths = [5, 2, 7, 3, 7, 1]
    tokens = np.zeros((6, 7), dtype=np.int64)
    for i, n in enumerate(lengths):
        tokens[i, :n] = rng.integers(1, 20, n)
    labels = torch.tensor(rng.integers(0, 3, 6))
    x = torch.tensor(tokens)
    losses = []
    for _ in range(4):
        opt.zero_grad()
        logits, padded = model(x, torch.tensor(lengths))
        loss = torch.nn.functional.cross_entropy(logits, labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {"losses": losses, "padded": padded, "logits": logits,
            "w_hh": model.rnn.weight_hh_l1_reverse}


def test_packed_sequence_classifier_trains_like_pytorch():
    pytest.importorskip("torch")
    run_both(_packed_training, initial_state(_classifier), rtol=1e-4, atol=1e-5)


def _sequence_model(torch):
    nn = torch.nn

    class Sequence(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm1 = nn.LSTMCell(1, 12)
            self.lstm2 = nn.LSTMCell(12, 12)
            self.linear = nn.Linear(12, 1)

        def forward(self, x, future=0):
            outputs = []
            h1 = torch.zeros(x.size(0), 12, dtype=torch.double)
            c1 = torch.zeros(x.size(0), 12, dtype=torch.double)
            h2 = torch.zeros(x.size(0), 12, dtype=torch.double)
            c2 = torch.zeros(x.size(0), 12, dtype=torch.double)
            for step in x.split(1, dim=1):
                h1, c1 = self.lstm1(step, (h1, c1))
                h2, c2 = self.lstm2(h1, (h2, c2))
                outputs.append(self.linear(h2))
            out = outputs[-1]
            for _ in range(future):
                h1, c1 = self.lstm1(out, (h1, c1))
                h2, c2 = self.lstm2(h1, (h2, c2))
                out = self.linear(h2)
                outputs.append(out)
            return torch.cat(outputs, dim=1)

    return Sequence().double()


def _lbfgs_training(torch, state):
    model = load_state(torch, _sequence_model(torch), state)
    t = np.arange(24)[None, :] + np.arange(4)[:, None] * 3
    wave = np.sin(t / 4.0)
    inputs, targets = torch.tensor(wave[:, :-1]), torch.tensor(wave[:, 1:])
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.LBFGS(model.parameters(), lr=0.8, max_iter=4)
    losses = []
    for _ in range(2):
        def closure():
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            return loss
        losses.append(optimizer.step(closure).item())
    with torch.no_grad():
        future = model(inputs[:1], future=5)
    return {"losses": losses, "future": future,
            "func_evals": optimizer.state[optimizer.param_groups[0]["params"][0]]["func_evals"]}


def test_lbfgs_time_sequence_prediction_matches_pytorch():
    pytest.importorskip("torch")
    state = {k: v.astype(np.float64) for k, v in initial_state(_sequence_model).items()}
    run_both(_lbfgs_training, state, rtol=1e-7, atol=1e-9)
