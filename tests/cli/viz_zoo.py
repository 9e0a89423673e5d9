"""Models the viz tests draw: control flow, nested modules, 100+ nodes, a transformer layer."""

from __future__ import annotations

import graphtorch as gt
from graphtorch import nn
from graphtorch.frontend.script.api import script_module
from tests.serialization.models import scripted_cell


class TwoLinearIf(nn.Module):
    """The model of issue 16: two Linears with an ``if`` (and a loop) between them."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(8, 16)
        self.l2 = nn.Linear(16, 4)

    def forward(self, x: gt.Tensor) -> gt.Tensor:
        h = gt.relu(self.l1(x))
        if h.sum() > 0:
            h = h * 2.0
        for _ in range(3):
            h = h + 1.0
        return self.l2(h)


class Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.norm = nn.LayerNorm(6)

    def forward(self, x):
        return self.norm(gt.relu(self.fc(x)) + x)


class Middle(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Inner()
        self.b = Inner()

    def forward(self, x):
        return self.b(self.a(x))


class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.stage1 = Middle()
        self.stage2 = Middle()
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        return self.head(self.stage2(self.stage1(x)))


class LoopIf(nn.Module):
    """An ``if`` inside a loop body, and a module call inside the branch."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x: gt.Tensor, n: int) -> gt.Tensor:
        for i in range(n):
            if i % 2 == 0:
                x = self.lin(x)
            else:
                x = gt.tanh(x)
        return x


class Twice(nn.Module):
    """One submodule called twice: two clusters."""

    def __init__(self):
        super().__init__()
        self.l = nn.Linear(4, 4)

    def forward(self, x):
        return self.l(gt.relu(self.l(x)))


def twice():
    gt.manual_seed(6)
    return gt.jit.trace(Twice(), gt.rand(2, 4))


def with_identity():
    """A call that draws nothing (nn.Identity) between two that do."""
    gt.manual_seed(7)
    return gt.jit.trace(nn.Sequential(nn.Linear(3, 3), nn.Identity(), nn.ReLU()), gt.rand(2, 3))


def two_linear_if():
    gt.manual_seed(0)
    return script_module(TwoLinearIf())


def nested():
    gt.manual_seed(1)
    return gt.jit.trace(Nested(), gt.rand(3, 6))


def deep_mlp(layers: int = 40):
    gt.manual_seed(2)
    mods = []
    for _ in range(layers):
        mods += [nn.Linear(5, 5), nn.ReLU()]
    return gt.jit.trace(nn.Sequential(*mods), gt.rand(2, 5))


def encoder():
    gt.manual_seed(4)
    layer = nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, dropout=0.0,
                                       batch_first=True)
    layer.eval()
    return gt.jit.trace(layer, gt.rand(2, 5, 16))


def loop_if():
    gt.manual_seed(5)
    return script_module(LoopIf())


ZOO = {"two_linear_if": two_linear_if, "nested": nested, "deep_mlp": deep_mlp,
       "encoder": encoder, "loop_if": loop_if, "cell": scripted_cell, "twice": twice,
       "identity": with_identity}
