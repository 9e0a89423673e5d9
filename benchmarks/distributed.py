"""Distributed performance, side by side in one run (2 ranks under mpiexec, one thread each):

1. all_reduce bus bandwidth: graphtorch.distributed.all_reduce vs raw mpi4py on the same buffers,
   both blocking ``Allreduce`` and ``Iallreduce`` + ``Test`` (what graphtorch calls); target >= 90%
   of the better raw call: the wrapper adds no copies, only a 72-byte header exchange;
2. DDP step time of a 5M-parameter MLP on 2 ranks vs 1 process on half the batch (the per-rank
   batch): the data-parallel overhead (target <= 15%);
3. the same for torch.distributed (gloo) + torch DDP, where torch is installed.

    /work/main/.venv/bin/python benchmarks/distributed.py [--steps 15] [--sizes-mb 1 16 64]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import graphtorch as gt
import graphtorch.distributed as gt_dist
from graphtorch.nn.parallel import DistributedDataParallel as GtDDP

HERE = Path(__file__).resolve()
BATCH = 64  # per rank
LAYERS = [1024, 2048, 1024, 512, 512, 10]  # ~5.0M parameters
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# --- workers (run on each rank) -----------------------------------------------------------------
def bandwidth_worker(sizes_mb: list[float], reps: int) -> None:
    from mpi4py import MPI  # initializes MPI: only in the ranks, never in the driver

    gt_dist.init_process_group("gloo")
    comm = MPI.COMM_WORLD
    n = comm.Get_size()
    for mb in sizes_mb:
        t = gt.ones(int(mb * 2 ** 20 / 4))
        arr = t._data  # the very buffer graphtorch hands to MPI
        calls = {"mpi4py": lambda a=arr: comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM),
                 "mpi4py_nb": lambda a=arr: _test_loop(comm.Iallreduce(MPI.IN_PLACE, a)),
                 "graphtorch": lambda x=t: gt_dist.all_reduce(x)}
        times: dict[str, list[float]] = {k: [] for k in calls}
        for call in calls.values():
            call()
        names = list(calls)
        for rep in range(reps):  # interleaved in rotating order: all see the same machine load
            for name in names[rep % 3:] + names[:rep % 3]:
                comm.Barrier()
                s = time.perf_counter()
                calls[name]()
                times[name].append(time.perf_counter() - s)
        if comm.Get_rank() == 0:
            nbytes = arr.nbytes
            row = {"size_mb": mb}
            for k, v in times.items():
                row[f"{k}_GBps"] = 2 * (n - 1) / n * nbytes / min(v) / 1e9
                row[f"{k}_median_GBps"] = 2 * (n - 1) / n * nbytes / statistics.median(v) / 1e9
            print(json.dumps(row), flush=True)
    gt_dist.destroy_process_group()


def _test_loop(req) -> None:
    while not req.Test():  # graphtorch's wait: MPI_Test in a loop (it adds a deadline)
        pass


def _gt_model():
    gt.manual_seed(0)
    layers = []
    for a, b in zip(LAYERS, LAYERS[1:]):
        layers += [gt.nn.Linear(a, b), gt.nn.ReLU()]
    return gt.nn.Sequential(*layers[:-1])


def _torch_model():
    import torch  # optional: only the torch comparison needs it

    torch.manual_seed(0)
    layers = []
    for a, b in zip(LAYERS, LAYERS[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def step_worker(impl: str, distributed: bool, steps: int, wrap: bool = True) -> None:
    g = np.random.default_rng(0)
    x = g.standard_normal((BATCH, LAYERS[0])).astype(np.float32)
    y = g.integers(0, LAYERS[-1], BATCH)
    if impl == "graphtorch":
        lib, dist, DDP = gt, gt_dist, GtDDP
        model = _gt_model()
    else:
        import torch as lib  # optional: only the torch comparison needs it
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel as DDP

        lib.set_num_threads(1)
        model = _torch_model()
    rank = 0
    if distributed:
        if impl == "torch":
            os.environ["RANK"] = os.environ.get("PMI_RANK", "0")
            dist.init_process_group("gloo", init_method="env://")
        else:
            dist.init_process_group("gloo")
        rank = dist.get_rank()
        if wrap:
            model = DDP(model)
    params = sum(p.numel() for p in model.parameters())
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    xt, yt = lib.tensor(x), lib.tensor(y)
    times = []
    for i in range(steps + 3):
        if distributed:
            dist.barrier()
        s = time.perf_counter()
        opt.zero_grad()
        lib.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
        if i >= 3:
            times.append(time.perf_counter() - s)
    if rank == 0:
        print(json.dumps({"impl": impl, "distributed": distributed, "params": int(params),
                          "step_ms": min(times) * 1e3,
                          "median_ms": statistics.median(times) * 1e3}), flush=True)
    if distributed:
        dist.destroy_process_group()


# --- driver -------------------------------------------------------------------------------------
def _run(args: list[str], ranks: int | None, extra_env: dict | None = None) -> list[dict]:
    env = dict(os.environ, **ONE_THREAD, **(extra_env or {}))
    cmd = [sys.executable, str(HERE), *args]
    if ranks is not None:
        mpiexec = Path(sys.executable).parent / "mpiexec"
        cmd = [str(mpiexec) if mpiexec.exists() else "mpiexec", "-n", str(ranks), *cmd]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{run.stderr[-3000:]}")
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--worker", choices=["bandwidth", "step"])
    p.add_argument("--impl", default="graphtorch")
    p.add_argument("--distributed", action="store_true")
    p.add_argument("--no-ddp", action="store_true", help="2 ranks, model not wrapped")
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--sizes-mb", type=float, nargs="+", default=[1, 16, 64])
    a = p.parse_args()
    if a.worker == "bandwidth":
        bandwidth_worker(a.sizes_mb, a.reps)
        return
    if a.worker == "step":
        step_worker(a.impl, a.distributed, a.steps, not a.no_ddp)
        return

    print(f"all_reduce bus bandwidth, 2 ranks, float32, {a.reps} reps interleaved in rotating "
          "order:")
    print(f"{'size':>8} {'Allreduce':>10} {'Iallreduce':>11} {'graphtorch':>11} "
          f"{'vs best raw':>12}   (GB/s, best / median)")
    for row in _run(["--worker", "bandwidth", "--reps", str(a.reps), "--sizes-mb",
                     *map(str, a.sizes_mb)], 2):
        cells = []
        ratios = []
        for stat in ("", "_median"):
            raw = max(row[f"mpi4py{stat}_GBps"], row[f"mpi4py_nb{stat}_GBps"])
            ratios.append(row[f"graphtorch{stat}_GBps"] / raw)
        for k in ("mpi4py", "mpi4py_nb", "graphtorch"):
            cells.append(f"{row[k + '_GBps']:.2f}/{row[k + '_median_GBps']:.2f}")
        print(f"{row['size_mb']:>6g}MB {cells[0]:>10} {cells[1]:>11} {cells[2]:>11} "
              f"{ratios[0]:>6.0%}/{ratios[1]:.0%}")

    impls = ["graphtorch"]
    try:
        import torch  # noqa: F401 - only to know whether to compare
        impls.append("torch")
    except ImportError:
        print("(torch not installed: no torch.distributed comparison)")
    print(f"\nDDP train step, MLP {'-'.join(map(str, LAYERS))}, batch {BATCH} per rank, SGD, "
          f"one thread per rank (best of {a.steps} steps):")
    print(f"{'impl':>11} {'params':>9} {'1 process':>10} {'2 ranks, no DDP':>16} "
          f"{'2 ranks DDP':>12} {'vs 1 process':>13} {'vs no DDP':>10}")
    print("  (ms per step, best of the steps; '2 ranks, no DDP' runs both ranks' compute side by "
          "side without communication: the CPU contention alone)")
    for impl in impls:
        steps = ["--worker", "step", "--impl", impl, "--steps", str(a.steps)]
        single = _run(steps, None)[0]["step_ms"]
        env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2"}
        alone = _run([*steps, "--distributed", "--no-ddp"], 2, env)[0]["step_ms"]
        env["MASTER_PORT"] = str(_free_port())
        multi = _run([*steps, "--distributed"], 2, env)[0]
        print(f"{impl:>11} {multi['params']:>9} {single:>10.1f} {alone:>16.1f} "
              f"{multi['step_ms']:>12.1f} {multi['step_ms'] / single - 1:>+13.0%} "
              f"{multi['step_ms'] / alone - 1:>+10.0%}")


if __name__ == "__main__":
    main()
