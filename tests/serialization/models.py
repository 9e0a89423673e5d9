"""Small compiled models the archive tests save and load."""

from __future__ import annotations

import graphtorch as gt
from graphtorch import nn
from graphtorch.frontend.script.api import ignore, script_function, script_module


class MLP(nn.Module):
    def __init__(self, n_in: int = 4, hidden: int = 8, n_out: int = 2):
        super().__init__()
        self.l1 = nn.Linear(n_in, hidden)
        self.l2 = nn.Linear(hidden, n_out)

    def forward(self, x):
        return self.l2(gt.tanh(self.l1(x)))


def traced_mlp(seed: int = 0, n_in: int = 4, hidden: int = 8, n_out: int = 2):
    gt.manual_seed(seed)
    return gt.jit.trace(MLP(n_in, hidden, n_out), gt.rand(3, n_in))


@script_function
def scale(x: gt.Tensor, k: float) -> gt.Tensor:
    return x * k


class Cell(nn.Module):
    """Loops, branches, a buffer, a submodule and a call of a scripted function."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.register_buffer("offset", gt.arange(4, dtype=gt.float32) / 10)

    def forward(self, x: gt.Tensor, h: gt.Tensor) -> gt.Tensor:
        for _ in range(2):
            h = gt.tanh(self.lin(x) + h)
        if h.sum() > 0:
            h = scale(h, 0.5)
        return h + self.offset


def scripted_cell(seed: int = 0):
    gt.manual_seed(seed)
    return script_module(Cell())


@ignore
def python_helper(x):
    return x + 1


class UsesPython(nn.Module):
    def forward(self, x: gt.Tensor) -> gt.Tensor:
        return python_helper(x) * 2


def scripted_with_python_op():
    return script_module(UsesPython())


_TABLE = gt.arange(4, dtype=gt.float32)


def _with_constant(x):
    return x * _TABLE + 1


def traced_with_constant():
    """A traced function holding a tensor constant (graph.tensor_constants)."""
    return gt.jit.trace(_with_constant, gt.rand(2, 4))


class Defaults(nn.Module):
    """A scripted forward whose trailing arguments have defaults."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x: gt.Tensor, k: float = 0.5, n: int = 2, square: bool = False
                ) -> gt.Tensor:
        y = self.lin(x) * k + n
        if square:
            y = y * y
        return y


DEFAULTS = {"k": 0.5, "n": 2, "square": False}


def scripted_defaults(seed: int = 0):
    """Defaults recorded in ``graph.defaults`` (set here until the script compiler does)."""
    gt.manual_seed(seed)
    m = script_module(Defaults())
    graph = m._gt_methods["forward"].graph
    if not getattr(graph, "defaults", None):
        graph.defaults = dict(DEFAULTS)
    return m


@script_function
def scale_by(x: gt.Tensor, k: float = 3.0) -> gt.Tensor:
    return x * k


if not getattr(scale_by.graph, "defaults", None):
    scale_by.graph.defaults = {"k": 3.0}
