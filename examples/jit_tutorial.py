"""Graph mode, step by step: trace, script, mix both, save, load; every step checked against eager.

The model is a small recurrent cell: a linear layer mixes the input with the hidden state, and a
*gate* whose behaviour depends on the data decides how the update is applied. Tracing records
only the branch the example input takes; scripting keeps the `if`. The cell is then traced with
the scripted gate inside, and a scripted loop runs the traced cell over a sequence. The result
is saved to a `.gt` archive, loaded back and compared with eager mode once more.

Run: python examples/jit_tutorial.py [--out DIR]
Then see examples/deploy.md: the `graphtorch` command on the archive this script writes.
"""

import argparse
import warnings
from pathlib import Path

import numpy as np

import graphtorch as torch
import graphtorch.nn as nn
from graphtorch.testing import assert_close

HIDDEN = 4


class SoftGate(nn.Module):
    """Halves an update whose mean is above `limit`; otherwise lets only its positive part pass."""

    def __init__(self, limit: float = 0.0):
        super().__init__()
        self.limit = limit

    def forward(self, update):
        if update.mean() > self.limit:       # the tensor decides which branch runs
            return update * 0.5
        return torch.relu(update)


class GatedCell(nn.Module):
    def __init__(self, gate: nn.Module):
        super().__init__()
        self.mix = nn.Linear(2 * HIDDEN, HIDDEN)
        self.gate = gate

    def forward(self, x, h):
        update = self.mix(torch.cat([x, h], dim=1))
        return torch.tanh(h + self.gate(update))


class GatedRNN(nn.Module):
    """Runs a (compiled) cell over the first dim of `xs`: a loop whose length is the data's."""

    def __init__(self, cell: nn.Module):
        super().__init__()
        self.cell = cell

    def forward(self, xs):
        h = torch.zeros(xs.size(1), HIDDEN)
        for t in range(xs.size(0)):
            h = self.cell(xs[t], h)
        return h


def section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 72 - len(title)))


def inputs_for_branch(cell: GatedCell, positive: bool) -> tuple:
    """Inputs (x, h) whose gate update has a mean above (positive=True) or below the limit."""
    gen = torch.Generator().manual_seed(1)
    for _ in range(1000):
        x, h = torch.randn(3, HIDDEN, generator=gen), torch.randn(3, HIDDEN, generator=gen)
        with torch.no_grad():
            mean = cell.mix(torch.cat([x, h], dim=1)).mean().item()
        if (mean > cell.gate.limit) == positive:
            return x, h
    raise RuntimeError("no input found for the requested branch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory for gated_rnn.gt and the .npz files")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    eager_cell = GatedCell(SoftGate())
    x_pos, h_pos = inputs_for_branch(eager_cell, positive=True)
    x_neg, h_neg = inputs_for_branch(eager_cell, positive=False)

    section("1. tracing records the ops that ran")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traced_cell = torch.jit.trace(eager_cell, (x_pos, h_pos))
    print(traced_cell.graph)
    print("TracerWarning:", any(issubclass(w.category, torch.jit.TracerWarning) for w in caught))
    assert_close(traced_cell(x_pos, h_pos), eager_cell(x_pos, h_pos))
    # The branch taken while tracing is frozen in: the other branch's input gives another result.
    frozen = traced_cell(x_neg, h_neg)
    differs = not np.allclose(frozen.detach().numpy(), eager_cell(x_neg, h_neg).detach().numpy())
    print("traced cell on the other branch differs from eager:", differs)
    assert differs

    section("2. scripting keeps the data-dependent if")
    scripted_gate = torch.jit.script(SoftGate())
    print(scripted_gate.code)
    for x, h in [(x_pos, h_pos), (x_neg, h_neg)]:
        update = eager_cell.mix(torch.cat([x, h], dim=1))
        assert_close(scripted_gate(update), eager_cell.gate(update))

    section("3. mixing: a traced cell that calls the scripted gate")
    cell = GatedCell(scripted_gate)
    cell.mix = eager_cell.mix                # the same weights as the eager cell
    mixed_cell = torch.jit.trace(cell, (x_pos, h_pos))
    print(mixed_cell.code)
    for x, h in [(x_pos, h_pos), (x_neg, h_neg)]:
        assert_close(mixed_cell(x, h), eager_cell(x, h))
    print("traced cell + scripted gate == eager on both branches")

    section("4. mixing the other way: a scripted loop over the traced cell")
    rnn = torch.jit.script(GatedRNN(mixed_cell))
    print(rnn.graph)
    eager_rnn = GatedRNN(eager_cell)
    xs = torch.randn(6, 3, HIDDEN)
    assert_close(rnn(xs), eager_rnn(xs))
    assert_close(rnn(xs[:2]), eager_rnn(xs[:2]))      # another sequence length, same graph
    print("scripted loop over 6 and 2 steps == eager")

    section("5. save and load")
    path = out / "gated_rnn.gt"
    torch.jit.save(rnn, str(path))
    loaded = torch.jit.load(str(path))
    print(loaded.code)
    expected = eager_rnn(xs)
    assert_close(loaded(xs), expected)
    print(f"saved {path} ({path.stat().st_size} bytes); loaded module == eager")

    # Inputs and expected outputs for the command line (examples/deploy.md).
    np.savez(out / "inputs.npz", xs=xs.numpy())
    np.savez(out / "expected.npz", output=expected.detach().numpy())
    print(f"wrote {out / 'inputs.npz'} and {out / 'expected.npz'}")


if __name__ == "__main__":
    main()
