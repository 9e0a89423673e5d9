"""MultiheadAttention vs PyTorch with identical weights: outputs, weights, masks, gradients."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.nn.attention import MultiheadAttention


def _load_from_torch(ours, theirs) -> None:
    state = {k: gt.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)


def _run(ours, theirs, q, k, v, **kw):
    import torch

    _load_from_torch(ours, theirs)
    gq, gk, gv = (gt.tensor(a, requires_grad=True) for a in (q, k, v))
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    gkw = {n: gt.tensor(m) if isinstance(m, np.ndarray) else m for n, m in kw.items()}
    tkw = {n: torch.tensor(m) if isinstance(m, np.ndarray) else m for n, m in kw.items()}
    out, w = ours(gq, gk, gv, **gkw)
    tout, tw = theirs(tq, tk, tv, **tkw)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-9,
                               atol=1e-10)
    if tw is None:
        assert w is None
    else:
        np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-9,
                                   atol=1e-10)
    cot = np.random.default_rng(9).standard_normal(tuple(tout.shape))
    (out * gt.tensor(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    for a, b in ((gq, tq), (gk, tk), (gv, tv)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-10)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-8, atol=1e-10,
                                   err_msg=name)


def _pair(**cfg):
    import torch

    return MultiheadAttention(**cfg).double(), torch.nn.MultiheadAttention(**cfg).double()


@pytest.mark.torch
@pytest.mark.parametrize("cfg", [dict(embed_dim=8, num_heads=2),
                                 dict(embed_dim=8, num_heads=4, bias=False),
                                 dict(embed_dim=8, num_heads=1, batch_first=True)], ids=str)
@pytest.mark.parametrize("average", [True, False])
def test_self_attention_matches_pytorch(cfg, average):
    rng = np.random.default_rng(0)
    shape = (3, 5, 8) if cfg.get("batch_first") else (5, 3, 8)
    x = rng.standard_normal(shape)
    _run(*_pair(**cfg), x, x, x, average_attn_weights=average)


@pytest.mark.torch
def test_cross_attention_with_kdim_vdim_matches_pytorch():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal(s) for s in ((4, 2, 8), (6, 2, 3), (6, 2, 5)))
    _run(*_pair(embed_dim=8, num_heads=2, kdim=3, vdim=5), q, k, v)


@pytest.mark.torch
@pytest.mark.parametrize("mask_kind", ["bool", "float", "3d_bool"])
def test_masks_match_pytorch(mask_kind):
    rng = np.random.default_rng(2)
    q, k = rng.standard_normal((4, 3, 8)), rng.standard_normal((6, 3, 8))
    causal = np.triu(np.ones((4, 6), dtype=bool), k=1)
    if mask_kind == "bool":
        attn_mask = causal
    elif mask_kind == "float":
        attn_mask = rng.standard_normal((4, 6))
    else:
        attn_mask = np.broadcast_to(causal, (6, 4, 6)).copy()
    padding = np.zeros((3, 6), dtype=bool)
    padding[0, 4:] = True
    padding[2, 5] = True
    _run(*_pair(embed_dim=8, num_heads=2), q, k, k, attn_mask=attn_mask,
         key_padding_mask=padding)


@pytest.mark.torch
def test_need_weights_false_and_unbatched_match_pytorch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 8))
    _run(*_pair(embed_dim=8, num_heads=2), x, x, x)
    y = rng.standard_normal((5, 2, 8))
    _run(*_pair(embed_dim=8, num_heads=2), y, y, y, need_weights=False)


@pytest.mark.torch
def test_parameter_names_shapes_and_repr_match_pytorch():
    for cfg in (dict(embed_dim=8, num_heads=2), dict(embed_dim=8, num_heads=2, kdim=4, vdim=5),
                dict(embed_dim=6, num_heads=3, bias=False)):
        ours, theirs = _pair(**cfg)
        assert repr(ours) == repr(theirs)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
        assert list(ours.state_dict()) == list(theirs.state_dict())


def test_initialisation_follows_pytorch():
    gt.manual_seed(0)
    m = MultiheadAttention(8, 2)
    bound = np.sqrt(6 / (8 + 24))  # xavier_uniform_ over the stacked (3E, E) in_proj_weight
    w = m.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not m.in_proj_bias.detach().numpy().any()
    assert not m.out_proj.bias.detach().numpy().any()


def test_dropout_on_attention_weights_only_in_training():
    gt.manual_seed(0)
    m = MultiheadAttention(8, 2, dropout=0.5)
    x = gt.randn(4, 2, 8)
    m.eval()
    a, b = m(x, x, x)[0], m(x, x, x)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    m.train()
    assert not np.allclose(m(x, x, x)[0].detach().numpy(), a.detach().numpy())


def test_mask_shape_errors():
    m = MultiheadAttention(8, 2)
    x = gt.randn(4, 2, 8)
    with pytest.raises(RuntimeError, match="The shape of the 2D attn_mask is"):
        m(x, x, x, attn_mask=gt.zeros(3, 4))
    with pytest.raises(RuntimeError, match="expecting key_padding_mask shape of"):
        m(x, x, x, key_padding_mask=gt.zeros(2, 3).to(gt.bool))
