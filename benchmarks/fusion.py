"""A 4-op elementwise chain on 10M float32 elements: interpreter vs CPU fused codegen vs numpy
eager vs torch eager vs torch.compile, side by side in one run.

    /work/main/.venv/bin/python benchmarks/fusion.py [--n 10000000] [--reps 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import graphtorch as gt
from graphtorch.passes.fuse_elementwise import fusion_groups
from graphtorch.runtime.cpu_codegen import compile_graph
from graphtorch.runtime.executor import prepared_function_graph
from graphtorch.runtime.interpreter import run_graph


def chain(x):
    return (x * 1.5 + 0.5).tanh() * x


def best(fn, reps: int) -> float:
    fn()  # warm-up (compilation, caches)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    x = gt.randn(a.n)
    xn = x.numpy()
    traced = gt.jit.trace(chain, (x,))
    graph = prepared_function_graph(traced)
    compiled = compile_graph(graph)
    assert len(fusion_groups(compiled.graph)) == 1
    ref = run_graph(graph, [x])[0].numpy()
    np.testing.assert_allclose(compiled([x])[0].numpy(), ref, rtol=1e-6, atol=1e-6)
    rows = [("graphtorch interpreter", best(lambda: run_graph(graph, [x]), a.reps)),
            ("graphtorch CPU fused codegen", best(lambda: compiled([x]), a.reps)),
            ("numpy eager", best(lambda: np.tanh(xn * 1.5 + 0.5) * xn, a.reps))]
    try:
        import torch

        tx = torch.from_numpy(xn)
        rows.append(("torch eager", best(lambda: chain(tx), a.reps)))
        try:
            cfn = torch.compile(chain)
            rows.append(("torch.compile (inductor)", best(lambda: cfn(tx), a.reps)))
        except Exception as e:  # noqa: BLE001 - report why it cannot run here
            rows.append((f"torch.compile: unavailable ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:80]})", float("nan")))
    except ImportError:
        rows.append(("torch: not installed", float("nan")))
    print(f"4-op chain (mul, add, tanh, mul) on {a.n:,} float32, best of {a.reps}:")
    for name, t in rows:
        print(f"  {name:<34} {t * 1e3:9.1f} ms")


if __name__ == "__main__":
    main()
