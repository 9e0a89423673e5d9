"""RNN, LSTM, GRU and their cells vs PyTorch with identical weights (outputs, states, grads)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.nn import rnn as R


def _load_from_torch(ours, theirs) -> None:
    state = {k: gt.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)


def _t(x):
    import torch

    return torch.tensor(x, requires_grad=True)


def _g(x):
    return gt.tensor(x, requires_grad=True)


def _flat(out):
    if isinstance(out, tuple):
        return [t for o in out for t in _flat(o)]
    return [out]


def _compare(ours, theirs, inputs, rtol=1e-9, atol=1e-10):
    """Forward outputs, then grads of every input and parameter for a random cotangent."""
    import torch

    _load_from_torch(ours, theirs)
    g_in = [_g(x) if x is not None else None for x in inputs]
    t_in = [_t(x) if x is not None else None for x in inputs]

    def pack(vals):
        if isinstance(theirs, (torch.nn.LSTM, torch.nn.LSTMCell)) and len(vals) == 3:
            return (vals[0], (vals[1], vals[2]) if vals[1] is not None else None)
        return tuple(vals)

    y = _flat(ours(*pack(g_in)))
    ty = _flat(theirs(*pack(t_in)))
    assert len(y) == len(ty)
    rng = np.random.default_rng(7)
    loss, tloss = 0, 0
    for a, b in zip(y, ty):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)
        cot = rng.standard_normal(tuple(b.shape))
        loss = loss + (a * gt.tensor(cot)).sum()
        tloss = tloss + (b * torch.tensor(cot)).sum()
    loss.backward()
    tloss.backward()
    for a, b in zip(g_in, t_in):
        if a is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-7, atol=1e-9)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-7, atol=1e-9,
                                   err_msg=name)


CONFIGS = [
    dict(),
    dict(num_layers=2, bidirectional=True),
    dict(batch_first=True, bias=False),
    dict(num_layers=3, batch_first=True, bidirectional=True),
]


def _inputs(cfg, lstm, with_state, batched=True, seed=0):
    rng = np.random.default_rng(seed)
    t_len, batch, d = 5, 3, 2 if cfg.get("bidirectional") else 1
    shape = (batch, t_len, 4) if cfg.get("batch_first") else (t_len, batch, 4)
    x = rng.standard_normal(shape if batched else (t_len, 4))
    if not with_state:
        return [x] + ([None, None] if lstm else [])
    hs = (cfg.get("num_layers", 1) * d,) + ((batch,) if batched else ()) + (6,)
    h = rng.standard_normal(hs)
    return [x, h, rng.standard_normal(hs)] if lstm else [x, h]


@pytest.mark.torch
@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("with_state", [False, True])
def test_recurrent_layers_match_pytorch(kind, cfg, with_state):
    import torch

    ours = getattr(R, kind)(4, 6, **cfg).double()
    theirs = getattr(torch.nn, kind)(4, 6, **cfg).double()
    _compare(ours, theirs, _inputs(cfg, kind == "LSTM", with_state))


@pytest.mark.torch
def test_relu_rnn_and_unbatched_input_match_pytorch():
    import torch

    cfg = dict(nonlinearity="relu", num_layers=2)
    _compare(R.RNN(4, 6, **cfg).double(), torch.nn.RNN(4, 6, **cfg).double(),
             _inputs(cfg, False, True, batched=False))
    _compare(R.LSTM(4, 6, bidirectional=True).double(),
             torch.nn.LSTM(4, 6, bidirectional=True).double(),
             _inputs(dict(bidirectional=True), True, True, batched=False))


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_pytorch(kind, batched):
    import torch

    rng = np.random.default_rng(3)
    lead = (3,) if batched else ()
    x = rng.standard_normal(lead + (4,))
    h = rng.standard_normal(lead + (6,))
    inputs = [x, h, rng.standard_normal(lead + (6,))] if kind == "LSTMCell" else [x, h]
    ours, theirs = getattr(R, kind)(4, 6).double(), getattr(torch.nn, kind)(4, 6).double()
    _compare(ours, theirs, inputs)
    if kind == "RNNCell":
        _compare(R.RNNCell(4, 6, nonlinearity="relu", bias=False).double(),
                 torch.nn.RNNCell(4, 6, nonlinearity="relu", bias=False).double(), inputs)


@pytest.mark.torch
def test_names_shapes_and_repr_match_pytorch():
    import torch

    makers = [lambda m: m.RNN(3, 4, nonlinearity="relu", num_layers=2, bias=False,
                              batch_first=True, dropout=0.5, bidirectional=True),
              lambda m: m.LSTM(3, 4, num_layers=2, bidirectional=True),
              lambda m: m.GRU(3, 5), lambda m: m.RNNCell(3, 4, nonlinearity="relu", bias=False),
              lambda m: m.LSTMCell(3, 4), lambda m: m.GRUCell(2, 3)]
    for make in makers:
        ours, theirs = make(R), make(torch.nn)
        assert repr(ours) == repr(theirs)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]


def test_initialisation_is_uniform_in_inverse_sqrt_hidden():
    gt.manual_seed(0)
    m = R.LSTM(8, 16, num_layers=2)
    vals = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert np.abs(vals).max() <= 0.25 and np.abs(vals).max() > 0.24


def test_dropout_between_layers_only_in_training():
    gt.manual_seed(0)
    m = R.GRU(3, 4, num_layers=2, dropout=0.5)
    x = gt.randn(6, 2, 3)
    m.eval()
    a, b = m(x)[0], m(x)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    m.train()
    assert not np.allclose(m(x)[0].detach().numpy(), a.detach().numpy())


def test_input_errors():
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        R.GRU(3, 4)(gt.zeros(2, 2, 5))
    with pytest.raises(RuntimeError, match="Expected hidden size \\(1, 2, 4\\), got \\[1, 3, 4\\]"):
        R.RNN(3, 4)(gt.zeros(5, 2, 3), gt.zeros(1, 3, 4))
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        R.LSTM(3, 4, dropout=2)
