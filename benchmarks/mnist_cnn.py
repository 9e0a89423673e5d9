"""The pytorch/examples mnist CNN training step, eager graphtorch vs PyTorch (CPU), side by side.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/mnist_cnn.py --threads 1
    python benchmarks/mnist_cnn.py [--rounds 3] [--iters 10] [--kernels]

The step: conv 1->32 3x3, relu, conv 32->64 3x3, relu, max-pool 2, dropout, flatten, linear
9216->128, relu, dropout, linear 128->10, log-softmax, NLL, backward, Adadelta; batch 64 of
28x28. The libraries take turns step by step (so machine load hits both alike) and each round
prints the median wall-clock and CPU-time ms per step and graphtorch/PyTorch; on a shared,
loaded machine compare the ratios of one round, not times across runs. ``--kernels`` adds the
conv and pooling kernels of the step alone (graphtorch's numpy kernels vs PyTorch's aten ops).
Target (issue 13): the step <= 1.3x PyTorch at the same thread count.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import graphtorch as gt
from graphtorch.ops import conv_kernels, pooling


def build(lib):
    """The pytorch/examples mnist ``Net``, written against either library."""
    nn, F = lib.nn, lib.nn.functional  # noqa: N806 - the PyTorch convention

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = lib.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            return F.log_softmax(self.fc2(x), dim=1)

    return Net()


def train_step(lib) -> Callable[[], None]:
    lib.manual_seed(0)
    model = build(lib)
    opt = lib.optim.Adadelta(model.parameters(), lr=1.0)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((64, 1, 28, 28), dtype=np.float32))
    y = lib.tensor(rng.integers(0, 10, 64))

    def step():
        opt.zero_grad()
        loss = lib.nn.functional.nll_loss(model(x), y)
        loss.backward()
        opt.step()

    return step


def kernel_cases(torch) -> dict[str, dict[str, Callable[[], object]]]:
    """The step's conv2 and pooling kernels alone: graphtorch's numpy kernels vs aten."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32, 26, 26), dtype=np.float32)
    w = rng.standard_normal((64, 32, 3, 3), dtype=np.float32)
    g = rng.standard_normal((64, 64, 24, 24), dtype=np.float32)
    tx, tw, tg = (torch.from_numpy(a) for a in (x, w, g))
    pads, one = ((0, 0), (0, 0)), (1, 1)
    conv = torch.ops.aten.convolution_backward
    geometry = ([1, 1], [0, 0], [1, 1], False, [0, 0], 1)
    pool = pooling._PoolArgs("max_pool2d", 2, g.shape, 2, None, 0)
    return {
        "conv2 forward": {
            "torch": lambda: torch.ops.aten.convolution(tx, tw, None, *geometry),
            "graphtorch": lambda: conv_kernels.conv_forward(np, x, w, one, pads, one, 1)},
        "conv2 input grad": {
            "torch": lambda: conv(tg, tx, tw, None, *geometry, [True, False, False]),
            "graphtorch": lambda: conv_kernels.conv_input_grad(np, g, w, (26, 26), one, pads,
                                                               one, 1)},
        "conv2 weight grad": {
            "torch": lambda: conv(tg, tx, tw, None, *geometry, [False, True, False]),
            "graphtorch": lambda: conv_kernels.conv_weight_grad(np, x, g, (3, 3), one, pads,
                                                                one, 1)},
        "max_pool2d forward": {
            "torch": lambda: torch.ops.aten.max_pool2d_with_indices(tg, [2, 2]),
            "graphtorch": lambda: pooling.max_pool_kernel(np, g, pool)},
    }


def measure(steps: dict[str, Callable[[], object]], iters: int, warmup: int = 2) -> dict:
    """Median wall and CPU ms per call of each step, the steps taking turns."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    wall: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(iters):
        for name, step in steps.items():
            w0, c0 = time.perf_counter(), time.process_time()
            step()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return {name: (1e3 * statistics.median(wall[name]), 1e3 * statistics.median(cpu[name]))
            for name in steps}


def _row(label: str, ms: dict) -> str:
    (tw, tc), (gw, gc) = ms["torch"], ms["graphtorch"]
    return (f"{label:<22} {tw:>9.1f} {gw:>9.1f} {gw / tw:>6.2f}x   {tc:>8.1f} {gc:>8.1f} "
            f"{gc / tc:>6.2f}x")


def _set_threads(torch, threads: int | None) -> None:
    if threads is None:
        return
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415 - optional dependency
    except ImportError:
        print("threadpoolctl not installed: limit numpy's BLAS with OPENBLAS_NUM_THREADS")
        return
    threadpool_limits(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--kernels", action="store_true")
    args = parser.parse_args()
    import torch  # noqa: PLC0415 - the comparison baseline, only needed when run

    _set_threads(torch, args.threads)
    print(f"threads: torch {torch.get_num_threads()}; iters {args.iters} per round")
    print(f"{'':<22} {'wall ms':>28}   {'cpu ms':>25}")
    print(f"{'case':<22} {'PyTorch':>9} {'ours':>9} {'ratio':>7}   {'PyTorch':>8} {'ours':>8} "
          f"{'ratio':>7}")
    steps = {"torch": train_step(torch), "graphtorch": train_step(gt)}
    kernels = kernel_cases(torch) if args.kernels else {}
    for r in range(args.rounds):
        print(_row(f"train step (round {r + 1})", measure(steps, args.iters)))
    for label, case in kernels.items():
        print(_row(label, measure(case, args.iters)))


if __name__ == "__main__":
    main()
