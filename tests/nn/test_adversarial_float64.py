"""A float64 model of every layer family trains like PyTorch's to 1e-9 (no float32 leaks)."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt

pytestmark = pytest.mark.torch


def _build(nn):
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(11, 8, padding_idx=0)
            self.lstm = nn.LSTM(8, 8, num_layers=2, batch_first=True, bidirectional=True)
            self.proj = nn.Linear(16, 8)
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
            self.block = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                                    norm_first=True, activation="gelu")
            self.conv = nn.Conv1d(8, 6, 3, padding=1, padding_mode="replicate")
            self.gn = nn.GroupNorm(3, 6)
            self.bn = nn.BatchNorm1d(6)
            self.pool = nn.AdaptiveAvgPool1d(2)
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.SiLU(), nn.Linear(4, 3))

        def forward(self, idx):
            h = self.emb(idx)
            h, _ = self.lstm(h)
            h = self.proj(h)
            a, _ = self.attn(h, h, h, need_weights=False)
            h = self.block(h + a)
            h = self.conv(h.transpose(1, 2))
            h = self.bn(self.gn(h).relu())
            return self.head(self.pool(h))

    return Mixed()


def test_float64_mixed_model_trajectory():
    import torch

    torch.manual_seed(0)
    theirs = _build(torch.nn).double()
    ours = _build(gt.nn).double()
    ours.load_state_dict({k: gt.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})
    # NOTE: SGD keeps parameter differences proportional to gradient differences (Adam divides
    # near-zero gradients by their own size, which magnifies last-bit differences)
    opt = gt.optim.SGD(ours.parameters(), lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(5):
        idx = rng.integers(0, 11, (4, 7))
        y = rng.integers(0, 3, 4)
        opt.zero_grad()
        topt.zero_grad()
        loss = gt.nn.functional.cross_entropy(ours(gt.tensor(idx)), gt.tensor(y),
                                              label_smoothing=0.1)
        tloss = torch.nn.functional.cross_entropy(theirs(torch.tensor(idx)), torch.tensor(y),
                                                  label_smoothing=0.1)
        assert loss.dtype == gt.float64
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-10)
        loss.backward()
        tloss.backward()
        tp = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            assert p.grad.dtype == gt.float64, name
            np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=1e-8,
                                       atol=1e-11, err_msg=name)
        opt.step()
        topt.step()
    for name, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name].numpy(), v.numpy(), rtol=1e-8,
                                   atol=1e-10, err_msg=name)
