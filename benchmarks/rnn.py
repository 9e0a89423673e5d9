"""Eager RNN and CNN training-step benchmark: graphtorch vs PyTorch (CPU), side by side.

  * LSTM / GRU forward + backward: seq 35, batch 20, input 200, hidden 200, 2 layers
    (word_language_model's sizes), and the LSTM forward alone under no_grad (its evaluation);
  * the mnist example's CNN training step (conv 32@3x3, conv 64@3x3, max-pool, dropout,
    linear 9216-128, linear 128-10, log-softmax, NLL, Adadelta), batch 64.

    python benchmarks/rnn.py [--iters 20] [--threads N] [--case lstm|lstm-eval|gru|mnist|all]
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/rnn.py --threads 1

Both libraries run with the same thread count: --threads sets torch's and, through threadpoolctl
when installed, numpy's BLAS pool (otherwise set OPENBLAS_NUM_THREADS as above). They take turns
step by step so machine load hits both alike.
Prints the median ms per step and graphtorch/PyTorch. Targets: LSTM/GRU <= 1.5x, mnist <= 1.3x.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

# NOTE: run as a script, benchmarks/ is on sys.path; one definition of the mnist step
from mnist_cnn import train_step as mnist_train_step

import graphtorch as gt

SEQ, BATCH, HIDDEN, LAYERS = 35, 20, 200, 2


def _median_ms(steps: dict[str, Callable[[], None]], iters: int, warmup: int = 3) -> dict:
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(iters):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t0)
    return {name: 1e3 * statistics.median(t) for name, t in times.items()}


def _rnn_step(lib, kind: str, train: bool = True) -> Callable[[], None]:
    lib.manual_seed(0)
    layer = getattr(lib.nn, kind)(HIDDEN, HIDDEN, LAYERS)
    x = lib.tensor(np.random.default_rng(0).standard_normal((SEQ, BATCH, HIDDEN),
                                                            dtype=np.float32))

    def step():
        layer.zero_grad()
        out, _ = layer(x)
        out.sum().backward()

    def evaluate():
        with lib.no_grad():
            layer(x)

    return step if train else evaluate


def _set_threads(threads: int | None) -> None:
    import torch

    if threads is None:
        return
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("threadpoolctl not installed: numpy's BLAS threads are not limited")
        return
    threadpool_limits(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--case", choices=["lstm", "lstm-eval", "gru", "mnist", "all"],
                        default="all")
    args = parser.parse_args()
    import torch

    _set_threads(args.threads)
    cases = ["lstm", "lstm-eval", "gru", "mnist"] if args.case == "all" else [args.case]
    print(f"threads: torch {torch.get_num_threads()}; iters {args.iters}")
    print(f"{'case':<34} {'PyTorch ms':>11} {'graphtorch ms':>14} {'ratio':>7}")
    for case in cases:
        if case == "mnist":
            label = "mnist CNN train step (batch 64)"
            steps = {"torch": mnist_train_step(torch), "graphtorch": mnist_train_step(gt)}
        elif case == "lstm-eval":
            label = "LSTM forward, no_grad (35x20x200)"
            steps = {"torch": _rnn_step(torch, "LSTM", False),
                     "graphtorch": _rnn_step(gt, "LSTM", False)}
        else:
            label = f"{case.upper()} fwd+bwd (35x20x200, 2 layers)"
            kind = case.upper()
            steps = {"torch": _rnn_step(torch, kind), "graphtorch": _rnn_step(gt, kind)}
        ms = _median_ms(steps, args.iters)
        print(f"{label:<34} {ms['torch']:>11.2f} {ms['graphtorch']:>14.2f} "
              f"{ms['graphtorch'] / ms['torch']:>6.2f}x")


if __name__ == "__main__":
    main()
