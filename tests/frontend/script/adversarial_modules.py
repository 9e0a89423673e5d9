"""Adversarial scripted modules: constants of every kind, container iteration with enumerate
and zip, methods calling methods, ``self.training`` switched after scripting, early exits from
unrolled module loops. Each entry: (model factory, thunk giving argument tuples)."""
# ruff: noqa: UP006, UP035, UP045, B007 - the programs spell Python the way users write it

from __future__ import annotations

from typing import Final, List, Optional, Tuple

import graphtorch as torch
import graphtorch.nn.functional as F
from graphtorch import nn


def R(*shape):
    return torch.randn(*shape)


class EveryConstantKind(nn.Module):
    depth: Final[int] = 2
    label = "class-level"

    def __init__(self):
        super().__init__()
        self.i = -3
        self.f = 0.25
        self.b = False
        self.s = "name"
        self.none_attr = None
        self.tup = (1, 2.5, "t")
        self.ints = [3, 1, 2]
        self.floats = [0.5, 1.5]
        self.dt = torch.float64
        self.neg_inf = float("-inf")

    def forward(self, x):
        y = x * self.i + self.f
        if self.b:
            y = y * 100
        if self.none_attr is None:
            y = y + 1
        for k in range(self.depth):
            y = y + self.tup[0] * self.tup[1] + self.ints[k]
        y = y + sum(self.floats) + len(self.s) + len(self.label)
        z = y.to(self.dt)
        return z, self.tup[2] + self.s, max(self.neg_inf, self.f), self.ints


class TrainingSwitch(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        y = self.fc(x)
        if self.training:
            return y * 2.0, True
        return y - 1.0, False


class TrainingInSubmodule(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = TrainingSwitch()
        self.bn = nn.BatchNorm1d(3)

    def forward(self, x):
        y, flag = self.inner(x)
        return self.bn(y), flag, self.training


class ListEnumerateZip(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.ModuleList([nn.Linear(3, 3) for _ in range(3)])
        self.b = nn.ModuleList([nn.Linear(3, 3) for _ in range(3)])
        self.scales = [0.5, 1.0, 2.0]

    def forward(self, x):
        outs: List[torch.Tensor] = []
        for i, layer in enumerate(self.a):
            x = layer(x) * self.scales[i]
            outs.append(x)
        for la, lb in zip(self.a, self.b):
            x = la(x) + lb(x)
        for i, (la, lb) in enumerate(zip(self.a, self.b), 1):
            x = x + la(x) * i - lb(x)
        return x, len(outs)


class DictIteration(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleDict({"zeta": nn.Linear(3, 2), "alpha": nn.Linear(3, 2),
                                    "mid": nn.Linear(3, 2)})

    def forward(self, x):
        names: List[str] = []
        total = torch.zeros(x.size(0), 2)
        for i, (name, head) in enumerate(self.heads.items()):
            names.append(name)
            total = total + head(x) * (i + 1)
        for name in self.heads.keys():
            names.append(name + "!")
        for head in self.heads.values():
            total = total - head(x)
        return total, names, self.heads["mid"](x)


class MethodsCallMethods(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def scale(self, x, factor: float = 2.0, shift: Optional[torch.Tensor] = None):
        y = x * factor
        if shift is not None:
            y = y + shift
        return y

    def twice(self, x, n: int = 2) -> Tuple[torch.Tensor, int]:
        for _ in range(n):
            x = self.scale(x, shift=x)
        return x, n

    def forward(self, x):
        a = self.scale(self.fc(x))
        b, n = self.twice(a, n=3)
        c, m = self.twice(b)
        return self.scale(c, 0.5, a), n + m


class BreakOutOfModuleLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(4)])

    def forward(self, x, limit: int):
        used = 0
        for i, layer in enumerate(self.layers):
            if i >= limit:
                break
            if i == 1:
                continue
            x = torch.tanh(layer(x))
            used += 1
        return x, used


class ReturnFromModuleLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(3)])

    def forward(self, x, stop: float):
        for layer in self.layers:
            x = layer(x)
            if x.abs().sum() > stop:
                return x, True
        return x * 0.5, False


class RuntimeIndexedModules(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])

    def forward(self, x, which: int):
        out = x
        for k in range(which):
            out = self.layers[k % 3](out)
        return out + self.layers[which - 3](x)


class FunctionalKeywords(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 3))
        self.bias = nn.Parameter(torch.randn(4))

    def forward(self, x):
        y = F.linear(x, self.w, bias=self.bias)
        y = F.relu(y)
        y = F.dropout(y, p=0.3, training=self.training)
        return F.softmax(y, dim=-1), F.layer_norm(y, [4]), F.mse_loss(y, y * 0.5)


class NestedTupleOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x) -> Tuple[torch.Tensor, Tuple[int, Tuple[torch.Tensor, str]]]:
        y = self.fc(x)
        return y, (y.dim(), (y.sum(0), "ok"))


class OptionalState(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.Linear(3, 3)

    def forward(self, x, h: Optional[torch.Tensor] = None):
        if h is None:
            h = torch.zeros(x.size(0), 3)
        assert h is not None
        return torch.tanh(self.cell(x) + h)


class SequentialInsideLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3))

    def forward(self, x, n: int):
        hist: List[float] = []
        for _ in range(n):
            x = x + self.block(x)
            hist.append(float(x.sum()))
        return x, hist


def _const(model, *shapes):
    return lambda: [tuple(R(*s) for s in shapes)]


MODULES = [
    (EveryConstantKind, _const(None, (2, 3))),
    (TrainingSwitch, _const(None, (2, 3))),
    (ListEnumerateZip, _const(None, (2, 3))),
    (DictIteration, _const(None, (2, 3))),
    (MethodsCallMethods, _const(None, (2, 4))),
    (BreakOutOfModuleLoop, lambda: [(R(2, 3), k) for k in (0, 1, 3, 9)]),
    (ReturnFromModuleLoop, lambda: [(R(2, 3), s) for s in (0.0, 2.0, 1e9)]),
    (RuntimeIndexedModules, lambda: [(R(1, 2), k) for k in (0, 1, 2, 5)]),
    (FunctionalKeywords, _const(None, (2, 3))),
    (NestedTupleOutputs, _const(None, (3, 2))),
    (OptionalState, lambda: [(R(2, 3),), (R(2, 3), R(2, 3))]),
    (SequentialInsideLoop, lambda: [(R(2, 3), 0), (R(2, 3), 3)]),
]
