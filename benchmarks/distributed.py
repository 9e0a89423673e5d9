"""Distributed performance, side by side in one run (2 ranks under mpiexec, one thread each):

1. all_reduce bus bandwidth: graphtorch.distributed.all_reduce vs raw mpi4py on the same buffers,
   both blocking ``Allreduce`` and ``Iallreduce`` + ``Test`` (what graphtorch calls); target >= 90%
   of the better raw call: the wrapper adds no copies, only a 72-byte header exchange. A sample
   times one call after a barrier (``--inner N``: N back-to-back calls); sizes under 8 MB take
   proportionally more samples (``--reps`` at 8 MB and above), and besides best and median the
   table gives the median of the per-round ratios (raw / graphtorch within one rotation, which
   cancels the load changes of a shared machine);
2. DDP step time of a 5M-parameter MLP on 2 ranks vs 1 process on half the batch (the per-rank
   batch): the data-parallel overhead (target <= 15%), also with gradient_as_bucket_view=True, and
   the floor MPI itself sets: the plain model on 2 ranks followed by raw mpi4py ``Allreduce`` of
   every gradient in place and the division by the world size (no overlap, no wrapper);
3. the same for torch.distributed (gloo) + torch DDP, where torch is installed: all DDP
   configurations of both frameworks run interleaved in one 2-rank job.

    /work/main/.venv/bin/python benchmarks/distributed.py [--reps 20] [--sizes-mb 1 16 64]
        [--turns 10] [--per-turn 2] [--inner N]
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
def bandwidth_worker(sizes_mb: list[float], reps: int, inner: int | None) -> None:
    from mpi4py import MPI  # initializes MPI: only in the ranks, never in the driver

    gt_dist.init_process_group("gloo")
    comm = MPI.COMM_WORLD
    n = comm.Get_size()
    for mb in sizes_mb:
        t = gt.zeros(int(mb * 2 ** 20 / 4))  # sums of zeros: no overflow however many calls
        arr = t._data  # the very buffer graphtorch hands to MPI
        calls_per_sample = inner or 1
        calls = {"mpi4py": lambda a=arr: comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM),
                 "mpi4py_nb": lambda a=arr: _test_loop(comm.Iallreduce(MPI.IN_PLACE, a)),
                 "graphtorch": lambda x=t: gt_dist.all_reduce(x)}
        times: dict[str, list[float]] = {k: [] for k in calls}
        for call in calls.values():
            call()
        names = list(calls)
        for rep in range(max(reps, int(reps * 8 / mb))):  # interleaved in rotating order: all
            # see the same machine load
            for name in names[rep % 3:] + names[:rep % 3]:
                call = calls[name]
                comm.Barrier()
                s = time.perf_counter()
                for _ in range(calls_per_sample):
                    call()
                times[name].append((time.perf_counter() - s) / calls_per_sample)
        if comm.Get_rank() == 0:
            nbytes = arr.nbytes
            row = {"size_mb": mb, "inner": calls_per_sample}
            for k, v in times.items():
                row[f"{k}_GBps"] = 2 * (n - 1) / n * nbytes / min(v) / 1e9
                row[f"{k}_median_GBps"] = 2 * (n - 1) / n * nbytes / statistics.median(v) / 1e9
            row["paired"] = statistics.median(
                min(a, b) / g for a, b, g in zip(times["mpi4py"], times["mpi4py_nb"],
                                                 times["graphtorch"]))
            row["samples"] = len(times["graphtorch"])
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


def _quiet_barrier(comm) -> None:
    # NOTE: napping, not spinning: while rank 0 measures a one-process step rank 1 must leave
    # the second core to it (a spinning MPI_Barrier would take a core on this 2-core machine)
    req = comm.Ibarrier()
    while not req.Test():
        time.sleep(0.0005)


def _stepper(lib, model, x, y, after_backward=None):
    opt = lib.optim.SGD(model.parameters(), lr=0.01)

    def step() -> None:
        opt.zero_grad()
        lib.nn.functional.cross_entropy(model(x), y).backward()
        if after_backward is not None:
            after_backward(model)
        opt.step()

    return step


def _raw_mpi_average(comm, MPI):  # noqa: N803 - the mpi4py module, passed in by the worker
    """Average every gradient over the ranks with blocking mpi4py calls: the MPI floor."""
    n = comm.Get_size()

    def average(model) -> None:
        grads = [p.grad._data for p in model.parameters()]
        for g in reversed(grads):  # the order backward produced them
            comm.Allreduce(MPI.IN_PLACE, g, op=MPI.SUM)
        for g in grads:
            np.true_divide(g, n, out=g)

    return average


def step_worker(turns: int, per_turn: int, with_torch: bool) -> None:
    """Every configuration in one job, interleaved: each turn runs ``per_turn`` steps of each, in
    rotating order, so all of them see the same machine load."""
    from mpi4py import MPI  # initializes MPI: only in the ranks, never in the driver

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    g = np.random.default_rng(0)
    x = g.standard_normal((BATCH, LAYERS[0])).astype(np.float32)
    y = g.integers(0, LAYERS[-1], BATCH)
    gt_dist.init_process_group("gloo")
    configs = []  # (label, step, solo): a solo step runs on rank 0 while rank 1 naps
    xt, yt = gt.tensor(x), gt.tensor(y)
    configs += [("graphtorch 1 process", _stepper(gt, _gt_model(), xt, yt), True),
                ("graphtorch 2 ranks, no DDP", _stepper(gt, _gt_model(), xt, yt), False),
                ("graphtorch 2 ranks + raw mpi4py Allreduce",
                 _stepper(gt, _gt_model(), xt, yt, _raw_mpi_average(comm, MPI)), False),
                ("graphtorch DDP", _stepper(gt, GtDDP(_gt_model()), xt, yt), False),
                ("graphtorch DDP, grads as bucket views",
                 _stepper(gt, GtDDP(_gt_model(), gradient_as_bucket_view=True), xt, yt), False)]
    if with_torch:
        import torch  # optional: only the torch comparison needs it
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel as DDP

        torch.set_num_threads(1)
        os.environ["RANK"] = str(rank)
        dist.init_process_group("gloo", init_method="env://")
        xt, yt = torch.tensor(x), torch.tensor(y)
        configs += [("torch 1 process", _stepper(torch, _torch_model(), xt, yt), True),
                    ("torch 2 ranks, no DDP", _stepper(torch, _torch_model(), xt, yt), False),
                    ("torch DDP", _stepper(torch, DDP(_torch_model()), xt, yt), False),
                    ("torch DDP, grads as bucket views",
                     _stepper(torch, DDP(_torch_model(), gradient_as_bucket_view=True), xt, yt),
                     False)]
    times: dict[str, list[float]] = {label: [] for label, _, _ in configs}
    for turn in range(-1, turns):  # turn -1 warms up
        k = turn % len(configs)
        for label, step, solo in configs[k:] + configs[:k]:
            for _ in range(per_turn):
                if solo:
                    _quiet_barrier(comm)
                    if rank == 0:
                        s = time.perf_counter()
                        step()
                        times[label].append(time.perf_counter() - s)
                    _quiet_barrier(comm)
                    continue
                comm.Barrier()
                s = time.perf_counter()
                step()
                times[label].append(time.perf_counter() - s)
    if rank == 0:
        params = sum(p.numel() for p in _gt_model().parameters())
        for label, v in times.items():
            v = v[per_turn:]  # the warm-up turn
            print(json.dumps({"config": label, "params": int(params),
                              "best_ms": min(v) * 1e3, "median_ms": statistics.median(v) * 1e3,
                              "n": len(v)}), flush=True)
    if with_torch:
        dist.destroy_process_group()
    gt_dist.destroy_process_group()


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
    p.add_argument("--torch", action="store_true", help="(worker) compare torch.distributed")
    p.add_argument("--turns", type=int, default=10, help="rounds over the DDP configurations")
    p.add_argument("--per-turn", type=int, default=2, help="steps per configuration and round")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--inner", type=int, default=None,
                   help="all_reduce calls per timed sample (default 1)")
    p.add_argument("--sizes-mb", type=float, nargs="+", default=[1, 16, 64])
    a = p.parse_args()
    if a.worker == "bandwidth":
        bandwidth_worker(a.sizes_mb, a.reps, a.inner)
        return
    if a.worker == "step":
        step_worker(a.turns, a.per_turn, a.torch)
        return

    print(f"all_reduce bus bandwidth, 2 ranks, float32, {a.reps} samples ({a.reps} x 8 / size "
          "below 8 MB) interleaved in rotating order, each timing 'calls' back-to-back calls after "
          "a barrier; 'paired': median over rounds of best raw time / graphtorch time:")
    print(f"{'size':>8} {'samples':>7} {'calls':>5} {'Allreduce':>11} {'Iallreduce':>11} "
          f"{'graphtorch':>11} {'vs best raw':>12} {'paired':>7}   (GB/s, best / median)")
    inner = ["--inner", str(a.inner)] if a.inner else []
    for row in _run(["--worker", "bandwidth", "--reps", str(a.reps), "--sizes-mb",
                     *map(str, a.sizes_mb), *inner], 2):
        cells = []
        ratios = []
        for stat in ("", "_median"):
            raw = max(row[f"mpi4py{stat}_GBps"], row[f"mpi4py_nb{stat}_GBps"])
            ratios.append(row[f"graphtorch{stat}_GBps"] / raw)
        for k in ("mpi4py", "mpi4py_nb", "graphtorch"):
            cells.append(f"{row[k + '_GBps']:.2f}/{row[k + '_median_GBps']:.2f}")
        print(f"{row['size_mb']:>6g}MB {row['samples']:>7} {row['inner']:>5} {cells[0]:>11} "
              f"{cells[1]:>11} {cells[2]:>11} {ratios[0]:>8.0%}/{ratios[1]:.0%} "
              f"{row['paired']:>7.0%}")

    try:
        import torch  # noqa: F401 - only to know whether to compare
        with_torch = True
    except ImportError:
        with_torch = False
        print("(torch not installed: no torch.distributed comparison)")
    env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2"}
    rows = {r["config"]: r for r in _run(["--worker", "step", "--turns", str(a.turns),
                                          "--per-turn", str(a.per_turn)]
                                         + (["--torch"] if with_torch else []), 2, env)}
    n = next(iter(rows.values()))["n"]
    params = next(iter(rows.values()))["params"]
    print(f"\nDDP train step, MLP {'-'.join(map(str, LAYERS))} ({params / 1e6:.1f}M parameters), "
          f"batch {BATCH} per rank, SGD, one thread per rank; ms per step, median / best of {n} "
          "steps, every configuration interleaved in one 2-rank job ('1 process': rank 0 alone "
          "while rank 1 sleeps):")
    print(f"{'':>42} {'median':>8} {'best':>8} {'vs 1 process':>13} {'vs no DDP':>13}   "
          "(median / best)")
    for impl in ["graphtorch", "torch"] if with_torch else ["graphtorch"]:
        solo = rows[f"{impl} 1 process"]
        alone = rows[f"{impl} 2 ranks, no DDP"]
        for label, r in rows.items():
            if not label.startswith(impl + " "):
                continue
            over = [f"{r['median_ms'] / ref['median_ms'] - 1:+.0%} / "
                    f"{r['best_ms'] / ref['best_ms'] - 1:+.0%}" for ref in (solo, alone)]
            print(f"{label:>42} {r['median_ms']:>8.1f} {r['best_ms']:>8.1f} {over[0]:>13} "
                  f"{over[1]:>13}")


if __name__ == "__main__":
    main()
