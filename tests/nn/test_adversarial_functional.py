"""Functional corner cases vs PyTorch: channel dropout ranks, pad errors, RNN/MHA input checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn

pytestmark = pytest.mark.torch


def _constant_axes(lib, module, shape):
    """Which axes the dropout mask is constant along (what 'channel-wise' means)."""
    lib.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = module(0.5)(lib.ones(*shape)).numpy()
    assert set(np.unique(y).tolist()) == {0.0, 2.0}
    return [bool((y.std(axis=ax) == 0).all()) for ax in range(y.ndim)]


@pytest.mark.parametrize("name,shape", [("Dropout1d", (4, 6, 50)), ("Dropout1d", (6, 50)),
                                        ("Dropout2d", (4, 6, 5, 10)), ("Dropout2d", (6, 5, 10)),
                                        ("Dropout3d", (2, 6, 3, 4, 5)),
                                        ("Dropout3d", (6, 3, 4, 5))])
def test_channel_dropout_masks_whole_channels_batched_or_not(name, shape):
    import torch

    assert _constant_axes(gt, getattr(nn, name), shape) == \
        _constant_axes(torch, getattr(torch.nn, name), shape)


@pytest.mark.parametrize("fn,shape", [("dropout2d", (2, 3)), ("dropout2d", (2, 3, 4)),
                                      ("dropout3d", (2, 3, 4)), ("dropout3d", (1, 2, 3, 4, 5, 6))])
def test_channel_dropout_rank_warnings_like_pytorch(fn, shape):
    import torch
    import torch.nn.functional as tF

    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        getattr(tF, fn)(torch.ones(*shape))
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        out = getattr(nn.functional, fn)(gt.ones(*shape))
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert tuple(out.shape) == shape


def test_dropout1d_rank_error_and_inplace_unbatched():
    import torch
    import torch.nn.functional as tF

    with pytest.raises(RuntimeError) as t_err:
        tF.dropout1d(torch.ones(3))
    with pytest.raises(RuntimeError) as g_err:
        nn.functional.dropout1d(gt.ones(3))
    assert str(g_err.value) == str(t_err.value)
    x = gt.ones(4, 30)
    assert nn.functional.dropout1d(x, 0.5, inplace=True) is x
    assert (x.numpy().std(axis=1) == 0).all()


@pytest.mark.parametrize("pad,mode,shape", [((1,), "constant", (1, 1, 3)),
                                            ((1, 1, 1, 1), "constant", (3,)),
                                            ((3, 0), "reflect", (1, 1, 3)),
                                            ((1, 1, 3, 1), "reflect", (1, 2, 3))])
def test_pad_errors_like_pytorch(pad, mode, shape):
    import torch
    import torch.nn.functional as tF

    with pytest.raises(RuntimeError) as t_err:
        tF.pad(torch.ones(*shape), pad, mode=mode)
    with pytest.raises(RuntimeError) as g_err:
        nn.functional.pad(gt.ones(*shape), pad, mode=mode)
    assert str(g_err.value) == str(t_err.value)


@pytest.mark.parametrize("cell", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cell_hidden_batch_mismatch_error(cell):
    import torch

    def state(lib):
        h = lib.zeros(5, 3)
        return (h, h) if cell == "LSTMCell" else h

    with pytest.raises(RuntimeError) as t_err:
        getattr(torch.nn, cell)(2, 3)(torch.ones(4, 2), state(torch))
    with pytest.raises(RuntimeError) as g_err:
        getattr(nn, cell)(2, 3)(gt.ones(4, 2), state(gt))
    assert str(g_err.value) == str(t_err.value)


def test_mha_wrong_embedding_dim_and_rnn_flatten_parameters():
    import torch

    with pytest.raises(AssertionError) as t_err:
        torch.nn.MultiheadAttention(4, 2)(*[torch.ones(3, 2, 5)] * 3)
    with pytest.raises(AssertionError) as g_err:
        nn.MultiheadAttention(4, 2)(*[gt.ones(3, 2, 5)] * 3)
    assert str(g_err.value) == str(t_err.value)
    lstm = nn.LSTM(2, 3)
    before = [p.detach().numpy().copy() for p in lstm.parameters()]
    assert lstm.flatten_parameters() is None
    assert all((a == p.detach().numpy()).all() for a, p in zip(before, lstm.parameters()))
