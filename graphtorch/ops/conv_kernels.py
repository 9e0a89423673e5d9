"""Array kernels of the convolutions (numpy or cupy through ``xp``): forward, input and weight
gradients as im2col + matmul, written for CPU caches.

Every kernel walks the batch in chunks whose column matrix fits in a core's L2 cache (about
1 MiB): the im2col copy of a chunk is written and then read by the matmul while it is still in
cache, and the col2im adds of the input gradient read a chunk's columns right after the matmul
wrote them. The mnist example's 32->64 3x3 conv has a 663 KiB column matrix per sample; the
whole batch's is 42 MiB, so the unchunked kernels streamed it through memory two or three times.

Layouts stay per sample (N, groups, rows, positions): the forward and the input gradient write
their (N, C, *S) results directly, without transposing gradients or outputs.
"""

from __future__ import annotations

import itertools
import math

from graphtorch.ops.conv_flat import input_grad_flat, weight_grad_flat

_CHUNK_BYTES = 1 << 20   # a chunk's column matrix: about a core's L2 cache


def pad_spatial(xp, x, pads, value=0):
    """Pad (or crop, for negative high pads) the spatial dims of an (N, C, *S) array."""
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    crop = tuple(slice(0, x.shape[2 + i] + min(hi, 0)) for i, (_, hi) in enumerate(pads))
    x = x[(slice(None), slice(None)) + crop]
    size = tuple(x.shape[2 + i] + lo + max(hi, 0) for i, (lo, hi) in enumerate(pads))
    out = xp.full(x.shape[:2] + size, value, dtype=x.dtype)
    inner = tuple(slice(lo, lo + x.shape[2 + i]) for i, (lo, _) in enumerate(pads))
    out[(slice(None), slice(None)) + inner] = x
    return out


def windows(xp, x, kernel, stride, dilation, out_size=None):
    """A strided view (N, C, *out, *kernel) of every receptive field of an (N, C, *S) array."""
    nd = len(kernel)
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    win = xp.lib.stride_tricks.sliding_window_view(x, extent, axis=tuple(range(2, 2 + nd)))
    pick = tuple(slice(0, None if out_size is None else (o - 1) * s + 1, s)
                 for o, s in zip(out_size or (None,) * nd, stride))
    return win[(slice(None), slice(None)) + pick + tuple(slice(None, None, d) for d in dilation)]


def _chunk(n: int, per_sample: int, itemsize: int) -> int:
    """Samples per chunk so that a chunk's ``per_sample``-element matrices fit the cache."""
    return max(1, min(n, _CHUNK_BYTES // max(1, per_sample * itemsize)))


def _window_view(xp, x, kernel, stride, pads, dilation, groups, out_size=None):
    """im2col as a view (N, groups, C/groups, *kernel, *out) (no copy), plus the out size."""
    nd = len(kernel)
    win = windows(xp, pad_spatial(xp, x, pads), kernel, stride, dilation, out_size)
    n, c = win.shape[:2]
    out = tuple(win.shape[2:2 + nd])
    win = win.reshape((n, groups, c // groups) + win.shape[2:])
    order = (0, 1, 2) + tuple(range(3 + nd, 3 + 2 * nd)) + tuple(range(3, 3 + nd))
    return win.transpose(order), out


def conv_forward(xp, x, w, stride, pads, dilation, groups, bias=None):
    """Per-sample matmuls (O/G, Cg*K) @ (Cg*K, P), a cache-sized chunk of samples at a time,
    writing (N, O, *out) directly; ``bias`` (O,) is added to each chunk while it is in cache."""
    n, o = x.shape[0], w.shape[0]
    view, out = _window_view(xp, x, w.shape[2:], stride, pads, dilation, groups)
    rows, p = w.shape[1] * math.prod(w.shape[2:]), math.prod(out)
    wm = w.reshape(groups, o // groups, rows)
    y = xp.empty((n, groups, o // groups, p), dtype=xp.result_type(x, w))
    step = _chunk(n, groups * rows * p, y.itemsize)
    b = None if bias is None else bias.reshape(groups, o // groups, 1)
    for s in range(0, n, step):
        cols = view[s:s + step].reshape(-1, groups, rows, p)   # the chunk's im2col copy
        part = y[s:s + step]
        xp.matmul(wm, cols, out=part)
        if b is not None:
            part += b
    return y.reshape((n, o) + out)


def conv_input_grad(xp, g, w, in_size, stride, pads, dilation, groups):
    """The adjoint of ``conv_forward`` in its input (a transposed convolution): per chunk of
    samples, columns = W^T @ g, then col2im as one strided add per kernel tap."""
    n, o = g.shape[:2]
    out = tuple(g.shape[2:])
    kernel = tuple(w.shape[2:])
    og, cg = o // groups, w.shape[1]
    k, p = math.prod(kernel), math.prod(out)
    wt = w.reshape(groups, og, cg * k).transpose(0, 2, 1)
    rows = xp.ascontiguousarray(g).reshape(n, groups, og, p)
    size = tuple(lo + s + max(hi, 0) for s, (lo, hi) in zip(in_size, pads))
    buf = xp.zeros((n, groups, cg) + size, dtype=xp.result_type(g, w))
    lead = (slice(None),) * 3
    dsts = [(tap, tuple(slice(t * d, t * d + (m - 1) * s + 1, s)
                        for t, d, m, s in zip(tap, dilation, out, stride)))
            for tap in itertools.product(*(range(kk) for kk in kernel))]
    if _flat_ok(kernel, stride, dilation) and all(
            sz == m + kk - 1 for sz, m, kk in zip(size, out, kernel)) and bool(
            xp.isfinite(w).all()):
        input_grad_flat(xp, g, w, groups, buf,
                        _chunk(n, groups * og * kernel[1] * out[0] * size[1], buf.itemsize))
        return _crop(xp, buf, in_size, pads, n, groups * cg)
    step = _chunk(n, groups * cg * k * p, buf.itemsize)
    for s in range(0, n, step):
        cols = xp.matmul(wt, rows[s:s + step]).reshape((-1, groups, cg) + kernel + out)
        part = buf[s:s + step]
        # NOTE: one strided add per kernel tap (9 for 3x3), never a loop over pixels
        for tap, dst in dsts:
            part[lead + dst] += cols[lead + tap]
    return _crop(xp, buf, in_size, pads, n, groups * cg)


def _crop(xp, buf, in_size, pads, n, c):
    """The input's region of a padded (N, G, C/G, *padded) col2im buffer, as (N, C, *S)."""
    inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(in_size, pads))
    dx = buf[(slice(None),) * 3 + inner].reshape((n, c) + tuple(in_size))
    return xp.ascontiguousarray(dx)


def _flat_ok(kernel, stride, dilation) -> bool:
    """Whether the flat-shift kernels (2-D, stride 1, dilation 1) apply."""
    return len(kernel) == 2 and all(v == 1 for v in stride) and all(v == 1 for v in dilation)


def conv_weight_grad(xp, x, g, kernel, stride, pads, dilation, groups):
    """The adjoint of ``conv_forward`` in its weight: per chunk of samples, one matmul per
    group over the chunk's positions, (O/G, chunk * P) @ (chunk * P, Cg*K), accumulated."""
    n, o = g.shape[:2]
    og, cg = o // groups, x.shape[1] // groups
    if _flat_ok(kernel, stride, dilation):
        xpad = pad_spatial(xp, x, pads)
        out = tuple(g.shape[2:])
        if all(sz == m + k - 1 for sz, m, k in zip(xpad.shape[2:], out, kernel)):
            step = _chunk(n, x.shape[1] * math.prod(kernel) * out[0] * xpad.shape[3],
                          g.itemsize)
            dw = weight_grad_flat(xp, xpad, g, tuple(kernel), groups, step)
            # NOTE: a non-finite input times a padding zero is NaN; the generic path never
            # forms that product, so a non-finite result is recomputed there
            if bool(xp.isfinite(dw).all()):
                return dw.reshape((o, cg) + tuple(kernel))
    view, out = _window_view(xp, x, kernel, stride, pads, dilation, groups, tuple(g.shape[2:]))
    rows, p = cg * math.prod(kernel), math.prod(out)
    gr = g.reshape(n, groups, og, p)
    dwt = xp.zeros((groups, rows, og), dtype=xp.result_type(x, g))   # cols @ g^T: faster
    step = _chunk(n, groups * rows * p, dwt.itemsize)
    nd = len(kernel)
    order = (1, 2) + tuple(range(3, 3 + nd)) + (0,) + tuple(range(3 + nd, 3 + 2 * nd))
    for s in range(0, n, step):
        m = min(step, n - s)
        # (G, rows, chunk, P) and (G, O/G, chunk, P): K = chunk * P contiguous in both
        cols = view[s:s + m].transpose(order).reshape(groups, rows, m * p)
        gs = gr[s:s + m].transpose(1, 2, 0, 3).reshape(groups, og, m * p)
        dwt += xp.matmul(cols, gs.transpose(0, 2, 1))
    return xp.ascontiguousarray(dwt.transpose(0, 2, 1)).reshape((o, cg) + tuple(kernel))
