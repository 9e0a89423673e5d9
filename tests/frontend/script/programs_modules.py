"""Scripted programs, part 3: modules (submodules, containers, attributes, methods, super(),
inheritance, keyword arguments). Each entry: (model factory, thunk giving argument tuples)."""
# ruff: noqa: UP006, UP035, UP045, UP032, B007 - typing's spellings and plain Python are what
# the compiler must accept, so the programs keep them

from __future__ import annotations

from typing import Final, List, Optional

import graphtorch as torch
from graphtorch import nn


class Gate(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


class CellWithContainers(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate = Gate()
        self.linear = nn.Linear(4, 4)
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])

    def forward(self, x, h):
        new_h = torch.tanh(self.gate(self.linear(x)) + h)
        for i in range(len(self.layers)):
            new_h = self.layers[i](new_h)
        for layer in self.layers:
            new_h = layer(new_h)
        return new_h, new_h


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

    def forward(self, x):
        return self.net(x)


class ConstantsAndAttributes(nn.Module):
    scale: Final[float]

    def __init__(self):
        super().__init__()
        self.scale = 2.5
        self.depth = 3
        self.name = "block"
        self.use_bias = True
        self.bias = nn.Parameter(torch.randn(4))
        self.register_buffer("offset", torch.ones(4))

    def forward(self, x):
        for _ in range(self.depth):
            x = x * self.scale
        if self.use_bias:
            x = x + self.bias
        return x - self.offset, self.name


class TrainingFlag(nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        if self.training:
            return x * 2
        return self.drop(x)


def _eval(m):
    return m.eval()


class HelperMethods(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def normalize(self, x, eps: float = 1e-5):
        return x / (x.norm(dim=-1, keepdim=True) + eps)

    def forward(self, x):
        return self.normalize(self.fc(x)) + self.normalize(x, eps=1.0)


class KeywordSubmoduleCall(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = OptionalBias()

    def forward(self, x, b):
        return self.inner(x, bias=b) + self.inner(x)


class OptionalBias(nn.Module):
    def forward(self, x, bias: Optional[torch.Tensor] = None):
        if bias is None:
            return x
        return x + bias


class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x).relu()

    def extra(self, x):
        return x * 3


class Derived(Base):
    def forward(self, x):
        y = super().forward(x)
        return self.extra(y) + 1


class DeepDerived(Derived):
    def forward(self, x):
        return super().forward(x) * 2


class DynamicModuleIndex(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])

    def forward(self, x, k: int):
        i = 0
        while i < k:
            x = self.layers[i % 3](x)
            i += 1
        return x


class BreakInModuleLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(4)])

    def forward(self, x, limit: int):
        for i, layer in enumerate(self.layers):
            if i == 1:
                continue
            if i >= limit:
                break
            x = layer(x)
        return x


class ReturnInLoopModule(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, xs):
        for i in range(xs.size(0)):
            y = self.fc(xs[i])
            if y.sum() > 0:
                return y
        return xs[0]


class ModuleDictUse(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 2), "b": nn.Linear(4, 2)})

    def forward(self, x):
        out = self.heads["a"](x)
        for name, head in self.heads.items():
            out = out + head(x)
        return out


class ListOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4)])

    def forward(self, x) -> List[torch.Tensor]:
        outs: List[torch.Tensor] = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs


class ConvBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        y = self.pool(torch.relu(self.conv(x)))
        return y.flatten(1)


class NormAndEmbedding(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.norm = nn.LayerNorm(4)

    def forward(self, tokens):
        return self.norm(self.emb(tokens)).mean(1)


class ScriptedChild(nn.Module):
    def __init__(self):
        super().__init__()
        self.child = torch.jit.script(Gate())
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.child(self.fc(x))


def _x(*shape):
    return lambda: [(torch.randn(*shape),), (torch.randn(*shape),), (-torch.rand(*shape),)]


MODULES = [
    (CellWithContainers, lambda: [(torch.randn(3, 4), torch.randn(3, 4)) for _ in range(3)]),
    (MLP, _x(5, 4)),
    (ConstantsAndAttributes, _x(2, 4)),
    (TrainingFlag, _x(2, 4)),
    (lambda: _eval(TrainingFlag()), _x(2, 4)),
    (HelperMethods, _x(3, 4)),
    (KeywordSubmoduleCall, lambda: [(torch.randn(2, 4), torch.randn(4))]),
    (Derived, _x(3, 4)),
    (DeepDerived, _x(3, 4)),
    (DynamicModuleIndex, lambda: [(torch.randn(2, 4), k) for k in (0, 2, 5)]),
    (BreakInModuleLoop, lambda: [(torch.randn(2, 4), k) for k in (0, 1, 3, 9)]),
    (ReturnInLoopModule, lambda: [(torch.randn(4, 2, 4),), (-torch.rand(3, 2, 4) * 0,)]),
    (ModuleDictUse, _x(3, 4)),
    (ListOutputs, _x(2, 4)),
    (ConvBlock, _x(2, 2, 6, 6)),
    (NormAndEmbedding, lambda: [(torch.randint(0, 10, (2, 5)),)]),
    (ScriptedChild, _x(3, 4)),
]
