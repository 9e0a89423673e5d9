"""Inter-op parallelism: an ensemble of independent submodules forked in a scripted forward
(graphtorch.jit.fork / wait on the inter-op pool) vs the same ensemble called one by one.

    python benchmarks/fork_ensemble.py [--members 4] [--width 1024] [--batch 256] [--iters 20]
    OPENBLAS_NUM_THREADS=1 python benchmarks/fork_ensemble.py   # one BLAS thread per branch

Each member is Linear(width, width) -> ReLU -> Linear(width, width); the forked and serial
versions share the weights and run in eval mode under no_grad, turn by turn. Prints the median
ms per forward and serial/forked (> 1: forking is faster). With several BLAS threads per matmul
the branches compete for the same cores, so the gain is largest with one BLAS thread.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import graphtorch as gt
from graphtorch import nn
from graphtorch.runtime import futures


class Member(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.a = nn.Linear(width, width)
        self.b = nn.Linear(width, width)

    def forward(self, x):
        return self.b(self.a(x).relu())


class Forked(nn.Module):
    def __init__(self, members: nn.ModuleList):
        super().__init__()
        self.members = members

    def forward(self, x):
        futures = [gt.jit.fork(m, x) for m in self.members]
        return gt.stack([gt.jit.wait(f) for f in futures]).sum(0)


class Serial(nn.Module):
    def __init__(self, members: nn.ModuleList):
        super().__init__()
        self.members = members

    def forward(self, x):
        return gt.stack([m(x) for m in self.members]).sum(0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=4)
    p.add_argument("--width", type=int, default=1024)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--iters", type=int, default=20)
    args = p.parse_args()
    members = nn.ModuleList([Member(args.width) for _ in range(args.members)]).eval()
    forked = gt.jit.script(Forked(members).eval())
    serial = gt.jit.script(Serial(members).eval())
    x = gt.randn(args.batch, args.width)
    times = {"forked": [], "serial": []}
    with gt.no_grad():
        np.testing.assert_allclose(forked(x).numpy(), serial(x).numpy(), rtol=1e-4, atol=1e-4)
        for _ in range(3):
            forked(x), serial(x)
        for _ in range(args.iters):
            for name, m in (("forked", forked), ("serial", serial)):
                t0 = time.perf_counter()
                m(x)
                times[name].append(time.perf_counter() - t0)
    f_ms = statistics.median(times["forked"]) * 1e3
    s_ms = statistics.median(times["serial"]) * 1e3
    print(f"cpus={os.cpu_count()} interop_threads={futures.get_num_interop_threads()} "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print(f"{args.members} members, width {args.width}, batch {args.batch}")
    print(f"serial  {s_ms:8.2f} ms\nforked  {f_ms:8.2f} ms\nserial/forked = {s_ms / f_ms:.2f}")


if __name__ == "__main__":
    main()
