"""Recurrent layers inside a trace: recorded as one call to a scripted module, so the loop over
time steps stays a loop and the traced graph runs at any sequence length.

A plain tensor input calls the layer itself, scripted. A ``PackedSequence`` input is padded in
the trace (as eager does, with tensor ops, so the lengths stay graph values) and the recurrence
runs in a scripted :class:`MaskedRecurrence`: the same parameters (the same objects, under the
same names) and a per-step mask where a finished sequence keeps its state and outputs zeros.
"""

from __future__ import annotations

import graphtorch as gt
from graphtorch.errors import TracingError
from graphtorch.frontend.script import script
from graphtorch.nn.module import Module
from graphtorch.nn.rnn import GRU, LSTM, RNN, RNNBase, _permute_hidden
from graphtorch.nn.utils.rnn import PackedSequence, pack_sorted, pad_sorted, step_mask
from graphtorch.tensor import Tensor

__all__ = ["MaskedRecurrence", "is_recurrent", "scripted_layer"]


_LIBRARY_FORWARDS = (RNN.forward, LSTM.forward, GRU.forward)


def is_recurrent(module) -> bool:
    """Whether ``module`` is an RNN / LSTM / GRU layer with the library's own forward (recorded
    as one scripted call; a subclass that overrides forward is traced into like any module)."""
    return isinstance(module, RNNBase) and type(module).forward in _LIBRARY_FORWARDS


def scripted_layer(module: RNNBase, packed: bool):
    """The scripted module a trace calls for ``module``: the layer itself, or (packed input) a
    :class:`MaskedRecurrence` over its parameters."""
    if not packed:
        return script(module)
    rec = MaskedLSTMRecurrence(module) if module.mode == "LSTM" else MaskedRecurrence(module)
    return script(rec)


def packed_call(call, module: RNNBase, packed: PackedSequence, hx):
    """``module(packed, hx)`` with the recurrence run by ``call(padded, mask, h0, c0)``; the
    padding and packing around it are tensor ops (recorded by the active trace)."""
    padded, lengths = pad_sorted(packed.data, packed.batch_sizes, 0.0, None)
    mask = step_mask(lengths, padded.shape[0]).unsqueeze(2)
    if hx is not None and packed.sorted_indices is not None:
        hx = _permute_hidden(hx, packed.sorted_indices)
    if module.mode == "LSTM":
        if hx is not None and not isinstance(hx, tuple):
            raise TypeError("LSTM expects hx as a tuple (h_0, c_0)")
        h0, c0 = hx if hx is not None else (None, None)
        output, h_n, c_n = call(padded, mask, h0, c0)
        hidden = (h_n, c_n)
    else:
        if isinstance(hx, tuple):
            raise TracingError(f"{type(module).__name__} expects hx as a tensor, got a tuple")
        output, hidden = call(padded, mask, hx, None)
    if packed.unsorted_indices is not None:
        hidden = _permute_hidden(hidden, packed.unsorted_indices)
    data, _ = pack_sorted(output, lengths)
    return PackedSequence(data, packed.batch_sizes, packed.sorted_indices,
                          packed.unsorted_indices), hidden


class MaskedRecurrence(Module):
    """RNN / GRU over a padded time-major batch with a (T, B, 1) step mask; scripted, never run
    eagerly. Holds the layer's own parameters under the layer's names."""

    def __init__(self, layer: RNNBase):
        super().__init__()
        for name, p in layer._parameters.items():
            self._parameters[name] = p
        self._flat_weights_names = list(layer._parameters)
        self.mode = layer.mode
        self.num_layers = layer.num_layers
        self.bidirectional = layer.bidirectional
        self.dropout = float(layer.dropout)
        self.hidden_size = layer.hidden_size
        self.proj_size = layer.proj_size
        self.training = layer.training

    def forward(self, input: Tensor, mask: Tensor, hx: Tensor | None = None,
                cx: Tensor | None = None):
        directions = 2 if self.bidirectional else 1
        if hx is None:
            h0 = gt.zeros([self.num_layers * directions, input.size(1), self.hidden_size],
                          dtype=input.dtype)
        else:
            h0 = hx
        out, h_n, c_list = _masked_layers(self._flat_weights, input, mask, h0, None, self.mode,
                                          self.dropout, self.training, self.num_layers)
        return out, h_n


class MaskedLSTMRecurrence(MaskedRecurrence):
    """:class:`MaskedRecurrence` for LSTM: (output, h_n, c_n)."""

    def forward(self, input: Tensor, mask: Tensor, hx: Tensor | None = None,
                cx: Tensor | None = None):
        directions = 2 if self.bidirectional else 1
        h_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        if hx is None:
            h0 = gt.zeros([self.num_layers * directions, input.size(1), h_size],
                          dtype=input.dtype)
        else:
            h0 = hx
        if cx is None:
            c0 = gt.zeros([self.num_layers * directions, input.size(1), self.hidden_size],
                          dtype=input.dtype)
        else:
            c0 = cx
        out, h_n, c_list = _masked_layers(self._flat_weights, input, mask, h0, c0, self.mode,
                                          self.dropout, self.training, self.num_layers)
        return out, h_n, gt.stack(c_list, 0)


def _masked_direction(x: Tensor, mask: Tensor, h: Tensor, c: Tensor | None, w_ih: Tensor,
                      w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None,
                      w_hr: Tensor | None, mode: str, reverse: bool):
    """One layer in one direction: (outputs (T, B, H), h_T, c_T); a masked-out step keeps the
    state and outputs zeros (eager's packed path, step for step)."""
    if reverse:
        x = x.flip([0])
        mask = mask.flip([0])
    steps = gt.linear(x, w_ih, b_ih).unbind(0)
    keep = mask.unbind(0)
    outs = []
    for t in range(len(steps)):
        gi = steps[t]
        k = keep[t]
        h_prev = h
        if mode == "LSTM":
            assert c is not None
            c_prev = c
            gates = (gi + gt.linear(h, w_hh, b_hh)).chunk(4, 1)
            c_new = gates[1].sigmoid() * c + gates[0].sigmoid() * gates[2].tanh()
            h_new = gates[3].sigmoid() * c_new.tanh()
            if w_hr is not None:
                h_new = gt.linear(h_new, w_hr)
            c = gt.where(k, c_new, c_prev)
        elif mode == "GRU":
            i_g = gi.chunk(3, 1)
            h_g = gt.linear(h, w_hh, b_hh).chunk(3, 1)
            r = (i_g[0] + h_g[0]).sigmoid()
            z = (i_g[1] + h_g[1]).sigmoid()
            n = (i_g[2] + r * h_g[2]).tanh()
            h_new = n + z * (h - n)
        elif mode == "RNN_RELU":
            h_new = (gi + gt.linear(h, w_hh, b_hh)).relu()
        else:
            h_new = (gi + gt.linear(h, w_hh, b_hh)).tanh()
        outs.append(h_new * k)
        h = gt.where(k, h_new, h_prev)
    out = gt.stack(outs, 0)
    if reverse:
        out = out.flip([0])
    return out, h, c


def _masked_layers(weights, x: Tensor, mask: Tensor, h0: Tensor, c0: Tensor | None,
                   mode: str, dropout: float, training: bool, num_layers: int):
    """All layers over a padded time-major batch: (output, h_n, [c_n per layer/direction])."""
    hs = h0.unbind(0)
    cs = hs
    if c0 is not None:
        cs = c0.unbind(0)
    h_n = []
    c_n = []
    k = 0
    layer_input = x
    layer = 0
    for layer_w in weights:
        outs = []
        d = 0
        for w in layer_w:
            c = cs[k] if c0 is not None else None
            out, h, c = _masked_direction(layer_input, mask, hs[k], c, w[0], w[1], w[2], w[3],
                                          w[4], mode, d == 1)
            outs.append(out)
            h_n.append(h)
            if c is not None:
                c_n.append(c)
            k += 1
            d += 1
        layer_input = gt.cat(outs, 2)
        layer += 1
        if dropout > 0.0 and training and layer < num_layers:
            layer_input = gt.dropout(layer_input, dropout, True)
    return layer_input, gt.stack(h_n, 0), c_n
