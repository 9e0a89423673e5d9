"""Flat-shift kernels for the gradients of 2-D convolutions with stride 1 and dilation 1.

On a row-major image of width ``wp`` the tap (a, b) of a kernel is a shift of the flattened
image by ``a * wp + b``; giving the gradient ``g`` (N, O, ho, wo) the padded input's width
(zero columns ``wo .. wp-1``) turns every im2col row and every col2im add into a contiguous
slice of a flat array:

- input gradient: the width taps go into the matmul's reduction (K = O * kw, rows = kh * C),
  the height taps stay as ``kh`` contiguous adds (3 instead of 9 strided adds for 3x3);
- weight gradient: the column matrix is ``kh * kw`` contiguous slices of the flat input, read
  against the zero-padded gradient (K = ho * wp positions).

The padded positions add products ``w * 0`` (input gradient) or ``x * 0`` (weight gradient) that
the textbook im2col never forms; they are zero unless that operand holds inf or NaN, so callers
take these paths only for finite operands. A batch is walked in cache-sized chunks like the
other conv kernels.
"""

from __future__ import annotations


def input_grad_flat(xp, g, w, groups: int, buf, step: int) -> None:
    """Add the input gradient of a stride-1 2-D conv into ``buf`` (N, G, C/G, hp, wp), the
    padded input's shape with hp = ho + kh - 1 and wp = wo + kw - 1."""
    n, o, ho, wo = g.shape
    og, cg, kh, kw = o // groups, w.shape[1], w.shape[2], w.shape[3]
    hp, wp = buf.shape[-2:]
    length = ho * wp
    # rows (a, c), columns (o, b): the height taps index rows, the width taps the reduction
    wm = xp.ascontiguousarray(
        w.reshape(groups, og, cg, kh, kw).transpose(0, 3, 2, 1, 4)).reshape(groups, kh * cg,
                                                                            og * kw)
    gz = xp.zeros((step, groups, og, kw - 1 + length), dtype=buf.dtype)
    grid = gz[..., kw - 1:].reshape(step, groups, og, ho, wp)
    shifted = xp.empty((step, groups, og, kw, length), dtype=buf.dtype)
    flat = buf.reshape(n, groups, cg, hp * wp)
    gr = g.reshape(n, groups, og, ho, wo)
    for s in range(0, n, step):
        m = min(step, n - s)
        grid[:m, ..., :wo] = gr[s:s + m]
        for b in range(kw):   # shifted[.., b, f] = g_flat[f - b] (zeros before the image)
            shifted[:m, :, :, b] = gz[:m, ..., kw - 1 - b:kw - 1 - b + length]
        t = xp.matmul(wm, shifted[:m].reshape(m, groups, og * kw, length))
        t = t.reshape(m, groups, kh, cg, length)
        part = flat[s:s + m]
        for a in range(kh):
            part[..., a * wp:a * wp + length] += t[:, :, a]


def weight_grad_flat(xp, xpad, g, kernel, groups: int, step: int):
    """The weight gradient (G, O/G, C/G * kh * kw) of a stride-1 2-D conv of the padded input
    ``xpad`` (N, C, hp, wp) whose output gradient is ``g`` (N, O, ho, wo)."""
    n, o, ho, wo = g.shape
    c, hp, wp = xpad.shape[1:]
    kh, kw = kernel
    og, cg = o // groups, c // groups
    length = ho * wp
    dtype = xp.result_type(xpad, g)
    # NOTE: accumulated transposed, cols @ g^T: ~15% faster in OpenBLAS than g @ cols^T
    dwt = xp.zeros((groups, cg * kh * kw, og), dtype=dtype)
    # chunk-major buffers: the reduction (chunk, positions) is contiguous in both operands
    gz = xp.zeros((groups, og, step, ho, wp), dtype=dtype)
    xz = xp.zeros((groups, cg, step, hp * wp + kw - 1), dtype=dtype)
    cols = xp.empty((groups, cg, kh, kw, step, length), dtype=dtype)
    gr = g.reshape(n, groups, og, ho, wo)
    xr = xpad.reshape(n, groups, cg, hp * wp)
    for s in range(0, n, step):
        m = min(step, n - s)
        gz[:, :, :m, :, :wo] = gr[s:s + m].transpose(1, 2, 0, 3, 4)
        xz[:, :, :m, :hp * wp] = xr[s:s + m].transpose(1, 2, 0, 3)
        for a in range(kh):
            for b in range(kw):
                cols[:, :, a, b, :m] = xz[:, :, :m, a * wp + b:a * wp + b + length]
        gm = gz[:, :, :m].reshape(groups, og, m * length)
        cm = cols[..., :m, :].reshape(groups, cg * kh * kw, m * length)
        dwt += xp.matmul(cm, gm.transpose(0, 2, 1))
    return xp.ascontiguousarray(dwt.transpose(0, 2, 1))
