"""The victim model of the hostile-archive tests: a scripted module with a submodule, a buffer,
a scripted-function call, tuples and a string constant (each a surface an attacker edits)."""

from __future__ import annotations

import graphtorch as gt
from graphtorch import nn
from graphtorch.frontend.script.api import script_function, script_module


@script_function
def common_scale(x: gt.Tensor) -> gt.Tensor:
    return x * 2.0


@script_function
def common_shift(x: gt.Tensor, label: str) -> gt.Tensor:
    if label != str(x.size(0)):    # NOTE: not foldable: the label reaches the executors
        return x + 1.0
    return x


class Victim(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.register_buffer("offset", gt.arange(3, dtype=gt.float32) / 10)

    def forward(self, x: gt.Tensor) -> gt.Tensor:
        h = common_scale(self.lin(x))
        pair = (h, self.offset)
        a, b = pair
        return common_shift(a + b, "gt-victim-label")


def scripted_victim(seed: int = 0):
    gt.manual_seed(seed)
    return script_module(Victim())
