"""TransformerEncoderLayer / TransformerEncoder vs PyTorch with identical weights (eval mode)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.nn.normalization import LayerNorm
from graphtorch.nn.transformer import TransformerEncoder, TransformerEncoderLayer


def _load_from_torch(ours, theirs) -> None:
    state = {k: gt.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)


def _compare(ours, theirs, x_np, **kw):
    import torch

    _load_from_torch(ours, theirs)
    ours.eval()
    theirs.eval()
    x = gt.tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    gkw = {n: gt.tensor(m) if isinstance(m, np.ndarray) else m for n, m in kw.items()}
    tkw = {n: torch.tensor(m) if isinstance(m, np.ndarray) else m for n, m in kw.items()}
    y = ours(x, **gkw)
    # NOTE: PyTorch's eval fast path is skipped under grad, so both run the reference math
    ty = theirs(tx, **tkw)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-8, atol=1e-9)
    cot = np.random.default_rng(4).standard_normal(tuple(ty.shape))
    (y * gt.tensor(cot)).sum().backward()
    (ty * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-7, atol=1e-9)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-7, atol=1e-9,
                                   err_msg=name)


LAYER_CONFIGS = [dict(), dict(activation="gelu", norm_first=True),
                 dict(batch_first=True, layer_norm_eps=1e-3), dict(bias=False, norm_first=True)]


@pytest.mark.torch
@pytest.mark.parametrize("cfg", LAYER_CONFIGS, ids=str)
def test_encoder_layer_matches_pytorch(cfg):
    import torch

    ours = TransformerEncoderLayer(8, 2, dim_feedforward=16, **cfg).double()
    theirs = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, **cfg).double()
    x = np.random.default_rng(0).standard_normal((2, 5, 8) if cfg.get("batch_first")
                                                 else (5, 2, 8))
    _compare(ours, theirs, x)
    assert repr(ours) == repr(theirs)


@pytest.mark.torch
def test_encoder_with_masks_and_final_norm_matches_pytorch():
    import torch

    ours = TransformerEncoder(TransformerEncoderLayer(8, 2, 16, batch_first=True), 2,
                              norm=LayerNorm(8)).double()
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16,
                                                                          batch_first=True),
                                         2, norm=torch.nn.LayerNorm(8),
                                         enable_nested_tensor=False).double()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 6, 8))
    mask = np.triu(np.full((6, 6), -np.inf), k=1)
    padding = np.zeros((3, 6), dtype=bool)
    padding[1, 4:] = True
    _compare(ours, theirs, x, mask=mask, src_key_padding_mask=padding)
    assert repr(ours) == repr(theirs)


def test_layers_are_independent_copies():
    enc = TransformerEncoder(TransformerEncoderLayer(8, 2, 16), 3)
    ws = [layer.linear1.weight for layer in enc.layers]
    assert ws[0] is not ws[1]
    np.testing.assert_array_equal(ws[0].detach().numpy(), ws[2].detach().numpy())
    assert len(list(enc.parameters())) == 3 * len(list(enc.layers[0].parameters()))


def test_training_mode_applies_dropout():
    gt.manual_seed(0)
    layer = TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = gt.randn(4, 2, 8)
    layer.eval()
    ref = layer(x).detach().numpy()
    np.testing.assert_array_equal(layer(x).detach().numpy(), ref)
    layer.train()
    assert not np.allclose(layer(x).detach().numpy(), ref)


def test_unknown_activation_is_rejected():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        TransformerEncoderLayer(8, 2, activation="tanh")
