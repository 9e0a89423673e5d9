"""More script-ready ``forward`` methods (see library.py): activations, 3-d convolutions and
pools, dropout variants, and the recurrent layers (RNN / LSTM / GRU and their cells).

Each computes what the eager forward computes, in the script subset: the recurrent layers read
their weights through ``self._flat_weights`` (one tuple per layer, one per direction inside it,
``(w_ih, w_hh, b_ih, b_hh, w_hr)`` with None for what the layer lacks; modules.py builds it), so
the loops over layers and directions unroll at compile time.
"""

from __future__ import annotations

import math

import graphtorch as gt
import graphtorch.nn.functional as F
from graphtorch import nn
from graphtorch.tensor import Tensor


# --- activations ----------------------------------------------------------------------------------
def celu_forward(self, input):
    return gt.where(input > 0, input, (input / self.alpha).exp().sub(1.0) * self.alpha)


def selu_forward(self, input):
    return F.elu(input, 1.6732632423543772) * 1.0507009873554805


def hardsigmoid_forward(self, input):
    return (input / 6.0 + 0.5).clamp(0.0, 1.0)


def hardswish_forward(self, input):
    return input * (input / 6.0 + 0.5).clamp(0.0, 1.0)


def logsigmoid_forward(self, input):
    return -F.softplus(-input)


def softsign_forward(self, input):
    return input / (input.abs() + 1.0)


def tanhshrink_forward(self, input):
    return input - input.tanh()


def threshold_forward(self, input):
    return gt.where(input > self.threshold, input, gt.full_like(input, self.value))


def softmin_forward(self, input):
    return F.softmax(-input, self.dim)


def prelu_forward(self, input):
    w = self.weight
    if input.dim() >= 2 and w.numel() > 1:
        shape = [1, -1]
        for _ in range(input.dim() - 2):
            shape.append(1)
        w = w.reshape(shape)
    return gt.where(input > 0, input, input * w)


# --- convolution and pooling ----------------------------------------------------------------------
def conv3d_forward(self, input):
    return gt.conv3d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                     self.groups)


def conv_transpose3d_forward(self, input):
    return gt.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding,
                               self.output_padding, self.groups, self.dilation)


def adaptive_max_pool1d_forward(self, input):
    out = gt.adaptive_max_pool1d(input, self.output_size)
    if self.return_indices:
        return out
    return out[0]


def adaptive_max_pool3d_forward(self, input):
    if isinstance(self.output_size, int):
        out = gt.adaptive_max_pool3d(input, [self.output_size, self.output_size,
                                             self.output_size])
    else:
        out = gt.adaptive_max_pool3d(input, self.output_size)
    if self.return_indices:
        return out
    return out[0]


def channel_dropout_forward(self, input):
    if not self.training or self.p == 0.0:
        return input
    return gt.feature_dropout(input, self.p, True)


def _unpool_size(input: Tensor, kernel: list[int], stride: list[int], padding: list[int],
                 output_size: list[int] | None) -> list[int]:
    nd = len(kernel)
    if output_size is not None:
        size = output_size
        if len(size) == nd + 2:
            size = size[2:]
        return size
    size: list[int] = []
    for i in range(nd):
        n = input.size(input.dim() - nd + i)
        size.append((n - 1) * stride[i] - 2 * padding[i] + kernel[i])
    return size


def max_unpool1d_forward(self, input: Tensor, indices: Tensor,
                         output_size: list[int] | None = None) -> Tensor:
    size = _unpool_size(input, list(self.kernel_size), list(self.stride), list(self.padding),
                        output_size)
    return gt.max_unpool1d(input, indices, size)


def max_unpool2d_forward(self, input: Tensor, indices: Tensor,
                         output_size: list[int] | None = None) -> Tensor:
    size = _unpool_size(input, list(self.kernel_size), list(self.stride), list(self.padding),
                        output_size)
    return gt.max_unpool2d(input, indices, size)


def max_unpool3d_forward(self, input: Tensor, indices: Tensor,
                         output_size: list[int] | None = None) -> Tensor:
    size = _unpool_size(input, list(self.kernel_size), list(self.stride), list(self.padding),
                        output_size)
    return gt.max_unpool3d(input, indices, size)


def pixel_shuffle_forward(self, input: Tensor) -> Tensor:
    r = self.upscale_factor
    sizes = input.size()
    n = len(sizes)
    c, h, w = sizes[n - 3], sizes[n - 2], sizes[n - 1]
    out_c = c // (r * r)
    x = input.reshape([-1, out_c, r, r, h, w]).permute([0, 1, 4, 2, 5, 3])
    return x.reshape(sizes[:n - 3] + [out_c, h * r, w * r])


def pixel_unshuffle_forward(self, input: Tensor) -> Tensor:
    r = self.downscale_factor
    sizes = input.size()
    n = len(sizes)
    c, h, w = sizes[n - 3], sizes[n - 2], sizes[n - 1]
    x = input.reshape([-1, c, h // r, r, w // r, r]).permute([0, 1, 3, 5, 2, 4])
    return x.reshape(sizes[:n - 3] + [c * r * r, h // r, w // r])


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def gaussian_nll_forward(self, input: Tensor, target: Tensor, var: Tensor) -> Tensor:
    if var.dim() == input.dim() - 1:
        var = var.unsqueeze(-1)     # one variance per sample
    # NOTE: eager passes the gradient through the clamp as if unclamped; here it stops there
    var = var.clamp(self.eps, None)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if self.full:
        loss = loss + 0.9189385332046727    # 0.5 * log(2 pi)
    return _reduce(loss, self.reduction)


def instance_norm_forward(self, input: Tensor) -> Tensor:
    unbatched = input.dim() == self._ranks[0]
    x = input
    if unbatched:
        x = x.unsqueeze(0)
    running_mean = self.running_mean
    running_var = self.running_var
    use_stats = False
    if running_mean is not None:
        if running_var is not None:
            use_stats = not self.training
    if use_stats:
        assert running_mean is not None and running_var is not None
        n = x.size(0)
        c = x.size(1)
        flat = x.reshape([1, n * c, -1])
        w = self.weight
        b = self.bias
        if w is not None:
            w = w.repeat([n])
        if b is not None:
            b = b.repeat([n])
        out = F.batch_norm(flat, running_mean.repeat([n]), running_var.repeat([n]), w, b,
                           False, 0.0, self.eps).reshape(x.size())
    else:
        if running_mean is not None:
            raise RuntimeError("InstanceNorm with track_running_stats=True cannot update its "
                               "running statistics in script: script it in eval mode")
        out = F.group_norm(x, x.size(1), self.weight, self.bias, self.eps)
    if unbatched:
        return out.squeeze(0)
    return out


def embedding_bag_forward(self, input: Tensor, offsets: Tensor | None = None,
                          per_sample_weights: Tensor | None = None) -> Tensor:
    if input.dim() != 2 or offsets is not None or self.max_norm is not None \
            or self.padding_idx is not None:
        raise RuntimeError("a scripted EmbeddingBag takes 2-D input (bags of equal size) "
                           "without offsets, max_norm or padding_idx")
    e = F.embedding(input, self.weight)
    if per_sample_weights is not None:
        e = e * per_sample_weights.unsqueeze(-1)
    if self.mode == "sum":
        return e.sum(1)
    if self.mode == "max":
        return e.amax(1)
    return e.mean(1)


def _resize_dim(x: Tensor, dim: int, n_in: int, n_out: int, factor: float, mode: str,
                align_corners: bool) -> Tensor:
    """``x`` resized along ``dim`` (nearest or linear), PyTorch's source coordinates;
    ``factor`` <= 0 means 'use in/out'."""
    dst = gt.arange(n_out, dtype=gt.float64)
    if align_corners:
        scale = 0.0
        if n_out > 1:
            scale = (n_in - 1) / (n_out - 1)
    elif factor > 0.0:
        scale = 1.0 / factor
    else:
        scale = n_in / n_out
    if mode == "nearest":
        idx = (dst * scale).floor().long().clamp(0, n_in - 1)
        return x.index_select(dim, idx)
    if align_corners:
        src = dst * scale
    else:
        src = ((dst + 0.5) * scale - 0.5).clamp(0.0, None)
    lo = src.floor().long().clamp(0, n_in - 1)
    hi = (lo + 1).clamp(0, n_in - 1)
    shape = [1] * x.dim()
    shape[dim] = n_out
    lam = (src - lo.double()).to(x.dtype).reshape(shape)
    a = x.index_select(dim, lo)
    return a + (x.index_select(dim, hi) - a) * lam


def upsample_forward(self, input: Tensor) -> Tensor:
    if self.mode not in ("nearest", "linear", "bilinear", "trilinear"):
        raise RuntimeError("a scripted Upsample supports the nearest and (bi/tri)linear modes")
    align = False
    if self.align_corners is not None:
        align = self.align_corners
    out = input
    for i in range(input.dim() - 2):
        n_in = input.size(2 + i)
        factor = -1.0
        if self.size is not None:
            n_out = self.size
            if not isinstance(n_out, int):
                n_out = n_out[i]
        else:
            f = self.scale_factor
            if not isinstance(f, float):
                f = f[i]
            n_out = int(math.floor(n_in * f))
            if not self.recompute_scale_factor:
                factor = f
        mode = "nearest" if self.mode == "nearest" else "linear"
        out = _resize_dim(out, 2 + i, n_in, n_out, factor, mode, align)
    return out


# --- recurrent layers -----------------------------------------------------------------------------
def _direction(x: Tensor, h: Tensor, c: Tensor | None, w_ih: Tensor, w_hh: Tensor,
               b_ih: Tensor | None, b_hh: Tensor | None, w_hr: Tensor | None,
               mode: str, reverse: bool) -> tuple[Tensor, Tensor, Tensor | None]:
    """One layer in one direction over (T, B, in): (outputs (T, B, H), h_T, c_T)."""
    if reverse:
        x = x.flip([0])
    steps = gt.linear(x, w_ih, b_ih).unbind(0)
    outs = []
    for gi in steps:
        if mode == "LSTM":
            assert c is not None
            gates = (gi + gt.linear(h, w_hh, b_hh)).chunk(4, 1)
            c = gates[1].sigmoid() * c + gates[0].sigmoid() * gates[2].tanh()
            h = gates[3].sigmoid() * c.tanh()
            if w_hr is not None:
                h = gt.linear(h, w_hr)
        elif mode == "GRU":
            i_g = gi.chunk(3, 1)
            h_g = gt.linear(h, w_hh, b_hh).chunk(3, 1)
            r = (i_g[0] + h_g[0]).sigmoid()
            z = (i_g[1] + h_g[1]).sigmoid()
            n = (i_g[2] + r * h_g[2]).tanh()
            h = n + z * (h - n)
        elif mode == "RNN_RELU":
            h = (gi + gt.linear(h, w_hh, b_hh)).relu()
        else:
            h = (gi + gt.linear(h, w_hh, b_hh)).tanh()
        outs.append(h)
    out = gt.stack(outs, 0)
    if reverse:
        out = out.flip([0])
    return out, h, c


def _layers(weights, x: Tensor, h0: Tensor, c0: Tensor | None, mode: str,
            dropout: float, training: bool, num_layers: int):
    """All layers over a time-major batch: (output, h_n, c_n)."""
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
            out, h, c = _direction(layer_input, hs[k], c, w[0], w[1], w[2], w[3], w[4],
                                   mode, d == 1)
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


def _time_major(input: Tensor, batch_first: bool) -> Tensor:
    if input.dim() == 2:
        return input.unsqueeze(1)
    if batch_first:
        return input.transpose(0, 1)
    return input


def _batch_major(input: Tensor, output: Tensor, batch_first: bool) -> Tensor:
    if input.dim() == 2:
        return output.squeeze(1)
    if batch_first:
        return output.transpose(0, 1)
    return output


def lstm_forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
    x = _time_major(input, self.batch_first)
    directions = 2 if self.bidirectional else 1
    if hx is None:
        h_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        h0 = gt.zeros([self.num_layers * directions, x.size(1), h_size], dtype=x.dtype)
        c0 = gt.zeros([self.num_layers * directions, x.size(1), self.hidden_size],
                      dtype=x.dtype)
    else:
        h0, c0 = hx
        if input.dim() == 2:
            h0 = h0.unsqueeze(1)
            c0 = c0.unsqueeze(1)
    out, h_n, c_list = _layers(self._flat_weights, x, h0, c0, self.mode, self.dropout,
                                  self.training, self.num_layers)
    c_n = gt.stack(c_list, 0)
    if input.dim() == 2:
        h_n = h_n.squeeze(1)
        c_n = c_n.squeeze(1)
    return _batch_major(input, out, self.batch_first), (h_n, c_n)


def rnn_forward(self, input: Tensor, hx: Tensor | None = None):
    x = _time_major(input, self.batch_first)
    directions = 2 if self.bidirectional else 1
    if hx is None:
        h0 = gt.zeros([self.num_layers * directions, x.size(1), self.hidden_size],
                      dtype=x.dtype)
    else:
        h0 = hx
        if input.dim() == 2:
            h0 = h0.unsqueeze(1)
    out, h_n, c_list = _layers(self._flat_weights, x, h0, None, self.mode, self.dropout,
                                  self.training, self.num_layers)
    if input.dim() == 2:
        h_n = h_n.squeeze(1)
    return _batch_major(input, out, self.batch_first), h_n


def _cell_input(input: Tensor) -> Tensor:
    if input.dim() == 1:
        return input.unsqueeze(0)
    return input


def rnn_cell_forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
    x = _cell_input(input)
    if hx is None:
        h = gt.zeros([x.size(0), self.hidden_size], dtype=x.dtype)
    else:
        h = _cell_input(hx)
    pre = gt.linear(x, self.weight_ih, self.bias_ih) + gt.linear(h, self.weight_hh, self.bias_hh)
    if self.nonlinearity == "relu":
        h = pre.relu()
    else:
        h = pre.tanh()
    if input.dim() == 1:
        return h.squeeze(0)
    return h


def gru_cell_forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
    x = _cell_input(input)
    if hx is None:
        h = gt.zeros([x.size(0), self.hidden_size], dtype=x.dtype)
    else:
        h = _cell_input(hx)
    i_g = gt.linear(x, self.weight_ih, self.bias_ih).chunk(3, 1)
    h_g = gt.linear(h, self.weight_hh, self.bias_hh).chunk(3, 1)
    r = (i_g[0] + h_g[0]).sigmoid()
    z = (i_g[1] + h_g[1]).sigmoid()
    n = (i_g[2] + r * h_g[2]).tanh()
    h = n + z * (h - n)
    if input.dim() == 1:
        return h.squeeze(0)
    return h


def lstm_cell_forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
    x = _cell_input(input)
    if hx is None:
        h = gt.zeros([x.size(0), self.hidden_size], dtype=x.dtype)
        c = gt.zeros([x.size(0), self.hidden_size], dtype=x.dtype)
    else:
        h = _cell_input(hx[0])
        c = _cell_input(hx[1])
    gates = (gt.linear(x, self.weight_ih, self.bias_ih)
             + gt.linear(h, self.weight_hh, self.bias_hh)).chunk(4, 1)
    c = gates[1].sigmoid() * c + gates[0].sigmoid() * gates[2].tanh()
    h = gates[3].sigmoid() * c.tanh()
    if input.dim() == 1:
        return h.squeeze(0), c.squeeze(0)
    return h, c


def table() -> dict:
    """Class -> script-ready forward, merged into library.py's table."""

    return {nn.CELU: celu_forward, nn.SELU: selu_forward, nn.Hardsigmoid: hardsigmoid_forward,
            nn.Hardswish: hardswish_forward, nn.LogSigmoid: logsigmoid_forward,
            nn.Softsign: softsign_forward, nn.Tanhshrink: tanhshrink_forward,
            nn.Threshold: threshold_forward, nn.Softmin: softmin_forward,
            nn.PReLU: prelu_forward, nn.Conv3d: conv3d_forward,
            nn.ConvTranspose3d: conv_transpose3d_forward,
            nn.AdaptiveMaxPool1d: adaptive_max_pool1d_forward,
            nn.AdaptiveMaxPool3d: adaptive_max_pool3d_forward,
            nn.Dropout1d: channel_dropout_forward, nn.Dropout2d: channel_dropout_forward,
            nn.Dropout3d: channel_dropout_forward, nn.LSTM: lstm_forward, nn.GRU: rnn_forward,
            nn.RNN: rnn_forward, nn.RNNCell: rnn_cell_forward, nn.GRUCell: gru_cell_forward,
            nn.LSTMCell: lstm_cell_forward, nn.MaxUnpool1d: max_unpool1d_forward,
            nn.MaxUnpool2d: max_unpool2d_forward, nn.MaxUnpool3d: max_unpool3d_forward,
            nn.PixelShuffle: pixel_shuffle_forward, nn.PixelUnshuffle: pixel_unshuffle_forward,
            nn.GaussianNLLLoss: gaussian_nll_forward, nn.InstanceNorm1d: instance_norm_forward,
            nn.InstanceNorm2d: instance_norm_forward, nn.InstanceNorm3d: instance_norm_forward,
            nn.EmbeddingBag: embedding_bag_forward, nn.Upsample: upsample_forward,
            nn.UpsamplingNearest2d: upsample_forward, nn.UpsamplingBilinear2d: upsample_forward}
