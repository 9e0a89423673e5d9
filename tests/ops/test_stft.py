"""stft / istft beyond the registry samples: round trips, errors, gradients refused, script."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import ArgumentError, AutogradError


@pytest.mark.parametrize("n_fft,hop,win", [(16, 4, None), (8, 2, 6), (7, None, None)])
def test_istft_inverts_stft(n_fft, hop, win):
    x = gt.tensor(np.random.default_rng(0).standard_normal((2, 40)))
    window = None if win is None else gt.tensor(np.hanning(win + 2)[1:-1])
    spec = gt.stft(x, n_fft, hop, win, window, return_complex=True)
    back = gt.istft(spec, n_fft, hop, win, window, length=40)
    np.testing.assert_allclose(back.numpy(), x.numpy(), atol=1e-10)


@pytest.mark.torch
def test_complex_input_and_padding_modes_match_pytorch():
    import torch

    rng = np.random.default_rng(1)
    z = (rng.standard_normal(20) + 1j * rng.standard_normal(20)).astype(np.complex64)
    ours = gt.stft(gt.tensor(z), 8, 3, return_complex=True)
    theirs = torch.stft(torch.tensor(z), 8, 3, return_complex=True)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)
    x = rng.standard_normal(20).astype(np.float32)
    for mode in ("constant", "replicate", "circular"):
        ours = gt.stft(gt.tensor(x), 6, pad_mode=mode, return_complex=True)
        theirs = torch.stft(torch.tensor(x), 6, pad_mode=mode, return_complex=True)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)


def test_errors():
    with pytest.raises(ArgumentError, match="requires the return_complex parameter"):
        gt.stft(gt.ones(10), 4)
    with pytest.raises(ArgumentError, match="expected 0 < n_fft <= 10"):
        gt.stft(gt.ones(10), 15, center=False, return_complex=True)
    with pytest.raises(ArgumentError, match="istft requires a complex-valued input"):
        gt.istft(gt.ones(5, 3), 8)
    with pytest.raises(ArgumentError, match="window overlap add min"):
        gt.istft(gt.stft(gt.ones(16), 4, return_complex=True), 4, window=gt.zeros(4))
    with pytest.raises(AutogradError, match="autograd through complex tensors"):
        gt.stft(gt.ones(16, requires_grad=True), 4, return_complex=True)
    spec = gt.stft(gt.ones(16), 4, return_complex=True)
    with pytest.raises(AutogradError, match="autograd through complex tensors"):
        gt.istft(spec, 4, window=gt.ones(4, requires_grad=True))


def _spectrum(x: gt.Tensor, n_fft: int) -> gt.Tensor:
    return gt.stft(x, n_fft, return_complex=True)


def _signal(spec: gt.Tensor, n_fft: int) -> gt.Tensor:
    return gt.istft(spec, n_fft)


def test_scripted_matches_eager():
    x = gt.tensor(np.random.default_rng(2).standard_normal(10).astype(np.float32))
    spec = gt.jit.script(_spectrum)(x, 7)
    assert spec.dtype is gt.complex64 and spec.tolist() == _spectrum(x, 7).tolist()
    back = gt.jit.script(_signal)(spec, 7)
    assert back.tolist() == _signal(spec, 7).tolist()
    np.testing.assert_allclose(back.numpy(), x.numpy(), atol=1e-6)
