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

HERE = Path(__file__).resolve()
BATCH = 64  # per rank
LAYERS = [1024, 2048, 1024, 512, 512, 10]  # ~5.0M parameters
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# --- workers (run on each rank) -----------------------------------------------------------------
def bandwidth_worker(sizes_mb: list[float], reps: int) -> None:
    from mpi4py import MPI

    import graphtorch as gt
    import graphtorch.distributed as dist

    dist.init_process_group("gloo")
    comm = MPI.COMM_WORLD
    n = comm.Get_size()
    for mb in sizes_mb:
        t = gt.ones(int(mb * 2 ** 20 / 4))
        arr = t._data  # the very buffer graphtorch hands to MPI
        times: dict[str, list[float]] = {"graphtorch": [], "mpi4py": [], "mpi4py_nb": []}
        for _ in range(2):
            dist.all_reduce(t)
            comm.Allreduce(MPI.IN_PLACE, arr)
        for _ in range(reps):  # interleaved, so all see the same machine load
            comm.Barrier()
            s = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, arr, op=MPI.SUM)
            times["mpi4py"].append(time.perf_counter() - s)
            comm.Barrier()
            s = time.perf_counter()
            req = comm.Iallreduce(MPI.IN_PLACE, arr, op=MPI.SUM)  # what graphtorch calls
            while not req.Test():
                pass
            times["mpi4py_nb"].append(time.perf_counter() - s)
            comm.Barrier()
            s = time.perf_counter()
            dist.all_reduce(t)
            times["graphtorch"].append(time.perf_counter() - s)
        if comm.Get_rank() == 0:
            nbytes = arr.nbytes
            bus = {k: 2 * (n - 1) / n * nbytes / min(v) / 1e9
                   for k, v in times.items()}
            print(json.dumps({"size_mb": mb, **{f"{k}_GBps": v for k, v in bus.items()}}),
                  flush=True)
    dist.destroy_process_group()


def _gt_model():
    import graphtorch as gt

    gt.manual_seed(0)
    layers = []
    for a, b in zip(LAYERS, LAYERS[1:]):
        layers += [gt.nn.Linear(a, b), gt.nn.ReLU()]
    return gt.nn.Sequential(*layers[:-1])


def _torch_model():
    import torch

    torch.manual_seed(0)
    layers = []
    for a, b in zip(LAYERS, LAYERS[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def step_worker(impl: str, distributed: bool, steps: int) -> None:
    g = np.random.default_rng(0)
    x = g.standard_normal((BATCH, LAYERS[0])).astype(np.float32)
    y = g.integers(0, LAYERS[-1], BATCH)
    if impl == "graphtorch":
        import graphtorch as lib
        import graphtorch.distributed as dist
        from graphtorch.nn.parallel import DistributedDataParallel as DDP

        model = _gt_model()
    else:
        import torch as lib
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
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--sizes-mb", type=float, nargs="+", default=[1, 16, 64])
    a = p.parse_args()
    if a.worker == "bandwidth":
        bandwidth_worker(a.sizes_mb, a.reps)
        return
    if a.worker == "step":
        step_worker(a.impl, a.distributed, a.steps)
        return

    print("all_reduce bus bandwidth, 2 ranks, float32 (best of "
          f"{a.reps}, interleaved; best-of is robust to other load on the machine):")
    print(f"{'size':>8} {'Allreduce':>10} {'Iallreduce':>11} {'graphtorch':>11} "
          f"{'vs best raw':>12}   (GB/s)")
    for row in _run(["--worker", "bandwidth", "--reps", str(a.reps), "--sizes-mb",
                     *map(str, a.sizes_mb)], 2):
        raw = max(row["mpi4py_GBps"], row["mpi4py_nb_GBps"])
        print(f"{row['size_mb']:>6g}MB {row['mpi4py_GBps']:>10.2f} {row['mpi4py_nb_GBps']:>11.2f} "
              f"{row['graphtorch_GBps']:>11.2f} {row['graphtorch_GBps'] / raw:>11.0%}")

    impls = ["graphtorch"]
    try:
        import torch  # noqa: F401 - only to know whether to compare
        impls.append("torch")
    except ImportError:
        print("(torch not installed: no torch.distributed comparison)")
    print(f"\nDDP train step, MLP {'-'.join(map(str, LAYERS))}, batch {BATCH} per rank, SGD, "
          f"one thread per rank (best of {a.steps} steps):")
    print(f"{'impl':>11} {'params':>9} {'1 process ms':>13} {'2 ranks DDP ms':>15} "
          f"{'overhead':>9}")
    for impl in impls:
        steps = ["--worker", "step", "--impl", impl, "--steps", str(a.steps)]
        single = _run(steps, None)[0]
        env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2"}
        multi = _run([*steps, "--distributed"], 2, env)[0]
        overhead = multi["step_ms"] / single["step_ms"] - 1
        print(f"{impl:>11} {multi['params']:>9} {single['step_ms']:>13.1f} "
              f"{multi['step_ms']:>15.1f} {overhead:>+9.0%}")


if __name__ == "__main__":
    main()
