"""Where an MLP training step's time goes, phase by phase: graphtorch compiled against PyTorch.

The ``mlp_train`` workload of benchmarks/compiled.py and benchmarks/matmul_rows.py (an MLP
784-512-512-10 scripted with ``graphtorch.jit.script``, batch 256, ``cross_entropy``, SGD with
momentum 0.9) timed per phase: ``zero_grad``, forward, loss, ``backward``, optimizer ``step``.
Three sides run in alternating order each round, on the same weights and data: graphtorch with
the fused SGD step (runtime/c_optim.py, the default), graphtorch with the numpy SGD step (the
fused step unregistered) and PyTorch eager. Each cell is the median over rounds of the
per-round median (ms); ``--timer thread`` counts this thread's CPU time only, so the load of
other processes on a shared machine moves the numbers less.

    .venv/bin/python benchmarks/train_phases.py --threads 1 --timer thread --rounds 7
"""

from __future__ import annotations

import argparse
import os
import time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--timer", choices=("wall", "thread"), default="thread")
ap.add_argument("--rounds", type=int, default=7)
ap.add_argument("--steps", type=int, default=30, help="steps per side per round")
ARGS = ap.parse_args()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GT_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)  # NOTE: before numpy/torch load their thread pools

import numpy as np  # noqa: E402
import torch  # noqa: E402

import graphtorch as gt  # noqa: E402
from graphtorch.optim import _fused  # noqa: E402
from graphtorch.runtime import c_optim  # noqa: E402

torch.set_num_threads(ARGS.threads)
CLOCK = time.thread_time if ARGS.timer == "thread" else time.perf_counter
PHASES = ("zero_grad", "forward", "loss", "backward", "step", "total")


def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


class Side:
    """One training loop whose ``round`` times ``steps`` steps phase by phase."""

    def __init__(self, lib, model, x, y, fused: bool = True):
        self.lib, self.model, self.x, self.y, self.fused = lib, model, x, y, fused
        self.opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def round(self, steps: int) -> dict[str, float]:
        lib, opt, model, x, y = self.lib, self.opt, self.model, self.x, self.y
        times: dict[str, list[float]] = {k: [] for k in PHASES}
        _fused.provide("sgd", c_optim.sgd_step if self.fused else None)
        try:
            for _ in range(steps):
                t0 = CLOCK()
                opt.zero_grad()
                t1 = CLOCK()
                out = model(x)
                t2 = CLOCK()
                loss = lib.nn.functional.cross_entropy(out, y)
                t3 = CLOCK()
                loss.backward()
                t4 = CLOCK()
                opt.step()
                t5 = CLOCK()
                for k, a, b in zip(PHASES, (t0, t1, t2, t3, t4, t0), (t1, t2, t3, t4, t5, t5)):
                    times[k].append(b - a)
        finally:
            _fused.provide("sgd", c_optim.sgd_step)
        return {k: float(np.median(v)) * 1e3 for k, v in times.items()}


def main() -> None:
    rng = np.random.default_rng(0)
    gt.manual_seed(0)
    gm = mlp(gt)
    state = {k: v.detach().numpy().copy() for k, v in gm.state_dict().items()}
    xs = rng.standard_normal((256, 784)).astype(np.float32)
    ys = rng.integers(0, 10, 256).astype(np.int64)
    sides = {}
    for name, fused in (("gt compiled, fused SGD step", True),
                        ("gt compiled, numpy SGD step", False)):
        m = mlp(gt)
        m.load_state_dict({k: gt.from_numpy(v.copy()) for k, v in state.items()})
        sides[name] = Side(gt, gt.jit.script(m), gt.from_numpy(xs), gt.from_numpy(ys), fused)
    tm = mlp(torch)
    tm.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    sides["torch eager"] = Side(torch, tm, torch.from_numpy(xs), torch.from_numpy(ys))
    for side in sides.values():
        side.round(3)  # warm-up: plans, kernels, momentum buffers
    rounds: dict[str, list[dict]] = {n: [] for n in sides}
    names = list(sides)
    for r in range(ARGS.rounds):
        order = names if r % 2 == 0 else names[::-1]
        for n in order:
            rounds[n].append(sides[n].round(ARGS.steps))
    print(f"threads={ARGS.threads}, timer={ARGS.timer}, rounds={ARGS.rounds}, "
          f"steps={ARGS.steps} per side per round; ms, median over rounds of per-round medians")
    print("| phase | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for k in PHASES:
        cells = [f"{np.median([r[k] for r in rounds[n]]):.3f}" for n in names]
        print(f"| {k} | " + " | ".join(cells) + " |")
    ref = rounds["torch eager"]
    for n in names[:2]:
        ratios = [t["total"] / g["total"] for g, t in zip(rounds[n], ref)]
        print(f"torch / {n}, total per round: median {np.median(ratios):.3f} "
              f"[{min(ratios):.3f}, {max(ratios):.3f}]")


if __name__ == "__main__":
    main()
