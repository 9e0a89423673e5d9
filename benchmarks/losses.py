"""Eager loss cost: F.cross_entropy (and nll_loss) forward + backward, PyTorch vs graphtorch.

Run: ``.venv/bin/python benchmarks/losses.py --timer thread`` (``--quick`` for a shorter run).
Every peer runs on one thread. Columns: PyTorch eager; graphtorch's ``cross_entropy`` op as
``F.cross_entropy`` calls it (its direct kernel and one backward node); and the op's registry
decomposition called directly (log_softmax + nll out of ~15 dispatched ops, each with its own
backward node: what the op ran before it had a kernel), so that both are measured in one run;
likewise ``nll_loss(log_softmax(x))`` (ops/nll_loss.py; log_softmax is one op either way).
A row is one forward + ``backward()`` on logits that require grad (median per call); 64x10 and
256x10 are the losses of benchmarks/compiled.py's LeNet and MLP training steps.
"""

from __future__ import annotations

import argparse
import os
import time


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--timer", choices=("wall", "thread"), default="wall",
                    help="thread: the calling thread's CPU time (time.thread_time), which leaves "
                         "out what a shared machine gives other jobs")
    return ap.parse_args()


ARGS = _args()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GT_NUM_THREADS"):
    os.environ[_var] = "1"  # NOTE: before numpy/torch load their thread pools

import numpy as np  # noqa: E402
import torch  # noqa: E402

import graphtorch as gt  # noqa: E402
from graphtorch.ops.registry import REGISTRY  # noqa: E402

torch.set_num_threads(1)
CLOCK = time.thread_time if ARGS.timer == "thread" else time.perf_counter


def timeit(fn, budget: float) -> float:
    """Median seconds per call; calls shorter than 1 ms are timed in batches (coarse clock)."""
    for _ in range(3):
        fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    batch = int(1e-3 / one) + 1
    n = int(min(max(budget / (one * batch), 7), 500))
    times = []
    for _ in range(n):
        t0 = CLOCK()
        for _ in range(batch):
            fn()
        times.append((CLOCK() - t0) / batch)
    return float(np.median(times))


def workloads():
    """(name, (N, C), weight + ignore_index + label_smoothing?, the loss)."""
    return [("64x10", (64, 10), False, "cross_entropy"),
            ("256x10", (256, 10), False, "cross_entropy"),
            ("256x10 weight+ignore+smoothing", (256, 10), True, "cross_entropy"),
            ("4096x1000", (4096, 1000), False, "cross_entropy"),
            ("4096x1000 weight+ignore+smoothing", (4096, 1000), True, "cross_entropy"),
            ("256x10 nll_loss(log_softmax)", (256, 10), False, "nll_loss"),
            ("4096x1000 nll_loss(log_softmax)", (4096, 1000), False, "nll_loss")]


def _inputs(shape, extras):
    rng = np.random.default_rng(0)
    n, c = shape
    x = rng.standard_normal(shape).astype(np.float32)
    t = rng.integers(0, c, n)
    kw_np = {}
    if extras:
        t[::7] = -100
        kw_np = {"weight": rng.uniform(0.5, 2.0, c).astype(np.float32),
                 "label_smoothing": 0.1}
    return x, t, kw_np


def peers(shape, extras, loss):
    x, t, kw_np = _inputs(shape, extras)
    tx, tt = torch.tensor(x, requires_grad=True), torch.tensor(t)
    gx, gtg = gt.tensor(x, requires_grad=True), gt.tensor(t)
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw_np.items()}
    gkw = {k: gt.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw_np.items()}
    decomposition = REGISTRY[loss].decomposition
    nll = loss == "nll_loss"

    def torch_step():
        tx.grad = None
        if nll:
            torch.nn.functional.nll_loss(tx.log_softmax(1), tt).backward()
        else:
            torch.nn.functional.cross_entropy(tx, tt, **tkw).backward()

    def gt_step():
        gx.grad = None
        if nll:
            gt.nn.functional.nll_loss(gx.log_softmax(1), gtg).backward()
        else:
            gt.nn.functional.cross_entropy(gx, gtg, **gkw).backward()

    def gt_decomposition_step():
        gx.grad = None
        if nll:
            decomposition(gx.log_softmax(1), gtg, None, "mean", -100).backward()
        else:
            decomposition(gx, gtg, gkw.get("weight"), "mean", -100,
                          gkw.get("label_smoothing", 0.0)).backward()

    # the three agree before anything is timed
    torch_step()
    want = tx.grad.numpy().copy()
    for step in (gt_step, gt_decomposition_step):
        step()
        np.testing.assert_allclose(gx.grad.numpy(), want, rtol=1e-4, atol=1e-6)
    return {"torch eager": torch_step, "gt op": gt_step, "gt decomposition": gt_decomposition_step}


def main() -> None:
    budget = 0.2 if ARGS.quick else 1.0
    cols = ("torch eager", "gt op", "gt decomposition")
    print(f"loss forward + backward, median ms per call, 1 thread, timer={ARGS.timer}")
    print(f"{'workload':36s}" + "".join(f"{c:>18s}" for c in cols)
          + f"{'gt op / torch':>15s}")
    for name, shape, extras, loss in workloads():
        steps = peers(shape, extras, loss)
        ms = {c: timeit(steps[c], budget) * 1e3 for c in cols}
        print(f"{name:36s}" + "".join(f"{ms[c]:18.4f}" for c in cols)
              + f"{ms['gt op'] / ms['torch eager']:14.2f}x")


if __name__ == "__main__":
    main()
