"""Fused eager kernels for one RNN / LSTM / GRU layer in one direction.

Forward: one matmul projects the whole sequence through ``weight_ih`` up front; then per step
one matmul with ``weight_hh`` and in-place gate arithmetic on preallocated arrays. The layer is
ONE autograd node whose backward runs backpropagation through time on arrays and finishes with
one matmul each for ``weight_ih``, ``weight_hh`` and the input gradient. Gate order and formulas
are PyTorch's (LSTM i, f, g, o; GRU r, z, n with ``n = tanh(x W_in + b_in + r (h W_hn +
b_hn))``).

``mask`` (T, B, 1) bool, for packed sequences: where it is false a step does not happen for
that row (the state carries over, the output is zero), which serves both directions.

Graph mode uses the op-by-op path of :mod:`graphtorch.nn.rnn`. A backward with
``create_graph=True`` (double backward) recomputes the layer with that op-by-op path
(``recompute``) and differentiates it, so higher derivatives are exact.
"""

from __future__ import annotations

from graphtorch.autograd import grad as autograd_grad
from graphtorch.autograd import grad_mode
from graphtorch.autograd.function import Function
from graphtorch.tensor import Tensor


def _sigmoid_(a, xp) -> None:
    """In place: sigmoid(a) = (1 + tanh(a / 2)) / 2 (no overflow for large |a|)."""
    a *= 0.5
    xp.tanh(a, out=a)
    a += 1.0
    a *= 0.5


class FusedRNNLayer(Function):
    """``apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode, reverse, mask, recompute)`` ->
    ``(output (T, B, H), h_T, c_T)`` (``c_T`` only for LSTM); ``recompute(x, h0, c0)`` is the
    same layer written with differentiable ops (used by double backward)."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode: str, reverse: bool, mask,
                recompute):
        xp = x._xp
        xs, whh = x._data, w_hh._data
        if mask is not None:
            mask = xp.asarray(mask)  # NOTE: built with numpy; CuPy arrays need a device copy
        steps, batch = xs.shape[0], xs.shape[1]
        hidden = whh.shape[1]
        gates = xs.reshape(steps * batch, xs.shape[2]) @ xp.ascontiguousarray(w_ih._data.T)
        if b_ih is not None:
            gates += b_ih._data
        gates = gates.reshape(steps, batch, -1)
        dt = gates.dtype
        out = xp.empty((steps, batch, hidden), dtype=dt)
        hist_h = xp.empty((steps, batch, hidden), dtype=dt)
        lstm, gru = mode == "LSTM", mode == "GRU"
        hist_c = xp.empty((steps, batch, hidden), dtype=dt) if lstm else None
        tanh_c = xp.empty((steps, batch, hidden), dtype=dt) if lstm else None
        gh_n = xp.empty((steps, batch, hidden), dtype=dt) if gru else None
        h = h0._data
        c = c0._data if lstm else None
        bhh = b_hh._data if b_hh is not None else None
        whh_t = xp.ascontiguousarray(whh.T)  # NOTE: a row-major operand: BLAS is ~1.5x faster
        two, three = 2 * hidden, 3 * hidden
        if lstm:
            # sigmoid(x) = (1 + tanh(x / 2)) / 2 on i, f, o and tanh on g: one tanh over the row
            scale = xp.full(4 * hidden, 0.5, dtype=dt)
            scale[two:three] = 1.0
            shift = scale.copy()
            shift[two:three] = 0.0
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        gh = xp.empty((batch, whh.shape[0]), dtype=dt)
        if bhh is not None and not gru:
            gates += bhh  # NOTE: GRU's b_hn sits inside r * (...), so only there per step
        for t in order:
            hist_h[t] = h
            xp.matmul(h, whh_t, out=gh)
            if bhh is not None and gru:
                gh += bhh
            g = gates[t]
            if lstm:
                g += gh
                g *= scale
                xp.tanh(g, out=g)
                g *= scale
                g += shift
                hist_c[t] = c
                c_new = g[:, hidden:two] * c
                c_new += g[:, :hidden] * g[:, two:three]
                tc = tanh_c[t]
                xp.tanh(c_new, out=tc)
                h_new = g[:, three:] * tc
            elif gru:
                g[:, :two] += gh[:, :two]
                _sigmoid_(g[:, :two], xp)
                gh_n[t] = gh[:, two:]
                n = g[:, two:]
                n += g[:, :hidden] * gh[:, two:]
                xp.tanh(n, out=n)
                h_new = h - n
                h_new *= g[:, hidden:two]
                h_new += n
            else:
                g += gh
                if mode == "RNN_RELU":
                    xp.maximum(g, 0, out=g)
                else:
                    xp.tanh(g, out=g)
                h_new = g
            if mask is None:
                out[t] = h_new
                h = h_new
                c = c_new if lstm else None
            else:
                m = mask[t]
                xp.multiply(h_new, m, out=out[t])
                h = xp.where(m, h_new, h)
                c = xp.where(m, c_new, c) if lstm else None
        ctx.save_for_backward(x, w_ih, w_hh)
        ctx.inputs = (x, h0, c0, w_ih, w_hh, b_ih, b_hh)
        ctx.recompute = recompute
        ctx.arrays = (gates, hist_h, hist_c, tanh_c, gh_n)
        ctx.options = (mode, reverse, mask, b_ih is not None, b_hh is not None)
        dev = x.device
        outs = (Tensor._wrap(out, dev), Tensor._wrap(xp.array(h, copy=True), dev))
        return outs + (Tensor._wrap(xp.array(c, copy=True), dev),) if lstm else outs

    @staticmethod
    def backward(ctx, g_out, g_h, g_c=None):
        x, w_ih, w_hh = ctx.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph=True: differentiate the op-by-op layer
            return _differentiable_backward(ctx, (g_out, g_h, g_c))
        gates, hist_h, hist_c, tanh_c, gh_n = ctx.arrays
        mode, reverse, mask, has_bih, has_bhh = ctx.options
        xp = x._xp
        steps, batch, hidden = hist_h.shape
        lstm, gru = mode == "LSTM", mode == "GRU"
        whh = w_hh._data
        d_gates = xp.empty_like(gates)
        d_gh = xp.empty_like(gates) if gru else d_gates
        dh = g_h._data.copy() if g_h is not None else xp.zeros_like(hist_h[0])
        dc = None
        if lstm:
            dc = g_c._data.copy() if g_c is not None else xp.zeros_like(hist_h[0])
        dout = g_out._data if g_out is not None else None
        two, three = 2 * hidden, 3 * hidden
        order = range(steps) if reverse else range(steps - 1, -1, -1)
        for t in order:
            m = mask[t] if mask is not None else None
            dh_t = dh
            if dout is not None:
                dh_t = dh + (dout[t] if m is None else dout[t] * m)
            g, dg = gates[t], d_gates[t]
            if lstm:
                i, f, gg, o = g[:, :hidden], g[:, hidden:two], g[:, two:three], g[:, three:]
                tc = tanh_c[t]
                dc_t = dh_t * o * (1 - tc * tc) + dc
                xp.multiply(dh_t * tc, o * (1 - o), out=dg[:, three:])
                xp.multiply(dc_t * gg, i * (1 - i), out=dg[:, :hidden])
                xp.multiply(dc_t * hist_c[t], f * (1 - f), out=dg[:, hidden:two])
                xp.multiply(dc_t * i, 1 - gg * gg, out=dg[:, two:three])
                dc_prev = dc_t * f
            elif gru:
                r, z, n = g[:, :hidden], g[:, hidden:two], g[:, two:]
                dn_pre = dh_t * (1 - z) * (1 - n * n)
                xp.multiply(dn_pre * gh_n[t], r * (1 - r), out=dg[:, :hidden])
                xp.multiply(dh_t * (hist_h[t] - n), z * (1 - z), out=dg[:, hidden:two])
                dg[:, two:] = dn_pre
                dgh = d_gh[t]
                dgh[:, :two] = dg[:, :two]
                xp.multiply(dn_pre, r, out=dgh[:, two:])
            elif mode == "RNN_RELU":
                xp.multiply(dh_t, g > 0, out=dg)
            else:
                xp.multiply(dh_t, 1 - g * g, out=dg)
            if m is not None:
                dg *= m
                if gru:
                    d_gh[t] *= m
            dh_prev = d_gh[t] @ whh
            if gru:
                dh_prev += dh_t * z
            if m is None:
                dh = dh_prev
                dc = dc_prev if lstm else None
            else:
                dh = xp.where(m, dh_prev, dh_t)
                dc = xp.where(m, dc_prev, dc) if lstm else None
        rows = steps * batch
        flat_g = d_gates.reshape(rows, -1)
        flat_gh = d_gh.reshape(rows, -1)
        xs = x._data
        need = ctx.needs_input_grad
        dev = x.device

        def wrap(a):
            return Tensor._wrap(a, dev)

        dx = wrap((flat_g @ w_ih._data).reshape(xs.shape)) if need[0] else None
        dw_ih = wrap(flat_g.T @ xs.reshape(rows, -1)) if need[3] else None
        dw_hh = wrap(flat_gh.T @ hist_h.reshape(rows, hidden)) if need[4] else None
        db_ih = wrap(flat_g.sum(0)) if has_bih and need[5] else None
        db_hh = wrap(flat_gh.sum(0)) if has_bhh and need[6] else None
        dh0 = wrap(dh) if need[1] else None
        dc0 = wrap(dc) if lstm and need[2] else None
        return dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, None, None, None, None


def _differentiable_backward(ctx, grads: tuple) -> tuple:
    x, h0, c0 = ctx.inputs[:3]
    outputs = ctx.recompute(x, h0, c0)
    pairs = [(o, g) for o, g in zip(outputs, grads) if o is not None and g is not None]
    wanted = [i for i, t in enumerate(ctx.inputs) if t is not None and ctx.needs_input_grad[i]]
    found = autograd_grad([o for o, _ in pairs], [ctx.inputs[i] for i in wanted],
                          [g for _, g in pairs], create_graph=True, allow_unused=True)
    result: list = [None] * 11
    for i, g in zip(wanted, found):
        result[i] = g
    return tuple(result)

