"""Short-time Fourier transforms: ``stft`` (frames of a signal -> complex spectra) and ``istft``
(overlap-add of the inverse transforms, divided by the summed squared window), as PyTorch
computes them. Neither is differentiable: the spectra are complex, and autograd does not reach
complex tensors (ops/complex_support.py)."""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.errors import ArgumentError, ShapeError
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import OpKind, SampleInput, Saves, register

_PAD_MODES = {"reflect": "reflect", "constant": "constant", "replicate": "edge",
              "circular": "wrap"}


def _window(xp, window, win_length: int, n_fft: int, real_dt):
    """The window zero-padded to ``n_fft`` (centered), as PyTorch pads a shorter one."""
    if not 0 < win_length <= n_fft:
        raise ArgumentError(f"stft: expected 0 < win_length <= n_fft, but got "
                            f"win_length={win_length}")
    w = xp.ones(win_length, real_dt) if window is None else window
    if w.ndim != 1 or w.shape[0] != win_length:
        raise ShapeError(f"stft: expected a 1D window tensor of size equal to win_length="
                         f"{win_length}, but got window with size {list(w.shape)}")
    left = (n_fft - win_length) // 2
    return xp.pad(w, (left, n_fft - win_length - left))


def _check_lengths(n_fft: int, hop: int, name: str) -> None:
    if n_fft <= 0:
        raise ArgumentError(f"{name}: expected 0 < n_fft, but got n_fft={n_fft}")
    if hop <= 0:
        raise ArgumentError(f"{name}: expected hop_length > 0, but got hop_length={hop}")


def _hop_and_window(n_fft, hop_length, win_length, name):
    """(hop, window length), PyTorch's defaults (n_fft // 4, n_fft) filled in and checked."""
    hop = n_fft // 4 if hop_length is None else hop_length
    _check_lengths(n_fft, hop, name)
    return hop, (n_fft if win_length is None else win_length)


def _stft_layout(shape, n_fft, hop_length, win_length, center, onesided, is_complex):
    """(hop, win_length, n_frames, onesided) of stft on a signal of ``shape``."""
    hop, win = _hop_and_window(n_fft, hop_length, win_length, "stft")
    if len(shape) not in (1, 2):
        raise ShapeError(f"stft: expected a 1D or 2D tensor, but got {len(shape)}D")
    length = shape[-1] + (2 * (n_fft // 2) if center else 0)
    if not 0 < n_fft <= length:
        raise ArgumentError(f"stft: expected 0 < n_fft <= {length}, but got n_fft={n_fft}")
    one = not is_complex if onesided is None else onesided
    if one and is_complex:
        raise ArgumentError("Cannot have onesided output if window or input is complex")
    return hop, win, 1 + (length - n_fft) // hop, one


def _stft(xp, x, n_fft, hop_length, win_length, window, center, pad_mode, normalized,
          onesided, return_complex):
    is_complex = x.dtype.kind == "c"
    if return_complex is None and not is_complex:
        raise ArgumentError("stft requires the return_complex parameter be given for real "
                            "inputs, and will further require that return_complex=True in a "
                            "future PyTorch release.")
    hop, win, n_frames, one = _stft_layout(x.shape, n_fft, hop_length, win_length, center,
                                           onesided, is_complex)
    real_dt = x.real.dtype if is_complex else x.dtype
    w = _window(xp, window, win, n_fft, real_dt)
    if center:
        if pad_mode not in _PAD_MODES:
            raise ArgumentError(f"stft: unknown pad_mode {pad_mode!r}; expected one of "
                                f"{sorted(_PAD_MODES)}")
        pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
        x = xp.pad(x, pad, mode=_PAD_MODES[pad_mode])
    starts = xp.arange(n_frames) * hop
    frames = x[..., starts[:, None] + xp.arange(n_fft)[None, :]] * w  # (..., frames, n_fft)
    spec = xp.fft.rfft(frames, axis=-1) if one else xp.fft.fft(frames, axis=-1)
    if normalized:
        spec = spec / np.sqrt(n_fft)
    out = xp.swapaxes(spec, -1, -2).astype(dtypes.from_numpy(real_dt).to_complex().np)
    if return_complex is False:   # PyTorch's older layout: (real, imag) pairs
        return xp.stack([out.real, out.imag], axis=-1)
    return out


def _stft_meta(x, n_fft, hop_length=None, win_length=None, window=None, center=True,
               pad_mode="reflect", normalized=False, onesided=None, return_complex=None):
    _, _, n_frames, one = _stft_layout(tuple(x.shape), n_fft, hop_length, win_length, center,
                                       onesided, x.dtype.is_complex)
    shape = tuple(x.shape[:-1]) + (n_fft // 2 + 1 if one else n_fft, n_frames)
    cdt = x.dtype.to_complex()
    if return_complex is False:
        return TensorMeta(cdt.to_real(), shape + (2,), x.device)
    return TensorMeta(cdt, shape, x.device)


def _stft_samples(dtype=dtypes.float64):
    if dtype not in (dtypes.float32, dtypes.float64):
        return []
    t = SampleMaker(150).tensor
    win = t((6,), dtype, 0.1, 1.0)
    return [SampleInput((t((10,), dtype), 7), {"return_complex": True}, name="defaults"),
            SampleInput((t((2, 20), dtype), 8, 3, 6, win), {"return_complex": True},
                        name="window_batch"),
            SampleInput((t((16,), dtype), 4), {"center": False, "normalized": True,
                                               "return_complex": True}, name="no_center"),
            SampleInput((t((12,), dtype), 6), {"pad_mode": "constant", "onesided": False,
                                               "return_complex": True}, name="twosided"),
            SampleInput((t((12,), dtype), 6), {"return_complex": False}, name="real_pairs")]


register("stft(Tensor self, int n_fft, int? hop_length=None, int? win_length=None, "
         "Tensor? window=None, bool center=True, str pad_mode='reflect', bool normalized=False, "
         "bool? onesided=None, bool? return_complex=None) -> Tensor", OpKind.OPAQUE,
         kernel=_stft, meta=_stft_meta, samples=_stft_samples, differentiable=False,
         saves=Saves.NOTHING,
         doc="Short-time Fourier transform: the spectra (frequencies x frames) of windowed "
             "frames every ``hop_length`` samples.")


# --- istft ---------------------------------------------------------------------------------------
def _istft_layout(shape, n_fft, hop_length, win_length, center, onesided, length):
    hop, win = _hop_and_window(n_fft, hop_length, win_length, "istft")
    if len(shape) not in (2, 3):
        raise ShapeError(f"istft: expected a 2D or 3D complex tensor, but got {len(shape)}D")
    n_freqs, n_frames = shape[-2], shape[-1]
    one = n_freqs != n_fft if onesided is None else onesided
    if one and n_freqs != n_fft // 2 + 1:
        raise ShapeError(f"istft: expected the frequency dimension (3rd to the last) of the "
                         f"input tensor to match n_fft / 2 + 1 when onesided=True, but got "
                         f"{n_freqs}")
    if not one and n_freqs != n_fft:
        raise ShapeError(f"istft: expected the frequency dimension (3rd to the last) of the "
                         f"input tensor to match n_fft when onesided=False, but got {n_freqs}")
    full = n_fft + hop * (n_frames - 1)
    start = n_fft // 2 if center else 0
    end = start + length if length is not None else (full - n_fft // 2 if center else full)
    return hop, win, one, full, start, end


def _istft(xp, spec, n_fft, hop_length, win_length, window, center, normalized, onesided,
           length, return_complex):
    if spec.dtype.kind != "c":
        raise ArgumentError("istft requires a complex-valued input tensor")
    hop, win, one, full, start, end = _istft_layout(spec.shape, n_fft, hop_length, win_length,
                                                    center, onesided, length)
    real_dt = spec.real.dtype
    w = _window(xp, window, win, n_fft, real_dt)
    frames = xp.swapaxes(spec, -1, -2)   # (..., frames, freqs)
    if normalized:
        frames = frames * np.sqrt(n_fft)
    if one:
        if return_complex:
            raise ArgumentError("cannot have onesided output if window or input is complex")
        frames = xp.fft.irfft(frames, n=n_fft, axis=-1)
    else:
        frames = xp.fft.ifft(frames, axis=-1)
        if not return_complex:
            frames = frames.real
    frames = frames * w
    n_frames = frames.shape[-2]
    out = xp.zeros(frames.shape[:-2] + (full,), frames.dtype)
    envelope = xp.zeros(full, real_dt)
    for t in range(n_frames):
        out[..., t * hop:t * hop + n_fft] += frames[..., t, :]
        envelope[t * hop:t * hop + n_fft] += w * w
    stop = min(end, full)
    window_sum = envelope[start:stop]
    if window_sum.size and float(xp.abs(window_sum).min()) < 1e-11:
        raise ArgumentError("istft: window overlap add min: the squared windows sum to (near) "
                            "zero somewhere in the output; use a window that overlaps")
    out = out[..., start:stop] / window_sum
    if end > full:
        out = xp.concatenate([out, xp.zeros(out.shape[:-1] + (end - full,), out.dtype)], -1)
    cdt = dtypes.from_numpy(real_dt).to_complex()
    return out.astype(cdt.np if return_complex else real_dt)


def _istft_meta(spec, n_fft, hop_length=None, win_length=None, window=None, center=True,
                normalized=False, onesided=None, length=None, return_complex=False):
    _, _, _, _, start, end = _istft_layout(tuple(spec.shape), n_fft, hop_length, win_length,
                                           center, onesided, length)
    dt = spec.dtype if return_complex else spec.dtype.to_real()
    return TensorMeta(dt, tuple(spec.shape[:-2]) + (end - start,), spec.device)


def _istft_samples(dtype=dtypes.float64):
    if dtype not in (dtypes.float32, dtypes.float64):
        return []
    t = SampleMaker(151).tensor
    spec = _stft(np, t((10,), dtype)._data, 7, None, None, None, True, "reflect", False, None,
                 True)
    batch = _stft(np, t((2, 20), dtype)._data, 8, 2, None, None, True, "reflect", False, None,
                  True)
    # NOTE: graphtorch.tensor imports the ops package: a module-level import cycles
    from graphtorch.tensor import Tensor

    return [SampleInput((Tensor._wrap(spec), 7), name="defaults"),
            SampleInput((Tensor._wrap(batch), 8, 2), {"length": 18}, name="batch_length"),
            SampleInput((Tensor._wrap(batch), 8, 2), {"normalized": True, "length": 23},
                        name="normalized_longer")]


register("istft(Tensor self, int n_fft, int? hop_length=None, int? win_length=None, "
         "Tensor? window=None, bool center=True, bool normalized=False, bool? onesided=None, "
         "int? length=None, bool return_complex=False) -> Tensor", OpKind.OPAQUE,
         kernel=_istft, meta=_istft_meta, samples=_istft_samples, differentiable=False,
         saves=Saves.NOTHING,
         doc="Inverse short-time Fourier transform: overlap-added inverse FFTs of the frames, "
             "divided by the summed squared window.")
