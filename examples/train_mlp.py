"""Train an MLP classifier on synthetic data (two interleaved spirals plus noise dimensions).

    python examples/train_mlp.py [--steps 300] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from progress import ProgressBar, report

import graphtorch as torch
import graphtorch.nn as nn
from graphtorch.utils.data import DataLoader, TensorDataset


def spirals(n: int, classes: int = 3, noise_dims: int = 6, seed: int = 0):
    """``n`` points per class on ``classes`` spiral arms, padded with noise features."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c in range(classes):
        r = np.linspace(0.1, 1.0, n)
        theta = c * 2 * math.pi / classes + 4 * r + rng.normal(0, 0.15, n)
        xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], 1))
        ys.append(np.full(n, c))
    x = np.concatenate(xs)
    x = np.concatenate([x, 0.1 * rng.standard_normal((len(x), noise_dims))], 1)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(np.concatenate(ys))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="MLP on synthetic spirals")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    x, y = spirals(400)
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.steps)
    loss_fn = nn.CrossEntropyLoss()
    bar, losses, step = ProgressBar(args.steps), [], 0
    while step < args.steps:
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            losses.append(loss.item())
            bar.update(step, losses[-1])
            if step == args.steps:
                break
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"train accuracy {accuracy:.3f}")
    window = max(1, min(10, len(losses) // 4))
    report(float(np.mean(losses[:window])), float(np.mean(losses[-window:])))


if __name__ == "__main__":
    main()
