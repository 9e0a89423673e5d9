"""The TorchScript dynamic-parallelism tutorial pattern under PyTorch and graphtorch: a free
function forked and waited in eager and in script, and an ensemble of LSTMs whose members are
forked in a scripted forward (same weights, same numbers)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.compat.harness import initial_state, load_state, run_both

pytestmark = [pytest.mark.torch,
              pytest.mark.filterwarnings("ignore:`torch.jit.*is deprecated:DeprecationWarning")]

MEMBERS, SEQ, BATCH, FEATURES, HIDDEN = 3, 6, 2, 5, 7


def _ensemble(torch):
    nn = torch.nn

    class Member(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(FEATURES, HIDDEN)
            self.head = nn.Linear(HIDDEN, 3)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[-1])

    class Ensemble(nn.Module):
        def __init__(self):
            super().__init__()
            self.models = nn.ModuleList([Member() for _ in range(MEMBERS)])

        def forward(self, x):
            futures = [torch.jit.fork(model, x) for model in self.models]
            results = [torch.jit.wait(fut) for fut in futures]
            return torch.stack(results).sum(dim=0)

    return Ensemble


def double_then_add(a, b):
    return a * 2 + b


def fork_function_program(torch, data):
    a = torch.tensor(data)

    def caller(x):
        fut = torch.jit.fork(double_then_add, x, x)
        y = torch.relu(x)
        return torch.jit.wait(fut) - y

    eager_fut = torch.jit.fork(double_then_add, a, a)
    scripted = torch.jit.script(caller)
    return {"eager": torch.jit.wait(eager_fut), "eager_done": eager_fut.done(),
            "script": scripted(a), "python": caller(a)}


def test_fork_a_function_equals_pytorch():
    data = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    run_both(fork_function_program, data)


def ensemble_program(torch, state, data):
    model = load_state(torch, _ensemble(torch)(), state).eval()
    x = torch.tensor(data)
    scripted = torch.jit.script(model)
    with torch.no_grad():
        return {"eager": model(x), "script": scripted(x), "again": scripted(x * 0.5)}


def test_forked_lstm_ensemble_equals_pytorch():
    state = initial_state(lambda t: _ensemble(t)())
    data = np.random.default_rng(1).standard_normal((SEQ, BATCH, FEATURES)).astype(np.float32)
    expected, _ = run_both(ensemble_program, state, data)
    assert expected["script"].shape == (BATCH, 3)
