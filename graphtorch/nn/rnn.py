"""Recurrent layers: RNN (tanh/relu), LSTM, GRU and their single-step cells.

Parameter names, shapes, gate order (LSTM: i, f, g, o; GRU: r, z, n) and initialisation
U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) are PyTorch's, so state_dicts are exchangeable. The
forward passes are written with registry ops only (one input projection per layer and direction,
then per step a matmul and the gate arithmetic), so graph mode sees every part. In eager mode
each layer and direction instead runs as one fused autograd node (:mod:`graphtorch.nn._rnn_fused`:
preallocated outputs, one matmul per step, a fused backward). ``PackedSequence`` inputs run as
padded batches with a per-step mask (a finished sequence keeps its state and outputs zeros).
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings

import graphtorch as gt
from graphtorch.nn import init
from graphtorch.nn._rnn_fused import FusedRNNLayer
from graphtorch.nn.module import Module
from graphtorch.nn.parameter import Parameter
from graphtorch.nn.utils.rnn import PackedSequence, pack_sorted, pad_sorted, step_mask
from graphtorch.ops.dispatch import TracerWarning, active_tracer
from graphtorch.tensor import Tensor

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}

# eager layers run the fused kernels; False forces the op-by-op path (tests compare the two)
USE_FUSED_KERNELS = True


def _use_fused(w_hr) -> bool:
    return USE_FUSED_KERNELS and w_hr is None and active_tracer() is None


def _warn_if_traced(module: Module, input) -> None:
    """While tracing, the loop over time steps is unrolled into the trace: say so."""
    tracer = active_tracer()
    if tracer is None or not tracer.recording():
        return
    data = input.data if isinstance(input, PackedSequence) else input
    warnings.warn(f"{type(module).__name__}: the trace unrolls the loop over the time steps of "
                  f"this input ({tuple(int(n) for n in data.shape)}); the traced graph raises on "
                  f"a sequence of another length", TracerWarning, stacklevel=4)


def _permute_hidden(hx, order: Tensor):
    """``hx`` (a tensor or LSTM's (h, c)) with its batch dimension reordered by ``order``."""
    if isinstance(hx, tuple):
        return tuple(h.index_select(1, order) for h in hx)
    return hx.index_select(1, order)


# --- one step of each cell (shared by the layers and the cells) ---------------------------------
def _rnn_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, relu: bool) -> Tensor:
    pre = gi + gt.linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _lstm_step(gi: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor | None):
    i, f, g, o = (gi + gt.linear(h, w_hh, b_hh)).chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _gru_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    i_r, i_z, i_n = gi.chunk(3, 1)
    h_r, h_z, h_n = gt.linear(h, w_hh, b_hh).chunk(3, 1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return n + z * (h - n)  # == (1 - z) * n + z * h


class RNNBase(Module):
    """Multi-layer, optionally bidirectional recurrent layer (the base of RNN, LSTM and GRU)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError("hidden_size must be an integer greater than zero")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError("num_layers must be an integer greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        # NOTE: with proj_size, h (and so each layer's output) is projected to proj_size
        out_size = proj_size or hidden_size
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out_size * directions
            for d in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if d == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_in)),
                          ("weight_hh", (gate_size, out_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name + suffix,
                            Parameter(gt.empty(shape, device=device, dtype=dtype)))
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self) -> list[list[Parameter]]:
        per = (4 if self.bias else 2) + (1 if self.proj_size else 0)
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i:i + per]] for i in range(0, len(names), per)]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    def flatten_parameters(self) -> None:
        """A no-op: PyTorch packs cuDNN weights here; graphtorch keeps them as they are."""

    # --- forward ------------------------------------------------------------------------------
    def _weights(self, layer: int, direction: int):
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        w_ih = getattr(self, "weight_ih" + suffix)
        w_hh = getattr(self, "weight_hh" + suffix)
        b_ih = getattr(self, "bias_ih" + suffix) if self.bias else None
        b_hh = getattr(self, "bias_hh" + suffix) if self.bias else None
        w_hr = getattr(self, "weight_hr" + suffix) if self.proj_size else None
        return w_ih, w_hh, b_ih, b_hh, w_hr

    def _check_input(self, input: Tensor, hx) -> bool:
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        weight = self.weight_ih_l0
        if input.dtype != weight.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight.dtype}). Convert input: input.to({weight.dtype}), or "
                             f"convert model: model.to({input.dtype})")
        batched = input.dim() == 3
        states = hx if isinstance(hx, tuple) else (hx,)
        for h in states:
            if h is not None and h.dim() != (3 if batched else 2):
                kind = "3-D" if batched else "2-D"
                raise RuntimeError(f"For {'batched' if batched else 'unbatched'} "
                                   f"{3 if batched else 2}-D input, hx should also be {kind} but "
                                   f"got {h.dim()}-D tensor")
        return batched

    def _run_direction(self, x: Tensor, state: tuple, layer: int, direction: int, mask):
        """One layer in one direction over (T, B, in); returns (outputs (T, B, H), state).

        ``mask`` ((T, B, 1) bool tensor, or None): where false, the step is skipped for that row.
        """
        w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, direction)
        if _use_fused(w_hr):
            recompute = functools.partial(self._recompute, layer, direction, mask)
            res = FusedRNNLayer.apply(x, state[0], state[1], w_ih, w_hh, b_ih, b_hh, self.mode,
                                      direction == 1, None if mask is None else mask._data,
                                      recompute)
            if self.mode == "LSTM":
                return res[0], (res[1], res[2])
            return res[0], (res[1], None)
        return self._run_ops(x, state, layer, direction, mask)

    def _recompute(self, layer: int, direction: int, mask, x: Tensor, h0: Tensor, c0):
        out, (h, c) = self._run_ops(x, (h0, c0), layer, direction, mask)
        return out, h, c

    def _run_ops(self, x: Tensor, state: tuple, layer: int, direction: int, mask):
        """The op-by-op layer (graph mode, double backward, LSTM projections)."""
        w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, direction)
        keep = mask.unbind(0) if mask is not None else None
        steps = gt.linear(x, w_ih, b_ih).unbind(0)  # NOTE: one matmul for all time steps
        order = range(len(steps) - 1, -1, -1) if direction == 1 else range(len(steps))
        outs = [None] * len(steps)
        h = state[0]
        c = state[1] if self.mode == "LSTM" else None
        for t in order:
            h_prev, c_prev = h, c
            if self.mode == "LSTM":
                h, c = _lstm_step(steps[t], h, c, w_hh, b_hh)
                if w_hr is not None:
                    h = gt.linear(h, w_hr)
            elif self.mode == "GRU":
                h = _gru_step(steps[t], h, w_hh, b_hh)
            else:
                h = _rnn_step(steps[t], h, w_hh, b_hh, self.mode == "RNN_RELU")
            if keep is not None:
                outs[t] = h * keep[t]
                h = gt.where(keep[t], h, h_prev)
                if c is not None:
                    c = gt.where(keep[t], c, c_prev)
            else:
                outs[t] = h
        return gt.stack(outs, 0), (h, c)

    def _forward(self, input, hx):
        _warn_if_traced(self, input)
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        return self._forward_padded(input, hx, None, self.batch_first)

    def _forward_packed(self, packed: PackedSequence, hx):
        """Run on the padded batch in the packed (sorted) order with a step mask, then pack the
        output like the input; ``hx`` and ``h_n`` are in the original batch order, as in
        PyTorch. Tensor ops only, so a trace keeps the lengths a function of its inputs."""
        padded, lengths = pad_sorted(packed.data, packed.batch_sizes, 0.0, None)
        mask = step_mask(lengths, padded.shape[0]).unsqueeze(2)
        if hx is not None and packed.sorted_indices is not None:
            hx = _permute_hidden(hx, packed.sorted_indices)
        # NOTE: a packed input is time-major whatever batch_first says
        output, hidden = self._forward_padded(padded, hx, mask, False)
        if packed.unsorted_indices is not None:
            hidden = _permute_hidden(hidden, packed.unsorted_indices)
        data, _ = pack_sorted(output, lengths)
        return PackedSequence(data, packed.batch_sizes, packed.sorted_indices,
                              packed.unsorted_indices), hidden

    def _forward_padded(self, input: Tensor, hx, mask, batch_first: bool):
        batched = self._check_input(input, hx)
        if not batched:
            input = input.unsqueeze(1)
            if hx is not None:
                if isinstance(hx, tuple):
                    hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
                else:
                    hx = hx.unsqueeze(1)
        elif batch_first:
            input = input.transpose(0, 1)
        directions = 2 if self.bidirectional else 1
        batch = input.shape[1]
        shape = (self.num_layers * directions, batch, self.hidden_size)
        h_shape = shape[:2] + (self.proj_size or self.hidden_size,)
        if hx is None:
            opts = {"dtype": input.dtype, "device": input.device}
            hx = (gt.zeros(h_shape, **opts), gt.zeros(shape, **opts)) if self.mode == "LSTM" \
                else gt.zeros(shape, **opts)
        states = hx if isinstance(hx, tuple) else (hx,)
        for i, h in enumerate(states):
            want = h_shape if i == 0 else shape
            if tuple(h.shape) != want:
                which = f"hidden[{i}]" if len(states) > 1 else "hidden"
                raise RuntimeError(f"Expected {which} size {want}, got {list(h.shape)}")
        h0 = (hx[0] if self.mode == "LSTM" else hx).unbind(0)
        c0 = hx[1].unbind(0) if self.mode == "LSTM" else [None] * len(h0)
        layer_input = input
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                k = layer * directions + d
                out, (h, c) = self._run_direction(layer_input, (h0[k], c0[k]), layer, d, mask)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            layer_input = outs[0] if directions == 1 else gt.cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = gt.dropout(layer_input, self.dropout, True)
        output = layer_input
        h_n = gt.stack(h_n, 0)
        c_n = gt.stack(c_n, 0) if self.mode == "LSTM" else None
        if not batched:
            output = output.squeeze(1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif batch_first:
            output = output.transpose(0, 1)
        return output, (h_n, c_n) if self.mode == "LSTM" else h_n


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu).

    >>> import graphtorch as gt
    >>> rnn = RNN(4, 3, num_layers=2)
    >>> out, h = rnn(gt.randn(5, 2, 4))
    >>> tuple(out.shape), tuple(h.shape)
    ((5, 2, 3), (2, 2, 3))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None):
        return self._forward(input, hx)


class LSTM(RNNBase):
    """Long short-term memory; gates (i, f, g, o) stacked in that order in the weights."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        if hx is not None and not isinstance(hx, tuple):
            raise TypeError("LSTM expects hx as a tuple (h_0, c_0)")
        return self._forward(input, hx)


class GRU(RNNBase):
    """Gated recurrent unit; gates (r, z, n) stacked in that order in the weights."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None):
        return self._forward(input, hx)


# --- cells ----------------------------------------------------------------------------------------
class RNNCellBase(Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(gt.empty((g, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(gt.empty((g, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(gt.empty(g, device=device, dtype=dtype))
            self.bias_hh = Parameter(gt.empty(g, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = self.__dict__.get("nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return s

    def _prepare(self, input: Tensor, hx):
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{input.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            zeros = gt.zeros((input.shape[0], self.hidden_size), dtype=input.dtype,
                             device=input.device)
            hx = (zeros, zeros) if isinstance(self, LSTMCell) else zeros
        elif not batched:
            if isinstance(hx, tuple):
                hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
            else:
                hx = hx.unsqueeze(0)
        for i, h in enumerate(hx if isinstance(hx, tuple) else (hx,)):
            if h.shape[0] != input.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{i} "
                                   f"batch size {h.shape[0]}")
        return input, hx, batched


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, batched = self._prepare(input, hx)
        h = _rnn_step(gt.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh,
                      self.bias_hh, self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        x, (h, c), batched = self._prepare(input, hx)
        h, c = _lstm_step(gt.linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh,
                          self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, batched = self._prepare(input, hx)
        h = _gru_step(gt.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh,
                      self.bias_hh)
        return h if batched else h.squeeze(0)
