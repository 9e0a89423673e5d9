"""Train-step time of a traced MLP (784-512-512-10, batch 256, SGD): eager vs the interpreter
(every op on the eager tape) vs autodiff + interpreter vs autodiff + CPU codegen (one autograd
node per step), side by side in one run. Losses are checked to agree first.

    /work/main/.venv/bin/python benchmarks/autodiff.py [--steps 10] [--reps 3]
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np

import graphtorch as gt
from graphtorch import nn
from graphtorch.runtime.autodiff_exec import set_autodiff
from graphtorch.runtime.cpu_codegen import set_executor


def make_model():
    gt.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def train(model, x, y, steps: int) -> list[float]:
    opt = gt.optim.SGD(model.parameters(), lr=0.01)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def best_step(setup, steps: int, reps: int) -> tuple[float, list[float]]:
    """Best per-step time over ``reps`` runs of ``steps`` steps (after one warm-up step)."""
    times, losses = [], None
    for _ in range(reps):
        model, x, y = setup()
        train(model, x, y, 1)  # warm-up: tracing the backward, codegen compilation
        t0 = time.perf_counter()
        losses = train(model, x, y, steps)
        times.append((time.perf_counter() - t0) / steps)
    return min(times), losses


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    gt.manual_seed(1)
    x = gt.randn(256, 784)
    y = gt.randint(0, 10, (256,))
    base = make_model()

    def eager():
        return copy.deepcopy(base), x, y

    def traced():
        m = copy.deepcopy(base)
        return gt.jit.trace(m, (x,)), x, y

    rows = []
    for label, setup, executor, autodiff in [
            ("eager", eager, "interpreter", False),
            ("traced, interpreter (eager tape per op)", traced, "interpreter", False),
            ("traced, autodiff + interpreter (one node)", traced, "interpreter", True),
            ("traced, autodiff + CPU codegen (one node)", traced, "codegen", True)]:
        set_executor(executor)
        set_autodiff(autodiff)
        rows.append((label, *best_step(setup, a.steps, a.reps)))
    set_autodiff(False)
    set_executor("interpreter")
    ref = rows[0][2]
    for label, _, losses in rows:
        np.testing.assert_allclose(losses, ref, rtol=1e-4, err_msg=label)
    print("| train step (784-512-512-10, batch 256, SGD) | ms |")
    print("| --- | --- |")
    for label, t, _ in rows:
        print(f"| {label} | {t * 1e3:.1f} |")


if __name__ == "__main__":
    main()
