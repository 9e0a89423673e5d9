"""RNNs, attention and Transformer layers vs PyTorch on shapes and modes ports get wrong."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn

pytestmark = pytest.mark.torch


def _twin(build):
    import torch

    torch.manual_seed(0)
    theirs = build(torch.nn)
    ours = build(nn)
    ours.load_state_dict({k: gt.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})
    return ours, theirs


def _x(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [] if out is None else [out]


def _compare(ours, theirs, *arrays, tol=1e-5, kwargs=None, modules=None):
    """Call both with the arrays (all requiring grad); compare every output and grad.

    Parameter gradients are compared on ``modules`` (default: ``ours`` and ``theirs``).
    """
    import torch

    mod, tmod = modules or (ours, theirs)
    kwargs = kwargs or {}
    gs = [gt.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    outs, touts = _flat(ours(*gs, **kwargs)), _flat(theirs(*ts, **kwargs))
    assert len(outs) == len(touts)
    gloss, tloss = 0, 0
    for i, (o, t) in enumerate(zip(outs, touts)):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)
        cot = _x(*t.shape, seed=10 + i, dtype=arrays[0].dtype)
        gloss = gloss + (o * gt.tensor(cot)).sum()
        tloss = tloss + (t * torch.tensor(cot)).sum()
    gloss.backward()
    tloss.backward()
    for g, t in zip(gs, ts):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)
    tp = dict(tmod.named_parameters())
    for name, p in mod.named_parameters():
        if tp[name].grad is None:
            assert p.grad is None or not p.grad.numpy().any(), name
        else:
            np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=tol,
                                       atol=tol, err_msg=name)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_rnn_stacked_bidirectional_with_h0(mode, batch_first):
    ours, theirs = _twin(lambda m: getattr(m, mode)(3, 4, num_layers=2, bidirectional=True,
                                                    batch_first=batch_first))
    x = _x(2, 5, 3) if batch_first else _x(5, 2, 3)
    h0 = _x(4, 2, 4, seed=1)
    if mode == "LSTM":
        c0 = _x(4, 2, 4, seed=2)
        _compare(lambda x, h, c: ours(x, (h, c)), lambda x, h, c: theirs(x, (h, c)), x, h0, c0,
                 modules=(ours, theirs))
    else:
        _compare(ours, theirs, x, h0)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_rnn_unbatched_float64_no_bias(mode):
    ours, theirs = _twin(lambda m: getattr(m, mode)(3, 4, num_layers=2, bias=False))
    ours.double()
    theirs.double()
    x = _x(6, 3, dtype=np.float64)
    _compare(ours, theirs, x, tol=1e-10)
    h0 = _x(2, 4, seed=1, dtype=np.float64)
    if mode == "LSTM":
        _compare(lambda x, h: ours(x, (h, h)), lambda x, h: theirs(x, (h, h)), x, h0, tol=1e-10,
                 modules=(ours, theirs))
    else:
        _compare(ours, theirs, x, h0, tol=1e-10)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_rnn_wrong_h0_shape_errors(mode):
    import torch

    ours, theirs = _twin(lambda m: getattr(m, mode)(3, 4, num_layers=2))
    bad = (1, 2, 4)
    state = (lambda lib: (lib.zeros(bad), lib.zeros(bad))) if mode == "LSTM" else (
        lambda lib: lib.zeros(bad))
    with pytest.raises(RuntimeError) as t_err:
        theirs(torch.zeros((5, 2, 3)), state(torch))
    with pytest.raises(RuntimeError) as g_err:
        ours(gt.zeros((5, 2, 3)), state(gt))
    assert str(t_err.value) == str(g_err.value)
    if mode == "LSTM":
        good = (2, 2, 4)
        with pytest.raises(RuntimeError) as t_err:
            theirs(torch.zeros((5, 2, 3)), (torch.zeros(good), torch.zeros(bad)))
        with pytest.raises(RuntimeError) as g_err:
            ours(gt.zeros((5, 2, 3)), (gt.zeros(good), gt.zeros(bad)))
        assert str(t_err.value) == str(g_err.value)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_rnn_dropout_between_layers_train_shape(mode):
    ours = getattr(nn, mode)(3, 4, num_layers=3, dropout=0.5, batch_first=True)
    ours.train()
    out = ours(gt.randn(2, 5, 3))
    out, h = out[0], out[1]
    assert tuple(out.shape) == (2, 5, 4)
    h = h[0] if mode == "LSTM" else h
    assert tuple(h.shape) == (3, 2, 4)
    out.sum().backward()
    assert ours.weight_ih_l0.grad is not None


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_unbatched_and_batched(cell):
    ours, theirs = _twin(lambda m: getattr(m, cell)(3, 4))
    _compare(ours, theirs, _x(3))
    _compare(ours, theirs, _x(2, 3))
    if cell == "LSTMCell":
        _compare(lambda x, h, c: ours(x, (h, c)), lambda x, h, c: theirs(x, (h, c)),
                 _x(2, 3), _x(2, 4, seed=1), _x(2, 4, seed=2), modules=(ours, theirs))
    else:
        _compare(ours, theirs, _x(2, 3), _x(2, 4, seed=1))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_kdim_vdim(batch_first, need_weights):
    ours, theirs = _twin(lambda m: m.MultiheadAttention(8, 2, kdim=5, vdim=3,
                                                        batch_first=batch_first))
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    q = _x(2, 4, 8) if batch_first else _x(4, 2, 8)
    k = _x(2, 6, 5, seed=1) if batch_first else _x(6, 2, 5, seed=1)
    v = _x(2, 6, 3, seed=2) if batch_first else _x(6, 2, 3, seed=2)
    kw = dict(need_weights=need_weights)
    _compare(ours, theirs, q, k, v, kwargs=kw)
    out = ours(gt.tensor(q), gt.tensor(k), gt.tensor(v), **kw)
    assert (out[1] is None) == (not need_weights)


def test_mha_masks_and_unaveraged_weights():
    import torch

    ours, theirs = _twin(lambda m: m.MultiheadAttention(8, 2, batch_first=True))
    q = _x(2, 4, 8)
    pad = np.array([[False, False, False, True], [False, True, True, True]])
    causal = np.triu(np.ones((4, 4), dtype=bool), 1)
    for kw in [dict(key_padding_mask=pad), dict(attn_mask=causal),
               dict(attn_mask=causal, key_padding_mask=pad, average_attn_weights=False)]:
        gkw = {k: gt.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        _compare(lambda x, kw=gkw: ours(x, x, x, **kw), lambda x, kw=tkw: theirs(x, x, x, **kw), q,
                 modules=(ours, theirs))


def test_mha_unbatched():
    ours, theirs = _twin(lambda m: m.MultiheadAttention(6, 3))
    _compare(lambda x: ours(x, x, x), lambda x: theirs(x, x, x), _x(5, 6),
             modules=(ours, theirs))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_layer_train_mode_gradients(norm_first, activation):
    ours, theirs = _twin(lambda m: m.TransformerEncoderLayer(8, 2, dim_feedforward=16,
                                                             dropout=0.0, batch_first=True,
                                                             norm_first=norm_first,
                                                             activation=activation))
    ours.train()
    theirs.train()
    _compare(ours, theirs, _x(2, 5, 8), tol=1e-4)


def test_transformer_encoder_stack_with_mask_double():
    import torch

    def build(m):
        layer = m.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
        return m.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)

    ours, theirs = _twin(build)
    ours.double()
    theirs.double()
    mask = np.triu(np.full((5, 5), -np.inf), 1)
    _compare(lambda x: ours(x, mask=gt.tensor(mask)),
             lambda x: theirs(x, mask=torch.tensor(mask)), _x(5, 2, 8, dtype=np.float64),
             tol=1e-9, modules=(ours, theirs))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_decoder_with_masks(norm_first, batch_first):
    import torch

    def build(m):
        return m.Transformer(8, 2, num_encoder_layers=2, num_decoder_layers=2,
                             dim_feedforward=16, dropout=0.0, batch_first=batch_first,
                             norm_first=norm_first, activation="gelu")

    ours, theirs = _twin(build)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    src = _x(2, 6, 8) if batch_first else _x(6, 2, 8)
    tgt = _x(2, 4, 8, seed=1) if batch_first else _x(4, 2, 8, seed=1)
    tgt_mask = np.triu(np.full((4, 4), -np.inf, dtype=np.float32), 1)
    np.testing.assert_array_equal(nn.Transformer.generate_square_subsequent_mask(4).numpy(),
                                  theirs.generate_square_subsequent_mask(4).numpy())
    src_pad = np.array([[False] * 6, [False] * 4 + [True] * 2])
    ours.train()
    theirs.train()

    def call(model, lib):
        return lambda s, t: model(s, t, tgt_mask=lib.tensor(tgt_mask),
                                  src_key_padding_mask=lib.tensor(src_pad),
                                  memory_key_padding_mask=lib.tensor(src_pad),
                                  tgt_is_causal=True)

    _compare(call(ours, gt), call(theirs, torch), src, tgt, tol=1e-4,
             modules=(ours, theirs))


def test_transformer_input_checks_like_pytorch():
    import torch

    for shapes in [((6, 2, 8), (4, 3, 8)), ((6, 2, 8), (4, 2, 6))]:
        with pytest.raises(RuntimeError) as t_err:
            torch.nn.Transformer(8, 2, 1, 1, 16)(torch.zeros(shapes[0]), torch.zeros(shapes[1]))
        with pytest.raises(RuntimeError) as g_err:
            nn.Transformer(8, 2, 1, 1, 16)(gt.zeros(shapes[0]), gt.zeros(shapes[1]))
        assert str(g_err.value) == str(t_err.value)


def test_decoder_layer_unbatched():
    ours, theirs = _twin(lambda m: m.TransformerDecoderLayer(8, 2, 16, dropout=0.0))
    _compare(ours, theirs, _x(4, 8), _x(6, 8, seed=1), tol=1e-4)


@pytest.mark.parametrize("bias_kv,zero_attn", [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("masked", [False, True])
def test_mha_bias_kv_and_zero_attn(bias_kv, zero_attn, masked):
    import torch

    def build(m):
        return m.MultiheadAttention(8, 2, add_bias_kv=bias_kv, add_zero_attn=zero_attn,
                                    batch_first=True, kdim=6, vdim=5)

    ours, theirs = _twin(build)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    q, k, v = _x(2, 4, 8), _x(2, 3, 6, seed=1), _x(2, 3, 5, seed=2)
    kw = {}
    if masked:
        pad = np.array([[False, False, True], [False, True, True]])
        causal = np.triu(np.ones((4, 3), dtype=bool), 1)
        kw = dict(key_padding_mask=pad, attn_mask=causal)

    def call(model, lib):
        args = {n: lib.tensor(a) for n, a in kw.items()}
        return lambda a, b, c: model(a, b, c, average_attn_weights=False, **args)

    _compare(call(ours, gt), call(theirs, torch), q, k, v, modules=(ours, theirs))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_lstm_proj_size(bidirectional, batch_first):
    import torch

    def build(m):
        return m.LSTM(3, 5, num_layers=2, proj_size=2, bidirectional=bidirectional,
                      batch_first=batch_first)

    ours, theirs = _twin(build)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    d = 2 if bidirectional else 1
    x = _x(2, 4, 3) if batch_first else _x(4, 2, 3)
    _compare(ours, theirs, x)
    _compare(lambda a, h, c: ours(a, (h, c)), lambda a, h, c: theirs(a, (h, c)), x,
             _x(2 * d, 2, 2, seed=1), _x(2 * d, 2, 5, seed=2), modules=(ours, theirs))
    with pytest.raises(RuntimeError) as t_err:
        theirs(torch.tensor(x), (torch.zeros(2 * d, 2, 5), torch.zeros(2 * d, 2, 5)))
    with pytest.raises(RuntimeError) as g_err:
        ours(gt.tensor(x), (gt.zeros(2 * d, 2, 5), gt.zeros(2 * d, 2, 5)))
    assert str(g_err.value) == str(t_err.value)
    for kw in (dict(proj_size=5), dict(proj_size=-1)):
        with pytest.raises(ValueError) as t_err:
            torch.nn.LSTM(3, 5, **kw)
        with pytest.raises(ValueError) as g_err:
            nn.LSTM(3, 5, **kw)
        assert str(g_err.value) == str(t_err.value)
