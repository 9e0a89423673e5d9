"""The plan's memory plan: peak bytes allocated per call and time per call, with outputs written
into dead inputs (``GT_PLAN_REUSE=1``, the default) and without (``GT_PLAN_REUSE=0``), side by
side in one run.

Workloads: the ``chain``, ``gelu_mlp``, ``encoder`` and ``lstm`` rows of ``benchmarks/compiled.py``
(the same modules and inputs, built by its ``build``), plus ``norm_chain``: elementwise groups
between full reductions on 4M float32 elements (``(x * .5).exp()``, minus its mean, ``sin``,
minus its max, ``cos``, times its mean, ``tanh``), where every group after the first may write
into the array that dies there. Two compiled copies of each workload are built in this process,
one per setting (the switch is read when a plan is built); their calls alternate.

Peak: ``tracemalloc`` around one warm call (numpy registers its allocations with it); the
inputs and parameters already exist, so the peak is what the call itself allocates, result
included. Time: median milliseconds per call (``--timer thread``: this thread's CPU time, which
leaves out other jobs on a shared machine).

    .venv/bin/python benchmarks/plan_memory.py --threads 1 --timer thread
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--timer", choices=("wall", "thread"), default="thread")
ap.add_argument("--only", default="", help="comma-separated workload names")
ap.add_argument("--budget", type=float, default=1.0, help="seconds of calls per timing")
ARGS = ap.parse_args()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GT_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)  # NOTE: before numpy loads its thread pool

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# NOTE: compiled.py parses its own command line on import: give it only the thread count
_argv, sys.argv = sys.argv, [sys.argv[0], "--threads", str(ARGS.threads)]
import compiled  # noqa: E402

sys.argv = _argv

import graphtorch as gt  # noqa: E402
from graphtorch.runtime.executor import plans_of  # noqa: E402

CLOCK = time.thread_time if ARGS.timer == "thread" else time.perf_counter
WORKLOADS = ("chain", "norm_chain", "gelu_mlp", "encoder", "lstm")


def norm_chain(x):
    a = (x * 0.5).exp()
    b = (a - a.mean()).sin()
    c = (b - b.amax()).cos()
    return (c * c.mean()).tanh()


def build(name: str):
    if name == "norm_chain":
        rng = np.random.default_rng(0)
        return norm_chain, (gt.from_numpy(rng.standard_normal(1 << 22).astype(np.float32)),)
    return compiled.build(gt, name)


def compile_with(reuse: str, module, inputs):
    """A compiled copy whose plan is built with ``GT_PLAN_REUSE=reuse``."""
    os.environ["GT_PLAN_REUSE"] = reuse
    try:
        try:
            fn = gt.jit.script(module)
        except gt.errors.GraphtorchError:
            fn = gt.jit.trace(module, inputs)
        with gt.no_grad():
            fn(*inputs)
            out = fn(*inputs)   # the plan is built here
    finally:
        del os.environ["GT_PLAN_REUSE"]
    return fn, out


def peak_bytes(fn, inputs) -> int:
    with gt.no_grad():
        fn(*inputs)
        tracemalloc.start()
        try:
            fn(*inputs)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def times(fns: list, inputs, budget: float) -> list[float]:
    """Median seconds per call of each of ``fns``, their calls interleaved."""
    samples: list[list[float]] = [[] for _ in fns]
    with gt.no_grad():
        for fn in fns:
            fn(*inputs)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < budget * len(fns) or len(samples[0]) < 5:
            for s, fn in zip(samples, fns):
                c0 = CLOCK()
                fn(*inputs)
                s.append(CLOCK() - c0)
    return [float(np.median(s)) for s in samples]


def in_place(fn) -> int:
    return sum("in place" in k.detail for p in plans_of(fn).plans.values() for k in p.kernels)


def main() -> None:
    names = [n for n in ARGS.only.split(",") if n] or list(WORKLOADS)
    print(f"threads={ARGS.threads}, timer={ARGS.timer}")
    print("| workload | peak MiB, reuse off | peak MiB, reuse on | ms, reuse off | "
          "ms, reuse on | kernels writing in place |")
    print("|---|---|---|---|---|---|")
    for name in names:
        module, inputs = build(name)
        off, ref = compile_with("0", module, inputs)
        on, got = compile_with("1", module, inputs)
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)
        p_off, p_on = peak_bytes(off, inputs), peak_bytes(on, inputs)
        t_off, t_on = times([off, on], inputs, ARGS.budget)
        print(f"| {name} | {p_off / 2**20:.2f} | {p_on / 2**20:.2f} | {t_off * 1e3:.2f} | "
              f"{t_on * 1e3:.2f} | {in_place(on)} |", flush=True)


if __name__ == "__main__":
    main()
