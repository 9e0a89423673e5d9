"""Script-ready ``forward`` methods for graphtorch.nn modules whose eager code uses Python the
compiler does not accept (``with``, ``tuple(...)`` on shapes, helper methods returning objects).

TorchScript's own nn modules are written in the subset; graphtorch.nn is written for eager speed
and clarity, so the compiler reads these equivalents instead. Each computes exactly what the
eager forward computes for the module's configuration (the conditions below are compile-time
constants). Known difference: BatchNorm in training mode does not count ``num_batches_tracked``.
"""

from __future__ import annotations

import graphtorch as gt
import graphtorch.nn.functional as F
from graphtorch import nn
from graphtorch.frontend.script.library_layers import table as more_layers


def conv1d_forward(self, input):
    return gt.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                     self.groups)


def conv2d_forward(self, input):
    return gt.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                     self.groups)


def conv_transpose1d_forward(self, input):
    return gt.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                               self.output_padding, self.groups, self.dilation)


def conv_transpose2d_forward(self, input):
    return gt.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                               self.output_padding, self.groups, self.dilation)


def batch_norm_forward(self, input):
    factor = 0.0
    if self.momentum is not None:
        factor = self.momentum
    use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
    if not self.training or self.track_running_stats:
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)
    return F.batch_norm(input, None, None, self.weight, self.bias, use_batch_stats, factor,
                        self.eps)


def flatten_forward(self, input):
    if input.dim() == 0:
        return input.reshape([1])
    return input.flatten(self.start_dim, self.end_dim)


def adaptive_avg_pool2d_forward(self, input):
    if isinstance(self.output_size, int):
        return gt.adaptive_avg_pool2d(input, [self.output_size, self.output_size])
    return gt.adaptive_avg_pool2d(input, self.output_size)


def adaptive_max_pool2d_forward(self, input):
    if isinstance(self.output_size, int):
        out = gt.adaptive_max_pool2d(input, [self.output_size, self.output_size])
    else:
        out = gt.adaptive_max_pool2d(input, self.output_size)
    if self.return_indices:
        return out
    return out[0]


def sequential_forward(self, input):
    for module in self:
        input = module(input)
    return input


def _table() -> dict:
    table = {nn.Conv1d: conv1d_forward, nn.Conv2d: conv2d_forward,
             nn.ConvTranspose1d: conv_transpose1d_forward,
             nn.ConvTranspose2d: conv_transpose2d_forward, nn.Flatten: flatten_forward,
             nn.AdaptiveAvgPool2d: adaptive_avg_pool2d_forward,
             nn.AdaptiveMaxPool2d: adaptive_max_pool2d_forward,
             nn.Sequential: sequential_forward}

    table.update(more_layers())
    for name in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"):
        if hasattr(nn, name):
            table[getattr(nn, name)] = batch_norm_forward
    return table


_OVERRIDES: dict | None = None


def script_forward(module):
    """The script-ready forward for a graphtorch.nn module (the class defining its forward), or
    None."""
    global _OVERRIDES
    if _OVERRIDES is None:
        _OVERRIDES = _table()
    if getattr(module, "padding_mode", "zeros") != "zeros":
        return None    # the eager forward pads explicitly; script reports why it cannot
    # NOTE: a subclass that inherits forward (class Custom(nn.Sequential)) uses its base's
    exact = _OVERRIDES.get(type(module))
    if exact is not None:
        return exact
    owner = next((k for k in type(module).__mro__ if "forward" in vars(k)), type(module))
    return _OVERRIDES.get(owner)
