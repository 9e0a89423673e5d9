"""Train a small CNN on generated 16x16 images: which of four shapes is drawn?

    python examples/train_cnn.py [--steps 150] [--batch-size 32]
"""

from __future__ import annotations

import argparse

import numpy as np
from progress import ProgressBar, report

import graphtorch as torch
import graphtorch.nn as nn
from graphtorch.utils.data import DataLoader, TensorDataset

SIZE = 16


def shapes(n: int, seed: int = 0):
    """Noisy images of a horizontal bar, a vertical bar, a square or a diagonal, at random spots."""
    rng = np.random.default_rng(seed)
    images = 0.3 * rng.standard_normal((n, 1, SIZE, SIZE)).astype(np.float32)
    labels = rng.integers(0, 4, n)
    for img, label in zip(images, labels):
        r, c = rng.integers(2, SIZE - 8, 2)
        if label == 0:
            img[0, r + 3, c:c + 7] += 1.5
        elif label == 1:
            img[0, r:r + 7, c + 3] += 1.5
        elif label == 2:
            img[0, r:r + 5, c:c + 5] += 1.0
        else:
            img[0, np.arange(r, r + 6), np.arange(c, c + 6)] += 1.5
    return torch.tensor(images), torch.tensor(labels)


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 4 * 4, 32), nn.ReLU(),
                                  nn.Linear(32, 4))

    def forward(self, x):
        return self.head(self.features(x))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="small CNN on generated shape images")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    x, y = shapes(1024)
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    model = SmallCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=args.steps)
    bar, losses, step = ProgressBar(args.steps), [], 0
    while step < args.steps:
        for xb, yb in loader:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            losses.append(loss.item())
            bar.update(step, losses[-1])
            if step == args.steps:
                break
    window = max(1, min(10, len(losses) // 4))
    report(float(np.mean(losses[:window])), float(np.mean(losses[-window:])))


if __name__ == "__main__":
    main()
